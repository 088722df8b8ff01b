"""Strong make-up of a hue no skin has (a blue, green or purple eyeshadow) is the face's own: the black eye
is painted over it, and a microphone or a cup that comes over it is still held back.

The eyeshadow is laid on the portrait's left upper lid, from the lid's edge to the brow, as make-up is: a
soft-edged layer that keeps the lid's shading. Before, the occlusion test took it for something covering
the skin (its colour score over the cap a broad feature may have) and the bruise stopped at the eyeshadow.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from occluders import composite, skin_colour
from test_occlusion import paint

from arfilter.core.types import Face
from arfilter.render.packs import load_overlay
from arfilter.render.renderer import Renderer

UPPER_LID = [263, 466, 388, 387, 386, 385, 384, 398, 362]  # the subject's left eye, its upper lid's edge
BROW_EDGE = [285, 295, 282, 283, 276]  # the left brow's lower edge, from the nose out
SHADOWS = {"blue": (200, 90, 40), "green": (60, 160, 60), "purple": (150, 40, 160)}  # BGR


def made_up(portrait: np.ndarray, landmarks: np.ndarray, bgr: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The portrait with an eyeshadow of ``bgr`` on its left upper lid, and the lid's mask (bool)."""
    outline = np.round(np.vstack([landmarks[UPPER_LID, :2], landmarks[BROW_EDGE, :2]])).astype(np.int32)
    mask = np.zeros(portrait.shape[:2], np.uint8)
    cv2.fillPoly(mask, [outline], 255)
    mask = cv2.erode(mask, np.ones((5, 5), np.uint8))
    soft = cv2.GaussianBlur(mask, (0, 0), 3).astype(np.float32)[..., None] / 255.0
    shading = cv2.cvtColor(portrait, cv2.COLOR_BGR2GRAY).astype(np.float32)[..., None] / 255.0
    shadow = np.array(bgr, np.float32) * (0.6 + 0.5 * shading)
    out = portrait.astype(np.float32) * (1.0 - 0.75 * soft) + shadow * 0.75 * soft
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), mask > 0


@pytest.fixture(scope="module")
def black_eye():
    return load_overlay("black_eye_left")


@pytest.mark.parametrize("hue", sorted(SHADOWS))
def test_the_black_eye_is_painted_over_coloured_eyeshadow(mesh, black_eye, portrait, portrait_landmarks, hue):
    """Over eight frames of the made-up face (its memory as in a live session), the bruise keeps at least
    80 % of its paint on the eyeshadow (0.2-0.3 % before: it stopped at the make-up's edge)."""
    frame, lid = made_up(portrait, portrait_landmarks, SHADOWS[hue])
    face = Face(portrait_landmarks, face_id=0)
    with_handling, without = Renderer(mesh, black_eye), Renderer(mesh, black_eye, occlusion=False)
    for _ in range(8):
        drawn = with_handling(frame, (face,))
    full = paint(without(frame, (face,)), frame)[lid].sum()
    kept = paint(drawn, frame)[lid].sum() / full
    assert kept > 0.8, f"{hue} eyeshadow: the bruise keeps {kept:.1%} of its paint there"


@pytest.mark.parametrize("kind", ["mic", "cup"])
@pytest.mark.parametrize("hue", ["blue", "purple"])
def test_a_microphone_or_a_cup_over_the_eyeshadow_is_still_held_back(mesh, black_eye, portrait, portrait_landmarks,
                                                                      hue, kind):
    """The make-up's whole colour score counts as usual only while its chroma stays the make-up's: a grey
    microphone or a white cup coming over it changes that, and takes no more than 5 % of the paint."""
    frame, _ = made_up(portrait, portrait_landmarks, SHADOWS[hue])
    face = Face(portrait_landmarks, face_id=0)
    with_handling, without = Renderer(mesh, black_eye), Renderer(mesh, black_eye, occlusion=False)
    for _ in range(3):  # the made-up face seen clear first
        with_handling(frame, (face,))
    unit = float(np.ptp(portrait_landmarks[:468, 0]))
    centre = portrait_landmarks[UPPER_LID, :2].mean(axis=0)
    covered, mask = composite(frame, kind, centre, unit, 0.2, skin_colour(frame, portrait_landmarks))
    for _ in range(3):
        on = paint(with_handling(covered, (face,)), covered)[mask].sum()
    full = paint(without(covered, (face,)), covered)[mask].sum()
    assert full > 0, "the occluder is over the look"
    assert on / full < 0.05, f"{kind} over the {hue} eyeshadow: {on / full:.1%} of the paint lands on it"
