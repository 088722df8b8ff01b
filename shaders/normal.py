"""``normal``: plain alpha compositing (the layer covers the skin like a sticker)."""

from __future__ import annotations

import numpy as np


def blend(base: np.ndarray, color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Porter-Duff "over" with a premultiplied layer."""
    return base * (1.0 - alpha) + color
