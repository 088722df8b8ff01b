"""The vectorised piecewise-affine warp, on arrays with known answers."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from reference import warp_per_triangle
from arfilter.render.warp import OUTSIDE, Roi, rasterize_map, signed_areas, triangles_roi, visible_triangles


def _covered(map_x: np.ndarray) -> np.ndarray:
    return map_x != OUTSIDE


def test_a_global_affine_is_reproduced_exactly():
    """Two triangles forming a quad, targets from one affine map: every pixel maps by it."""
    points = np.array([[10.2, 12.7], [90.4, 15.1], [85.9, 70.3], [14.8, 66.6]])
    triangles = np.array([[0, 1, 2], [0, 2, 3]])
    affine = np.array([[1.7, 0.3, 5.0], [-0.2, 2.1, -3.0]])
    targets = np.hstack([points, np.ones((4, 1))]) @ affine.T
    roi = Roi(0, 0, 100, 80)
    map_x, map_y = rasterize_map(points, triangles, targets, roi)
    ys, xs = np.nonzero(_covered(map_x))
    expected = np.stack([xs, ys, np.ones_like(xs)], axis=1) @ affine.T
    np.testing.assert_allclose(map_x[ys, xs], expected[:, 0], atol=1e-3)
    np.testing.assert_allclose(map_y[ys, xs], expected[:, 1], atol=1e-3)
    # Coverage is the quad: pixel centres inside it, within one pixel of OpenCV's fill.
    mask = np.zeros((80, 100), np.uint8)
    cv2.fillConvexPoly(mask, np.round(points).astype(np.int32), 1)
    assert abs(int(_covered(map_x).sum()) - int(mask.sum())) < 0.05 * mask.sum()
    assert not np.any(_covered(map_x) & (cv2.dilate(mask, np.ones((3, 3))) == 0))


def test_roi_offsets_and_clipping_at_the_frame_edge():
    points = np.array([[-30.0, -20.0], [60.0, 5.0], [10.0, 50.0]])
    triangles = np.array([[0, 1, 2]])
    roi = triangles_roi(points, triangles, 40, 40)
    assert (roi.x, roi.y, roi.width, roi.height) == (0, 0, 40, 40)
    map_x, map_y = rasterize_map(points, triangles, points, roi)
    ys, xs = np.nonzero(_covered(map_x))
    assert len(xs) > 100
    np.testing.assert_allclose(map_x[ys, xs], xs, atol=1e-3)
    np.testing.assert_allclose(map_y[ys, xs], ys, atol=1e-3)
    inner = Roi(20, 10, 15, 12)
    sub_x, _ = rasterize_map(points, triangles, points, inner)
    sy, sx = np.nonzero(_covered(sub_x))
    np.testing.assert_allclose(sub_x[sy, sx], sx + 20, atol=1e-3)


def test_back_facing_and_degenerate_triangles_are_culled():
    points = np.array([[0, 0], [10, 0], [0, 10], [10, 10], [5, 5]], dtype=float)
    triangles = np.array([[0, 1, 2], [1, 0, 3], [0, 4, 3]])  # front, back, degenerate
    front = np.sign(signed_areas(points, triangles[:1]))[0]
    kept = visible_triangles(points, np.zeros(5), triangles, front)
    assert kept.tolist() == [0]


@pytest.mark.parametrize("order", [[0, 1], [1, 0]])
def test_the_nearest_triangle_wins_where_two_overlap(order):
    """A nose over a far cheek: whatever order they come in, the near one is drawn."""
    points = np.array([[0, 0], [40, 0], [0, 40], [10, 10], [50, 10], [10, 50]], dtype=float)
    depth = np.array([5, 5, 5, -5, -5, -5], dtype=float)  # second triangle is nearer
    triangles = np.array([[0, 1, 2], [3, 4, 5]])[order]
    targets = np.array([[100, 0], [100, 0], [100, 0], [200, 0], [200, 0], [200, 0]], dtype=float)
    front = np.sign(signed_areas(points, triangles[:1]))[0]
    visible = visible_triangles(points, depth, triangles, front)
    map_x, _ = rasterize_map(points, triangles[visible], targets, Roi(0, 0, 60, 60))
    assert map_x[15, 15] == pytest.approx(200)  # overlap: the near one
    assert map_x[2, 2] == pytest.approx(100)  # only the far one here


def test_matches_the_per_triangle_tutorial_warp_on_a_real_face(mesh, portrait_landmarks, portrait):
    """Same texture, same face: the vectorised warp and the warpAffine loop agree."""
    rng = np.random.default_rng(1)
    size = 512
    texture = cv2.GaussianBlur(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), (0, 0), 4)
    uv_px = mesh.uvs * size - 0.5  # texel centres
    points = portrait_landmarks[:468, :2]
    front = np.sign(signed_areas(mesh.uvs, mesh.skin_triangles[:1]))[0]
    order = visible_triangles(points, portrait_landmarks[:468, 2], mesh.skin_triangles, front)
    tris = mesh.skin_triangles[order]
    height, width = portrait.shape[:2]
    roi = triangles_roi(points, tris, width, height)
    map_x, map_y = rasterize_map(points, tris, uv_px, roi)
    ours = cv2.remap(texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    theirs = warp_per_triangle(texture, uv_px, points, tris, (width, height))[roi.slices]
    both = _covered(map_x) & (theirs.sum(axis=2) > 0)
    interior = cv2.erode(both.astype(np.uint8), np.ones((5, 5))) > 0
    assert interior.sum() > 0.8 * _covered(map_x).sum()
    diff = np.abs(ours.astype(int) - theirs.astype(int))[interior]
    assert diff.mean() < 1.5 and np.percentile(diff, 99) < 12


@pytest.mark.parametrize("step", [1, 2, 3, 4])
def test_coarse_sampling_keeps_the_map_and_softens_only_the_edge(step):
    from arfilter.render.warp import sample_map

    points = np.array([[20.3, 15.2], [180.7, 25.4], [170.1, 140.9], [30.6, 130.2]])
    triangles = np.array([[0, 1, 2], [0, 2, 3]])
    affine = np.array([[0.8, 0.1, 7.0], [-0.15, 1.2, 3.0]])
    targets = np.hstack([points, np.ones((4, 1))]) @ affine.T
    roi = Roi(5, 3, 190, 150)
    map_x, map_y, coverage = sample_map(points, triangles, targets, roi, step)
    assert map_x.shape == map_y.shape == coverage.shape == (150, 190)
    inside = np.zeros((150, 190), np.uint8)
    cv2.fillConvexPoly(inside, np.round(points - (5, 3)).astype(np.int32), 1)
    # The soft edge is at most two coarse samples wide on either side.
    margin = np.ones((4 * step + 3,) * 2, np.uint8)
    deep = cv2.erode(inside, margin) > 0
    far = cv2.dilate(inside, margin) == 0
    ys, xs = np.nonzero(deep)
    expected = np.stack([xs + 5, ys + 3, np.ones_like(xs)], axis=1) @ affine.T
    np.testing.assert_allclose(map_x[ys, xs], expected[:, 0], atol=0.02)
    np.testing.assert_allclose(map_y[ys, xs], expected[:, 1], atol=0.02)
    assert coverage[deep].min() == 255 and coverage[far].max() == 0
