"""The occlusion test's per-texel and per-pixel scores, compiled: each was a dozen OpenCV calls.

Why compiled: scoring a texel's colour against the skin (a look's UV box: ~4 000 texels for an eye) took
~20 OpenCV calls, and scoring a screen pixel under the paint ~25 more; on arrays this small each call costs
about what its arithmetic does. One pass each, with every score of a texel or pixel in registers: the
colour score without the skin's memory takes a fifth less time, the gate a tenth (in-process stage times,
``benchmarks/README.md``, session 27). Each computes what those calls computed, in the same types.
Where OpenCV rounds in its own way (its vector square root, a fused multiply-add), a plain formula differs
at rounding ties, so the kernels round as OpenCV does (a table of its square roots, one rounding where it
fuses): the scores come out the same to the bit (``tests/test_occlusion_kernels.py``, against the OpenCV
calls in ``tests/occlusion_reference.py``).

Compiled for fixed types at import and cached (:mod:`arfilter.core.compiled`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numba
import numpy as np

from arfilter.core.compiled import JIT as _JIT
from arfilter.core.compiled import arg
from arfilter.render import kernels


@dataclass(frozen=True, eq=False)
class Ramps:
    """Several ramps (a score 0 at a start, 255 at an end, either direction, linear between, clipped) of
    measures against the skin, to apply at once: per ramp, its measure
    (``rows``: 0 brightness / the skin's, 1 and 2 |Cr or Cb - the skin's| in its spreads), its start and
    255 / (end - start); made once, in the kernel's types."""

    rows: np.ndarray  # int64
    start: np.ndarray  # float32
    scale: np.ndarray  # float32


def ramps(rows: tuple[int, ...], *ends: tuple[float, float]) -> Ramps:
    """:class:`Ramps` of measures ``rows``, each from its (start, end)."""
    return Ramps(np.array(rows, np.int64), np.array([start for start, _ in ends], np.float32),
                 np.array([255.0 / (end - start) for start, end in ends], np.float32))


def ramp_tables(skin: np.ndarray, ramps: Ramps) -> np.ndarray:
    """uint8 (ramps, 256): for every level, each ramp's score of its measure against this face's skin
    (what a ramp gives; compiled, :func:`kernels.score_tables`: made for every face and frame)."""
    return kernels.score_tables(arg(skin, np.float32), np.float32(max(float(skin[0]), 1.0)), ramps.rows,
                                ramps.start, ramps.scale)


@numba.njit(["u1(f4, f4, f4)"], inline="always", **_JIT)
def _ramp(value, start, scale):  # pragma: no cover - compiled
    """``np.clip((value - start) * scale, 0, 255).astype(np.uint8)`` in float32 (truncated)."""
    score = (value - start) * scale
    return np.uint8(min(max(score, np.float32(0.0)), np.float32(255.0)))


def chroma_table() -> np.ndarray:
    """float32 (256, 256): |(Cr, Cb) - 128| for every pair, as ``cv2.magnitude`` gives it (its vector
    square root is not always the correctly rounded one; a table keeps the scores the same to the bit)."""
    levels = np.arange(256, dtype=np.float32) - np.float32(128.0)
    red, blue = np.meshgrid(levels, levels, indexing="ij")
    return np.ascontiguousarray(cv2.magnitude(np.ascontiguousarray(red), np.ascontiguousarray(blue)))


@numba.njit(["u1(f4, f4, f4, f4)"], inline="always", **_JIT)
def _grey_of(saturation, alpha, gamma, pale):  # pragma: no cover - compiled
    """:func:`grey_score` of a saturation already read (below the highlight)."""
    score = np.rint(np.float32(np.float64(saturation * pale) * np.float64(alpha) + np.float64(gamma)))
    return np.uint8(min(max(score, np.float32(0.0)), np.float32(255.0)))

@numba.njit(["u1(u1, u1, u1, f4[:, ::1], f4, f4, f8, f4)"], inline="always", **_JIT)
def grey_score(y, cr, cb, chroma, alpha, gamma, highlight, pale):  # pragma: no cover - compiled
    """How much greyer than the skin a texel or pixel is: its saturation (``chroma`` at (Cr, Cb) over its
    brightness, at least 24; times ``pale``, 1 or more where this skin is usually paler than the face's)
    times ``alpha`` plus ``gamma`` (one rounding: ``cv2.addWeighted``'s fused multiply-add), rounded half
    to even and saturated; 0 at or above ``highlight`` (a highlight on skin)."""
    if y >= highlight:
        return np.uint8(0)
    return _grey_of(chroma[cr, cb] / np.float32(max(y, np.uint8(24))), alpha, gamma, pale)



