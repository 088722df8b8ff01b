"""Which parts of a look still show this face's skin: paint is held back where something covers it.

A microphone, a cup, strands of hair or a glasses frame in front of the face
must keep their own look. No second model is available, so what lies under
the paint is judged by its colour against this face's own skin (YCrCb's Cr
and Cb in the skin's own spreads, brightness against the skin's, and
saturation: far greyer than skin), in two places:

* **per texel** of the look's UV box (:class:`~arfilter.render.unwrap.UvView`:
  the same bit of skin in every frame), where it has a state: a texel becomes
  covered above a high score and clear again only below a low one
  (hysteresis, so nothing flickers), and broad areas unlike skin from the
  first frame on (brows, eye make-up, a shadowed socket) count as the face's
  own; the covered mask grows into the texels beside it that score over the low threshold (half
  over the edge), and the paint fades in beside it, not over it. Far darker or brighter than the
  skin counts only where it is also far off what that texel usually is (a
  per-texel reference, learned while it is clear): a cheek lit in a squint and
  the lashes' line moving onto the lid were held back before;
* **per screen pixel** under the paint (:mod:`~arfilter.render.occlusion_pixels`): a glasses
  frame or a strand of hair is thinner than a texel, so only the screen sees
  it: by its chroma, by being far greyer or darker than skin, or by being a
  thin line far darker (a strand, a dark frame) or far brighter (a metal
  frame catching the light) than the skin on both sides of it; "far greyer"
  against what this bit of skin usually is, where it is paler than the face.

A hand (or anything) of the face's own skin colour is seen by
:class:`~arfilter.render.skin_memory.SkinMemory` (given the mesh's UVs): new
thin dark lines (the gaps between fingers) on skin that neither talks nor
blinks, and a palm (the edges of lids, lashes and brows gone flat), grown over
what is connected to them and looks unlike the texel's memory; holes in it (an
eye under the hand) are filled, and an area a palm smooths is held to its
outline (a per-texel memory alone held paint back in flickering patches on a
talking face). Faces unseen for ~2 s of frames are forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from arfilter.render import memory_kernels, occlusion_kernels, occlusion_pixels
from arfilter.render.hand_outline import enclosed
from arfilter.render.skin_memory import SkinMemory, still_skin
from arfilter.render.unwrap import UvView
from arfilter.render.warp import Roi

FORGET_AFTER = 60  # calls of seen() without the face (~2 s at 30 fps): a hand may hide a face for a frame
HYSTERESIS = (90, 150)  # smoothed score (0-255) to leave / enter "covered"
CHROMA_SIGMAS = (2.5, 4.0)  # |Cr or Cb - the face's skin| in its own spreads: score 0 .. 255
DARK = (0.42, 0.26)  # brightness / the face's skin brightness: score 0 at the first, 255 at the second
BRIGHT = (1.3, 1.55)
# Far greyer than the skin (saturation / the skin's: score 0 at the first, 255 at the second): a microphone
# or a glasses frame whose hue is only 3 of this skin's spreads off (a face with a varied tone) is still
# far greyer. Stricter than per pixel (occlusion_pixels.GATE_GREY): a texel mixes what lies side by side. The microphone
# over the glasses clip's black eye: 7.2 -> 1.0 % of the paint on it (bench_occlusion.py).
GREY = (0.5, 0.3)
SKIN_RANGE = ((40, 133, 77), (255, 173, 127))  # Y, Cr, Cb: any human skin's chroma (Chai and Ngan 1999)
USUAL_CAP = 80  # the most of the colour score a broad feature of the face may have at the start
# Make-up of a hue no skin has (a blue or green eyeshadow, a purple lipstick) on the moving skin around the
# eyes and lips scores over USUAL_CAP: it was held back as if something covered it, and the bruise stopped at
# the eyeshadow. There its whole first score is usual while its chroma stays within MAKE_UP_DRIFT levels
# (Cr and Cb, 3x3 means) of its first: a microphone or a cup over it (greys) changes that, and is held as
# before. Only coloured make-up (a chroma MAKE_UP_CHROMA levels or more from grey, outside SKIN_RANGE): dark
# brows, lashes and sockets are as grey as a microphone.
MAKE_UP_DRIFT = 12
MAKE_UP_CHROMA = 12
SKIN_LEARN = 0.05  # per frame, the face's skin statistics
MIN_SPREAD = 3.0  # Cr/Cb levels: the skin statistics' spread is never taken tighter than this
# Per texel, brightness against what this texel usually is (its reference, learned while clear): a lit
# cheek in a squint or the lashes moving onto the lid stay paint; a cup arriving is far off what was there.
REFERENCE_DARK = (0.75, 0.5)  # brightness / the darkest reference nearby: score 0 .. 255
REFERENCE_BRIGHT = (1.15, 1.4)  # brightness / the brightest reference nearby: score 0 .. 255
REFERENCE_BAND = 0.15  # a texel learns only while within this of its reference (a strand or a cup never)
REFERENCE_LEARN = (0.05, 0.005)  # per frame, while clear / while held
# A texel brighter than the face's skin that keeps at least this share of the skin's saturation is skin in
# more light, never something bright in front: a cheek bunched up into the light by a squint is 1.8x the
# skin's brightness and 1.5x its own usual, with 0.8 of the skin's saturation; a white or grey cup has
# almost none. Held as "far brighter", it cut a skin-coloured patch into the talking woman's cheek bruise
# while she grimaced (12 frames, up to 18 % of the bruise's paint).
LIT_SATURATION = 0.5
# Per pixel, "far greyer" is taken against how saturated this bit of skin usually is where that is under
# PALE of the face's mean (per texel, learned while clear at SATURATION_LEARN a frame; broad areas only: a
# 3x3 closing fills in a wire or a strand): a pale lid or inner corner is the face's own. On the webcam
# subject they cut skin-coloured blocks into the black eye. Kept (bench_occlusion.py): his whole face 88.8 ->
# 93.1 %, black eye 84.9 -> 86.4 %. With PALE 1.0, a silver rim over skin a little paler was tinted (6.6 %).
PALE = 0.75
SATURATION_LEARN = 0.05
_KERNEL = np.ones((3, 3), np.uint8)
_OPEN = np.ones((5, 5), np.uint8)  # features thinner than this (texels) are never "usual"


@dataclass
class _Face:
    """What one face's skin looks like: its colour statistics and which texels are covered."""

    covered: np.ndarray  # (h, w) uint8 255: the hysteresis state
    skin: np.ndarray  # (5,) float32: Y, Cr, Cb means over the skin; Cr, Cb spreads
    usual: np.ndarray  # (h, w) uint8: the colour score broad features had at the start (brows, make-up)
    own: np.ndarray  # (h, w) uint8 255: where those broad features are
    memory: SkinMemory | None  # what each texel usually looks like (None without the mesh's UVs)
    reference: np.ndarray  # (h, w) float32: how bright each texel usually is (3x3 means), learned while clear
    saturation: np.ndarray  # (h, w) float32: this texel's usual saturation / the face's, 1-255 (SATURATION_LEARN)
    # Strong make-up on moving skin: its whole first colour score (uint8, 0 elsewhere) and the chroma range
    # (two (h, w, 3) uint8 YCrCb bounds, Y left free) within which it is still the make-up; None on most faces.
    make_up: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    unseen: int = 0


