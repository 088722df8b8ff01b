"""Where frames go: a virtual camera, a preview window, a video or image file, nowhere.

``send`` never blocks for long: the virtual camera has its own sender thread
that paces output at a fixed rate and size, repeating the last frame when the
pipeline is late, so Zoom or OBS always see a steady stream.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Protocol

import cv2
import numpy as np

from arfilter.core.errors import ArfilterError
from arfilter.core.framing import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, letterbox
from arfilter.core.limits import FPS, SINKS, SIZE
from arfilter.io.base import Closing
from arfilter.io.virtualcam import VirtualCameraSink, virtual_camera_help  # noqa: F401 (the sinks, by name)
from arfilter.io.window import WindowSink, display_problem  # noqa: F401

_FOURCC = {".mp4": "mp4v", ".mov": "mp4v", ".mkv": "mp4v", ".avi": "MJPG"}


class Sink(Protocol):
    name: str
    stopped: bool

    def send(self, image: np.ndarray) -> None: ...

    def close(self) -> None: ...


class NullSink(Closing):
    """Discards frames (for benchmarks and dry runs), counting them."""

    name = "nowhere"
    stopped = False

    def __init__(self) -> None:
        self.frames_sent = 0

    def send(self, image: np.ndarray) -> None:
        self.frames_sent += 1


def _check_folder(path: Path) -> None:
    if not path.parent.is_dir():
        raise ArfilterError(f"output {path}: the folder {path.parent} does not exist; create it or pick another path")


class ImageFileSink(Closing):
    """Saves the last frame sent, when closed (a snapshot, or the result of ``apply``)."""

    stopped = False

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = f"image {self.path}"
        if self.path.suffix.lower() not in IMAGE_EXTENSIONS:
            raise ArfilterError(f"output {self.path}: not an image file name; use one of {', '.join(IMAGE_EXTENSIONS)}")
        _check_folder(self.path)
        self._last: np.ndarray | None = None

    def send(self, image: np.ndarray) -> None:
        self._last = image

    def close(self) -> None:
        if self._last is None:
            return
        ok, encoded = cv2.imencode(self.path.suffix.lower(), self._last)
        try:
            if not ok:
                raise OSError("encoder failed")
            encoded.tofile(str(self.path))
        except OSError as exc:
            raise ArfilterError(f"output {self.path}: cannot write it ({exc}); check the disk and permissions") from exc
        finally:
            self._last = None


class VideoFileSink(Closing):
    """Records a video; its size is fixed by ``size`` or the first frame, later frames are letterboxed.

    Codec by extension: mp4v for .mp4/.mov/.mkv, MJPG for .avi (this OpenCV
    build's FFmpeg has no H.264 encoder). **.avi is the crash-safe choice**:
    it is written by OpenCV's own MJPEG writer, which puts every frame in the
    file as it comes, so a recording cut by a power failure or ``kill -9``
    plays up to a fraction of a second before the cut. FFmpeg's MP4/MOV/MKV
    muxers keep what they write in memory and finish the file on close: a
    crash loses it (``crash_safe`` says which kind this is). Every codec here stores 4:2:0, so
    FFmpeg silently cuts an odd width or height to even; we do it ourselves
    (``size`` is what the file really holds) by cropping the odd last
    row/column instead of rescaling.
    """

    stopped = False

    def __init__(self, path: str | Path, fps: float = 30.0, size: tuple[int, int] | None = None) -> None:
        self.path = Path(path)
        self.name = f"video {self.path}"
        suffix = self.path.suffix.lower()
        if suffix not in VIDEO_EXTENSIONS:
            raise ArfilterError(f"output {self.path}: not a video file name; use one of {', '.join(VIDEO_EXTENSIONS)}")
        _check_folder(self.path)
        if not (math.isfinite(fps) and 0 < fps <= 1000):
            raise ArfilterError(f"output {self.path}: frame rate {fps} is not usable; give 1 to 1000 fps")
        self.fps = fps
        self.size = size
        self.frames_written = 0
        self.crash_safe = suffix == ".avi"
        self._writer: cv2.VideoWriter | None = None

    def _open(self, size: tuple[int, int]) -> None:
        size = (max(2, int(size[0]) // 2 * 2), max(2, int(size[1]) // 2 * 2))
        suffix = self.path.suffix.lower()
        fourcc = cv2.VideoWriter_fourcc(*_FOURCC[suffix])
        if suffix == ".avi":  # OpenCV's own MJPEG writer: every frame reaches the file as it is written
            self._writer = cv2.VideoWriter(str(self.path), cv2.CAP_OPENCV_MJPEG, fourcc, float(self.fps), size)
        else:
            self._writer = cv2.VideoWriter(str(self.path), fourcc, float(self.fps), size)
        if not self._writer.isOpened():
            self._writer = None
            raise ArfilterError(f"output {self.path}: cannot write a video there; check the folder is writable")
        self.size = size

    def send(self, image: np.ndarray) -> None:
        if self._writer is None:
            self._open(self.size or (int(image.shape[1]), int(image.shape[0])))
        width, height = self.size
        extra_w, extra_h = image.shape[1] - width, image.shape[0] - height
        if (extra_w, extra_h) != (0, 0) and extra_w in (0, 1) and extra_h in (0, 1):
            image = np.ascontiguousarray(image[:height, :width])  # the odd row/column of the first size
        self._writer.write(letterbox(image, self.size))
        self.frames_written += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None


def open_sink(
    spec: str, *, size: tuple[int, int] = SIZE.default, fps: float = FPS.default,
    device: str | None = None, backend: str | None = None, on_key: Callable[[int], object] | None = None,
) -> Sink:
    """A sink from what the user typed: virtualcam, window, null, or a file name."""
    if spec == "virtualcam":
        return VirtualCameraSink(size=size, fps=fps, device=device, backend=backend)
    if spec == "window":
        return WindowSink(on_key=on_key)
    if spec == "null":
        return NullSink()
    suffix = Path(spec).suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        return VideoFileSink(spec, fps=fps)
    if suffix in IMAGE_EXTENSIONS:
        return ImageFileSink(spec)
    raise ArfilterError(
        f"sink {spec}: unknown; use {', '.join(SINKS)}, or a file ending in "
        f"{'/'.join(VIDEO_EXTENSIONS + IMAGE_EXTENSIONS)}")
