"""The renderer paints inside the face, never in the eyes or the open mouth."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from packs import uniform_pack

from arfilter.tracking.mesh import FACE_OVAL, INNER_LIPS_CONTOUR, LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR
from arfilter.render.packs import builtin_overlays_dir, load_overlay
from arfilter.render.renderer import Renderer
from arfilter.core.types import Face


def polygon_mask(shape: tuple[int, ...], landmarks: np.ndarray, contour: tuple[int, ...], grow: int = 0) -> np.ndarray:
    """Filled polygon of ``contour`` landmarks, grown (or shrunk, if negative) by ``grow`` px."""
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(landmarks[list(contour), :2]).astype(np.int32)], 1)
    kernel = np.ones((2 * abs(grow) + 1,) * 2, np.uint8)
    if grow > 0:
        mask = cv2.dilate(mask, kernel)
    elif grow < 0:
        mask = cv2.erode(mask, kernel)
    return mask.astype(bool)


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.any(a != b, axis=2)


@pytest.fixture(scope="module")
def renderer(mesh):
    return Renderer(mesh, load_overlay("black_eye_left"))


@pytest.fixture
def whole_face_pack(tmp_path):
    """A pack that paints the whole UV square: every skin triangle is drawn."""
    return uniform_pack(tmp_path, (40, 200, 90, 255))


def test_black_eye_paints_around_the_left_eye_only(renderer, portrait, portrait_landmarks):
    out = renderer(portrait, (Face(portrait_landmarks),))
    diff = changed(out, portrait)
    assert diff.sum() > 500, "the bruise must be visible"
    face = polygon_mask(portrait.shape, portrait_landmarks, FACE_OVAL, grow=2)
    assert not np.any(diff & ~face), "paint outside the face outline"
    # Subject's left eye is on the image's right: the paint is there, not on the other eye.
    cols = np.nonzero(diff)[1]
    eye_left_x = portrait_landmarks[list(LEFT_EYE_CONTOUR), 0].mean()
    eye_right_x = portrait_landmarks[list(RIGHT_EYE_CONTOUR), 0].mean()
    assert abs(np.median(cols) - eye_left_x) < abs(np.median(cols) - eye_right_x)
    # It darkens (a bruise), it does not lighten.
    assert out[diff].astype(int).sum() < portrait[diff].astype(int).sum()


def test_whole_face_paint_leaves_eyes_and_open_mouth_alone(mesh, whole_face_pack, portrait, portrait_landmarks):
    out = Renderer(mesh, load_overlay(whole_face_pack))(portrait, (Face(portrait_landmarks),))
    diff = changed(out, portrait)
    face = polygon_mask(portrait.shape, portrait_landmarks, FACE_OVAL, grow=2)
    inside = polygon_mask(portrait.shape, portrait_landmarks, FACE_OVAL, grow=-4)
    assert not np.any(diff & ~face)
    assert diff[inside].mean() > 0.9, "the whole face must be painted"
    for contour in (LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR, INNER_LIPS_CONTOUR):
        hole = polygon_mask(portrait.shape, portrait_landmarks, contour, grow=-2)
        if hole.sum():
            assert diff[hole].mean() < 0.02, f"painted inside {contour[:3]}..."


def test_input_is_untouched_and_no_face_means_an_identical_copy(renderer, portrait, portrait_landmarks):
    before = portrait.copy()
    renderer(portrait, (Face(portrait_landmarks),))
    np.testing.assert_array_equal(portrait, before)
    out = renderer(portrait, ())
    assert out is not portrait
    np.testing.assert_array_equal(out, portrait)


def test_transparent_overlay_changes_nothing_bit_for_bit(mesh, tmp_path, portrait, portrait_landmarks):
    folder = tmp_path / "clear"
    shutil.copytree(builtin_overlays_dir() / "black_eye_left", folder)
    for png in folder.glob("*.png"):  # every layer: the look has a relief layer (lids.png) besides the bruise
        texture = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
        texture[:, :, 3] = 0
        cv2.imwrite(str(png), texture)
    out = Renderer(mesh, load_overlay(folder))(portrait, (Face(portrait_landmarks),))
    np.testing.assert_array_equal(out, portrait)


def turned(landmarks: np.ndarray, degrees: float) -> np.ndarray:
    """The landmarks of the head turned ``degrees`` further about the vertical axis through its centre."""
    lm = landmarks.copy()
    angle = np.deg2rad(degrees)
    x, z = lm[:, 0] - lm[:468, 0].mean(), lm[:, 2] - lm[:468, 2].mean()
    lm[:, 0] = lm[:468, 0].mean() + x * np.cos(angle) + z * np.sin(angle)
    lm[:, 2] = -x * np.sin(angle) + z * np.cos(angle)
    return lm


def facing_the_camera(mesh, landmarks: np.ndarray) -> np.ndarray:
    """Which skin triangles face the camera: their screen winding is their UV winding (worked out here,
    triangle by triangle, not with the renderer's own helper)."""
    triangles = mesh.skin_triangles

    def winding(points: np.ndarray) -> np.ndarray:
        a, b, c = points[triangles[:, 0]], points[triangles[:, 1]], points[triangles[:, 2]]
        return np.sign((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))

    return winding(landmarks[:468, :2].astype(np.float64)) == winding(mesh.uvs.astype(np.float64))


def front_surface(shape: tuple[int, ...], mesh, landmarks: np.ndarray, grow: int = 2) -> np.ndarray:
    """Pixels of the triangles facing the camera, grown by ``grow`` px (the renderer's soft edge)."""
    mask = np.zeros(shape[:2], np.uint8)
    for triangle in mesh.skin_triangles[facing_the_camera(mesh, landmarks)]:
        cv2.fillConvexPoly(mask, np.round(landmarks[triangle, :2] * 16).astype(np.int32), 1, shift=4)
    return cv2.dilate(mask, np.ones((2 * grow + 1,) * 2, np.uint8)).astype(bool)


@pytest.fixture(scope="module")
def turned_head(model_path, shared_media) -> tuple[np.ndarray, np.ndarray]:
    """A real turned head: frame 261 of talking_woman_512.mp4 (her face turned to her left), tracked."""
    from arfilter.core.types import Frame
    from arfilter.tracking.tracker import FaceTracker, TrackerOptions

    capture = cv2.VideoCapture(str(shared_media / "talking_woman_512.mp4"))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 261)
    ok, image = capture.read()
    capture.release()
    assert ok
    with FaceTracker(TrackerOptions(model_path=model_path, max_faces=1)) as tracker:
        faces = tracker(Frame(image, 0.0))
    assert len(faces) == 1
    return image, faces[0].landmarks


