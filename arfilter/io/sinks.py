"""Where frames go: a virtual camera, a preview window, a video or image file, nowhere.

``send`` never blocks for long: the virtual camera has its own sender thread
that paces output at a fixed rate and size, repeating the last frame when the
pipeline is late, so Zoom or OBS always see a steady stream.
"""

from __future__ import annotations

import math
import os
import platform
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Protocol

import cv2
import numpy as np

from arfilter.core.errors import ArfilterError, DeviceUnavailable
from arfilter.core.framing import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, letterbox
from arfilter.core.limits import FPS, QUIT_KEYS, SINKS, SIZE
from arfilter.io.sources import _Closing

SINK_NAMES = ("virtualcam", "window", "null")
_FOURCC = {".mp4": "mp4v", ".mov": "mp4v", ".mkv": "mp4v", ".avi": "MJPG"}


class Sink(Protocol):
    name: str
    stopped: bool

    def send(self, image: np.ndarray) -> None: ...

    def close(self) -> None: ...


class NullSink(_Closing):
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


class ImageFileSink(_Closing):
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


class VideoFileSink(_Closing):
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


def display_problem(platform: str = sys.platform, env: Any = os.environ) -> str | None:
    """Why a window cannot open here, or None if it can.

    OpenCV's Qt build aborts the whole process (no exception) when it cannot
    reach an X server, so we check before the first ``imshow``.
    """
    if not (platform.startswith("linux") or "bsd" in platform):
        return None
    display = env.get("DISPLAY", "")
    if not display:
        return "no DISPLAY is set"
    local = re.fullmatch(r"(?:unix)?:(\d+)(?:\.\d+)?", display)
    if local and not Path(f"/tmp/.X11-unix/X{local.group(1)}").exists():
        return f"no X server answers at DISPLAY={display}"
    return None


def _point_qt_at_system_fonts() -> None:
    """OpenCV's Qt ships no fonts and complains on every window; show it the system's.

    opencv-python's import points QT_QPA_FONTDIR at a folder its wheel lacks,
    so we replace the value only when that folder does not exist.
    """
    if Path(os.environ.get("QT_QPA_FONTDIR", "")).is_dir() and any(Path(os.environ["QT_QPA_FONTDIR"]).iterdir()):
        return
    for folder in ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/TTF", "/usr/share/fonts/truetype"):
        if Path(folder).is_dir():
            os.environ["QT_QPA_FONTDIR"] = folder
            return


class WindowSink(_Closing):
    """A preview window: q or Esc quits; closing the window also quits.

    Other keys (looks, curtain, captions, m for mirror) go to ``on_key``, the
    operator's controls: the window shows the picture exactly as sent, so the
    mirror is the presenter's alone and captions always read the right way.
    """

    def __init__(self, title: str = "arfilter", on_key: Callable[[int], object] | None = None) -> None:
        problem = display_problem()
        if problem:
            raise DeviceUnavailable(
                f"preview window: no display found ({problem}); run it on a desktop, "
                "or write to a file with --sink out.mp4")
        _point_qt_at_system_fonts()
        self.title = title
        self.name = "preview window"
        self.stopped = False
        self.last_key: int | None = None
        self.on_key = on_key
        self._shown = False

    def handle_key(self, code: int) -> None:
        """React to a key code from ``cv2.waitKey`` (-1: none)."""
        if code < 0:
            return
        key = code & 0xFF
        self.last_key = key
        if self._quit_key(key):
            self.stopped = True
        elif not self._own_key(key) and self.on_key is not None:
            self.on_key(key)

    def _quit_key(self, key: int) -> bool:
        """Whether this key ends the session: q or Esc."""
        return chr(key) in QUIT_KEYS

    def _own_key(self, key: int) -> bool:
        """Handle a key of the window's own (the kiosk's PIN); False passes it on to ``on_key``."""
        return False

    def _window_open(self) -> bool:
        """Whether our window still exists and is visible.

        OpenCV's Qt raises cv2.error ("NULL guiReceiver") instead of returning
        -1 once the last window is gone, so an error means closed too.
        """
        try:
            return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1
        except cv2.error:
            return False

    def send(self, image: np.ndarray) -> None:
        if self.stopped:
            return
        if self._shown and not self._window_open():
            self.stopped = True  # the user closed the window: don't open a new one
            return
        try:
            cv2.imshow(self.title, image)
        except cv2.error as exc:
            raise DeviceUnavailable(
                "preview window: no display found; run it on a desktop, or write to a file with --sink out.mp4"
            ) from exc
        self._shown = True
        self.handle_key(cv2.waitKey(1))

    def close(self) -> None:
        if self._shown:
            try:
                cv2.destroyWindow(self.title)
                cv2.waitKey(1)
            except cv2.error:
                pass
            self._shown = False