# why: one loop over the texels with every score of one texel in registers; split into functions,
# each would walk the box again (what the OpenCV calls it replaced did, a dozen times).
@numba.njit(["void(u1[:, :, ::1], u1[:, ::1], f4[:, ::1], f4[:, ::1], b1, f4[::1], f4[:, ::1], f4, f4, f8, f4, f4, "
             "u1[:, ::1])"], **_JIT)
def texel_colour(ycc, tables, low, high, use_reference, reference_ramps, chroma, grey_alpha, grey_gamma, highlight,
                 skin_luma, lit_saturation, out):  # pragma: no cover - compiled
    """uint8 per texel, 0 = this face's skin colour, 255 = clearly something else: the max of its
    brightness score (the larger of ``tables[0]`` and ``tables[1]`` at Y: far darker, far brighter; with
    ``use_reference``, no more than how far it is off its
    reference's ``low`` (its darkest nearby) or ``high`` (its brightest), each at least 1, on
    ``reference_ramps``: start, scale of the darker ramp, then of the brighter; none where it is brighter
    than ``skin_luma`` with a saturation of ``lit_saturation`` or more: skin in more light), its hue score
    (``tables[2]`` at Cr, ``tables[3]`` at Cb) and :func:`grey_score`."""
    height, width = out.shape
    one = np.float32(1.0)
    for y in range(height):
        for x in range(width):
            luma, cr, cb = ycc[y, x, 0], ycc[y, x, 1], ycc[y, x, 2]
            brightness = max(tables[0, luma], tables[1, luma])
            level = np.float32(luma)
            if level > skin_luma and chroma[cr, cb] / np.float32(max(luma, np.uint8(24))) >= lit_saturation:
                brightness = np.uint8(0)
            elif use_reference:
                darker = _ramp(level / max(low[y, x], one), reference_ramps[0], reference_ramps[1])
                brighter = _ramp(level / max(high[y, x], one), reference_ramps[2], reference_ramps[3])
                brightness = min(brightness, max(darker, brighter))
            hue = max(tables[2, cr], tables[3, cb])
            grey = grey_score(luma, cr, cb, chroma, grey_alpha, grey_gamma, highlight, np.float32(1.0))
            out[y, x] = max(max(brightness, hue), grey)


@numba.njit(["void(u1[:, :, ::1], f4[:, ::1], f4, u1[:, ::1], u1[:, ::1])"], **_JIT)
def texel_saturation(ycc, chroma, skin_saturation, valid, out):  # pragma: no cover - compiled
    """uint8 per texel: its saturation (as :func:`grey_score` takes it) as a share of ``skin_saturation``
    (the face's), 1-255 for 0-1 (rounded; 255 at or above the face's), 0 where ``valid`` is 0."""
    height, width = out.shape
    for y in range(height):
        for x in range(width):
            if valid[y, x] == 0:
                out[y, x] = 0
                continue
            saturation = chroma[ycc[y, x, 1], ycc[y, x, 2]] / np.float32(max(ycc[y, x, 0], np.uint8(24)))
            share = saturation / skin_saturation
            out[y, x] = np.uint8(1.0 + np.rint(min(share, np.float32(1.0)) * np.float32(254.0)))


@numba.njit(["void(u1[:, ::1], u1[:, ::1])"], **_JIT)
def _dilate3(values, out):  # pragma: no cover - compiled
    """``cv2.dilate`` of uint8 by a 3x3 square (what lies outside the array is ignored): by rows, then
    by columns. The edges apart from the inside, so the inner loops have no branch (a sixth of the time
    with a bounds test per pixel: 7 against 46 us on an eye's region at 720p)."""
    height, width = values.shape
    rows = np.empty((height, width), np.uint8)
    for y in range(height):
        row, grown = values[y], rows[y]
        if width == 1:
            grown[0] = row[0]
            continue
        grown[0] = max(row[0], row[1])
        for x in range(1, width - 1):
            grown[x] = max(max(row[x - 1], row[x]), row[x + 1])
        grown[width - 1] = max(row[width - 2], row[width - 1])
    for y in range(height):
        above, middle, below, grown = rows[max(y - 1, 0)], rows[y], rows[min(y + 1, height - 1)], out[y]
        for x in range(width):
            grown[x] = max(max(above[x], middle[x]), below[x])


