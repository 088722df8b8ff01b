"""The One Euro smoother on arrays with known ground truth: still, moving, turning, talking, any frame rate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from arfilter.tracking.smoothing import FaceSmoother, OneEuro, SmoothingOptions

RNG = np.random.default_rng(5)


def face_shape(mesh) -> np.ndarray:
    """A frontal face about 300 px wide: the canonical mesh's x, y, z scaled to pixels."""
    positions = mesh.positions.astype(np.float64)
    xy = positions[:, :2] * np.array([1.0, -1.0]) * 20.0 + (640.0, 360.0)
    z = -positions[:, 2:3] * 20.0
    points = np.hstack([xy, z])
    return np.vstack([points, points[:10]])  # 478 points like MediaPipe's (iris points stand-ins)


def moved(shape: np.ndarray, dx: float, dy: float, angle: float) -> np.ndarray:
    centre = shape[:, :2].mean(axis=0)
    c, s = math.cos(angle), math.sin(angle)
    out = shape.copy()
    out[:, :2] = (shape[:, :2] - centre) @ np.array([[c, s], [-s, c]]) + centre + (dx, dy)
    return out


def frame_motion(points: np.ndarray) -> float:
    """RMS over frames and points of the frame-to-frame displacement, (F, N, 2+)."""
    return float(np.sqrt((np.linalg.norm(np.diff(points[:, :, :2], axis=0), axis=2) ** 2).mean()))


def test_one_euro_passes_a_constant_and_starts_at_the_first_value():
    f = OneEuro(1.0, 0.0)
    x = np.array([3.0, -2.0])
    for _ in range(5):
        np.testing.assert_allclose(f(x, 1 / 30), x)


def test_one_euro_with_no_speed_term_is_a_first_order_low_pass():
    f = OneEuro(min_cutoff=1.0, beta=0.0)
    f(np.zeros(1), 1 / 30)
    out = f(np.ones(1), 1 / 30)
    tau = 1 / (2 * math.pi)
    assert out[0] == pytest.approx(1 / (1 + tau * 30))


def test_a_still_face_with_sensor_noise_is_held_still(mesh):
    shape = face_shape(mesh)
    smoother = FaceSmoother()
    raw, smooth = [], []
    for k in range(150):
        noisy = shape + RNG.normal(0, 0.4, shape.shape)
        noisy[:, :2] += RNG.normal(0, 0.3, 2)  # MediaPipe's jitter moves the whole mesh too
        raw.append(noisy)
        smooth.append(smoother(noisy.astype(np.float32), 1 / 30))
    raw_motion, smooth_motion = frame_motion(np.array(raw)[15:]), frame_motion(np.array(smooth)[15:])
    assert smooth_motion < raw_motion / 4, (raw_motion, smooth_motion)
    assert smooth_motion < 0.25


@pytest.mark.parametrize("speed", [100.0, 400.0])
def test_a_moving_and_turning_head_is_followed_with_little_lag(mesh, speed):
    """A head sliding at ``speed`` px/s and turning 30 degrees/s: error well under a frame's motion."""
    shape = face_shape(mesh)
    smoother = FaceSmoother()
    errors = []
    for k in range(90):
        t = k / 30
        truth = moved(shape, speed * t, 0.3 * speed * t, math.radians(30) * t)
        out = smoother((truth + RNG.normal(0, 0.3, shape.shape)).astype(np.float32), 1 / 30)
        if k > 20:
            errors.append(np.linalg.norm(out[:, :2] - truth[:, :2], axis=1).mean())
    per_frame = speed / 30
    assert np.mean(errors) < 0.5 * per_frame, (np.mean(errors), per_frame)


def test_talking_lips_stay_lively_while_the_head_stays_still(mesh):
    from arfilter.render.regions import OUTER_LIPS_CONTOUR

    shape = face_shape(mesh)
    lips = list(OUTER_LIPS_CONTOUR)
    lower = [i for i in lips if shape[i, 1] > shape[lips, 1].mean()]
    smoother = FaceSmoother()
    travel_true, travel_drawn, still = [], [], []
    previous = None
    for k in range(60):
        opening = 12.0 * max(0.0, math.sin(2 * math.pi * k / 20))  # the jaw drops 12 px three times a second
        truth = shape.copy()
        truth[lower, 1] += opening
        out = smoother(truth.astype(np.float32), 1 / 30)
        if previous is not None and k > 5:
            travel_drawn.append(np.abs(out[lower, 1] - previous[lower, 1]).mean())
            still.append(np.abs(out[[33, 263, 1, 10], :2] - previous[[33, 263, 1, 10], :2]).max())
        travel_true.append(opening)
        previous = out
    # The drawn lips cover most of the true travel (2 * 12 px per cycle), and the head does not wobble.
    assert sum(travel_drawn) > 0.7 * sum(np.abs(np.diff(travel_true[5:])))
    assert max(still) < 0.5


