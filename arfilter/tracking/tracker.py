"""Face tracking with MediaPipe's FaceLandmarker (Tasks API, VIDEO mode).

This is the only module that imports mediapipe. Foreign structs are converted to
numpy at this boundary, and input images of any layout are made into the
C-contiguous RGB array MediaPipe insists on.
"""

from __future__ import annotations

import functools
import io
import os
import sys
import threading
import weakref
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from arfilter.core.errors import ArfilterError, DeviceUnavailable
from arfilter.core.imageutil import to_bgr
from arfilter.core.limits import DELEGATES, MAX_FACES
from arfilter.core.types import Face, Frame
from arfilter.tracking.face_count import Box, FaceCount
from arfilter.tracking.landmarkers import Landmarkers
from arfilter.tracking.native import import_mediapipe, lean_detector, public_detect, quiet_native_stderr
from arfilter.tracking.usage_reports import refuse_usage_reports

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
DETECTOR_ENTRY = "face_detector.tflite"


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


def create_landmarker(model_bytes: bytes, options: TrackerOptions, *, gpu: bool, num_faces: int | None = None):
    """MediaPipe's FaceLandmarker in VIDEO mode, landmarks only (no blendshapes, no pose matrices:
    nothing in arfilter reads them), looking for ``num_faces`` faces (default: the options' most).
    On the GPU it is warmed up on a blank frame at 0 ms, so a GPU that starts but cannot run fails
    here, where ``auto`` can still fall back."""
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core.base_options import BaseOptions

    delegate = BaseOptions.Delegate.GPU if gpu else BaseOptions.Delegate.CPU
    task_options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_buffer=model_bytes, delegate=delegate),
        running_mode=vision.RunningMode.VIDEO,
        num_faces=options.max_faces if num_faces is None else num_faces,
        min_face_detection_confidence=options.min_detection_confidence,
        min_face_presence_confidence=options.min_presence_confidence,
        min_tracking_confidence=options.min_tracking_confidence,
        output_face_blendshapes=False,
        output_facial_transformation_matrixes=False,
    )
    refuse_usage_reports()
    with quiet_native_stderr(always=gpu):
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


def create_probe(model_bytes: bytes, options: TrackerOptions):
    """MediaPipe's FaceDetector (IMAGE mode, on the CPU) with the bundle's own face detector: the same
    network and threshold the landmarker uses to find faces, run alone (``tracking.face_count``)."""
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core.base_options import BaseOptions

    with zipfile.ZipFile(io.BytesIO(model_bytes)) as bundle:
        detector = bundle.read(DETECTOR_ENTRY)
    task_options = vision.FaceDetectorOptions(
        base_options=BaseOptions(model_asset_buffer=detector, delegate=BaseOptions.Delegate.CPU),
        running_mode=vision.RunningMode.IMAGE,
        min_detection_confidence=options.min_detection_confidence,
    )
    refuse_usage_reports()
    with quiet_native_stderr():
        return vision.FaceDetector.create_from_options(task_options)


GPU_DEVICES = ("/dev/dri/renderD*", "/dev/nvidia[0-9]*", "/dev/dxg")  # Mesa/AMD/Intel, NVIDIA, WSL2


def gpu_device_missing() -> str | None:
    """Why no GPU can be reached at all (Linux without a GPU device node), or None where one may be.

    MediaPipe's own attempt takes half a second of start-up to fail on such a machine (a server, a
    container, a VM), which every ``apply`` and ``run`` would pay; asking the file system is instant.
    """
    if not sys.platform.startswith("linux"):
        return None
    import glob

    if any(glob.glob(pattern) for pattern in GPU_DEVICES):
        return None
    return "no GPU device node in /dev/dri"


def gpu_problem(model_path: Path) -> str | None:
    """Why MediaPipe's GPU delegate cannot run the face model here, or None when it can.

    ``arfilter doctor`` asks this in a child process, so a driver that crashes
    instead of raising cannot take the report down with it.
    """
    missing = gpu_device_missing()
    if missing:
        return missing
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


def _reader(landmarker: Any) -> Callable[[Any, int], list[np.ndarray]]:
    """How to call ``landmarker``: the lean reader where this mediapipe allows it, else the public path."""
    return lean_detector(landmarker) or functools.partial(public_detect, landmarker)


