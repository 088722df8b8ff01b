"""Which parts of a look still show this face's skin: paint is held back where something covers it.

A microphone, a cup, strands of hair or a glasses frame in front of the face
must keep their own look. No second model is available, so what lies under
the paint is judged by its colour against this face's own skin (YCrCb's Cr
and Cb in the skin's own spreads, and brightness against the skin's), in
two places:

* **per texel** of the look's UV box (:class:`~arfilter.render.unwrap.UvView`:
  the same bit of skin in every frame), where it has a state: a texel becomes
  covered above a high score and clear again only below a low one
  (hysteresis, so nothing flickers), and broad areas unlike skin from the
  first frame on (brows, eye make-up, a shadowed socket) count as the face's
  own; the covered mask grows by one texel;
* **per screen pixel** under the paint (:meth:`Occlusion.gate`), chroma only:
  a glasses frame or a strand of hair is thinner than a texel, so only the
  screen sees it.

A hand (or anything) of the face's own skin colour is seen by
:class:`~arfilter.render.skin_memory.SkinMemory` (given the mesh's UVs): new
thin dark lines (the gaps between fingers) on skin that neither talks nor
blinks, grown over what is connected to them and looks unlike the texel's
memory; holes in it (an eye under the hand) are closed. A per-texel memory
alone was tried and dropped: on a talking, blinking face it held paint back
in flickering patches (25 % of the painted area changing between frames
against 4 % without); the lines make it hold nothing on a face alone.
Faces unseen for ~2 s of frames are forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from arfilter.core.compiled import arg
from arfilter.render import kernels
from arfilter.render.skin_memory import SkinMemory, still_skin
from arfilter.render.unwrap import UvView
from arfilter.render.warp import Roi

FORGET_AFTER = 60  # calls of seen() without the face (~2 s at 30 fps): a hand may hide a face for a frame
HYSTERESIS = (90, 150)  # smoothed score (0-255) to leave / enter "covered"
CHROMA_SIGMAS = (2.5, 4.0)  # |Cr or Cb - the face's skin| in its own spreads: score 0 .. 255
DARK = (0.42, 0.26)  # brightness / the face's skin brightness: score 0 at the first, 255 at the second
BRIGHT = (1.3, 1.55)
SKIN_RANGE = ((40, 133, 77), (255, 173, 127))  # Y, Cr, Cb: any human skin's chroma (Chai and Ngan 1999)
USUAL_CAP = 80  # the most of the colour score a broad feature of the face may have at the start
SKIN_LEARN = 0.05  # per frame, the face's skin statistics
MIN_SPREAD = 3.0  # Cr/Cb levels: the skin statistics' spread is never taken tighter than this
# Per screen pixel, chroma only, stricter than per texel: a thin frame or strand mixes with the skin
# beside it, and shadowed skin keeps its hue while it darkens.
GATE_SIGMAS = (3.0, 5.0)
GATE_GREY = (0.7, 0.45)  # saturation / the skin's: score 0 at the first, 255 at the second
GATE_DARKEST = 24  # brightness below which saturation is read as at this brightness (noise in the dark)
GATE_HIGHLIGHT = 1.15  # brightness / the skin's above which a grey pixel is taken for a highlight on skin
GATE_DARK = (0.33, 0.2)  # brightness / the skin's: far darker than any shadow on this face (hair, a frame)
_KERNEL = np.ones((3, 3), np.uint8)
_OPEN = np.ones((5, 5), np.uint8)  # features thinner than this (texels) are never "usual"
_FILL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))  # holes a hand's memory fills (an eye under it)


@dataclass
class _Face:
    """What one face's skin looks like: its colour statistics and which texels are covered."""

    covered: np.ndarray  # (h, w) uint8 255: the hysteresis state
    skin: np.ndarray  # (5,) float32: Y, Cr, Cb means over the skin; Cr, Cb spreads
    usual: np.ndarray  # (h, w) uint8: the colour score broad features had at the start (brows, make-up)
    own: np.ndarray  # (h, w) uint8 255: where those broad features are
    memory: SkinMemory | None  # what each texel usually looks like (None without the mesh's UVs)
    unseen: int = 0


def _ramp(values: np.ndarray, start: float, end: float) -> np.ndarray:
    """uint8: 0 at ``start``, 255 at ``end`` (either direction), linear between, clipped."""
    return np.clip((values - start) * (255.0 / (end - start)), 0.0, 255.0).astype(np.uint8)