def _skin_statistics(ycc: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """Y, Cr, Cb means over ``mask`` (uint8) and the Cr, Cb spreads (never under :data:`MIN_SPREAD`)."""
    if cv2.countNonZero(mask) < 16:
        return None
    mean, std = cv2.meanStdDev(ycc, mask=mask)
    return np.array([*mean.ravel(), *np.maximum(std.ravel()[1:], MIN_SPREAD)], np.float32)


_COLOUR_RAMPS = occlusion_kernels.ramps((0, 0, 1, 2), DARK, BRIGHT, CHROMA_SIGMAS, CHROMA_SIGMAS)


_REFERENCE_RAMPS = np.array([REFERENCE_DARK[0], 255.0 / (REFERENCE_DARK[1] - REFERENCE_DARK[0]),
                             REFERENCE_BRIGHT[0], 255.0 / (REFERENCE_BRIGHT[1] - REFERENCE_BRIGHT[0])], np.float32)
_NO_REFERENCE = np.zeros((1, 1), np.float32)  # for an array a kernel won't read


def _broad_saturation(ycc: np.ndarray, skin: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """uint8 per texel: its saturation as a share of :data:`PALE` of the face's
    (:func:`occlusion_kernels.texel_saturation`) over areas at least 3 texels wide (a frame's wire or a
    strand, narrower and greyer, is filled in)."""
    share = np.empty(valid.shape, np.uint8)
    pale = np.float32(PALE * occlusion_pixels.saturation_share(skin))
    occlusion_kernels.texel_saturation(ycc, occlusion_pixels.CHROMA, pale, valid, share)
    return cv2.bitwise_and(cv2.morphologyEx(share, cv2.MORPH_CLOSE, _KERNEL), valid)


def _make_up(broad: np.ndarray, ycc: np.ndarray,
             still: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """:attr:`_Face.make_up` from a face's first frame: ``broad``, its broad features' colour scores, where
    over :data:`USUAL_CAP` on moving skin (not ``still``), with their chroma range; None where there is none."""
    if still is None:
        return None
    strong = cv2.bitwise_and(cv2.compare(broad, USUAL_CAP, cv2.CMP_GT), cv2.bitwise_not(still.view(np.uint8) * 255))
    if cv2.countNonZero(strong) == 0:
        return None
    look = cv2.blur(ycc, (3, 3))
    grey = cv2.inRange(look, (0, 128 - MAKE_UP_CHROMA + 1, 128 - MAKE_UP_CHROMA + 1),
                       (255, 128 + MAKE_UP_CHROMA - 1, 128 + MAKE_UP_CHROMA - 1))
    skin_hue = cv2.inRange(look, (0, *SKIN_RANGE[0][1:]), (255, *SKIN_RANGE[1][1:]))
    strong = cv2.bitwise_and(strong, cv2.bitwise_not(cv2.max(grey, skin_hue)))
    if cv2.countNonZero(strong) == 0:
        return None
    # Bounds over all three channels, brightness free (0-255): the frame's 3x3 means are compared as they are.
    drift = (0, MAKE_UP_DRIFT, MAKE_UP_DRIFT, 0)
    lower, upper = cv2.subtract(look, drift), cv2.add(look, drift)
    lower[:, :, 0], upper[:, :, 0] = 0, 255
    return cv2.bitwise_and(broad, strong), lower, upper


def _usual_now(state: _Face, look: np.ndarray) -> np.ndarray:
    """uint8 per texel: how unlike skin it may be and still be the face's own this frame (``look``: its 3x3
    means): :attr:`_Face.usual`, and strong make-up's whole first score while its chroma stays in range."""
    if state.make_up is None:
        return state.usual
    strong, lower, upper = state.make_up
    same = cv2.inRange(look, lower, upper)
    return cv2.max(state.usual, cv2.bitwise_and(strong, same))


def _faded_beside(held: np.ndarray) -> np.ndarray:
    """uint8 paint weight over the box: 0 on ``held`` texels, fading in over the texels beside them (a 3x3
    mean, so two thirds beside a straight edge), full beyond.

    Why not grown by a texel and then faded, as before: that took the paint off two texels of bare skin
    around every cup and microphone (bench_occlusion.py, paint kept elsewhere under the black eye 90.8 ->
    93.9 % on glasses_smile, 86.4 -> 89.7 % on the webcam, 95.0 -> 98.2 % on head turns), and
    :func:`memory_kernels.step_covered` grows it over the edge's mixed texels, so the paint on them did not rise
    (the talking woman's cup 4.8 -> 4.7 %, the microphones' 0.5-1.7 %)."""
    clear = cv2.bitwise_not(held)
    return cv2.min(cv2.blur(clear, (3, 3)), clear)


class Occlusion:
    """Per face (by ``face_id``): 255 where the look may paint, 0 where something covers the skin.

    ``visible`` is called once per face and frame with that face's
    :class:`UvView` of the look's box, then ``gate`` with the screen region the
    paint lands on; ``seen`` once per frame with the faces drawn.
    """

    def __init__(self, box: Roi, uvs: np.ndarray | None = None, *, memory: bool = True) -> None:
        self.box = box
        self._faces: dict[int, _Face] = {}
        # Which texels neither talk nor blink (without the mesh's UVs: unknown, and no memory of the skin).
        self._still = None if uvs is None else still_skin(uvs, box)
        self._memory = memory and uvs is not None

    def visible(self, face_id: int, view: UvView) -> np.ndarray:
        """uint8 (h, w) over the box: 255 = paint, 0 = covered (soft at the edges)."""
        ycc = cv2.cvtColor(view.image, cv2.COLOR_BGR2YCrCb)
        valid = view.valid.view(np.uint8) * np.uint8(255)
        state = self._faces.get(face_id)
        if state is None or state.covered.shape != valid.shape:
            state = self._start(ycc, valid, self._still, self._memory, view.darkest)
            if state is None:
                return np.full(valid.shape, 255, np.uint8)
            self._faces[face_id] = state
        state.unseen = 0
        colour = self._colour_score(ycc, state.skin, state.reference)
        look = cv2.blur(ycc, (3, 3))  # the 3x3 means, shared with the memory of the skin
        # Only what is less like skin than this texel used to be.
        excess = cv2.subtract(colour, _usual_now(state, look))
        score = cv2.blur(excess, (3, 3))
        luma = cv2.extractChannel(look, 0)
        # Hysteresis. A texel under the high threshold that looks as bright as it usually does is clear again:
        # the lashes' line or a frame's rim scores in the band of its own, and once something passing over it
        # had pushed it over the high threshold it stayed held for good (compiled: memory_kernels.step_covered).
        as_usual, skin_like, grown = (np.empty(valid.shape, np.uint8) for _ in range(3))
        memory_kernels.step_covered(score, excess, luma, state.reference, state.covered, valid, HYSTERESIS[0],
                                    HYSTERESIS[1], np.float32(1.0 - REFERENCE_BAND), np.float32(1.0 + REFERENCE_BAND),
                                    as_usual, skin_like, grown)
        skin = _skin_statistics(ycc, skin_like)  # follow the skin's colour slowly (the light changes)
        if skin is not None:
            state.skin += SKIN_LEARN * (skin - state.skin)
        by_memory = None if state.memory is None else state.memory.held(ycc, valid, view.facing,
                                                                        float(state.skin[0]), state.covered,
                                                                        view.darkest, look)
        busy = state.covered if by_memory is None else cv2.max(state.covered, by_memory)
        # Each texel's brightness follows while it is clear and near what it was (the light changes, a cheek
        # rises in a smile), held texels far more slowly, so none is held for good; so does its saturation.
        memory_kernels.learn_texels(luma, as_usual, valid, busy, state.reference, np.float32(REFERENCE_LEARN[0]),
                                    np.float32(REFERENCE_LEARN[1]), _broad_saturation(ycc, state.skin, valid),
                                    state.saturation, np.float32(SATURATION_LEARN))
        weight = _faded_beside(grown)
        if by_memory is not None and cv2.countNonZero(by_memory) > 0:
            # An eye or a nostril under a hand is held with it, and so is all the hand encloses; its edge is
            # not known to a texel (its outline lies between the seeds), so it grows by one and fades over it.
            hand = cv2.dilate(cv2.bitwise_and(enclosed(by_memory, state.memory.palm), valid), _KERNEL)
            weight = cv2.min(weight, cv2.blur(cv2.bitwise_not(hand), (3, 3)))
        return weight

    def gate(self, face_id: int, region: np.ndarray, own: np.ndarray | None = None,
             strands: np.ndarray | None = None, usual: np.ndarray | None = None,
             own_lines: np.ndarray | None = None, eye_width: float = 0.0) -> np.ndarray | None:
        """uint8 per pixel of a BGR screen ``region``: 0 where it is clearly not this face's skin
        (:func:`occlusion_pixels.gate`, against this face's skin statistics); None before its skin is known.
        ``own``, ``strands`` and ``usual`` (uint8, the region's shape): :meth:`own_features`,
        :meth:`strands` and :meth:`usual_saturation` on the screen; ``own_lines`` and ``eye_width``: where
        the face's own thin lines may lie and how wide its eye is, in the region's pixels
        (:func:`~arfilter.render.occlusion_pixels.own_lines_zone`)."""
        state = self._faces.get(face_id)
        return None if state is None else occlusion_pixels.gate(state.skin, region, own, strands, usual, own_lines,
                                                                eye_width)

    def own_features(self, face_id: int) -> np.ndarray | None:
        """uint8 over the box: 255 where this face has a broad feature of its own unlike skin and no
        brighter than it (brows, eye make-up, a birthmark), seen from its first frame on: :meth:`gate` does
        not hold paint back there, or a bruise would stop at every eyebrow hair. Thin things (a glasses
        frame) never count, nor bright areas (a shiny forehead: skin with more light on it)."""
        state = self._faces.get(face_id)
        return None if state is None else state.own

    def usual_saturation(self, face_id: int) -> np.ndarray | None:
        """uint8 over the box: this face's usual saturation there as a share of :data:`PALE` of its mean
        (1-255), the palest within a texel: :meth:`gate` judges "far greyer" against it."""
        state = self._faces.get(face_id)
        return None if state is None else cv2.erode(state.saturation.astype(np.uint8), _KERNEL)

    def strands(self, face_id: int) -> np.ndarray | None:
        """uint8 over the box: 255 where, in the last frame, strands of hair (or a frame's wire) crossed
        skin that is usually lit, and beside them: a dark pixel there is part of one; None where none
        crossed (most frames: the renderer then skips the per-pixel strand test) or without the
        memory of the skin."""
        state = self._faces.get(face_id)
        if state is None or state.memory is None or cv2.countNonZero(state.memory.strands) == 0:
            return None
        return state.memory.near_strands()

    def palm(self, face_id: int) -> np.ndarray | None:
        """uint8 over the box: 255 where, in the last frame, the memory of this face's skin saw its
        edges smoothed over by a palm; None without that memory."""
        state = self._faces.get(face_id)
        return None if state is None or state.memory is None else state.memory.palm

    def seen(self, face_ids: set[int]) -> None:
        """Called once per frame with the faces drawn: faces unseen for :data:`FORGET_AFTER` calls go."""
        for face_id in list(self._faces):
            if face_id in face_ids:
                continue
            state = self._faces[face_id]
            state.unseen += 1
            if state.unseen > FORGET_AFTER:
                del self._faces[face_id]

    @property
    def faces(self) -> tuple[int, ...]:
        """The faces remembered now (their ids)."""
        return tuple(self._faces)

    @staticmethod
    def _colour_score(ycc: np.ndarray, skin: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
        """uint8: 0 = this face's skin colour, 255 = clearly something else (chroma, far darker or brighter
        but not as saturated as lit skin (:data:`LIT_SATURATION`), far greyer)."""
        # Far darker or brighter than skin only counts where it is also far off this texel's own (the
        # darkest reference in 5x5 texels: the lashes move; the brightest in 3x3), when there is one.
        out = np.empty(ycc.shape[:2], np.uint8)
        low, high = (_NO_REFERENCE, _NO_REFERENCE) if reference is None else (
            cv2.erode(reference, _OPEN), cv2.dilate(reference, _KERNEL))
        lit = np.float32(LIT_SATURATION * occlusion_pixels.saturation_share(skin))
        tables = occlusion_kernels.ramp_tables(skin, _COLOUR_RAMPS)  # Y (darker, brighter), Cr, Cb: level -> score
        occlusion_kernels.texel_colour(ycc, tables, low, high, reference is not None, _REFERENCE_RAMPS,
                                       occlusion_pixels.CHROMA, *occlusion_pixels.grey_ramp(skin, GREY),
                                       np.float32(skin[0]), lit, out)
        return out

    @staticmethod
    def _start(ycc: np.ndarray, valid: np.ndarray, still: np.ndarray | None, remember: bool = True,
               darkest: np.ndarray | None = None) -> _Face | None:
        """A face seen for the first time: its skin colour and its own broad features, from this frame."""
        # First guess: the texels inside the chroma range of human skin of any tone (Chai and Ngan's
        # Cr 133-173, Cb 77-127), not too dark: a cup or a microphone over most of the box is left out.
        likely = cv2.bitwise_and(cv2.inRange(ycc, SKIN_RANGE[0], SKIN_RANGE[1]), valid)
        skin = _skin_statistics(ycc, likely)
        skin = _skin_statistics(ycc, valid) if skin is None else skin
        if skin is None:
            return None
        # A second pass over the texels the first statistics call skin: glasses and brows left out.
        again = _skin_statistics(ycc, cv2.bitwise_and(
            cv2.compare(Occlusion._colour_score(ycc, skin), 128, cv2.CMP_LT), valid))
        skin = skin if again is None else again
        colour = Occlusion._colour_score(ycc, skin)
        # Broad areas unlike skin (brows, make-up, a shadowed socket) are this face's own; thin ones
        # (a glasses frame, strands of hair) are not: an opening keeps only the broad ones.
        # Capped: what is far from skin (a cup, a microphone) is never usual, even on the first frame.
        broad = cv2.dilate(cv2.morphologyEx(colour, cv2.MORPH_OPEN, _OPEN), _KERNEL)
        usual = cv2.min(broad, USUAL_CAP)
        luma = cv2.blur(cv2.extractChannel(ycc, 0), (3, 3)).astype(np.float32)
        # Own features for the per-pixel test are those no brighter than the skin (brows, lashes, make-up,
        # a shadowed socket). A bright one (a shiny forehead, the nose's highlight) is skin with more light
        # on it: a strand or a frame over it must be judged as over skin. Over the talking woman's shiny
        # forehead, paint on strands over her whole face 15.4 -> 7.4 % (bench_occlusion.py); no other
        # figure moved by more than 0.1 point.
        own = cv2.bitwise_and(cv2.compare(usual, USUAL_CAP // 2, cv2.CMP_GT),
                              cv2.compare(luma, float(skin[0]), cv2.CMP_LE))
        memory = SkinMemory(still, ycc, valid, darkest) if remember and still is not None else None
        # The reference starts as this frame where it looks like skin, and as the skin's mean where it
        # does not (a cup there from the first frame is no reference), except on the moving skin
        # around the eyes, brows and lips, whose dark lines (lashes, a crease) are the face's own.
        trusted = colour < 128
        # And where it is skin only brighter (a shiny forehead, the nose's highlight): with the skin's mean
        # for a reference, a bare forehead's shine was held back as a bright cup from the first frame on,
        # and let go only as slowly as held texels learn (the talking woman's whole face kept 87.7 -> 88.5 %,
        # bench_occlusion.py; no other figure fell).
        trusted |= (luma > float(skin[0])) & (Occlusion._colour_score(ycc, skin, luma) < 128)
        if still is not None:
            trusted |= ~still & (luma < float(skin[0]))
        reference = np.where(trusted, luma, np.float32(skin[0])).astype(np.float32)
        saturation = _broad_saturation(ycc, skin, valid).astype(np.float32)
        return _Face(np.zeros(valid.shape, np.uint8), skin, usual, own, memory, reference, saturation,
                     _make_up(broad, ycc, still))
