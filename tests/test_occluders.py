"""The occlusion bench's own reference for a glasses frame (``occluders.glasses_mask``), on a real face.

The bench leaves the frame's pixels out of "paint kept elsewhere", by a fixed rule that knows nothing of
the renderer: grey pixels that stand out from the skin, and (since a dark metal rim across a lit lid is
not grey in HSV: a dark pixel's saturation is high) thin dark lines that continue the grey frame. Drawn here
on the bare portrait, where the truth is known: a grey side rim, a dark top rim that touches it, a dark
line as long that does not (a crease, a strand) and a short dark one that touches it (a nose pad's edge).
"""

from __future__ import annotations

import cv2
import numpy as np

from occluders import DARK_STRETCH_SHARE, dark_stretches, glasses_mask, grey_frame


def _line(shape: tuple[int, int], start: tuple[float, float], end: tuple[float, float]) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.line(mask, tuple(int(round(v)) for v in start), tuple(int(round(v)) for v in end), 255, 2)
    return mask > 0


def test_a_frames_dark_stretch_is_frame_and_other_dark_lines_are_not(portrait, portrait_landmarks):
    points = portrait_landmarks[:, :2]
    width = float(np.ptp(points[:, 0]))
    outer, inner = points[263], points[362]  # the subject's left eye's corners
    eye_y = float((outer[1] + inner[1]) / 2)
    side_x = float(outer[0]) + 0.08 * width
    top_y, bottom_y = eye_y - 0.08 * width, eye_y + 0.10 * width
    shape = portrait.shape[:2]
    grey = _line(shape, (side_x, top_y), (side_x, bottom_y))
    top_rim = _line(shape, (side_x, top_y), (side_x - 0.35 * width, top_y))
    crease = _line(shape, (float(outer[0]) - 0.40 * width, eye_y - 0.35 * width),  # across the forehead
                   (float(outer[0]) - 0.05 * width, eye_y - 0.35 * width))
    pad = _line(shape, (side_x, bottom_y), (side_x - 0.12 * width, bottom_y))
    assert 0.12 < DARK_STRETCH_SHARE < 0.35  # the drawn lengths lie on both sides of the rule's
    picture = portrait.copy()
    picture[grey] = (225, 225, 225)
    for dark in (top_rim, crease, pad):
        picture[dark & ~grey] = (5, 10, 20)  # dark and warm, as a metal rim over a lid is: not grey in HSV
    found = glasses_mask(picture, portrait_landmarks, np.ones(shape, bool))
    share = {name: float(found[mask & ~grey].mean()) for name, mask in
             {"top rim": top_rim, "crease": crease, "pad": pad}.items()}
    assert found[grey].mean() > 0.5, "the grey rim is frame"
    assert share["top rim"] > 0.8, share
    assert share["crease"] < 0.05 and share["pad"] < 0.05, share
    # With no glasses the grey rule finds the brows', the folds' and the hair's edges (18 000 px on this
    # portrait); the dark lines that touch them add a quarter to that (4 400 px): the bench's reference is
    # for faces that wear glasses, where that is what the frame touches.
    hsv = cv2.cvtColor(portrait, cv2.COLOR_BGR2HSV)
    grey_found = grey_frame(hsv)
    added = dark_stretches(hsv[..., 2], grey_found, DARK_STRETCH_SHARE * width) & ~grey_found
    assert added.sum() < 0.3 * grey_found.sum()