def _skin_statistics(ycc: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """Y, Cr, Cb means over ``mask`` (uint8) and the Cr, Cb spreads (never under :data:`MIN_SPREAD`)."""
    if cv2.countNonZero(mask) < 16:
        return None
    mean, std = cv2.meanStdDev(ycc, mask=mask)
    return np.array([*mean.ravel(), *np.maximum(std.ravel()[1:], MIN_SPREAD)], np.float32)


@dataclass(frozen=True, eq=False)
class _Ramps:
    """Several :func:`_ramp` s of measures against the skin, to apply at once: per ramp, its measure
    (``rows``: 0 brightness / the skin's, 1 and 2 |Cr or Cb - the skin's| in its spreads), its start and
    255 / (end - start); made once, in the kernel's types."""

    rows: np.ndarray  # int64
    start: np.ndarray  # float32
    scale: np.ndarray  # float32


def _ramps(rows: tuple[int, ...], *ramps: tuple[float, float]) -> _Ramps:
    return _Ramps(np.array(rows, np.int64), np.array([start for start, _ in ramps], np.float32),
                  np.array([255.0 / (end - start) for start, end in ramps], np.float32))


_COLOUR_RAMPS = _ramps((0, 0, 1, 2), DARK, BRIGHT, CHROMA_SIGMAS, CHROMA_SIGMAS)
_GATE_RAMPS = _ramps((1, 2, 0), GATE_SIGMAS, GATE_SIGMAS, GATE_DARK)


def _tables(skin: np.ndarray, ramps: _Ramps) -> np.ndarray:
    """uint8 (ramps, 256): for every level, each ramp's score of its measure against this face's skin
    (what :func:`_ramp` gives; compiled, :func:`kernels.score_tables`: made for every face and frame)."""
    return kernels.score_tables(arg(skin, np.float32), np.float32(max(float(skin[0]), 1.0)), ramps.rows,
                                ramps.start, ramps.scale)


def _colour_tables(skin: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lookup tables (256 levels -> score 0-255) for Y, Cr and Cb against this face's skin."""
    dark, bright, cr, cb = _tables(skin, _COLOUR_RAMPS)
    return np.maximum(dark, bright), cr, cb


def _gate_tables(skin: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lookup tables (256 levels -> score 0-255) for a screen pixel's Cr, Cb and Y against this face's skin
    (Y: far darker than any shadow on it)."""
    cr, cb, dark = _tables(skin, _GATE_RAMPS)
    return cr, cb, dark


class Occlusion:
    """Per face (by ``face_id``): 255 where the look may paint, 0 where something covers the skin.

    ``visible`` is called once per face and frame with that face's
    :class:`UvView` of the look's box, then ``gate`` with the screen region the
    paint lands on; ``seen`` once per frame with the faces drawn.
    """

    def __init__(self, box: Roi, uvs: np.ndarray | None = None) -> None:
        self.box = box
        self._faces: dict[int, _Face] = {}
        # Which texels neither talk nor blink: without the mesh's UVs, no memory of the skin.
        self._still = None if uvs is None else still_skin(uvs, box)

    def visible(self, face_id: int, view: UvView) -> np.ndarray:
        """uint8 (h, w) over the box: 255 = paint, 0 = covered (soft at the edges)."""
        ycc = cv2.cvtColor(view.image, cv2.COLOR_BGR2YCrCb)
        valid = view.valid.view(np.uint8) * np.uint8(255)
        state = self._faces.get(face_id)
        if state is None or state.covered.shape != valid.shape:
            state = self._start(ycc, valid, self._still)
            if state is None:
                return np.full(valid.shape, 255, np.uint8)
            self._faces[face_id] = state
        state.unseen = 0
        colour = self._colour_score(ycc, state.skin)
        excess = cv2.subtract(colour, state.usual)  # only what is less like skin than this texel used to be
        score = cv2.blur(excess, (3, 3))
        entering = cv2.compare(score, HYSTERESIS[1], cv2.CMP_GT)
        staying = cv2.bitwise_and(cv2.compare(score, HYSTERESIS[0], cv2.CMP_GT), state.covered)
        state.covered = cv2.bitwise_and(cv2.bitwise_or(entering, staying), valid)
        self._learn(state, ycc, colour, valid)
        held = state.covered
        by_memory = None if state.memory is None else state.memory.held(ycc, valid, view.facing,
                                                                        float(state.skin[0]), state.covered)
        if by_memory is not None and cv2.countNonZero(by_memory) > 0:
            # An eye or a nostril under a hand is held with it.
            held = cv2.max(held, cv2.bitwise_and(cv2.morphologyEx(by_memory, cv2.MORPH_CLOSE, _FILL), valid))
        held = cv2.dilate(held, _KERNEL)
        return cv2.blur(cv2.bitwise_not(held), (3, 3))

    def gate(self, face_id: int, region: np.ndarray) -> np.ndarray | None:
        """uint8 per pixel of a BGR screen ``region``: 0 where it is clearly not this face's skin, grown by a
        pixel so edges keep their colour too; None before the face's skin is known.

        A glasses frame or a strand of hair is thinner than a texel and mixes with the skin beside it,
        so its chroma alone is often within the skin's spread; what gives it away is that it is far
        greyer than skin (saturation, chroma over brightness, well under the skin's), which shadowed
        skin is not: its chroma falls with its brightness; or far darker than any shadow on skin.
        """
        state = self._faces.get(face_id)
        if state is None:
            return None
        ycc = cv2.cvtColor(region, cv2.COLOR_BGR2YCrCb)
        y, cr, cb = cv2.split(ycc)
        cr_table, cb_table, dark_table = _gate_tables(state.skin)
        hue = cv2.max(cv2.LUT(cr, cr_table), cv2.LUT(cb, cb_table))
        chroma = cv2.magnitude(cv2.subtract(cr, 128, dtype=cv2.CV_32F), cv2.subtract(cb, 128, dtype=cv2.CV_32F))
        saturation = cv2.divide(chroma, cv2.max(y, GATE_DARKEST), dtype=cv2.CV_32F)
        skin = float(np.hypot(state.skin[1] - 128.0, state.skin[2] - 128.0)) / max(float(state.skin[0]), GATE_DARKEST)
        # Highlights on shiny skin are grey too, but brighter than the skin: only what is not is judged.
        grey = cv2.bitwise_and(_ramp(saturation / max(skin, 1e-3), *GATE_GREY),
                               cv2.compare(y, GATE_HIGHLIGHT * float(state.skin[0]), cv2.CMP_LT))
        dark = cv2.LUT(y, dark_table)
        return cv2.bitwise_not(cv2.dilate(cv2.max(cv2.max(hue, grey), dark), _KERNEL))

    def own_features(self, face_id: int) -> np.ndarray | None:
        """uint8 over the box: 255 where this face has a broad feature of its own unlike skin (brows,
        eye make-up, a birthmark), seen from its first frame on: :meth:`gate` does not hold paint back
        there, or a bruise would stop at every eyebrow hair. Thin things (a glasses frame) never count."""
        state = self._faces.get(face_id)
        return None if state is None else state.own

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
    def _colour_score(ycc: np.ndarray, skin: np.ndarray) -> np.ndarray:
        """uint8: 0 = this face's skin colour, 255 = clearly something else (chroma, far darker or brighter)."""
        luma, cr, cb = _colour_tables(skin)
        y, r, b = cv2.split(ycc)
        return cv2.max(cv2.LUT(y, luma), cv2.max(cv2.LUT(r, cr), cv2.LUT(b, cb)))

    @staticmethod
    def _start(ycc: np.ndarray, valid: np.ndarray, still: np.ndarray | None) -> _Face | None:
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
        usual = cv2.min(cv2.dilate(cv2.morphologyEx(colour, cv2.MORPH_OPEN, _OPEN), _KERNEL), USUAL_CAP)
        own = cv2.compare(usual, USUAL_CAP // 2, cv2.CMP_GT)
        memory = None if still is None else SkinMemory(still, ycc, valid)
        return _Face(np.zeros(valid.shape, np.uint8), skin, usual, own, memory)

    @staticmethod
    def _learn(state: _Face, ycc: np.ndarray, colour: np.ndarray, valid: np.ndarray) -> None:
        """Follow the skin's colour slowly (the light changes) over the texels judged clear skin."""
        skin_like = cv2.bitwise_and(cv2.compare(cv2.subtract(colour, state.usual), 128, cv2.CMP_LT), valid)
        clear = cv2.bitwise_and(skin_like, cv2.bitwise_not(state.covered))
        skin = _skin_statistics(ycc, clear)
        if skin is not None:
            state.skin += SKIN_LEARN * (skin - state.skin)