def _detail(exc: BaseException) -> str:
    """An exception's message on one line (pyvirtualcam's span several)."""
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__


def virtual_camera_help(os_name: str, detail: str) -> str:
    """One line: why the virtual camera did not start and how to fix it on this OS.

    ``os_name`` is ``sys.platform`` ("linux", "win32", "darwin") or
    ``platform.system()`` ("Linux", "Windows", "Darwin").
    """
    os_name = os_name.lower()
    if "busy" in detail.lower() or "in use" in detail.lower():
        fix = ("another program is already sending to it (another arfilter, OBS's own virtual camera): close it, "
               "or on Linux load a second device with devices=2 and pick it with --device")
    elif os_name.startswith("linux"):
        fix = ("install v4l2loopback (sudo apt install v4l2loopback-dkms) and load it: "
               "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=arfilter")
    elif os_name.startswith("win"):
        fix = "install OBS Studio and click Start Virtual Camera once (then close OBS), or install Unity Capture"
    elif os_name in ("darwin", "macos", "mac"):
        fix = "install OBS Studio 30 or newer and click Start Virtual Camera once; keep the size 1280x720"
    else:
        fix = "this system has no virtual-camera support in pyvirtualcam"
    return f"virtual camera: not available ({detail}); {fix}; or use --fallback preview to show a window instead"


