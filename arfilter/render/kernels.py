"""The renderer's per-face geometry, compiled: loops over a few hundred triangles and vertices.

Why compiled: this geometry works on arrays of a few hundred triangles, a few thousand rows of
pixels and a few thousand texels, where numpy's cost is its calls, not its arithmetic: the
scanline rasteriser alone was ~40 numpy calls and 0.6-0.8 ms per face at 720p. As plain loops
(numba, no Python per element) it is a few hundredths of that. Every kernel computes what the
numpy it replaced computed, operation for operation and in the same float types, so the pictures
are the same to the bit (``tests/test_kernels.py`` checks each against a plain-numpy reference).

Compiled for fixed types at import and cached (:mod:`arfilter.core.compiled`).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from arfilter.core.compiled import JIT as _JIT

# Index arrays are int32 (the mesh's own); the wrappers in warp.py, unwrap.py and occlusion.py convert to
# the types below.


# why: one compiled loop nest (triangle, row, channel, pixel): split into functions, numba would
# inline them back, and the per-triangle set-up shared by its rows would be passed around.
@numba.njit(["f4[:, :, ::1](f8[:, ::1], i4[:, ::1], f8[:, ::1], f4[:, :, ::1])"], **_JIT)
def rasterise(local, triangles, values, maps):  # pragma: no cover - compiled; see the tests
    """Scanline rasteriser: every pixel centre inside a triangle gets ``values`` (per vertex, float64,
    C channels) interpolated affinely; triangles in painter's order (later wins); ``maps`` (C, H, W)
    float32 is written in place. ``local``: vertex positions (float64) in the maps' pixel coordinates.

    Per triangle: the affine map screen -> value from its corners (a 2x2 inverse), its corners sorted
    by y, then its rows above the middle corner (between the long edge a-c and the short edge a-b)
    and below it (a-c and b-c). A row's pixels run from ceil(left) to floor(right); each value is
    its first pixel's (float64, rounded to float32) plus the step along x (float32) times the offset.
    """
    channels, height, width = maps.shape
    for k in range(triangles.shape[0]):
        i0, i1, i2 = triangles[k, 0], triangles[k, 1], triangles[k, 2]
        x0, y0 = local[i0, 0], local[i0, 1]
        x1, y1 = local[i1, 0], local[i1, 1]
        x2, y2 = local[i2, 0], local[i2, 1]
        # Outcodes (left, right, above, below): three corners on one side cannot reach a pixel.
        c0 = (x0 < 0) | ((x0 > width - 1) << 1) | ((y0 < 0) << 2) | ((y0 > height - 1) << 3)
        c1 = (x1 < 0) | ((x1 > width - 1) << 1) | ((y1 < 0) << 2) | ((y1 > height - 1) << 3)
        c2 = (x2 < 0) | ((x2 > width - 1) << 1) | ((y2 < 0) << 2) | ((y2 > height - 1) << 3)
        if (c0 & c1 & c2) != 0:
            continue
        e1x, e1y, e2x, e2y = x1 - x0, y1 - y0, x2 - x0, y2 - y0
        det = e1x * e2y - e1y * e2x
        if abs(det) < 1e-12:
            det = 1e-12
        inv0, inv1, inv2, inv3 = e2y / det, -e1y / det, -e2x / det, e1x / det
        ax, ay, bx, by, cx, cy = x0, y0, x1, y1, x2, y2
        if by < ay:  # a stable sort of three by y: three compare-exchanges
            ax, ay, bx, by = bx, by, ax, ay
        if cy < by:
            bx, by, cx, cy = cx, cy, bx, by
        if by < ay:
            ax, ay, bx, by = bx, by, ax, ay
        row0 = max(math.ceil(ay), 0)
        rows = max(min(math.floor(cy), height - 1) - row0 + 1, 0)
        upper = min(max(math.ceil(by) - row0, 0), rows)
        d_ac = cy - ay if cy != ay else np.inf  # a flat edge: t = (y - y0) / dy is 0 along it
        d_ab = by - ay if by != ay else np.inf
        d_bc = cy - by if cy != by else np.inf
        for r in range(rows):
            y = float(row0 + r)
            x_long = ax + (y - ay) / d_ac * (cx - ax)
            if r < upper:
                x_short = ax + (y - ay) / d_ab * (bx - ax)
            else:
                x_short = bx + (y - by) / d_bc * (cx - bx)
            first = max(int(math.ceil(min(x_long, x_short) - 1e-9)), 0)
            last = min(int(math.floor(max(x_long, x_short) + 1e-9)), width - 1)
            if last < first:
                continue
            row = row0 + r
            for c in range(channels):
                t0 = values[i0, c]
                d1 = values[i1, c] - t0
                d2 = values[i2, c] - t0
                along_x = inv0 * d1 + inv1 * d2
                along_y = inv2 * d1 + inv3 * d2
                constant = t0 - (x0 * along_x + y0 * along_y)
                start = np.float32(along_x * float(first) + along_y * y + constant)
                step = np.float32(along_x)
                for x in range(first, last + 1):
                    maps[c, row, x] = start + step * np.float32(x - first)
    return maps


@numba.njit([f"Tuple((i8[::1], {t}[::1]))({t}[:, ::1], {t}[::1], i4[:, ::1], {t}, {t}, {t})" for t in ("f4", "f8")],
            **_JIT)
def front_facing(points, depth, triangles, front_sign, min_area, three):  # pragma: no cover - compiled
    """(indices of the triangles whose signed screen area times ``front_sign`` exceeds ``min_area``,
    their mean corner depth), in the points' float type (``front_sign``, ``min_area`` and ``three``
    given in it), as numpy computes it."""
    count = triangles.shape[0]
    keep = np.empty(count, np.int64)
    mean = np.empty(count, points.dtype)
    kept = 0
    for k in range(count):
        i0, i1, i2 = triangles[k, 0], triangles[k, 1], triangles[k, 2]
        x0, y0 = points[i0, 0], points[i0, 1]
        area = (points[i1, 0] - x0) * (points[i2, 1] - y0) - (points[i1, 1] - y0) * (points[i2, 0] - x0)
        if area * front_sign > min_area:
            keep[kept] = k
            mean[kept] = (depth[i0] + depth[i1] + depth[i2]) / three
            kept += 1
    return keep[:kept], mean[:kept]


@numba.njit(["UniTuple(f8, 4)(f8[:, ::1], i4[:, ::1])"], **_JIT)
def corner_bounds(points, triangles):  # pragma: no cover - compiled
    """(min x, min y, max x, max y) over every corner of ``triangles`` (at least one)."""
    first = points[triangles[0, 0]]
    x_min, y_min, x_max, y_max = first[0], first[1], first[0], first[1]
    for k in range(triangles.shape[0]):
        for j in range(3):
            x, y = points[triangles[k, j], 0], points[triangles[k, j], 1]
            x_min, x_max = min(x_min, x), max(x_max, x)
            y_min, y_max = min(y_min, y), max(y_max, y)
    return x_min, y_min, x_max, y_max


@numba.njit(["f4[:, ::1](f8[:, ::1], i4[:, ::1], f8)"], **_JIT)
def unit_normals(points, triangles, front_sign):  # pragma: no cover - compiled
    """float32 (N, 3): per vertex the sum of its triangles' normals (cross products of the edges, z
    negated, times ``front_sign``), added in the triangles' order (as ``np.bincount`` adds), over its
    length (a vertex in no triangle gets 0)."""
    summed = np.zeros((points.shape[0], 3))
    for k in range(triangles.shape[0]):
        i0, i1, i2 = triangles[k, 0], triangles[k, 1], triangles[k, 2]
        e1x, e1y, e1z = points[i1, 0] - points[i0, 0], points[i1, 1] - points[i0, 1], points[i1, 2] - points[i0, 2]
        e2x, e2y, e2z = points[i2, 0] - points[i0, 0], points[i2, 1] - points[i0, 1], points[i2, 2] - points[i0, 2]
        nx = (-e1y * e2z + e1z * e2y) * front_sign
        ny = (-e1z * e2x + e1x * e2z) * front_sign
        nz = (e1x * e2y - e1y * e2x) * front_sign
        for j in range(3):
            vertex = triangles[k, j]
            summed[vertex, 0] += nx
            summed[vertex, 1] += ny
            summed[vertex, 2] += nz
    out = np.empty(summed.shape, np.float32)
    for i in range(summed.shape[0]):
        length = math.sqrt(summed[i, 0] * summed[i, 0] + summed[i, 1] * summed[i, 1] + summed[i, 2] * summed[i, 2])
        if length == 0.0:
            length = 1.0
        for j in range(3):
            out[i, j] = np.float32(summed[i, j] / length)
    return out


@numba.njit([f"void({t}[:, ::1], i4[:, ::1], f4[:, ::1], i8[::1], i8[::1], b1[::1], i8, i8, f4[::1], f4[::1], f4[::1], "
             "b1[::1])" for t in ("f4", "f8")], **_JIT)
def texel_positions(per_vertex, corner_vertices, corner_weights, texels, triangle_of, shown, width, height,
                    screen_x, screen_y, facing, valid):  # pragma: no cover - compiled
    """Per texel of a UV grid: its screen x, y and facing, the weighted sum of its triangle's corners'
    (``per_vertex``: x, y, facing per vertex), each product rounded to float32 and summed in corner
    order; written where its triangle is ``shown`` and it lies inside the frame (``valid`` set)."""
    for n in range(texels.shape[0]):
        a, b, c = corner_vertices[0, n], corner_vertices[1, n], corner_vertices[2, n]
        wa, wb, wc = corner_weights[0, n], corner_weights[1, n], corner_weights[2, n]
        sx = np.float32(np.float32(np.float32(per_vertex[0, a] * wa) + np.float32(per_vertex[0, b] * wb))
                        + np.float32(per_vertex[0, c] * wc))
        sy = np.float32(np.float32(np.float32(per_vertex[1, a] * wa) + np.float32(per_vertex[1, b] * wb))
                        + np.float32(per_vertex[1, c] * wc))
        on = np.float32(np.float32(np.float32(per_vertex[2, a] * wa) + np.float32(per_vertex[2, b] * wb))
                        + np.float32(per_vertex[2, c] * wc))
        if shown[triangle_of[n]] and sx >= 0 and sy >= 0 and sx <= width - 1 and sy <= height - 1:
            texel = texels[n]
            valid[texel] = True
            screen_x[texel] = sx
            screen_y[texel] = sy
            facing[texel] = min(max(on, np.float32(0.0)), np.float32(1.0))


@numba.njit(["u1[:, ::1](f4[::1], f4, i8[::1], f4[::1], f4[::1])"], **_JIT)
def score_tables(skin, brightness, rows, start, scale):  # pragma: no cover - compiled
    """uint8 (len(rows), 256): per level, a ramp's score of a measure against a face's skin statistics
    ``skin`` (Y, Cr, Cb means; Cr, Cb spreads): measure 0 the level / ``brightness`` (the skin's Y, at
    least 1), 1 and 2 |level - the skin's Cr or Cb| / its spread; ``(measure - start) * scale`` clipped
    to 0-255, all in float32 as numpy computes it (these are made for every face and frame)."""
    out = np.empty((rows.shape[0], 256), np.uint8)
    for r in range(rows.shape[0]):
        measure = rows[r]
        for level in range(256):
            value = np.float32(level)
            if measure == 0:
                value = value / brightness
            else:
                value = np.float32(abs(value - skin[measure])) / skin[measure + 2]
            score = (value - start[r]) * scale[r]
            out[r, level] = np.uint8(min(max(score, np.float32(0.0)), np.float32(255.0)))
    return out


_IMAGES = (numba.types.Array(numba.uint8, 3, "C"), numba.types.Array(numba.uint8, 3, "C", readonly=True))  # frames


@numba.njit([numba.float64[::1](image, numba.float64[:, ::1], numba.int64[::1], numba.int64) for image in _IMAGES],
           **_JIT)
def patch_sums(image, points, indices, radius):  # pragma: no cover - compiled; see the tests
    """The pixel count and the sums of B, G and R (float64: exact) over the (2r+1)^2 patches around
    ``points[indices]`` (rounded half to even) that lie wholly inside ``image``."""
    height, width = image.shape[0], image.shape[1]
    sums = np.zeros(4, np.float64)
    for index in indices:
        cx, cy = int(np.rint(points[index, 0])), int(np.rint(points[index, 1]))
        if cx < radius or cx >= width - radius or cy < radius or cy >= height - radius:
            continue
        for y in range(cy - radius, cy + radius + 1):
            for x in range(cx - radius, cx + radius + 1):
                sums[0] += 1.0
                for c in range(3):
                    sums[1 + c] += image[y, x, c]
    return sums


@numba.njit([numba.types.Tuple((numba.int32[:, ::1], numba.boolean[::1]))(image, numba.int64[:, ::1], numba.int64)
             for image in _IMAGES], **_JIT)
def spaced_sums(image, centres, step):  # pragma: no cover - compiled; see the tests
    """Per centre (x, y: whole pixels): the sums of B, G and R (int32) over 3x3 samples ``step`` pixels
    apart around it, and whether all of them lie inside ``image`` (at least ``step`` from its edges; the
    sums are 0 where not)."""
    height, width = image.shape[0], image.shape[1]
    count = centres.shape[0]
    sums = np.zeros((count, 3), np.int32)
    inside = np.zeros(count, np.bool_)
    for i in range(count):
        cx, cy = centres[i, 0], centres[i, 1]
        if cx < step or cx >= width - step or cy < step or cy >= height - step:
            continue
        inside[i] = True
        for dy in range(-1, 2):
            for dx in range(-1, 2):
                for c in range(3):
                    sums[i, c] += image[cy + dy * step, cx + dx * step, c]
    return sums, inside
