"""CPU against GPU delegate for the face model: MediaPipe's model alone and through our tracker.

For each delegate (cpu, gpu), path (the model alone on ready RGB images; the product's
``FaceTracker`` on BGR frames, boundary included), size (720p, 1080p) and number of faces (1: the
webcam clip ``webcam_glasses_720x1280.mp4`` and its 1080x1920 upscale; 2: ``two_people.jpg``
letterboxed into 1280x720 and 1920x1080), it prints the median wall milliseconds per frame, the
95th percentile, and the process CPU milliseconds per frame (every thread: MediaPipe's graph,
XNNPACK's pool, the GL thread), plus how far GPU landmarks are from CPU ones (mean px).

It needs no display: MediaPipe's GPU delegate is OpenGL ES through EGL. On an NVIDIA machine
without a desktop, NVIDIA's EGL vendor file must be visible; it is looked up and set in
``__EGL_VENDOR_LIBRARY_FILENAMES`` when that is unset. Without a usable GPU the GPU rows say why
(the same few words as ``arfilter doctor``) and the CPU rows still run. About a minute on a
16-core machine; a deadline (``--budget``, 200 s) stops it early, saying so, well inside 4 minutes.

    ARFILTER_TEST_MEDIA=../shared .venv/bin/python benchmarks/bench_delegate.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

EGL_VENDOR_FILES = ("/usr/share/glvnd/egl_vendor.d/10_nvidia.json", "/etc/glvnd/egl_vendor.d/10_nvidia.json")
if "__EGL_VENDOR_LIBRARY_FILENAMES" not in os.environ:  # before mediapipe loads EGL
    found = [path for path in EGL_VENDOR_FILES if Path(path).is_file()]
    if found:
        os.environ["__EGL_VENDOR_LIBRARY_FILENAMES"] = found[0]

from arfilter.core.types import Frame  # noqa: E402
from arfilter.tracking import tracker as tracker_module  # noqa: E402
from media import MODEL as MODEL_NAME, media_root, read_frames  # noqa: E402  (tests/media.py: the one lookup)

SIZES = {"720p": 720, "1080p": 1080}  # the short side


def letterbox(image: np.ndarray, width: int, height: int) -> np.ndarray:
    scale = min(width / image.shape[1], height / image.shape[0])
    resized = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                         interpolation=cv2.INTER_LINEAR)
    out = np.zeros((height, width, 3), np.uint8)
    top, left = (height - resized.shape[0]) // 2, (width - resized.shape[1]) // 2
    out[top:top + resized.shape[0], left:left + resized.shape[1]] = resized
    return out


def workloads(media: Path, count: int) -> dict[tuple[str, int], list[np.ndarray]]:
    """(size, faces) -> BGR frames: the webcam clip for one face, the two-people photo for two."""
    clip = read_frames(media / "webcam_glasses_720x1280.mp4", count)
    pair = cv2.imread(str(media / "two_people.jpg"))
    out = {}
    for size, short in SIZES.items():
        out[(size, 1)] = [f if f.shape[1] == short else cv2.resize(f, (short, short * 16 // 9)) for f in clip]
        out[(size, 2)] = [letterbox(pair, short * 16 // 9, short)] * len(clip)
    return out


def measure(step, frames: list[np.ndarray], warmup: int) -> tuple[list[float], float, list]:
    """Wall ms per frame, process CPU ms per frame (after the warm-up frames), and each frame's landmarks."""
    times, found = [], []
    cpu_start = None
    for index, frame in enumerate(frames):
        if index == warmup:
            cpu_start = time.process_time()
        start = time.perf_counter()
        found.append(step(frame, index))
        if index >= warmup:
            times.append((time.perf_counter() - start) * 1000.0)
    cpu = (time.process_time() - cpu_start) * 1000.0 / max(1, len(times)) if cpu_start is not None else float("nan")
    return times, cpu, found


def model_alone(model_bytes: bytes, faces: int, gpu: bool):
    """MediaPipe's landmarker on ready RGB images (what the model itself costs), and its closer."""
    import mediapipe as mp

    options = tracker_module.TrackerOptions(MODEL, max_faces=faces)
    landmarker = tracker_module.create_landmarker(model_bytes, options, gpu=gpu)
    start_ms = 1 if gpu else 0  # the GPU warm-up used 0 ms

    def step(rgb: np.ndarray, index: int) -> list[np.ndarray]:
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        result = landmarker.detect_for_video(image, start_ms + index * 33)
        return [np.array([(p.x, p.y) for p in points], np.float32) * rgb.shape[1::-1] for points in result.face_landmarks]

    return step, landmarker.close