@pytest.mark.parametrize("head, degrees", [
    ("portrait", 60), ("portrait", -60), ("portrait", 80),  # the frontal portrait's real mesh, turned
    ("turned", -20),  # the real turned head, turned a little further the same way
])
def test_a_turned_head_is_painted_only_where_its_surface_faces_the_camera(
        mesh, whole_face_pack, portrait, portrait_landmarks, turned_head, head, degrees):
    """Culling: on a turned head the far side folds behind the near side, and its triangles (wound the
    other way on screen) stick out past the profile; none of their pixels may be painted."""
    image, landmarks = (portrait, portrait_landmarks) if head == "portrait" else turned_head
    lm = turned(landmarks, degrees)
    assert (~facing_the_camera(mesh, lm)).sum() > 30, "the far side must be turned away"
    out = Renderer(mesh, load_overlay(whole_face_pack))(image, (Face(lm),))
    painted = changed(out, image)
    assert painted.sum() > 5000
    outside = painted & ~front_surface(image.shape, mesh, lm)
    assert outside.sum() == 0, f"{outside.sum()} pixels painted from triangles that face away"
    # Nothing smeared beyond the turned face either.
    columns = np.nonzero(painted)[1]
    assert columns.min() >= lm[:468, 0].min() - 2 and columns.max() <= lm[:468, 0].max() + 2


@pytest.mark.parametrize("degrees", [35.0, -35.0])
def test_the_renderer_draws_only_triangles_facing_the_camera(mesh, portrait, portrait_landmarks, degrees):
    """The renderer culls what faces away before it rasterises (on screen the grazing fade would also
    give it no paint, but a far-side triangle in the map could still hide a near one at the profile)."""
    lm = turned(portrait_landmarks, degrees)
    facing = facing_the_camera(mesh, lm)
    assert (~facing).sum() > 30, "the far side must be turned away"
    renderer = Renderer(mesh, load_overlay("black_eye_left"))
    _, drawn = renderer.face_roi(Face(lm), (portrait.shape[1], portrait.shape[0]))
    assert facing[drawn].all(), f"{(~facing[drawn]).sum()} triangles facing away are drawn"
    assert len(drawn) >= 0.95 * facing.sum(), "the ones facing the camera are drawn"