@pytest.mark.parametrize("fps", [15.0, 60.0])
def test_the_same_motion_is_smoothed_alike_at_any_frame_rate(mesh, fps):
    """Frame-rate aware: at 15 or 60 fps the output at common instants matches 30 fps closely."""
    shape = face_shape(mesh)

    def run(rate: float) -> dict[float, np.ndarray]:
        smoother = FaceSmoother()
        out = {}
        for k in range(int(3 * rate)):
            t = k / rate
            truth = moved(shape, 120 * math.sin(2 * math.pi * t / 2), 0.0, 0.0)
            out[round(t, 4)] = smoother(truth.astype(np.float32), 1 / rate)[:, :2]
        return out

    base, other = run(30.0), run(fps)
    common = [t for t in base if t in other and t > 0.5]
    assert len(common) > 10
    gap = np.mean([np.linalg.norm(base[t] - other[t], axis=1).mean() for t in common])
    assert gap < 2.0, gap  # the motion itself covers 120 px


@pytest.mark.parametrize("fps", [15.0, 30.0, 60.0, 120.0])
def test_one_euro_lags_a_ramp_by_the_same_time_at_any_frame_rate(fps):
    """Known answer: a first-order low-pass at cut-off fc trails a ramp by exactly tau = 1 / (2 pi fc)
    seconds once settled, whatever the frame rate (a filter assuming 30 fps trails by tau * 30 / fps)."""
    cutoff, speed = 2.0, 3.0
    f = OneEuro(min_cutoff=cutoff, beta=0.0)
    for k in range(int(3 * fps) + 1):  # 3 s: about 38 time constants
        t = k / fps
        out = f(np.array([speed * t]), 1 / fps)
    lag_seconds = (speed * t - out[0]) / speed
    assert lag_seconds == pytest.approx(1 / (2 * math.pi * cutoff), rel=1e-6)


@pytest.mark.parametrize("fps", [15.0, 60.0])
def test_a_sliding_head_trails_by_the_same_time_at_15_60_and_30_fps(mesh, fps):
    """A head sliding at a constant 30 px/s (no speed term, so the lag is known): its landmarks trail by
    tau = 1 / (2 pi min_cutoff) seconds of motion, at 15 and 60 fps exactly as at 30."""
    options = SmoothingOptions(beta=0.0, shape_beta=0.0)
    shape = face_shape(mesh)
    velocity = np.array([30.0, -15.0])

    def trail(rate: float) -> np.ndarray:
        smoother = FaceSmoother(options)
        for k in range(int(8 * rate) + 1):  # 8 s: 10 time constants of the rigid filter
            t = k / rate
            truth = moved(shape, *(velocity * t), 0.0)
            out = smoother(truth.astype(np.float32), 1 / rate)
        return (truth[:, :2] - out[:, :2]).mean(axis=0) / velocity  # seconds behind, per axis

    tau = 1 / (2 * math.pi * options.min_cutoff)
    np.testing.assert_allclose(trail(30.0), tau, rtol=1e-3)
    np.testing.assert_allclose(trail(fps), tau, rtol=1e-3)


def test_switched_off_it_passes_landmarks_through(mesh):
    shape = face_shape(mesh).astype(np.float32)
    smoother = FaceSmoother(SmoothingOptions(enabled=False))
    assert smoother(shape, 1 / 30) is shape


def test_a_reset_forgets_the_old_pose(mesh):
    shape = face_shape(mesh).astype(np.float32)
    smoother = FaceSmoother()
    smoother(shape, 1 / 30)
    smoother.reset()
    far = moved(shape, 300, 0, 0).astype(np.float32)
    np.testing.assert_allclose(smoother(far, 1 / 30), far, atol=1e-3)


def test_a_blink_is_followed_so_the_eye_hole_does_not_trail(mesh):
    """Eyelids are smoothed lightly: over a four-frame blink the drawn lid stays near the real one."""
    from arfilter.tracking.mesh import LEFT_EYE_CONTOUR

    shape = face_shape(mesh)
    eye = list(LEFT_EYE_CONTOUR)
    upper_lid = [i for i in eye if shape[i, 1] < shape[eye, 1].mean()]
    opening = shape[eye, 1].max() - shape[eye, 1].min()
    smoother = FaceSmoother()
    closure = [0, 0, 0, 0.5, 1, 1, 0.5, 0, 0, 0]
    errors, drawn_travel = [], []
    for k in range(20 + len(closure)):
        c = closure[k - 20] if k >= 20 else 0.0
        truth = shape.copy()
        truth[upper_lid, 1] += c * opening * 0.9
        out = smoother(truth.astype(np.float32), 1 / 30)
        if k >= 20:
            errors.append(np.abs(out[upper_lid, 1] - truth[upper_lid, 1]).max())
            drawn_travel.append(out[upper_lid, 1].mean() - shape[upper_lid, 1].mean())
    assert max(errors) < 0.4 * opening, errors
    assert max(drawn_travel) > 0.7 * 0.9 * opening, "the lid closes on screen too"
