"""Face tracking with MediaPipe's FaceLandmarker (Tasks API, VIDEO mode).

This is the only module that imports mediapipe. Foreign structs are converted to
numpy at this boundary, and input images of any layout are made into the
C-contiguous RGB array MediaPipe insists on.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
import weakref
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from arfilter.core.errors import ArfilterError
from arfilter.core.imageutil import to_bgr
from arfilter.core.limits import MAX_FACES
from arfilter.core.types import Face, Frame

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


MAX_SIDE = 32767  # MediaPipe's image resizing asserts (and aborts) beyond a signed 16-bit side


@dataclass(frozen=True)
class TrackerOptions:
    """What to track and how sure MediaPipe must be."""

    model_path: Path
    max_faces: int = int(MAX_FACES.default)
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5

    def __post_init__(self) -> None:
        why = MAX_FACES.why_not(self.max_faces)  # the same range the CLI and the event file check
        if why:
            raise ArfilterError(f"max faces: {why}")


BLENDSHAPES_ENTRY = "face_blendshapes.tflite"


def landmarks_only_bundle(model_path: Path) -> bytes:
    """The model bundle without its blendshape model, built in memory.

    MediaPipe runs the blendshape network on every frame even when blendshapes
    are not requested; leaving it out of the bundle saves about 7% of the
    model's time with identical landmarks. The file on disk (verified against
    Google's checksum) is never modified.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(model_path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as bundle:
        for entry in source.infolist():
            if entry.filename != BLENDSHAPES_ENTRY:
                bundle.writestr(entry, source.read(entry.filename))
    return out.getvalue()


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Hide the native libraries' start-up chatter (TFLite, glog) from users.

    They write straight to file descriptor 2, so redirecting ``sys.stderr`` is
    not enough. Used only around model creation and the first inference.
    """
    if os.environ.get("ARFILTER_DEBUG"):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class FaceTracker:
    """Tracks up to ``max_faces`` faces per frame; use as a context manager.

    VIDEO mode needs strictly increasing integer-millisecond timestamps, so the
    tracker derives its own from the frame timestamps and forces them upward
    when a source repeats or rewinds time.
    """

    def __init__(self, options: TrackerOptions) -> None:
        import mediapipe as mp
        from mediapipe.tasks.python.core.base_options import BaseOptions
        from mediapipe.tasks.python import vision

        self._mp = mp
        self.options = options
        try:
            model_bytes = landmarks_only_bundle(Path(options.model_path))
        except (OSError, zipfile.BadZipFile, KeyError) as exc:
            raise ArfilterError(
                f"model {options.model_path}: not a readable model bundle ({exc}); "
                "delete it and let arfilter download a fresh copy"
            ) from exc
        task_options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=model_bytes),
            running_mode=vision.RunningMode.VIDEO,
            num_faces=options.max_faces,
            min_face_detection_confidence=options.min_detection_confidence,
            min_face_presence_confidence=options.min_presence_confidence,
            min_tracking_confidence=options.min_tracking_confidence,
            output_face_blendshapes=False,
            output_facial_transformation_matrixes=True,
        )
        try:
            with _quiet_native_stderr():
                self._landmarker = vision.FaceLandmarker.create_from_options(task_options)
        except Exception as exc:  # mediapipe raises RuntimeError/ValueError with long text
            raise ArfilterError(
                f"model {options.model_path}: MediaPipe could not load it ({str(exc).splitlines()[0]}); "
                "delete it and let arfilter download a fresh copy"
            ) from exc
        # MediaPipe's close() needs its dispatcher thread pool, which Python
        # shuts down before atexit handlers run, and its __del__ fails at
        # interpreter teardown. So a forgotten close() is done by a finalizer
        # (garbage collection) or by a threading-exit hook, which runs before
        # the pool shuts down. MediaPipe's close() is idempotent.
        self._finalizer = weakref.finalize(self, self._landmarker.close)
        register_exit = getattr(threading, "_register_atexit", None)
        if register_exit is not None:
            register_exit(self._finalizer)
        self._last_ms = -1
        self._first = True

    def _timestamp_ms(self, frame: Frame) -> int:
        ms = int(round(frame.timestamp * 1000.0))
        if ms <= self._last_ms:
            ms = self._last_ms + 1
        self._last_ms = ms
        return ms

    def __call__(self, frame: Frame) -> tuple[Face, ...]:
        """Faces in ``frame``, in its pixel coordinates."""
        if not self._finalizer.alive:
            raise RuntimeError("FaceTracker is closed")
        bgr = to_bgr(frame.image)  # ValueError for what is not a picture
        height, width = bgr.shape[:2]
        if max(height, width) > MAX_SIDE:  # MediaPipe aborts the whole process on these (an OpenCV assert)
            raise ValueError(f"a {width}x{height} frame is larger than the {MAX_SIDE} px per side the model takes")
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)  # 25x faster than a [::-1] copy
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb)
        timestamp = self._timestamp_ms(frame)
        if self._first:
            with _quiet_native_stderr():
                result = self._landmarker.detect_for_video(image, timestamp)
            self._first = False
        else:
            result = self._landmarker.detect_for_video(image, timestamp)
        faces = []
        poses = result.facial_transformation_matrixes or []
        scale = np.array([width, height, width], dtype=np.float32)
        for i, landmarks in enumerate(result.face_landmarks):
            xyz = np.array([(p.x, p.y, p.z) for p in landmarks], dtype=np.float32) * scale
            pose = np.asarray(poses[i], dtype=np.float32) if i < len(poses) else None
            faces.append(Face(landmarks=xyz, pose=pose, face_id=i))
        return tuple(faces)

    def close(self) -> None:
        """Release the native graph; safe to call twice."""
        finalizer = getattr(self, "_finalizer", None)
        if finalizer is not None:
            finalizer()

    def __enter__(self) -> "FaceTracker":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
