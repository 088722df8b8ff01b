"""Questions about connected areas (``cv2.connectedComponents``' labels), compiled.

Why compiled: the memory of the skin asks, several times a frame, which areas touch a mask and then
keeps those areas, over a look's box (~4 000 texels). In numpy each question is a boolean index, a
gather and a scatter: 20-35 us apiece, about as long as finding the areas. As one loop each, a few us.
They give what the numpy gave, to the bit (``tests/test_kernels.py``).

Compiled for fixed types at import and cached (:mod:`arfilter.core.compiled`).
"""

from __future__ import annotations

import numba
import numpy as np

from arfilter.core.compiled import JIT as _JIT


@numba.njit(["i8[::1](i4[:, ::1], u1[:, :], i8)"], **_JIT)
def label_counts(labels, mask, count):  # pragma: no cover - compiled; see the tests
    """int64 (count,): how many texels of each label lie where ``mask`` is not 0, as
    ``np.bincount(labels[mask > 0], minlength=count)`` gives."""
    counts = np.zeros(count, np.int64)
    for y in range(labels.shape[0]):
        for x in range(labels.shape[1]):
            if mask[y, x] != 0:
                counts[labels[y, x]] += 1
    return counts


@numba.njit(["u1[:, ::1](i4[:, ::1], b1[::1])"], **_JIT)
def labels_where(labels, keep):  # pragma: no cover - compiled; see the tests
    """uint8 255 where the texel's label is one to ``keep``, 0 elsewhere, as
    ``keep[labels].view(np.uint8) * np.uint8(255)`` gives."""
    out = np.empty(labels.shape, np.uint8)
    for y in range(labels.shape[0]):
        for x in range(labels.shape[1]):
            out[y, x] = 255 if keep[labels[y, x]] else 0
    return out
