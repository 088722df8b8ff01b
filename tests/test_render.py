"""The renderer paints inside the face, never in the eyes or the open mouth."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

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
    folder = tmp_path / "whole_face"
    folder.mkdir()
    texture = np.zeros((256, 256, 4), np.uint8)
    texture[:] = (40, 200, 90, 255)
    cv2.imwrite(str(folder / "paint.png"), texture)
    (folder / "overlay.toml").write_text('name = "whole_face"\n[[layers]]\ntexture = "paint.png"\nshader = "normal"\n')
    return folder


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
    texture = cv2.imread(str(folder / "bruise.png"), cv2.IMREAD_UNCHANGED)
    texture[:, :, 3] = 0
    cv2.imwrite(str(folder / "bruise.png"), texture)
    out = Renderer(mesh, load_overlay(folder))(portrait, (Face(portrait_landmarks),))
    np.testing.assert_array_equal(out, portrait)


def test_turned_head_culls_the_far_side(mesh, whole_face_pack, portrait, portrait_landmarks):
    """Squash the landmarks as a head turned ~80 degrees: the far half folds and is not drawn."""
    lm = portrait_landmarks.copy()
    centre_x = lm[:468, 0].mean()
    nose = lm[1, 0]
    # Rotate about the vertical axis through the face centre, using z for depth.
    angle = np.deg2rad(80)
    x, z = lm[:, 0] - centre_x, lm[:, 2] - lm[:468, 2].mean()
    lm[:, 0] = centre_x + x * np.cos(angle) + z * np.sin(angle)
    lm[:, 2] = -x * np.sin(angle) + z * np.cos(angle)
    out = Renderer(mesh, load_overlay(whole_face_pack))(portrait, (Face(lm),))
    diff = changed(out, portrait)
    visible_x = np.nonzero(diff)[1]
    assert len(visible_x) > 0
    # Painted pixels stay within the rotated face's extent: nothing smeared outside.
    assert visible_x.min() >= lm[:468, 0].min() - 2 and visible_x.max() <= lm[:468, 0].max() + 2
    del nose


def test_face_partly_outside_the_frame_draws_what_is_inside(mesh, whole_face_pack, portrait, portrait_landmarks):
    lm = portrait_landmarks.copy()
    lm[:, 0] -= lm[:468, 0].min() + 0.5 * np.ptp(lm[:468, 0])  # left half off-frame
    out = Renderer(mesh, load_overlay(whole_face_pack))(portrait, (Face(lm),))
    diff = changed(out, portrait)
    assert diff.sum() > 1000
    assert diff[:, : int(lm[:468, 0].max()) + 3].sum() == diff.sum()


def test_paint_draws_in_place_exactly_like_a_copying_render(renderer, portrait, portrait_landmarks):
    faces = (Face(portrait_landmarks),)
    expected = renderer(portrait, faces)
    frame = portrait.copy()
    assert renderer.paint(frame, faces) is frame
    np.testing.assert_array_equal(frame, expected)


def test_two_layers_share_one_warp(mesh, tmp_path, portrait, portrait_landmarks):
    """A second layer adds its blend, not another rasterisation: same result as blending twice."""
    folder = tmp_path / "twice"
    shutil.copytree(builtin_overlays_dir() / "black_eye_left", folder)
    manifest = (folder / "overlay.toml").read_text()
    layer = manifest[manifest.index("[[layers]]"):]
    (folder / "overlay.toml").write_text(manifest + "\n" + layer)  # the same layer twice
    once = Renderer(mesh, load_overlay("black_eye_left"))
    twice = Renderer(mesh, load_overlay(folder))
    faces = (Face(portrait_landmarks),)
    np.testing.assert_array_equal(twice(portrait, faces), once(once(portrait, faces), faces))
