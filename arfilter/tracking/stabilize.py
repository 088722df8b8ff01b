"""Faces that keep who they are: identity, smoothing, dropouts and fades.

Between the tracker and the renderer: ``faces = stabilizer(frame, tracker(frame))``.

- **Identity**: MediaPipe returns faces in no stable order. Each detection is
  matched to the track it is nearest to (position and size, greedily from the
  best pair), so every face keeps its id, its smoothing state and its look.
- **Dropouts**: a face missed for a few frames is held where it was for
  ``hold`` seconds, and for at least ``hold_frames`` of the device's frame
  intervals (a phone that tracks 3 frames a second would otherwise blink the
  look off and fade it in again for every single frame it missed), then fades
  out over ``fade`` seconds. A face that comes back within ``forget`` seconds
  keeps its id.
- **Entries**: a new face fades in over ``fade`` seconds: nothing pops (faces
  in the very first frame are shown at once: a photo is painted fully).
- **Implausible faces** are not drawn: smaller than ``min_face_px``, collapsed
  (a degenerate shape), or mostly outside the frame; and when MediaPipe returns
  one person twice (two meshes overlapping by more than ``max_overlap``, which
  it does now and then with ``num_faces > 1``), only the larger is kept, so a
  look is never painted twice on one face.
- **Discontinuities**: a frame-size change or a long pause in timestamps
  (a paused camera) resets the smoothing instead of dragging the old pose in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from arfilter.tracking.mesh import MESH_VERTICES
from arfilter.tracking.smoothing import FaceSmoother, SmoothingOptions
from arfilter.core.types import Face, Frame


INTERVAL_LEARN = 0.25  # per frame, how fast the frame interval follows the frames when they come faster


@dataclass(frozen=True)
class StabilizerOptions:
    """How faces are followed over time (seconds and pixels)."""

    smoothing: SmoothingOptions = field(default_factory=SmoothingOptions)
    hold: float = 0.10
    hold_frames: float = 1.5  # the hold spans at least this many frame intervals (learned as frames come)
    fade: float = 0.15
    forget: float = 1.0
    max_gap: float = 0.5
    min_face_px: float = 40.0
    max_match_cost: float = 0.8
    max_overlap: float = 0.4


@dataclass
class _Track:
    face_id: int
    smoother: FaceSmoother
    landmarks: np.ndarray  # last smoothed landmarks
    pose: np.ndarray | None
    first_seen: float
    last_seen: float
    reappeared_at: float  # when it last (re)appeared: its fade-in starts here


def _bounds(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top-left and bottom-right corners of the mesh's bounding box."""
    xy = landmarks[:MESH_VERTICES, :2]
    return xy.min(axis=0), xy.max(axis=0)


def plausible(landmarks: np.ndarray, frame_size: tuple[int, int], min_face_px: float) -> bool:
    """Whether a face is worth drawing: big enough, not collapsed, mostly inside the frame."""
    if not np.all(np.isfinite(landmarks[:MESH_VERTICES, :2])):
        return False
    low, high = _bounds(landmarks)
    width, height = high - low
    if max(width, height) < min_face_px:
        return False
    if min(width, height) < 0.25 * max(width, height):  # a face is not a sliver
        return False
    frame_w, frame_h = frame_size
    inside_w = max(0.0, min(high[0], frame_w) - max(low[0], 0.0))
    inside_h = max(0.0, min(high[1], frame_h) - max(low[1], 0.0))
    return inside_w * inside_h >= 0.25 * width * height


def distinct(faces: list[Face], max_overlap: float) -> list[Face]:
    """Faces without duplicates: of two whose boxes overlap more than ``max_overlap``
    (intersection over union), the larger is kept."""
    if len(faces) < 2:
        return faces
    boxes = [_bounds(face.landmarks) for face in faces]
    areas = [float(np.prod(high - low)) for low, high in boxes]
    kept: list[int] = []
    for i in sorted(range(len(faces)), key=lambda i: -areas[i]):
        for j in kept:
            low, high = np.maximum(boxes[i][0], boxes[j][0]), np.minimum(boxes[i][1], boxes[j][1])
            inter = float(np.prod(np.clip(high - low, 0.0, None)))
            if inter / max(areas[i] + areas[j] - inter, 1e-9) > max_overlap:
                break
        else:
            kept.append(i)
    return [faces[i] for i in sorted(kept)]


