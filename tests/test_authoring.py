"""Designer aids: the UV template is labelled where the features are, and an unwrapped
photo, rendered back onto the same photo, lands where the face already is."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from arfilter.render.authoring import make_template, unwrap
from arfilter.tracking.mesh import FACE_OVAL, INNER_LIPS_CONTOUR, LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR, uv_to_texel
from arfilter.render.packs import load_overlay
from arfilter.render.renderer import Renderer
from arfilter.core.types import Face

UNWRAP_SIZE = 1024


def polygon_mask(shape: tuple[int, ...], points: np.ndarray, grow: int = 0) -> np.ndarray:
    """Filled polygon through ``points`` (pixels), grown (or shrunk, if negative) by ``grow`` px."""
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 255)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(grow) + 1,) * 2)
    if grow > 0:
        mask = cv2.dilate(mask, kernel)
    elif grow < 0:
        mask = cv2.erode(mask, kernel)
    return mask > 0


def ink(template: np.ndarray) -> np.ndarray:
    """Label pixels: the only strongly coloured (non-grey) ones in the template."""
    b, _, r = cv2.split(template.astype(np.int16))
    return b - r > 50


def window(mask: np.ndarray, centre: np.ndarray, half: int) -> np.ndarray:
    x, y = np.round(centre).astype(int)
    return mask[max(y - half, 0):y + half + 1, max(x - half, 0):x + half + 1]


def subpixel(image: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Bilinear samples (N, channels) at points ``xy`` (N, 2) (cv2.remap convention: pixel k's centre is at k)."""
    points = np.asarray(xy, np.float32).reshape(1, -1, 2)
    return cv2.remap(image, points[..., 0], points[..., 1], cv2.INTER_LINEAR)[0].astype(np.float64)


@pytest.fixture(scope="module")
def unwrapped(portrait, portrait_landmarks, mesh) -> np.ndarray:
    return unwrap(portrait, portrait_landmarks, mesh, UNWRAP_SIZE)


