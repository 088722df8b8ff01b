"""The common tutorial warp: a Python loop of per-triangle ``warpAffine`` + masks.

Slow but easy to trust. Tests compare the vectorised warp against it, and the
benchmark times it as the baseline; the product never calls it.
"""

from __future__ import annotations

import cv2
import numpy as np


def warp_per_triangle(
    texture: np.ndarray, uv_px: np.ndarray, points: np.ndarray, triangles: np.ndarray, out_size: tuple[int, int]
) -> np.ndarray:
    """Warp ``texture`` so that each UV triangle lands on its screen triangle.

    ``triangles`` are drawn in the given order (later over earlier), each with
    its own bounding-box ``warpAffine`` and a filled-triangle mask.
    """
    width, height = out_size
    out = np.zeros((height, width) + texture.shape[2:], dtype=texture.dtype)
    for tri in triangles:
        src = uv_px[tri].astype(np.float32)
        dst = points[tri].astype(np.float32)
        x, y, w, h = cv2.boundingRect(dst)
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + w, width), min(y + h, height)
        if x1 <= x0 or y1 <= y0:
            continue
        local = (dst - (x0, y0)).astype(np.float32)
        matrix = cv2.getAffineTransform(src, local)
        patch = cv2.warpAffine(texture, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT)
        mask = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
        cv2.fillConvexPoly(mask, np.round(local).astype(np.int32), 1)
        region = out[y0:y1, x0:x1]
        region[mask > 0] = patch[mask > 0]
    return out
