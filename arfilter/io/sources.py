"""Where frames come from: cameras, video files, still images, folders of images.

Live sources (cameras) hand over only the newest frame: a capture thread keeps
one slot, so a slow moment in the pipeline never turns into lag. File sources
hand over every frame in order; a small read-ahead thread decodes the next
frames while the current one is tracked, so decoding costs no wall time.
Every frame is normalised to BGR uint8 at this boundary.
"""

from __future__ import annotations

import os
import queue
import struct
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

import cv2
import numpy as np

from arfilter.core.errors import ArfilterError, DeviceUnavailable
from arfilter.core.framing import IMAGE_EXTENSIONS
from arfilter.core.imageutil import to_bgr
from arfilter.core.types import Frame

MAX_IMAGE_PIXELS = 100_000_000
MAX_IMAGE_SIDE = 32767  # the landmark model cannot take more (see tracker.MAX_SIDE)


class Source(Protocol):
    """An iterable of frames with what the loop needs to know about it."""

    name: str
    live: bool
    fresh_frames: bool  # every frame is a new array the consumer may draw on
    fps: float
    size: tuple[int, int] | None
    frame_count: int | None
    dropped: int
    unreadable: int

    def __iter__(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...


class _Closing:
    """Context-manager plumbing shared by every source and sink."""

    def close(self) -> None:  # pragma: no cover - overridden
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _say(line: str) -> None:
    print(f"arfilter: {line}", file=sys.stderr)


# --- live cameras ------------------------------------------------------------

class LatestFrame:
    """A one-slot mailbox between a capture thread and the loop: newest wins.

    ``put`` replaces what is there (counting the replaced frame as dropped if
    nobody took it); ``get`` waits for a frame newer than the last one taken.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: tuple[Any, float] | None = None
        self._fresh = False
        self._closed = False
        self.error: BaseException | None = None
        self.dropped = 0

    def put(self, image: Any, timestamp: float) -> None:
        with self._cond:
            if self._fresh:
                self.dropped += 1
            self._item = (image, timestamp)
            self._fresh = True
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> tuple[Any, float] | None:
        """The newest unseen frame, or None when closed or after ``timeout`` seconds."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._fresh or self._closed, timeout):
                return None
            if not self._fresh:
                return None
            self._fresh = False
            return self._item

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self, error: BaseException | None = None) -> None:
        with self._cond:
            self.error = self.error or error
            self._closed = True
            self._cond.notify_all()


def stable_device(device: int | str, platform: str = sys.platform, by_id: Path = Path("/dev/v4l/by-id")) -> int | str:
    """The name to reopen a camera by after it was unplugged: on Linux its /dev/v4l/by-id link
    (USB port and serial: it follows the camera, not the order it was plugged in); elsewhere as given."""
    if not platform.startswith("linux"):
        return device
    node = Path(f"/dev/video{device}") if isinstance(device, int) else Path(device)
    try:
        target = node.resolve()
        for link in sorted(by_id.iterdir()):
            if link.name.endswith("-video-index0") and link.resolve() == target:
                return str(link)
    except OSError:
        pass
    return device


def _open_problem(device: int | str, platform: str = sys.platform) -> str:
    """Why a camera did not open, as specific as this OS lets us tell."""
    node = Path(f"/dev/video{device}") if isinstance(device, int) else Path(str(device))
    if platform.startswith("linux") and node.exists() and not os.access(node, os.R_OK | os.W_OK):
        return (f"no permission to use {node}; let your user use cameras: sudo usermod -aG video $USER, "
                "then log out and back in")
    return ("cannot open it; check that it is plugged in and not used by another app "
            "(Zoom, OBS, a browser tab), or pick another with --source 1")


