"""Piecewise-affine warping from screen pixels to texture coordinates.

The overlay is authored in the canonical UV space; on screen every mesh
triangle is an affine image of its UV triangle. We rasterise all visible
triangles with a compiled scanline rasteriser (:mod:`arfilter.render.kernels`)
that writes, for every covered pixel, the texture coordinate it shows. One ``cv2.remap`` per face then samples the texture.

Visibility: a triangle whose on-screen winding is opposite to its UV winding
faces away (or is folded) and is culled; the rest are written far to near so
the nearest surface wins where a turned head overlaps itself (the nose over
the far cheek).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from arfilter.core.compiled import arg
from arfilter.render import kernels

OUTSIDE = np.float32(-1e4)  # map value for "no surface here": remap returns transparent
_NEIGHBOURS = np.ones((3, 3), np.uint8)


@dataclass(frozen=True)
class Roi:
    """A rectangle of the frame: x, y of the top-left pixel, width, height."""

    x: int
    y: int
    width: int
    height: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y, self.y + self.height), slice(self.x, self.x + self.width)

    @property
    def empty(self) -> bool:
        return self.width <= 0 or self.height <= 0


def signed_areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Twice the signed area of each triangle (positive = clockwise on screen, y down)."""
    x, y = points[:, 0][triangles], points[:, 1][triangles]  # (K, 3) each
    return (x[:, 1] - x[:, 0]) * (y[:, 2] - y[:, 0]) - (y[:, 1] - y[:, 0]) * (x[:, 2] - x[:, 0])


def visible_triangles(
    points: np.ndarray, depth: np.ndarray, triangles: np.ndarray, front_sign: float, min_area: float = 1e-3
) -> np.ndarray:
    """Indices of the front-facing ``triangles``, sorted far to near.

    ``front_sign`` is the sign the canonical UV layout gives every triangle;
    a screen triangle with the other sign faces away from the camera (or is
    folded over) and is culled, as are slivers thinner than ``min_area``.
    """
    # float32 landmarks as they come (bit for bit what numpy gave), anything else in float64.
    kind = np.float32 if points.dtype == np.float32 and depth.dtype == np.float32 else np.float64
    keep, mean_depth = kernels.front_facing(arg(points, kind), arg(depth, kind),
                                            arg(triangles, np.int32), kind(front_sign), kind(min_area), kind(3))
    return keep[np.argsort(-mean_depth, kind="stable")]


def triangles_roi(points: np.ndarray, triangles: np.ndarray, frame_w: int, frame_h: int, margin: int = 2) -> Roi:
    """Pixel rectangle covering ``triangles``, clipped to the frame."""
    if len(triangles) == 0:
        return Roi(0, 0, 0, 0)
    x_min, y_min, x_max, y_max = kernels.corner_bounds(arg(points, np.float64),
                                                       arg(triangles, np.int32))
    x0 = max(int(np.floor(x_min)) - margin, 0)
    y0 = max(int(np.floor(y_min)) - margin, 0)
    x1 = min(int(np.ceil(x_max)) + margin + 1, frame_w)
    y1 = min(int(np.ceil(y_max)) + margin + 1, frame_h)
    return Roi(x0, y0, max(x1 - x0, 0), max(y1 - y0, 0))


def rasterize_map(
    points: np.ndarray,
    triangles: np.ndarray,
    targets: np.ndarray,
    roi: Roi,
) -> tuple[np.ndarray, np.ndarray]:
    """Dense ``cv2.remap`` maps over ``roi``: for each pixel, the target coordinate it shows.

    ``points`` are screen positions per vertex (pixels, frame coordinates),
    ``targets`` the coordinate each vertex maps to (texture pixels), and
    ``triangles`` the triangles to draw in painter's order (later wins).
    A pixel is covered when its centre lies inside a triangle. Uncovered pixels
    hold :data:`OUTSIDE`.
    """
    map_x, map_y = rasterize_values(points, triangles, targets, roi)
    return map_x, map_y


def rasterize_values(
    points: np.ndarray,
    triangles: np.ndarray,
    values: np.ndarray,
    roi: Roi,
) -> np.ndarray:
    """``values`` (one row of C numbers per vertex) interpolated over ``roi``: (C, height, width) float32.

    Each triangle is affine between its vertices, so every channel is
    interpolated linearly inside it; the nearest triangle (last in
    ``triangles``) wins; uncovered pixels hold :data:`OUTSIDE` in every channel.
    A pixel is covered when its centre lies inside a triangle (compiled: :func:`kernels.rasterise`).
    """
    maps = np.full((values.shape[1], roi.height, roi.width), OUTSIDE, dtype=np.float32)
    if roi.empty or len(triangles) == 0:
        return maps
    local = points.astype(np.float64) - (roi.x, roi.y)
    return kernels.rasterise(local, arg(triangles, np.int32), arg(values, np.float64), maps)


def raster_step(face_width_px: float, target_px: float = 180.0, max_step: int = 4) -> int:
    """How coarse the map may be sampled for a face this wide on screen.

    The map is piecewise-affine and continuous, so sampling it every ``step``
    pixels and interpolating loses almost nothing, while the rasteriser's cost
    drops by ``step**2``. The texture is still sampled at full resolution.
    """
    return int(min(max(round(face_width_px / target_px), 1), max_step))


def sample_map(
    points: np.ndarray, triangles: np.ndarray, targets: np.ndarray, roi: Roi, step: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full-resolution remap maps over ``roi`` plus a uint8 coverage mask (255 = inside).

    With ``step > 1`` the map is rasterised on a grid ``step`` times coarser
    and upsampled linearly; the coverage is upsampled too, which gives the
    outline (silhouette, eye and mouth holes) a soft, anti-aliased edge.
    """
    if step <= 1:
        map_x, map_y = rasterize_map(points, triangles, targets, roi)
        coverage = np.where(map_x != OUTSIDE, np.uint8(255), np.uint8(0))
        return map_x, map_y, cv2.GaussianBlur(coverage, (3, 3), 0)
    coarse = Roi(0, 0, -(-roi.width // step), -(-roi.height // step))
    # Coarse pixel j sits at fine pixel (j + 0.5) * step - 0.5: cv2.resize's alignment.
    local = (points.astype(np.float64) - (roi.x, roi.y) + 0.5) / step - 0.5
    map_x, map_y = rasterize_map(local, triangles, targets, coarse)
    valid = cv2.compare(map_x, float(OUTSIDE), cv2.CMP_NE)  # uint8 255 where a triangle is
    # Blurred a little before upsampling, so edges come out smooth, not stepped.
    coverage = cv2.GaussianBlur(valid, (3, 3), 0)
    # Give uncovered samples next to covered ones a neighbour's value, so the
    # interpolation near an edge does not blend towards OUTSIDE.
    map_x = cv2.copyTo(map_x, valid, cv2.dilate(map_x, _NEIGHBOURS))
    map_y = cv2.copyTo(map_y, valid, cv2.dilate(map_y, _NEIGHBOURS))
    size = (coarse.width * step, coarse.height * step)
    fine_x = cv2.resize(map_x, size, interpolation=cv2.INTER_LINEAR)[: roi.height, : roi.width]
    fine_y = cv2.resize(map_y, size, interpolation=cv2.INTER_LINEAR)[: roi.height, : roi.width]
    fine_coverage = cv2.resize(coverage, size, interpolation=cv2.INTER_LINEAR)[: roi.height, : roi.width]
    return np.ascontiguousarray(fine_x), np.ascontiguousarray(fine_y), np.ascontiguousarray(fine_coverage)
