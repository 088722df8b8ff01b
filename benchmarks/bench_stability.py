"""Steadiness figures: jitter on a still face, lag on known motion, real clips, identity, cost.

Every figure is a ratio against raw MediaPipe landmarks on the same frames in
the same run:

* **jitter**: ``portrait_720p.jpg`` repeated 150 frames, each with fresh
  Gaussian sensor noise (sigma 2 grey levels); RMS frame-to-frame motion of the
  drawn landmarks.
* **lag**: the same photo slid and rotated along a known smooth path, so the
  true landmarks of every frame are the frame-0 landmarks moved by that
  frame's transform; mean error against the truth, and the lag (in frames)
  of the smoothed path behind the true one.
* **clips**: on every shared clip, frame-to-frame motion of the landmarks the
  black eye is drawn on, over frames where the head is still (by the raw
  landmarks), raw against smoothed. Alongside, how the skin under the look
  really moved on those frames, measured from the picture (Lucas-Kanade flow of
  ~100 corners, one affine map per step): a "still" head in a real video still
  sways and breathes, and a look that stays on the skin must move with it, so
  ``raw / skin`` is the most any tracker glued to the skin could score
  (``ceiling``); and ``slide``: how far the drawn look moved against the skin
  per step, raw and smoothed.
* **identity**: ``two_people.jpg`` cut in two, both halves moving on their own
  paths and crossing sides; a face id must never move to the other person.
* **cost**: the stabiliser's time per face per frame.

Run:  python benchmarks/bench_stability.py [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from arfilter.tracking.model import resolve_model
from arfilter.tracking.stabilize import FaceStabilizer, StabilizerOptions
from arfilter.tracking.tracker import FaceTracker, TrackerOptions
from arfilter.core.types import Face, Frame

REPO = Path(__file__).resolve().parents[1]
FPS = 30.0


def overlay_landmarks(model: Path, look: str = "black_eye_left") -> list[int]:
    """Mesh vertices under the look's paint, lids left out (a blink is real motion, not jitter)."""
    from arfilter.tracking.mesh import LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR, load_canonical_mesh, uv_to_texel
    from arfilter.render.packs import load_overlay

    mesh = load_canonical_mesh(model)
    overlay = load_overlay(look)
    alpha = overlay.coverage
    texel = np.clip(np.round(uv_to_texel(mesh.uvs, overlay.texture_size)).astype(int), 0, overlay.texture_size - 1)
    painted = alpha[texel[:, 1], texel[:, 0]] > 10
    lids = np.zeros(len(mesh.uvs), bool)
    for contour in (LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR):
        eye = mesh.uvs[list(contour)]
        centre, reach = eye.mean(axis=0), np.ptp(eye[:, 0]) * 0.6
        lids |= np.linalg.norm((mesh.uvs - centre) * (1.0, 2.0), axis=1) < reach
    return [int(i) for i in np.flatnonzero(painted & ~lids)]


def track_all(model: Path, frames: list[np.ndarray], faces: int = 2) -> list[tuple[Face, ...]]:
    with FaceTracker(TrackerOptions(model, max_faces=faces)) as tracker:
        return [tracker(Frame(image, i / FPS, i)) for i, image in enumerate(frames)]


def stabilise(frames: list[np.ndarray], raw: list[tuple[Face, ...]], options: StabilizerOptions,
              times: list[float] | None = None) -> list[tuple[Face, ...]]:
    stabilizer = FaceStabilizer(options)
    out = []
    for i, (image, faces) in enumerate(zip(frames, raw)):
        t0 = time.perf_counter()
        out.append(stabilizer(Frame(image, i / FPS, i), faces))
        if times is not None and faces:
            times.append((time.perf_counter() - t0) * 1e3 / len(faces))
    return out


def frame_motion(tracks: np.ndarray) -> np.ndarray:
    """Per frame step, RMS over points of the displacement (px): tracks is (F, N, 2)."""
    return np.sqrt((np.linalg.norm(np.diff(tracks, axis=0), axis=2) ** 2).mean(axis=1))


def first_face(seq: list[tuple[Face, ...]]) -> np.ndarray:
    return np.array([faces[0].landmarks[:468, :2] for faces in seq])


def jitter(image: np.ndarray, model: Path, options: StabilizerOptions) -> dict:
    rng = np.random.default_rng(2)
    frames = [np.clip(image + rng.normal(0, 2.0, image.shape), 0, 255).astype(np.uint8) for _ in range(150)]
    raw = track_all(model, frames)
    smooth = stabilise(frames, raw, options)
    warm = 15  # the filters settle in half a second
    raw_rms = float(np.sqrt((frame_motion(first_face(raw)[warm:]) ** 2).mean()))
    smooth_rms = float(np.sqrt((frame_motion(first_face(smooth)[warm:]) ** 2).mean()))
    return {"raw_rms_px": raw_rms, "smoothed_rms_px": smooth_rms, "ratio": smooth_rms / raw_rms}


