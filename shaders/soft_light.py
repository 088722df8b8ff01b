"""``soft_light``: a gentle overlay (Pegtop's formula: continuous, no harsh midtone step)."""

from __future__ import annotations

import numpy as np

from ._float import as_unit, to_uint8

PARAMS: dict = {}
REACH = 0  # each pixel from the pixel alone


def blend(base: np.ndarray, color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """lerp(base, (1 - 2c)b^2 + 2cb, a); with premultiplied C: b(1 - a) + (a - 2C)b^2 + 2Cb."""
    b, c, a = as_unit(base), as_unit(color), as_unit(alpha)
    return to_uint8(b * (1.0 - a) + (a - 2.0 * c) * b * b + 2.0 * c * b, base, alpha)
