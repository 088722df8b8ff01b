"""The built-in looks on real faces, region masks, two-layer looks and live switching."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from arfilter.core.errors import ArfilterError
from arfilter.session.controls import Controls
from arfilter.render.looks import LookSwitcher
from arfilter.tracking.mesh import FACE_OVAL, INNER_LIPS_CONTOUR, LEFT_EYE_CONTOUR, MESH_VERTICES, RIGHT_EYE_CONTOUR
from arfilter.render.packs import builtin_overlays_dir, list_overlays, load_overlay
from arfilter.render.regions import OUTER_LIPS_CONTOUR, keep_mask
from arfilter.render.renderer import FADE_FACING, Renderer
from arfilter.render.unwrap import vertex_normals
from arfilter.render.warp import signed_areas
from arfilter.core.types import Face

from test_render import changed, polygon_mask


@pytest.fixture(scope="module")
def two_people(model_path, shared_media):
    """two_people.jpg: a darker-skinned and a lighter-skinned man, side by side."""
    from arfilter.tracking.tracker import FaceTracker, TrackerOptions
    from arfilter.core.types import Frame

    image = cv2.imread(str(shared_media / "two_people.jpg"))
    with FaceTracker(TrackerOptions(model_path=model_path, max_faces=2)) as tracker:
        faces = tracker(Frame(image, 0.0))
    assert len(faces) == 2
    return image, faces


def _high_pass(gray: np.ndarray) -> np.ndarray:
    gray = gray.astype(np.float32)
    return gray - cv2.GaussianBlur(gray, (0, 0), 2.0)


@pytest.mark.parametrize("name", sorted(list_overlays()))
def test_every_builtin_look_paints_inside_the_face_on_a_real_photo(name, mesh, portrait, portrait_landmarks):
    out = Renderer(mesh, load_overlay(name))(portrait, (Face(portrait_landmarks),))
    diff = changed(out, portrait)
    assert diff.sum() > 150, "the look must be visible"
    face = polygon_mask(portrait.shape, portrait_landmarks, FACE_OVAL, grow=2)
    assert not np.any(diff & ~face), "paint outside the face outline"


def test_bruise_keeps_the_skin_texture_in_the_rendered_region(mesh, two_people):
    """In the drawn bruise, fine detail of the output correlates >= 0.8 with the input's."""
    image, faces = two_people
    for face in faces:
        out = Renderer(mesh, load_overlay("healing_day05"))(image, (face,))
        region = cv2.erode(changed(out, image).astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
        assert region.sum() > 300
        detail_in = _high_pass(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))[region]
        detail_out = _high_pass(cv2.cvtColor(out, cv2.COLOR_BGR2GRAY))[region]
        assert np.corrcoef(detail_in, detail_out)[0, 1] >= 0.8


def test_skin_tone_is_sampled_from_cheeks_and_forehead_not_the_shadowed_eye(mesh, two_people):
    """The bruise adapts to the face's skin; an eye socket in shadow must not read as dark skin."""
    from arfilter.render.renderer import face_skin_luma

    image, faces = two_people
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    for face in faces:
        skin = face_skin_luma(image, face.landmarks[:, :2])
        socket = polygon_mask(image.shape, face.landmarks, LEFT_EYE_CONTOUR, grow=12) & ~polygon_mask(
            image.shape, face.landmarks, LEFT_EYE_CONTOUR, grow=2)
        assert 0.3 < skin < 0.8 and skin > gray[socket].mean() / 255.0


def _whole_face_pack(folder, exclude: str):
    folder.mkdir()
    cv2.imwrite(str(folder / "paint.png"), np.full((256, 256, 4), (40, 200, 90, 255), np.uint8))
    (folder / "overlay.toml").write_text(f'[[layers]]\ntexture = "paint.png"\nexclude = [{exclude}]\n')
    return folder


def test_excluded_regions_stay_unpainted(mesh, portrait, portrait_landmarks, tmp_path):
    face = (Face(portrait_landmarks),)
    painted = {}
    for name, exclude in (("all", ""), ("spared", '"lips", "eyes"')):
        # Without the occlusion test, which is not what this is about: on a first frame it holds back the
        # brows and the texels half over them (tests/test_occlusion.py), and that is no excluded region.
        out = Renderer(mesh, load_overlay(_whole_face_pack(tmp_path / name, exclude)), occlusion=False)(portrait, face)
        painted[name] = np.abs(out.astype(int) - portrait).sum(axis=2) > 40  # the feathered rim may tint a little
    shape, lm = portrait.shape, portrait_landmarks
    lips = polygon_mask(shape, lm, OUTER_LIPS_CONTOUR, grow=-1) & ~polygon_mask(shape, lm, INNER_LIPS_CONTOUR, grow=1)
    lash_lines = np.zeros(shape[:2], bool)
    for contour in (LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR):
        lash_lines |= polygon_mask(shape, lm, contour, grow=2) & ~polygon_mask(shape, lm, contour, grow=0)
    assert painted["all"][lips].mean() > 0.9 and painted["all"][lash_lines].mean() > 0.5
    assert painted["spared"][lips].mean() < 0.02 and painted["spared"][lash_lines].mean() < 0.1
    cheeks = polygon_mask(shape, lm, FACE_OVAL, grow=-10) & ~polygon_mask(shape, lm, OUTER_LIPS_CONTOUR, grow=4)
    assert painted["spared"][cheeks].mean() > 0.9