class _Reader:
    """One capture session: a thread that owns the capture and reads until told to stop
    or the camera fails (reads fail, or it keeps handing out the very same picture)."""

    def __init__(self, capture: Any, mailbox: LatestFrame, name: str, fail_seconds: float, stale_seconds: float,
                 counts: dict[str, int]) -> None:
        self.capture = capture
        self.counts = counts
        self.mailbox = mailbox
        self.fail_seconds = fail_seconds
        self.stale_seconds = stale_seconds
        self.stop = threading.Event()
        self.ended = threading.Event()
        self.why = ""
        self.last_good = time.monotonic()
        self.thread = threading.Thread(target=self._run, name=f"arfilter-{name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        failing_since: float | None = None
        same_since: float | None = None
        last_print: bytes | None = None
        try:
            while not self.stop.is_set():
                try:
                    ok, image = self.capture.read()
                except cv2.error:
                    ok, image = False, None
                now = time.monotonic()
                if self.stop.is_set():
                    return  # abandoned while blocked: what it read is too old to show
                if ok and not (isinstance(image, np.ndarray) and image.size):
                    self.counts["empty"] += 1  # "success" with nothing in it: dropped, counted, treated as a failure
                    ok = False
                if ok:
                    failing_since = None
                    fingerprint = np.ascontiguousarray(image[::16, ::16]).tobytes()
                    if fingerprint == last_print:  # a live sensor never gives two identical pictures
                        same_since = same_since or now
                        if now - same_since > self.stale_seconds:
                            self.why = f"it has sent the same picture for {self.stale_seconds:g} s (frozen)"
                            return
                        continue
                    same_since, last_print = None, fingerprint
                    self.last_good = now
                    self.mailbox.put(image, now)
                    continue
                failing_since = failing_since or now
                if now - failing_since > self.fail_seconds:
                    self.why = "reads fail (unplugged?)"
                    return
                self.stop.wait(0.01)  # a failing camera returns at once: don't spin
        finally:
            self.ended.set()
            try:
                self.capture.release()  # from the thread that reads: never while a read is in flight
            except Exception:
                pass


class CameraSource(_Closing):
    """A webcam by index or device path, read by a background thread, that rides through faults.

    - The newest frame wins (one slot), so a slow moment never becomes lag.
    - Unplugged (reads fail), frozen (the same picture over and over) or stuck
      (a read that never returns): after ``stall_seconds`` without a good frame
      the camera counts as lost: one line says so, the loop gets placeholder
      frames (the "camera unavailable" card) at the camera's rate so every sink
      keeps going, and the camera is reopened every ``retry_seconds`` by its
      stable name (Linux: /dev/v4l/by-id, so a replugged camera is found again
      and another camera is never taken instead); a stuck reader is left behind
      and a new one started. One line says when it is back.
    - Busy or no permission at start: one line with the fix. A slow first open
      is waited for (``open_seconds``) without any alarm.
    """

    live = True
    fresh_frames = True
    frame_count = None

    def __init__(
        self,
        device: int | str,
        size: tuple[int, int] = (1280, 720),
        fps: float = 30.0,
        *,
        capture_factory: Callable[..., Any] = cv2.VideoCapture,
        stall_seconds: float = 1.0,
        open_seconds: float = 10.0,
        retry_seconds: float = 2.0,
        stale_seconds: float = 1.0,
        report: Callable[[str], None] | None = None,
    ) -> None:
        self.name = f"camera {device}"
        self.device = device
        self.reopen_as = stable_device(device)
        self.dropped = 0
        self._unreadable = 0
        self._counts = {"empty": 0}
        self.lost_count = 0
        self.placeholders = 0
        self._factory = capture_factory
        self._requested = (size, fps)
        self._stall_seconds = stall_seconds
        self._open_seconds = open_seconds
        self._retry_seconds = retry_seconds
        self._stale_seconds = stale_seconds
        self._report = report or _say
        self._mailbox = LatestFrame()
        self._stop = threading.Event()
        self._lost_since: float | None = None
        capture = self._open(device)
        if capture is None:
            raise DeviceUnavailable(f"{self.name}: {_open_problem(device)}")
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) or size[0])
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or size[1])
        self.fps = float(capture.get(cv2.CAP_PROP_FPS) or fps)
        self.size = (width, height)
        code = int(capture.get(cv2.CAP_PROP_FOURCC) or 0)
        fourcc = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4)).strip("\0 ") or "?"
        self._report(f"{self.name}: {width}x{height} @ {self.fps:g} fps ({fourcc})")
        self._reader = _Reader(capture, self._mailbox, self.name, stall_seconds / 2, stale_seconds, self._counts)
        self._keeper = threading.Thread(target=self._keep, name=f"arfilter-{self.name}-keeper", daemon=True)
        self._keeper.start()

    def _open(self, device: int | str) -> Any | None:
        """A configured, open capture, or None."""
        try:
            capture = self._factory(device)
        except Exception:
            return None
        if capture is None or not capture.isOpened():
            if capture is not None:
                capture.release()
            return None
        size, fps = self._requested
        capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
        capture.set(cv2.CAP_PROP_FPS, fps)
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        return capture

    @property
    def lost(self) -> bool:
        return self._lost_since is not None

    @property
    def unreadable(self) -> int:
        """Frames the camera handed over that were not pictures (empty, wrong shape): dropped."""
        return self._unreadable + self._counts["empty"]

    def _keep(self) -> None:
        """Watch the reader; when the camera is lost, reopen it until it is back."""
        started = time.monotonic()
        delivered = False
        while not self._stop.wait(0.05):
            reader = self._reader
            now = time.monotonic()
            delivered = delivered or reader.last_good > started
            silent = now - reader.last_good
            if not delivered and not reader.ended.is_set():
                continue  # a slow first frame is the consumer's to time out, not a fault
            if reader.ended.is_set() or silent > self._stall_seconds:
                why = reader.why or f"no frame for {self._stall_seconds:g} s (stuck?)"
                reader.stop.set()  # a reader stuck inside read() is left behind; it exits if it ever returns
                self._lost_since = now
                self.lost_count += 1
                self._report(f"{self.name}: lost ({why}); showing the 'camera unavailable' card and "
                             f"reconnecting every {self._retry_seconds:g} s")
                self._reconnect()
                if self._stop.is_set():
                    return
                self._lost_since = None
                started = time.monotonic()
                self._report(f"{self.name}: back")

    def _reconnect(self) -> None:
        while not self._stop.wait(self._retry_seconds):
            capture = self._open(self.reopen_as)
            if capture is not None:
                self._reader = _Reader(capture, self._mailbox, self.name, self._stall_seconds / 2, self._stale_seconds,
                                       self._counts)
                return

    def _placeholder(self) -> np.ndarray:
        from arfilter.draw.cards import camera_unavailable_card

        return camera_unavailable_card(self.size)

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        period = 1.0 / max(self.fps, 1.0)
        item = self._mailbox.get(self._open_seconds)
        if item is None:
            if self._stop.is_set():
                return
            raise DeviceUnavailable(
                f"{self.name}: no frame for {self._open_seconds:g} s; check that the camera works in another app")
        while True:
            if item is not None:
                try:
                    image = to_bgr(item[0])
                except ValueError:
                    self._unreadable += 1
                else:
                    yield Frame(image=image, timestamp=item[1], index=index)
                    index += 1
            elif self.lost:  # the loop keeps going, and every sink shows the card
                self.placeholders += 1
                yield Frame(image=self._placeholder(), timestamp=time.monotonic(), index=index, placeholder=True)
                index += 1
            if self._stop.is_set():
                return
            item = self._mailbox.get(period)
            self.dropped = self._mailbox.dropped
            if item is None and self._mailbox.closed and self._stop.is_set():
                return

    def close(self) -> None:
        """Stop reading; a reader stuck inside a read is left to finish on its own (releasing
        a capture from another thread while V4L2 blocks in it can crash inside OpenCV)."""
        self._stop.set()
        self._reader.stop.set()
        self._mailbox.close()
        for thread in (self._reader.thread, self._keeper):
            if thread.is_alive() and threading.current_thread() is not thread:
                thread.join(timeout=2.0)
        self.dropped = self._mailbox.dropped


