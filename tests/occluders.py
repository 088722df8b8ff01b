"""Synthetic things in front of a face, with known masks: for the occlusion tests and benchmark.

Each drawer paints one occluder into a BGR layer and a float alpha (0-1) at
a given centre and scale (``unit``: the face's width in pixels), so the
ground truth of what covers the face is exact. Kinds:

* ``hand``: a palm and four fingers with a thumb, coloured like the face's own
  skin (the hardest case: the same chroma), shaded across and with darker gaps
  between the fingers; flat, or with skin's grain (``grain``: the face's own,
  :func:`skin_grain`, times a factor), as a real hand at a webcam's resolution;
* ``mic``: a dark grey handle and a round head with a grille;
* ``cup``: a bright, light grey-white rounded body with a handle, shaded;
* ``hair``: strands, thin dark curves hanging down over the face.

``composite`` lays one over a frame and returns the picture and the mask
(alpha >= 0.5). Edges are softened by a 1-pixel blur as a camera would.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from arfilter.tracking.mesh import LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR

KINDS = ("hand", "mic", "cup", "hair")
# Cheeks and forehead: where the face's own skin colour is read for the hand.
SKIN_LANDMARKS = (50, 280, 101, 330, 151)


def skin_colour(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Median BGR of 7x7 patches on the cheeks and forehead (float32)."""
    height, width = image.shape[:2]
    patches = []
    for index in SKIN_LANDMARKS:
        x, y = np.round(landmarks[index, :2]).astype(int)
        if 3 <= x < width - 3 and 3 <= y < height - 3:
            patches.append(image[y - 3:y + 4, x - 3:x + 4].reshape(-1, 3))
    return np.median(np.concatenate(patches), axis=0).astype(np.float32)


def skin_grain(image: np.ndarray, landmarks: np.ndarray) -> float:
    """The face's own skin grain: the standard deviation of its cheeks' and forehead's brightness
    about their 2-pixel Gaussian blur (15x15 patches at :data:`SKIN_LANDMARKS`), in levels."""
    height, width = image.shape[:2]
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    fine = grey - cv2.GaussianBlur(grey, (0, 0), 2.0)
    spreads = []
    for index in SKIN_LANDMARKS:
        x, y = np.round(landmarks[index, :2]).astype(int)
        if 7 <= x < width - 7 and 7 <= y < height - 7:
            spreads.append(float(fine[y - 7:y + 8, x - 7:x + 8].std()))
    return float(np.median(spreads)) if spreads else 0.0


