"""The occlusion test's per-texel and per-pixel scores as they were written with OpenCV calls, before they
were compiled (``arfilter.render.occlusion_kernels``).

Kept as the oracle: ``tests/test_occlusion_kernels.py`` checks that every compiled pass gives what these
give, to the bit, on a real face. The product never calls them.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from arfilter.render import occlusion as O
from arfilter.render import occlusion_kernels as K
from arfilter.render import occlusion_pixels as P


def ramp(values: np.ndarray, start: float, end: float) -> np.ndarray:
    return np.clip((values - start) * (255.0 / (end - start)), 0.0, 255.0).astype(np.uint8)


def saturation_of(y: np.ndarray, cr: np.ndarray, cb: np.ndarray) -> np.ndarray:
    chroma = cv2.magnitude(cv2.subtract(cr, 128, dtype=cv2.CV_32F), cv2.subtract(cb, 128, dtype=cv2.CV_32F))
    return cv2.divide(chroma, cv2.max(y, P.GATE_DARKEST), dtype=cv2.CV_32F)


def grey_score(y: np.ndarray, cr: np.ndarray, cb: np.ndarray, skin: np.ndarray, ramp_: tuple[float, float],
               usual: np.ndarray | None = None) -> np.ndarray:
    saturation = saturation_of(y, cr, cb)
    if usual is not None:  # against this bit of skin's usual saturation, where known
        pale = np.float32(255.0) / np.maximum(usual, 1).astype(np.float32)
        saturation = saturation * np.where(usual > 0, pale, np.float32(1.0))
    own = max(float(np.hypot(skin[1] - 128.0, skin[2] - 128.0)) / max(float(skin[0]), P.GATE_DARKEST), 1e-3)
    start, end = ramp_
    scale = 255.0 / (end - start)
    score = cv2.addWeighted(saturation, scale / own, saturation, 0.0, -start * scale, dtype=cv2.CV_8U)
    return cv2.bitwise_and(score, cv2.compare(y, P.GATE_HIGHLIGHT * float(skin[0]), cv2.CMP_LT))


def colour_score(ycc: np.ndarray, skin: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    dark, bright, cr, cb = K.ramp_tables(skin, O._COLOUR_RAMPS)
    luma = np.maximum(dark, bright)
    y, r, b = cv2.split(ycc)
    brightness = cv2.LUT(y, luma)
    lit = (y > skin[0]) & (saturation_of(y, r, b) >= np.float32(O.LIT_SATURATION * P.saturation_share(skin)))
    if reference is not None:
        level = y.astype(np.float32)
        darker = ramp(level / cv2.max(cv2.erode(reference, np.ones((5, 5), np.uint8)), 1.0), *O.REFERENCE_DARK)
        brighter = ramp(level / cv2.max(cv2.dilate(reference, np.ones((3, 3), np.uint8)), 1.0), *O.REFERENCE_BRIGHT)
        brightness = cv2.min(brightness, cv2.max(darker, brighter))
    brightness[lit] = 0  # skin in more light (occlusion.LIT_SATURATION)
    hue = cv2.max(cv2.LUT(r, cr), cv2.LUT(b, cb))
    return cv2.max(cv2.max(brightness, hue), grey_score(y, r, b, skin, O.GREY))


def line_parts(values: np.ndarray, table: np.ndarray, reaching: int, length: int, anyway: int,
               thickest: float) -> np.ndarray | None:
    """``occlusion_kernels.line_parts`` by OpenCV's connected components (None where no part is kept)."""
    score = cv2.LUT(values, table)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(cv2.compare(score, 0, cv2.CMP_GT), connectivity=8)
    peaks = np.zeros(count, np.uint8)
    np.maximum.at(peaks, labels.ravel(), score.ravel())
    sides = np.maximum(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT])
    diagonals = np.hypot(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT])
    long = (sides >= anyway) | ((peaks[1:] >= reaching) & (sides >= length))
    kept = long & (stats[1:, cv2.CC_STAT_AREA] <= thickest * diagonals)
    if count <= 1 or not kept.any():
        return None
    mask = np.zeros(count, np.uint8)
    mask[1:][kept] = 255
    return cv2.bitwise_and(values, mask[labels])


def long_lines(score: np.ndarray) -> np.ndarray | None:
    """``occlusion_pixels.long_lines``: parts of a score long and thin enough to be a wire."""
    return line_parts(score, np.arange(256, dtype=np.uint8), 1, P.WIRE_LENGTH, P.WIRE_LENGTH, P.WIRE_THICKNESS)


def lines_that_count(depth: np.ndarray, table: np.ndarray, length: int) -> np.ndarray:
    """``occlusion_pixels.lines_that_count``: a line's depth on long parts, and where it reaches full score."""
    kept = line_parts(depth, table, 255, length, P.STRAND_LENGTH, np.inf)
    return np.zeros_like(depth) if kept is None else kept


