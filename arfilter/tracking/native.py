"""MediaPipe's native side, read lean and kept quiet: its C results as arrays, its chatter hidden.

mediapipe 1.x is a ctypes wrapper around a C library that writes set-up lines straight to file
descriptor 2 and returns one Python object per landmark. The tracker reads the C arrays directly
(``lean_detector``) and hides the chatter (``quiet_native_stderr``) around creation, closing and first
inferences, from any thread. It imports mediapipe without its drawing helpers (``import_mediapipe``).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import threading
from types import ModuleType
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from arfilter.tracking.usage_reports import refuse_usage_reports

# mediapipe's package imports every task and its drawing helpers, which import matplotlib's pyplot:
# half a second of every start (0.52 of mediapipe's 0.74 s here), for plotting arfilter never does.
DRAWING_HELPERS = ("mediapipe.tasks.python.vision.drawing_utils", "mediapipe.tasks.python.vision.drawing_styles")


class _RunOnFirstUse(importlib.abc.MetaPathFinder):
    """Finds the modules named with a loader that runs them when first used (``importlib.util.LazyLoader``),
    through the normal import (so the package still gets them as attributes)."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = frozenset(names)

    def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None):
        if name not in self.names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def import_mediapipe() -> ModuleType:
    """``import mediapipe``, its drawing helpers (and so matplotlib) left to load when first used.
    Imported already, this costs nothing; being imported by another thread, it waits for that import."""
    refuse_usage_reports()  # before its native library loads, and again before each task (tracker.py)
    finder = _RunOnFirstUse(DRAWING_HELPERS)
    sys.meta_path.insert(0, finder)
    try:
        import mediapipe
    finally:
        sys.meta_path.remove(finder)
    return mediapipe


def read_landmarks(result: Any) -> list[np.ndarray]:
    """Each face's (n, 3) normalised landmarks from MediaPipe's C result struct, as arrays in one go.

    MediaPipe's own ``FaceLandmarkerResult.from_ctypes`` builds one Python object per
    point (478 per face) only for us to turn them back into an array; this copies
    the C array's x, y, z columns instead: the same float32 values, bit for bit.
    """
    faces = []
    for index in range(result.face_landmarks_count):
        points = result.face_landmarks[index]
        count = points.landmarks_count
        if count == 0 or not points.landmarks:
            faces.append(np.zeros((0, 3), np.float32))
            continue
        stride = ctypes.sizeof(points.landmarks._type_)
        raw = (ctypes.c_char * (count * stride)).from_address(ctypes.addressof(points.landmarks.contents))
        faces.append(np.ndarray((count, 3), np.float32, buffer=raw, strides=(stride, 4)).copy())
    return faces


def lean_detector(landmarker: Any) -> Callable[[Any, int], list[np.ndarray]] | None:
    """MediaPipe's ``detect_for_video`` without its Python result objects, or None where this
    mediapipe is not built the way this reader expects (then the public path is used).

    It calls the same C function through the same serial dispatcher as mediapipe's
    own method (mediapipe 1.x is a ctypes wrapper), and frees the result the same way.
    """
    try:
        import mediapipe as mp
        from mediapipe.tasks.python.components.containers import landmark_c
        from mediapipe.tasks.python.vision import face_landmarker

        lib = landmarker._lib
        detect, free = lib.MpFaceLandmarkerDetectForVideo, lib.MpFaceLandmarkerCloseResult
        result_type = face_landmarker.MpFaceLandmarkerResultC
        fields = dict(result_type._fields_)
        point = landmark_c.MpNormalizedLandmarkC
        probe = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.zeros((1, 1, 3), np.uint8))
        usable = (callable(detect) and callable(free) and isinstance(probe._image_ptr, ctypes.c_void_p)
                  and fields.get("face_landmarks") == ctypes.POINTER(landmark_c.MpNormalizedLandmarksC)
                  and dict(landmark_c.MpNormalizedLandmarksC._fields_).get("landmarks") == ctypes.POINTER(point)
                  and [(getattr(point, axis).offset, getattr(point, axis).size) for axis in "xyz"] == [(0, 4), (4, 4), (8, 4)]
                  and all(dict(point._fields_)[axis] is ctypes.c_float for axis in "xyz"))
    except (ImportError, AttributeError, KeyError, TypeError, ValueError):
        return None
    if not usable:
        return None

    def detect_for_video(image: Any, timestamp_ms: int) -> list[np.ndarray]:
        result = result_type()
        detect(landmarker._handle, image._image_ptr, None, timestamp_ms, ctypes.byref(result))
        try:
            return read_landmarks(result)
        finally:
            free(ctypes.byref(result))

    return detect_for_video


class _QuietStderr:
    """Who is hiding the native chatter now: the first of any threads redirects, the last restores.

    Models are built and run on several threads (the tracker's, the worker building the next
    landmarker); file descriptor 2 is one per process, so nested redirections from two threads
    would otherwise restore each other's devnull and lose stderr for good."""

    lock = threading.Lock()
    depth = 0
    saved_fd = -1
    python_stderr: Any = None


@contextlib.contextmanager
def quiet_native_stderr(always: bool = False) -> Iterator[None]:
    """Hide the native libraries' start-up chatter (TFLite, glog) from users.

    They write straight to file descriptor 2, so redirecting ``sys.stderr`` is
    not enough. Used only around model creation, closing and first inferences.
    ``always``: even with ARFILTER_DEBUG (a failed GPU start prints pages of EGL
    stack traces; its reason is said in one line anyway). Python's own lines
    written meanwhile (another thread's message) still reach the real stderr.
    """
    if os.environ.get("ARFILTER_DEBUG") and not always:
        yield
        return
    quiet = _QuietStderr
    with quiet.lock:
        if quiet.depth == 0:
            try:
                sys.stderr.flush()
                saved = os.dup(2)
            except (OSError, ValueError):
                saved = -1
            if saved >= 0:
                quiet.saved_fd, quiet.python_stderr = saved, sys.stderr
                with contextlib.suppress(OSError, ValueError):
                    sys.stderr = open(saved, "w", buffering=1, closefd=False)
                with open(os.devnull, "w") as devnull:
                    os.dup2(devnull.fileno(), 2)
        quiet.depth += 1
    try:
        yield
    finally:
        with quiet.lock:
            quiet.depth -= 1
            if quiet.depth == 0 and quiet.saved_fd >= 0:
                if sys.stderr is not quiet.python_stderr:
                    with contextlib.suppress(OSError, ValueError):
                        sys.stderr.flush()
                    sys.stderr = quiet.python_stderr
                os.dup2(quiet.saved_fd, 2)
                os.close(quiet.saved_fd)
                quiet.saved_fd, quiet.python_stderr = -1, None


def public_detect(landmarker: Any, image: Any, timestamp_ms: int) -> list[np.ndarray]:
    """MediaPipe's public path (a Python object per landmark), where ``lean_detector`` cannot read."""
    result = landmarker.detect_for_video(image, timestamp_ms)
    return [np.array([(p.x, p.y, p.z) for p in points], dtype=np.float32) for points in result.face_landmarks]
