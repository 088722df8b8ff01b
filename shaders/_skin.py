"""What a skin-aware shader needs to know about the skin under the layer."""

from __future__ import annotations

import cv2
import numpy as np


def skin_luma(gray: np.ndarray, alpha: np.ndarray, stride: int = 3) -> float:
    """Mean brightness (0-1) of the skin the layer covers, weighted by its alpha.

    Sampled on a sparse grid: a region's mean needs a few thousand pixels, not
    all of them. Returns 0.5 when the layer covers nothing.
    """
    weights = alpha[::stride, ::stride].astype(np.float32)
    total = float(weights.sum())
    if total <= 0.0:
        return 0.5
    return float((gray[::stride, ::stride].astype(np.float32) * weights).sum()) / (255.0 * total)


def luma(base: np.ndarray) -> np.ndarray:
    """uint8 grey of a BGR region (Rec. 601, as OpenCV does it)."""
    return cv2.cvtColor(base, cv2.COLOR_BGR2GRAY)
