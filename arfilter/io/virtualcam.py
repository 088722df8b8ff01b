"""The virtual camera (pyvirtualcam): a steady stream at a fixed size and rate for Zoom, Meet, OBS.

``send`` never blocks for long: a sender thread paces output, repeating the
last frame when the pipeline is late and showing a card when frames stop, and
the device is reopened if its driver goes away mid-run.
"""

from __future__ import annotations

import platform
import sys
import threading
import time
from typing import Any, Callable

import numpy as np

from arfilter.core.errors import ArfilterError, DeviceUnavailable
from arfilter.core.framing import letterbox
from arfilter.io.base import Closing


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


class VirtualCameraSink(Closing):
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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock  # every time it reads (pacing, stall cards); tests pass a clock they move
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
        self._latest_time = self._clock()
        self._fresh = False
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._send_loop, name="arfilter-virtualcam", daemon=True)
        self._thread.start()

    def send(self, image: np.ndarray) -> None:
        framed = letterbox(image, self.size)
        with self._lock:
            self._latest = framed
            self._latest_time = self._clock()
            self._fresh = True
            self._lock.notify()

    def _next_image(self) -> tuple[np.ndarray, bool, bool]:
        """What to send now: (image, whether it is new, whether it is a card)."""
        with self._lock:
            image, fresh, age = self._latest, self._fresh, self._clock() - self._latest_time
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
        last_sent = last_new = self._clock() - period
        last_fresh = True
        while not self._stop.is_set():
            grace = 1.5 * period if last_fresh else period
            with self._lock:
                self._lock.wait_for(lambda: self._fresh or self._stop.is_set(),
                                    timeout=max(last_sent + grace - self._clock(), 0.0))
            if self._stop.is_set():
                return
            early = last_new + 0.8 * period - self._clock()
            if early > 0:  # the pipeline runs faster than the camera's rate: keep the rate
                self._stop.wait(early)
            image, fresh, is_card = self._next_image()
            try:
                self._camera.send(image)
            except Exception as exc:
                if not self._reopen(exc):
                    return
                continue
            last_sent, last_fresh = self._clock(), fresh
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
