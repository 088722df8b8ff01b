"""The renderer's geometry as it was written in numpy before it was compiled (arfilter.render.kernels).

Kept as the oracle: ``tests/test_kernels.py`` checks that every compiled kernel gives what this
gives, to the bit, on random meshes and on real faces. The product never calls it.
"""

from __future__ import annotations

import numpy as np

from arfilter.render.warp import OUTSIDE, Roi, signed_areas


def visible_triangles(
    points: np.ndarray, depth: np.ndarray, triangles: np.ndarray, front_sign: float, min_area: float = 1e-3
) -> np.ndarray:
    """The front-facing triangles, far to near, as numpy found them (``warp.visible_triangles``)."""
    areas = signed_areas(points, triangles) * front_sign
    keep = np.flatnonzero(areas > min_area)
    corners = depth[triangles[keep]]
    mean_depth = (corners[:, 0] + corners[:, 1] + corners[:, 2]) / 3  # what .mean(axis=1) gives, faster
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


def _affine_to_target(xs: np.ndarray, ys: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per triangle, the affine map from screen to target: (3, C, K), rows d/dx, d/dy and the constant,
    so that target = x * M[0] + y * M[1] + M[2].

    ``xs``, ``ys``: (3, K) the corners' screen coordinates; ``target``: (C, 3, K) their target values.
    Closed form (a 2x2 inverse per triangle), written out on rows of K numbers: several times faster
    than a batched ``np.linalg.solve`` (or ``einsum``) for a few hundred triangles.
    """
    e1x, e1y, e2x, e2y = xs[1] - xs[0], ys[1] - ys[0], xs[2] - xs[0], ys[2] - ys[0]
    det = e1x * e2y - e1y * e2x
    det = np.where(np.abs(det) < 1e-12, 1e-12, det)
    # inv([e1 e2]) = [[e2y, -e2x], [-e1y, e1x]] / det: barycentric (b1, b2) = inv @ (p - p0).
    inverse = np.stack([e2y, -e1y, -e2x, e1x]) / det
    t0 = target[:, 0]
    d1 = target[:, 1] - t0  # (C, K): the target's change along e1 (b1) and e2 (b2)
    d2 = target[:, 2] - t0
    out = np.empty((3,) + t0.shape)
    out[0] = inverse[0] * d1 + inverse[1] * d2  # d target / dx
    out[1] = inverse[2] * d1 + inverse[3] * d2  # d target / dy
    out[2] = t0 - (xs[0] * out[0] + ys[0] * out[1])
    return out


def _inside_roi(local: np.ndarray, triangles: np.ndarray, roi: Roi) -> np.ndarray:
    """bool per triangle: its bounding box meets ``roi`` (``local``: vertices in the ROI's coordinates).

    By outcodes per vertex (left, right, above, below): a box misses the ROI exactly when its three
    corners share a side, which costs a gather of bytes instead of the corners' minima and maxima.
    """
    x, y = local[:, 0], local[:, 1]
    codes = ((x < 0) | ((x > roi.width - 1) << 1) | ((y < 0) << 2) | ((y > roi.height - 1) << 3)).astype(np.uint8)
    corners = codes[triangles]
    return (corners[:, 0] & corners[:, 1] & corners[:, 2]) == 0


def _sorted_by_y(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each triangle's corners ((3, K) coordinates) sorted by y, top (a), middle (b), bottom (c):
    ax, ay, bx, by, cx, cy. Three compare-exchanges (a stable sort of three): far cheaper than
    ``argsort`` per row.
    """
    x, y = list(xs), list(ys)
    for i, j in ((0, 1), (1, 2), (0, 1)):
        swap = y[j] < y[i]
        x[i], x[j] = np.where(swap, x[j], x[i]), np.where(swap, x[i], x[j])
        y[i], y[j] = np.where(swap, y[j], y[i]), np.where(swap, y[i], y[j])
    return x[0], y[0], x[1], y[1], x[2], y[2]


def _run_table(ax, ay, bx, by, cx, cy, start: np.ndarray) -> np.ndarray:
    """(9, 2K): per triangle, its run of rows above its middle corner then the rest: the long edge (a-c)
    and the run's short edge (a-b, then b-c) as x0, y0, dx, dy (dy 0 taken as infinite, so that
    t = (y - y0) / dy is 0 on a flat edge), then ``start`` (the run's first row less its first span)."""
    def dy(y0: np.ndarray, y1: np.ndarray) -> np.ndarray:
        d = y1 - y0
        return np.where(d == 0, np.inf, d)

    table = np.empty((9, len(ax), 2))
    table[0], table[1], table[2], table[3] = ax[:, None], ay[:, None], (cx - ax)[:, None], dy(ay, cy)[:, None]
    table[4, :, 0], table[5, :, 0], table[6, :, 0], table[7, :, 0] = ax, ay, bx - ax, dy(ay, by)
    table[4, :, 1], table[5, :, 1], table[6, :, 1], table[7, :, 1] = bx, by, cx - bx, dy(by, cy)
    table[8] = start.reshape(-1, 2)
    return table.reshape(9, -1)


def rasterize_values(points: np.ndarray, triangles: np.ndarray, values: np.ndarray, roi: Roi) -> np.ndarray:
    """The vectorised numpy scanline rasteriser ``warp.rasterize_values`` was before it was compiled."""
    channels = values.shape[1]
    maps = np.full((channels, roi.height, roi.width), OUTSIDE, dtype=np.float32)
    if roi.empty or len(triangles) == 0:
        return maps

    local = points.astype(np.float64) - (roi.x, roi.y)
    triangles = triangles[_inside_roi(local, triangles, roi)]  # only those can cover a pixel of the ROI
    if len(triangles) == 0:
        return maps
    corners = np.ascontiguousarray(triangles.T)  # (3, K)
    xs, ys = local[:, 0][corners], local[:, 1][corners]
    coeffs = _affine_to_target(xs, ys, values.T.astype(np.float64)[:, corners])  # (3, C, K)
    ax, ay, bx, by, cx, cy = _sorted_by_y(xs, ys)

    # Each triangle's rows in two runs: above its middle corner (y < by) along the upper short edge
    # (a-b), then the rest along the lower one (b-c); every row also crosses the long edge (a-c).
    row0 = np.maximum(np.ceil(ay), 0).astype(np.int64)
    rows_per_tri = np.maximum(np.minimum(np.floor(cy), roi.height - 1).astype(np.int64) - row0 + 1, 0)
    upper_rows = np.clip(np.ceil(by).astype(np.int64) - row0, 0, rows_per_tri)
    runs = np.stack([upper_rows, rows_per_tri - upper_rows], axis=1).ravel()  # upper, lower, upper, ...
    total_rows = int(runs.sum())
    if total_rows == 0:
        return maps
    first_row = np.stack([row0, row0 + upper_rows], axis=1).ravel()
    span = np.repeat(_run_table(ax, ay, bx, by, cx, cy, first_row - (np.cumsum(runs) - runs)), runs, axis=1)
    y = np.arange(total_rows) + span[8]  # one entry per (triangle, row): where the row crosses it
    x_long = span[0] + (y - span[1]) / span[3] * span[2]
    x_short = span[4] + (y - span[5]) / span[7] * span[6]
    x_start = np.maximum(np.ceil(np.minimum(x_long, x_short) - 1e-9), 0).astype(np.int64)
    x_end = np.minimum(np.floor(np.maximum(x_long, x_short) + 1e-9), roi.width - 1).astype(np.int64)
    pixels_per_span = np.maximum(x_end - x_start + 1, 0)
    total = int(pixels_per_span.sum())
    if total == 0:
        return maps

    # Per span: its first pixel's number, its flat index less that number, and per channel the value
    # at its first pixel and the step along x; one repeat gives every pixel its span's. Painter's order:
    # spans are grouped by triangle far to near, and numpy's fancy assignment writes in index order,
    # so the nearest triangle wins.
    first_pixel = np.cumsum(pixels_per_span) - pixels_per_span
    whole = np.empty((2, len(pixels_per_span)), np.int32)
    whole[0], whole[1] = first_pixel, y.astype(np.int64) * roi.width + x_start - first_pixel
    m = np.repeat(coeffs.reshape(3 * channels, -1), rows_per_tri, axis=1)  # (3C, S)
    ramp = np.empty((2 * channels, len(pixels_per_span)), np.float32)
    ramp[:channels] = m[:channels] * x_start.astype(np.float64) + m[channels:2 * channels] * y + m[2 * channels:]
    ramp[channels:] = m[:channels]
    whole, ramp = np.repeat(whole, pixels_per_span, axis=1), np.repeat(ramp, pixels_per_span, axis=1)
    number = np.arange(total, dtype=np.int32)
    offset = (number - whole[0]).astype(np.float32)
    flat = number + whole[1]
    for channel in range(channels):
        maps[channel].ravel()[flat] = ramp[channel] + ramp[channels + channel] * offset
    return maps


def vertex_normals(landmarks: np.ndarray, triangles: np.ndarray, front_sign: float) -> np.ndarray:
    points = landmarks[:, :3].astype(np.float64)
    e1 = points[triangles[:, 1]] - points[triangles[:, 0]]
    e2 = points[triangles[:, 2]] - points[triangles[:, 0]]
    # The cross product written out (several times faster than np.cross on 898 rows), with z negated
    # so it points towards the camera.
    normals = (
        (-e1[:, 1] * e2[:, 2] + e1[:, 2] * e2[:, 1]) * front_sign,
        (-e1[:, 2] * e2[:, 0] + e1[:, 0] * e2[:, 2]) * front_sign,
        (e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]) * front_sign,
    )
    corners_of = triangles.ravel()
    summed = np.stack([np.bincount(corners_of, weights=np.repeat(normal, 3), minlength=len(points))
                       for normal in normals], axis=1)
    length = np.sqrt((summed * summed).sum(axis=1))
    length[length == 0] = 1.0
    return (summed / length[:, None]).astype(np.float32)


def texel_positions(grid, points: np.ndarray, facing: np.ndarray, shown: np.ndarray, width: int, height: int):
    """What ``UvGrid.view`` computed per texel in numpy: (valid, screen_x, screen_y, facing), flat."""
    size = grid.box.height * grid.box.width
    per_vertex = np.stack([points[:, 0], points[:, 1], facing])  # (3, V)
    corners = per_vertex[:, grid._corner_vertices]  # (3 measures, 3 corners, N)
    weights = grid._corner_weights
    sx, sy, on = ((corners[:, 0] * weights[0]).astype(np.float32, copy=False)
                  + (corners[:, 1] * weights[1]).astype(np.float32, copy=False)
                  + (corners[:, 2] * weights[2]).astype(np.float32, copy=False))
    ok = shown[grid._triangle] & (sx >= 0) & (sy >= 0) & (sx <= width - 1) & (sy <= height - 1)
    valid = np.zeros(size, bool)
    valid[grid._texels] = ok
    screen_x = np.full(size, OUTSIDE, np.float32)
    screen_y = np.full(size, OUTSIDE, np.float32)
    face_on = np.zeros(size, np.float32)
    texels = grid._texels[ok]
    screen_x[texels] = sx[ok]
    screen_y[texels] = sy[ok]
    face_on[texels] = np.clip(on[ok], 0.0, 1.0)
    return valid, screen_x, screen_y, face_on



def score_tables(skin: np.ndarray, start: np.ndarray, scale: np.ndarray, rows: tuple[int, ...]) -> np.ndarray:
    """What ``occlusion_kernels.ramp_tables`` computes, in numpy: uint8 (len(rows), 256) scores per level; ``start``
    and ``scale`` per ramp, as float32 columns."""
    levels = np.arange(256, dtype=np.float32)
    measures = np.empty((3, 256), np.float32)
    measures[0] = levels / max(float(skin[0]), 1.0)
    measures[1] = np.abs(levels - skin[1]) / skin[3]
    measures[2] = np.abs(levels - skin[2]) / skin[4]
    return np.clip((measures[list(rows)] - start) * scale, 0.0, 255.0).astype(np.uint8)


def age_transmittance(color: np.ndarray, alpha: np.ndarray, table: np.ndarray) -> np.ndarray:
    """What the bruise shader's age lookup did with OpenCV: age step = green * 15 / alpha (cv2.divide),
    then (alpha, step) read from the table by a nearest remap (0 past its last step)."""
    import cv2

    a = cv2.extractChannel(alpha, 0)
    step = cv2.divide(cv2.extractChannel(color, 1), a, scale=table.shape[0] - 1)
    index = cv2.merge([a, step]).astype(np.int16)
    return cv2.remap(table, index, None, cv2.INTER_NEAREST)


def face_skin_luma(image: np.ndarray, points: np.ndarray, indices: np.ndarray) -> float | None:
    """``renderer.face_skin_luma`` as numpy found it: one gather of the 5x5 patches inside the frame."""
    patch = np.mgrid[-2:3, -2:3].reshape(2, -1)
    height, width = image.shape[:2]
    centres = np.round(points[indices]).astype(np.intp)
    inside = (centres[:, 0] >= 2) & (centres[:, 0] < width - 2) & (centres[:, 1] >= 2) & (centres[:, 1] < height - 2)
    if not inside.any():
        return None
    xs = (centres[inside, 0, None] + patch[1]).ravel()
    ys = (centres[inside, 1, None] + patch[0]).ravel()
    blue, green, red = image[ys, xs].mean(axis=0)
    return float(0.114 * blue + 0.587 * green + 0.299 * red) / 255.0


def sample_luma(image: np.ndarray, points: np.ndarray, vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``lighting.sample_luma`` as numpy found it: one gather of the spaced 3x3 samples inside the frame."""
    patch = np.mgrid[-1:2, -1:2].reshape(2, -1)
    height, width = image.shape[:2]
    step = max(1, int(round(float(np.ptp(points[:, 0])) / 150.0)))
    centres = np.round(points[vertices]).astype(np.intp)
    inside = ((centres[:, 0] >= step) & (centres[:, 0] < width - step)
              & (centres[:, 1] >= step) & (centres[:, 1] < height - step))
    xs = centres[inside, 0, None] + step * patch[1]
    ys = centres[inside, 1, None] + step * patch[0]
    summed = image[ys, xs].sum(axis=1, dtype=np.int32)
    return summed @ (np.array([0.114, 0.587, 0.299]) / (9 * 255.0)), inside
