"""The per-texel bookkeeping of the occlusion test and the memory of the skin, compiled.

Why compiled: each frame the memory of the skin finds its seeds and learns, and the colour test steps its
hysteresis and learns, over a look's UV box (~4 000 texels for an eye): some sixty OpenCV calls, each
costing about what its arithmetic does on arrays this small (2-5 us apiece). One pass each, with every
mask of a texel in registers. Each gives what those calls gave, to the bit
(``tests/test_memory_kernels.py``, against the OpenCV calls in ``tests/memory_reference.py``): OpenCV 5.1's
``accumulateWeighted`` is ``dst + (src - dst) * alpha`` with one rounding (a fused multiply-add), and so is
:func:`_follow` (on several channels with a mask it rounds another way: :func:`_follow_colour`); its
``compare`` with a number compares in float64 (so do the kernels: their thresholds are float64), its
``multiply`` by a number and its ``inRange`` take the number as float32 first (so do the kernels: those are
float32).

Compiled for fixed types at import and cached (:mod:`arfilter.core.compiled`).
"""

from __future__ import annotations

import numba
import numpy as np

from arfilter.core.compiled import JIT as _JIT
from arfilter.render.labels import label_counts


@numba.njit(["f4(f4, f4, f4)"], inline="always", **_JIT)
def _follow(usual, now, rate):  # pragma: no cover - compiled
    """``usual`` moved ``rate`` of the way to ``now``, as ``cv2.accumulateWeighted`` does it: the
    difference in float32, then one rounding of difference x rate + usual."""
    return np.float32(np.float64(now - usual) * np.float64(rate) + np.float64(usual))


@numba.njit(["void(u1[:, ::1])"], **_JIT)
def _erode3(mask):  # pragma: no cover - compiled
    """``mask`` (0 or 1) eroded in place by a 3x3 square, what lies outside the array ignored (as
    ``cv2.erode`` does): along the rows, then down the columns."""
    height, width = mask.shape
    rows = np.empty((height, width), np.uint8)
    for y in range(height):
        rows[y, 0] = mask[y, 0] & mask[y, min(1, width - 1)]
        for x in range(1, width - 1):
            rows[y, x] = mask[y, x - 1] & mask[y, x] & mask[y, x + 1]
        if width > 1:
            rows[y, width - 1] = mask[y, width - 2] & mask[y, width - 1]
    for x in range(width):
        mask[0, x] = rows[0, x] & rows[min(1, height - 1), x]
        mask[height - 1, x] = rows[height - 1, x] & rows[max(height - 2, 0), x]
    for y in range(1, height - 1):
        for x in range(width):
            mask[y, x] = rows[y - 1, x] & rows[y, x] & rows[y + 1, x]


# why: one loop over the texels with every mask of one texel in registers, then the 3x3 runs of the
# confirmed lines; as OpenCV calls it was ~25 passes over the box.
@numba.njit(["void(u1[:, ::1], f4[:, ::1], u1[:, ::1], f4[:, ::1], b1, f4[:, ::1], f4, f4, u1[:, ::1], u1[:, ::1], "
             "f4[:, ::1], u1[:, ::1], f4[:, ::1], f4[:, ::1], f8, f8, f8, f4, f8, f8, f8, f4[:, ::1], u1[:, ::1], "
             "u1[:, ::1])"], **_JIT)
