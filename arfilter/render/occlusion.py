"""Which texels of a look still show this face's skin: paint is held back where something covers it.

A hand, a microphone, a cup, strands of hair or a glasses frame in front of
the face must keep their own look. No second model is available, so each
texel of the look's UV box (:class:`~arfilter.render.unwrap.UvView`: the
same bit of skin in every frame) is judged by two cues:

* **colour**: how far its chroma (YCrCb's Cr, Cb) is from this face's own
  skin, learned from the face itself (robust statistics, updated slowly),
  and whether it is far darker or brighter than the face's skin. Glasses
  frames, hair, microphones and cups fail it; a still image has only this.
* **memory**: how far it is from what this texel looked like a moment ago
  (a reference updated only where the texel was judged visible), with the
  brightness divided by the face's overall skin brightness so a change of
  light is not an occluder. A skin-coloured hand fails this one: its
  brightness and shading differ from the cheek it covers.

The score is smoothed over 3x3 texels, thresholded with hysteresis (a texel
becomes covered above a high score and clear again only below a low one, so
nothing flickers), and the covered mask grows by one texel so thin edges do
not leak paint. A texel whose memory was learned while covered (a hand there
from the first frame) relearns slowly while it passes the colour test, so it
is never held back for good. Faces unseen for ~2 s of frames are forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from arfilter.render.unwrap import UvView
from arfilter.render.warp import Roi

FORGET_AFTER = 60  # calls of seen() without the face (~2 s at 30 fps): a hand may hide a face for a frame
HYSTERESIS = (90, 150)  # smoothed score (0-255) to leave / enter "covered"
CHROMA_SIGMAS = (2.5, 4.0)  # |Cr or Cb - the face's skin| in its own spreads: score 0 .. 255
DARK = (0.42, 0.26)  # brightness / the face's skin brightness: score 0 at the first, 255 at the second
BRIGHT = (1.3, 1.55)
MEMORY_LUMA = (0.16, 0.32)  # |brightness - remembered| (face-skin units, 3x3 means): score 0 .. 255
MEMORY_CHROMA = (9.0, 18.0)  # |Cr or Cb - remembered| (levels, 3x3 means): score 0 .. 255
SKIN_RANGE = ((40, 133, 77), (255, 173, 127))  # Y, Cr, Cb: any human skin's chroma (Chai and Ngan 1999)
USUAL_CAP = 80  # the most of the colour score a broad feature of the face may have at the start
LEARN = 0.12  # per frame, the memory follows a visible texel (light, expression change)
RELEARN = 0.03  # per frame, a covered texel that passes the colour test (a hand learned at the start)
SKIN_LEARN = 0.05  # per frame, the face's skin statistics
MIN_SPREAD = 3.0  # Cr/Cb levels: the skin statistics' spread is never taken tighter than this
LUMA_SCALE = 100.0  # the memory's brightness: 100 = the face's skin brightness
_LEVELS = np.arange(256, dtype=np.float32)
_KERNEL = np.ones((3, 3), np.uint8)
_OPEN = np.ones((5, 5), np.uint8)  # features thinner than this (texels) are never "usual"


@dataclass
class _Face:
    """What one face's skin looked like: its memory per texel and its colour statistics."""

    memory: np.ndarray  # (h, w, 3) float32: brightness (LUMA_SCALE = the face's skin), Cr, Cb; 3x3 means
    known: np.ndarray  # (h, w) uint8 255: the memory holds this texel
    covered: np.ndarray  # (h, w) uint8 255: the hysteresis state
    skin: np.ndarray  # (5,) float32: Y, Cr, Cb means over the skin; Cr, Cb spreads
    usual: np.ndarray  # (h, w) uint8: the colour score broad features had at the start (brows, make-up)
    unseen: int = 0


def _ramp(values: np.ndarray, start: float, end: float) -> np.ndarray:
    """uint8: 0 at ``start``, 255 at ``end`` (either direction), linear between, clipped."""
    return np.clip((values - start) * (255.0 / (end - start)), 0.0, 255.0).astype(np.uint8)


def _scaled(values: np.ndarray, start: float, end: float) -> np.ndarray:
    """float32 -> uint8: 0 up to ``start``, 255 from ``end`` on, linear between."""
    return cv2.convertScaleAbs(cv2.max(cv2.subtract(values, start), 0.0), alpha=255.0 / (end - start))


