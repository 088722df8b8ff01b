"""File sources: every frame of a video, a still image, or a folder of images, in order.

A small read-ahead thread decodes the next video frames while the current one
is tracked, so decoding costs no wall time; each frame carries the time its
decoding took (``Frame.decode_s``) for the capture stage's figure. When the tracker's ``prepare``
hook is set, that thread also makes the model's input (``Frame.prepared``), so the tracker's
thread only runs the model. Photos are read by
:func:`arfilter.core.images.read_image`. Every frame is normalised to BGR uint8.
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from arfilter.core.errors import ArfilterError
from arfilter.core.framing import IMAGE_EXTENSIONS
from arfilter.core.images import read_image
from arfilter.core.imageutil import to_bgr
from arfilter.core.types import Frame
from arfilter.io.base import Closing, prepare_quietly, say

_END = object()


class VideoFileSource(Closing):
    """Every frame of a video file, in order, with timestamps from the frame rate.

    A stretch that does not decode (a damaged file) is skipped, not the end:
    FFmpeg resynchronises at the next good packet when asked again, so while
    the container announced more frames than were read, a failed read is
    retried and counts as one lost frame position. Lost frames end up in
    ``unreadable`` and one warning line. Timestamps are position / fps (the
    same as index / fps for an intact file), so playback stays in sync.
    """

    live = False
    fresh_frames = True
    dropped = 0
    # The tracker's input from a decoded BGR image (``FaceTracker.prepare``; set by the session before
    # iterating): made on the decode thread, timed with the decoding.
    prepare: Callable[[np.ndarray], object] | None = None

    def __init__(self, path: str | Path, *, read_ahead: int = 3) -> None:
        self.path = Path(path)
        self.name = f"video {self.path}"
        self.unreadable = 0
        if not self.path.is_file():
            raise ArfilterError(f"video {self.path}: no such file; check the path")
        # One FFmpeg thread: the decode-ahead thread already overlaps decoding with
        # tracking, and more threads take cores from the model (1080p whole frame
        # 1.39-1.41x the model's time against 1.43-1.45x with FFmpeg's default).
        self._capture = cv2.VideoCapture(str(self.path), cv2.CAP_ANY, [cv2.CAP_PROP_N_THREADS, 1])
        started = time.perf_counter()
        ok, first = self._capture.read() if self._capture.isOpened() else (False, None)
        self._first_decode_s = time.perf_counter() - started
        if not ok or first is None:
            self._capture.release()
            raise ArfilterError(
                f"video {self.path}: cannot be read as a video; check that the file plays in a media player "
                "or re-encode it as MP4 (H.264)")
        fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 1.0 <= fps <= 1000.0 else 30.0
        count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count = count if count > 0 else None
        self.size = (int(first.shape[1]), int(first.shape[0]))
        self._first = first
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, read_ahead))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: Exception | None = None

    def _decode_loop(self) -> None:
        """Decode ahead into a small bounded queue (order kept, nothing dropped).

        Whatever happens, the queue ends with the end marker, so the reader can
        never wait forever; an unexpected error is handed to the reader.
        """
        try:
            self._decode_frames()
        except Exception as exc:  # surfaced by __iter__ as a one-line error
            self._error = exc
        finally:
            self._put(_END)

    def _decode_frames(self) -> None:
        image: np.ndarray | None = self._first
        position, spent = 0, self._first_decode_s
        expected = self.frame_count or 0
        give_up = max(250, int(10 * self.fps))  # consecutive failures: a bogus count must not spin forever
        while image is not None and not self._stop.is_set():
            started = time.perf_counter()
            prepared = prepare_quietly(self.prepare, image)
            self._put((image, position, spent + time.perf_counter() - started, prepared))
            position += 1
            image, failures = None, 0
            started = time.perf_counter()
            while not self._stop.is_set():
                ok, raw = self._capture.read()
                if ok and raw is not None:
                    image, spent = raw, time.perf_counter() - started
                    break
                failures += 1
                if position >= expected or failures >= give_up:
                    break  # the end (or all announced frames accounted for)
                position += 1

    def _put(self, item: object) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[Frame]:
        if self._thread is not None:
            raise RuntimeError("a VideoFileSource can be iterated once")
        self._thread = threading.Thread(target=self._decode_loop, name="arfilter-decode", daemon=True)
        self._thread.start()
        index, bad = 0, 0
        while True:
            item = self._queue.get()
            if item is _END:
                break
            raw, position, spent, prepared = item
            try:
                image = to_bgr(raw)
            except ValueError:
                bad += 1
                continue
            yield Frame(image=image, timestamp=position / self.fps, index=index, decode_s=spent, prepared=prepared)
            index += 1
        if self._error is not None:
            raise ArfilterError(f"{self.name}: decoding stopped at frame {index} ({self._error}); "
                                "re-encode the file as MP4 (H.264)") from self._error
        self.unreadable = max(bad, (self.frame_count or 0) - index)
        if self.unreadable:
            say(f"{self.name}: {self.unreadable} of {self.frame_count or index + bad} frames could not be decoded "
                 "and were skipped")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self._capture.release()


class ImageSource(Closing):
    """A still image, handed out ``repeat`` times (None: until the loop stops)."""

    live = False
    fresh_frames = False  # the same array every time
    dropped = 0
    unreadable = 0

    def __init__(self, path: str | Path, repeat: int | None = 1, fps: float = 30.0) -> None:
        self.path = Path(path)
        self.name = f"image {self.path}"
        self.image = read_image(self.path)
        self.repeat = repeat
        self.fps = fps
        self.frame_count = repeat
        self.size = (int(self.image.shape[1]), int(self.image.shape[0]))

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        while self.repeat is None or index < self.repeat:
            yield Frame(image=self.image, timestamp=index / self.fps, index=index)
            index += 1


class ImageFolderSource(Closing):
    """Every image in a folder, sorted by name; unreadable files are skipped and counted."""

    live = False
    fresh_frames = True
    dropped = 0
    size = None

    def __init__(self, path: str | Path, fps: float = 30.0) -> None:
        self.path = Path(path)
        self.name = f"folder {self.path}"
        self.fps = fps
        self.unreadable = 0
        self.files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
        if not self.files:
            raise ArfilterError(f"folder {self.path}: no images in it ({', '.join(IMAGE_EXTENSIONS)})")
        self.frame_count = len(self.files)

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        for file in self.files:
            try:
                image = read_image(file)
            except ArfilterError as exc:
                self.unreadable += 1
                say(f"skipping {exc}")
                continue
            yield Frame(image=image, timestamp=index / self.fps, index=index)
            index += 1