def path(k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The known motion at frame k: angle (rad), and x, y shift (px). Smooth, with pauses and reversals."""
    t = k / FPS
    angle = np.deg2rad(12.0) * np.sin(2 * math.pi * t / 4.0)
    dx = 140.0 * np.sin(2 * math.pi * t / 3.0)
    dy = 50.0 * np.sin(2 * math.pi * t / 5.0 + 0.7)
    return angle, dx, dy


def moved(image: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The image at frame k and its 2x3 transform."""
    angle, dx, dy = (float(v) for v in path(np.array(k, np.float64)))
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), math.degrees(angle), 1.0)
    matrix[:, 2] += (dx, dy)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT), matrix


def lag(image: np.ndarray, model: Path, options: StabilizerOptions, frames_n: int = 180) -> dict:
    pairs = [moved(image, k) for k in range(frames_n)]
    frames = [p[0] for p in pairs]
    # Truth: frame-0 landmarks, from a still run (median of 15 tracked copies of the unmoved photo).
    still = track_all(model, [frames[0]] * 15)
    base = np.median(first_face(still), axis=0)
    base0 = np.hstack([base, np.ones((len(base), 1))])
    unmove = cv2.invertAffineTransform(pairs[0][1])
    base_unmoved = np.hstack([base0 @ unmove.T, np.ones((len(base), 1))])
    truth = np.array([base_unmoved @ m.T for _, m in pairs])  # (F, 468, 2)
    raw = track_all(model, frames)
    smooth = stabilise(frames, raw, options)
    raw_xy, smooth_xy = first_face(raw), first_face(smooth)
    raw_err = np.linalg.norm(raw_xy - truth, axis=2).mean()
    smooth_err = np.linalg.norm(smooth_xy - truth, axis=2).mean()

    def best_lag(xy: np.ndarray) -> float:
        """Shift (frames, to 0.05) of the truth that best matches this path."""
        shifts = np.arange(-1.0, 3.0001, 0.05)
        k = np.arange(frames_n, dtype=np.float64)
        errors = []
        for s in shifts:
            kk = np.clip(k - s, 0, frames_n - 1)
            lo = np.floor(kk).astype(int)
            hi = np.minimum(lo + 1, frames_n - 1)
            f = (kk - lo)[:, None, None]
            shifted = truth[lo] * (1 - f) + truth[hi] * f
            errors.append(np.linalg.norm(xy[10:-10] - shifted[10:-10], axis=2).mean())
        return float(shifts[int(np.argmin(errors))])

    def peak_lag(xy: np.ndarray) -> float:
        """Largest lag (frames) along the direction of motion, over moving frames (>60 px/s)."""
        centre, true_centre = xy.mean(axis=1), truth.mean(axis=1)
        velocity = np.gradient(true_centre, axis=0)  # px per frame
        speed = np.linalg.norm(velocity, axis=1)
        moving = speed > 60.0 / FPS
        behind = -((centre - true_centre) * velocity).sum(axis=1) / np.maximum(speed, 1e-9) ** 2
        return float(np.percentile(behind[moving][10:], 99))

    return {"raw_mean_error_px": float(raw_err), "smoothed_mean_error_px": float(smooth_err),
            "error_ratio": float(smooth_err / raw_err),
            "raw_lag_frames": best_lag(raw_xy), "smoothed_lag_frames": best_lag(smooth_xy),
            "raw_peak_lag_frames": peak_lag(raw_xy), "smoothed_peak_lag_frames": peak_lag(smooth_xy)}


def read_clip(path: Path, limit: int = 300) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while len(frames) < limit:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    return frames


def still_steps(landmarks: np.ndarray, size: float, half_window: int = 4, tolerance: float = 0.01) -> np.ndarray:
    """Indices k of steps k-1 -> k taken while the head was still, judged on raw (F, N, 2) landmarks.

    Still: over the ``2 * half_window + 1`` frames around the step, the face's
    landmarks stay, on average, within ``tolerance`` of the face's width of
    their mean positions there. A slow drift, a nod, a turn or a grimace is
    motion, not jitter, and is left out.
    """
    steps = []
    for k in range(half_window + 1, len(landmarks) - half_window):
        window = landmarks[k - half_window - 1:k + half_window + 1]
        spread = np.linalg.norm(window - window.mean(axis=0), axis=2).mean(axis=1)
        if spread.max() < tolerance * size:
            steps.append(k)
    return np.array(steps, dtype=int)