class VirtualCameraSink(_Closing):
    """Feeds a virtual camera at a fixed size and rate from its own sender thread.

    ``send`` only letterboxes the frame and swaps it into a one-frame slot; the
    sender thread sends it at once (no added latency) and repeats the last one
    every period when the pipeline is briefly late. Zoom or OBS always see a steady stream
    of one size, and never a frozen person: before the first frame they see a
    "starting" card, and when no new frame has come for ``stall_after``
    seconds (the camera stalled, was unplugged, the loop is stuck) a "camera
    unavailable" card, until frames flow again; on close the card is sent last,
    so a consumer that keeps showing the last frame shows the card.
    """

    stopped = False

    def __init__(
        self,
        size: tuple[int, int] = (1280, 720),
        fps: float = 30.0,
        device: str | None = None,
        backend: str | None = None,
        camera_factory: Callable[..., Any] | None = None,
        stall_after: float = 1.0,
        retry_seconds: float = 2.0,
        report: Callable[[str], None] | None = None,
    ) -> None:
        self.size = size
        self.fps = fps
        self.stall_after = stall_after
        self.frames_sent = 0
        self.repeats = 0
        self.cards_sent = 0
        if camera_factory is None:
            import pyvirtualcam
            from pyvirtualcam.camera import BACKENDS

            # An unknown name makes pyvirtualcam raise KeyError before its object is
            # set up, and its __del__ then prints a stray AttributeError: check first.
            if backend is not None and backend not in BACKENDS:
                raise ArfilterError(
                    f"virtual camera: backend {backend!r} does not exist on {platform.system()}; "
                    f"use {' or '.join(sorted(BACKENDS)) or 'none: pyvirtualcam supports no backend here'}, "
                    "or leave --backend out")
            camera_factory = pyvirtualcam.Camera
            fmt = pyvirtualcam.PixelFormat.BGR
        else:
            fmt = "BGR"
        self._open_camera = lambda: camera_factory(width=size[0], height=size[1], fps=fps, fmt=fmt, device=device,
                                                   backend=backend)
        self.retry_seconds = retry_seconds
        self.report = report or (lambda line: print(f"arfilter: {line}", file=sys.stderr))
        self.reopened = 0
        try:
            self._camera = self._open_camera()
        except Exception as exc:  # pyvirtualcam raises RuntimeError (and ValueError for bad args)
            raise DeviceUnavailable(virtual_camera_help(sys.platform, _detail(exc))) from exc
        self.name = f"virtual camera {getattr(self._camera, 'device', '') or ''}".strip()
        from arfilter.draw.cards import camera_unavailable_card, starting_card

        self._starting = starting_card(size)
        self._unavailable = camera_unavailable_card(size)
        self._latest: np.ndarray | None = None
        self._latest_time = time.monotonic()
        self._fresh = False
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._send_loop, name="arfilter-virtualcam", daemon=True)
        self._thread.start()

    def send(self, image: np.ndarray) -> None:
        framed = letterbox(image, self.size)
        with self._lock:
            self._latest = framed
            self._latest_time = time.monotonic()
            self._fresh = True
            self._lock.notify()

    def _next_image(self) -> tuple[np.ndarray, bool, bool]:
        """What to send now: (image, whether it is new, whether it is a card)."""
        with self._lock:
            image, fresh, age = self._latest, self._fresh, time.monotonic() - self._latest_time
            self._fresh = False
        if image is None:
            return self._starting, False, True
        if not fresh and age > self.stall_after:
            return self._unavailable, False, True
        return image, fresh, False

    def _send_loop(self) -> None:
        """Send a new frame as soon as it arrives (no added wait), but never two new ones
        within 0.8 of a period (a faster source is capped at 1.25x the rate). When none
        comes, repeat the last one (or send a card): the first repeat after 1.5 periods
        (a frame a few ms late is better sent late than a repeat now), then one every
        period; a new frame after a repeat goes out at once."""
        period = 1.0 / self.fps
        last_sent = last_new = time.monotonic() - period
        last_fresh = True
        while not self._stop.is_set():
            grace = 1.5 * period if last_fresh else period
            with self._lock:
                self._lock.wait_for(lambda: self._fresh or self._stop.is_set(),
                                    timeout=max(last_sent + grace - time.monotonic(), 0.0))
            if self._stop.is_set():
                return
            early = last_new + 0.8 * period - time.monotonic()
            if early > 0:  # the pipeline runs faster than the camera's rate: keep the rate
                self._stop.wait(early)
            image, fresh, is_card = self._next_image()
            try:
                self._camera.send(image)
            except Exception as exc:
                if not self._reopen(exc):
                    return
                continue
            last_sent, last_fresh = time.monotonic(), fresh
            if fresh:
                last_new = last_sent
            self.frames_sent += 1
            self.repeats += not fresh and not is_card
            self.cards_sent += is_card

    def _reopen(self, exc: BaseException) -> bool:
        """The driver went away mid-run (unloaded, the device removed): say so once, keep the
        session going (its preview, recording and control panel), and reopen every
        ``retry_seconds`` until it is back. False if we were told to stop meanwhile."""
        self.report(f"{self.name}: stopped accepting frames ({_detail(exc)}); the session goes on, "
                    f"retrying every {self.retry_seconds:g} s")
        try:
            self._camera.close()
        except Exception:
            pass
        while not self._stop.wait(self.retry_seconds):
            try:
                self._camera = self._open_camera()
            except Exception:
                continue
            self.reopened += 1
            self.report(f"{self.name}: back")
            return True
        return False

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        try:
            self._camera.send(self._unavailable)  # the last frame a consumer may keep showing
            self.cards_sent += 1
        except Exception:
            pass
        try:
            self._camera.close()
        except Exception:
            pass


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
