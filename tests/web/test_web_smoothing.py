"""The page's smoothing (app/track/smoothing.js) is the desktop's: the same landmarks in, the same out.

A synthetic sequence with known motion (a real face's landmarks moved, turned and scaled along a
known path, with seeded jitter; a second face that arrives late, drops out and comes back; the
detections listed in random order; then a phone's 3 frames a second that misses the second face in one
frame and later in two, and a camera that stalls) goes
through the Python FaceStabilizer and, in Chromium, through the JS port. Ids, fades and every landmark
must agree, and the jitter must be reduced.
"""

from __future__ import annotations

import math

import numpy as np

from arfilter.core.types import Face, Frame
from arfilter.tracking.stabilize import FaceStabilizer

from test_web_page import launch, serve_template, sync_playwright

SIZE = (1280, 720)
FRAMES = 120
SLOW_FRAMES = 14  # then a phone that tracks 3 frames a second, and a camera that stalls for 0.7 s
SLOW_MISSES = (2, 9, 10)  # slow frames without face B: held through one, gone after two
JITTER_PX = 1.0


def _moved(base: np.ndarray, dx: float, dy: float, angle: float, scale: float) -> np.ndarray:
    centre = base[:, :2].mean(axis=0)
    c, s = math.cos(angle), math.sin(angle)
    out = base.astype(np.float64).copy()
    out[:, :2] = (base[:, :2] - centre) @ np.array([[c, s], [-s, c]]) * scale + centre + (dx, dy)
    out[:, 2] *= scale
    return out


def sequence(base: np.ndarray) -> tuple[list[float], list[list[np.ndarray]], list[np.ndarray]]:
    """(timestamps, detections per frame in random order, face A's true landmarks per frame)."""
    rng = np.random.default_rng(15)
    times, detections, truth = [], [], []
    small = _moved(base, -380.0, 40.0, 0.0, 0.5)
    for k in range(FRAMES):
        # Face A: still for a second, then a slow sway, a turn of 12 degrees and a step closer.
        phase = max(0.0, (k - 30) / 30.0)
        a = _moved(base, 60.0 * math.sin(phase), 15.0 * phase, math.radians(12.0) * math.sin(phase / 2),
                   1.0 + 0.1 * min(phase, 1.0))
        truth.append(a)
        faces = [a]
        if 5 <= k < 50 or k >= 60:  # face B arrives late, is lost for 10 frames (faded out), comes back
            faces.append(small + (2.0 * k, 0.0, 0.0))
        noisy = [(f + rng.normal(0.0, JITTER_PX, f.shape)).astype(np.float32) for f in faces]
        detections.append([noisy[i] for i in rng.permutation(len(noisy))])
        times.append(k / 30.0 + float(rng.uniform(-0.004, 0.004)))  # a real camera's uneven intervals
    for k in range(SLOW_FRAMES):  # slowly; face B missed in a frame, and later in two
        times.append(times[-1] + (0.7 if k == 5 else 1 / 3.0))
        slow = (truth[-1],) if k in SLOW_MISSES else (truth[-1], small + (2.0 * FRAMES, 0.0, 0.0))
        detections.append([(f + rng.normal(0.0, JITTER_PX, f.shape)).astype(np.float32) for f in slow])
    return times, detections, truth


def run_python(times, detections) -> list[list[tuple[int, float, np.ndarray]]]:
    stabilizer = FaceStabilizer()
    blank = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    out = []
    for k, (t, faces) in enumerate(zip(times, detections)):
        drawn = stabilizer(Frame(blank, t, k), tuple(Face(landmarks=f) for f in faces))
        out.append([(f.face_id, f.opacity, f.landmarks) for f in drawn])
    return out


RUN_JS = """async ({times, detections, width, height}) => {
  const {FaceStabilizer} = await import('/app/track/smoothing.js');
  const stabilizer = new FaceStabilizer();
  return times.map((t, k) => stabilizer.update(t, width, height,
      detections[k].map((flat) => ({landmarks: Float32Array.from(flat)})))
    .map((f) => ({id: f.id, opacity: f.opacity, landmarks: Array.from(f.landmarks)})));
}"""