def _summary(landmarks: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre and size (bounding-box diagonal) of a face, for matching."""
    low, high = _bounds(landmarks)
    return (low + high) / 2.0, float(np.hypot(*(high - low)))


def match(tracks: list[np.ndarray], detections: list[np.ndarray], max_cost: float) -> list[tuple[int, int]]:
    """(track index, detection index) pairs, cheapest first, each used once.

    Cost: centre distance over the larger face's size, plus how different the
    sizes are. Faces are few (at most 16), so a greedy pass over the sorted
    cost matrix is exact enough and has no dependency.
    """
    if not tracks or not detections:
        return []
    a = [_summary(t) for t in tracks]
    b = [_summary(d) for d in detections]
    costs = np.array([[np.linalg.norm(ca - cb) / max(sa, sb, 1.0) + abs(np.log(max(sa, 1.0) / max(sb, 1.0)))
                       for cb, sb in b] for ca, sa in a])
    pairs, used_t, used_d = [], set(), set()
    for flat in np.argsort(costs, axis=None, kind="stable"):
        t, d = divmod(int(flat), len(b))
        if costs[t, d] > max_cost:
            break
        if t not in used_t and d not in used_d:
            pairs.append((t, d))
            used_t.add(t)
            used_d.add(d)
    return pairs


class FaceStabilizer:
    """Call with each frame and its raw faces; returns the faces to draw, by id."""

    def __init__(self, options: StabilizerOptions = StabilizerOptions()) -> None:
        self.options = options
        self.tracks: list[_Track] = []
        self._next_id = 0
        self._last_time: float | None = None
        self._frame_size: tuple[int, int] | None = None
        self._interval: float | None = None  # the device's frame interval, followed (seconds)

    def reset(self) -> None:
        self.tracks = []
        self._last_time = None
        self._interval = None

    @property
    def hold(self) -> float:
        """How long a missed face is held (seconds): ``hold``, or ``hold_frames`` frame intervals if longer."""
        opts = self.options
        return opts.hold if self._interval is None else max(opts.hold, opts.hold_frames * self._interval)

    def __call__(self, frame: Frame, faces: tuple[Face, ...]) -> tuple[Face, ...]:
        opts = self.options
        now = frame.timestamp
        if self._frame_size is not None and frame.size != self._frame_size:
            self.reset()  # positions in another frame size cannot be compared
        self._frame_size = frame.size
        if self._last_time is not None and now < self._last_time:
            self.reset()  # the clock went back: another stream; start afresh
        first_frame = self._last_time is None
        dt = 0.0 if first_frame else now - self._last_time
        if dt > opts.max_gap:  # the camera paused: snap to where the faces are now
            for track in self.tracks:
                track.smoother.reset()
            dt = 0.0
        elif dt > 0.0:  # a longer interval at once (the device slowed down), a shorter one over a few frames
            slower = self._interval is None or dt > self._interval
            self._interval = dt if slower else self._interval + INTERVAL_LEARN * (dt - self._interval)
        previous, self._last_time = self._last_time, now

        detections = distinct([f for f in faces if plausible(f.landmarks, frame.size, opts.min_face_px)],
                              opts.max_overlap)
        alive = [t for t in self.tracks if now - t.last_seen <= opts.forget]
        pairs = match([t.landmarks for t in alive], [d.landmarks for d in detections], opts.max_match_cost)
        matched_detections = {d for _, d in pairs}
        for t_index, d_index in pairs:
            track, detection = alive[t_index], detections[d_index]
            gone = now - track.last_seen
            # Faded out: gone from the frame before this one. A face seen in every frame of a slow device
            # (a frame every 300 ms), or missed in one of them, was never off screen: it must not fade in again.
            faded = previous is not None and previous - track.last_seen > self.hold + opts.fade
            if faded:  # snap, and fade in again
                track.smoother.reset()
                track.reappeared_at = now
            track.landmarks = track.smoother(detection.landmarks, gone if dt > 0 else 0.0)
            track.pose = detection.pose
            track.last_seen = now
        for d_index, detection in enumerate(detections):
            if d_index in matched_detections:
                continue
            smoother = FaceSmoother(opts.smoothing)
            landmarks = smoother(detection.landmarks, 0.0)
            # Faces in the first frame are shown at once: nothing was on screen before them.
            appeared = now - opts.fade if first_frame else now
            alive.append(_Track(self._next_id, smoother, landmarks, detection.pose, now, now, appeared))
            self._next_id += 1
        self.tracks = alive

        out = []
        for track in sorted(self.tracks, key=lambda t: t.face_id):
            opacity = self._opacity(track, now)
            if opacity > 0.0:
                out.append(Face(landmarks=track.landmarks, pose=track.pose, face_id=track.face_id, opacity=opacity))
        return tuple(out)

    def _opacity(self, track: _Track, now: float) -> float:
        """Fade in after (re)appearing; hold, then fade out, after being lost."""
        opts = self.options
        fade_in = 1.0 if opts.fade <= 0 else min(1.0, 0.25 + (now - track.reappeared_at) / opts.fade)
        lost_for, hold = now - track.last_seen, self.hold
        if lost_for <= hold:
            fade_out = 1.0
        else:
            fade_out = max(0.0, 1.0 - (lost_for - hold) / max(opts.fade, 1e-6))
        return float(min(fade_in, fade_out))

