"""The bruise's per-texel age lookup, compiled (see :mod:`arfilter.core.compiled`).

Five OpenCV calls on the paint window (split, divide, merge, a type change, a nearest remap) became
one pass; the result is the same to the bit for every (green, alpha) pair (``tests/test_kernels.py``).
"""

from __future__ import annotations

import numba
import numpy as np

from arfilter.core.compiled import JIT


@numba.njit(["u1[:, :, ::1](u1[:, :, :], u1[:, :, :], u1[:, :, ::1])"], **JIT)
def age_transmittance(color, alpha, table):  # pragma: no cover - compiled
    """uint8 (h, w, 3): per pixel the row of ``table`` (age steps x 256 alphas x BGR) at (age step, alpha),
    the age step being green * (steps - 1) / alpha rounded half to even in float32 (0 where alpha is 0),
    and 0 past the table's last step: what ``cv2.divide`` then a nearest ``cv2.remap`` gave."""
    height, width = alpha.shape[0], alpha.shape[1]
    steps = table.shape[0]
    scale = np.float32(steps - 1)
    out = np.empty((height, width, 3), np.uint8)
    for y in range(height):
        for x in range(width):
            a = alpha[y, x, 0]
            step = 0
            if a != 0:
                step = int(np.rint(np.float32(np.float32(color[y, x, 1]) * scale) / np.float32(a)))
            if step < steps:
                for c in range(3):
                    out[y, x, c] = table[step, a, c]
            else:
                for c in range(3):
                    out[y, x, c] = 0
    return out
