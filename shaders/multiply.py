"""``multiply``: the layer tints the skin like pigment under it.

The texture is read as transmittance (white lets all light through), so the
skin's own shading, pores and highlights stay visible through the colour:
what a bruise or a tattoo does, and what a sticker does not.
"""

from __future__ import annotations

import cv2
import numpy as np

PARAMS: dict = {}
REACH = 0  # each pixel from the pixel alone


def blend(base: np.ndarray, color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """base * lerp(1, texture, alpha), i.e. base * (1 - alpha + color) with premultiplied colour."""
    return cv2.multiply(base, cv2.add(cv2.bitwise_not(alpha), color), scale=1.0 / 255.0)
