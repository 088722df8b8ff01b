"""The renderer blends only a window around each look's paint: that must change no pixel.

Each shader declares how far around a pixel its result depends on its inputs (``Shader.reach``);
the renderer blends only the part of the face's region where a layer has paint, grown by the
largest reach. Checked twice on real faces: each shader against its own claim, and every built-in
look drawn by the renderer against the same renderer blending the whole region.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from arfilter.core.types import Face, Light
from arfilter.render import renderer as renderer_module
from arfilter.render.packs import list_overlays, load_overlay
from arfilter.render.renderer import Renderer
from arfilter.shaders import SHADERS, get_shader
from media import read_frames, track_clip

LIGHT = Light((-0.6, -0.3, 0.74), 0.5, 0.45)  # from the upper left, as on a lit face


def _face_patch(portrait: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """A real cheek and nose (96 x 128 pixels) with a specular highlight at the paint's edge."""
    x, y = landmarks[1, :2].astype(int)  # the nose tip
    base = np.ascontiguousarray(portrait[y - 48:y + 48, x - 96:x + 32])
    base[40:46, 78:86] = 252  # bright enough for the bruise's highlight test, 2-8 pixels off its paint
    return base


def _paint(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A premultiplied layer painted in an irregular blob well inside ``shape`` (colour with a
    green share for the bruise's age map), and a coverage with a hard edge through the blob."""
    rng = np.random.default_rng(5)
    blob = np.zeros(shape, np.float32)
    cv2.ellipse(blob, (52, 44), (22, 14), 20.0, 0, 360, 1.0, -1)
    blob = cv2.GaussianBlur(blob * rng.uniform(0.6, 1.0, shape).astype(np.float32), (7, 7), 0)
    alpha = np.round(blob * 255.0).astype(np.uint8)
    green = np.round(alpha * rng.uniform(0.0, 1.0, shape)).astype(np.uint8)
    color = cv2.merge([alpha // 3, green, alpha // 2])
    coverage = np.full(shape, 255, np.uint8)
    coverage[:, 60:] = 120  # a hand, or the mesh's edge, across the paint
    return color, cv2.merge([alpha] * 3), coverage


def _window(alpha: np.ndarray, color: np.ndarray, reach: int) -> tuple[slice, slice]:
    x, y, w, h = cv2.boundingRect(cv2.max(alpha[:, :, 0], color.max(axis=2)))
    height, width = alpha.shape[:2]
    return (slice(max(y - reach, 0), min(y + h + reach, height)), slice(max(x - reach, 0), min(x + w + reach, width)))


CASES = [("normal", {}), ("multiply", {}), ("screen", {}), ("overlay", {}), ("soft_light", {}),
         ("bruise", {"skin": 0.45}), ("bruise", {"skin": 0.45, "age_spread": 5.0, "intensity": 1.35}),
         ("bruise", {"skin": 0.3, "age": 9.0}), ("relief", {"light": LIGHT, "texel_px": 0.9, "strength": 2.0})]


def test_every_shader_says_how_far_it_reads_or_that_it_reads_the_whole_region():
    assert {name for name, _ in CASES} | {"paint"} == set(SHADERS)
    assert get_shader("paint").reach is None  # the mean of the skin under the layer
    for name, _ in CASES:
        assert get_shader(name).reach is not None and get_shader(name).reach >= 0, name


@pytest.mark.parametrize("name, params", CASES)
def test_blending_a_window_grown_by_the_reach_gives_the_whole_regions_pixels(portrait, portrait_landmarks, name,
                                                                              params):
    shader = get_shader(name)
    base = _face_patch(portrait, portrait_landmarks)
    color, alpha, coverage = _paint(base.shape[:2])
    alpha = cv2.merge([cv2.multiply(alpha[:, :, 0], coverage, scale=1.0 / 255.0)] * 3)
    extras = dict(params, coverage=coverage) if name == "relief" else params
    whole = shader(base, color, alpha, **extras)
    assert not np.array_equal(whole, base), "the layer must paint"
    window = _window(alpha, color, shader.reach)
    part = base.copy()
    extras = dict(params, coverage=coverage[window]) if name == "relief" else params
    part[window] = shader(base[window], color[window], alpha[window], **extras)
    np.testing.assert_array_equal(part, whole)


@pytest.fixture(scope="module")
def clip_faces(shared_media, model_path):
    """Ten frames in a row of the webcam clip (glasses, a real face), tracked once."""
    frames = read_frames(shared_media / "webcam_glasses_720x1280.mp4", 10)
    return frames, track_clip(frames, model_path)


def _whole_region_renderer(monkeypatch, mesh, name: str) -> Renderer:
    """The same look, drawn by a renderer told every shader reads the whole region: no window."""
    with monkeypatch.context() as patch:
        patch.setattr(renderer_module, "get_shader", lambda shader: dataclasses.replace(get_shader(shader), reach=None))
        return Renderer(mesh, load_overlay(name))


@pytest.mark.parametrize("name", list(list_overlays()))
def test_every_look_draws_the_same_pixels_as_blending_the_whole_region(monkeypatch, mesh, clip_faces, portrait,
                                                                      portrait_landmarks, name):
    """Frames in a row (the look remembers the face: occlusion, light), then the portrait."""
    windowed, whole = Renderer(mesh, load_overlay(name)), _whole_region_renderer(monkeypatch, mesh, name)
    frames, faces = clip_faces
    shots = [*zip(frames, faces), (portrait, (Face(portrait_landmarks),))]
    for index, (frame, found) in enumerate(shots):
        if index == len(frames):
            windowed.forget(), whole.forget()
        assert found, "the clip's face must be tracked"
        drawn = windowed(frame, found)
        np.testing.assert_array_equal(drawn, whole(frame, found), err_msg=f"{name}, shot {index}")
        assert not np.array_equal(drawn, frame), f"{name} must paint shot {index}"


@pytest.mark.parametrize("name", sorted(list_overlays()))
def test_paint_support_is_every_texel_within_two_of_any_channel_above_zero(name):
    """The texels a map may land on and still sample paint, on every built-in look's own mip levels: any
    layer's texel with a channel above 0 (an opaque one too), grown by 2 texels (a 5x5 square)."""
    overlay = load_overlay(name)
    for level_index in range(len(overlay.layers[0].levels)):
        levels = [layer.levels[level_index] for layer in overlay.layers]
        painted = np.zeros(levels[0].shape[:2], bool)
        for level in levels:
            painted |= (level > 0).any(axis=2)
        height, width = painted.shape
        padded = np.pad(painted, 2)
        want = np.zeros_like(painted)
        for dy in range(5):
            for dx in range(5):
                want |= padded[dy:dy + height, dx:dx + width]
        got = renderer_module.paint_support(levels)
        assert got.dtype == np.uint8 and set(np.unique(got)) <= {0, 255}
        assert np.array_equal(got == 255, want), f"{name}, level {level_index}"