def test_keep_mask_is_zero_inside_and_one_far_away(mesh):
    keep = keep_mask(mesh, ("lips",), 512)
    centre = np.round(mesh.uvs[list(OUTER_LIPS_CONTOUR)].mean(0) * 512).astype(int)
    assert keep[centre[1], centre[0]] < 0.01 and keep[40, 40] == 1.0 and keep.dtype == np.float32


def test_a_two_layer_look_draws_both_layers(mesh, portrait, portrait_landmarks, tmp_path):
    face = (Face(portrait_landmarks),)
    both = Renderer(mesh, load_overlay("split_lip"))(portrait, face)
    folder = tmp_path / "bruise_only"
    shutil.copytree(builtin_overlays_dir() / "split_lip", folder)
    manifest = (folder / "overlay.toml").read_text()
    (folder / "overlay.toml").write_text(manifest[: manifest.index("[[layers]]", manifest.index("[[layers]]") + 1)])
    bruise_only = Renderer(mesh, load_overlay(folder))(portrait, face)
    assert changed(both, bruise_only).sum() > 20, "the cut layer must show"


def test_intensity_scales_the_look_and_zero_changes_nothing(mesh, portrait, portrait_landmarks):
    renderer = Renderer(mesh, load_overlay("cheek_bruise"))
    face = (Face(portrait_landmarks),)
    strength = []
    for intensity in (0.0, 0.5, 1.0, 2.0):
        renderer.intensity = intensity
        strength.append(np.abs(renderer(portrait, face).astype(int) - portrait).sum())
    assert strength[0] == 0 and strength[1] < strength[2] < strength[3]


# --- live switching -----------------------------------------------------------