def _grain(shape: tuple[int, int], levels: float, centre: np.ndarray, unit: float, angle: float) -> np.ndarray:
    """Zero-mean noise a pixel across (a 1-pixel Gaussian blur of white noise), ``levels`` standard
    deviation: skin's pores and fine creases as a camera sees them. The same pattern every frame, moved
    and turned with the hand (``centre``, ``angle``), as a real hand's skin moves with it."""
    side = int(2 * unit) + 8
    noise = cv2.GaussianBlur(np.random.default_rng(7).standard_normal((side, side)).astype(np.float32), (0, 0), 1.0)
    noise *= np.float32(levels / max(float(noise.std()), 1e-6))
    turn = cv2.getRotationMatrix2D((side / 2.0, side / 2.0), -math.degrees(angle), 1.0)
    turn[:, 2] += np.asarray(centre, np.float64) - side / 2.0
    return cv2.warpAffine(noise, turn, (shape[1], shape[0]), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _rotate(points: np.ndarray, angle: float, centre: np.ndarray) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return (points @ np.array([[c, s], [-s, c]], np.float32)) + centre


def _capsule(mask: np.ndarray, a: np.ndarray, b: np.ndarray, width: float, value: int = 255) -> None:
    cv2.line(mask, tuple(int(v) for v in np.round(a)), tuple(int(v) for v in np.round(b)), value,
             max(1, int(round(width))))


def draw_hand(shape: tuple[int, int], centre: np.ndarray, unit: float, angle: float,
              skin: np.ndarray, grain: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A hand (palm up the picture, fingers spread a little) in the face's skin colour; ``grain``:
    the standard deviation (levels) of the skin's grain over it (0: flat)."""
    height, width = shape
    body = np.zeros((height, width), np.uint8)
    gaps = np.zeros((height, width), np.uint8)
    palm = _rotate(np.array([[0.0, 0.0]], np.float32), angle, centre)[0]
    axes = (int(0.24 * unit), int(0.28 * unit))
    cv2.ellipse(body, tuple(int(v) for v in palm), axes, math.degrees(angle), 0, 360, 255, -1)
    finger_w = 0.1 * unit
    for k, (dx, length) in enumerate(((-0.165, 0.36), (-0.055, 0.42), (0.055, 0.40), (0.165, 0.32))):
        base = np.array([[dx * unit, -0.15 * unit], [dx * unit * 1.25, -(0.15 + length) * unit]], np.float32)
        a, b = _rotate(base, angle, centre)
        _capsule(gaps, a, b, finger_w + max(2.0, 0.025 * unit))
        _capsule(body, a, b, finger_w)
    thumb = _rotate(np.array([[0.2 * unit, 0.05 * unit], [0.42 * unit, -0.12 * unit]], np.float32), angle, centre)
    _capsule(gaps, thumb[0], thumb[1], finger_w * 1.15 + max(2.0, 0.025 * unit))
    _capsule(body, thumb[0], thumb[1], finger_w * 1.15)
    alpha = np.maximum(body, gaps).astype(np.float32) / 255.0
    # Shading across the hand (lit from one side, 0.72 .. 1.08 of the face's skin) and dark gaps.
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    along = ((xs - centre[0]) * math.cos(angle) + (ys - centre[1]) * math.sin(angle)) / (0.5 * unit)
    shade = np.clip(0.9 + 0.18 * along, 0.72, 1.08)
    shade = np.where(body > 0, shade, 0.55 * shade)
    layer = skin[None, None, :] * shade[..., None]
    if grain > 0:
        layer = layer + _grain((height, width), grain, centre, unit, angle)[..., None]
    return np.clip(layer, 0, 255).astype(np.uint8), alpha


def draw_mic(shape: tuple[int, int], centre: np.ndarray, unit: float, angle: float,
             skin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A dark handheld microphone: the head at ``centre``, the handle going down and away."""
    height, width = shape
    mask = np.zeros((height, width), np.uint8)
    layer = np.zeros((height, width, 3), np.uint8)
    end = _rotate(np.array([[0.0, 0.9 * unit]], np.float32), angle, centre)[0]
    _capsule(mask, centre, end, 0.13 * unit)
    layer[mask > 0] = (42, 42, 46)
    head = np.zeros_like(mask)
    cv2.circle(head, tuple(int(v) for v in np.round(centre)), int(0.15 * unit), 255, -1)
    layer[head > 0] = (70, 70, 74)
    grille = np.zeros_like(mask)
    step = max(3, int(0.04 * unit))
    for offset in range(-int(0.15 * unit), int(0.15 * unit), step):
        cv2.line(grille, (int(centre[0]) + offset, 0), (int(centre[0]) + offset, height), 255, 1)
    layer[(head > 0) & (grille > 0)] = (30, 30, 33)
    return layer, np.maximum(mask, head).astype(np.float32) / 255.0


def draw_cup(shape: tuple[int, int], centre: np.ndarray, unit: float, angle: float,
             skin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A bright cup held up: a light rounded body and its handle, shaded from one side."""
    height, width = shape
    mask = np.zeros((height, width), np.uint8)
    half = np.array([0.2 * unit, 0.26 * unit])
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float32) * half
    polygon = np.round(_rotate(corners, angle * 0.3, centre)).astype(np.int32)
    cv2.fillPoly(mask, [polygon], 255)
    cv2.ellipse(mask, tuple(int(v) for v in np.round(centre + [0.0, -0.26 * unit])),
                (int(0.2 * unit), int(0.05 * unit)), 0, 0, 360, 255, -1)
    handle = _rotate(np.array([[0.26 * unit, 0.0]], np.float32), angle * 0.3, centre)[0]
    cv2.ellipse(mask, tuple(int(v) for v in handle), (int(0.09 * unit), int(0.12 * unit)), 0, 0, 360, 255,
                max(2, int(0.04 * unit)))
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    shade = np.clip(1.0 - 0.12 * (xs - centre[0]) / (0.25 * unit), 0.82, 1.0)
    layer = np.clip(np.array([232, 236, 240], np.float32)[None, None, :] * shade[..., None], 0, 255)
    return layer.astype(np.uint8), mask.astype(np.float32) / 255.0


def draw_hair(shape: tuple[int, int], centre: np.ndarray, unit: float, angle: float,
              skin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Strands of dark hair hanging from above ``centre`` down over it, swaying with ``angle``."""
    height, width = shape
    mask = np.zeros((height, width), np.uint8)
    layer = np.zeros((height, width, 3), np.uint8)
    rng = np.random.default_rng(7)
    thickness = max(1, int(round(unit / 120)))
    for k in range(9):
        x0 = centre[0] + (k - 4) * 0.05 * unit
        top = np.array([x0, centre[1] - 0.5 * unit])
        mid = np.array([x0 + (0.12 + 0.05 * rng.standard_normal()) * unit * math.sin(angle * 3 + k),
                        centre[1]])
        bottom = np.array([x0 + 0.08 * unit * math.cos(angle * 2 + k), centre[1] + 0.45 * unit])
        t = np.linspace(0.0, 1.0, 40)[:, None]
        curve = (1 - t) ** 2 * top + 2 * (1 - t) * t * mid + t ** 2 * bottom
        strand = np.zeros_like(mask)
        cv2.polylines(strand, [np.round(curve).astype(np.int32)], False, 255, thickness)
        shade = np.array([22, 26, 34], np.float32) * (1.0 + 0.5 * rng.random())
        layer[strand > 0] = shade.astype(np.uint8)
        mask = np.maximum(mask, strand)
    return layer, mask.astype(np.float32) / 255.0


DRAWERS = {"hand": draw_hand, "mic": draw_mic, "cup": draw_cup, "hair": draw_hair}


def composite(image: np.ndarray, kind: str, centre: np.ndarray, unit: float, angle: float,
              skin: np.ndarray, grain: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``image`` with the occluder laid over it, and the occluder's mask (bool, alpha >= 0.5);
    ``grain``: a hand's (:func:`draw_hand`)."""
    extra = {"grain": grain} if kind == "hand" and grain > 0 else {}
    layer, alpha = DRAWERS[kind](image.shape[:2], np.asarray(centre, np.float32), unit, angle, skin, **extra)
    alpha = cv2.GaussianBlur(alpha, (3, 3), 0.7)
    out = image.astype(np.float32) * (1.0 - alpha[..., None]) + layer.astype(np.float32) * alpha[..., None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), alpha >= 0.5


# A frame's dark stretch: a thin line this much darker than both sides of it (a black-hat of the HSV
# brightness over DARK_STRETCH_SIZE px), touching the grey frame, at least DARK_STRETCH_SHARE of the face's
# width long (its bounding box's long side): a top rim spans a third to a half of the face; a brow's edge
# against the rim, the temples and the nose pads are a sixth.
DARK_STRETCH_DEPTH = 20
DARK_STRETCH_SIZE = 5
DARK_STRETCH_SHARE = 0.25


def glasses_mask(frame: np.ndarray, landmarks: np.ndarray, area: np.ndarray) -> np.ndarray:
    """The glasses frame's pixels inside ``area``, by a fixed rule that knows nothing of the detector.

    Skin is saturated (orange); a frame (metal or plastic wire) is grey and stands out from the skin
    around it: a pixel is frame where its HSV saturation is under 0.72x the median saturation of the
    15x15 pixels around it and its brightness differs from theirs by more than 10 levels, outside the
    eyes (their contours grown by 3 px: the eye white is grey too).

    A thin metal rim is also frame where it is dark, across a lit lid or brow. There a dark pixel's HSV
    saturation is high, and the grey rule misses it (the webcam subject's top rims, and their temples).
    So a thin line far darker than both sides of it, long, and touching the grey frame
    (:func:`dark_stretches`) is frame too. Lash lines lie in the eyes; a crease or a brow's edge counts only
    where it touches the frame and is as long as a rim (on glasses_smile's silver frames: nowhere).
    """
    hsv = cv2.cvtColor(frame, cv2.COLOR_BGR2HSV)
    eyes = np.zeros(frame.shape[:2], np.uint8)
    for contour in (LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR):
        cv2.fillPoly(eyes, [np.round(landmarks[list(contour), :2]).astype(np.int32)], 255)
    outside_eyes = ~cv2.dilate(eyes, np.ones((7, 7), np.uint8)).astype(bool)
    grey = grey_frame(hsv) & outside_eyes
    least = DARK_STRETCH_SHARE * float(np.ptp(landmarks[:, 0]))
    return (grey | (dark_stretches(hsv[..., 2], grey, least) & outside_eyes)) & area


def grey_frame(hsv: np.ndarray) -> np.ndarray:
    """bool: pixels of an HSV picture under 0.72x the median saturation of the 15x15 around them, whose
    brightness differs from theirs by more than 10 levels: grey things standing out from the skin."""
    sat, val = hsv[..., 1].astype(np.float32), hsv[..., 2].astype(np.float32)
    local_sat = cv2.medianBlur(hsv[..., 1], 15).astype(np.float32)
    local_val = cv2.medianBlur(hsv[..., 2], 15).astype(np.float32)
    return (sat < 0.72 * local_sat) & (np.abs(val - local_val) > 10)


def dark_stretches(brightness: np.ndarray, frame: np.ndarray, least: float) -> np.ndarray:
    """bool: thin lines far darker than both sides of them (:data:`DARK_STRETCH_DEPTH` levels, a black-hat over
    :data:`DARK_STRETCH_SIZE` px), at least ``least`` px long, that touch ``frame`` (bool, grown by 2 px): the
    frame's dark stretches."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (DARK_STRETCH_SIZE, DARK_STRETCH_SIZE))
    lines = cv2.compare(cv2.morphologyEx(brightness, cv2.MORPH_BLACKHAT, kernel), DARK_STRETCH_DEPTH, cv2.CMP_GT)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
    touching = np.zeros(count, bool)
    touching[np.unique(labels[cv2.dilate(frame.view(np.uint8), np.ones((5, 5), np.uint8)) > 0])] = True
    keep = touching & (np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) >= least)
    keep[0] = False
    return keep[labels]
