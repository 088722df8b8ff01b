"""What each bit of one face's skin usually looks like, to see a hand of the face's own colour over it.

A hand has the face's chroma and nearly its brightness, so colour alone cannot see it, and a
per-texel memory of the look alone flickers on a talking face (a cheek that rises in a smile
changes as much as a hand over it). So two kinds of evidence, joined by connectivity:

* **seeds**, strong and rare: thin dark lines much darker than any this texel had (the gaps
  between fingers, a hand's outline) on skin facing the camera, twice as dark on the eyelids,
  brows and lips (they make lines of their own): in the texels' 3x3 means, or half as dark there
  and new through each texel's darkest pixel (a line a pixel wide); none along what the colour
  test already holds back (a cup's rim), along **strands** (lines far darker than any shadow in
  parts, where this skin is usually lit: hair, a frame; the renderer holds paint back on those
  pixels themselves) or within a texel of a pixel darker than any shadow of the skin there (a strand
  over dim skin);
  a talking, blinking face makes none. And a **palm**:
  skin whose usual look has edges (lids, lashes, a brow, a nostril) gone smooth, under 0.3x
  their usual strength over 16 connected texels or more (4 within what was held the frame before:
  a real palm's grain breaks that area up); strands of hair add edges, a blink or a smile moves
  them, only something flat in front takes them away;
* **weak evidence**, common: the texel's look (3x3 means of Y, Cr, Cb) is off its remembered one
  over a coherent 7x7 area (new thin lines left out of the average), and has the colour of what
  lies between the last seeds (the fingers).

While a seed is seen, what is held is every connected area of weak evidence or seeds that holds a
seed now or was held the frame before, and lies within a hand's reach of a seed seen in the last half
second (and near a seed seen now, where it spans more than a few dozen texels per such seed), closed
over a finger's width (a finger's inside looks like the skin it covers; its two outlines do not): a
hand is found by its fingers, followed over its palm while it stays, and let go where the face looks
as it used to or once its seeds have gone. The memory follows each texel slowly while it is clear,
far more slowly while held, so a wrong memory never holds paint back for good.

What it cannot see: a hand of the skin's own colour over plain skin (a cheek) whose fingers
never cross the look's box, and a hand held perfectly still for long (the memory learns it).
"""

from __future__ import annotations

import cv2
import numpy as np

from arfilter.core.compiled import arg
from arfilter.render import memory_kernels
from arfilter.render.labels import label_counts, labels_where
from arfilter.render.regions import LEFT_BROW_CONTOUR, OUTER_LIPS_CONTOUR, RIGHT_BROW_CONTOUR
from arfilter.render.unwrap import TEXELS_PER_UV, grid_coordinates
from arfilter.render.warp import Roi
from arfilter.tracking.mesh import LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR

MOVING_GROW = 0.03  # UV: how far around the eyes, brows and lips the skin counts as moving
STILL_FACING = 0.7  # facing cosine under which skin is not judged for seeds (the mesh slides at the outline)
LINE_NEW = 15.0  # % of the skin's brightness: a dark line this much darker than any the texel had is a seed
LINE_NEW_MOVING = 30.0  # the same on the eyelids, brows and lips (they make lines of their own)
# A line half as new as that in the 3x3 means is a seed too where, read through each texel's darkest pixel
# (UvView.darkest: sharp, where the means blur a line a pixel or two wide to a third of its depth), it is
# DARKEST_LINE_NEW times as new, in runs of two texels: a hand's outline on a face seen at 720p. Measured
# (bench_occlusion.py), paint on the hand: glasses_smile's black eye 9.2 -> 6.2 %, cheek 11.5 -> 6.4 %, whole
# face 5.4 -> 3.0 %; the webcam's cheek 5.4 -> 1.6 %; head turns' black eye 16.1 -> 13.1 %. Paint kept
# elsewhere fell 0.0-1.7 points (the talking woman's cheek 82.6 -> 81.3 %, glasses_smile's 95.6 -> 93.9 %):
# more is held around a hand. Through the darkest pixels alone the talking woman's bare cheek kept 85.5 % of
# its paint (97.4 %); with a half-new mean at 1.0, 256 of its texels were held over 11 of 30 frames; at 1.3,
# single texels in 6 frames; in runs of two, none.
LINE_CONFIRMED = 0.5
DARKEST_LINE_NEW = 1.3
WEAK_FLOOR = np.array([6.0, 3.0, 3.0], np.float32)  # weak evidence: mean offset over Y (% of usual), Cr, Cb
WEAK = 1.0  # in those floors
REACH = 40.0  # texels (~0.3 UV): the furthest a held texel lies from a seed (a hand's size)
SEED_KEEP = 15  # frames a seed counts for reaching (a hand's fingers may leave the look's box)
# A hold spans at most HOLD_PER_SEED texels per seed seen now; beyond that it keeps only what lies within
# 15 texels of one (_SEED_NEAR): a hand leaving takes its hold with it. Before, with its last seeds gone, the
# hold stayed wherever the skin still looked unlike its memory, and the talking woman squinted as the hand
# left: her whole cheek held for half a second (bench_occlusion.py: her looks kept 87.0 / 84.3 / 88.5 ->
# 91.3 / 92.0 / 91.2 %; paint on the hands within 0.5 point; 10 per seed: head turns' whole face 4.3 -> 5.8 %
# on the hand; 8 texels near: the webcam's black eye 0.5 -> 1.9 %). With no seed now nothing is held: it
# also keeps a hold from spreading once hair has left (the bare skin strands leave differs from the memory,
# their shade beside them: the talking woman's whole cheek was held after her hair had gone).
HOLD_PER_SEED = 30
# And a hold needs at least SEEDS_LEAST seed texels now: a hand's gaps and outline are long lines, while a
# crease deepening in a smirk is a few texels (4 in the talking woman's frames 37-47, where the memory then
# held 280 texels of her cheek: the whole face's paint there 93.7 % kept; 97.8 % with this). Over the
# bench (bench_occlusion.py): paint on the hands within 0.3 point (the webcam's black eye 0.6 -> 0.9 %),
# kept elsewhere up to +0.4 (glasses_smile's cheek 96.9 -> 97.3 %, the talking woman's whole face 91.2 -> 91.5 %).
SEEDS_LEAST = 6
_SEED_NEAR = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (31, 31))
LIKE = 3.0  # spreads: a texel this close to the colour between the seeds may belong with them
LIKE_FLOOR = np.array([4.0, 2.0, 2.0], np.float32)  # never tighter than this (levels)
LIKE_LUMA = 15.0  # % of brightness per spread (a hand is shaded across)
COHERENT = 7  # texels: the square the look's offset is averaged over
LEARN = 0.05  # per frame, the usual look of clear texels
RELEASE = 0.005  # per frame, the usual look of held texels
# A palm: edges gone from textured skin. Measured on the hand clips (bench_occlusion.py, the eye's box):
# under 0.4x the usual edges on 30-43 % of the hand's textured texels, on 0.5-0.8 % of the skin's.
# On bare talking faces a crease relaxing or a lip pressing smooths patches of up to 31 texels at 0.35;
# at 0.3 and 16 texels none of 516 frames of five bare clips (speech, talking, grimaces, glasses, head
# turns) shows a palm: at 0.35 the memory grew from such a patch and the whole face's painted area
# jumped 36 % in a frame of the speech clip.
TEXTURED = 8.0  # % of the skin's brightness: usual edge strength from which a texel counts as textured
SMOOTHED = 0.3  # edge strength now / usual under which a textured texel is smoothed over
PALM_AREA = 16  # texels: the least connected area smoothed over that is a palm
# Within what the memory held the frame before, a palm goes on where its smoothed-over texels make areas of
# PALM_HELD_AREA or more (hysteresis). A real hand has skin's grain: its edges break a palm's smoothed-over area
# into pieces, and with fewer than SEEDS_LEAST seeds in a frame the whole hold dropped and the paint flashed onto
# the hand (the webcam's cheek with a hand of three times his skin's grain, bench_occlusion.py --hand-grain 3:
# 17.6 -> 0.4 % of the paint on the hand; glasses_smile's black eye 5.8 -> 3.8 %, cheek 4.8 -> 3.2 %, whole face
# 3.9 -> 2.7 %; head turns' cheek 40.2 -> 33.3 %, whole face 8.1 -> 7.4 %; the flat hands 0.0-1.7 points less,
# paint kept elsewhere 0.0-0.3 points less). At 2 texels the talking woman's cheek kept 92.2 -> 91.1 %.
PALM_HELD_AREA = 4
PALM_FACING = 0.4  # facing cosine under which no palm is looked for (foreshortening blurs the unwrap)
# Strands of hair: a pixel far darker than any shadow on this face (the darkest within a pixel of the texel,
# against the skin's brightness) over skin whose darkest is usually well lit (no lash, brow or eyeliner of
# its own). They are no seeds: a hand's gaps are shadows of its skin (0.4-0.7 of it), strands and frames
# are far darker. As seeds they grew the memory over all the skin between them (bench_occlusion.py: paint
# kept elsewhere 76-89 % on the cheek; a speaker's lower lip made them too, the whole face's painted area
# jumped 18 % in a frame).
STRAND_DARK = 0.38
STRAND_THIN = 0.12
USUALLY_LIT = 0.5
# A strand is as dark as that only in parts where it is darkest, thickest, or over the darkest skin (a
# paler strand on a dim face, its soft edge): its other parts count where they are joined to those
# (hysteresis), under STRAND_LOOSE of the skin's brightness and under STRAND_NEW of the darkest this skin
# usually has within a texel (a glasses frame's rim there from the start, which a strand crosses, stays the
# face's). Left out, those parts seeded the memory and it held the skin between the strands: the talking
# woman's cheek kept 81.0 -> 82.6 % of its paint, her whole face 86.3 -> 88.4 % (bench_occlusion.py).
# Without STRAND_NEW the webcam subject's rim counted, and his black eye kept 86.5 -> 82.3 %.
STRAND_LOOSE = 0.5
STRAND_NEW = 0.7
# A new dark line joined to a strand, paler than STRAND_LOOSE (a strand fading out over lit skin), is the
# strand going on where at least STRAND_SHARE of the joined line's texels are a strand's: it seeds nothing.
# As seeds, those pale ends held the talking woman's cheek between strands (kept 79.7 -> 84.3 %,
# bench_occlusion.py); a hand's gap that touches a stray strand texel or a glasses wire still seeds (by all
# the joined lines, glasses_smile's hand took 4.3 -> 6.1 % of the black eye's paint).
STRAND_SHARE = 1.0 / 3.0
# No seed lies within a texel of a pixel darker than GAP_DARKEST of that texel's usual brightness (its 3x3
# means): a hand's gap is a shadow of skin (0.4-0.7 of it), a strand is darker. Where the skin is dim (the
# talking woman's under-eye: the box's skin mean 88, strands at 0.39-0.46 of it) a strand is no "strand" by
# STRAND_DARK against the box's skin, and it and the texels beside it (their means darkened by it) seeded the
# skin between the strands: her black eye kept 88.9 -> 95.0 % of its paint around the strands over it, her
# cheek 92.9 -> 95.3 % (bench_occlusion.py's hair passes); no hand's figure moved. At 0.5, hands lost up to
# 0.3 point.
GAP_DARKEST = 0.4
_LINE = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))  # lines thinner than this are "lines"
_NEAR = np.ones((3, 3), np.uint8)
_RING = np.ones((7, 7), np.uint8)
# Texels: the widest a finger is between its two outlines (the hold is closed over it). Measured
# (bench_occlusion.py), paint on the hand: head turns' black eye 13.4 -> 3.7 %, whole face 8.5 -> 4.3 %;
# glasses_smile's black eye 6.5 -> 4.3 %, cheek 6.4 -> 1.4 %. Paint kept elsewhere fell 0.0-0.6 points
# (more is held around a hand), 2.2 on the talking woman's cheek (81.9 -> 79.7 %: strands that seed).
# 11 texels: head turns' black eye 10.8 %; 19: 2.8 %, and 0.4 points less kept.
_FINGER = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15))
_NONE = np.zeros((1, 1), np.uint8)  # for an array a kernel won't read
_NONE_F = np.zeros((1, 1), np.float32)


