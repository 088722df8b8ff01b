"""``overlay``: contrast blend; darkens dark skin and lightens light skin by the layer's colour."""

from __future__ import annotations

import numpy as np

from ._float import as_unit, to_uint8

PARAMS: dict = {}
REACH = 0  # each pixel from the pixel alone


def blend(base: np.ndarray, color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """lerp(base, B, a) with B = 2bc where b < 1/2, else 1 - 2(1 - b)(1 - c).

    With premultiplied colour C = a*c: a*B = 2bC, or a - 2(1 - b)(a - C).
    """
    b, c, a = as_unit(base), as_unit(color), as_unit(alpha)
    mixed = np.where(b < 0.5, 2.0 * b * c, a - 2.0 * (1.0 - b) * (a - c))
    return to_uint8(b * (1.0 - a) + mixed, base, alpha)
