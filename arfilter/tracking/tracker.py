"""Face tracking with MediaPipe's FaceLandmarker (Tasks API, VIDEO mode).

This is the only module that imports mediapipe. Foreign structs are converted to
numpy at this boundary, and input images of any layout are made into the
C-contiguous RGB array MediaPipe insists on.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import sys
import threading
import weakref
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import cv2
import numpy as np

from arfilter.core.errors import ArfilterError, DeviceUnavailable
from arfilter.core.imageutil import to_bgr
from arfilter.core.limits import DELEGATES, MAX_FACES
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
    # Where the model runs: "auto", "cpu" or "gpu" (core.limits.DELEGATES). The commands pass the
    # user's choice (default auto); a tracker made in code stays on the CPU unless asked.
    delegate: str = "cpu"
    delegate_named: str = ""  # how the user chose it, for messages ("event.toml: tracking.delegate")

    def __post_init__(self) -> None:
        why = MAX_FACES.why_not(self.max_faces)  # the same range the CLI and the event file check
        if why:
            raise ArfilterError(f"max faces: {why}")
        if self.delegate not in DELEGATES:
            raise ArfilterError(f"delegate: {self.delegate!r} is not one of {', '.join(DELEGATES)}")


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


@contextlib.contextmanager
def _quiet_native_stderr(always: bool = False) -> Iterator[None]:
    """Hide the native libraries' start-up chatter (TFLite, glog) from users.

    They write straight to file descriptor 2, so redirecting ``sys.stderr`` is
    not enough. Used only around model creation and the first inference.
    ``always``: even with ARFILTER_DEBUG (a failed GPU start prints pages of EGL
    stack traces; its reason is said in one line anyway).
    """
    if os.environ.get("ARFILTER_DEBUG") and not always:
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


def create_landmarker(model_bytes: bytes, options: TrackerOptions, *, gpu: bool):
    """MediaPipe's FaceLandmarker in VIDEO mode, landmarks only (no blendshapes, no pose matrices:
    nothing in arfilter reads them). On the GPU it is warmed up on a blank frame at 0 ms, so a
    GPU that starts but cannot run fails here, where ``auto`` can still fall back."""
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core.base_options import BaseOptions

    delegate = BaseOptions.Delegate.GPU if gpu else BaseOptions.Delegate.CPU
    task_options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_buffer=model_bytes, delegate=delegate),
        running_mode=vision.RunningMode.VIDEO,
        num_faces=options.max_faces,
        min_face_detection_confidence=options.min_detection_confidence,
        min_face_presence_confidence=options.min_presence_confidence,
        min_tracking_confidence=options.min_tracking_confidence,
        output_face_blendshapes=False,
        output_facial_transformation_matrixes=False,
    )
    with _quiet_native_stderr(always=gpu):
        landmarker = vision.FaceLandmarker.create_from_options(task_options)
        if gpu:
            import mediapipe as mp

            try:
                landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB,
                                                     data=np.zeros((64, 64, 3), np.uint8)), 0)
            except Exception:
                landmarker.close()
                raise
    return landmarker


def gpu_problem(model_path: Path) -> str | None:
    """Why MediaPipe's GPU delegate cannot run the face model here, or None when it can.

    ``arfilter doctor`` asks this in a child process, so a driver that crashes
    instead of raising cannot take the report down with it.
    """
    try:
        create_landmarker(landmarks_only_bundle(Path(model_path)), TrackerOptions(model_path), gpu=True).close()
    except Exception as exc:
        return gpu_reason(exc)
    return None


def gpu_reason(exc: BaseException) -> str:
    """MediaPipe's long GPU failure (a graph node's name, a stack) as a few words a user can act on."""
    text = str(exc)
    if isinstance(exc, NotImplementedError):
        return "MediaPipe has no GPU delegate on this system"
    if "emulation" in text:
        return "only a software renderer, no physical GPU"
    if "EGL" in text:
        return "no EGL display: no GPU driver for OpenGL ES"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first if len(first) <= 100 else first[:97] + "..."


@dataclass(frozen=True, eq=False)
class Prepared:
    """The model's input for one BGR image, made ahead of time (``FaceTracker.prepare``) on the thread
    that produced the frame; used only for a frame that shows the very array ``of``."""

    of: np.ndarray
    image: Any  # MediaPipe's image: its own copy of the pixels, as RGB


def _say_stderr(line: str) -> None:
    print(f"arfilter: {line}", file=sys.stderr, flush=True)


class FaceTracker:
    """Tracks up to ``max_faces`` faces per frame; use as a context manager.

    VIDEO mode needs strictly increasing integer-millisecond timestamps, so the
    tracker derives its own from the frame timestamps and forces them upward
    when a source repeats or rewinds time. It keeps no thread-bound state: any
    one thread may call it (MediaPipe runs every native call on its own
    dispatcher thread), and any other may ``prepare`` frames for it meanwhile
    (each thread converts into its own buffer). ``delegate`` says where the
    model runs ("cpu" or "gpu").
    """

    def __init__(self, options: TrackerOptions, say: Callable[[str], None] = _say_stderr) -> None:
        import mediapipe as mp

        self._mp = mp
        self.options = options
        try:
            model_bytes = landmarks_only_bundle(Path(options.model_path))
        except (OSError, zipfile.BadZipFile, KeyError) as exc:
            raise ArfilterError(
                f"model {options.model_path}: not a readable model bundle ({exc}); "
                "delete it and let arfilter download a fresh copy"
            ) from exc
        self.delegate, self.why_not_gpu = "cpu", None
        self._last_ms = -1
        self._first = True
        landmarker = None
        if options.delegate != "cpu":
            landmarker = self._start_gpu(model_bytes, say)
        if landmarker is None:
            landmarker = self._start_cpu(model_bytes)
        self._landmarker = landmarker
        # MediaPipe's close() needs its dispatcher thread pool, which Python
        # shuts down before atexit handlers run, and its __del__ fails at
        # interpreter teardown. So a forgotten close() is done by a finalizer
        # (garbage collection) or by a threading-exit hook, which runs before
        # the pool shuts down. MediaPipe's close() is idempotent.
        self._finalizer = weakref.finalize(self, landmarker.close)
        register_exit = getattr(threading, "_register_atexit", None)
        if register_exit is not None:
            register_exit(self._finalizer)
        self._detect = lean_detector(landmarker) or self._public_detect
        # The RGB buffer, reused (MediaPipe copies the pixels into its own image): one per thread, since
        # ``prepare`` runs on the sources' threads while ``__call__`` runs on the tracker's.
        self._buffers = threading.local()

    def _start_cpu(self, model_bytes: bytes):
        try:
            return create_landmarker(model_bytes, self.options, gpu=False)
        except Exception as exc:  # mediapipe raises RuntimeError/ValueError with long text
            raise ArfilterError(
                f"model {self.options.model_path}: MediaPipe could not load it ({str(exc).splitlines()[0]}); "
                "delete it and let arfilter download a fresh copy"
            ) from exc

    def _start_gpu(self, model_bytes: bytes, say: Callable[[str], None]):
        """The landmarker on the GPU, warmed up on a blank frame; None (and one line) when auto
        falls back, DeviceUnavailable when the user insisted on the GPU."""
        try:
            landmarker = create_landmarker(model_bytes, self.options, gpu=True)
        except Exception as exc:  # RuntimeError (no EGL, no GPU), NotImplementedError (Windows)
            self.why_not_gpu = gpu_reason(exc)
        else:
            self.delegate, self._last_ms, self._first = "gpu", 0, False
            return landmarker
        if self.options.delegate == "gpu":
            named = self.options.delegate_named
            fix = ('set it to "auto" to fall back to the CPU, or "cpu"' if named else
                   "use --delegate auto to fall back to the CPU, or --delegate cpu")
            raise DeviceUnavailable(f"{named or '--delegate gpu'}: the GPU delegate cannot start here "
                                    f"({self.why_not_gpu}); {fix}")
        say(f"tracking on the CPU: the GPU delegate is unavailable ({self.why_not_gpu})")
        return None

    def _timestamp_ms(self, frame: Frame) -> int:
        ms = int(round(frame.timestamp * 1000.0))
        if ms <= self._last_ms:
            ms = self._last_ms + 1
        self._last_ms = ms
        return ms

    def prepare(self, image: np.ndarray) -> Prepared | None:
        """The model's input for a C-contiguous BGR uint8 ``image`` (a source's ``prepare`` hook), made on
        the caller's thread: the colour conversion and MediaPipe's copy then leave the tracker's thread,
        which runs only the model. It touches no graph state, so any thread may call it. None for any other
        image (the tracker makes its own input then, and says what is wrong with it)."""
        if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3
                and image.shape[2] == 3 and image.size and image.flags.c_contiguous
                and max(image.shape[:2]) <= MAX_SIDE):
            return None
        return Prepared(image, self._model_image(image))

    def _model_image(self, bgr: np.ndarray) -> Any:
        """MediaPipe's RGB image of ``bgr``, through this thread's reused buffer."""
        rgb = getattr(self._buffers, "rgb", None)
        if rgb is None or rgb.shape != bgr.shape:
            rgb = self._buffers.rgb = np.empty_like(bgr)
        cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=rgb)  # 25x faster than a [::-1] copy
        return self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb)  # copies the pixels

    def __call__(self, frame: Frame) -> tuple[Face, ...]:
        """Faces in ``frame``, in its pixel coordinates (from ``frame.prepared`` when it was made from
        this very image)."""
        if not self._finalizer.alive:
            raise RuntimeError("FaceTracker is closed")
        prepared = frame.prepared
        if isinstance(prepared, Prepared) and prepared.of is frame.image:
            image, (height, width) = prepared.image, frame.image.shape[:2]
        else:
            bgr = to_bgr(frame.image)  # ValueError for what is not a picture
            height, width = bgr.shape[:2]
            if max(height, width) > MAX_SIDE:  # MediaPipe aborts the whole process on these (an OpenCV assert)
                raise ValueError(f"a {width}x{height} frame is larger than the {MAX_SIDE} px per side the model takes")
            image = self._model_image(bgr)
        timestamp = self._timestamp_ms(frame)
        if self._first:
            with _quiet_native_stderr():
                found = self._detect(image, timestamp)
            self._first = False
        else:
            found = self._detect(image, timestamp)
        scale = np.array([width, height, width], dtype=np.float32)
        return tuple(Face(landmarks=xyz * scale, face_id=i) for i, xyz in enumerate(found))

    def _public_detect(self, image, timestamp_ms: int) -> list[np.ndarray]:
        """MediaPipe's public path (a Python object per landmark), where ``lean_detector`` cannot read."""
        result = self._landmarker.detect_for_video(image, timestamp_ms)
        return [np.array([(p.x, p.y, p.z) for p in points], dtype=np.float32) for points in result.face_landmarks]

    def close(self) -> None:
        """Release the native graph; safe to call twice."""
        finalizer = getattr(self, "_finalizer", None)
        if finalizer is not None:
            finalizer()

    def __enter__(self) -> "FaceTracker":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
