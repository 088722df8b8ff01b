"""Named face regions in UV space, for layers that must leave them unpainted; where a face's own thin lines lie.

A manifest layer may say ``exclude = ["eyes", "lips"]``; the renderer then
multiplies the layer by a feathered mask built here once per overlay, so
paint never creeps onto the lash line or the lips, at no per-frame cost.
:func:`own_lines_zone` draws, per frame on the screen, where the face's own
thin dark lines (lashes, brows) may lie, for the occlusion test.
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


# A glasses rim is looked for over the upper lids (up to this share of the eye's width, corner to corner, above
# the lid's edge, and as far beyond each corner), where the top rims cross the lid's crease. Elsewhere the
# face's own long dark lines are its own: the lips' line, a nostril's edge, the fold beside the nose (with rims
# looked for over the whole face, the still portrait's whole-face look lost 1.3 % of its painted pixels along
# them, bench_occlusion.py's flicker table), the wrinkles under Grace Hopper's eyes (a skin-coloured crack
# through the README gallery's black eye when rims were looked for all around the eyes).
GLASSES_REACH = 0.6
# How far from the lids' edges the face's own thin dark lines lie: the lashes' line and eyeliner. A glasses
# rim across the lid's crease lies beyond (the webcam clip: 0.15-0.25 of the eye's width). At 0.1 the webcam's
# right eye kept a rim tinted where it ran along the crease (bench_occlusion.py: frame pixels changed 14.3 %,
# against 8.1 % at 0.07, with lines of any length held).
LASH_REACH = 0.07
_EYE_CORNERS = np.array([263, 33, 362, 133])  # each eye's outer corner, then each one's inner corner
# Each upper lid's edge from corner to corner, and the middle of the brow above it.
_UPPER_LIDS = tuple(np.array(contour[8:] + contour[:1]) for contour in (LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR))
_BROWS = (np.array(LEFT_BROW_CONTOUR), np.array(RIGHT_BROW_CONTOUR))
# The lids' edges and the brows' outlines, as one index (one gather a frame) and where each outline lies in it.
_OWN_LINES = np.array(LEFT_EYE_CONTOUR + RIGHT_EYE_CONTOUR + LEFT_BROW_CONTOUR + RIGHT_BROW_CONTOUR)
_OWN_LINES_PARTS = tuple(slice(end - len(outline), end) for outline, end in zip(
    (LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR, LEFT_BROW_CONTOUR, RIGHT_BROW_CONTOUR),
    np.cumsum([len(LEFT_EYE_CONTOUR), len(RIGHT_EYE_CONTOUR), len(LEFT_BROW_CONTOUR), len(RIGHT_BROW_CONTOUR)])))


def _over_upper_lids(points: np.ndarray, reach: float) -> list[np.ndarray]:
    """Per eye, the band over its upper lid (screen float points): from the lid's edge, its ends pushed
    ``reach`` (a share of that eye's width) beyond the corners, up ``reach`` towards the brow."""
    bands = []
    for lid, brow in zip(_UPPER_LIDS, _BROWS):
        edge = points[lid, :2].astype(np.float64)
        across = edge[-1] - edge[0]
        width = float(np.hypot(*across))
        up = points[brow, :2].mean(axis=0) - edge.mean(axis=0)
        up *= reach * width / max(float(np.hypot(*up)), 1e-6)
        ends = reach * across
        edge = np.vstack([edge[0] - ends, edge, edge[-1] + ends])
        bands.append(np.vstack([edge, edge[::-1] + up]))
    return bands


def own_lines_zone(points: np.ndarray, origin: tuple[int, int], step: int,
                   shape: tuple[int, int]) -> tuple[np.ndarray, float]:
    """Where a face's own thin dark lines may lie on a screen region read every ``step``-th pixel from
    ``origin`` (its screen x, y; ``shape``: the region's rows and columns as read): uint8, 0 over the upper
    lids (:data:`GLASSES_REACH`), where a glasses rim crosses the crease, except along the lids' edges and
    under the brows (grown by :data:`LASH_REACH`), 255 there and everywhere else; and the wider eye's width in
    the region's pixels (``points``: the face's screen landmarks). Where it is 0, a long thin dark line over
    the face's own features is something in front of the face (:func:`~arfilter.render.occlusion_pixels.rims`)."""
    corners = points[_EYE_CORNERS, :2]
    eye_width = float(np.hypot(*(corners[:2] - corners[2:]).T).max()) / step
    outlines = np.rint((points[_OWN_LINES, :2] - origin) / step).astype(np.int32)
    parts = [outlines[part] for part in _OWN_LINES_PARTS]
    zone = np.full(shape, 255, np.uint8)
    cv2.fillPoly(zone, [np.rint((band - origin) / step).astype(np.int32)
                        for band in _over_upper_lids(points, GLASSES_REACH)], 0)
    cv2.fillPoly(zone, parts, 255)
    # Grown by the outlines drawn that thick (round ends): as a dilation by a disc, at a third of its cost.
    cv2.polylines(zone, parts, True, 255, 2 * max(int(round(LASH_REACH * eye_width)), 1))
    return zone, eye_width
