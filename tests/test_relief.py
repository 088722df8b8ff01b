"""The relief shader: a height map lit by the light on the face, on real faces relit by a known light.

Ground truth is tests/relight.py's synthetic light; the dome is tests/relight.py's test look (a
cosine-profiled swelling on the forehead). Where the relief brightens and darkens the picture is read
back from the rendered frame.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from relight import LIGHTS, bright_side, dome_pack, relight

from arfilter.core.types import Face, Light
from arfilter.render.packs import load_overlay
from arfilter.render.renderer import Renderer
from arfilter.shaders import get_shader

relief = get_shader("relief")
SIDE_LIT = Light((-0.77, 0.0, 0.64), 0.2, 0.8)  # from the left, 50 degrees off the view


@pytest.fixture(scope="module")
def dome(tmp_path_factory, mesh):
    return load_overlay(dome_pack(tmp_path_factory.mktemp("dome"), mesh))


def _draw(overlay, mesh, image, landmarks):
    # Occlusion off: a first frame, and what is measured is the relief, not the occlusion's judgement.
    return Renderer(mesh, overlay, occlusion=False)(image, (Face(landmarks),))


def _dome_alpha(size: int = 96, radius: float = 30.0) -> np.ndarray:
    ys, xs = np.mgrid[0:size, 0:size]
    r = np.hypot(xs - size / 2, ys - size / 2) / radius
    height = np.where(r < 1, 0.5 + 0.5 * np.cos(np.pi * np.minimum(r, 1)), 0.0)
    return np.repeat(np.round(height * 255).astype(np.uint8)[:, :, None], 3, axis=2)


def _skin(size: int = 96, pores: float = 6.0, bgr: tuple[int, int, int] = (140, 172, 224)) -> np.ndarray:
    noise = cv2.GaussianBlur(np.random.default_rng(1).normal(0, pores, (size, size)), (3, 3), 0)[:, :, None]
    return np.clip(np.array(bgr, np.float64) + noise, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("name", sorted(LIGHTS))
def test_the_bright_side_of_the_bump_faces_the_light(portrait, portrait_landmarks, mesh, dome, name):
    """The portrait relit from eight sides: the brightened part of the bump lies towards the light."""
    lit = relight(portrait, portrait_landmarks, mesh, LIGHTS[name])
    towards, change = bright_side(lit, _draw(dome, mesh, lit, portrait_landmarks))
    light_on_screen = np.array(LIGHTS[name][:2])
    assert towards @ light_on_screen > 0.5 * np.linalg.norm(towards) * np.linalg.norm(light_on_screen), towards
    assert change >= 12, change  # clearly drawn (measured 21-31 luma levels)


def test_the_shading_follows_the_light_across_a_turning_head(shared_media, model_path, mesh, dome):
    """One light, the head turning under it (talking_woman_512.mp4, every 8th frame of 200, one renderer
    re-fitting and smoothing as in a session): the bright side faces the light in at least 90 % of frames."""
    from media import read_frames

    from arfilter.core.types import Frame
    from arfilter.tracking.tracker import FaceTracker, TrackerOptions

    frames = read_frames(shared_media / "talking_woman_512.mp4", 200)[::8]
    renderer = Renderer(mesh, dome, occlusion=False)
    hits = []
    with FaceTracker(TrackerOptions(model_path=model_path, max_faces=1)) as tracker:
        for index, image in enumerate(frames):
            faces = tracker(Frame(image, index * 8 / 30.0, index))
            lit = relight(image, faces[0].landmarks, mesh, LIGHTS["bottom-left"])
            towards, change = bright_side(lit, renderer(lit, faces))
            hits.append(change > 0 and towards @ np.array(LIGHTS["bottom-left"][:2]) > 0)
    assert np.mean(hits) >= 0.9, hits


def test_soft_light_draws_the_relief_subtly(portrait, portrait_landmarks, mesh, dome):
    """As photographed (soft studio light) the swelling is a faint hint, well under the side-lit one."""
    _, soft = bright_side(portrait, _draw(dome, mesh, portrait, portrait_landmarks))
    lit = relight(portrait, portrait_landmarks, mesh, LIGHTS["left"])
    _, side = bright_side(lit, _draw(dome, mesh, lit, portrait_landmarks))
    assert soft < 0.5 * side, (soft, side)


def test_the_same_swelling_looks_the_same_at_any_face_size(portrait, portrait_landmarks, mesh, dome):
    """The portrait at full size and at half size (another mip level): the same luma change, within 25 %."""
    lit = relight(portrait, portrait_landmarks, mesh, LIGHTS["top-left"])
    _, full = bright_side(lit, _draw(dome, mesh, lit, portrait_landmarks))
    half = cv2.resize(lit, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    landmarks = portrait_landmarks * np.float32(0.5)
    _, small = bright_side(half, _draw(dome, mesh, half, landmarks))
    assert abs(small / full - 1.0) < 0.25, (small, full)


def test_a_relief_cut_by_the_mesh_edge_draws_no_line(tmp_path, portrait, portrait_landmarks, mesh):
    """A flat plateau (height 255 everywhere): it has no slope, so nothing may be drawn, not even where the
    mesh ends and the coverage (already in alpha) falls to 0 at the outline."""
    folder = dome_pack(tmp_path, mesh)
    plateau = np.full((256, 256, 4), 255, np.uint8)
    cv2.imwrite(str(folder / "dome.png"), plateau)
    lit = relight(portrait, portrait_landmarks, mesh, LIGHTS["left"])
    _, change = bright_side(lit, _draw(load_overlay(folder), mesh, lit, portrait_landmarks))
    assert change <= 3, change


def test_no_change_where_alpha_is_zero_and_no_light_no_relief():
    base, alpha = _skin(), _dome_alpha()
    out = relief(base, base, alpha, light=SIDE_LIT, texel_px=1.0)
    outside = alpha[:, :, 0] == 0
    np.testing.assert_array_equal(out[outside], base[outside])
    assert np.abs(out.astype(int) - base).max() > 20  # drawn inside
    np.testing.assert_array_equal(relief(base, base, alpha, light=None), base)
    # Flat light (no directional share): only the soft light from above a room's ambient light has,
    # subtly: the dome's upper half lighter, its lower half darker, well under the side-lit relief.
    flat = relief(base, base, alpha, light=Light(SIDE_LIT.direction, 0.9, 0.0), texel_px=1.0).astype(int) - base
    assert 0 < np.abs(flat).max() <= 0.4 * np.abs(out.astype(int) - base).max(), np.abs(flat).max()
    assert flat[20:44].mean() > 2 and flat[52:76].mean() < -2, (flat[20:44].mean(), flat[52:76].mean())


def _expected(base, alpha, light, strength=1.0, texel_px=0.3):
    """The documented formula in float: base * clip(1 + strength * share * (-grad(height) . l), 1 -/+ share),
    the height in pixels being alpha / 255 * 24 texels * texel_px."""
    height = alpha[:, :, 0].astype(np.float64) / 255.0 * 24.0 * texel_px
    gy, gx = np.gradient(height)
    slope_to_light = -(gx * light.direction[0] + gy * light.direction[1])
    gain = np.clip(1.0 + strength * light.directional * slope_to_light, 1 - light.directional, 1 + light.directional)
    return np.clip(base * gain[:, :, None], 0, 255)


def test_relief_is_a_smooth_gain_that_brightens_towards_the_light():
    """On a patch of skin, a dome lit from the left: the documented formula, its left slope brighter and its right one darker, and the skin multiplied by a
    smooth gain, so its pores pass through."""
    base, alpha = _skin(), _dome_alpha()
    out = relief(base, base, alpha, light=SIDE_LIT, texel_px=0.3).astype(np.float64)
    expected = _expected(base, alpha, SIDE_LIT)
    error = float(np.abs(out - expected).max())
    assert error <= 5.0, error  # Sobel's smoothing, the uint8 height and the gain's 1/128 steps (the relief: +-35)
    change = out.mean(axis=2) - base.mean(axis=2)
    assert change[40:56, 26:40].mean() > 8 and change[40:56, 56:70].mean() < -8
    textured = _skin(pores=20.0, bgr=(90, 112, 150))  # mid-tone: nothing clips at 255
    shaded = relief(textured, textured, alpha, light=SIDE_LIT, texel_px=0.3)
    fine = [(image - cv2.GaussianBlur(image, (0, 0), 1.5))[40:56, 22:36].ravel()
            for image in (textured.astype(np.float64), shaded.astype(np.float64))]
    assert np.corrcoef(*fine)[0, 1] > 0.95  # pores pass through the slope


def test_relief_grows_with_strength_and_with_how_directional_the_light_is():
    base, alpha = _skin(), _dome_alpha()
    amplitude = [np.abs(relief(base, base, alpha, light=light, texel_px=0.3, strength=strength).astype(int) - base).mean()
                 for light, strength in ((SIDE_LIT, 0.5), (SIDE_LIT, 1.0), (SIDE_LIT, 2.0),
                                         (Light(SIDE_LIT.direction, 0.5, 0.3), 1.0))]
    assert amplitude[0] < amplitude[1] < amplitude[2] and amplitude[3] < 0.5 * amplitude[1], amplitude
    assert amplitude[2] > 1.6 * amplitude[1], amplitude


def test_a_steep_slope_turned_from_the_light_keeps_the_ambient_part():
    """However steep the relief, the shaded skin keeps the ambient share of the light (1 - directional) and
    gains at most the directional share: deep shade, never black, never blown out."""
    base, alpha = _skin(bgr=(90, 112, 150)), _dome_alpha()
    light = Light(SIDE_LIT.direction, 0.6, 0.3)
    gain = relief(base, base, alpha, light=light, texel_px=3.0, strength=2.0).astype(np.float64) / base
    assert 0.68 <= gain.min() < 0.72 and 1.28 < gain.max() <= 1.32, (gain.min(), gain.max())


@pytest.mark.parametrize("look", ["black_eye_left", "forehead_bump"])
def test_a_relief_warped_from_its_alpha_alone_draws_what_all_four_channels_drew(portrait, portrait_landmarks, mesh,
                                                                               look):
    """The renderer warps a relief layer's alpha alone (the shader reads no colour): the frames are those the
    full BGRA layer gave, over the light's first fits and a face moving across the frame."""
    assert not relief.reads_colour
    alone, four = Renderer(mesh, load_overlay(look)), Renderer(mesh, load_overlay(look))
    four._heights = [None] * len(four._heights)  # every layer the old way: BGRA warped, converted
    assert alone._heights != four._heights
    for shift in (0, 0, 3, 7, 7, 12):
        frame = np.roll(portrait, shift, axis=1)
        moved = Face(portrait_landmarks + np.array([shift, 0, 0], np.float32))
        drawn = alone(frame, (moved,))
        np.testing.assert_array_equal(drawn, four(frame, (moved,)))
    assert np.count_nonzero(np.abs(drawn.astype(int) - frame).max(axis=2) > 8) > 500  # a look was drawn