def skin_motion(frames: list[np.ndarray], index: np.ndarray, raw_xy: np.ndarray, region: list[int]) -> np.ndarray:
    """Per step k-1 -> k (between frames ``index[k-1]``, ``index[k]``): the affine map the skin
    under the look moved by, measured from the pictures (NaN where it could not be measured).

    Corners are sought in the look's area (the eye itself masked out: a blink or
    a glance is not skin), followed with pyramidal Lucas-Kanade, kept if they
    come back within 0.15 px when followed back, and fitted with RANSAC.
    """
    from arfilter.tracking.mesh import LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR
    maps = np.full((len(index), 2, 3), np.nan)
    lk = dict(winSize=(15, 15), maxLevel=3)
    for k in range(1, len(index)):
        if index[k] - index[k - 1] != 1:
            continue
        before = cv2.cvtColor(frames[index[k - 1]], cv2.COLOR_BGR2GRAY)
        after = cv2.cvtColor(frames[index[k]], cv2.COLOR_BGR2GRAY)
        points = raw_xy[k - 1]
        area = points[region]
        centre = area.mean(axis=0)
        hull = cv2.convexHull(((area - centre) * 1.3 + centre).astype(np.int32))
        mask = np.zeros_like(before)
        cv2.fillConvexPoly(mask, hull, 255)
        for eye in (LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR):
            cv2.fillConvexPoly(mask, cv2.convexHull(points[list(eye)].astype(np.int32)), 0)
        corners = cv2.goodFeaturesToTrack(before, 150, 0.003, 4, mask=mask)
        if corners is None or len(corners) < 10:
            continue
        forward, ok_f, _ = cv2.calcOpticalFlowPyrLK(before, after, corners, None, **lk)
        back, ok_b, _ = cv2.calcOpticalFlowPyrLK(after, before, forward, None, **lk)
        good = (ok_f[:, 0] == 1) & (ok_b[:, 0] == 1) & (np.linalg.norm((back - corners)[:, 0], axis=1) < 0.15)
        if good.sum() < 10:
            continue
        matrix, _ = cv2.estimateAffine2D(corners[good], forward[good], ransacReprojThreshold=0.5)
        if matrix is not None:
            maps[k] = matrix
    return maps


def clip_steadiness(clip: Path, model: Path, options: StabilizerOptions, times: list[float],
                    region: list[int]) -> dict:
    """Frame-to-frame motion of the black eye's landmarks while the head is still: raw vs smoothed."""
    frames = read_clip(clip)
    raw = track_all(model, frames)
    smooth = stabilise(frames, raw, options, times)
    # The longest run of frames where both have a face (ids aside: these clips show one person).
    both = np.array([bool(r) and bool(s) for r, s in zip(raw, smooth)])
    if both.sum() < 30:
        return {"frames": len(frames), "still_steps": 0}
    index = np.flatnonzero(both)
    raw_xy = np.array([raw[i][0].landmarks[:468, :2] for i in index])
    smooth_xy = np.array([smooth[i][0].landmarks[:468, :2] for i in index])
    consecutive = np.diff(index) == 1
    size = float(np.median(np.ptp(raw_xy[:, :, 0], axis=1)))
    steps = [k for k in still_steps(raw_xy, size) if consecutive[k - 1]]
    if not steps:
        return {"frames": len(frames), "still_steps": 0}
    def rms_step(xy: np.ndarray) -> float:
        moves = [np.linalg.norm(xy[k][region] - xy[k - 1][region], axis=1) for k in steps]
        return float(np.sqrt(np.mean(np.square(moves))))

    raw_rms, smooth_rms = rms_step(raw_xy), rms_step(smooth_xy)
    maps = skin_motion(frames, index, raw_xy, region)
    measured = [k for k in range(1, len(index)) if np.isfinite(maps[k, 0, 0])]
    still_measured = [k for k in steps if np.isfinite(maps[k, 0, 0])]

    def carried(xy: np.ndarray, k: int) -> np.ndarray:
        """Where the skin under the look at step k-1 went by step k."""
        return xy[k - 1][region] @ maps[k][:, :2].T + maps[k][:, 2]

    def rms(moves: list[np.ndarray]) -> float:
        return float(np.sqrt(np.mean(np.square(np.linalg.norm(np.array(moves), axis=2)))))

    skin_rms = rms([carried(raw_xy, k) - raw_xy[k - 1][region] for k in still_measured])
    return {"frames": len(frames), "face_width_px": size, "still_steps": len(steps),
            "raw_rms_px": raw_rms, "smoothed_rms_px": smooth_rms, "reduction": raw_rms / max(smooth_rms, 1e-9),
            "skin_rms_px": skin_rms, "ceiling": raw_rms / max(skin_rms, 1e-9),
            "slide_still_raw_px": rms([raw_xy[k][region] - carried(raw_xy, k) for k in still_measured]),
            "slide_still_smoothed_px": rms([smooth_xy[k][region] - carried(smooth_xy, k) for k in still_measured]),
            "slide_all_raw_px": rms([raw_xy[k][region] - carried(raw_xy, k) for k in measured]),
            "slide_all_smoothed_px": rms([smooth_xy[k][region] - carried(smooth_xy, k) for k in measured]),
            "skin_measured_steps": len(measured)}