# why: one loop over the pixels with every score of one pixel in registers, then the 3x3 growths;
# as OpenCV calls on a look's region it was ~25 passes over it.
@numba.njit(["void(u1[:, :, ::1], u1[:, ::1], u1[:, ::1], u1[:, ::1], f4, u1[:, ::1], f4[:, ::1], f4, f4, f8, "
             "u1[:, ::1], b1, u1[:, ::1], b1, u1[:, ::1], b1, i8, u1[:, ::1], b1, u1[:, ::1], u1[:, ::1])"], **_JIT)
def gate_pixels(ycc, blackhat, tophat, tophat_all, grey_below, tables, chroma, grey_alpha, grey_gamma, highlight,
                own, use_own, usual, use_usual, strands, use_strands, strand_below, rims, use_rims, out,
                bright):  # pragma: no cover - compiled
    """uint8 per screen pixel, 0 where it is clearly not the skin (see ``occlusion_pixels.gate``): 255 less the
    3x3 largest of each pixel's scores: its hue (``tables[0]`` at Cr, ``tables[1]`` at Cb), its
    :func:`grey_score` (with ``use_usual``, against what this bit of skin usually has where ``usual``, a
    :func:`texel_saturation`, is above 0), far darker than the skin (``tables[2]`` at Y), a thin line
    far darker or brighter than both sides of it (``tables[3]`` at ``blackhat``, ``tables[4]`` at
    ``tophat``, or at ``tophat_all`` where the pixel's saturation is under ``grey_below``: that one also
    into ``bright``); at least ``own`` (with ``use_own``), but 0 within a pixel of ``rims`` (with
    ``use_rims``: a frame's rim across the face's own features); and 0 within a pixel
    of a pixel darker than ``strand_below`` where ``strands`` is over 128 (with ``use_strands``; an
    integer: ``math.ceil`` of a brightness)."""
    height, width = out.shape
    score = np.empty((height, width), np.uint8)
    for y in range(height):
        for x in range(width):
            luma, cr, cb = ycc[y, x, 0], ycc[y, x, 1], ycc[y, x, 2]
            pale = np.float32(1.0)
            if use_usual and usual[y, x] > 0:
                pale = np.float32(255.0) / np.float32(usual[y, x])
            saturation = chroma[cr, cb] / np.float32(max(luma, np.uint8(24)))  # read once: grey and glints
            value = max(tables[0, cr], tables[1, cb])
            if luma < highlight:  # grey_score
                value = max(value, _grey_of(saturation, grey_alpha, grey_gamma, pale))
            value = max(value, tables[2, luma])  # far darker than any shadow on the skin
            value = max(value, tables[3, blackhat[y, x]])  # a thin line far darker than both sides
            top = tophat[y, x]
            if tophat_all[y, x] > top and saturation < grey_below:
                top = tophat_all[y, x]  # grey: metal or clear plastic catching the light, however short
            bright[y, x] = tables[4, top]  # a thin line far brighter than both sides
            score[y, x] = max(value, bright[y, x])
    grown = np.empty((height, width), np.uint8)
    _dilate3(score, grown)
    for y in range(height):
        for x in range(width):
            value = 255 - grown[y, x]
            if use_own:
                value = max(value, own[y, x])
            out[y, x] = value
    if use_rims:
        _dilate3(rims, grown)
        for y in range(height):
            for x in range(width):
                if grown[y, x] > 0:
                    out[y, x] = 0
    if use_strands:
        for y in range(height):
            for x in range(width):
                score[y, x] = (ycc[y, x, 0] < strand_below) * (strands[y, x] > 128)
        _dilate3(score, grown)
        for y in range(height):
            for x in range(width):
                out[y, x] *= 1 - grown[y, x]


