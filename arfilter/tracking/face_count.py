"""How many faces the model looks for: one while one person is in view, all of them once a probe sees more.

MediaPipe's FaceLandmarker (VIDEO mode) runs its face detector on every frame in which it tracks fewer
faces than ``num_faces``. With ``num_faces=2`` and one person in front of the camera, the usual case,
that is every frame: about a fifth of the model's time (2.5 of 13 ms a 720p frame on a 2-core laptop
CPU). So the tracker runs a landmarker that looks for one face, and every ``probe_every`` frames runs the
detector alone over the frame (a "probe", about as costly as the landmarker's own detection, so a tenth
of the cost); when the probe finds a face the landmarker does not track, the tracker moves to a
landmarker that looks for every face, and back to the narrow one after ``hold_frames`` frames with at
most one face. A second person is painted within a third of a second of stepping in.

This module is the decision alone (pure, no model); ``tracking.tracker`` runs the models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

PROBE_EVERY = 10  # frames between probes while one face is tracked: a third of a second at 30 fps
HOLD_FRAMES = 30  # frames with at most one face before the narrow landmarker takes over again: a second


@dataclass(frozen=True)
class Box:
    """A face's box in pixels: left, top, right, bottom."""

    left: float
    top: float
    right: float
    bottom: float

    @classmethod
    def around(cls, points: np.ndarray) -> "Box":
        """The box around landmarks (n, 2+) in pixels."""
        low, high = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
        return cls(float(low[0]), float(low[1]), float(high[0]), float(high[1]))

    @property
    def centre(self) -> tuple[float, float]:
        return (self.left + self.right) / 2.0, (self.top + self.bottom) / 2.0

    def holds(self, point: tuple[float, float]) -> bool:
        x, y = point
        return self.left <= x <= self.right and self.top <= y <= self.bottom


def untracked(tracked: Sequence[Box], detected: Sequence[Box]) -> list[Box]:
    """The detected faces whose centre lies in no tracked face's box: people the landmarker has not found."""
    return [box for box in detected if not any(face.holds(box.centre) for face in tracked)]


class FaceCount:
    """Decides, frame by frame, whether the model should look for one face or for ``max_faces``.

    ``wide`` says which: False for one face, True for all. ``after_frame`` is told the faces this
    frame's landmarker found, and runs ``probe`` (the detector over the same frame) only when it is due.
    """

    def __init__(self, max_faces: int, *, probe_every: int = PROBE_EVERY, hold_frames: int = HOLD_FRAMES) -> None:
        if probe_every < 1 or hold_frames < 1:
            raise ValueError("probe_every and hold_frames must be at least 1")
        self.max_faces = max_faces
        self.probe_every = probe_every
        self.hold_frames = hold_frames
        self.wide = False
        self.probes = 0  # how many probes ran: for figures and tests
        self._since_probe = probe_every - 1  # the first frame with a face is probed at once
        self._few = 0  # frames in a row the wide landmarker found at most one face

    @property
    def num_faces(self) -> int:
        """The ``num_faces`` the landmarker should have now."""
        return self.max_faces if self.wide else 1

    def after_frame(self, tracked: Sequence[Box], probe: Callable[[], Sequence[Box]]) -> bool:
        """Whether the next frame needs the other landmarker (``wide`` has then changed)."""
        if self.max_faces <= 1:
            return False
        if self.wide:
            self._few = 0 if len(tracked) > 1 else self._few + 1
            if self._few < self.hold_frames:
                return False
            self.wide, self._few, self._since_probe = False, 0, 0
            return True
        if not tracked:  # the narrow landmarker runs its own detector on every frame without a face
            self._since_probe = self.probe_every - 1
            return False
        self._since_probe += 1
        if self._since_probe < self.probe_every:
            return False
        self._since_probe = 0
        self.probes += 1
        if not untracked(tracked, probe()):
            return False
        self.wide, self._few = True, 0
        return True
