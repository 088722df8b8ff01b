"""The built-in looks read at a glance on real faces: a swelling, not a blob; a black eye with a
dark, uneven core; a cut that shows at 720p; a mark that stays on the visible cheek when the head
turns; bruises whose age varies across them by design (issue 13)."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from arfilter.core.types import Face, Frame
from arfilter.render.packs import builtin_overlays_dir, load_overlay
from arfilter.render.renderer import Renderer
from arfilter.tracking.mesh import LEFT_EYE_CONTOUR

from media import read_frames
from relight import LIGHTS, relight
from test_render import polygon_mask

TURNED = (256, 264, 272)  # talking_woman_512.mp4: the head turned so the subject's left cheek is the far one


def _track(model_path, image) -> np.ndarray:
    from arfilter.tracking.tracker import FaceTracker, TrackerOptions

    with FaceTracker(TrackerOptions(model_path=model_path, max_faces=1)) as tracker:
        faces = tracker(Frame(image, 0.0))
    assert len(faces) == 1
    return faces[0].landmarks


@pytest.fixture(scope="module")
def talking(model_path, shared_media):
    """Frames of talking_woman_512.mp4 with their landmarks: frame 0 (a face ~285 px wide, as at
    720p at arm's length) and the turned frames."""
    frames = read_frames(shared_media / "talking_woman_512.mp4", max(TURNED) + 1)
    return {i: (frames[i], _track(model_path, frames[i])) for i in (0, *TURNED)}


def _pack_without(tmp_path, name: str, drop: str):
    """A copy of a built-in pack with its layers of shader ``drop`` removed."""
    folder = tmp_path / f"{name}_without_{drop}"
    shutil.copytree(builtin_overlays_dir() / name, folder)
    text = (folder / "overlay.toml").read_text()
    head, *layers = text.split("[[layers]]")
    kept = [layer for layer in layers if f'shader = "{drop}"' not in layer]
    (folder / "overlay.toml").write_text(head + "".join("[[layers]]" + layer for layer in kept))
    return folder


def _luma(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float64)


def test_the_forehead_bump_is_a_relief_dome_under_the_bruise(mesh):
    overlay = load_overlay("forehead_bump")
    assert [layer.shader for layer in overlay.layers] == ["relief", "bruise"], "relief first, the bruise on it"
    height = overlay.layers[0].levels[0][:, :, 3].astype(np.float64)
    density = overlay.layers[1].levels[0][:, :, 3]
    top = np.unravel_index(np.argmax(cv2.GaussianBlur(height, (0, 0), 4)), height.shape)
    assert density[top] > 0.7 * density.max(), "the dome rises where the bruise is"
    # Above the subject's left brow (between landmarks 296 and 334, whose tops are the brow's), below the
    # forehead's middle row (151), where a fringe or a cap covers it: a blow swells above a brow.
    (u, v), side = np.array(top[::-1]) / height.shape[0], mesh.uvs[[296, 334]]
    assert side[0, 0] - 0.02 < u < side[1, 0] + 0.02 and mesh.uvs[151, 1] - 0.02 < v < side[:, 1].min() - 0.04, (u, v)
    # A smooth dome: no step anywhere (neighbours differ by at most 2 % of its height; a step would shade
    # as a ridge), falling to flat at its foot.
    assert np.abs(np.diff(height, axis=0)).max() <= 5 and np.abs(np.diff(height, axis=1)).max() <= 5
    ring = height[top[0], top[1] + 60:top[1] + 140]
    assert np.all(np.diff(ring) <= 1) and ring[-1] < 0.15 * height[top]


def _relief_halves(mesh, full, bare, image, landmarks, towards) -> tuple[float, float]:
    """What the look's relief adds to it (the look against the same look without it), in luma: the mean over
    the half of the bump towards ``towards`` (screen x, y) minus the mean over the other half; the largest."""
    face = (Face(landmarks),)
    change = _luma(Renderer(mesh, full, occlusion=False)(image, face)) - _luma(
        Renderer(mesh, bare, occlusion=False)(image, face))
    ys, xs = np.nonzero(change)
    weight = np.abs(change[ys, xs])
    along = (xs - (xs * weight).sum() / weight.sum()) * towards[0] + (ys - (ys * weight).sum() / weight.sum()) * towards[1]
    values = change[ys, xs]
    return float(values[along > 0].mean() - values[along < 0].mean()), float(weight.max())


def test_the_forehead_bump_reads_as_a_swelling_lit_like_the_face(mesh, portrait, portrait_landmarks, tmp_path):
    """A swelling, not a blob: relit from a side (tests/relight.py), the half of the bump towards the light
    is clearly brighter than the other half, with the bruise on it (the look before issue 13's rework:
    11.5-18.9 levels; now 20-41); as photographed, in soft light (directional share 0.19), the swelling
    is still there, lit from above, but well under the side-lit one (before: 5 levels, now 12)."""
    full, bare = load_overlay("forehead_bump"), load_overlay(_pack_without(tmp_path, "forehead_bump", "relief"))
    assert portrait.shape[0] == 720, "measured at 720p (a face 156 px wide)"
    lit = {}
    for name in ("left", "right", "top"):
        image = relight(portrait, portrait_landmarks, mesh, LIGHTS[name])
        lit[name] = _relief_halves(mesh, full, bare, image, portrait_landmarks, LIGHTS[name][:2])
        assert lit[name][0] >= 16, (name, lit[name])
    soft = _relief_halves(mesh, full, bare, portrait, portrait_landmarks, (0.0, -1.0))
    assert 8 <= soft[0] <= 0.6 * lit["top"][0] and soft[1] <= 0.6 * lit["top"][1], (soft, lit["top"])


def test_the_forehead_bump_has_no_white_centre(mesh, portrait, portrait_landmarks, tmp_path):
    """Without its relief shading, the bump only darkens (no soft-light glare), and its middle is
    darkened at least as much as its rim: not a red ring around a bright spot."""
    out = Renderer(mesh, load_overlay(_pack_without(tmp_path, "forehead_bump", "relief")))(
        portrait, (Face(portrait_landmarks),))
    assert np.all(out <= portrait)
    darkening = _luma(portrait) - _luma(out)
    bump = darkening > 3
    assert bump.sum() > 200
    ys, xs = np.nonzero(bump)
    centre = (ys.mean(), xs.mean())
    radius = np.hypot(ys - centre[0], xs - centre[1])
    values = darkening[ys, xs]
    inner, outer = values[radius < np.percentile(radius, 25)], values[radius > np.percentile(radius, 75)]
    assert inner.mean() > 1.5 * outer.mean() and np.percentile(inner, 5) > np.median(outer), (inner.mean(), outer.mean())


@pytest.mark.parametrize("source", ["portrait", "talking"])
def test_the_black_eye_is_darkest_and_uneven_along_the_lids(mesh, portrait, portrait_landmarks, talking, source,
                                                             tmp_path):
    """Within a few px of the lash line the bruise is darker than further out, and not one flat
    colour (measured without the lids' relief shading, which lightens and darkens on its own)."""
    image, landmarks = (portrait, portrait_landmarks) if source == "portrait" else talking[0]
    out = Renderer(mesh, load_overlay(_pack_without(tmp_path, "black_eye_left", "relief")))(image, (Face(landmarks),))
    eye_width = float(np.ptp(landmarks[list(LEFT_EYE_CONTOUR), 0]))
    grow = lambda k: max(int(round(k * eye_width)), 1)  # noqa: E731 - distances scale with the eye
    eye = polygon_mask(image.shape, landmarks, LEFT_EYE_CONTOUR, grow=grow(0.04))
    core = polygon_mask(image.shape, landmarks, LEFT_EYE_CONTOUR, grow=grow(0.22)) & ~eye
    rim = polygon_mask(image.shape, landmarks, LEFT_EYE_CONTOUR, grow=grow(0.55)) & ~polygon_mask(
        image.shape, landmarks, LEFT_EYE_CONTOUR, grow=grow(0.40))
    kept = (_luma(out) + 1.0) / (_luma(image) + 1.0)  # light let through, per pixel
    assert kept[core].mean() < kept[rim].mean() - 0.12, (kept[core].mean(), kept[rim].mean())
    spread = np.percentile(kept[core], 90) - np.percentile(kept[core], 10)
    assert np.percentile(kept[core], 10) < 0.44, "its darkest patches are dark (the old, even black eye: 0.45-0.48)"
    assert spread > 0.15, "the core is blotchy, not flat"


def test_the_split_lip_shows_at_720p_arms_length(mesh, talking, tmp_path):
    """On a face ~285 px wide, the cut is a dark line of a few dozen px, clearly darker than the lip."""
    image, landmarks = talking[0]
    assert 250 <= np.ptp(landmarks[:, 0]) <= 300
    face = (Face(landmarks),)
    with_cut = Renderer(mesh, load_overlay("split_lip"))(image, face)
    without = Renderer(mesh, load_overlay(_pack_without(tmp_path, "split_lip", "multiply")))(image, face)
    kept = (_luma(with_cut) + 1.0) / (_luma(without) + 1.0)
    cut = kept < 0.5
    assert cut.sum() >= 30, int(cut.sum())
    ys, xs = np.nonzero(cut)
    assert np.ptp(ys) >= 8, "a line across the lip, not a dot"


def _uv_probe(tmp_path, alpha: np.ndarray):
    """A pack that paints the given texels with their own UV coordinates (u in blue, v in green)."""
    folder = tmp_path / "probe"
    folder.mkdir()
    side = alpha.shape[0]
    v, u = np.mgrid[0:side, 0:side]
    texture = np.dstack([u * 256 // side, v * 256 // side, np.full_like(u, 255), np.where(alpha > 64, 255, 0)])
    cv2.imwrite(str(folder / "probe.png"), texture.astype(np.uint8))
    (folder / "overlay.toml").write_text('[[layers]]\ntexture = "probe.png"\n')
    return load_overlay(folder)


@pytest.mark.parametrize("frame", TURNED)
def test_the_mark_stays_on_the_visible_cheek_of_a_turned_head(mesh, talking, tmp_path, frame):
    """Every part of the #NoMoreSilence text (cells of 1/64 of the UV square) shows up on the far
    cheek of a three-quarter face: none is cut off by the outline or hidden behind the nose.
    A thin stroke may miss the pixel grid, so a cell counts as shown if it or a neighbour is."""
    mark = load_overlay("no_more_silence").layers[0].levels[0][:, :, 3]
    renderer = Renderer(mesh, _uv_probe(tmp_path, mark), occlusion=False)
    image, landmarks = talking[frame]
    out = renderer(np.zeros_like(image), (Face(landmarks),)).astype(int)
    painted = out[:, :, 2] > 128
    red = out[:, :, 2][painted]  # the probe on black: u and v come back scaled by the same coverage
    cells = mark.shape[0] // 64
    shown = np.zeros((64, 64), np.uint8)
    shown[out[:, :, 1][painted] * 255 // red // 4, out[:, :, 0][painted] * 255 // red // 4] = 1
    shown = cv2.dilate(shown, np.ones((3, 3), np.uint8))
    ys, xs = np.nonzero(mark > 64)
    needed = np.zeros((64, 64), np.uint8)
    needed[ys // cells, xs // cells] = 1
    missing = np.argwhere(needed & ~shown.astype(bool))
    assert len(missing) == 0, f"cells (v, u) of the mark not on the face: {missing.tolist()[:8]}"


@pytest.mark.parametrize("name", ["black_eye_left", "cheek_bruise", "jaw_bruise", "forehead_bump", "healing_day01",
                                  "healing_day05", "healing_day10"])
def test_bruises_are_older_at_the_rim_by_design(mesh, talking, name):
    """The age map makes the rim greener/yellower (relatively more blue absorbed, less red)
    than the core; the same pack with age_spread 0 keeps one age."""
    image, landmarks = talking[0]
    overlay = load_overlay(name)
    layer = next(layer for layer in overlay.layers if layer.shader == "bruise")
    assert layer.params.get("age_spread", 0) > 0
    density = layer.levels[0][:, :, 3]
    age = layer.levels[0][:, :, 1].astype(np.float64) / np.maximum(density, 1)
    core, rim = density > 0.7 * density.max(), (density > 10) & (density < 0.3 * density.max())
    assert age[rim].mean() > age[core].mean() + 0.3, (age[rim].mean(), age[core].mean())


def test_the_black_eye_core_reads_redder_than_its_rim(mesh, talking):
    """On a real face, where the bruise is fresh (the core) it keeps relatively more red than
    blue-green; towards the older rim the balance tips to green-yellow."""
    image, landmarks = talking[0]
    out = Renderer(mesh, load_overlay("black_eye_left"))(image, (Face(landmarks),)).astype(np.float64)
    eye_width = float(np.ptp(landmarks[list(LEFT_EYE_CONTOUR), 0]))
    ring = lambda a, b: polygon_mask(image.shape, landmarks, LEFT_EYE_CONTOUR, grow=int(b * eye_width)) & ~polygon_mask(  # noqa: E731
        image.shape, landmarks, LEFT_EYE_CONTOUR, grow=int(a * eye_width))
    gain = (out + 1.0) / (image.astype(np.float64) + 1.0)
    tint = lambda mask: gain[mask][:, 1].mean() / gain[mask][:, 2].mean()  # noqa: E731 - green kept vs red kept
    assert tint(ring(0.45, 0.6)) > tint(ring(0.05, 0.2)) + 0.02
