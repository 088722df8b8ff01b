"""Landmark smoothing: a One Euro filter over the head's rigid motion and its shape.

MediaPipe's landmarks shiver by a pixel or so on a still face; a bruise drawn
on them shivers too. A plain low-pass filter stops the shiver but drags behind
a turning head. The One Euro filter (Casiez, Roussel and Vogel, CHI 2012)
adapts its cut-off to the speed: heavy smoothing when still, little when
moving. It is frame-rate aware (it uses the real time between frames).

We split each face into a rigid part (where the face is and how it is turned
in the picture: centroid and in-plane angle, fitted to landmarks that
expressions barely move: forehead, nose bridge, eye corners, cheekbones, so
their noise averages out and a talking mouth does not move the head) and its
shape in the face's own frame (expression, out-of-plane turns, scale). Each has its own filter: a head that moves keeps
a steady shape, and lips and eyes that move do not shake a still head.
Pure numpy, a few vectorised operations per face.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from arfilter.core.limits import SMOOTH_BETA, SMOOTH_MIN_CUTOFF
from arfilter.tracking.mesh import LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR


# Landmarks that expressions barely move (MediaPipe indices): forehead midline and
# sides, nose bridge and tip, inner and outer eye corners, cheekbones, face sides.
RIGID_ANCHORS = (10, 151, 9, 8, 108, 337, 67, 297, 109, 338, 168, 6, 197, 195, 5, 4, 1,
                 133, 362, 33, 263, 116, 345, 118, 347, 50, 280, 234, 454, 127, 356, 93, 323)


_ANCHOR_INDEX = np.array(RIGID_ANCHORS)  # fancy-index array, made once, not per frame

# Eyelids (the eye contours and the ring around them): they blink.
LIVELY_LANDMARKS = tuple(sorted(set(LEFT_EYE_CONTOUR + RIGHT_EYE_CONTOUR + (
    # the next ring of lid landmarks around each eye
    246, 161, 160, 159, 158, 157, 173, 33, 7, 163, 144, 145, 153, 154, 155, 133,
    466, 388, 387, 386, 385, 384, 398, 263, 249, 390, 373, 374, 380, 381, 382, 362,
    247, 30, 29, 27, 28, 56, 190, 243, 112, 26, 22, 23, 24, 110, 25, 130,
    467, 260, 259, 257, 258, 286, 414, 463, 341, 256, 252, 253, 254, 339, 255, 359))))


@dataclass(frozen=True)
class SmoothingOptions:
    """One Euro parameters: cut-offs in Hz; speeds in face widths per second.

    ``min_cutoff``: smoothing when still (lower = steadier, slower to settle);
    ``beta``: how fast the filter opens up with speed (higher = less lag when
    moving); ``deadzone``: speeds well below it are treated as jitter. The
    ``shape_`` ones are the same for the expression. Tuned on the shared clips
    and on synthetic motion (benchmarks/bench_stability.py, figures in
    benchmarks/README.md).
    """

    min_cutoff: float = SMOOTH_MIN_CUTOFF.default
    beta: float = SMOOTH_BETA.default
    deadzone: float = 0.7
    shape_min_cutoff: float = 0.1  # brows, forehead, nose, cheeks: still unless clearly moving
    shape_beta: float = 100.0
    shape_deadzone: float = 1.0
    lively_min_cutoff: float = 1.0  # eyelids, lips and jaw: blinks and speech must not trail
    lively_deadzone: float = 0.15
    d_cutoff: float = 2.0
    enabled: bool = True


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    """Smoothing factor of a first-order low-pass filter at ``cutoff`` Hz for a step of ``dt`` s."""
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuro:
    """One Euro filter over an array of values, each with its own adaptive cut-off."""

    def __init__(self, min_cutoff: float, beta: float, d_cutoff: float = 1.0) -> None:
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.d_cutoff = d_cutoff
        self.value: np.ndarray | None = None
        self.speed: np.ndarray | None = None

    def reset(self) -> None:
        self.value = None
        self.speed = None

    def __call__(self, x: np.ndarray, dt: float, scale: float = 1.0, deadzone: float | np.ndarray = 0.0) -> np.ndarray:
        """Filtered ``x``; ``dt`` is the time since the previous sample, in seconds.

        Speeds are divided by ``scale`` (the face's width: a near face and a
        far one are smoothed alike). Speeds well below ``deadzone`` (after
        scaling) count as nearly zero: the speed of jitter itself, so a still
        face gets the full smoothing.
        """
        if self.value is None or dt <= 0.0:
            self.value = x.astype(np.float64)
            self.speed = np.zeros_like(self.value)
            return self.value
        raw_speed = (x - self.value) / dt
        self.speed = self.speed + _alpha(self.d_cutoff, dt) * (raw_speed - self.speed)
        speed = np.abs(self.speed) / scale
        if np.any(deadzone):  # smooth knee: ~speed**3 / deadzone**2 below it, ~speed above
            speed = speed**3 / (speed * speed + np.square(deadzone) + 1e-12)
        cutoff = self.min_cutoff + self.beta * speed
        self.value = self.value + _alpha(cutoff, dt) * (x - self.value)
        return self.value


def _rotation(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s], [s, c]])


class FaceSmoother:
    """Smooths one face's landmarks over time: rigid motion and shape separately."""

    def __init__(self, options: SmoothingOptions = SmoothingOptions()) -> None:
        self.options = options
        self.rigid = OneEuro(options.min_cutoff, options.beta, options.d_cutoff)
        self.shape = OneEuro(options.shape_min_cutoff, options.shape_beta, options.d_cutoff)
        self.reference: np.ndarray | None = None  # centred (N, 2) points of the first frame
        self.radius = 1.0  # RMS radius of the reference: turns an angle into pixels
        self.angle = 0.0  # unwrapped angle of the previous frame

    def reset(self) -> None:
        self.rigid.reset()
        self.shape.reset()
        self.reference = None

    def _split_face(self, xy: np.ndarray) -> None:
        """Per-landmark shape settings: eyelids, lips and jaw move fast and often (a blink
        takes four frames), so they are smoothed lightly; the rest of the face (where the
        bruises sit) is held still unless it clearly moves."""
        opts = self.options
        down = xy[152] - xy[10]  # forehead to chin
        below_nose = (xy - xy[1]) @ down / max(float(down @ down), 1e-9) > 0.0
        lively = below_nose.copy()
        lively[list(LIVELY_LANDMARKS)] = True
        lively = lively[:, None]
        self.shape.min_cutoff = np.where(lively, opts.lively_min_cutoff, opts.shape_min_cutoff)
        self._shape_deadzone = np.where(lively, opts.lively_deadzone, opts.shape_deadzone)

    def __call__(self, landmarks: np.ndarray, dt: float) -> np.ndarray:
        """Smoothed (N, 3) landmarks for raw (N, 3) ``landmarks`` arriving ``dt`` s after the last."""
        if not self.options.enabled:
            return landmarks
        xy = landmarks[:, :2].astype(np.float64)
        anchors = xy[_ANCHOR_INDEX]
        centre = anchors.mean(axis=0)
        centred = xy - centre
        if self.reference is None:
            self.reference = anchors - centre
            self.radius = max(float(np.sqrt((self.reference**2).sum(axis=1).mean())), 1.0)
            self.angle = 0.0
            self._split_face(xy)
        # In-plane angle from the reference to now (2D Procrustes on the anchors, closed form).
        ref, now = self.reference, anchors - centre
        cross = float((ref[:, 0] * now[:, 1] - ref[:, 1] * now[:, 0]).sum())
        dot = float((ref * now).sum())
        angle = math.atan2(cross, dot)
        angle = self.angle + (angle - self.angle + math.pi) % (2 * math.pi) - math.pi  # no jump at +-pi
        self.angle = angle
        # The shape in the face's own frame (rotation removed), depth relative to its mean.
        local = centred @ _rotation(angle)  # row vectors: x @ R == R^T x
        depth = landmarks[:, 2:3].astype(np.float64)
        shape = np.hstack([local, depth - depth.mean()])
        face_width = self.radius * 3.0  # the anchors' RMS radius is about a third of the face's width
        rigid = self.rigid(np.array([centre[0], centre[1], angle * self.radius, float(depth.mean())]), dt,
                           face_width, self.options.deadzone)
        shape = self.shape(shape, dt, face_width, self._shape_deadzone)
        smooth_angle = rigid[2] / self.radius
        out = np.empty_like(landmarks, dtype=np.float32)
        out[:, :2] = shape[:, :2] @ _rotation(smooth_angle).T + rigid[:2]
        out[:, 2] = shape[:, 2] + rigid[3]
        return out
