"""The compiled geometry (arfilter.render.kernels) gives exactly what its numpy original gave.

The pictures must not change when the renderer gets faster: every kernel is checked to the bit
against the numpy it replaced (``geometry_reference.py``), on random meshes with awkward cases
(corners on pixel centres, slivers, triangles off the region, both float types) and on a real
face tracked by the real model.
"""

from __future__ import annotations

import numpy as np
import pytest

import geometry_reference as numpy_version

from arfilter.core.types import Face
from arfilter.render.renderer import Renderer
from arfilter.render.packs import load_overlay
from arfilter.render.unwrap import UvGrid, grid_coordinates, look_box, vertex_facing, vertex_normals
from arfilter.render.warp import Roi, rasterize_values, signed_areas, triangles_roi, visible_triangles
from arfilter.tracking.mesh import MESH_VERTICES


def random_mesh(rng: np.random.Generator, case: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, Roi]:
    """Vertices, triangles, per-vertex values and a region; every third case has corners on whole
    pixels (pixel centres on edges: the tie rules), every fifth repeated vertices (flat triangles)."""
    count = 30
    points = rng.uniform(-20.0, 120.0, (count, 2))
    if case % 3 == 0:
        points = np.round(points)
    triangles = rng.integers(0, count, (40, 3))
    if case % 5 == 0:
        triangles[::4, 2] = triangles[::4, 1]
    values = rng.uniform(-50.0, 1000.0, (count, 2 + case % 3))
    roi = Roi(int(rng.integers(-5, 5)), int(rng.integers(-5, 5)), int(rng.integers(1, 110)), int(rng.integers(1, 110)))
    return points, triangles, values, roi


@pytest.mark.parametrize("case", range(60))
def test_rasteriser_matches_the_numpy_one_on_random_meshes(case):
    points, triangles, values, roi = random_mesh(np.random.default_rng(case), case)
    expected = numpy_version.rasterize_values(points, triangles, values, roi)
    np.testing.assert_array_equal(rasterize_values(points, triangles, values, roi), expected)


def test_rasteriser_covers_pixels_on_random_meshes():
    """Not only agreeing on empty maps: most random regions get thousands of pixels written."""
    written = [int((rasterize_values(*random_mesh(np.random.default_rng(case), case)) != -1e4).sum())
               for case in range(20)]
    assert sum(count > 1000 for count in written) >= 10, written


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_culling_and_bounds_match_numpy_on_random_meshes(dtype):
    rng = np.random.default_rng(7)
    for _ in range(40):
        points = rng.uniform(-50.0, 50.0, (25, 2)).astype(dtype)
        depth = rng.uniform(-5.0, 5.0, 25).astype(dtype)
        depth[::3] = depth[0]  # ties: the stable order must be kept
        triangles = rng.integers(0, 25, (60, 3))
        triangles[::5, 2] = triangles[::5, 0]  # flat: area exactly 0, culled at min_area 0 too
        for front in (1.0, -1.0):
            for least in (1e-3, 0.0):
                np.testing.assert_array_equal(visible_triangles(points, depth, triangles, front, least),
                                              numpy_version.visible_triangles(points, depth, triangles, front, least))
        assert triangles_roi(points, triangles, 40, 30) == numpy_version.triangles_roi(points, triangles, 40, 30)


def test_normals_match_numpy_on_random_and_real_meshes(mesh, portrait_landmarks):
    rng = np.random.default_rng(3)
    points = rng.uniform(-100.0, 100.0, (50, 3))
    triangles = rng.integers(0, 50, (80, 3))
    for front in (1.0, -1.0):
        np.testing.assert_array_equal(vertex_normals(points, triangles, front),
                                      numpy_version.vertex_normals(points, triangles, front))
    landmarks = portrait_landmarks[:MESH_VERTICES]
    front = float(np.sign(np.median(signed_areas(mesh.uvs, mesh.triangles))))
    np.testing.assert_array_equal(vertex_normals(landmarks, mesh.triangles, front),
                                  numpy_version.vertex_normals(landmarks, mesh.triangles, front))