def product_tracker(faces: int, gpu: bool):
    options = tracker_module.TrackerOptions(MODEL, max_faces=faces, delegate="auto" if gpu else "cpu")
    tracker = tracker_module.FaceTracker(options, say=lambda line: None)
    if gpu and tracker.delegate != "gpu":
        tracker.close()
        raise RuntimeError(tracker.why_not_gpu)

    def step(bgr: np.ndarray, index: int) -> list[np.ndarray]:
        return [face.landmarks[:, :2] for face in tracker(Frame(bgr, index / 30.0))]

    return step, tracker.close


def gap_px(cpu: list, gpu: list) -> float:
    """Mean distance between the CPU's and the GPU's landmarks, over frames where both found as many faces."""
    gaps = [float(np.linalg.norm(a - b, axis=1).mean()) for fa, fb in zip(cpu, gpu) if len(fa) == len(fb)
            for a, b in zip(sorted(fa, key=lambda p: p[:, 0].mean()), sorted(fb, key=lambda p: p[:, 0].mean()))]
    return statistics.mean(gaps) if gaps else float("nan")


def run_case(path: str, size: str, faces: int, frames, model_bytes: bytes, warmup: int) -> list[str]:
    """Both delegates on one workload: table rows."""
    rows, landmarks = [], {}
    for delegate in ("cpu", "gpu"):
        gpu = delegate == "gpu"
        try:
            if path == "model alone":
                step, close = model_alone(model_bytes, faces, gpu)
                inputs = [cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) for frame in frames]
            else:
                step, close = product_tracker(faces, gpu)
                inputs = frames
        except Exception as exc:  # noqa: BLE001 - the GPU's absence is a result, not a crash
            reason = tracker_module.gpu_reason(exc)
            rows.append(f"| {path} | {size} | {faces} | {delegate} | unavailable: {reason} | | | |")
            continue
        try:
            times, cpu_ms, found = measure(step, inputs, warmup)
        finally:
            close()
        landmarks[delegate] = found
        seen = sum(len(f) for f in found[warmup:]) / max(1, len(found) - warmup)
        gap = f"{gap_px(landmarks['cpu'], found):.2f}" if gpu and "cpu" in landmarks else ""
        rows.append(f"| {path} | {size} | {faces} | {delegate} | {statistics.median(times):.2f} | "
                    f"{np.percentile(times, 95):.2f} | {cpu_ms:.2f} | {seen:.2f} | {gap} |")
    return rows


def main() -> int:
    global MODEL
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=90, help="frames per case (the first --warmup not timed)")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--budget", type=float, default=200.0, help="seconds; stop before starting a case past it")
    args = parser.parse_args()
    began = time.monotonic()
    root = media_root()
    MODEL = root / MODEL_NAME
    model_bytes = tracker_module.landmarks_only_bundle(MODEL)
    print(f"bench_delegate: {os.cpu_count()} cores, mediapipe {__import__('mediapipe').__version__}, "
          f"{args.frames} frames per case ({args.warmup} warm-up), "
          f"__EGL_VENDOR_LIBRARY_FILENAMES={os.environ.get('__EGL_VENDOR_LIBRARY_FILENAMES', '(unset)')}")
    print(f"GPU delegate here: {tracker_module.gpu_problem(MODEL) or 'available'}\n")
    print("| path | size | faces | delegate | median ms | p95 ms | CPU ms/frame | faces seen | GPU-CPU px |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    cases = workloads(root / "media", args.frames)
    for path in ("model alone", "FaceTracker"):
        for (size, faces), frames in cases.items():
            if time.monotonic() - began > args.budget:
                print(f"| {path} | {size} | {faces} | stopped: past the --budget of {args.budget:g} s | | | | | |")
                continue
            for row in run_case(path, size, faces, frames, model_bytes, args.warmup):
                print(row, flush=True)
    print(f"\n{time.monotonic() - began:.0f} s in all")
    return 0


MODEL = Path()

if __name__ == "__main__":
    sys.exit(main())
