"""``paint``: face paint or a printed mark that keeps its own colour but is lit like the skin.

A sticker (``normal``) looks pasted on because it ignores the light; paint
on skin is as bright as the skin is lit. The shader shades the layer's colour
by the skin's brightness relative to its mean under the layer, so shadows,
the curve of the cheek and pores darken it, and highlights brighten it.
"""

from __future__ import annotations

import cv2
import numpy as np

from ._float import as_unit, to_uint8
from ._skin import luma, skin_luma
from .params import Param

PARAMS = {
    "shading": Param(1.0, 0.0, 1.0, "how much the skin's light and shadow shade the paint (0: flat)"),
}


def blend(base: np.ndarray, color: np.ndarray, alpha: np.ndarray, shading: float = 1.0) -> np.ndarray:
    """base * (1 - a) + C * shade, where shade = lerp(1, luma / mean skin luma, shading)."""
    gray = luma(base)
    skin = max(skin_luma(gray, alpha[:, :, 0]), 0.02)
    shade = 1.0 - shading + shading * np.minimum(as_unit(gray) * (1.0 / skin), 1.6)
    a = as_unit(alpha)
    lit = as_unit(color) * cv2.merge([shade] * 3)
    return to_uint8(as_unit(base) * (1.0 - a) + lit, base, alpha)
