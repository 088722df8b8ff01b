"""The occlusion test's compiled passes (arfilter.render.occlusion_kernels) give what the OpenCV calls they
replaced gave (tests/occlusion_reference.py), to the bit, on a real face with real things in front of it:
the renderer runs as in a live session and every pass is checked as it is called."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import occlusion_reference as opencv_version
from occluders import composite, skin_colour

from arfilter.core.types import Face
from arfilter.render import occlusion, occlusion_kernels, occlusion_pixels
from arfilter.render.packs import load_overlay
from arfilter.render.renderer import Renderer


def scenes(portrait: np.ndarray, landmarks: np.ndarray) -> list[np.ndarray]:
    """The portrait bare, dimmed and brightened (the light changes), and with a hand, a microphone,
    a cup and strands of hair over its left eye and cheek, each for a few frames."""
    unit = float(np.ptp(landmarks[:468, 0]))
    centre = landmarks[[263, 280, 330], :2].mean(axis=0)
    frames = [portrait] * 3 + [cv2.convertScaleAbs(portrait, alpha=0.8)] * 2 + [cv2.convertScaleAbs(portrait, alpha=1.15)]
    for kind in ("hand", "mic", "cup", "hair"):
        covered, _ = composite(portrait, kind, centre, unit, 0.2, skin_colour(portrait, landmarks))
        frames += [covered] * 3 + [portrait]
    return frames


@pytest.mark.parametrize("look", ["black_eye_left", "cheek_bruise"])
def test_every_compiled_pass_matches_opencv_on_a_real_face(mesh, portrait, portrait_landmarks, monkeypatch, look):
    checked = dict.fromkeys(["colour", "reference colour", "gate", "strands", "held", "saturation", "paler"], 0)
    colour_score, broad_saturation = occlusion.Occlusion._colour_score, occlusion._broad_saturation

    def colour(ycc, skin, reference=None):
        result = colour_score(ycc, skin, reference)
        np.testing.assert_array_equal(result, opencv_version.colour_score(ycc, skin, reference))
        checked["colour" if reference is None else "reference colour"] += 1
        return result

    def saturation(ycc, skin, valid):
        result = broad_saturation(ycc, skin, valid)
        np.testing.assert_array_equal(result, opencv_version.broad_saturation(ycc, skin, valid))
        checked["saturation"] += 1
        checked["paler"] += int(np.count_nonzero((result > 0) & (result < 200)) > 0)
        return result

    gate = occlusion.Occlusion.gate

    def gated(self, face_id, region, own=None, strands=None, usual=None):
        result = gate(self, face_id, region, own, strands, usual)
        skin = self._faces[face_id].skin
        np.testing.assert_array_equal(result, opencv_version.gate(skin, region, own, strands, usual))
        checked["gate"] += 1
        checked["strands"] += strands is not None
        checked["held"] += bool(self._faces[face_id].covered.any())
        return result

    monkeypatch.setattr(occlusion.Occlusion, "_colour_score", staticmethod(colour))
    monkeypatch.setattr(occlusion.Occlusion, "gate", gated)
    monkeypatch.setattr(occlusion, "_broad_saturation", saturation)
    renderer = Renderer(mesh, load_overlay(look))
    face = Face(portrait_landmarks)
    for frame in scenes(portrait, portrait_landmarks):
        renderer(frame, (face,))
    frames = len(scenes(portrait, portrait_landmarks))
    assert checked["colour"] >= 2, checked  # the first frame's skin statistics
    assert checked["reference colour"] == checked["gate"] == frames == checked["saturation"] - 1, checked
    assert checked["paler"] > frames // 2, checked  # parts of this skin are paler than its mean
    assert checked["strands"] >= 1 and checked["held"] >= 3, checked  # scored beside strands and occluders


def test_the_grey_score_matches_opencv_for_every_colour():
    """Every (Y, Cr, Cb) against skins from dark to bright, on both ramps (per texel and per pixel)."""
    levels = np.arange(256, dtype=np.uint8)
    y, cr, cb = (np.ascontiguousarray(a.reshape(4096, 4096)) for a in np.meshgrid(levels, levels, levels, indexing="ij"))
    ycc = np.ascontiguousarray(np.dstack([y, cr, cb]))
    zero = np.zeros((256, 256), np.uint8)
    for skin in ([60.0, 150.0, 110.0, 5.0, 5.0], [150.0, 145.0, 115.0, 5.0, 5.0], [220.0, 135.0, 125.0, 5.0, 5.0]):
        skin = np.array(skin, np.float32)
        for ramp in (occlusion.GREY, occlusion_pixels.GATE_GREY):
            expected = opencv_version.grey_score(y, cr, cb, skin, ramp)
            assert 0 < expected.mean() < 255
            tables = np.zeros((5, 256), np.uint8)  # every other score 0: the gate's score is the grey one
            out = np.empty(y.shape, np.uint8)
            occlusion_kernels.gate_pixels(ycc, zero.repeat(16, 0).repeat(16, 1), zero.repeat(16, 0).repeat(16, 1),
                                          tables, occlusion_pixels.CHROMA, *occlusion_pixels.grey_ramp(skin, ramp), zero, False,
                                          zero, False, zero, False, 0, out, np.empty_like(out))
            np.testing.assert_array_equal(out, cv2.bitwise_not(cv2.dilate(expected, np.ones((3, 3), np.uint8))))


def test_the_growth_by_a_pixel_matches_opencv_at_every_size_and_border():
    rng = np.random.default_rng(5)
    for shape in [(1, 1), (1, 7), (2, 2), (3, 5), (37, 81), (64, 64)]:
        values = rng.integers(0, 256, shape, dtype=np.uint8)
        out = np.empty_like(values)
        occlusion_kernels._dilate3(values, out)
        np.testing.assert_array_equal(out, cv2.dilate(values, np.ones((3, 3), np.uint8)))


def test_long_lines_match_opencvs_connected_components():
    """Random sparse lines, bands and specks (8-connected across diagonals too) at the region sizes the
    gate sees, and lengths and thicknesses around the thresholds."""
    rng = np.random.default_rng(9)
    found = 0
    for case in range(200):
        height, width = rng.integers(1, 90, size=2)
        score = np.zeros((height, width), np.uint8)
        for _ in range(rng.integers(0, 6)):
            x0, y0 = rng.integers(0, width), rng.integers(0, height)
            x1, y1 = x0 + rng.integers(-12, 13), y0 + rng.integers(-12, 13)
            cv2.line(score, (int(x0), int(y0)), (int(x1), int(y1)), int(rng.integers(1, 256)), int(rng.integers(1, 4)))
        score[rng.random((height, width)) < 0.02] = 200  # specks
        expected = opencv_version.long_lines(score)
        out = np.empty_like(score)
        assert occlusion_kernels.long_lines(score, occlusion_pixels.WIRE_LENGTH, occlusion_pixels.WIRE_THICKNESS, out) == (expected is not None)
        if expected is not None:
            np.testing.assert_array_equal(out, expected)
            found += 1
    assert 50 < found < 200, found


@pytest.mark.parametrize("angle", [0, 20, 45, 70, 90])
def test_a_wire_is_a_long_thin_line_and_a_lit_band_is_not(angle):
    """A metal frame's wire catching the light is a pixel or so of the test's grid thick (1.0-1.6 on the
    webcam clip); the band of lit skin between a dark frame and the lid's crease is as long and as bright
    against both sides, but 2.4-2.7: only the wire is held over the face's own features. Straight or
    slanted alike (a slanted line's box is square, so thickness is taken along its diagonal). OpenCV's
    thickness 2 draws 3 pixels, 3 draws 5."""
    def line(thickness: int, half_length: float = 9.0) -> np.ndarray:
        score = np.zeros((60, 60), np.uint8)
        dx, dy = half_length * np.cos(np.radians(angle)), half_length * np.sin(np.radians(angle))
        cv2.line(score, (int(round(30 - dx)), int(round(30 - dy))), (int(round(30 + dx)), int(round(30 + dy))),
                 200, thickness, cv2.LINE_8)
        return score

    for thickness, is_wire in [(1, True), (2, False), (3, False)]:
        found = occlusion_pixels.long_lines(line(thickness))
        assert (found is not None) == is_wire, f"a {thickness}-pixel line at {angle} degrees"
    assert occlusion_pixels.long_lines(line(1, 2.0)) is None, "5 pixels long: a glint, not a wire"
