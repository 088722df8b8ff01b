"""Where frames go: a virtual camera, a preview window, a video or image file, nowhere.

``send`` never blocks for long: the virtual camera has its own sender thread
that paces output at a fixed rate and size, repeating the last frame when the
pipeline is late, so Zoom or OBS always see a steady stream.
"""

from __future__ import annotations

import math
import os
from collections import deque
from pathlib import Path
from typing import Callable, Iterable, Iterator, Protocol

import cv2
import numpy as np

from arfilter.core.errors import ArfilterError
from arfilter.core.framing import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from arfilter.core.limits import FPS, SINKS, SIZE
from arfilter.core.outputs import check_output, partial_path, write_bytes
from arfilter.core.types import Frame
from arfilter.io.base import Closing, say
from arfilter.io.encode import MP4_FAMILY, PYAV_SUFFIXES, EncoderThread, MjpegWriter, PyAvWriter, frame_rate
from arfilter.io.virtualcam import VirtualCameraSink, virtual_camera_help  # noqa: F401 (the sinks, by name)
from arfilter.io.window import WindowSink, display_problem  # noqa: F401


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


class ImageFileSink(Closing):
    """Saves the last frame sent, when closed (a snapshot, or the result of ``apply``).

    The path is checked when the sink is made (before any frame), and the file is written beside
    it and renamed into place, so an existing photo is replaced whole or not at all; a run that
    ends with an error (or Ctrl+C) writes nothing.
    """

    stopped = False

    def __init__(self, path: str | Path, *, inputs: tuple[str | Path, ...] = ()) -> None:
        self.path = Path(path)
        self.name = f"image {self.path}"
        if self.path.suffix.lower() not in IMAGE_EXTENSIONS:
            raise ArfilterError(f"output {self.path}: not an image file name; use one of {', '.join(IMAGE_EXTENSIONS)}")
        check_output(self.path, "output", inputs)
        self._last: np.ndarray | None = None

    def send(self, image: np.ndarray) -> None:
        self._last = image

    def close(self) -> None:
        if self._last is None:
            return
        ok, encoded = cv2.imencode(self.path.suffix.lower(), self._last)
        self._last = None
        if not ok:
            raise ArfilterError(f"output {self.path}: the image could not be encoded as {self.path.suffix.lower()}")
        write_bytes(self.path, encoded.tobytes(), "output")

    def __exit__(self, exc_type, *rest: object) -> None:
        if exc_type is not None:
            self._last = None  # a failed or interrupted run leaves what was there
        self.close()


