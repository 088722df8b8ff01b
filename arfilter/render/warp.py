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

    Closed form (a 2x2 inverse per triangle), several times faster than a
    batched ``np.linalg.solve`` for a few hundred triangles.
    """
    p0 = screen[:, 0]
    e1 = screen[:, 1] - p0
    e2 = screen[:, 2] - p0
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    det = np.where(np.abs(det) < 1e-12, 1e-12, det)
    # Rows of inv([e1 e2]): barycentric (b1, b2) = inv @ (p - p0).
    inv = np.stack([np.stack([e2[:, 1], -e2[:, 0]], axis=1),
                    np.stack([-e1[:, 1], e1[:, 0]], axis=1)], axis=1) / det[:, None, None]  # (K, 2, 2)
    t0 = target[:, 0]
    edges = np.stack([target[:, 1] - t0, target[:, 2] - t0], axis=1)  # (K, 2 [b1, b2], 2 [u, v])
    linear = np.einsum("kbi,kbt->kit", inv, edges)  # (K, 2 [x, y], 2 [u, v])
    constant = t0 - np.einsum("ki,kit->kt", p0, linear)
    return np.concatenate([linear, constant[:, None, :]], axis=1)


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

    # One entry per (triangle, row): where the row crosses the triangle.
    span_tri = np.repeat(np.arange(len(triangles)), rows_per_tri)
    first_span = np.cumsum(rows_per_tri) - rows_per_tri
    y = (row0[span_tri] + np.arange(total_rows) - first_span[span_tri]).astype(np.float64)

    def cross_x(x0, y0, x1, y1):
        dy = y1 - y0
        t = np.divide(y - y0, dy, out=np.zeros_like(y), where=dy != 0)
        return x0 + t * (x1 - x0)

    t_ax, t_ay, t_bx, t_by = ax[span_tri], ay[span_tri], bx[span_tri], by[span_tri]
    t_cx, t_cy = cx[span_tri], cy[span_tri]
    x_long = cross_x(t_ax, t_ay, t_cx, t_cy)
    upper = y < t_by
    x_short = np.where(
        upper, cross_x(t_ax, t_ay, t_bx, t_by), cross_x(t_bx, t_by, t_cx, t_cy)
    )
    x_start = np.maximum(np.ceil(np.minimum(x_long, x_short) - 1e-9), 0).astype(np.int64)
    x_end = np.minimum(np.floor(np.maximum(x_long, x_short) + 1e-9), roi.width - 1).astype(np.int64)
    pixels_per_span = np.maximum(x_end - x_start + 1, 0)
    total = int(pixels_per_span.sum())
    if total == 0:
        return maps

    first_pixel = np.cumsum(pixels_per_span) - pixels_per_span
    span_of_pixel = np.repeat(np.arange(len(pixels_per_span)), pixels_per_span)
    offset = (np.arange(total) - first_pixel[span_of_pixel]).astype(np.float32)
    flat = (y.astype(np.int64) * roi.width + x_start)[span_of_pixel] + offset.astype(np.int64)
    # Value at each span's first pixel, and its step along x. Painter's order: spans are
    # grouped by triangle far to near, and numpy's fancy assignment writes in index
    # order, so the nearest triangle wins.
    m = coeffs[span_tri]  # (S, 3, C)
    xs = x_start.astype(np.float64)
    for channel in range(channels):
        start = (m[:, 0, channel] * xs + m[:, 1, channel] * y + m[:, 2, channel]).astype(np.float32)
        step = m[:, 0, channel].astype(np.float32)
        maps[channel].ravel()[flat] = start[span_of_pixel] + step[span_of_pixel] * offset
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