class FaceTracker:
    """Tracks up to ``max_faces`` faces per frame; use as a context manager.

    VIDEO mode needs strictly increasing integer-millisecond timestamps, so the
    tracker derives its own from the frame timestamps and forces them upward
    when a source repeats or rewinds time. It keeps no thread-bound state: any
    one thread may call it (MediaPipe runs every native call on its own
    dispatcher thread), and any other may ``prepare`` frames for it meanwhile
    (each thread converts into its own buffer). ``delegate`` says where the
    model runs ("cpu" or "gpu"). With ``max_faces`` above one, the model looks
    for one face until a probe sees another (``tracking.face_count``).
    """

    def __init__(self, options: TrackerOptions, say: Callable[[str], None] = _say_stderr) -> None:
        self._mp = import_mediapipe()
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
        self._size: tuple[int, int] | None = None  # the last frame's (height, width)
        num_faces = 1  # while one face is in view (tracking.face_count); max_faces where no probe can run
        landmarker = None
        if options.delegate != "cpu":
            landmarker = self._start_gpu(model_bytes, num_faces, say)
        if landmarker is None:
            landmarker = self._start_cpu(model_bytes, num_faces)
        probe = None
        if options.max_faces > 1:
            try:
                probe = create_probe(model_bytes, options)
            except Exception:  # a bundle without the detector: look for every face on every frame
                with quiet_native_stderr():
                    landmarker.close()
                num_faces = options.max_faces
                landmarker = self._build(model_bytes, num_faces, gpu=self.delegate == "gpu")
        else:
            num_faces = options.max_faces
        self.face_count = FaceCount(options.max_faces) if probe is not None else None
        models = Landmarkers(functools.partial(self._build, model_bytes, gpu=self.delegate == "gpu"), landmarker,
                             num_faces, options.max_faces, probe, reader=_reader)
        self._models = models
        # MediaPipe's close() needs its dispatcher thread pool, which Python
        # shuts down before atexit handlers run, and its __del__ fails at
        # interpreter teardown. So a forgotten close() is done by a finalizer
        # (garbage collection) or by a threading-exit hook, which runs before
        # the pool shuts down. MediaPipe's close() is idempotent.
        self._finalizer = weakref.finalize(self, models.close)
        register_exit = getattr(threading, "_register_atexit", None)
        if register_exit is not None:
            register_exit(self._finalizer)
        # The RGB buffer, reused (MediaPipe copies the pixels into its own image): one per thread, since
        # ``prepare`` runs on the sources' threads while ``__call__`` runs on the tracker's.
        self._buffers = threading.local()

    def _build(self, model_bytes: bytes, num_faces: int, *, gpu: bool):
        return create_landmarker(model_bytes, self.options, gpu=gpu, num_faces=num_faces)

    @property
    def _detect(self) -> Callable[[Any, int], list[np.ndarray]]:
        """How the landmarker in use is called (the lean reader, or MediaPipe's public path)."""
        return self._models.active.detect

    def _start_cpu(self, model_bytes: bytes, num_faces: int):
        try:
            return create_landmarker(model_bytes, self.options, gpu=False, num_faces=num_faces)
        except Exception as exc:  # mediapipe raises RuntimeError/ValueError with long text
            raise ArfilterError(
                f"model {self.options.model_path}: MediaPipe could not load it ({str(exc).splitlines()[0]}); "
                "delete it and let arfilter download a fresh copy"
            ) from exc

    def _start_gpu(self, model_bytes: bytes, num_faces: int, say: Callable[[str], None]):
        """The landmarker on the GPU, warmed up on a blank frame; None (and one line) when auto
        falls back, DeviceUnavailable when the user insisted on the GPU."""
        self.why_not_gpu = gpu_device_missing()
        if self.why_not_gpu is None:
            try:
                landmarker = create_landmarker(model_bytes, self.options, gpu=True, num_faces=num_faces)
            except Exception as exc:  # RuntimeError (no EGL, no GPU), NotImplementedError (Windows)
                self.why_not_gpu = gpu_reason(exc)
            else:
                self.delegate, self._last_ms = "gpu", 0
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
        models = self._models
        if (height, width) != self._size:
            if self._size is not None:
                models.restart()
            self._size = (height, width)
        scale = np.array([width, height, width], dtype=np.float32)
        faces = self._faces(models.active(image, timestamp), scale)
        count = self.face_count
        if count is not None and count.after_frame([Box.around(face.landmarks) for face in faces],
                                                   lambda: models.probe_boxes(image)):
            if not models.switch(count.num_faces):
                count.wide = not count.wide  # not built: stay with the one in use
            elif count.wide:  # someone new is in this very frame (a photo has no next one): look again
                faces = self._faces(models.active(image, timestamp), scale)
        return faces

    @staticmethod
    def _faces(found: list[np.ndarray], scale: np.ndarray) -> tuple[Face, ...]:
        return tuple(Face(landmarks=xyz * scale, face_id=i) for i, xyz in enumerate(found))

    def close(self) -> None:
        """Release the native graph; safe to call twice."""
        finalizer = getattr(self, "_finalizer", None)
        if finalizer is not None:
            finalizer()

    def __enter__(self) -> "FaceTracker":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