def seeds_and_palm(lines, usual_lines, dark_lines, usual_dark_lines, use_dark, line_scale, divisor, dark_divisor,
                   known, valid, facing, near_colour, edges, usual_edges, still_facing, palm_facing, textured,
                   smoothed, confirmed_above, new_above, seed_above, new_lines, seeds,
                   palm):  # pragma: no cover - compiled
    """The memory of the skin's evidence this frame (``skin_memory.SkinMemory.held``):

    * ``new_lines`` (float32): how much darker each texel's line is than the darkest it usually had near
      (``usual_lines``: already grown), over ``line_scale`` x ``divisor``;
    * ``seeds`` (uint8 255): a line new beyond ``seed_above`` on seedable skin (known, valid, facing over
      ``still_facing``, not ``near_colour``), or, with ``use_dark``, half as new (``confirmed_above``) and
      new through the darkest pixels (``dark_lines`` against ``usual_dark_lines`` over ``dark_divisor``,
      beyond ``new_above``) in runs of two texels or more (3x3);
    * ``palm`` (uint8 255): textured texels (usual edges over ``textured``) whose edges fell under
      ``smoothed`` of their usual, 3x3 of them (an erosion), on known, valid skin facing over
      ``palm_facing``, not ``near_colour``: a palm's candidates, before its areas are measured."""
    height, width = lines.shape
    for y in range(height):  # branch-free, so that it vectorises
        for x in range(width):
            new_lines[y, x] = (np.float32(lines[y, x]) - usual_lines[y, x]) / (line_scale[y, x] * divisor)
    smooth = np.empty((height, width), np.uint8)
    for y in range(height):
        for x in range(width):
            smooth[y, x] = (edges[y, x] < usual_edges[y, x] * smoothed) & (usual_edges[y, x] > textured)
    _erode3(smooth)
    confirmed = np.zeros((height, width), np.uint8)
    any_confirmed = False
    for y in range(height):
        for x in range(width):
            new = new_lines[y, x]
            seen = known[y, x] != 0 and valid[y, x] != 0
            clear = near_colour[y, x] == 0
            seedable = seen and clear and facing[y, x] > still_facing
            seeds[y, x] = 255 if seedable and new > seed_above else 0
            palm[y, x] = 255 if seen and clear and smooth[y, x] != 0 and facing[y, x] > palm_facing else 0
            if use_dark and seedable and new > confirmed_above:
                new_dark = (np.float32(dark_lines[y, x]) - usual_dark_lines[y, x]) / (line_scale[y, x] * dark_divisor)
                if new_dark > new_above:
                    confirmed[y, x] = 1
                    any_confirmed = True
    if not any_confirmed:
        return
    for y in range(height):
        for x in range(width):
            if confirmed[y, x] == 0:
                continue
            runs = 0
            for dy in range(-1, 2):
                for dx in range(-1, 2):
                    ny, nx = y + dy, x + dx
                    if 0 <= ny < height and 0 <= nx < width:
                        runs += confirmed[ny, nx]
            if runs > 1:
                seeds[y, x] = 255


@numba.njit(["f4(f4, f4, f4, f4)"], inline="always", **_JIT)
def _follow_colour(usual, now, rate, keep):  # pragma: no cover - compiled
    """:func:`_follow` for one channel of a colour, as ``cv2.accumulateWeighted`` does it with a mask on
    several channels: ``usual`` x ``keep`` (1 - rate) + ``now`` x ``rate``, the last product rounded to
    float32, then one rounding of the sum."""
    return np.float32(np.float64(usual) * np.float64(keep) + np.float64(now * rate))


# why: one loop over the texels, each following every usual value it has; as OpenCV calls, eleven masks
# and seven accumulations.
@numba.njit(["void(u1[:, :, ::1], u1[:, ::1], f4[:, ::1], u1[:, ::1], u1[:, ::1], u1[:, ::1], u1[:, ::1], b1, "
             "u1[:, ::1], b1, u1[:, ::1], f4[:, :, ::1], f4[:, ::1], f4[:, ::1], f4[:, ::1], f4[:, ::1], f4, f4, f4, "
             "f4)"], **_JIT)
def learn_memory(look, lines, edges, valid, busy, lined, darkest, use_darkest, dark_lines, use_dark_lines, known,
                 usual_look, usual_lines, usual_edges, usual_darkest, usual_dark_lines, learn, release, learn_keep,
                 release_keep):  # pragma: no cover - compiled
    """The memory of the skin learns (at the end of ``skin_memory.SkinMemory.held``): a valid texel not ``known`` yet
    takes this frame's values as they are (and is known from now on); a known one follows them at
    ``learn`` while clear (not ``busy``; its edges only with no new line near, ``lined``), its look and
    darkest at ``release`` while busy (``learn_keep``, ``release_keep``: 1 - each, in float32, for the
    look's three channels: :func:`_follow_colour`). ``darkest`` and ``dark_lines`` only with ``use_darkest`` and
    ``use_dark_lines``."""
    height, width = valid.shape
    for y in range(height):
        for x in range(width):
            if valid[y, x] == 0:
                continue
            if known[y, x] == 0:
                known[y, x] = 255
                for channel in range(3):
                    usual_look[y, x, channel] = np.float32(look[y, x, channel])
                usual_lines[y, x] = np.float32(lines[y, x])
                if use_dark_lines:
                    usual_dark_lines[y, x] = np.float32(dark_lines[y, x])
                usual_edges[y, x] = edges[y, x]
                if use_darkest:
                    usual_darkest[y, x] = np.float32(darkest[y, x])
                continue
            rate, keep = (release, release_keep) if busy[y, x] != 0 else (learn, learn_keep)
            for channel in range(3):
                usual_look[y, x, channel] = _follow_colour(usual_look[y, x, channel], np.float32(look[y, x, channel]),
                                                           rate, keep)
            if use_darkest:
                usual_darkest[y, x] = _follow(usual_darkest[y, x], np.float32(darkest[y, x]), rate)
            if busy[y, x] != 0:
                continue
            usual_lines[y, x] = _follow(usual_lines[y, x], np.float32(lines[y, x]), learn)
            if use_dark_lines:
                usual_dark_lines[y, x] = _follow(usual_dark_lines[y, x], np.float32(dark_lines[y, x]), learn)
            if lined[y, x] == 0:
                usual_edges[y, x] = _follow(usual_edges[y, x], edges[y, x], learn)


