"""Named face regions in UV space, for layers that must leave them unpainted.

A manifest layer may say ``exclude = ["eyes", "lips"]``; the renderer then
multiplies the layer by a feathered mask built here once per overlay, so
paint never creeps onto the lash line or the lips, at no per-frame cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from arfilter.tracking.mesh import LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR, CanonicalMesh, uv_to_texel

if TYPE_CHECKING:
    from arfilter.render.packs import Layer

# Outer lip line and eyebrow outlines (MediaPipe landmark indices, in order around each shape).
OUTER_LIPS_CONTOUR = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
LEFT_BROW_CONTOUR = (276, 283, 282, 295, 285, 336, 296, 334, 293, 300)
RIGHT_BROW_CONTOUR = (46, 53, 52, 65, 55, 107, 66, 105, 63, 70)

# Region name -> (outlines, how far to grow them, as a fraction of the texture).
REGIONS: dict[str, tuple[tuple[tuple[int, ...], ...], float]] = {
    "eyes": ((LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR), 0.02),
    "lips": ((OUTER_LIPS_CONTOUR,), 0.004),
    "brows": ((LEFT_BROW_CONTOUR, RIGHT_BROW_CONTOUR), 0.004),
}


def keep_mask(mesh: CanonicalMesh, names: tuple[str, ...], size: int) -> np.ndarray:
    """float32 (size, size): 0 inside the named regions, 1 away from them, feathered between.

    Each region is grown by its margin and feathered over the same distance,
    so a wide margin (around the eyes) does not blur into a thin region (lips).
    """
    covered = np.zeros((size, size), np.float32)
    for name in names:
        outlines, grow = REGIONS[name]
        polygons = [np.round(uv_to_texel(mesh.uvs[list(outline)], size)).astype(np.int32) for outline in outlines]
        region = np.zeros((size, size), np.uint8)
        cv2.fillPoly(region, polygons, 255, lineType=cv2.LINE_AA)
        radius = max(int(round(grow * size)), 1)
        region = cv2.dilate(region, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2))
        feathered = cv2.GaussianBlur(region.astype(np.float32) / 255.0, (0, 0), max(grow * size / 2.0, 0.7))
        covered = np.maximum(covered, feathered)
    return 1.0 - np.clip(covered, 0.0, 1.0)


def masked_levels(mesh: CanonicalMesh, layer: "Layer") -> tuple[np.ndarray, ...]:
    """The layer's mip levels with its excluded regions cut out: what every renderer samples
    (the desktop's, once per look, and the web page's, exported at build time).

    Scaling premultiplied BGRA by the keep mask keeps it premultiplied.
    """
    if not layer.exclude:
        return layer.levels
    keep = keep_mask(mesh, layer.exclude, layer.size)
    masked = []
    for level in layer.levels:
        side = level.shape[0]
        scale = cv2.resize(keep, (side, side), interpolation=cv2.INTER_AREA)
        masked.append(cv2.multiply(level, cv2.merge([scale] * 4), dtype=cv2.CV_8U))
    return tuple(masked)