def identity(image: np.ndarray, model: Path, options: StabilizerOptions, frames_n: int = 150) -> dict:
    """Two people crossing: the photo's halves swap sides (one above the other) and sway.

    Each person's true centre is known per frame; a face id belongs to the
    person it is drawn on first, and a swap is an id later drawn on the other.
    """
    h, w = image.shape[:2]
    halves = [image[:, : w // 2], image[:, w // 2:]]
    half_w = w // 2
    canvas_w, canvas_h = 2 * half_w + 360, 2 * h
    frames, truths = [], []
    for k in range(frames_n):
        t = k / (frames_n - 1)
        canvas = np.full((canvas_h, canvas_w, 3), 40, np.uint8)
        xs = [int(20 + (canvas_w - half_w - 40) * t), int(canvas_w - half_w - 20 - (canvas_w - half_w - 40) * t)]
        ys = [int(20 * math.sin(2 * math.pi * k / 45)), h + int(-20 * math.sin(2 * math.pi * k / 37)) - 1]
        ys = [max(0, ys[0]), min(canvas_h - h, max(0, ys[1]))]
        truth = []
        for half, x, y in zip(halves, xs, ys):
            canvas[y:y + h, x:x + half.shape[1]] = half
            truth.append((x + half.shape[1] / 2, y + h / 2))
        frames.append(canvas)
        truths.append(np.array(truth))
    raw = track_all(model, frames, faces=2)
    smooth = stabilise(frames, raw, options)

    def person(face: Face, truth: np.ndarray) -> int:
        centre = face.landmarks[:468, :2].mean(axis=0)
        return int(np.argmin(np.linalg.norm(truth - centre, axis=1)))

    owner: dict[int, int] = {}
    swaps = 0
    for faces, truth in zip(smooth, truths):
        for face in faces:
            if owner.setdefault(face.face_id, person(face, truth)) != person(face, truth):
                swaps += 1
    raw_order_changes = sum(
        1 for a, b, ta, tb in zip(raw, raw[1:], truths, truths[1:]) if len(a) == 2 and len(b) == 2
        and (person(a[0], ta), person(b[0], tb)) in ((0, 1), (1, 0)))
    return {"frames": frames_n, "ids": sorted(owner), "id_swaps": swaps,
            "raw_order_changes": raw_order_changes, "frames_with_two_faces": sum(len(f) == 2 for f in smooth)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=REPO.parent / "shared" / "media")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    model = resolve_model(None, progress=sys.stderr)
    options = StabilizerOptions()
    portrait = cv2.imread(str(args.media / "portrait_720p.jpg"))
    times: list[float] = []
    results = {"options": {"min_cutoff": options.smoothing.min_cutoff, "beta": options.smoothing.beta,
                           "shape_min_cutoff": options.smoothing.shape_min_cutoff,
                           "shape_beta": options.smoothing.shape_beta}}
    results["jitter"] = jitter(portrait, model, options)
    print("jitter", json.dumps(results["jitter"]))
    results["lag"] = lag(portrait, model, options)
    print("lag", json.dumps(results["lag"]))
    results["clips"] = {}
    region = overlay_landmarks(model)
    results["overlay_landmarks"] = len(region)
    for clip in sorted(args.media.glob("*.mp4")):
        results["clips"][clip.name] = clip_steadiness(clip, model, options, times, region)
        print(clip.name, json.dumps(results["clips"][clip.name]))
    results["identity"] = identity(cv2.imread(str(args.media / "two_people.jpg")), model, options)
    print("identity", json.dumps(results["identity"]))
    results["cost_ms_per_face"] = {"median": float(np.median(times)), "p95": float(np.percentile(times, 95)),
                                   "n": len(times)}
    print("cost", json.dumps(results["cost_ms_per_face"]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
