"""What the tracker's boundary costs around MediaPipe's model, part by part.

On the frames of a real clip (``webcam_glasses_720x1280.mp4``, and the same frames upscaled to
1080x1920), each step between a BGR frame and our (478, 3) landmark arrays is timed on its own,
median ms per frame:

- ``to_bgr``, ``cvtColor`` (a new array, and into a reused buffer), ``mp.Image`` creation;
- MediaPipe's ``detect_for_video`` split in three: the native call (through MediaPipe's serial
  dispatcher thread), mediapipe's own Python result building (``FaceLandmarkerResult.from_ctypes``:
  one dataclass per landmark) and freeing the C result;
- our conversion of those objects to arrays (a Python loop per point), the pose matrices;
- the lean read of the same C result as arrays in one go (what the tracker does now);
- the whole ``FaceTracker.__call__``.

The "public" rows ask for the transformation matrices (as the tracker did), the "lean" rows do
not (as it does now). Frames are decoded before timing.

    ARFILTER_MODEL=../shared/models/face_landmarker.task .venv/bin/python benchmarks/bench_boundary.py
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from arfilter.core.imageutil import to_bgr  # noqa: E402
from arfilter.core.types import Frame  # noqa: E402
from arfilter.tracking import tracker as tracker_module  # noqa: E402
from media import MODEL as MODEL_NAME, media_root  # noqa: E402  (tests/media.py: the one lookup)

MODEL = media_root() / MODEL_NAME

CLIP = "webcam_glasses_720x1280.mp4"


def read_frames(path: Path, count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def landmarker(matrices: bool, faces: int):
    import mediapipe as mp  # noqa: F401
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core.base_options import BaseOptions

    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_buffer=tracker_module.landmarks_only_bundle(MODEL)),
        running_mode=vision.RunningMode.VIDEO, num_faces=faces, output_face_blendshapes=False,
        output_facial_transformation_matrixes=matrices)
    return vision.FaceLandmarker.create_from_options(options)


def timed(parts: dict[str, list[float]], name: str, function, *args):
    start = time.perf_counter()
    value = function(*args)
    parts.setdefault(name, []).append((time.perf_counter() - start) * 1000.0)
    return value


def public_pass(frames, scale_to, faces: int) -> dict[str, list[float]]:
    """The public path, step by step (matrices asked for, as the tracker did before)."""
    import mediapipe as mp
    from mediapipe.tasks.python.vision import face_landmarker as fl

    parts: dict[str, list[float]] = {}
    with landmarker(True, faces) as model:
        for index, frame in enumerate(frames):
            frame = scale_to(frame)
            bgr = timed(parts, "to_bgr", to_bgr, frame)
            rgb = timed(parts, "cvtColor (new array)", cv2.cvtColor, bgr, cv2.COLOR_BGR2RGB)
            image = timed(parts, "mp.Image (copies)", mp.Image, mp.ImageFormat.SRGB, rgb)
            result_c = fl.MpFaceLandmarkerResultC()
            timed(parts, "native detect (graph + dispatch)", model._lib.MpFaceLandmarkerDetectForVideo,
                  model._handle, image._image_ptr, None, index * 33, ctypes.byref(result_c))
            result = timed(parts, "mediapipe result objects (from_ctypes)", fl.FaceLandmarkerResult.from_ctypes,
                           result_c)
            timed(parts, "free the C result", model._lib.MpFaceLandmarkerCloseResult, ctypes.byref(result_c))
            height, width = bgr.shape[:2]
            scale = np.array([width, height, width], dtype=np.float32)
            timed(parts, "ours: objects to arrays (loop per point)",
                  lambda: [np.array([(p.x, p.y, p.z) for p in lms], np.float32) * scale for lms in result.face_landmarks])
            timed(parts, "ours: pose matrices",
                  lambda: [np.asarray(m, np.float32) for m in result.facial_transformation_matrixes])
    return parts


def lean_pass(frames, scale_to, faces: int) -> dict[str, list[float]]:
    """The lean path, step by step: no matrices, a reused RGB buffer, the C result read as arrays."""
    import mediapipe as mp
    from mediapipe.tasks.python.vision import face_landmarker as fl

    parts: dict[str, list[float]] = {}
    reader = None
    rgb = None
    with landmarker(False, faces) as model:
        reader = tracker_module.lean_detector(model)
        assert reader is not None, "the lean path is not available with this mediapipe"
        for index, frame in enumerate(frames):
            frame = scale_to(frame)
            bgr = timed(parts, "to_bgr", to_bgr, frame)
            if rgb is None or rgb.shape != bgr.shape:
                rgb = np.empty_like(bgr)
            timed(parts, "cvtColor (reused buffer)", cv2.cvtColor, bgr, cv2.COLOR_BGR2RGB, rgb)
            image = timed(parts, "mp.Image (copies)", mp.Image, mp.ImageFormat.SRGB, rgb)
            result_c = fl.MpFaceLandmarkerResultC()
            timed(parts, "native detect (graph + dispatch)", model._lib.MpFaceLandmarkerDetectForVideo,
                  model._handle, image._image_ptr, None, index * 33, ctypes.byref(result_c))
            height, width = bgr.shape[:2]
            scale = np.array([width, height, width], dtype=np.float32)
            timed(parts, "lean read of the C result (arrays)",
                  lambda: [xyz * scale for xyz in tracker_module.read_landmarks(result_c)])
            timed(parts, "free the C result", model._lib.MpFaceLandmarkerCloseResult, ctypes.byref(result_c))
    return parts


def tracker_pass(frames, scale_to, faces: int) -> list[float]:
    times = []
    with tracker_module.FaceTracker(tracker_module.TrackerOptions(MODEL, max_faces=faces)) as tracker:
        for index, frame in enumerate(frames):
            frame = Frame(scale_to(frame), index / 30.0)
            start = time.perf_counter()
            tracker(frame)
            times.append((time.perf_counter() - start) * 1000.0)
    return times


def report(title: str, parts: dict[str, list[float]], skip: int) -> None:
    print(f"\n{title}")
    total = 0.0
    for name, values in parts.items():
        median = statistics.median(values[skip:])
        total += median
        print(f"  {name:<44} {median:7.3f} ms")
    print(f"  {'sum of the medians':<44} {total:7.3f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--faces", type=int, default=2, help="num_faces, as the product's default (2)")
    args = parser.parse_args()
    frames = read_frames(media_root() / "media" / CLIP, args.frames)
    skip = 5  # the first inferences warm caches up
    height, width = frames[0].shape[:2]
    sizes = {f"{width}x{height}": lambda f: f,
             "1080x1920": lambda f: cv2.resize(f, (1080, 1920), interpolation=cv2.INTER_LINEAR)}
    print(f"{len(frames)} frames of {CLIP}, num_faces={args.faces}, median ms per frame (first {skip} left out)")
    for label, scale_to in sizes.items():
        report(f"[{label}] public path (matrices asked for)", public_pass(frames, scale_to, args.faces), skip)
        report(f"[{label}] lean path", lean_pass(frames, scale_to, args.faces), skip)
        whole = tracker_pass(frames, scale_to, args.faces)
        print(f"  FaceTracker.__call__ as it is now: {statistics.median(whole[skip:]):.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