@pytest.mark.parametrize("size", [256, 2048])
def test_template_shape_wireframe_and_background(mesh, size):
    template = make_template(mesh, size)
    assert template.shape == (size, size, 3) and template.dtype == np.uint8
    corner = size // 20
    for patch in (template[:corner, :corner], template[:corner, -corner:],
                  template[-corner:, :corner], template[-corner:, -corner:]):
        assert patch.min() >= 250, "corners are outside the mesh: plain background"
    face = polygon_mask(template.shape, mesh.uvs[list(FACE_OVAL)] * size, grow=-size // 50)
    lines = (template.max(axis=2) < 235) & ~ink(template)
    assert lines[face].mean() > 0.05, "the wireframe is drawn inside the face"
    assert (template[face] >= 250).all(axis=1).mean() > 0.3, "lines are thin: most of the face stays light"


@pytest.mark.parametrize("size", [256, 2048])
def test_template_shades_the_holes(mesh, size):
    template = make_template(mesh, size)
    for contour in (LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR):
        pixel = template[tuple(np.round(mesh.uvs[list(contour)].mean(axis=0)[::-1] * size).astype(int))]
        assert 180 <= pixel.min() and pixel.max() <= 240, f"eye hole must be light grey, got {pixel}"
        assert np.ptp(pixel.astype(int)) <= 4, "the shade is grey"


@pytest.mark.parametrize("size", [256, 2048])
def test_template_labels_sit_on_their_features(mesh, size):
    labels = ink(make_template(mesh, size))
    half = max(size // 40, 3)
    assert window(labels, mesh.uvs[1] * size, half).sum() > 5, "NOSE is written at the nose tip"
    assert window(labels, mesh.uvs[151] * size, half).sum() > 5, "FOREHEAD is written on the forehead"
    assert labels[: int(0.08 * size)].sum() > 20, "the title line is at the top"
    assert not labels[:, : size // 20].any() and not labels[-size // 20:].any(), "no labels off the face"
    # The subject's left eye is on the texture's right, as on a photo; its label too.
    below_left = labels[int(0.40 * size):int(0.50 * size), int(0.55 * size):int(0.80 * size)]
    below_right = labels[int(0.40 * size):int(0.50 * size), int(0.20 * size):int(0.45 * size)]
    assert below_left.sum() > 20 and below_right.sum() > 20


def test_template_text_differs_left_and_right(mesh):
    """The LEFT EYE label is the one on the image right (different ink than the RIGHT EYE label)."""
    size = 1024
    labels = ink(make_template(mesh, size)).astype(np.uint8)
    rows = slice(int(0.40 * size), int(0.50 * size))
    on_right = labels[rows, size // 2:]
    on_left = labels[rows, : size // 2][:, ::-1]  # mirrored: identical text would match exactly
    assert (on_right != on_left).sum() > 100


def test_unwrap_covers_the_face_but_not_holes_or_background(unwrapped, mesh):
    size = UNWRAP_SIZE
    assert unwrapped.shape == (size, size, 4) and unwrapped.dtype == np.uint8
    alpha = unwrapped[:, :, 3]
    texels = mesh.uvs * size
    face = polygon_mask(alpha.shape, texels[list(FACE_OVAL)])
    holes = np.zeros_like(alpha)
    cv2.fillPoly(holes, list(np.round(texels[mesh.triangles[mesh.hole_mask]]).astype(np.int32)), 255)
    skin = face & (holes == 0)
    covered = (alpha >= 128)[skin].mean()
    assert covered > 0.8, f"only {covered:.0%} of the face is unwrapped"
    corner = size // 10
    assert alpha[:corner, :corner].max() == 0 and alpha[-corner:, -corner:].max() == 0
    assert (alpha[~polygon_mask(alpha.shape, texels[list(FACE_OVAL)], grow=3)] == 0).all(), "nothing past the outline"
    for contour in (LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR):
        x, y = np.round(texels[list(contour)].mean(axis=0)).astype(int)
        assert alpha[y, x] == 0, "the eye holes stay transparent"
    assert (unwrapped[alpha == 0, :3] == 0).all(), "transparent texels carry no stray colour"


def test_unwrap_samples_the_photo_at_each_vertex(unwrapped, portrait, portrait_landmarks, mesh):
    texels = uv_to_texel(mesh.uvs, UNWRAP_SIZE)
    color = np.ascontiguousarray(unwrapped[:, :, :3])
    photo_nose, texture_nose = subpixel(portrait, portrait_landmarks[1, :2]), subpixel(color, texels[1])
    assert np.abs(photo_nose - texture_nose).max() <= 6, (photo_nose, texture_nose)
    # Every fully opaque vertex: the texture holds the photo's colour there.
    nearest = np.round(texels).astype(int)
    opaque = np.flatnonzero(unwrapped[nearest[:, 1], nearest[:, 0], 3] == 255)
    assert len(opaque) > 300
    diffs = np.abs(subpixel(portrait, portrait_landmarks[opaque, :2]) - subpixel(color, texels[opaque]))
    assert np.median(np.max(diffs, axis=1)) <= 3.0


# (texture size, p95, median, mean-vector bias) bounds in screen px. The issue asks for
# p95 <= 2 px; measured: 256 -> median 0.04, p95 0.11; 1024 (drawn from mip level 2)
# -> median 0.07, p95 0.20, bias 0.01. Before the texel convention was shared
# (mesh.uv_to_texel), level 2 was sampled 1.5 texels off: median 0.46, p95 0.70, bias 0.3.
ROUND_TRIPS = [(1024, 0.5, 0.2, 0.1), (256, 0.5, 0.2, 0.1)]


@pytest.mark.parametrize("size, p95_max, median_max, bias_max", ROUND_TRIPS)
def test_unwrap_then_render_is_a_round_trip(portrait, portrait_landmarks, mesh, tmp_path,
                                            size, p95_max, median_max, bias_max):
    folder = tmp_path / "unwrapped"
    folder.mkdir()
    assert cv2.imwrite(str(folder / "face_uv.png"), unwrap(portrait, portrait_landmarks, mesh, size))
    (folder / "overlay.toml").write_text(
        'name = "unwrapped"\n[[layers]]\ntexture = "face_uv.png"\nshader = "normal"\nopacity = 1.0\n')
    rendered = Renderer(mesh, load_overlay(folder))(portrait, (Face(portrait_landmarks),))
    assert rendered.shape == portrait.shape

    xy = portrait_landmarks[:, :2]
    inside = polygon_mask(portrait.shape, xy[list(FACE_OVAL)], grow=-6)
    for contour in (LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR, INNER_LIPS_CONTOUR):
        inside &= ~polygon_mask(portrait.shape, xy[list(contour)], grow=4)
    changed = np.any(rendered != portrait, axis=2)
    assert changed[inside].mean() > 0.5, "the unwrapped texture is drawn over the face"
    mean_diff = np.abs(rendered.astype(np.int16) - portrait.astype(np.int16))[inside].mean()
    assert mean_diff < 6.0, f"re-projected face differs by {mean_diff:.1f} grey levels on average"

    before = cv2.cvtColor(portrait, cv2.COLOR_BGR2GRAY)
    after = cv2.cvtColor(rendered, cv2.COLOR_BGR2GRAY)
    corners = cv2.goodFeaturesToTrack(before, maxCorners=400, qualityLevel=0.01, minDistance=4,
                                      mask=inside.astype(np.uint8) * 255)
    assert corners is not None
    tracked, status, _ = cv2.calcOpticalFlowPyrLK(before, after, corners, None, winSize=(15, 15), maxLevel=2)
    ok = status.ravel() == 1
    assert ok.sum() >= 30, f"only {ok.sum()} features tracked"
    shift = (tracked - corners).reshape(-1, 2)[ok]
    moved = np.linalg.norm(shift, axis=1)
    assert np.percentile(moved, 95) <= p95_max, f"p95 displacement {np.percentile(moved, 95):.2f} px"
    assert np.median(moved) <= median_max, f"median displacement {np.median(moved):.2f} px"
    if bias_max is not None:
        assert np.abs(shift.mean(axis=0)).max() <= bias_max, f"systematic shift {shift.mean(axis=0)} px"
