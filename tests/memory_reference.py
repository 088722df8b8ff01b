"""The OpenCV calls that arfilter.render.memory_kernels replaced, kept as the reference its tests compare
against (tests/test_memory_kernels.py). Each takes the kernel's arguments and returns what the kernel
writes (copies: the caller's arrays are left alone)."""

from __future__ import annotations

import cv2
import numpy as np

_NEAR = np.ones((3, 3), np.uint8)


def seeds_and_palm(lines, usual_lines, dark_lines, usual_dark_lines, use_dark, line_scale, divisor, dark_divisor,
                   known, valid, facing, near_colour, edges, usual_edges, still_facing, palm_facing, textured,
                   smoothed, confirmed_above, new_above, seed_above) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """new lines, seeds and a palm's candidates, as ``SkinMemory.held``, ``_newness``, ``_confirmed`` and
    ``_palm`` computed them (``usual_lines`` and ``usual_dark_lines`` already grown)."""
    new_lines = cv2.subtract(lines, usual_lines, dtype=cv2.CV_32F)
    new_lines /= line_scale * divisor
    seen = cv2.bitwise_and(known, valid)
    seedable = cv2.bitwise_and(seen, cv2.compare(facing, float(still_facing), cv2.CMP_GT))
    seedable = cv2.bitwise_and(seedable, cv2.bitwise_not(near_colour))
    seeds = cv2.bitwise_and(cv2.compare(new_lines, float(seed_above), cv2.CMP_GT), seedable)
    if use_dark:
        new_dark = cv2.subtract(dark_lines, usual_dark_lines, dtype=cv2.CV_32F)
        new_dark /= line_scale * dark_divisor
        confirmed = cv2.bitwise_and(cv2.compare(new_lines, float(confirmed_above), cv2.CMP_GT),
                                    cv2.compare(new_dark, float(new_above), cv2.CMP_GT))
        confirmed = cv2.bitwise_and(confirmed, seedable)
        runs = cv2.boxFilter(confirmed // 255, -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)
        seeds = cv2.bitwise_or(seeds, cv2.bitwise_and(confirmed, cv2.compare(runs, 1, cv2.CMP_GT)))
    judged = cv2.bitwise_and(seen, cv2.compare(facing, float(palm_facing), cv2.CMP_GT))
    textured_now = cv2.compare(usual_edges, float(textured), cv2.CMP_GT)
    smooth = cv2.bitwise_and(cv2.compare(edges, cv2.multiply(usual_edges, float(smoothed)), cv2.CMP_LT), textured_now)
    palm = cv2.bitwise_and(cv2.erode(smooth, _NEAR), judged)
    return new_lines, seeds, cv2.bitwise_and(palm, cv2.bitwise_not(near_colour))


def learn_memory(look, lines, edges, valid, busy, lined, darkest, use_darkest, dark_lines, use_dark_lines, known,
                 usual_look, usual_lines, usual_edges, usual_darkest, usual_dark_lines, learn, release, learn_keep,
                 release_keep) -> tuple:
    """``SkinMemory._learn``: known, usual look, lines, edges, darkest and dark lines after this frame."""
    known, usual_look, usual_lines = known.copy(), usual_look.copy(), usual_lines.copy()
    usual_edges, usual_darkest, usual_dark_lines = usual_edges.copy(), usual_darkest.copy(), usual_dark_lines.copy()
    new = cv2.bitwise_and(valid, cv2.bitwise_not(known))
    if cv2.countNonZero(new) > 0:
        np.copyto(usual_look, look, casting="unsafe", where=(new > 0)[..., None])
        np.copyto(usual_lines, lines, casting="unsafe", where=new > 0)
        if use_dark_lines:
            np.copyto(usual_dark_lines, dark_lines, casting="unsafe", where=new > 0)
        np.copyto(usual_edges, edges, where=new > 0)
        if use_darkest:
            np.copyto(usual_darkest, darkest, casting="unsafe", where=new > 0)
        known = cv2.bitwise_or(known, new)
    old = cv2.bitwise_and(valid, cv2.bitwise_not(new))
    clear = cv2.bitwise_and(old, cv2.bitwise_not(busy))
    cv2.accumulateWeighted(look, usual_look, float(learn), mask=clear)
    cv2.accumulateWeighted(lines, usual_lines, float(learn), mask=clear)
    if use_dark_lines:
        cv2.accumulateWeighted(dark_lines, usual_dark_lines, float(learn), mask=clear)
    cv2.accumulateWeighted(edges, usual_edges, float(learn), mask=cv2.bitwise_and(clear, cv2.bitwise_not(lined)))
    cv2.accumulateWeighted(look, usual_look, float(release), mask=cv2.bitwise_and(old, busy))
    if use_darkest:
        cv2.accumulateWeighted(darkest, usual_darkest, float(learn), mask=clear)
        cv2.accumulateWeighted(darkest, usual_darkest, float(release), mask=cv2.bitwise_and(old, busy))
    return known, usual_look, usual_lines, usual_edges, usual_darkest, usual_dark_lines


def _parts(mask: np.ndarray, *counted: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """``mask`` grown by a texel, its 8-connected labels, and per label how many texels of each of
    ``counted`` it holds (numpy's bincount)."""
    count, labels = cv2.connectedComponents(cv2.dilate(mask, _NEAR), connectivity=8)
    return labels, [np.bincount(labels[part > 0], minlength=count) for part in counted]


def strands(luma, darkest, usual_darkest, valid, still, thin_above, lit_above, dark_below, loose_below,
            new_share) -> tuple[bool, np.ndarray]:
    """``SkinMemory._strands`` (whether any texel was deep, and the strands)."""
    thin = cv2.compare(cv2.subtract(luma, darkest), thin_above, cv2.CMP_GT)
    thin = cv2.bitwise_and(cv2.bitwise_and(thin, cv2.compare(usual_darkest, float(lit_above), cv2.CMP_GT)), valid)
    deep = cv2.bitwise_and(cv2.compare(darkest, dark_below, cv2.CMP_LT), thin)
    if cv2.countNonZero(deep) == 0:
        return False, deep
    new = cv2.compare(darkest, cv2.multiply(cv2.erode(usual_darkest, _NEAR), float(new_share)), cv2.CMP_LT)
    loose = cv2.bitwise_and(cv2.bitwise_and(cv2.compare(darkest, loose_below, cv2.CMP_LT), new), thin)
    loose = cv2.bitwise_or(loose, deep)
    labels, (on_still, on_deep) = _parts(loose, cv2.bitwise_and(loose, still), deep)
    keep = (on_deep > 0) & (on_still > 0)
    keep[0] = False
    return True, cv2.bitwise_and(loose, keep[labels].view(np.uint8) * np.uint8(255))


def off_strand_ends(seeds, new_lines, strand_texels, half_new, share) -> np.ndarray:
    """``SkinMemory._off_strand_ends`` with strands present."""
    lined = cv2.bitwise_or(cv2.compare(new_lines, float(half_new), cv2.CMP_GT), strand_texels)
    labels, (strand, line) = _parts(lined, strand_texels, lined)
    ends = (strand > 0) & (strand >= share * line)
    ends[0] = False
    return cv2.bitwise_and(seeds, cv2.bitwise_not(ends[labels].view(np.uint8) * np.uint8(255)))


def step_covered(score, excess, luma, reference, covered, valid, leave_above, enter_above, band_low,
                 band_high) -> tuple[np.ndarray, ...]:
    """``Occlusion.visible``'s hysteresis, ``_learn``'s clear skin and ``_grown``: covered, as usual, skin-like
    and grown."""
    entering = cv2.compare(score, int(enter_above), cv2.CMP_GT)
    staying = cv2.bitwise_and(cv2.compare(score, int(leave_above), cv2.CMP_GT), covered)
    as_usual = cv2.inRange(luma.astype(np.float32) / cv2.max(reference, 1.0), float(band_low), float(band_high))
    staying = cv2.bitwise_and(staying, cv2.bitwise_not(as_usual))
    covered = cv2.bitwise_and(cv2.bitwise_or(entering, staying), valid)
    skin_like = cv2.bitwise_and(cv2.compare(excess, 128, cv2.CMP_LT), valid)
    skin_like = cv2.bitwise_and(skin_like, cv2.bitwise_not(covered))
    near = cv2.bitwise_and(cv2.dilate(covered, _NEAR), cv2.compare(score, int(leave_above), cv2.CMP_GT))
    grown = cv2.bitwise_and(cv2.max(covered, near), valid)
    return covered, as_usual, skin_like, grown


def learn_texels(luma, as_usual, valid, busy, reference, learn, release, saturation_now, saturation,
                 saturation_learn) -> tuple[np.ndarray, np.ndarray]:
    """``Occlusion._learn_reference`` and the usual saturation's step: reference, saturation."""
    reference, saturation = reference.copy(), saturation.copy()
    clear = cv2.bitwise_and(cv2.bitwise_and(valid, as_usual), cv2.bitwise_not(busy))
    cv2.accumulateWeighted(luma, reference, float(learn), mask=clear)
    cv2.accumulateWeighted(luma, reference, float(release), mask=cv2.bitwise_and(valid, busy))
    cv2.accumulateWeighted(saturation_now, saturation, float(saturation_learn),
                           mask=cv2.bitwise_and(valid, cv2.bitwise_not(busy)))
    return reference, saturation
