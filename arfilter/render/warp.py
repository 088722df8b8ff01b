"""Piecewise-affine warping from screen pixels to texture coordinates.

The overlay is authored in the canonical UV space; on screen every mesh
triangle is an affine image of its UV triangle. We rasterise all visible
triangles at once with a vectorised scanline rasteriser (numpy, no loop over
triangles or pixels) that writes, for every covered pixel, the texture
coordinate it shows. One ``cv2.remap`` per face then samples the texture.

Visibility: a triangle whose on-screen winding is opposite to its UV winding
faces away (or is folded) and is culled; the rest are written far to near so
the nearest surface wins where a turned head overlaps itself (the nose over
the far cheek).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

OUTSIDE = np.float32(-1e4)  # map value for "no surface here": remap returns transparent


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
    p0 = points[triangles[:, 0]]
    e1 = points[triangles[:, 1]] - p0
    e2 = points[triangles[:, 2]] - p0
    return e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]


def visible_triangles(
    points: np.ndarray, depth: np.ndarray, triangles: np.ndarray, front_sign: float, min_area: float = 1e-3
) -> np.ndarray:
    """Indices of the front-facing ``triangles``, sorted far to near.

    ``front_sign`` is the sign the canonical UV layout gives every triangle;
    a screen triangle with the other sign faces away from the camera (or is
    folded over) and is culled, as are slivers thinner than ``min_area``.
    """
    areas = signed_areas(points, triangles) * front_sign
    keep = np.flatnonzero(areas > min_area)
    mean_depth = depth[triangles[keep]].mean(axis=1)
    return keep[np.argsort(-mean_depth, kind="stable")]


def triangles_roi(points: np.ndarray, triangles: np.ndarray, frame_w: int, frame_h: int, margin: int = 2) -> Roi:
    """Pixel rectangle covering ``triangles``, clipped to the frame."""
    if len(triangles) == 0:
        return Roi(0, 0, 0, 0)
    used = points[triangles.ravel()]
    x0 = max(int(np.floor(used[:, 0].min())) - margin, 0)
    y0 = max(int(np.floor(used[:, 1].min())) - margin, 0)
    x1 = min(int(np.ceil(used[:, 0].max())) + margin + 1, frame_w)
    y1 = min(int(np.ceil(used[:, 1].max())) + margin + 1, frame_h)
    return Roi(x0, y0, max(x1 - x0, 0), max(y1 - y0, 0))


def _affine_to_target(screen: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-triangle 3x2 matrices M with [x, y, 1] @ M = target coordinates.

    Closed form (a 2x2 inverse per triangle), written out element by element: several times
    faster than a batched ``np.linalg.solve`` (or ``einsum``) for a few hundred triangles.
    """
    p0x, p0y = screen[:, 0, 0], screen[:, 0, 1]
    e1x, e1y = screen[:, 1, 0] - p0x, screen[:, 1, 1] - p0y
    e2x, e2y = screen[:, 2, 0] - p0x, screen[:, 2, 1] - p0y
    det = e1x * e2y - e1y * e2x
    det = np.where(np.abs(det) < 1e-12, 1e-12, det)
    # inv([e1 e2]) = [[e2y, -e2x], [-e1y, e1x]] / det: barycentric (b1, b2) = inv @ (p - p0).
    t0 = target[:, 0]
    d1 = target[:, 1] - t0  # (K, C): the target's change along e1 (b1) and e2 (b2)
    d2 = target[:, 2] - t0
    out = np.empty((len(screen), 3, target.shape[2]))
    out[:, 0] = (e2y / det)[:, None] * d1 + (-e1y / det)[:, None] * d2  # d target / dx
    out[:, 1] = (-e2x / det)[:, None] * d1 + (e1x / det)[:, None] * d2  # d target / dy
    out[:, 2] = t0 - (p0x[:, None] * out[:, 0] + p0y[:, None] * out[:, 1])
    return out


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