def run_js(times, detections) -> list[list[tuple[int, float, np.ndarray]]]:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page()
            serve_template(page)
            result = page.evaluate(RUN_JS, {"times": times, "width": SIZE[0], "height": SIZE[1],
                                            "detections": [[f.ravel().tolist() for f in faces]
                                                           for faces in detections]})
        finally:
            browser.close()
    return [[(f["id"], f["opacity"], np.array(f["landmarks"], np.float32).reshape(-1, 3)) for f in faces]
            for faces in result]


def test_the_page_smooths_and_follows_faces_exactly_like_the_desktop(portrait_landmarks):
    times, detections, truth = sequence(np.asarray(portrait_landmarks))
    python, js = run_python(times, detections), run_js(times, detections)
    assert len(js) == len(python) == FRAMES + SLOW_FRAMES
    worst = 0.0
    for k, (py_faces, js_faces) in enumerate(zip(python, js)):
        assert [f[0] for f in js_faces] == [f[0] for f in py_faces], f"frame {k}: other face ids"
        for (_, py_opacity, py_points), (_, js_opacity, js_points) in zip(py_faces, js_faces):
            assert abs(py_opacity - js_opacity) < 1e-9, f"frame {k}: opacity {js_opacity} != {py_opacity}"
            worst = max(worst, float(np.abs(py_points.astype(np.float64) - js_points).max()))
    assert worst < 1e-3, f"the JS smoothing is {worst:.2g} px from Python's"
    # The sequence exercises what it claims: two ids, B faded out during its dropout, then back with its id.
    assert {f[0] for faces in js for f in faces} == {0, 1}
    assert [f[0] for f in js[58]] == [0] and [f[0] for f in js[70]] == [0, 1]
    assert 0.0 < js[60][-1][1] < 1.0, "face B fades in again when it comes back"
    slow = [[(f[0], round(f[1], 6)) for f in faces] for faces in js[FRAMES:]]
    assert slow[:9] == [[(0, 1.0), (1, 1.0)]] * 9, "a face seen in every frame of a slow phone (or missed in one) " \
        "faded in again"
    assert slow[9:] == [[(0, 1.0), (1, 1.0)], [(0, 1.0)], [(0, 1.0), (1, 0.25)], [(0, 1.0), (1, 1.0)],
                        [(0, 1.0), (1, 1.0)]], "missed in two slow frames, face B goes, and fades in again"

    # Jitter reduced: face A's shiver (how far each frame-to-frame step is from its true step) is well
    # under the raw detections' (their jitter is 1 px per coordinate, so about 2 px per step).
    raw_steps, smooth_steps = [], []
    for k in range(11, FRAMES):
        true_step = truth[k][:, :2] - truth[k - 1][:, :2]
        smooth = [next(f for f in js[j] if f[0] == 0)[2][:, :2] for j in (k - 1, k)]
        raw = [_nearest(detections[j], truth[j])[:, :2] for j in (k - 1, k)]
        smooth_steps.append(np.linalg.norm(smooth[1] - smooth[0] - true_step, axis=1))
        raw_steps.append(np.linalg.norm(raw[1] - raw[0] - true_step, axis=1))
    raw_rms, smooth_rms = (float(np.sqrt(np.mean(np.square(e)))) for e in (raw_steps, smooth_steps))
    assert smooth_rms < 0.5 * raw_rms, f"smoothing left {smooth_rms:.2f} px of {raw_rms:.2f} px shiver per frame"


def _nearest(faces: list[np.ndarray], truth: np.ndarray) -> np.ndarray:
    """The detection of the face whose true landmarks are ``truth``."""
    return min(faces, key=lambda f: float(np.abs(f[:, :2].mean(axis=0) - truth[:, :2].mean(axis=0)).sum()))