def test_texel_positions_match_numpy_on_a_real_face(mesh, portrait, portrait_landmarks):
    landmarks = portrait_landmarks[:MESH_VERTICES]
    points = landmarks[:, :2]
    triangles = mesh.skin_triangles
    front = float(np.sign(np.median(signed_areas(mesh.uvs, triangles))))
    facing = vertex_facing(vertex_normals(landmarks, mesh.triangles, front))
    grid = UvGrid(mesh.uvs, triangles, look_box(mesh.uvs, triangles))
    shown = np.zeros(len(triangles), bool)
    shown[visible_triangles(points, landmarks[:, 2], triangles, front)] = True
    shown[::7] = False  # some hidden, as a turned head hides them
    height, width = portrait.shape[:2]
    for image_width in (width, width // 2):  # a face partly out of the frame
        view = grid.view(portrait[:, :image_width], points, facing, shown)
        valid, screen_x, screen_y, face_on = numpy_version.texel_positions(grid, points, facing, shown,
                                                                          image_width, height)
        assert valid.sum() > 1000
        np.testing.assert_array_equal(view.valid.ravel(), valid)
        np.testing.assert_array_equal(view.screen_x.ravel(), screen_x)
        np.testing.assert_array_equal(view.screen_y.ravel(), screen_y)
        np.testing.assert_array_equal(view.facing.ravel(), face_on)


def test_the_face_map_matches_numpy_on_a_real_face(mesh, portrait_landmarks):
    """The rasteriser as the renderer calls it: the real mesh, a real face, texel targets, painter's order."""
    renderer = Renderer(mesh, load_overlay("black_eye_left"))
    points = portrait_landmarks[:MESH_VERTICES, :2]
    roi, visible = renderer.face_roi(Face(portrait_landmarks), (1280, 1280))
    targets = grid_coordinates(mesh.uvs) * 8.0
    triangles = mesh.skin_triangles[visible]
    expected = numpy_version.rasterize_values(points, triangles, targets, roi)
    assert (expected != -1e4).mean() > 0.5
    np.testing.assert_array_equal(rasterize_values(points, triangles, targets, roi), expected)




def test_the_skin_sample_matches_numpy_on_a_real_face(portrait, portrait_landmarks):
    """The skin's brightness the shaders adapt to, from patches on the cheeks and forehead: the face whole,
    then moved so some patches, then all, leave the frame (those are left out), in both float types."""
    from arfilter.render.renderer import _SKIN_SAMPLE_INDEX, face_skin_luma

    points = portrait_landmarks[:MESH_VERTICES, :2]
    seen = []
    for shift in (0.0, 0.4, 0.47, 0.5, 0.6, 2.0):
        moved = points + np.array([shift * portrait.shape[1], 0.0], np.float32)
        for typed in (moved, moved.astype(np.float64)):
            expected = numpy_version.face_skin_luma(portrait, typed, _SKIN_SAMPLE_INDEX)
            assert face_skin_luma(portrait, typed) == expected
            seen.append(expected)
    assert seen[0] is not None and seen[-1] is None and len({value for value in seen if value is not None}) >= 2


def test_the_light_probe_samples_match_numpy_on_a_real_face(portrait, portrait_landmarks):
    """The light fit's samples (spaced 3x3 around each skin vertex): the face whole, then moved so some
    vertices, then all, leave the frame (those are left out), scaled so the samples lie 1-4 pixels apart, in both
    float types and on a strided frame (a view)."""
    from arfilter.render.lighting import SKIN_VERTICES, sample_luma

    points = portrait_landmarks[:MESH_VERTICES, :2]
    centre = points.mean(axis=0)
    kept = []
    for shift, scale in ((0.0, 1.0), (0.0, 2.5), (0.4, 1.0), (0.47, 1.6), (0.5, 0.4), (2.0, 1.0)):
        moved = (points - centre) * np.float32(scale) + centre + np.array([shift * portrait.shape[1], 0.0], np.float32)
        for typed in (moved, moved.astype(np.float64)):
            for image in (portrait, portrait[:, 1:]):
                luma, inside = sample_luma(image, typed, SKIN_VERTICES)
                expected_luma, expected_inside = numpy_version.sample_luma(image, typed, SKIN_VERTICES)
                np.testing.assert_array_equal(inside, expected_inside)
                np.testing.assert_array_equal(luma, expected_luma)
                kept.append(int(inside.sum()))
    assert kept[0] == len(SKIN_VERTICES) and kept[-1] == 0
    assert any(0 < count < len(SKIN_VERTICES) for count in kept[8:20]), "some cases half out of the frame"


def test_occlusion_score_tables_match_numpy_for_many_skins():
    """The per-frame lookup tables of the occlusion test, for skins from dark to bright, narrow and wide
    spreads, both sets of ramps (per texel, per screen pixel)."""
    from arfilter.render.occlusion import _COLOUR_RAMPS
    from arfilter.render.occlusion_kernels import ramp_tables
    from arfilter.render.occlusion_pixels import GATE_RAMPS

    rng = np.random.default_rng(11)
    for _ in range(200):
        skin = np.array([rng.uniform(0.0, 255.0), rng.uniform(120.0, 180.0), rng.uniform(70.0, 135.0),
                         rng.uniform(3.0, 30.0), rng.uniform(3.0, 30.0)], np.float32)
        for ramps in (_COLOUR_RAMPS, GATE_RAMPS):
            expected = numpy_version.score_tables(skin, ramps.start[:, None], ramps.scale[:, None],
                                                  tuple(ramps.rows))
            assert 0 < expected.mean() < 255
            np.testing.assert_array_equal(ramp_tables(skin, ramps), expected)


def test_the_bruise_age_lookup_matches_opencv_for_every_green_and_alpha():
    """Every (green, alpha) pair of a premultiplied texel, and greens above alpha (rounding), with the
    tables of three ages and skins: one compiled pass gives what divide + merge + remap gave."""
    from arfilter.shaders._compiled import age_steps, age_transmittance
    from arfilter.shaders.bruise import age_map_table

    green, alpha = np.meshgrid(np.arange(256, dtype=np.uint8), np.arange(256, dtype=np.uint8))
    color = np.zeros((256, 256, 3), np.uint8)
    color[..., 1], color[..., 0] = green, 7
    alphas = np.repeat(alpha[..., None], 3, axis=2)
    for age, spread, skin in ((1.5, 5.0, 0.55), (0.0, 14.0, 0.2), (9.0, 2.0, 0.8)):
        table = age_map_table(age, spread, 1.35, skin)
        expected = numpy_version.age_transmittance(color, alphas, table)
        assert (expected == 0).all(axis=2).sum() > 1000, "greens past the table: black, as the remap gave"
        steps = age_steps(len(table))
        np.testing.assert_array_equal(age_transmittance(color, alphas, table, steps), expected)
        window = (slice(40, 200), slice(30, 220))  # a strided view, as the renderer's window is
        np.testing.assert_array_equal(age_transmittance(color[window], alphas[window], table, steps),
                                      expected[window])


def test_label_questions_match_numpy_on_a_real_faces_dark_lines(portrait):
    """Which connected areas touch a mask, and those areas as a mask: the compiled loops give what
    numpy's boolean indexing, bincount and gather gave, over the dark lines of a real face (many
    areas), a mask of none, and a strided mask (a view)."""
    import cv2

    from arfilter.render.labels import label_counts, labels_where

    grey = cv2.cvtColor(portrait[200:520, 500:800], cv2.COLOR_BGR2GRAY)
    lines = cv2.compare(cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, np.ones((5, 5), np.uint8)), 12, cv2.CMP_GT)
    count, labels = cv2.connectedComponents(lines, connectivity=8)
    assert count > 20, "a real face has many dark lines"
    rng = np.random.default_rng(5)
    touching = np.where(rng.random(lines.shape) < 0.01, np.uint8(255), np.uint8(0))
    wide = np.zeros((lines.shape[0], 2 * lines.shape[1]), np.uint8)
    wide[:, ::2] = touching
    for mask in (lines, touching, np.zeros_like(lines), wide[:, ::2]):
        expected = np.bincount(labels[mask > 0], minlength=count)
        counts = label_counts(labels, mask, count)
        np.testing.assert_array_equal(counts, expected)
        keep = counts > 0
        keep[0] = False
        np.testing.assert_array_equal(labels_where(labels, keep), keep[labels].view(np.uint8) * np.uint8(255))
    assert 0 < (label_counts(labels, touching, count)[1:] > 0).sum() < count - 1, "some areas touched, not all"


