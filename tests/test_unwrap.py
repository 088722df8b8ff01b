"""The UV-space view of a face, vertex normals, and the grazing fade they give every look."""

from __future__ import annotations

import numpy as np
import pytest

from packs import uniform_pack

from arfilter.core.types import Face
from arfilter.render.packs import load_overlay
from arfilter.render.renderer import FADE_FACING, Renderer, grazing_fade
from arfilter.render.unwrap import (TEXELS_PER_UV, UvGrid, all_to_screen, grid_at, grid_coordinates, look_box,
                                    to_screen, vertex_normals)
from arfilter.render.warp import OUTSIDE, Roi, rasterize_values, sample_map, signed_areas, visible_triangles
from arfilter.tracking.mesh import MESH_VERTICES, uv_to_texel


def tilted_grid(angle_deg: float, size: int = 6, spacing: float = 20.0) -> tuple[np.ndarray, np.ndarray]:
    """A flat square grid of vertices turned ``angle_deg`` about the vertical axis (MediaPipe axes:
    z away from the camera), and its triangles wound like the screen."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64) * spacing
    theta = np.deg2rad(angle_deg)
    x = xs.ravel() * np.cos(theta)
    z = xs.ravel() * np.sin(theta)
    points = np.column_stack([x + 100.0, ys.ravel() + 100.0, z])
    triangles = []
    for row in range(size - 1):
        for col in range(size - 1):
            a = row * size + col
            triangles += [(a, a + 1, a + size), (a + 1, a + size + 1, a + size)]
    return points, np.array(triangles)


@pytest.mark.parametrize("angle", [0.0, 30.0, 60.0, 80.0])
def test_normals_of_a_turned_plane_face_the_camera_by_the_cosine(angle):
    points, triangles = tilted_grid(angle)
    front = float(np.sign(np.median(signed_areas(points[:, :2], triangles))))
    normals = vertex_normals(points, triangles, front)
    assert np.allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-5)
    assert np.allclose(normals[:, 2], np.cos(np.deg2rad(angle)), atol=1e-5)
    # Turned so its right side goes away from the camera, the plane faces right (towards +x).
    assert np.allclose(normals[:, 0], np.sin(np.deg2rad(angle)), atol=1e-5)


def turned(landmarks: np.ndarray, yaw_deg: float, scale: float = 1.0) -> np.ndarray:
    """Landmarks of the same face turned ``yaw_deg`` about the vertical axis through its middle and
    made ``scale`` times larger (orthographic: MediaPipe's x, y, z are all pixels): synthetic
    motion with a known answer."""
    out = landmarks.astype(np.float64).copy()
    centre = out[:MESH_VERTICES].mean(axis=0)
    out = centre + (out - centre) * scale
    x, z = out[:, 0] - centre[0], out[:, 2] - centre[2]
    theta = np.deg2rad(yaw_deg)
    out[:, 0] = centre[0] + x * np.cos(theta) + z * np.sin(theta)
    out[:, 2] = centre[2] - x * np.sin(theta) + z * np.cos(theta)
    return out.astype(np.float32)


def test_the_view_reads_the_frame_where_each_texel_lies(mesh, portrait, portrait_landmarks):
    points = portrait_landmarks[:MESH_VERTICES, :2]
    triangles = mesh.skin_triangles
    front = float(np.sign(np.median(signed_areas(mesh.uvs, triangles))))
    normals = vertex_normals(portrait_landmarks[:MESH_VERTICES], mesh.triangles, front)
    box = look_box(mesh.uvs, triangles)
    shown = np.zeros(len(triangles), bool)
    shown[visible_triangles(points, portrait_landmarks[:MESH_VERTICES, 2], triangles, front)] = True
    view = UvGrid(mesh.uvs, triangles, box).view(portrait, points, normals[:, 2], shown)
    assert view.valid.mean() > 0.6, "a frontal face covers most of its own UV box"
    ys, xs = np.nonzero(view.valid)
    sx = np.round(view.screen_x[ys, xs]).astype(int)
    sy = np.round(view.screen_y[ys, xs]).astype(int)
    # Each texel holds the frame's colour at its screen position (bilinear, so within a few levels on smooth skin).
    difference = np.abs(view.image[ys, xs].astype(int) - portrait[sy, sx].astype(int))
    assert np.median(difference) <= 6
    # A vertex's own texel lands on that vertex on screen.
    grid = grid_coordinates(mesh.uvs)
    nose_tip = 1
    gx, gy = np.round(grid[nose_tip] - (box.x, box.y)).astype(int)
    assert np.hypot(view.screen_x[gy, gx] - points[nose_tip, 0], view.screen_y[gy, gx] - points[nose_tip, 1]) < 3.0
    assert view.facing[view.valid].max() <= 1.0 and view.facing[~view.valid].max() == 0.0


TEXTURE_SIZE, MIP_LEVEL = 1024, 1  # the maps' texel coordinates: level 1 of a 1024 texture


def renderers_maps(mesh, landmarks: np.ndarray) -> tuple[Roi, np.ndarray, np.ndarray, np.ndarray]:
    """The whole face's UV box and the renderer's remap maps and coverage over a 500x500 region of the
    portrait (its face), as :class:`Renderer` makes them."""
    points = landmarks[:MESH_VERTICES, :2]
    triangles = mesh.skin_triangles
    front = float(np.sign(np.median(signed_areas(mesh.uvs, triangles))))
    visible = visible_triangles(points, landmarks[:MESH_VERTICES, 2], triangles, front)
    targets = uv_to_texel(mesh.uvs, TEXTURE_SIZE, MIP_LEVEL)
    return (look_box(mesh.uvs, triangles), *sample_map(points, triangles[visible], targets, Roi(400, 100, 500, 500)))


def test_to_screen_is_the_inverse_of_the_renderers_map(mesh, portrait, portrait_landmarks):
    """A per-texel ramp sampled through the renderer's own maps gives back each pixel's texel."""
    box, map_x, map_y, coverage = renderers_maps(mesh, portrait_landmarks)
    size, level = TEXTURE_SIZE, MIP_LEVEL
    ramp = np.tile((np.arange(box.width) % 256).astype(np.uint8), (box.height, 1))
    seen = to_screen(ramp, grid_at(box, map_x, map_y, size, level))
    inside = (coverage == 255) & (map_x != OUTSIDE)
    expected = ((map_x * 2**level + 0.5) * TEXELS_PER_UV / size - 0.5 - box.x)[inside]
    smooth = (expected % 256 > 2) & (expected % 256 < 253)  # away from the ramp's wrap-around
    assert np.abs(seen[inside][smooth].astype(float) - expected[smooth]).max() <= 1.0


def test_a_boxs_facing_alone_is_its_views(mesh, portrait, portrait_landmarks):
    """Without the occlusion test the renderer asks only how squarely each texel faces the camera
    (``UvGrid.facing``, which reads no pixel): the view's own facing, to the bit, hidden triangles included."""
    box, _, _, _ = renderers_maps(mesh, portrait_landmarks)
    points, triangles = portrait_landmarks[:MESH_VERTICES, :2], mesh.skin_triangles
    facing = np.linspace(0.2, 1.0, len(points), dtype=np.float32)  # a varied facing per vertex
    shown = np.arange(len(triangles)) % 3 != 0  # a third of the triangles hidden
    grid = UvGrid(mesh.uvs, triangles, box)
    view = grid.view(portrait, points, facing, shown)
    alone = grid.facing(points, facing, shown, (portrait.shape[1], portrait.shape[0]))
    assert (view.facing > 0.2).sum() > 1000 and (view.facing[view.valid] != 0).all()
    np.testing.assert_array_equal(alone, view.facing)


def test_all_to_screen_reads_each_array_as_to_screen_does(mesh, portrait, portrait_landmarks):
    """Up to four per-texel arrays in one remap: each comes out as its own remap gives it, to the bit,
    and an array that is None stays None (the renderer's weight, own features, strands, usual saturation)."""
    box, map_x, map_y, _ = renderers_maps(mesh, portrait_landmarks)
    grid = grid_at(box, map_x, map_y, TEXTURE_SIZE, MIP_LEVEL)
    # Real texel arrays: the portrait's own colours unwrapped into the box, and masks of them.
    points, triangles = portrait_landmarks[:MESH_VERTICES, :2], mesh.skin_triangles
    facing = np.ones(len(points), np.float32)
    view = UvGrid(mesh.uvs, triangles, box).view(portrait, points, facing, np.ones(len(triangles), bool))
    blue, green, red = (np.ascontiguousarray(view.image[..., c]) for c in range(3))
    dark = np.where(green < np.median(green), np.uint8(255), np.uint8(0))
    cases = ([blue, green, red, dark], [blue, None, red, dark], [None, green, None, dark], [blue, None, None, None])
    for arrays in cases:
        seen = all_to_screen(arrays, grid)
        assert [values is None for values in seen] == [values is None for values in arrays]
        for values, on_screen in zip(arrays, seen):
            if values is not None:
                assert on_screen.std() > 10, "real texture reaches the screen"
                np.testing.assert_array_equal(on_screen, to_screen(values, grid))

def paint_weight(mesh, landmarks: np.ndarray, shape: tuple[int, ...], folder) -> np.ndarray:
    """How much of a uniform multiply layer lands on each pixel (0-1), on a grey frame."""
    grey = np.full(shape, 200, np.uint8)
    out = Renderer(mesh, load_overlay(folder), occlusion=False)(grey, (Face(landmarks),))
    return (200 - out[:, :, 1].astype(np.float64)) / (200 - 200 * 50 / 255)


@pytest.fixture()
def dark_layer(tmp_path):
    """One uniform multiply layer (50 of 255) over the whole face."""
    return uniform_pack(tmp_path, (50, 50, 50, 255), shader="multiply", size=512)


def test_paint_fades_towards_the_outline_of_a_turned_head(mesh, portrait, portrait_landmarks, dark_layer):
    """Turned 55 degrees, the far cheek is seen at a grazing angle: along a row through the cheeks,
    paint fades out smoothly before the far silhouette instead of ending in a hard cut, while the
    near cheek keeps full paint."""
    landmarks = turned(portrait_landmarks, 55.0, scale=2.5)  # a 390-pixel face; its left (low x) turns away
    weight = paint_weight(mesh, landmarks, portrait.shape, dark_layer)
    row = int(round(landmarks[[172, 397], 1].mean()))  # through the jaw
    painted = np.flatnonzero(weight[row] > 0.01)
    left, right = painted.min(), painted.max()
    assert weight[row, left:left + 2].max() < 0.35, "the far edge ends faded, not at full paint"
    assert weight[row, left + 25:right - 25].min() > 0.9, "the rest of the jaw keeps its paint"
    assert np.abs(np.diff(weight[row, left:left + 25])).max() < 0.25, "no hard cut along the fade"


def test_a_frontal_face_keeps_full_paint_over_the_middle(mesh, portrait, portrait_landmarks, dark_layer):
    weight = paint_weight(mesh, portrait_landmarks, portrait.shape, dark_layer)
    cheeks_and_forehead = portrait_landmarks[[50, 280, 151, 101, 330], :2].round().astype(int)
    assert weight[cheeks_and_forehead[:, 1], cheeks_and_forehead[:, 0]].min() > 0.97


def test_fade_table_runs_from_nothing_to_full():
    facing = np.linspace(0, 1, 101, dtype=np.float32).reshape(1, -1)
    weight = grazing_fade(facing)[0]
    assert weight[facing[0] <= FADE_FACING[0]].max() == 0
    assert weight[facing[0] >= FADE_FACING[1]].min() == 255
    assert np.all(np.diff(weight.astype(int)) >= 0)


def test_the_grid_agrees_with_rasterising_the_face_in_uv_space(mesh, portrait, portrait_landmarks):
    """The once-per-look barycentric grid gives what rasterising this frame's visible triangles in UV
    space gives: each texel's screen position and facing, and which texels are visible."""
    landmarks = turned(portrait_landmarks, 30.0)  # some triangles hidden
    points = landmarks[:MESH_VERTICES, :2]
    triangles = mesh.skin_triangles
    front = float(np.sign(np.median(signed_areas(mesh.uvs, triangles))))
    facing = vertex_normals(landmarks[:MESH_VERTICES], mesh.triangles, front)[:, 2]
    visible = visible_triangles(points, landmarks[:MESH_VERTICES, 2], triangles, front)
    box = look_box(mesh.uvs, triangles)
    shown = np.zeros(len(triangles), bool)
    shown[visible] = True
    view = UvGrid(mesh.uvs, triangles, box).view(portrait, points, facing, shown)
    values = np.column_stack([points[:, 0], points[:, 1], facing])
    sx, sy, on = rasterize_values(grid_coordinates(mesh.uvs), triangles[visible], values, box)
    direct = sx != OUTSIDE
    assert (view.valid != direct).mean() < 0.005, "the same texels, but for a few on triangle edges"
    both = view.valid & direct
    assert np.abs(view.screen_x[both] - sx[both]).max() < 0.05
    assert np.abs(view.screen_y[both] - sy[both]).max() < 0.05
    assert np.abs(view.facing[both] - np.clip(on[both], 0, 1)).max() < 1e-3