# --- files ---------------------------------------------------------------------

_END = object()


class VideoFileSource(_Closing):
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
        ok, first = self._capture.read() if self._capture.isOpened() else (False, None)
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
        position = 0
        expected = self.frame_count or 0
        give_up = max(250, int(10 * self.fps))  # consecutive failures: a bogus count must not spin forever
        while image is not None and not self._stop.is_set():
            self._put((image, position))
            position += 1
            image, failures = None, 0
            while not self._stop.is_set():
                ok, raw = self._capture.read()
                if ok and raw is not None:
                    image = raw
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
            raw, position = item
            try:
                image = to_bgr(raw)
            except ValueError:
                bad += 1
                continue
            yield Frame(image=image, timestamp=position / self.fps, index=index)
            index += 1
        if self._error is not None:
            raise ArfilterError(f"{self.name}: decoding stopped at frame {index} ({self._error}); "
                                "re-encode the file as MP4 (H.264)") from self._error
        self.unreadable = max(bad, (self.frame_count or 0) - index)
        if self.unreadable:
            _say(f"{self.name}: {self.unreadable} of {self.frame_count or index + bad} frames could not be decoded "
                 "and were skipped")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self._capture.release()


def image_header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG, JPEG, BMP or WebP header; None when not recognised.

    Lets :func:`read_image` refuse a huge image before OpenCV allocates it
    (OpenCV's own limit is 1 gigapixel: 3 GB of BGR).
    """
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:2] == b"BM" and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return abs(width), abs(height)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8X":
            return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
        if chunk == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
        if chunk == b"VP8 ":
            width, height = struct.unpack("<HH", data[26:30])
            return width & 0x3FFF, height & 0x3FFF
        return None
    if data[:2] == b"\xff\xd8":  # JPEG: walk the segments to the first start-of-frame
        pos = 2
        while pos + 4 <= len(data) and data[pos] == 0xFF:
            marker = data[pos + 1]
            if marker == 0xFF:  # fill byte
                pos += 1
            elif marker == 0x01 or 0xD0 <= marker <= 0xD7:  # no length field
                pos += 2
            elif marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                if pos + 9 > len(data):
                    return None
                height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
                return width, height
            else:
                pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    return None


def _too_large(path: Path, width: int, height: int) -> ArfilterError:
    return ArfilterError(f"image {path}: {width}x{height} is too large; use at most "
                         f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels and {MAX_IMAGE_SIDE} px per side "
                         "(scale it down first)")


def _fits(width: int, height: int) -> bool:
    return width * height <= MAX_IMAGE_PIXELS and max(width, height) <= MAX_IMAGE_SIDE


def read_image(path: str | Path) -> np.ndarray:
    """Decode an image file (any path, non-ASCII too) or raise ArfilterError naming it.

    ``np.fromfile`` + ``cv2.imdecode`` because ``cv2.imread`` cannot open
    non-ASCII paths on Windows. ``IMREAD_COLOR`` applies the EXIF orientation
    (phone portraits stay upright), turns 16-bit into 8-bit and drops alpha.
    """
    path = Path(path)
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        raise ArfilterError(f"image {path}: cannot be read ({exc.strerror})") from exc
    header = image_header_size(data[:65536].tobytes())
    if header is not None and not _fits(*header[:2]):
        raise _too_large(path, *header[:2])
    try:
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    except cv2.error:
        image = None
    if image is None:
        raise ArfilterError(f"image {path}: not a readable image; use a JPEG or PNG file")
    if not _fits(image.shape[1], image.shape[0]):
        raise _too_large(path, image.shape[1], image.shape[0])
    try:
        return to_bgr(image)
    except ValueError as exc:
        raise ArfilterError(f"image {path}: unsupported image layout ({exc})") from exc


class ImageSource(_Closing):
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


class ImageFolderSource(_Closing):
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
                _say(f"skipping {exc}")
                continue
            yield Frame(image=image, timestamp=index / self.fps, index=index)
            index += 1


def open_source(
    spec: str, *, size: tuple[int, int] = (1280, 720), fps: float = 30.0, repeat_images: int | None = 1
) -> Source:
    """A source from what the user typed: a camera number or device, a file or a folder."""
    if spec.isdigit():
        return CameraSource(int(spec), size=size, fps=fps)
    path = Path(spec)
    if spec.startswith("/dev/"):
        if not path.exists():
            raise DeviceUnavailable(f"camera {spec}: no such device; list cameras with 'ls /dev/video*' or use --source 0")
        return CameraSource(spec, size=size, fps=fps)
    if path.is_dir():
        return ImageFolderSource(path, fps=fps)
    if path.is_file():
        if path.suffix.lower() in IMAGE_EXTENSIONS:
            return ImageSource(path, repeat=repeat_images, fps=fps)
        return VideoFileSource(path)
    raise ArfilterError(f"source {spec}: no such file, folder or camera; use a camera number like 0, a video, an image or a folder")