def _skin_statistics(ycc: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """Y, Cr, Cb means over ``mask`` (uint8) and the Cr, Cb spreads (never under :data:`MIN_SPREAD`)."""
    if cv2.countNonZero(mask) < 16:
        return None
    mean, std = cv2.meanStdDev(ycc, mask=mask)
    return np.array([*mean.ravel(), *np.maximum(std.ravel()[1:], MIN_SPREAD)], np.float32)


def _colour_tables(skin: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lookup tables (256 levels -> score 0-255) for Y, Cr and Cb against this face's skin."""
    luma = _LEVELS / max(float(skin[0]), 1.0)
    dark, bright = _ramp(luma, *DARK), _ramp(luma, *BRIGHT)
    cr = _ramp(np.abs(_LEVELS - skin[1]) / skin[3], *CHROMA_SIGMAS)
    cb = _ramp(np.abs(_LEVELS - skin[2]) / skin[4], *CHROMA_SIGMAS)
    return np.maximum(dark, bright), cr, cb


class Occlusion:
    """Per face (by ``face_id``): 255 where the look may paint, 0 where something covers the skin.

    ``visible`` is called once per face and frame with that face's
    :class:`UvView` of the look's box; ``seen`` once per frame with the faces drawn.
    """

    def __init__(self, box: Roi) -> None:
        self.box = box
        self._faces: dict[int, _Face] = {}

    def visible(self, face_id: int, view: UvView) -> np.ndarray:
        """uint8 (h, w) over the box: 255 = paint, 0 = covered (soft at the edges)."""
        ycc = cv2.cvtColor(view.image, cv2.COLOR_BGR2YCrCb)
        valid = view.valid.view(np.uint8) * np.uint8(255)
        state = self._faces.get(face_id)
        if state is None or state.memory.shape[:2] != valid.shape:
            state = self._start(ycc, valid)
            if state is None:
                return np.full(valid.shape, 255, np.uint8)
            self._faces[face_id] = state
        state.unseen = 0
        colour = self._colour_score(ycc, state.skin)
        excess = cv2.subtract(colour, state.usual)  # only what is less like skin than this texel used to be
        current = self._normalised(ycc, state.skin)
        change = cv2.absdiff(current, state.memory)
        memory = cv2.bitwise_and(self._memory_score(change), state.known)
        score = cv2.blur(cv2.max(excess, memory), (3, 3))
        entering = cv2.compare(score, HYSTERESIS[1], cv2.CMP_GT)
        staying = cv2.bitwise_and(cv2.compare(score, HYSTERESIS[0], cv2.CMP_GT), state.covered)
        state.covered = cv2.bitwise_and(cv2.bitwise_or(entering, staying), valid)
        self._learn(state, ycc, current, colour, valid)
        held = cv2.dilate(state.covered, _KERNEL)
        return cv2.blur(cv2.bitwise_not(held), (3, 3))

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
    def _normalised(ycc: np.ndarray, skin: np.ndarray) -> np.ndarray:
        """float32 (h, w, 3), 3x3 means: brightness over the face's skin brightness, Cr, Cb.

        The means make the memory tolerant of a texel's sub-texel slide (tracking jitter)."""
        scale = (LUMA_SCALE / max(float(skin[0]), 1.0), 1.0, 1.0, 0.0)
        return cv2.blur(cv2.multiply(ycc, scale, dtype=cv2.CV_32F), (3, 3))

    @staticmethod
    def _colour_score(ycc: np.ndarray, skin: np.ndarray) -> np.ndarray:
        """uint8: 0 = this face's skin colour, 255 = clearly something else (chroma, far darker or brighter)."""
        luma, cr, cb = _colour_tables(skin)
        y, r, b = cv2.split(ycc)
        return cv2.max(cv2.LUT(y, luma), cv2.max(cv2.LUT(r, cr), cv2.LUT(b, cb)))

    @staticmethod
    def _memory_score(change: np.ndarray) -> np.ndarray:
        """uint8: 0 = as this texel looked a moment ago, 255 = clearly changed."""
        luma, cr, cb = cv2.split(change)
        luma = _scaled(luma, MEMORY_LUMA[0] * LUMA_SCALE, MEMORY_LUMA[1] * LUMA_SCALE)
        chroma = _scaled(cv2.max(cr, cb), *MEMORY_CHROMA)
        return cv2.max(luma, chroma)

    @staticmethod
    def _start(ycc: np.ndarray, valid: np.ndarray) -> _Face | None:
        """A face seen for the first time: its skin from this frame, its memory this frame's look."""
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
        memory = Occlusion._normalised(ycc, skin)
        colour = Occlusion._colour_score(ycc, skin)
        # Broad areas unlike skin (brows, make-up, a shadowed socket) are this face's own; thin ones
        # (a glasses frame, strands of hair) are not: an opening keeps only the broad ones.
        # Capped: what is far from skin (a cup, a microphone) is never usual, even on the first frame.
        usual = cv2.min(cv2.dilate(cv2.morphologyEx(colour, cv2.MORPH_OPEN, _OPEN), _KERNEL), USUAL_CAP)
        return _Face(memory, valid.copy(), np.zeros(valid.shape, np.uint8), skin, usual)

    @staticmethod
    def _learn(state: _Face, ycc: np.ndarray, current: np.ndarray, colour: np.ndarray, valid: np.ndarray) -> None:
        """Follow the skin slowly where it is judged visible (and very slowly where covered but skin-coloured)."""
        skin_like = cv2.bitwise_and(cv2.compare(cv2.subtract(colour, state.usual), 128, cv2.CMP_LT), valid)
        clear = cv2.bitwise_and(skin_like, cv2.bitwise_not(state.covered))
        fresh = cv2.bitwise_and(clear, cv2.bitwise_not(state.known))
        cv2.accumulateWeighted(current, state.memory, LEARN, mask=clear)
        cv2.accumulateWeighted(current, state.memory, RELEARN, mask=cv2.bitwise_and(skin_like, state.covered))
        cv2.copyTo(current, fresh, state.memory)  # a texel first seen clear is remembered at once
        state.known = cv2.bitwise_or(state.known, clear)
        skin = _skin_statistics(ycc, clear)
        if skin is not None:
            state.skin += SKIN_LEARN * (skin - state.skin)