KERNEL_USE = """
import numpy as np
from arfilter.render.warp import Roi, rasterize_values
maps = rasterize_values(np.array([[0.0, 0.0], [9.0, 0.0], [0.0, 9.0]]), np.array([[0, 1, 2]]), np.eye(3)[:, :2], Roi(0, 0, 10, 10))
print(int((maps[0] > -1).sum()))
"""


@pytest.mark.parametrize("cache", ["writable", "unwritable"])
def test_kernels_are_cached_in_arfilters_folder_or_compiled_in_memory(tmp_path, cache):
    """Compiled code goes to arfilter's cache folder (never into the installed package); where that
    cannot be written, the kernels are compiled in memory and work all the same (no failed import)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import arfilter

    folder = tmp_path / "cache" if cache == "writable" else Path(os.devnull) / "cache"
    env = {key: value for key, value in os.environ.items() if key != "NUMBA_CACHE_DIR"}
    env.update(ARFILTER_CACHE_DIR=str(folder), PYTHONDONTWRITEBYTECODE="1")
    package = Path(arfilter.__file__).parent
    before = {path for path in package.rglob("*.nb[ic]")}
    result = subprocess.run([sys.executable, "-c", KERNEL_USE], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout) == 55, "the triangle's 55 pixel centres (x + y <= 9) rasterised"
    assert {path for path in package.rglob("*.nb[ic]")} == before, "nothing compiled into the package"
    if cache == "writable":
        assert any(folder.glob("compiled/*/*.nbi")), "the compiled kernels are cached in arfilter's folder"


def test_a_kernels_argument_is_the_array_itself_only_when_the_kernel_may_take_it():
    """``arg`` hands over the caller's array when it is C-ordered, writable and of the type (no copy per
    call), and a copy otherwise: a read-only array (frozen landmarks), a strided view, another type."""
    from arfilter.core.compiled import arg

    values = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert arg(values, np.float32) is values
    frozen = values.copy()
    frozen.flags.writeable = False
    for other in (frozen, values[:, ::2], values.astype(np.float64), values.tolist()):
        taken = arg(other, np.float32)
        assert taken is not other and taken.dtype == np.float32
        assert taken.flags.c_contiguous and taken.flags.writeable
        np.testing.assert_array_equal(taken, np.asarray(other, np.float32))


def test_the_faces_saturation_is_remembered_per_skin_and_type():
    from arfilter.render.occlusion_pixels import saturation_share

    skin = np.array([150.0, 150.3, 110.7, 5.0, 5.0], np.float32)
    expected = max(float(np.hypot(skin[1] - 128.0, skin[2] - 128.0)) / 150.0, 1e-3)
    assert saturation_share(skin) == expected == saturation_share(skin.copy())
    wide = skin.astype(np.float64)  # the same numbers in float64: its own share, not the float32 one's
    assert saturation_share(wide) == max(float(np.hypot(wide[1] - 128.0, wide[2] - 128.0)) / 150.0, 1e-3)
    skin[1] = 160.0
    assert saturation_share(skin) != expected
