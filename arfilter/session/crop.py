"""``--crop square|portrait|landscape``: the shape people post, following the face like a camera operator.

The window is the largest one of that shape inside the frame (even sides: every
video codec stores 4:2:0), so the output keeps the most picture. Its centre
follows the faces (the box around all of them) the way a person behind a
camera would: it does not move while the face stays near the middle (a dead
zone, so the landmarks' shiver never shakes the picture), then eases towards
it with a critically damped spring (no jumps, no overshoot), and whatever the
spring says, every face box that fits stays inside. With no face it holds
still. A photo is simply centred on its faces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from arfilter.core.limits import CROPS
from arfilter.core.types import Face

DEAD_ZONE = 0.12  # of the window's side: a face this close to the centre leaves the window where it is
SETTLE_S = 0.6  # the spring's time to (nearly) reach a new place: fast enough for a step, slow for a sway
MARGIN = 0.06  # of the window's side kept between a face box and the window's edge, when it fits


def crop_size(frame: tuple[int, int], shape: str) -> tuple[int, int]:
    """The largest ``shape`` window (width, height; even) that fits in a ``frame`` (width, height)."""
    ratio_w, ratio_h = CROPS[shape]
    width, height = frame
    scale = min(width / ratio_w, height / ratio_h)
    return max(2, int(ratio_w * scale) // 2 * 2), max(2, int(ratio_h * scale) // 2 * 2)


def faces_box(faces: tuple[Face, ...]) -> tuple[float, float, float, float] | None:
    """The box around every face (x0, y0, x1, y1), or None."""
    if not faces:
        return None
    boxes = np.array([face.bbox for face in faces])
    return float(boxes[:, 0].min()), float(boxes[:, 1].min()), float(boxes[:, 2].max()), float(boxes[:, 3].max())


def _keep_inside(centre: float, half: float, low: float, high: float, span: float, margin: float) -> float:
    """Move ``centre`` as little as possible so [low, high] (plus margin) lies in the window, then so the
    window lies in [0, span]."""
    if high - low + 2 * margin <= 2 * half:
        centre = min(max(centre, high + margin - half), low - margin + half)
    elif high - low <= 2 * half:
        centre = (low + high) / 2
    return min(max(centre, half), span - half)


@dataclass
class FaceCrop:
    """A ``present`` stage for files: crops each frame to ``shape``, following the faces smoothly.

    ``fps``: the file's frame rate (the spring steps by one frame interval, so the
    same file always gives the same crop).
    """

    shape: str
    fps: float = 30.0
    still: bool = False  # a photo: centre on the faces at once

    def __post_init__(self) -> None:
        self._centre: np.ndarray | None = None
        self._speed = np.zeros(2)
        self._moving = False

    def window(self, frame: tuple[int, int], faces: tuple[Face, ...]) -> tuple[int, int, int, int]:
        """Where to crop this frame: (x, y, width, height) in pixels."""
        width, height = crop_size(frame, self.shape)
        half = np.array([width / 2, height / 2])
        box = faces_box(faces)
        target = np.array([frame[0] / 2, frame[1] / 2]) if box is None else np.array(
            [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
        if self._centre is None or self.still:
            self._centre = target.copy()
        elif box is not None:
            self._follow(target, min(width, height))
        else:
            self._speed[:] = 0.0  # no face: hold still
        if box is not None:
            margin = MARGIN * min(width, height)
            for axis, (low, high) in enumerate(((box[0], box[2]), (box[1], box[3]))):
                self._centre[axis] = _keep_inside(self._centre[axis], half[axis], low, high, frame[axis], margin)
        else:
            self._centre = np.minimum(np.maximum(self._centre, half), np.array(frame) - half)
        x0, y0 = (self._centre - half).round().astype(int)
        return int(x0), int(y0), width, height

    def _follow(self, target: np.ndarray, side: int) -> None:
        """A critically damped spring towards ``target``, started only outside the dead zone."""
        offset = target - self._centre
        distance = float(np.hypot(*offset))
        if not self._moving and distance > DEAD_ZONE * side:
            self._moving = True
        if self._moving and distance < 0.02 * side and float(np.hypot(*self._speed)) < 0.02 * side * self.fps:
            self._moving = False
        goal = target if self._moving else self._centre
        omega, dt = 4.0 / SETTLE_S, 1.0 / self.fps  # about 4 time constants to settle
        # Exact step of x'' = -2w x' - w^2 (x - goal): stable for any dt.
        decay = math.exp(-omega * dt)
        delta = self._centre - goal
        change = self._speed + omega * delta
        self._centre = goal + (delta + change * dt) * decay
        self._speed = (self._speed - omega * change * dt) * decay

    def __call__(self, output: np.ndarray, faces: tuple[Face, ...], _figures: object = None) -> np.ndarray:
        x, y, width, height = self.window((output.shape[1], output.shape[0]), faces)
        return np.ascontiguousarray(output[y:y + height, x:x + width])