@numba.njit(["i8(u1[:, ::1], i4[:, ::1])"], **_JIT)
def _joined_parts(mask, labels):  # pragma: no cover - compiled
    """Label (1, 2, ...) the 8-connected parts of ``mask`` grown by a 3x3 square (a line a one-texel gap
    breaks is one part), 0 elsewhere; returns how many labels there are, 0 included. A flood fill from each
    part's first texel (the parts are lines: a few dozen texels of thousands)."""
    height, width = mask.shape
    grown = np.zeros((height, width), np.bool_)
    for y in range(height):
        for x in range(width):
            if mask[y, x] != 0:
                for dy in range(-1, 2):
                    for dx in range(-1, 2):
                        ny, nx = y + dy, x + dx
                        if 0 <= ny < height and 0 <= nx < width:
                            grown[ny, nx] = True
    labels[:, :] = 0
    flat_grown, flat_labels = grown.ravel(), labels.ravel()  # views: both are C-ordered
    stack = np.empty(height * width, np.int64)
    count = 1
    for start in range(height * width):
        if not flat_grown[start] or flat_labels[start] != 0:
            continue
        flat_labels[start] = count
        stack[0], top = start, 1
        while top > 0:
            top -= 1
            y, x = stack[top] // width, stack[top] % width
            for ny in range(max(y - 1, 0), min(y + 2, height)):
                for nx in range(max(x - 1, 0), min(x + 2, width)):
                    if grown[ny, nx] and labels[ny, nx] == 0:
                        labels[ny, nx] = count
                        stack[top] = ny * width + nx
                        top += 1
        count += 1
    return count


# why: the strands' masks in one loop over the texels, then their parts joined and kept by what they hold;
# as OpenCV calls it was ~20 passes over the box and a labelling.
@numba.njit(["b1(u1[:, ::1], u1[:, ::1], f4[:, ::1], u1[:, ::1], u1[:, ::1], f8, f8, f8, f8, f4, u1[:, ::1])"], **_JIT)
def strands(luma, darkest, usual_darkest, valid, still, thin_above, lit_above, dark_below, loose_below, new_share,
            out):  # pragma: no cover - compiled
    """``out`` (uint8 255): texels a strand crosses now (``skin_memory.SkinMemory._strands``): thin (their 3x3
    mean over ``thin_above`` brighter than their darkest pixel), over skin usually lit (``usual_darkest`` over
    ``lit_above``) and valid, and deep (darkest under ``dark_below``) or loose (under ``loose_below`` and
    under ``new_share`` of the least usual darkest in 3x3), in parts (joined over a one-texel gap) that hold a
    deep texel and a loose one on ``still`` skin; whether any texel was deep."""
    height, width = luma.shape
    out[:, :] = 0
    deep = np.zeros((height, width), np.uint8)
    thin = np.zeros((height, width), np.bool_)
    any_deep = False
    for y in range(height):
        for x in range(width):
            level = darkest[y, x]
            lifted = np.int64(luma[y, x]) - np.int64(level)
            thin[y, x] = valid[y, x] != 0 and lifted > thin_above and usual_darkest[y, x] > lit_above
            if thin[y, x] and level < dark_below:
                deep[y, x] = 255
                any_deep = True
    if not any_deep:
        return False
    loose = np.zeros((height, width), np.uint8)
    loose_on_still = np.zeros((height, width), np.uint8)
    for y in range(height):
        for x in range(width):
            if deep[y, x]:
                loose[y, x] = 255
                loose_on_still[y, x] = still[y, x]
                continue
            if not thin[y, x] or darkest[y, x] >= loose_below:
                continue
            least = usual_darkest[y, x]  # the 3x3 erosion (what lies outside the box is ignored)
            for dy in range(-1, 2):
                for dx in range(-1, 2):
                    ny, nx = y + dy, x + dx
                    if 0 <= ny < height and 0 <= nx < width and usual_darkest[ny, nx] < least:
                        least = usual_darkest[ny, nx]
            if np.float32(darkest[y, x]) < least * new_share:
                loose[y, x] = 255
                loose_on_still[y, x] = still[y, x]
    labels = np.empty((height, width), np.int32)
    count = _joined_parts(loose, labels)
    has_deep = label_counts(labels, deep, count)
    on_still = label_counts(labels, loose_on_still, count)
    for y in range(height):
        for x in range(width):
            label = labels[y, x]
            if loose[y, x] != 0 and has_deep[label] > 0 and on_still[label] > 0:
                out[y, x] = 255
    return True