class VideoFileSink(Closing):
    """Records a video (``io.encode``: H.264 MP4, VP9 WebM, MJPEG AVI) in a thread of its own.

    The size is fixed by ``size`` or the first frame; later frames are letterboxed, and an odd
    width or height is cropped to even (4:2:0 codecs store even sizes; ``size`` says what the file
    holds). ``audio_from``: a video whose sound is carried over in sync (``io.soundtrack``).

    Nothing is lost: the file is written beside the target (``core.outputs.partial_path``).
    A finished file (``apply``, ``demo``) has a hidden temporary name and replaces the target
    atomically on success; on an error or Ctrl+C it is removed and the target stays as it was.
    A live recording (``live=True``) has a visible temporary name, so a crash leaves a file the
    user can find, and it never replaces an existing file: it takes the next free name
    (``stem-2.mp4``) and says so. ``crash_safe``: a file cut by ``kill -9`` plays up to its last
    second (``.avi``; a live ``.mp4``/``.mov``/``.m4v``, written as a fragmented MP4).
    """

    stopped = False

    def __init__(self, path: str | Path, fps: float = 30.0, size: tuple[int, int] | None = None, *,
                 audio_from: str | Path | None = None, live: bool = False, queue_size: int = 8) -> None:
        self.path = Path(path)
        self.name = f"video {self.path}"
        self.suffix = self.path.suffix.lower()
        if self.suffix not in VIDEO_EXTENSIONS:
            raise ArfilterError(f"output {self.path}: not a video file name; use one of {', '.join(VIDEO_EXTENSIONS)}")
        check_output(self.path, "output", (audio_from,) if audio_from else ())
        if not (math.isfinite(fps) and 0 < fps <= 1000):
            raise ArfilterError(f"output {self.path}: frame rate {fps} is not usable; give 1 to 1000 fps")
        self.fps, self.size, self.live = fps, size, live
        self.audio_from = audio_from if self.suffix in PYAV_SUFFIXES else None
        if audio_from and self.audio_from is None:
            say(f"output {self.path}: .avi keeps no sound; use .mp4 to keep the input's sound")
        self.frames_written = 0
        self.crash_safe = self.suffix == ".avi" or (live and self.suffix in MP4_FAMILY)
        self._following: deque[float] = deque()  # timestamps of frames read, not yet sent (see follow)
        self.partial: Path | None = None
        self._queue_size = queue_size
        self._encoder: EncoderThread | None = None
        self._last_pts = -1

    def _open(self, size: tuple[int, int]) -> None:
        size = (max(2, int(size[0]) // 2 * 2), max(2, int(size[1]) // 2 * 2))
        self.partial = partial_path(self.path, hidden=not self.live)
        try:
            if self.suffix == ".avi":
                writer = MjpegWriter(self.partial, self.fps, size)
            else:
                writer = PyAvWriter(self.partial, self.suffix, self.fps, size, live=self.live,
                                    audio_from=self.audio_from)
        except Exception as exc:
            self.partial.unlink(missing_ok=True)
            raise ArfilterError(f"output {self.path}: cannot write a video there ({_reason(exc)}); "
                                "check the folder is writable") from None
        self.size = size
        self._encoder = EncoderThread(writer, self._queue_size, name=f"arfilter-encode-{self.path.name}")

    def follow(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        """``frames`` as they are, each one's timestamp kept, in order, for the images sent next (the loop
        sends one image per frame, and reads a frame ahead on its tracker's thread), so a file whose
        undecodable frames were skipped keeps its timing."""
        for frame in frames:
            self._following.append(frame.timestamp)
            yield frame

    def send(self, image: np.ndarray) -> None:
        """Queue one frame for the encoder thread; shown at the timestamp ``follow`` kept for it,
        else one frame after the last."""
        if self._encoder is None:
            self._open(self.size or (int(image.shape[1]), int(image.shape[0])))
        when = self._following.popleft() if self._following else None
        pts = self._last_pts + 1 if when is None else max(self._last_pts + 1, round(when * frame_rate(self.fps)))
        try:
            self._encoder.send(image, pts)
        except Exception as exc:
            raise ArfilterError(f"output {self.path}: cannot be written ({_reason(exc)}); check the disk") from None
        self._last_pts = pts
        self.frames_written += 1

    def close(self) -> None:
        """Finish the file and move it into place."""
        encoder, self._encoder = self._encoder, None
        if encoder is None:
            return
        try:
            encoder.finish()
        except Exception as exc:
            self._discard()
            raise ArfilterError(f"output {self.path}: cannot be written ({_reason(exc)}); check the disk") from None
        if self.live:
            self.path = place_recording(self.partial, self.path)
        else:
            try:
                os.replace(self.partial, self.path)  # atomic: the old file whole, or the new one
            except OSError as exc:
                self._discard()
                raise ArfilterError(f"output {self.path}: cannot be written ({exc.strerror}); check the disk and "
                                    "permissions") from None

    def abandon(self) -> None:
        """Stop and throw the unfinished file away (a failed or interrupted ``apply``)."""
        encoder, self._encoder = self._encoder, None
        if encoder is not None:
            encoder.abandon()
            self._discard()

    def _discard(self) -> None:
        if self.partial is not None:
            self.partial.unlink(missing_ok=True)

    def __exit__(self, exc_type, *rest: object) -> None:
        if exc_type is not None and not self.live:
            self.abandon()
        else:  # a live recording stopped by Ctrl+C (or a lost camera) is kept
            self.close()


def _reason(exc: BaseException) -> str:
    """An error's reason in a few words (an OSError's strerror, else its text's first line)."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text.splitlines()[0] if text else type(exc).__name__


def place_recording(partial: Path, target: Path) -> Path:
    """Move a finished recording to ``target``, or to the next free ``stem-N`` name when ``target``
    exists (a restarted kiosk session must not overwrite the last one); returns where it went."""
    candidate, number = target, 1
    while True:
        try:
            os.link(partial, candidate)  # fails if the name is taken: never replaces a file
        except FileExistsError:
            number += 1
            candidate = target.with_name(f"{target.stem}-{number}{target.suffix}")
            continue
        except OSError:  # a file system without hard links (FAT): rename where the name is still free
            if candidate.exists():
                number += 1
                candidate = target.with_name(f"{target.stem}-{number}{target.suffix}")
                continue
            os.replace(partial, candidate)
        else:
            partial.unlink(missing_ok=True)
        if candidate != target:
            say(f"{target} already exists; this recording is {candidate}")
        return candidate


def open_sink(
    spec: str, *, size: tuple[int, int] = SIZE.default, fps: float = FPS.default,
    device: str | None = None, backend: str | None = None, on_key: Callable[[int], object] | None = None,
    live: bool = False, audio_from: str | Path | None = None,
) -> Sink:
    """A sink from what the user typed: virtualcam, window, null, or a file name. ``live``: a
    recording of a live session (crash-safe where the format allows, never replaces a file).
    ``audio_from``: a video file whose sound the recording keeps (a file played into a file)."""
    if spec == "virtualcam":
        return VirtualCameraSink(size=size, fps=fps, device=device, backend=backend)
    if spec == "window":
        return WindowSink(on_key=on_key)
    if spec == "null":
        return NullSink()
    suffix = Path(spec).suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        return VideoFileSink(spec, fps=fps, live=live, audio_from=None if live else audio_from)
    if suffix in IMAGE_EXTENSIONS:
        return ImageFileSink(spec)
    raise ArfilterError(
        f"sink {spec}: unknown; use {', '.join(SINKS)}, or a file ending in "
        f"{'/'.join(VIDEO_EXTENSIONS + IMAGE_EXTENSIONS)}")