def edge_strength(luma: np.ndarray) -> np.ndarray:
    """float32: how strongly the brightness (uint8) changes around each texel (Sobel magnitudes in x
    and y, summed, 5x5 means): lids, lashes and brows have edges, a palm has few."""
    across = cv2.convertScaleAbs(cv2.Sobel(luma, cv2.CV_16S, 1, 0))
    down = cv2.convertScaleAbs(cv2.Sobel(luma, cv2.CV_16S, 0, 1))
    return cv2.blur(cv2.add(across, down, dtype=cv2.CV_32F), (5, 5))


def still_skin(uvs: np.ndarray, box: Roi) -> np.ndarray:
    """bool over ``box`` (grid texels): skin that keeps its look while the face talks and blinks."""
    moving = np.zeros((box.height, box.width), np.uint8)
    if box.empty:
        return moving > 0
    grid = grid_coordinates(uvs) - np.array([box.x, box.y])
    for contour in (LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR, OUTER_LIPS_CONTOUR, LEFT_BROW_CONTOUR, RIGHT_BROW_CONTOUR):
        cv2.fillPoly(moving, [np.round(grid[list(contour)]).astype(np.int32)], 255)
    radius = max(int(round(MOVING_GROW * TEXELS_PER_UV)), 1)
    moving = cv2.dilate(moving, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2))
    return moving == 0


