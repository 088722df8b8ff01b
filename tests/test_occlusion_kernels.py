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
    """The portrait bare, dimmed and brightened (the light changes; at 1.5x its skin is far brighter than
    the face's and keeps its saturation: lit skin), and with a hand, a microphone, a cup and strands of
    hair over its left eye and cheek, each for a few frames."""
    unit = float(np.ptp(landmarks[:468, 0]))
    centre = landmarks[[263, 280, 330], :2].mean(axis=0)
    frames = [portrait] * 3 + [cv2.convertScaleAbs(portrait, alpha=0.8)] * 2 + [cv2.convertScaleAbs(portrait, alpha=1.15)]
    frames += [cv2.convertScaleAbs(portrait, alpha=1.5), portrait]
    for kind in ("hand", "mic", "cup", "hair"):
        covered, _ = composite(portrait, kind, centre, unit, 0.2, skin_colour(portrait, landmarks))
        frames += [covered] * 3 + [portrait]
    # A dark glasses rim across the upper left lid, beyond both corners (occlusion_pixels.rims).
    rimmed = portrait.copy()
    width = float(np.hypot(*(landmarks[263, :2] - landmarks[362, :2])))
    middle = landmarks[386, :2] - (0.0, 0.2 * width)
    ends = [tuple(np.round(middle + (side * 0.9 * width, 0.0)).astype(int)) for side in (-1, 1)]
    cv2.line(rimmed, ends[0], ends[1], (30, 25, 25), 2)
    return frames + [rimmed] * 2 + [portrait]


@pytest.mark.parametrize("look", ["black_eye_left", "cheek_bruise"])
def test_every_compiled_pass_matches_opencv_on_a_real_face(mesh, portrait, portrait_landmarks, monkeypatch, look):
    checked = dict.fromkeys(["colour", "reference colour", "gate", "strands", "held", "saturation", "paler", "lit",
                             "rims", "whole rims"], 0)
    colour_score, broad_saturation = occlusion.Occlusion._colour_score, occlusion._broad_saturation

    def colour(ycc, skin, reference=None):
        result = colour_score(ycc, skin, reference)
        np.testing.assert_array_equal(result, opencv_version.colour_score(ycc, skin, reference))
        checked["colour" if reference is None else "reference colour"] += 1
        y, cr, cb = cv2.split(ycc)
        lit = (y > skin[0]) & (opencv_version.saturation_of(y, cr, cb) >= occlusion.LIT_SATURATION
                               * occlusion_pixels.saturation_share(skin))
        checked["lit"] += int(np.count_nonzero(lit) > 100)
        return result

    def saturation(ycc, skin, valid):
        result = broad_saturation(ycc, skin, valid)
        np.testing.assert_array_equal(result, opencv_version.broad_saturation(ycc, skin, valid))
        checked["saturation"] += 1
        checked["paler"] += int(np.count_nonzero((result > 0) & (result < 200)) > 0)
        return result

    gate = occlusion.Occlusion.gate

    def gated(self, face_id, region, own=None, strands=None, usual=None, own_lines=None, eye_width=0.0):
        result = gate(self, face_id, region, own, strands, usual, own_lines, eye_width)
        skin = self._faces[face_id].skin
        np.testing.assert_array_equal(result, opencv_version.gate(skin, region, own, strands, usual, own_lines,
                                                                  eye_width))
        checked["gate"] += 1
        y = cv2.extractChannel(cv2.cvtColor(region, cv2.COLOR_BGR2YCrCb), 0)  # the brightness the gate reads
        line = opencv_version.lines_that_count(cv2.morphologyEx(y, cv2.MORPH_BLACKHAT, occlusion_pixels._LINE),
                                               occlusion_pixels.gate_tables(skin)[3], occlusion_pixels.LINE_LENGTH)
        found = None if own_lines is None else opencv_version.rims(line, own_lines, eye_width)
        checked["rims"] += found is not None
        if found is not None:  # and more of them where the wider black-hat joins them (whole_rims)
            whole = opencv_version.whole_rims(found, y, occlusion_pixels.gate_tables(skin)[3], own_lines)
            checked["whole rims"] += cv2.countNonZero(whole) > cv2.countNonZero(found)
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
    # One more against a reference on the first frame: where a shine is only brighter skin.
    assert checked["reference colour"] - 1 == checked["gate"] == frames == checked["saturation"] - 1, checked
    assert checked["paler"] > frames // 2, checked  # parts of this skin are paler than its mean
    assert checked["strands"] >= 1 and checked["held"] >= 3, checked  # scored beside strands and occluders
    assert checked["lit"] >= 1, checked  # skin in more light scored too (occlusion.LIT_SATURATION)
    if look == "black_eye_left":  # a long dark line over the upper lid, away from its edge (occlusion_pixels.rims)
        assert checked["rims"] >= 2 and checked["whole rims"] >= 2, checked


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
            none = zero.repeat(16, 0).repeat(16, 1)
            occlusion_kernels.gate_pixels(ycc, none, none, none, np.float32(0.0), tables, occlusion_pixels.CHROMA,
                                          *occlusion_pixels.grey_ramp(skin, ramp), zero, False, zero, False, zero,
                                          False, 0, zero, False, out, np.empty_like(out))
            np.testing.assert_array_equal(out, cv2.bitwise_not(cv2.dilate(expected, np.ones((3, 3), np.uint8))))


