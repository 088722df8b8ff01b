"""Live cameras: a capture thread per camera that keeps only the newest frame.

The capture thread keeps one slot, so a slow moment in the pipeline never
turns into lag; a keeper thread notices an unplugged, frozen or stuck camera,
shows the "camera unavailable" card meanwhile, and reopens it.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import cv2
import numpy as np

from arfilter.core.errors import DeviceUnavailable
from arfilter.core.imageutil import to_bgr
from arfilter.core.types import Frame
from arfilter.io.base import Closing, prepare_quietly, say


class LatestFrame:
    """A one-slot mailbox between a capture thread and the loop: newest wins.

    ``put`` replaces what is there (counting the replaced frame as dropped if
    nobody took it); ``get`` waits for a frame newer than the last one taken, as
    (image, timestamp, the tracker's input made from it by ``prepare`` or None).
    """

    # The tracker's input from a BGR image (``FaceTracker.prepare``), made by ``put``'s caller (the
    # capture thread, which waits for the camera most of each frame) outside the lock.
    prepare: Callable[[Any], object] | None = None

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: tuple[Any, float, object] | None = None
        self._fresh = False
        self._closed = False
        self.error: BaseException | None = None
        self.dropped = 0

    def put(self, image: Any, timestamp: float) -> None:
        prepared = prepare_quietly(self.prepare, image)
        with self._cond:
            if self._fresh:
                self.dropped += 1
            self._item = (image, timestamp, prepared)
            self._fresh = True
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> tuple[Any, float, object] | None:
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


def open_problem(device: int | str, platform: str = sys.platform) -> str:
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


class CameraSource(Closing):
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
        self._report = report or say
        self._mailbox = LatestFrame()
        self._stop = threading.Event()
        self._lost_since: float | None = None
        capture = self._open(device)
        if capture is None:
            raise DeviceUnavailable(f"{self.name}: {open_problem(device)}")
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
    def prepare(self) -> Callable[[Any], object] | None:
        """The tracker's input from each new frame (``FaceTracker.prepare``), made on the capture thread."""
        return self._mailbox.prepare

    @prepare.setter
    def prepare(self, prepare: Callable[[Any], object] | None) -> None:
        self._mailbox.prepare = prepare

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
                    yield Frame(image=image, timestamp=item[1], index=index, prepared=item[2])
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

