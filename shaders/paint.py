"""``paint``: face paint or a printed mark that keeps its own colour but is lit like the skin.

A sticker (``normal``) looks pasted on because it ignores the light; paint
on skin is as bright as the skin is lit. The shader shades the layer's colour
by the skin's brightness relative to its mean under the layer, so shadows,
the curve of the cheek and pores darken it, and highlights brighten it.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from ._skin import luma, skin_luma
from .params import Param

PARAMS = {
    "shading": Param(1.0, 0.0, 1.0, "how much the skin's light and shadow shade the paint (0: flat)"),
}


MAX_SHADE = 1.6  # highlights may brighten paint this much over the skin's mean


@lru_cache(maxsize=256)
def shade_table(skin: float, shading: float) -> np.ndarray:
    """uint8 (256,): shade / MAX_SHADE * 255 for each skin brightness (grey level)."""
    level = np.arange(256, dtype=np.float64) / 255.0
    shade = 1.0 - shading + shading * np.minimum(level / skin, MAX_SHADE)
    return np.round(np.clip(shade / MAX_SHADE, 0.0, 1.0) * 255.0).astype(np.uint8)


def blend(base: np.ndarray, color: np.ndarray, alpha: np.ndarray, shading: float = 1.0) -> np.ndarray:
    """base * (1 - a) + C * shade, where shade = lerp(1, luma / mean skin luma, shading).

    uint8 throughout: the shade comes from a table over the grey level.
    """
    gray = luma(base)
    skin = round(max(skin_luma(gray, alpha[:, :, 0]), 0.02), 3)
    shade = cv2.cvtColor(cv2.LUT(gray, shade_table(skin, float(shading))), cv2.COLOR_GRAY2BGR)
    lit = cv2.multiply(color, shade, scale=MAX_SHADE / 255.0)
    return cv2.add(cv2.multiply(base, cv2.bitwise_not(alpha), scale=1.0 / 255.0), lit)
