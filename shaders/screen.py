"""``screen``: lightens like light projected on the skin (a glow, a highlight)."""

from __future__ import annotations

import cv2
import numpy as np

PARAMS: dict = {}
REACH = 0  # each pixel from the pixel alone


def blend(base: np.ndarray, color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """lerp(base, 1 - (1 - base)(1 - c), a), which with premultiplied C is base + C(1 - base)."""
    return cv2.add(base, cv2.multiply(color, cv2.bitwise_not(base), scale=1.0 / 255.0))
