"""``normal``: plain alpha compositing (the layer covers the skin like a sticker)."""

from __future__ import annotations

import cv2
import numpy as np

PARAMS: dict = {}
REACH = 0  # each pixel from the pixel alone


def blend(base: np.ndarray, color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Porter-Duff "over" with a premultiplied layer: base * (1 - alpha) + color."""
    return cv2.add(cv2.multiply(base, cv2.bitwise_not(alpha), scale=1.0 / 255.0), color)