def _broken_pack(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir(parents=True)
    (folder / "overlay.toml").write_text('[[layers]]\ntexture = "missing.png"\n')
    return folder


def test_switching_cycles_through_the_looks_and_changes_the_picture(mesh, portrait, portrait_landmarks):
    messages = []
    looks = ["black_eye_left", "purple_ribbon", "no_more_silence"]
    switcher = LookSwitcher(mesh, looks, report=messages.append, preload=False)
    face = (Face(portrait_landmarks),)
    pictures = [switcher(portrait, face)]
    for _ in looks:
        switcher.next()
        pictures.append(switcher(portrait, face))
    assert [m.rsplit(" (intensity", 1)[0] for m in messages] == ["look: Purple ribbon", "look: #NoMoreSilence", "look: Black eye (left)"]
    assert changed(pictures[0], pictures[1]).sum() > 100 and changed(pictures[1], pictures[2]).sum() > 100
    # Back to the first look: the same picture, but for a level here and there (each look keeps a
    # memory of the face, its skin colour and light, which the frames in between refined).
    assert np.abs(pictures[0].astype(int) - pictures[3].astype(int)).max() <= 2
    switcher.previous()
    assert switcher.title == "#NoMoreSilence"


def test_a_broken_pack_is_skipped_and_the_current_look_stays(mesh, tmp_path):
    messages = []
    switcher = LookSwitcher(mesh, ["black_eye_left", _broken_pack(tmp_path), "purple_ribbon"], report=messages.append)
    switcher.next()
    assert switcher.title == "Purple ribbon"
    assert messages[0].startswith("skipping look ") and "missing.png" in messages[0] and "\n" not in messages[0]
    only_broken = LookSwitcher(mesh, ["black_eye_left", _broken_pack(tmp_path / "x")], report=messages.append)
    only_broken.next()
    assert only_broken.title == "Black eye (left)"


def test_the_looks_one_key_away_are_built_in_the_background(mesh, tmp_path):
    """At start the next look and the previous one are built, not every look; after a switch, the new
    neighbours (a broken pack on the way is found then, and reported only if the user lands on it)."""
    messages = []
    looks = ["black_eye_left", "purple_ribbon", _broken_pack(tmp_path), "no_more_silence", "cheek_bruise"]
    switcher = LookSwitcher(mesh, looks, report=messages.append, preload=True)
    assert switcher.preloaded(timeout=30)
    assert sorted(switcher._cache) == [0, 1, 4] and not switcher._broken
    switcher.next()
    assert switcher.preloaded(timeout=30)
    assert sorted(switcher._cache) == [0, 1, 3, 4] and list(switcher._broken) == [2]
    assert not messages[1:], "a broken neighbour is not reported until the user switches to it"
    switcher.next()  # over the broken pack, which is reported and not loaded again
    assert switcher.title == "#NoMoreSilence"
    assert sum("skipping look" in message for message in messages) == 1
    switcher.close()


def test_a_broken_first_look_is_the_users_error(mesh, tmp_path):
    with pytest.raises(ArfilterError, match="missing.png"):
        LookSwitcher(mesh, [_broken_pack(tmp_path), "black_eye_left"])


def test_intensity_keys_are_clamped_and_carried_across_switches(mesh):
    switcher = LookSwitcher(mesh, ["black_eye_left", "cheek_bruise"], report=lambda _: None)
    for _ in range(30):
        switcher.stronger()
    assert switcher.intensity == 2.0 and switcher.renderer.intensity == 2.0
    switcher.next()
    assert switcher.renderer.intensity == 2.0
    for _ in range(30):
        switcher.weaker()
    assert switcher.intensity == 0.0


@pytest.mark.parametrize("key, index, intensity", [
    ("n", 1, 1.0), ("]", 1, 1.0), ("p", 2, 1.0), ("[", 2, 1.0),
    ("+", 0, 1.1), ("=", 0, 1.1), ("-", 0, 0.9), ("_", 0, 0.9), ("x", 0, 1.0),
])
def test_keys(mesh, key, index, intensity):
    """The window keys reach the look through the one key map (core.limits.KEYS) and Controls."""
    switcher = LookSwitcher(mesh, ["black_eye_left", "cheek_bruise", "jaw_bruise"], report=lambda _: None)
    used = Controls(switcher).handle_key(ord(key))
    assert used == (key != "x") and switcher.index == index and switcher.intensity == pytest.approx(intensity)


def facing_mask(shape: tuple[int, ...], mesh, landmarks: np.ndarray, at_least: float) -> np.ndarray:
    """Pixels inside triangles whose three corners all face the camera with a cosine >= ``at_least``."""
    front = float(np.sign(np.median(signed_areas(mesh.uvs, mesh.skin_triangles))))
    facing = vertex_normals(landmarks[:MESH_VERTICES], mesh.triangles, front)[:, 2]
    mask = np.zeros(shape[:2], np.uint8)
    for triangle in mesh.skin_triangles[(facing[mesh.skin_triangles] >= at_least).all(axis=1)]:
        cv2.fillConvexPoly(mask, np.round(landmarks[triangle, :2]).astype(np.int32), 1)
    return cv2.erode(mask, np.ones((5, 5), np.uint8)) > 0


@pytest.mark.parametrize("shader", ["multiply", "bruise", "paint"])
def test_no_seams_at_triangle_edges(mesh, portrait, portrait_landmarks, tmp_path, shader):
    """A uniform layer on flat grey skin comes out uniform: no lines where triangles meet."""
    folder = tmp_path / "uniform"
    folder.mkdir()
    cv2.imwrite(str(folder / "flat.png"), np.full((512, 512, 4), (90, 110, 160, 200), np.uint8))
    (folder / "overlay.toml").write_text(f'[[layers]]\ntexture = "flat.png"\nshader = "{shader}"\n')
    grey = np.full_like(portrait, 150)  # not skin: occlusion handling would (rightly) hold the paint back
    out = Renderer(mesh, load_overlay(folder), occlusion=False)(grey, (Face(portrait_landmarks),))
    # Only where the surface faces the camera squarely enough for full paint: elsewhere (the
    # outline, the sides of the nose) it fades with the angle to the view, by design (test_render.py).
    inside = facing_mask(grey.shape, mesh, portrait_landmarks, FADE_FACING[1] + 0.05)
    inside &= polygon_mask(grey.shape, portrait_landmarks, FACE_OVAL, grow=-4)
    for contour in (LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR, INNER_LIPS_CONTOUR):
        inside &= ~polygon_mask(grey.shape, portrait_landmarks, contour, grow=4)
    values = out[inside].astype(int)
    assert np.all(values != 150), "the layer covers the whole inside"
    assert np.abs(values - np.median(values, axis=0)).max() <= 1, "a seam or a gap between triangles"
