"""The occlusion test per screen pixel under the paint: what a texel is too coarse to see.

A glasses frame or a strand of hair is thinner than a texel of the look's UV box and mixes with the skin
beside it there, so only the screen sees it. :func:`gate` judges each pixel the paint lands on against
the face's skin statistics (:class:`~arfilter.render.occlusion.Occlusion` learns them per texel): by its
chroma, by being far greyer or far darker than any skin, or by being a thin line far darker (a strand, a
dark frame) or far brighter (a metal frame catching the light) than the pixels on both sides of it.
Pure: arrays in, an array out; the per-texel state lives in :mod:`arfilter.render.occlusion`.
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache

import cv2
import numpy as np

from arfilter.render import occlusion_kernels
from arfilter.render.regions import LEFT_BROW_CONTOUR, RIGHT_BROW_CONTOUR
from arfilter.tracking.mesh import LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR

GATE_SIGMAS = (3.0, 5.0)  # per pixel, stricter than per texel: a strand mixes with the skin beside it
GATE_GREY = (0.7, 0.45)  # saturation / the skin's: score 0 at the first, 255 at the second
GATE_DARKEST = 24  # brightness below which saturation is read as at this brightness (noise in the dark)
GATE_HIGHLIGHT = 1.15  # brightness / the skin's above which a grey pixel is taken for a highlight on skin
GATE_DARK = (0.33, 0.2)  # brightness / the skin's: far darker than any shadow on this face (hair, a frame)
GATE_LINE = (0.3, 0.5)  # a thin line's depth / the skin's brightness: score 0 at the first, 255 at the second
# A thin line far brighter than the pixels on both sides of it (its height / the skin's brightness): a metal
# frame catching the light beside a shadowed eye is no brighter than the skin's mean, nor much greyer, but
# stands out (0.2-0.6 of the skin on the webcam's right eye). Frame pixels changed under the black eyes
# (bench_occlusion.py): 6.5 / 17.2 -> 1.4 / 2.2 % on glasses_smile, 5.1 / 35.7 -> 3.6 / 31.1 % on the webcam.
# From 0.15 it held skin's own thin highlights (a wrinkle's lit edge: the portrait kept 93.9 % beside a cup).
GATE_BRIGHT_LINE = (0.3, 0.45)
# A thin line (dark or bright) counts on parts at least STRAND_LENGTH long (a strand, a frame's rim: by depth
# alone, strands over a face's own dark features took 32 % of the paint on them, 27 % with length too), and
# on shorter parts only where it reaches the ramp's end somewhere (hysteresis), and if dark,
# at least LINE_LENGTH long: a wrinkle's folds and lit ridges are deep or bright only here and there along
# them, and a fold's deepest speck is short; under a lens they held paint back in dots all over Grace
# Hopper's black eye (the README's gallery: 87.3 -> 98.2 % kept under her lens). A bright one counts however
# short where it is far greyer than the skin (under GATE_GREY's start): metal or clear plastic catching the light
# (a nose pad: frame pixels changed on the glasses clip's right eye, 1.8 % -> 2.5 % without). On the bench's
# younger, smaller faces (bench_occlusion.py) little moves: paint kept elsewhere +0.0-0.4 points, on hands and
# hair within 0.1; frame pixels changed under the glasses clips' black eyes 1.5 / 2.2 -> 1.6 / 2.4 % and
# 3.3 / 7.9 -> 3.4 / 8.2 % on the webcam.
LINE_LENGTH = 4
STRAND_LENGTH = 12
# A thin bright line this long (pixels of the per-pixel test's grid, ~180 across a face) is held over the face's own
# features too (a crease, the lashes' line); a lid's glint is shorter. The webcam's right wire: 31.1 -> 7.8 %.
WIRE_LENGTH = 6
# ... and thin (pixels per pixel of its box's diagonal): a band of lit skin between a dark frame and the lid's
# crease is as long, but 2.35-2.6 thick against a wire's 0.7-1.75; held, it cut a skin-coloured notch into the
# webcam subject's bruised lid. Kept (bench_occlusion.py): webcam black eye 83.5 -> 84.9 %, the talking
# woman's 84.4 -> 86.4 % (hair on her eye 35.1 -> 36.4 %); frame changed under the webcam's left eye 1.7 -> 3.3 %.
WIRE_THICKNESS = 2.0
# Beside strands the memory of the skin found (SkinMemory.near_strands: a texel around them), a pixel darker
# than this / the skin's brightness is part of one: its blurred edge too, which is half skin.
STRAND_PIXEL = 0.5
# A thin dark line over the face's own broad features, over an upper lid away from its edge and the brow
# (own_lines_zone), at least this long (a share of the eye's width, corner to corner), is a glasses rim
# there from the first frame, and holds paint back whatever its depth: over the webcam subject's lids its
# top rims were tinted purple (frame pixels changed under the black eyes, bench_occlusion.py: 28.6 / 20.4 ->
# 2.0 / 10.7 %). A lid's crease folding in a grimace is shorter (the talking woman's: 0.41 of her eye's width;
# held at 0.4, it cut a skin-coloured notch into her bruised lid).
RIM_LENGTH = 0.5
# A glasses rim is looked for over the upper lids (up to this share of the eye's width, corner to corner, above
# the lid's edge, and as far beyond each corner), where the top rims cross the lid's crease. Elsewhere the
# face's own long dark lines are its own: the lips' line, a nostril's edge, the fold beside the nose (with rims
# looked for over the whole face, the still portrait's whole-face look lost 1.3 % of its painted pixels along
# them, bench_occlusion.py's flicker table), the wrinkles under Grace Hopper's eyes (a skin-coloured crack
# through the README gallery's black eye when rims were looked for all around the eyes).
GLASSES_REACH = 0.6
# How far from the lids' edges the face's own thin dark lines lie: the lashes' line and eyeliner. A glasses
# rim across the lid's crease lies beyond (the webcam clip: 0.15-0.25 of the eye's width). At 0.1 the webcam's
# right eye kept a rim tinted where it ran along the crease (bench_occlusion.py: frame pixels changed 14.3 %,
# against 8.1 % at 0.07, with lines of any length held).
LASH_REACH = 0.07
# Each upper lid's edge from its inner corner to its outer one, and its brow's outline; the lids' edges and the
# brows' outlines (where the face's own thin lines are) as one index, and where each outline lies in it.
_UPPER_LIDS = np.array([contour[8:] + contour[:1] for contour in (LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR)])
_BROWS = np.array([LEFT_BROW_CONTOUR, RIGHT_BROW_CONTOUR])
_OUTLINES = (LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR, LEFT_BROW_CONTOUR, RIGHT_BROW_CONTOUR)
_OWN_LINES = np.concatenate(_OUTLINES)
_OWN_LINES_PARTS = tuple(slice(end - len(outline), end)
                         for outline, end in zip(_OUTLINES, itertools.accumulate(map(len, _OUTLINES))))
_KERNEL = np.ones((3, 3), np.uint8)
_LINE = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))  # screen lines thinner than this are "thin"
# Where a rim runs beside the lid's crease shadow, the two dark together are wider than _LINE: the black-hat
# does not see the rim there, and that stretch was tinted purple (the webcam's right eye). Over the upper lids,
# the thin dark lines a black-hat this wide sees are the rim's too where they are joined to a rim found
# (whole_rims). Frame pixels changed under the webcam's black eyes (bench_occlusion.py): 2.0 / 10.7 -> 1.8 / 8.5 %
# (7x7: 1.9 / 9.5 %); paint on occluders and kept elsewhere moved by 0.1 point at most. Where no rim is found
# (the talking woman's creases, Grace Hopper's lids) nothing changes. It costs ~0.1 ms a face wearing glasses.
_WIDE_LINE = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
_JOINED = np.zeros(256, np.uint8)  # a wide line's pixel (1) and a rim's (2), as line_parts scores them
_JOINED[1], _JOINED[2] = 1, 255
# Measure 0 (a level / the skin's brightness) serves both the pixel's brightness and a line's depth.
GATE_RAMPS = occlusion_kernels.ramps((1, 2, 0, 0, 0), GATE_SIGMAS, GATE_SIGMAS, GATE_DARK, GATE_LINE,
                                     GATE_BRIGHT_LINE)
CHROMA = occlusion_kernels.chroma_table()  # |(Cr, Cb) - 128| of every pair, for the grey score
_NONE = np.zeros((1, 1), np.uint8)  # for arrays a kernel won't read
_SCORE = np.arange(256, dtype=np.uint8)  # a score as its own table


def gate_tables(skin: np.ndarray) -> np.ndarray:
    """uint8 (5, 256) lookup tables (level -> score 0-255) for a screen pixel's Cr, Cb and Y against this
    face's skin (Y: far darker than any shadow on it), and for how much darker and how much brighter it
    is than the pixels beside it (a thin line's depth or height, in the same units as Y)."""
    return occlusion_kernels.ramp_tables(skin, GATE_RAMPS)


def saturation_share(skin: np.ndarray) -> float:
    """The face's saturation (chroma over brightness), as :func:`occlusion_kernels.grey_score` reads a pixel's.
    Asked five times a face per frame with the same skin: remembered (numpy's hypot of scalars takes ~7 us)."""
    return _saturation_share(skin[0], skin[1], skin[2])


@lru_cache(maxsize=16, typed=True)  # typed: a float32 skin's share is not a float64 one's
def _saturation_share(luma: np.floating, cr: np.floating, cb: np.floating) -> float:
    return max(float(np.hypot(cr - 128.0, cb - 128.0)) / max(float(luma), GATE_DARKEST), 1e-3)


def grey_ramp(skin: np.ndarray, ramp: tuple[float, float]) -> tuple[np.float32, np.float32, float]:
    """How much greyer than this face's skin a pixel or texel is (:func:`occlusion_kernels.grey_score`):
    its saturation (chroma over brightness) against the skin's, on ``ramp``, as one multiply-add (its
    factor and offset), and the brightness from which it is not judged. Shadowed skin keeps its
    saturation as it darkens; highlights on shiny skin are grey but brighter than the skin."""
    scale = 255.0 / (ramp[1] - ramp[0])
    return np.float32(scale / saturation_share(skin)), np.float32(-ramp[0] * scale), GATE_HIGHLIGHT * float(skin[0])


def long_lines(score: np.ndarray) -> np.ndarray | None:
    """``score`` (uint8 per pixel) kept only on its connected parts at least :data:`WIRE_LENGTH` pixels long
    (their bounding box's long side) and at most :data:`WIRE_THICKNESS` thick; None where there are none
    (compiled: a flood fill, a tenth of ``cv2.connectedComponentsWithStats``' time on a few dozen pixels)."""
    out = np.empty_like(score)
    return out if occlusion_kernels.line_parts(score, _SCORE, 1, WIRE_LENGTH, WIRE_LENGTH, WIRE_THICKNESS,
                                               out) else None


def lines_that_count(depth: np.ndarray, table: np.ndarray, length: int) -> np.ndarray:
    """``depth`` (a black-hat's or top-hat's, uint8) where its line counts (0 elsewhere): on connected
    parts at least :data:`STRAND_LENGTH` pixels long, or at least ``length`` long where its score
    (``table``) reaches 255 somewhere."""
    out = np.empty_like(depth)
    occlusion_kernels.line_parts(depth, table, 255, length, STRAND_LENGTH, math.inf, out)
    return out


def own_lines_zone(landmarks: np.ndarray, origin: tuple[int, int], step: int,
                   shape: tuple[int, int]) -> tuple[np.ndarray | None, float]:
    """Where a face's own thin dark lines may lie on a screen region read every ``step``-th pixel from
    ``origin`` (its screen x, y; ``shape``: the region's rows and columns as read): uint8, 0 over the upper
    lids (:data:`GLASSES_REACH`), where a glasses rim crosses the crease, except along the lids' edges and
    under the brows (grown by :data:`LASH_REACH`), 255 there and everywhere else; and the wider eye's width in
    the region's pixels (``landmarks``: the face's, on the screen). Where it is 0, a long thin dark line over
    the face's own features is something in front of the face (:func:`rims`). None where no upper lid's band
    reaches the region (a cheek's or a jaw's look): it would be 255 everywhere, and no rim is looked for."""
    bands = np.empty((2, 2 * _UPPER_LIDS.shape[1] + 4, 2), np.int32)
    outlines = np.empty((_OWN_LINES.shape[0], 2), np.int32)
    eye_width = occlusion_kernels.lid_outlines(np.require(landmarks, np.float32, ["C", "W"]), _UPPER_LIDS, _BROWS,
                                               _OWN_LINES, GLASSES_REACH, float(origin[0]), float(origin[1]),
                                               float(step), bands, outlines)
    if not _reaches(bands, shape):
        return None, eye_width
    parts = [outlines[part] for part in _OWN_LINES_PARTS]
    zone = np.full(shape, 255, np.uint8)
    cv2.fillPoly(zone, bands, 0)
    cv2.fillPoly(zone, parts, 255)
    # Grown by the outlines drawn that thick (round ends): as a dilation by a disc, at a third of its cost.
    cv2.polylines(zone, parts, True, 255, 2 * max(int(round(LASH_REACH * eye_width)), 1))
    return zone, eye_width


def _reaches(polygons: np.ndarray, shape: tuple[int, int]) -> bool:
    """Whether the bounding box of ``polygons`` (int32 x, y points) overlaps a ``shape`` (rows, columns) region."""
    points = polygons.reshape(-1, 2)
    low, high = points.min(axis=0), points.max(axis=0)
    return bool(high[0] >= 0 and high[1] >= 0 and low[0] < shape[1] and low[1] < shape[0])


def rims(line: np.ndarray, own_lines: np.ndarray, eye_width: float) -> np.ndarray | None:
    """``line`` (thin dark lines that count, uint8) where it lies outside ``own_lines`` (255 where the face's
    own thin lines may be: :func:`own_lines_zone`) on parts at least :data:`RIM_LENGTH` of ``eye_width``
    (pixels) long there; None where there are none."""
    away = cv2.bitwise_and(line, cv2.bitwise_not(own_lines))
    out = np.empty_like(away)
    length = max(math.ceil(RIM_LENGTH * eye_width), 1)
    # No score reaches 256: a part is kept by its length alone.
    return out if occlusion_kernels.line_parts(away, _SCORE, 256, length, length, math.inf, out) else None


def whole_rims(found: np.ndarray, luma: np.ndarray, table: np.ndarray, own_lines: np.ndarray) -> np.ndarray:
    """uint8 255: the rims ``found`` (:func:`rims`) and the rest of them where they run beside a shadow: the
    thin dark lines a wider black-hat (:data:`_WIDE_LINE`) sees in ``luma`` (counted by ``table``, a line's
    depth -> score), over the upper lids (where ``own_lines`` is 0), joined to a rim found there. Worked out
    over the lids' bounding box only (the black-hat reads :data:`_WIDE_LINE`'s size around it)."""
    band = cv2.bitwise_not(own_lines)
    x, y, width, height = cv2.boundingRect(band)
    if width == 0:  # no upper lid in the region: no rim either
        return np.zeros(luma.shape, np.uint8)
    reach = _WIDE_LINE.shape[0] - 1  # a closing reads its kernel's radius twice over
    x0, y0 = max(x - reach, 0), max(y - reach, 0)
    around = np.ascontiguousarray(luma[y0:y + height + reach, x0:x + width + reach])
    wide = cv2.morphologyEx(around, cv2.MORPH_BLACKHAT, _WIDE_LINE)[y - y0:y - y0 + height, x - x0:x - x0 + width]
    inside = np.s_[y:y + height, x:x + width]
    marks = cv2.bitwise_and(cv2.compare(cv2.LUT(wide, table), 0, cv2.CMP_GT), band[inside])
    marks = cv2.max(cv2.min(marks, 1), cv2.multiply(cv2.min(found[inside], 1), 2))
    joined = np.empty_like(marks)
    # Every part that reaches a rim's score (255) is kept, whatever its length.
    occlusion_kernels.line_parts(marks, _JOINED, 255, 1, marks.size, math.inf, joined)
    whole = np.zeros(luma.shape, np.uint8)
    whole[inside] = cv2.compare(joined, 0, cv2.CMP_GT)
    return whole


def gate(skin: np.ndarray, region: np.ndarray, own: np.ndarray | None = None, strands: np.ndarray | None = None,
         usual: np.ndarray | None = None, own_lines: np.ndarray | None = None, eye_width: float = 0.0) -> np.ndarray:
    """uint8 per pixel of a BGR screen ``region``: 0 where it is clearly not the skin of the face whose
    statistics are ``skin`` (Y, Cr, Cb means; Cr, Cb spreads), grown by a pixel so edges keep their colour
    too. ``own``, ``strands`` and ``usual`` (uint8, the region's shape, or None): where the face has broad
    features of its own, where strands crossed it, and its usual saturation there
    (:class:`~arfilter.render.occlusion.Occlusion`'s texel maps on the screen).

    What gives a frame or a strand away is that it is far greyer than skin (saturation, chroma over
    brightness, well under the skin's; against ``usual`` where this bit of skin is paler than the face),
    which shadowed skin is not: its chroma falls with its brightness; or far darker than any shadow on
    skin; or a thin line far darker or brighter than the pixels on both sides of it, where it is long or
    deep (bright) enough somewhere along it (:func:`lines_that_count`: a wrinkle is so only here and there).
    Over the face's own features (``own``: brows, eye make-up, the lashes' line) none of that holds
    paint back, except a long thin line far brighter than both sides of it (:data:`WIRE_LENGTH`: a
    wire catching the light), a dark pixel where strands cross (``strands``: :data:`STRAND_PIXEL`),
    which are held wherever they are, and a long thin dark line away from ``own_lines`` (uint8, 255
    where the face's own thin lines may lie: :func:`rims`, with ``eye_width`` in the region's pixels), with
    the rest of it where it runs beside a shadow (:func:`whole_rims`).
    """
    ycc = cv2.cvtColor(region, cv2.COLOR_BGR2YCrCb)
    y = cv2.extractChannel(ycc, 0)
    # A strand or a frame is a thin line far darker than the skin on both sides of it (a black-hat);
    # skin's own lines (wrinkles, a crease) are shallow or deep only in short parts, and lashes and
    # brows lie in the face's own features. And a thin line far brighter than both sides of it (a
    # top-hat): a metal frame's wire catching the light. Every score of a pixel, their 3x3 growth,
    # ``own`` and ``strands``: one pass.
    tables = gate_tables(skin)
    line = lines_that_count(cv2.morphologyEx(y, cv2.MORPH_BLACKHAT, _LINE), tables[3], LINE_LENGTH)
    bright_line = cv2.morphologyEx(y, cv2.MORPH_TOPHAT, _LINE)
    out, bright = np.empty(y.shape, np.uint8), np.empty(y.shape, np.uint8)
    across = None if own is None or own_lines is None else rims(line, own_lines, eye_width)
    if across is not None:
        across = whole_rims(across, y, tables[3], own_lines)
    occlusion_kernels.gate_pixels(ycc, line, lines_that_count(bright_line, tables[4], 1), bright_line,
                                  np.float32(GATE_GREY[0] * saturation_share(skin)), tables, CHROMA,
                                  *grey_ramp(skin, GATE_GREY),
                                  _NONE if own is None else own, own is not None,
                                  _NONE if usual is None else usual, usual is not None,
                                  _NONE if strands is None else strands, strands is not None,
                                  math.ceil(STRAND_PIXEL * float(skin[0])),
                                  _NONE if across is None else across, across is not None, out, bright)
    if own is not None:
        wires = long_lines(bright)
        if wires is not None:  # a wire catching the light across the lids and lashes: held there too
            out = cv2.min(out, cv2.bitwise_not(cv2.dilate(wires, _KERNEL)))
    return out