def rims(line: np.ndarray, own_lines: np.ndarray, eye_width: float) -> np.ndarray | None:
    """``occlusion_pixels.rims``: thin dark lines away from the face's own, long enough to be a rim."""
    away = cv2.bitwise_and(line, cv2.bitwise_not(own_lines))
    length = max(math.ceil(P.RIM_LENGTH * eye_width), 1)
    return line_parts(away, np.arange(256, dtype=np.uint8), 256, length, length, np.inf)


def whole_rims(found: np.ndarray, y: np.ndarray, table: np.ndarray, own_lines: np.ndarray) -> np.ndarray:
    """``occlusion_pixels.whole_rims``: the rims found, and the wider black-hat's lines over the upper lids
    joined to them (by OpenCV's connected components)."""
    band = cv2.bitwise_not(own_lines)
    wide = cv2.LUT(cv2.morphologyEx(y, cv2.MORPH_BLACKHAT, P._WIDE_LINE), table)
    lines = cv2.bitwise_or(cv2.bitwise_and(cv2.compare(wide, 0, cv2.CMP_GT), band), cv2.compare(found, 0, cv2.CMP_GT))
    _, labels = cv2.connectedComponents(lines, connectivity=8)
    joined = np.isin(labels, labels[found > 0]) & (labels > 0)
    return joined.astype(np.uint8) * 255


def broad_saturation(ycc: np.ndarray, skin: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``Occlusion``'s per-texel saturation as a share of the face's, over broad areas (``_broad_saturation``)."""
    y, cr, cb = cv2.split(ycc)
    share = saturation_of(y, cr, cb) / np.float32(O.PALE * P.saturation_share(skin))
    share = (np.rint(np.minimum(share, np.float32(1.0)) * np.float32(254.0)) + 1).astype(np.uint8)
    share = cv2.bitwise_and(share, valid)
    return cv2.bitwise_and(cv2.morphologyEx(share, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)), valid)


def gate(skin: np.ndarray, region: np.ndarray, own: np.ndarray | None = None,
         strands: np.ndarray | None = None, usual: np.ndarray | None = None, own_lines: np.ndarray | None = None,
         eye_width: float = 0.0) -> np.ndarray:
    """``occlusion_pixels.gate`` (what ``Occlusion.gate`` gives) for a face whose skin statistics are ``skin``."""
    ycc = cv2.cvtColor(region, cv2.COLOR_BGR2YCrCb)
    y, cr, cb = cv2.split(ycc)
    cr_table, cb_table, dark_table, thin_table, bright_table = K.ramp_tables(skin, P.GATE_RAMPS)
    hue = cv2.max(cv2.LUT(cr, cr_table), cv2.LUT(cb, cb_table))
    grey = grey_score(y, cr, cb, skin, P.GATE_GREY, usual)
    colour = cv2.max(hue, grey)
    dark = cv2.LUT(y, dark_table)
    line = lines_that_count(cv2.morphologyEx(y, cv2.MORPH_BLACKHAT, P._LINE), thin_table, P.LINE_LENGTH)
    dark = cv2.max(dark, cv2.LUT(line, thin_table))
    tophat = cv2.morphologyEx(y, cv2.MORPH_TOPHAT, P._LINE)
    grey_below = float(np.float32(P.GATE_GREY[0] * P.saturation_share(skin)))
    grey = cv2.compare(saturation_of(y, cr, cb), grey_below, cv2.CMP_LT)
    bright = cv2.LUT(cv2.max(lines_that_count(tophat, bright_table, 1), cv2.bitwise_and(tophat, grey)), bright_table)
    dark = cv2.max(dark, bright)
    kernel = np.ones((3, 3), np.uint8)
    result = cv2.bitwise_not(cv2.dilate(cv2.max(colour, dark), kernel))
    if own is not None:
        result = cv2.max(result, own)
        across = None if own_lines is None else rims(line, own_lines, eye_width)
        across = None if across is None else whole_rims(across, y, thin_table, own_lines)
        if across is not None:  # a rim across the face's own features, away from its own lines
            result = cv2.bitwise_and(result, cv2.bitwise_not(cv2.dilate(cv2.compare(across, 0, cv2.CMP_GT), kernel)))
        wires = long_lines(bright)  # long bright lines across the face's own features too
        if wires is not None:
            result = cv2.min(result, cv2.bitwise_not(cv2.dilate(wires, kernel)))
    if strands is not None:
        strand_pixels = cv2.compare(y, P.STRAND_PIXEL * float(skin[0]), cv2.CMP_LT)
        strand_pixels = cv2.bitwise_and(strand_pixels, cv2.compare(strands, 128, cv2.CMP_GT))
        result = cv2.bitwise_and(result, cv2.bitwise_not(cv2.dilate(strand_pixels, kernel)))
    return result