class SkinMemory:
    """One face's memory over one look's box; :meth:`held` once per frame.

    Masks are uint8 (255 = yes) for OpenCV's speed; most frames have no seed near, and then only
    the lines are looked for and the memory follows the face (a few small operations)."""

    def __init__(self, still: np.ndarray, ycc: np.ndarray, valid: np.ndarray, darkest: np.ndarray | None = None) -> None:
        # Lines must be this much darker than the usual (levels per % of the skin's brightness).
        self._line_scale = np.where(still, np.float32(LINE_NEW), np.float32(LINE_NEW_MOVING)) / np.float32(100.0)
        self._still = still.view(np.uint8) * np.uint8(255)
        look = cv2.blur(ycc, (3, 3))
        self.look = look.astype(np.float32)  # (h, w, 3) the usual Y, Cr, Cb (3x3 means)
        luma = cv2.extractChannel(look, 0)
        self.lines = cv2.morphologyEx(luma, cv2.MORPH_BLACKHAT, _LINE).astype(np.float32)
        # (h, w) the usual lines through each texel's darkest pixel (:data:`DARKEST_LINE_NEW`); None: unknown
        self.dark_lines = None if darkest is None else _dark_lines(luma, darkest).astype(np.float32)
        self.edges = edge_strength(luma)  # (h, w) the usual edge strength
        self.palm = np.zeros(valid.shape, np.uint8)  # texels a palm smooths over this frame
        self.known = valid.copy()
        self.held_now = np.zeros(valid.shape, np.uint8)
        self.hand: np.ndarray | None = None  # what lies between the seeds: Y, Cr, Cb medians and spreads
        self.since_seed = np.full(valid.shape, SEED_KEEP, np.uint8)  # frames since each texel was a seed
        # (h, w) the usual darkest brightness within a pixel of each texel (UvView.darkest); None: unknown
        self.darkest = None if darkest is None else darkest.astype(np.float32)
        self.strands = np.zeros(valid.shape, np.uint8)  # texels a strand (far darker than usual) crosses now

    def held(self, ycc: np.ndarray, valid: np.ndarray, facing: np.ndarray, skin_luma: float,
             unlike_skin: np.ndarray, darkest: np.ndarray | None = None, look: np.ndarray | None = None) -> np.ndarray:
        """uint8 255: texels a hand (or anything) of the skin's own colour holds now. ``unlike_skin``
        (uint8 255): texels already held back for their colour: lines along them (a cup's rim, strands
        of hair) are no seeds, and the memory does not learn there. ``darkest``: the view's
        (:attr:`UvView.darkest`), which finds strands (:data:`STRAND_DARK`) thinner than a texel.
        ``look``: ``ycc``'s 3x3 means, if the caller has them already (the colour test does)."""
        look = cv2.blur(ycc, (3, 3)) if look is None else look
        luma = cv2.extractChannel(look, 0)
        self.strands = self._strands(darkest, luma, valid, skin_luma)
        unlike_skin = cv2.max(unlike_skin, self.strands)
        lines = cv2.morphologyEx(luma, cv2.MORPH_BLACKHAT, _LINE)
        near_colour = cv2.dilate(unlike_skin, _RING)
        dark_lines = None if darkest is None or self.dark_lines is None else _dark_lines(luma, darkest)
        edges = edge_strength(luma)
        # Seeds only on skin seen before, facing the camera, away from what the colour test holds; a palm's
        # candidates on skin facing it less strictly (compiled: memory_kernels.seeds_and_palm).
        new_lines, seeds, palm = (np.empty(valid.shape, np.float32), np.empty(valid.shape, np.uint8),
                                  np.empty(valid.shape, np.uint8))
        skin = max(skin_luma, 1.0)
        memory_kernels.seeds_and_palm(
            lines, cv2.dilate(self.lines, _LINE), _NONE if dark_lines is None else dark_lines,
            _NONE_F if dark_lines is None else cv2.dilate(self.dark_lines, _LINE), dark_lines is not None,
            self._line_scale, np.float32(skin), np.float32(skin * DARKEST_LINE_NEW), self.known, arg(valid, np.uint8),
            facing, near_colour, edges, self.edges, STILL_FACING, PALM_FACING, TEXTURED / 100.0 * skin,
            np.float32(SMOOTHED), LINE_CONFIRMED, 1.0, 1.0, new_lines, seeds, palm)
        self.palm = self._palm(palm)
        seeds = cv2.bitwise_or(self._off_strand_ends(self._off_dark(seeds, darkest), new_lines), self.palm)
        self.since_seed = cv2.min(cv2.add(self.since_seed, 1), SEED_KEEP)
        self.since_seed[seeds > 0] = 0
        recent = cv2.compare(self.since_seed, SEED_KEEP, cv2.CMP_LT)
        held = np.zeros(valid.shape, np.uint8)
        if cv2.countNonZero(seeds) >= SEEDS_LEAST:  # with (almost) no seed now nothing is held
            seen = cv2.bitwise_and(self.known, valid)
            plain = cv2.compare(new_lines, 0.5, cv2.CMP_LT)
            weak = cv2.bitwise_and(self._weak(look, seen, plain), self._like_seeds(look, seeds, seen))
            count, labels = cv2.connectedComponents(cv2.bitwise_or(weak, seeds), connectivity=8)
            keep = (label_counts(labels, seeds, count) > 0) | (
                label_counts(labels, cv2.bitwise_and(self.held_now, weak), count) > 0)
            keep[0] = False
            # Never further from a recent seed than a hand reaches: weak evidence alone is common.
            far = cv2.distanceTransform(cv2.bitwise_not(recent), cv2.DIST_L2, 3)
            within = cv2.compare(far, REACH, cv2.CMP_LT)
            held = cv2.bitwise_and(labels_where(labels, keep), within)
            held = _within_budget(held, seeds)
            # A finger is as skin-coloured as the cheek under it and often looks as that skin usually does:
            # only its outline is new. Closed over a finger's width, two outlines hold what lies between them.
            held = cv2.bitwise_and(cv2.morphologyEx(held, cv2.MORPH_CLOSE, _FINGER), valid)
        # Edges learn nowhere near new lines: a strand's or a finger gap's edges, learned on the skin
        # beside them, made that skin "smoothed over" once they left (a palm held for no hand).
        lined = cv2.dilate(cv2.compare(new_lines, 0.5, cv2.CMP_GT), _LINE)
        use_darkest = darkest is not None and self.darkest is not None
        memory_kernels.learn_memory(
            look, lines, edges, arg(valid, np.uint8), cv2.bitwise_or(cv2.bitwise_or(held, seeds), near_colour), lined,
            darkest if use_darkest else _NONE, use_darkest, _NONE if dark_lines is None else dark_lines,
            dark_lines is not None, self.known, self.look, self.lines, self.edges,
            self.darkest if use_darkest else _NONE_F, _NONE_F if dark_lines is None else self.dark_lines,
            np.float32(LEARN), np.float32(RELEASE), np.float32(1.0 - LEARN), np.float32(1.0 - RELEASE))
        self.held_now = held
        return held

    def _palm(self, candidates: np.ndarray) -> np.ndarray:
        """uint8 255: a palm this frame: the ``candidates`` (textured texels smoothed over) in areas of
        :data:`PALM_AREA` texels or more, or of :data:`PALM_HELD_AREA` within what was held the frame before."""
        palm = _broad(candidates)
        if cv2.countNonZero(self.held_now) > 0:  # a palm held the frame before goes on in smaller pieces
            palm = cv2.max(palm, _broad(cv2.bitwise_and(candidates, self.held_now), PALM_HELD_AREA))
        return palm

    def _strands(self, darkest: np.ndarray | None, luma: np.ndarray, valid: np.ndarray, skin_luma: float) -> np.ndarray:
        """uint8 255: texels with a pixel far darker than any shadow near them now, whose darkest is
        usually well lit (see :data:`STRAND_DARK`), and the paler parts of the same lines
        (:data:`STRAND_LOOSE`). Around the eyes, brows and lips only those that go
        on over the still skin beyond (as hair falls): lashes and eyeliner move in a blink or a squint,
        and there the skin beside them is not always lit."""
        if darkest is None or self.darkest is None:
            return np.zeros(valid.shape, np.uint8)
        skin_luma = max(skin_luma, 1.0)
        out = np.empty(valid.shape, np.uint8)
        memory_kernels.strands(luma, arg(darkest, np.uint8), self.darkest, arg(valid, np.uint8), self._still,
                               STRAND_THIN * skin_luma, USUALLY_LIT * skin_luma, STRAND_DARK * skin_luma,
                               STRAND_LOOSE * skin_luma, np.float32(STRAND_NEW), out)
        return out

    def _off_dark(self, seeds: np.ndarray, darkest: np.ndarray | None) -> np.ndarray:
        """``seeds`` but those within a texel of a pixel darker than any shadow of this skin
        (:data:`GAP_DARKEST` of the texel's usual brightness): a strand over dim skin, not a hand's gap."""
        if darkest is None or cv2.countNonZero(seeds) == 0:
            return seeds
        usual = cv2.extractChannel(self.look, 0)
        too_dark = cv2.compare(darkest.astype(np.float32), usual * np.float32(GAP_DARKEST), cv2.CMP_LT)
        return cv2.bitwise_and(seeds, cv2.bitwise_not(cv2.dilate(too_dark, _NEAR)))

    def _off_strand_ends(self, seeds: np.ndarray, new_lines: np.ndarray) -> np.ndarray:
        """``seeds`` but those on new dark lines (half new, as :meth:`held`'s ``plain`` leaves out) joined to
        this frame's strands, where strands make :data:`STRAND_SHARE` of the joined line or more."""
        if cv2.countNonZero(self.strands) == 0:
            return seeds
        out = np.empty(seeds.shape, np.uint8)
        memory_kernels.off_strand_ends(seeds, new_lines, self.strands, np.float32(0.5), STRAND_SHARE, out)
        return out

    def near_strands(self) -> np.ndarray:
        """uint8 255: the texels strands cross now (:meth:`held` found them) and those beside them: where
        a pixel far darker than any shadow is a strand, whatever the face's own features there."""
        return cv2.dilate(self.strands, _NEAR)

    def usually_lit(self, skin_luma: float) -> np.ndarray:
        """uint8 255: texels whose darkest pixel is usually well lit (:data:`USUALLY_LIT`): skin with no
        dark feature of its own, where a pixel far darker than any shadow is something in front."""
        if self.darkest is None:
            return np.zeros(self.known.shape, np.uint8)
        return cv2.compare(self.darkest, USUALLY_LIT * max(skin_luma, 1.0), cv2.CMP_GT)

    def _like_seeds(self, look: np.ndarray, seeds: np.ndarray, seen: np.ndarray) -> np.ndarray:
        """uint8 255: the texel's colour is that of what lies between the seeds (the fingers), as
        last seen; everywhere before any was seen."""
        ring = cv2.bitwise_and(cv2.dilate(seeds, _RING), cv2.bitwise_not(cv2.dilate(seeds, _NEAR)))
        ring = cv2.bitwise_and(ring, seen)
        if cv2.countNonZero(ring) >= 16:
            sample = look[ring > 0][::2].astype(np.float32)
            middle = np.median(sample, axis=0)
            spread = np.maximum(np.median(np.abs(sample - middle), axis=0) * 1.5, LIKE_FLOOR)
            spread[0] = max(float(middle[0]), 1.0) * LIKE_LUMA / 100.0  # brightness: a hand is shaded across
            self.hand = np.stack([middle - LIKE * spread, middle + LIKE * spread])
        if self.hand is None:
            return np.full(seen.shape, 255, np.uint8)
        return cv2.inRange(look, self.hand[0], self.hand[1])

    def _weak(self, look: np.ndarray, seen: np.ndarray, plain: np.ndarray) -> np.ndarray:
        """uint8 255: the look is off the remembered one (outside its 3x3 range: the mesh slides a
        texel), averaged over the ``plain`` texels around (new thin lines, strands, left out); on a
        grid half as fine (the average spans 7 texels)."""
        if cv2.countNonZero(seen) < 16:
            return np.zeros(seen.shape, np.uint8)
        size = (seen.shape[1] // 2, seen.shape[0] // 2)
        usual = self.look
        high = cv2.resize(cv2.dilate(usual, _NEAR), size, interpolation=cv2.INTER_AREA)
        low = cv2.resize(cv2.erode(usual, _NEAR), size, interpolation=cv2.INTER_AREA)
        now = cv2.resize(look, size, interpolation=cv2.INTER_AREA).astype(np.float32)
        offset = cv2.max(now - high, 0.0) + cv2.min(now - low, 0.0)
        offset[..., 0] *= 100.0 / cv2.max(low[..., 0], 20.0)
        weight = cv2.resize(cv2.bitwise_and(plain, seen), size, interpolation=cv2.INTER_AREA).astype(np.float32)
        half = COHERENT // 2 + 1
        total = cv2.max(cv2.blur(weight, (half, half)), 1e-3)
        mean = cv2.blur(offset * weight[..., None], (half, half)) / (total[..., None] * WEAK_FLOOR)
        far = cv2.max(cv2.max(cv2.absdiff(mean[..., 0], 0), cv2.absdiff(mean[..., 1], 0)), cv2.absdiff(mean[..., 2], 0))
        far = cv2.resize(far, (seen.shape[1], seen.shape[0]), interpolation=cv2.INTER_LINEAR)
        return cv2.bitwise_and(cv2.compare(far, WEAK, cv2.CMP_GT), seen)


def _broad(candidates: np.ndarray, least: int = PALM_AREA) -> np.ndarray:
    """uint8 255: a palm, the ``candidates`` (textured texels smoothed over, :func:`memory_kernels.seeds_and_palm`)
    in connected areas of ``least`` texels or more."""
    if cv2.countNonZero(candidates) == 0:
        return candidates
    _, labels, stats, _ = cv2.connectedComponentsWithStats(candidates, connectivity=8)
    broad = stats[:, cv2.CC_STAT_AREA] >= least
    broad[0] = False
    return labels_where(labels, broad)


def _within_budget(held: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """``held``, or only what lies near the ``seeds`` seen now where it spans more than
    :data:`HOLD_PER_SEED` texels per seed."""
    if cv2.countNonZero(held) <= HOLD_PER_SEED * cv2.countNonZero(seeds):
        return held
    return cv2.bitwise_and(held, cv2.dilate(seeds, _SEED_NEAR))


def _dark_lines(luma: np.ndarray, darkest: np.ndarray) -> np.ndarray:
    """uint8: how far each texel's darkest pixel (or its 3x3 mean, if darker) lies under the brightness
    around it (a black-hat): lines a pixel or two wide at their full depth."""
    return cv2.morphologyEx(cv2.min(luma, darkest.astype(np.uint8, copy=False)), cv2.MORPH_BLACKHAT, _LINE)