@numba.njit(["b1(u1[:, ::1], u1[::1], i8, i8, i8, f8, u1[:, ::1])"], **_JIT)
def line_parts(values, table, reaching, length, anyway, thickest, out):  # pragma: no cover - compiled
    """``out`` (uint8, zeroed here): ``values`` on its 8-connected parts (where its score ``table[value]`` is
    above 0) that are long, their bounding box's long side at least ``anyway`` pixels, or at least
    ``length`` long with a score that reaches ``reaching`` somewhere (hysteresis, as edges are found), and
    that hold at most ``thickest`` pixels per pixel of its diagonal (a line, not a band; the diagonal, so
    a slanted line is not taken for a thick one), 0 elsewhere; whether there is any. A flood fill from
    each part's first pixel: lines are a few dozen pixels of a region of thousands."""
    height, width = values.shape
    out[:, :] = 0
    lit = np.empty(256, np.bool_)  # which values are part of a line
    for value in range(256):
        lit[value] = table[value] != 0
    seen = np.zeros((height, width), np.bool_)
    stack = np.empty(height * width, np.int64)  # each lit pixel is pushed once
    members = np.empty(height * width, np.int64)
    found = False
    for start in range(height * width):
        if not lit[values.flat[start]] or seen.flat[start]:
            continue
        seen.flat[start] = True
        stack[0], top, count, peak = start, 1, 0, 0
        x0, x1, y0, y1 = width, -1, height, -1
        while top > 0:
            top -= 1
            index = stack[top]
            members[count] = index
            count += 1
            peak = max(peak, np.int64(table[values.flat[index]]))
            y, x = index // width, index % width
            x0, x1, y0, y1 = min(x0, x), max(x1, x), min(y0, y), max(y1, y)
            for dy in range(-1, 2):
                for dx in range(-1, 2):
                    ny, nx = y + dy, x + dx
                    if 0 <= ny < height and 0 <= nx < width:
                        near = ny * width + nx
                        if lit[values.flat[near]] and not seen.flat[near]:
                            seen.flat[near] = True
                            stack[top] = near
                            top += 1
        across, down = x1 - x0 + 1, y1 - y0 + 1
        side = max(across, down)
        if ((side >= anyway or (peak >= reaching and side >= length))
                and count <= thickest * math.sqrt(across * across + down * down)):
            found = True
            for k in range(count):
                out.flat[members[k]] = values.flat[members[k]]
    return found


@numba.njit(["f8(f4[:, ::1], i8[:, ::1], i8[:, ::1], i8[::1], f8, f8, f8, f8, i4[:, :, ::1], i4[:, ::1])"], **_JIT)
def lid_outlines(points, lids, brows, own, reach, origin_x, origin_y, step, bands,
                 outlines):  # pragma: no cover - compiled
    """The wider eye's width (corner to corner, in the region's pixels: ``step``-th screen pixels from
    ``origin``) and, in those pixels, rounded half to even: ``outlines``, the ``own`` landmarks; ``bands``
    (2, 2 n + 4, 2), per eye the band over its upper lid: its edge (``lids``: n landmarks from the inner
    corner to the outer) with its ends pushed ``reach`` of its width beyond the corners, and the same
    pushed ``reach`` of its width up (square to the corner-to-corner line, towards the brow's mean,
    ``brows``). Compiled: as numpy calls on a few dozen points it took 0.15-0.3 ms a face, now ~0.03."""
    widest = 0.0
    for eye in range(lids.shape[0]):
        count = lids.shape[1]
        inner_x, inner_y = points[lids[eye, 0], 0], points[lids[eye, 0], 1]
        across_x = points[lids[eye, count - 1], 0] - inner_x
        across_y = points[lids[eye, count - 1], 1] - inner_y
        widest = max(widest, math.sqrt(across_x * across_x + across_y * across_y))
        lid_x, lid_y, brow_x, brow_y = 0.0, 0.0, 0.0, 0.0
        for index in range(count):
            lid_x += points[lids[eye, index], 0]
            lid_y += points[lids[eye, index], 1]
        for index in range(brows.shape[1]):
            brow_x += points[brows[eye, index], 0]
            brow_y += points[brows[eye, index], 1]
        up_x, up_y = -across_y * reach, across_x * reach  # square to the corners' line, as long as reach of it
        toward_x = brow_x / brows.shape[1] - lid_x / count
        toward_y = brow_y / brows.shape[1] - lid_y / count
        if up_x * toward_x + up_y * toward_y < 0.0:
            up_x, up_y = -up_x, -up_y
        last = 2 * count + 3
        for index in range(count + 2):
            if index == 0:
                x, y = inner_x - reach * across_x, inner_y - reach * across_y
            elif index == count + 1:
                x = points[lids[eye, count - 1], 0] + reach * across_x
                y = points[lids[eye, count - 1], 1] + reach * across_y
            else:
                x, y = points[lids[eye, index - 1], 0], points[lids[eye, index - 1], 1]
            bands[eye, index, 0] = np.int32(np.rint((x - origin_x) / step))
            bands[eye, index, 1] = np.int32(np.rint((y - origin_y) / step))
            bands[eye, last - index, 0] = np.int32(np.rint((x + up_x - origin_x) / step))
            bands[eye, last - index, 1] = np.int32(np.rint((y + up_y - origin_y) / step))
    for index in range(own.shape[0]):
        outlines[index, 0] = np.int32(np.rint((points[own[index], 0] - origin_x) / step))
        outlines[index, 1] = np.int32(np.rint((points[own[index], 1] - origin_y) / step))
    return widest / step