# why: the hot path of every frame (one vectorised pass per face, no Python per pixel); its steps
# share a dozen arrays that splitting would pass around or copy, and it is measured in benchmarks/.
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
    """
    channels = values.shape[1]
    maps = np.full((channels, roi.height, roi.width), OUTSIDE, dtype=np.float32)
    if roi.empty or len(triangles) == 0:
        return maps

    local = points.astype(np.float64) - (roi.x, roi.y)
    screen = local[triangles]  # (K, 3, 2)
    # Only triangles whose bounding box meets the ROI can cover a pixel of it.
    # (np.minimum over the three corners: a reduction along a length-3 axis is several times slower)
    low = np.minimum(np.minimum(screen[:, 0], screen[:, 1]), screen[:, 2])
    high = np.maximum(np.maximum(screen[:, 0], screen[:, 1]), screen[:, 2])
    inside = (high[:, 0] >= 0) & (high[:, 1] >= 0) & (low[:, 0] <= roi.width - 1) & (low[:, 1] <= roi.height - 1)
    triangles, screen = triangles[inside], screen[inside]
    if len(triangles) == 0:
        return maps
    coeffs = _affine_to_target(screen, values[triangles].astype(np.float64))  # (K, 3, C)

    # Sort each triangle's vertices by y: top (a), middle (b), bottom (c).
    order = np.argsort(screen[:, :, 1], axis=1)
    sorted_pts = np.take_along_axis(screen, order[:, :, None], axis=1)
    ax, ay = sorted_pts[:, 0, 0], sorted_pts[:, 0, 1]
    bx, by = sorted_pts[:, 1, 0], sorted_pts[:, 1, 1]
    cx, cy = sorted_pts[:, 2, 0], sorted_pts[:, 2, 1]

    row0 = np.maximum(np.ceil(ay), 0).astype(np.int64)
    row1 = np.minimum(np.floor(cy), roi.height - 1).astype(np.int64)
    rows_per_tri = np.maximum(row1 - row0 + 1, 0)
    total_rows = int(rows_per_tri.sum())
    if total_rows == 0:
        return maps

    # One entry per (triangle, row): where the row crosses the triangle. Per triangle, its three
    # edges as (x0, y0, dx, dy): the long one (a-c), the upper (a-b) and the lower (b-c) short ones;
    # dy 0 is taken as infinite, so that t = (y - y0) / dy is 0 on a flat edge.
    edges = np.empty((3, 4, len(triangles)))
    for index, (x0, y0, x1, y1) in enumerate(((ax, ay, cx, cy), (ax, ay, bx, by), (bx, by, cx, cy))):
        edges[index] = x0, y0, x1 - x0, y1 - y0
    dy = edges[:, 3]
    dy[dy == 0] = np.inf
    first_span = np.cumsum(rows_per_tri) - rows_per_tri
    y = (np.arange(total_rows) + np.repeat(row0 - first_span, rows_per_tri)).astype(np.float64)
    long_edge = np.repeat(edges[0], rows_per_tri, axis=1)
    short_edge = np.repeat(edges[1:].reshape(8, -1), rows_per_tri, axis=1)
    upper = y < np.repeat(by, rows_per_tri)
    short_edge = np.where(upper, short_edge[:4], short_edge[4:])
    x_long = long_edge[0] + (y - long_edge[1]) / long_edge[3] * long_edge[2]
    x_short = short_edge[0] + (y - short_edge[1]) / short_edge[3] * short_edge[2]
    x_start = np.maximum(np.ceil(np.minimum(x_long, x_short) - 1e-9), 0).astype(np.int64)
    x_end = np.minimum(np.floor(np.maximum(x_long, x_short) + 1e-9), roi.width - 1).astype(np.int64)
    pixels_per_span = np.maximum(x_end - x_start + 1, 0)
    total = int(pixels_per_span.sum())
    if total == 0:
        return maps

    first_pixel = np.cumsum(pixels_per_span) - pixels_per_span
    span_of_pixel = np.repeat(np.arange(len(pixels_per_span)), pixels_per_span)
    index = np.arange(total)
    offset = index - first_pixel[span_of_pixel]
    flat = (y.astype(np.int64) * roi.width + x_start)[span_of_pixel] + offset
    offset = offset.astype(np.float32)
    # Value at each span's first pixel, and its step along x. Painter's order: spans are
    # grouped by triangle far to near, and numpy's fancy assignment writes in index
    # order, so the nearest triangle wins.
    xs = x_start.astype(np.float64)
    for channel in range(channels):
        along_x, along_y, constant = (np.repeat(coeffs[:, row, channel], rows_per_tri) for row in range(3))
        start = (along_x * xs + along_y * y + constant).astype(np.float32)
        maps[channel].ravel()[flat] = start[span_of_pixel] + along_x.astype(np.float32)[span_of_pixel] * offset
    return maps


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
    valid = map_x != OUTSIDE
    # Blurred a little before upsampling, so edges come out smooth, not stepped.
    coverage = cv2.GaussianBlur(np.where(valid, np.uint8(255), np.uint8(0)), (3, 3), 0)
    # Give uncovered samples next to covered ones a neighbour's value, so the
    # interpolation near an edge does not blend towards OUTSIDE.
    kernel = np.ones((3, 3), np.uint8)
    map_x = np.where(valid, map_x, cv2.dilate(map_x, kernel))
    map_y = np.where(valid, map_y, cv2.dilate(map_y, kernel))
    size = (coarse.width * step, coarse.height * step)
    fine_x = cv2.resize(map_x, size, interpolation=cv2.INTER_LINEAR)[: roi.height, : roi.width]
    fine_y = cv2.resize(map_y, size, interpolation=cv2.INTER_LINEAR)[: roi.height, : roi.width]
    fine_coverage = cv2.resize(coverage, size, interpolation=cv2.INTER_LINEAR)[: roi.height, : roi.width]
    return np.ascontiguousarray(fine_x), np.ascontiguousarray(fine_y), np.ascontiguousarray(fine_coverage)