def test_the_growth_by_a_pixel_matches_opencv_at_every_size_and_border():
    rng = np.random.default_rng(5)
    for shape in [(1, 1), (1, 7), (2, 2), (3, 5), (37, 81), (64, 64)]:
        values = rng.integers(0, 256, shape, dtype=np.uint8)
        out = np.empty_like(values)
        occlusion_kernels._dilate3(values, out)
        np.testing.assert_array_equal(out, cv2.dilate(values, np.ones((3, 3), np.uint8)))


def test_line_parts_match_opencvs_connected_components():
    """Random sparse lines, bands and specks (8-connected across diagonals too) at the region sizes the
    gate sees, through a ramp's table (so a part is where the score is above 0) or as scores themselves,
    with the peaks, lengths and thicknesses the gate asks for and around them."""
    rng = np.random.default_rng(9)
    ramp = np.clip((np.arange(256) - 40.0) * 4.0, 0, 255).astype(np.uint8)  # 0 up to 40, 255 from 104
    wire = occlusion_pixels.WIRE_LENGTH
    asks = [(np.arange(256, dtype=np.uint8), 1, wire, wire, occlusion_pixels.WIRE_THICKNESS),
            (ramp, 255, occlusion_pixels.LINE_LENGTH, occlusion_pixels.STRAND_LENGTH, np.inf),
            (ramp, 255, 1, occlusion_pixels.STRAND_LENGTH, np.inf), (ramp, 128, 3, 8, 1.5)]
    found = dict.fromkeys(range(len(asks)), 0)
    for case in range(400):
        height, width = rng.integers(1, 90, size=2)
        values = np.zeros((height, width), np.uint8)
        for _ in range(rng.integers(0, 6)):
            x0, y0 = rng.integers(0, width), rng.integers(0, height)
            x1, y1 = x0 + rng.integers(-12, 13), y0 + rng.integers(-12, 13)
            cv2.line(values, (int(x0), int(y0)), (int(x1), int(y1)), int(rng.integers(1, 256)), int(rng.integers(1, 4)))
        values[rng.random((height, width)) < 0.02] = rng.integers(1, 256)  # specks
        ask = case % len(asks)
        table, reaching, length, anyway, thickest = asks[ask]
        expected = opencv_version.line_parts(values, table, reaching, length, anyway, thickest)
        out = np.empty_like(values)
        kept = occlusion_kernels.line_parts(values, table, reaching, length, anyway, thickest, out)
        assert kept == (expected is not None)
        np.testing.assert_array_equal(out, np.zeros_like(values) if expected is None else expected)
        found[ask] += expected is not None
    assert all(10 < count < 100 for count in found.values()), found


def test_a_line_counts_where_it_is_deep_somewhere_along_it_or_long():
    """A strand's soft edge is shallower than its core: kept, with its core; so is a strand or a frame's
    rim as long as STRAND_LENGTH, however deep. A wrinkle's fold under the paint (as deep as the ramp's
    middle all along, shorter) and a deep speck shorter than LINE_LENGTH are not."""
    table = occlusion_pixels.gate_tables(np.array([150.0, 150.0, 110.0, 5.0, 5.0], np.float32))[3]
    full, middle = int(np.argmax(table == 255)), int(np.argmax(table >= 128))
    short = occlusion_pixels.STRAND_LENGTH - 2
    depth = np.zeros((50, 40), np.uint8)
    cv2.line(depth, (2, 5), (2 + short, 5), middle, 1)
    depth[5, 6] = full  # a strand: deep at its core
    cv2.line(depth, (2, 15), (2 + short, 15), middle, 1)  # a fold: as deep as the strand's edge, nowhere deeper
    cv2.line(depth, (2, 25), (2 + occlusion_pixels.LINE_LENGTH - 2, 25), full, 1)  # a deep speck
    cv2.line(depth, (2, 35), (2 + occlusion_pixels.LINE_LENGTH - 1, 35), full, 1)  # just long enough
    cv2.line(depth, (2, 45), (1 + occlusion_pixels.STRAND_LENGTH, 45), middle, 1)  # long: a strand
    kept = occlusion_pixels.lines_that_count(depth, table, occlusion_pixels.LINE_LENGTH)
    for row, counts in [(5, True), (15, False), (25, False), (35, True), (45, True)]:
        assert np.array_equal(kept[row], depth[row] if counts else np.zeros_like(depth[row])), row
        assert depth[row].any()


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
