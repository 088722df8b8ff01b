"""Normalise whatever image arrays arrive into the BGR uint8 layout the loop uses."""

from __future__ import annotations

import numpy as np
import cv2


def to_bgr(image: np.ndarray) -> np.ndarray:
    """Return a C-contiguous (H, W, 3) uint8 BGR view or copy of ``image``.

    Accepts gray (H, W) or (H, W, 1), BGR, BGRA, 16-bit and float images in
    [0, 1]; raises ValueError for anything that is not a 2-D image.
    """
    if image is None or not isinstance(image, np.ndarray) or image.size == 0:
        raise ValueError("empty frame")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ValueError(f"not an image: shape {image.shape}")
    if image.dtype != np.uint8:
        if image.dtype == np.uint16:
            image = (image >> 8).astype(np.uint8)
        elif np.issubdtype(image.dtype, np.floating):
            image = np.clip(np.nan_to_num(image) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        else:
            image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(image)
