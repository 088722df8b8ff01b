"""Helpers for shaders that need float arithmetic (kept exact where alpha is 0)."""

from __future__ import annotations

import numpy as np

_INV255 = np.float32(1.0 / 255.0)


def as_unit(image: np.ndarray) -> np.ndarray:
    """uint8 -> float32 in [0, 1]."""
    return image.astype(np.float32) * _INV255


def to_uint8(unit: np.ndarray, base: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """float32 [0, 1] -> rounded uint8, with ``base`` copied exactly where alpha is 0.

    Float round trips are off by one now and then; a shader promises the
    untouched skin bit for bit.
    """
    out = np.clip(unit * 255.0 + 0.5, 0.0, 255.0).astype(np.uint8)
    np.copyto(out, base, where=alpha == 0)
    return out