@numba.njit(["void(u1[:, ::1], f4[:, ::1], u1[:, ::1], f4, f8, u1[:, ::1])"], **_JIT)
def off_strand_ends(seeds, new_lines, strand_texels, half_new, share, out):  # pragma: no cover - compiled
    """``out``: ``seeds`` but those on new dark lines (``new_lines`` over ``half_new``) or strands
    (``strand_texels``), joined over a one-texel gap, of which strands make ``share`` or more
    (``skin_memory.SkinMemory._off_strand_ends``)."""
    height, width = seeds.shape
    lined = np.zeros((height, width), np.uint8)
    for y in range(height):
        for x in range(width):
            if new_lines[y, x] > half_new or strand_texels[y, x] != 0:
                lined[y, x] = 255
    labels = np.empty((height, width), np.int32)
    count = _joined_parts(lined, labels)
    strand, line = label_counts(labels, strand_texels, count), label_counts(labels, lined, count)
    for y in range(height):
        for x in range(width):
            label = labels[y, x]
            end = label != 0 and strand[label] > 0 and strand[label] >= share * line[label]
            out[y, x] = 0 if end else seeds[y, x]


# why: one loop over the texels with every mask of one texel in registers; as OpenCV calls, fourteen passes.
@numba.njit(["void(u1[:, ::1], u1[:, ::1], u1[:, ::1], f4[:, ::1], u1[:, ::1], u1[:, ::1], u1, u1, f4, f4, "
             "u1[:, ::1], u1[:, ::1], u1[:, ::1])"], **_JIT)
def step_covered(score, excess, luma, reference, covered, valid, leave_above, enter_above, band_low, band_high,
                 as_usual, skin_like, grown):  # pragma: no cover - compiled
    """The colour test's hysteresis (``occlusion.Occlusion.visible``), in place on ``covered`` (uint8 255):
    a valid texel is covered where its smoothed ``score`` is over ``enter_above``, or over ``leave_above``
    where it was covered and its brightness is off its usual (``as_usual``: ``luma`` / ``reference``, at
    least 1, outside ``band_low`` .. ``band_high``). Also ``skin_like``: valid texels whose ``excess`` score
    is under 128 and that are not covered now; ``grown``: ``covered`` and the valid texels beside it
    (3x3) whose ``score`` is over ``leave_above``: hysteresis in space as in time (a texel half over a cup's
    edge scores half as much as one under it)."""
    height, width = score.shape
    for y in range(height):
        for x in range(width):
            ratio = np.float32(luma[y, x]) / max(reference[y, x], np.float32(1.0))
            usual = band_low <= ratio <= band_high
            as_usual[y, x] = 255 if usual else 0
            level = score[y, x]
            now = valid[y, x] != 0 and (level > enter_above or (
                level > leave_above and covered[y, x] != 0 and not usual))
            covered[y, x] = 255 if now else 0
            skin_like[y, x] = 255 if valid[y, x] != 0 and excess[y, x] < 128 and not now else 0
    for y in range(height):
        for x in range(width):
            near = covered[y, x]
            if near == 0 and valid[y, x] != 0 and score[y, x] > leave_above:
                for ny in range(max(y - 1, 0), min(y + 2, height)):
                    for nx in range(max(x - 1, 0), min(x + 2, width)):
                        near |= covered[ny, nx]
            grown[y, x] = near if valid[y, x] != 0 else 0


@numba.njit(["void(u1[:, ::1], u1[:, ::1], u1[:, ::1], u1[:, ::1], f4[:, ::1], f4, f4, u1[:, ::1], f4[:, ::1], f4)"],
            **_JIT)
def learn_texels(luma, as_usual, valid, busy, reference, learn, release, saturation_now, saturation,
                 saturation_learn):  # pragma: no cover - compiled
    """The colour test learns (``occlusion.Occlusion.visible``, once the memory of the skin has spoken): a valid
    texel's ``reference`` follows ``luma`` at ``learn`` while clear (not ``busy``) and ``as_usual``, at
    ``release`` while busy; its ``saturation`` follows ``saturation_now`` at ``saturation_learn`` while clear."""
    height, width = valid.shape
    for y in range(height):
        for x in range(width):
            if valid[y, x] == 0:
                continue
            if busy[y, x] != 0:
                reference[y, x] = _follow(reference[y, x], np.float32(luma[y, x]), release)
                continue
            if as_usual[y, x] != 0:
                reference[y, x] = _follow(reference[y, x], np.float32(luma[y, x]), learn)
            saturation[y, x] = _follow(saturation[y, x], np.float32(saturation_now[y, x]), saturation_learn)
