"""The preview window (OpenCV's HighGUI): shows frames as sent, hands keys to the operator's controls."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from arfilter.core.errors import DeviceUnavailable
from arfilter.core.limits import QUIT_KEYS
from arfilter.io.base import Closing
from arfilter.io.x11 import remap_windows

REMAP_AT_FRAME = 10  # about a third of a second after the window first shows


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


class WindowSink(Closing):
    """A preview window: q or Esc quits; closing the window also quits.

    Other keys (looks, curtain, captions, m for mirror) go to ``on_key``, the
    operator's controls: the window shows the picture exactly as sent, so the
    mirror is the presenter's alone and captions always read the right way.
    """

    # What to do without a display, after "no display found": a preview can go to a file or the virtual camera.
    no_display_hint = "run it on a desktop, or send the output elsewhere: --sink virtualcam or --sink out.mp4"
    what = "preview window"

    def __init__(self, title: str = "arfilter", on_key: Callable[[int], object] | None = None) -> None:
        problem = display_problem()
        if problem:
            raise DeviceUnavailable(f"{self.what}: no display found ({problem}); {self.no_display_hint}")
        _point_qt_at_system_fonts()
        self.title = title
        self.name = "preview window"
        self.stopped = False
        self.last_key: int | None = None
        self.on_key = on_key
        self._shown = False
        self._sent = 0

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
            raise DeviceUnavailable(f"{self.what}: no display found; {self.no_display_hint}") from exc
        self._shown = True
        self._sent += 1
        self.handle_key(cv2.waitKey(1))
        if self._sent == REMAP_AT_FRAME:
            remap_windows(self.title)  # cures a window Qt never painted (see io/x11.py)

    def close(self) -> None:
        if self._shown:
            try:
                cv2.destroyWindow(self.title)
                cv2.waitKey(1)
            except cv2.error:
                pass
            self._shown = False
