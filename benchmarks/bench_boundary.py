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
not (as it does now); then the whole call before (the old ``__call__``, rebuilt here) and now
(``FaceTracker.__call__``). Each frame goes through all four, one after the other, each with its own
landmarker, so a busy moment of the (shared) machine hits them alike. Frames are decoded before
timing.

    ARFILTER_TEST_MEDIA=../shared .venv/bin/python benchmarks/bench_boundary.py
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
from arfilter.tracking import native, tracker as tracker_module  # noqa: E402
from media import MODEL as MODEL_NAME, media_root, read_frames  # noqa: E402  (tests/media.py: the one lookup)

MODEL = media_root() / MODEL_NAME

CLIP = "webcam_glasses_720x1280.mp4"


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


class PublicSteps:
    """The public path, step by step (matrices asked for, as the tracker did before)."""

    def __init__(self, faces: int) -> None:
        self.model = landmarker(True, faces)

    def __call__(self, parts: dict[str, list[float]], frame: np.ndarray, index: int) -> None:
        import mediapipe as mp
        from mediapipe.tasks.python.vision import face_landmarker as fl

        model = self.model
        bgr = timed(parts, "to_bgr", to_bgr, frame)
        rgb = timed(parts, "cvtColor (new array)", cv2.cvtColor, bgr, cv2.COLOR_BGR2RGB)
        image = timed(parts, "mp.Image (copies the pixels)", mp.Image, mp.ImageFormat.SRGB, rgb)
        result_c = fl.MpFaceLandmarkerResultC()
        timed(parts, "native detect (graph + dispatch)", model._lib.MpFaceLandmarkerDetectForVideo,
              model._handle, image._image_ptr, None, index * 33, ctypes.byref(result_c))
        result = timed(parts, "mediapipe's result objects (from_ctypes)", fl.FaceLandmarkerResult.from_ctypes, result_c)
        timed(parts, "free the C result", model._lib.MpFaceLandmarkerCloseResult, ctypes.byref(result_c))
        height, width = bgr.shape[:2]
        scale = np.array([width, height, width], dtype=np.float32)
        timed(parts, "ours: objects to arrays (loop per point)",
              lambda: [np.array([(p.x, p.y, p.z) for p in lms], np.float32) * scale for lms in result.face_landmarks])
        timed(parts, "ours: pose matrices", lambda: [np.asarray(m, np.float32) for m in result.facial_transformation_matrixes])


class LeanSteps:
    """The lean path, step by step: no matrices, a reused RGB buffer, the C result read as arrays."""

    def __init__(self, faces: int) -> None:
        self.model = landmarker(False, faces)
        assert tracker_module.lean_detector(self.model) is not None, "no lean path with this mediapipe"
        self.rgb: np.ndarray | None = None

    def __call__(self, parts: dict[str, list[float]], frame: np.ndarray, index: int) -> None:
        import mediapipe as mp
        from mediapipe.tasks.python.vision import face_landmarker as fl

        model = self.model
        bgr = timed(parts, "to_bgr", to_bgr, frame)
        if self.rgb is None or self.rgb.shape != bgr.shape:
            self.rgb = np.empty_like(bgr)
        timed(parts, "cvtColor (reused buffer)", cv2.cvtColor, bgr, cv2.COLOR_BGR2RGB, self.rgb)
        image = timed(parts, "mp.Image (copies the pixels)", mp.Image, mp.ImageFormat.SRGB, self.rgb)
        result_c = fl.MpFaceLandmarkerResultC()
        timed(parts, "native detect (graph + dispatch)", model._lib.MpFaceLandmarkerDetectForVideo,
              model._handle, image._image_ptr, None, index * 33, ctypes.byref(result_c))
        height, width = bgr.shape[:2]
        scale = np.array([width, height, width], dtype=np.float32)
        timed(parts, "lean read of the C result (arrays)",
              lambda: [xyz * scale for xyz in native.read_landmarks(result_c)])
        timed(parts, "free the C result", model._lib.MpFaceLandmarkerCloseResult, ctypes.byref(result_c))


class OldTracker:
    """FaceTracker.__call__ as it was before the lean boundary (public API, matrices, a new RGB array)."""

    def __init__(self, faces: int) -> None:
        self.model = landmarker(True, faces)

    def __call__(self, frame: np.ndarray, index: int) -> list:
        import mediapipe as mp

        bgr = to_bgr(frame)
        height, width = bgr.shape[:2]
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        result = self.model.detect_for_video(image, index * 33)
        poses = result.facial_transformation_matrixes or []
        scale = np.array([width, height, width], dtype=np.float32)
        return [(np.array([(p.x, p.y, p.z) for p in lms], dtype=np.float32) * scale,
                 np.asarray(poses[i], dtype=np.float32) if i < len(poses) else None)
                for i, lms in enumerate(result.face_landmarks)]


def interleaved(frames, scale_to, faces: int) -> tuple[dict, dict, list[float], list[float]]:
    """Every frame through all four, one after the other, so a busy moment of the machine hits all alike."""
    public, lean, old = PublicSteps(faces), LeanSteps(faces), OldTracker(faces)
    new = tracker_module.FaceTracker(tracker_module.TrackerOptions(MODEL, max_faces=faces))
    public_parts: dict[str, list[float]] = {}
    lean_parts: dict[str, list[float]] = {}
    old_times, new_times = [], []
    try:
        for index, raw in enumerate(frames):
            frame = scale_to(raw)
            public(public_parts, frame, index)
            lean(lean_parts, frame, index)
            start = time.perf_counter()
            old(frame, index)
            old_times.append((time.perf_counter() - start) * 1000.0)
            start = time.perf_counter()
            new(Frame(frame, index * 0.033))
            new_times.append((time.perf_counter() - start) * 1000.0)
    finally:
        for model in (public.model, lean.model, old.model):
            model.close()
        new.close()
    return public_parts, lean_parts, old_times, new_times


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
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--faces", type=int, default=2, help="num_faces, as the product's default (2)")
    args = parser.parse_args()
    frames = read_frames(media_root() / "media" / CLIP, args.frames)
    skip = 5  # the first inferences warm caches up
    height, width = frames[0].shape[:2]
    sizes = {f"{width}x{height}": lambda f: f,
             "1080x1920": lambda f: cv2.resize(f, (1080, 1920), interpolation=cv2.INTER_LINEAR)}
    print(f"{len(frames)} frames of {CLIP}, num_faces={args.faces}, median ms per frame (first {skip} left out)")
    for label, scale_to in sizes.items():
        public, lean, old, new = interleaved(frames, scale_to, args.faces)
        report(f"[{label}] public path, as before (matrices asked for)", public, skip)
        report(f"[{label}] lean path, as now", lean, skip)
        print(f"  whole call, before (public API, matrices): {statistics.median(old[skip:]):7.3f} ms")
        print(f"  whole call, now (FaceTracker.__call__):    {statistics.median(new[skip:]):7.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