def test_a_fading_face_is_painted_in_proportion_to_its_opacity(mesh, whole_face_pack, portrait, portrait_landmarks):
    """A face fading in or out (the stabiliser's opacity) blends the paint in proportion: at 0.5, halfway
    between the skin and the full paint; at 0, not at all."""
    renderer = Renderer(mesh, load_overlay(whole_face_pack))
    full = renderer(portrait, (Face(portrait_landmarks, opacity=1.0),)).astype(int)
    half = renderer(portrait, (Face(portrait_landmarks, opacity=0.5),)).astype(int)
    inside = polygon_mask(portrait.shape, portrait_landmarks, FACE_OVAL, grow=-6)
    for contour in (LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR, INNER_LIPS_CONTOUR):
        inside &= ~polygon_mask(portrait.shape, portrait_landmarks, contour, grow=4)
    expected = (portrait.astype(int) + full) / 2
    assert np.abs(half[inside] - expected[inside]).max() <= 2
    assert np.abs(full[inside] - portrait[inside]).mean() > 40, "the full paint clearly differs from the skin"
    np.testing.assert_array_equal(renderer(portrait, (Face(portrait_landmarks, opacity=0.0),)), portrait)


def test_face_partly_outside_the_frame_draws_what_is_inside(mesh, whole_face_pack, portrait, portrait_landmarks):
    lm = portrait_landmarks.copy()
    lm[:, 0] -= lm[:468, 0].min() + 0.5 * np.ptp(lm[:468, 0])  # left half off-frame
    # occlusion off: the moved landmarks lie on the background, not on skin
    out = Renderer(mesh, load_overlay(whole_face_pack), occlusion=False)(portrait, (Face(lm),))
    diff = changed(out, portrait)
    assert diff.sum() > 1000
    assert diff[:, : int(lm[:468, 0].max()) + 3].sum() == diff.sum()


def test_paint_draws_in_place_exactly_like_a_copying_render(mesh, portrait, portrait_landmarks):
    """Two renderers with the same history (each keeps per-face memory: the skin's colour, what is covered)."""
    faces = (Face(portrait_landmarks),)
    expected = Renderer(mesh, load_overlay("black_eye_left"))(portrait, faces)
    frame = portrait.copy()
    assert Renderer(mesh, load_overlay("black_eye_left")).paint(frame, faces) is frame
    np.testing.assert_array_equal(frame, expected)


def test_two_layers_share_one_warp(mesh, tmp_path, portrait, portrait_landmarks):
    """A second layer adds its blend, not another rasterisation: same result as blending twice."""
    folder = tmp_path / "twice"
    shutil.copytree(builtin_overlays_dir() / "black_eye_left", folder)
    manifest = (folder / "overlay.toml").read_text()
    layer = manifest[manifest.index("[[layers]]"):]
    (folder / "overlay.toml").write_text(manifest + "\n" + layer)  # the same layer twice
    # occlusion off: the second pass of ``once`` would see the first's paint as something new on the skin
    once = Renderer(mesh, load_overlay("black_eye_left"), occlusion=False)
    twice = Renderer(mesh, load_overlay(folder), occlusion=False)
    faces = (Face(portrait_landmarks),)
    np.testing.assert_array_equal(twice(portrait, faces), once(once(portrait, faces), faces))


def test_forget_makes_the_next_picture_as_a_fresh_look_would_draw_it(mesh, model_path, portrait, portrait_landmarks,
                                                                    shared_media):
    """A look remembers the faces it drew (their skin colour, what covers them, their light); a gallery
    row or another photo is other people, so after ``forget`` it draws as if it had never seen the last."""
    from media import read_frames, track_clip

    other = read_frames(shared_media / "talking_woman_512.mp4", 1)[0]
    (other_face,) = track_clip([other], model_path)
    look = load_overlay("forehead_bump")
    used = Renderer(mesh, look)
    for _ in range(5):
        used(portrait, (Face(portrait_landmarks),))
    fresh = Renderer(mesh, look)(other, other_face)
    remembering = used(other, other_face)
    used.forget()
    np.testing.assert_array_equal(used(other, other_face), fresh)
    assert np.abs(remembering.astype(int) - fresh).max() > 0, "the memory of the first face made a difference"
