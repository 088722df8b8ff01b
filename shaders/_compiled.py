"""The bruise's per-texel age lookup, compiled (see :mod:`arfilter.core.compiled`).

Five OpenCV calls on the paint window (split, divide, merge, a type change, a nearest remap) became
one pass, its division a table made once; the result is the same to the bit for every (green, alpha) pair
(``tests/test_kernels.py``).
"""

from __future__ import annotations

import numba
import numpy as np

from arfilter.core.compiled import JIT


@numba.njit(["u1[:, ::1](i8)"], **JIT)
def age_steps(steps):  # pragma: no cover - compiled
    """uint8 (256 greens, 256 alphas): a premultiplied texel's age step, green * (steps - 1) / alpha rounded
    half to even in float32 (0 where alpha is 0), ``steps`` where it lies past the last one. Made once: a
    division per pixel took half of :func:`age_transmittance`'s time."""
    out = np.zeros((256, 256), np.uint8)
    scale = np.float32(steps - 1)
    for green in range(256):
        for a in range(1, 256):
            out[green, a] = min(int(np.rint(np.float32(np.float32(green) * scale) / np.float32(a))), steps)
    return out


@numba.njit(["u1[:, :, ::1](u1[:, :, :], u1[:, :, :], u1[:, :, ::1], u1[:, ::1])"], **JIT)
def age_transmittance(color, alpha, table, age_step):  # pragma: no cover - compiled
    """uint8 (h, w, 3): per pixel the row of ``table`` (age steps x 256 alphas x BGR) at (age step, alpha),
    the age step (``age_step``, :func:`age_steps` of the table's steps) of its green and alpha, and 0 past
    the table's last step: what ``cv2.divide`` then a nearest ``cv2.remap`` gave."""
    height, width = alpha.shape[0], alpha.shape[1]
    steps = table.shape[0]
    out = np.empty((height, width, 3), np.uint8)
    for y in range(height):
        for x in range(width):
            a = alpha[y, x, 0]
            step = age_step[color[y, x, 1], a]
            if step < steps:
                for c in range(3):
                    out[y, x, c] = table[step, a, c]
            else:
                for c in range(3):
                    out[y, x, c] = 0
    return out
