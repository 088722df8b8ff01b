"""Kiosk mode: a full-screen mirror at an exhibition that runs all day on its own.

- **Presence**: with somebody in front, the screen is their mirrored picture
  with the look; ``clear_after`` seconds (at most one) after the last face
  leaves, the picture is replaced by the attract screen, so the last visitor
  never stays on screen for the next one to see.
- **Quitting** needs intent: Esc held for ``quit_hold`` seconds, or a PIN
  typed and Enter. A visitor pressing keys cannot end the kiosk.
- **Window**: full screen, the mouse pointer hidden (X11 and Windows; macOS
  keeps it: move it to a corner).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from arfilter.operator.campaign import hex_rgb
from arfilter.draw.cards import card
from arfilter.core.limits import CLEAR_AFTER, QUIT_HOLD
from arfilter.io.sinks import WindowSink
from arfilter.io.x11 import xlib
from arfilter.core.types import Face

ESC, ENTER, RETURN, BACKSPACE = 27, 13, 10, 8
REPEAT_GAP_S = 0.8  # a held key repeats every ~40 ms after a ~0.6 s delay; a longer gap is a release


@dataclass(frozen=True)
class KioskConfig:
    """The exhibition screen: attract screen, clearing, quitting."""

    clear_after: float = CLEAR_AFTER.default  # seconds after the last face leaves before the attract screen replaces the picture
    title: str = "Step in front of the camera"
    message: str = "See what the campaign is about"
    quit_hold: float = QUIT_HOLD.default  # seconds Esc must be held to quit (0: a single press)
    quit_pin: str = ""  # digits typed then Enter quit instead; empty: hold Esc
    fullscreen: bool = True
    hide_cursor: bool = True


def hex_to_bgr(colour: str) -> tuple[int, int, int]:
    """'#5B2A86' -> (134, 42, 91)."""
    red, green, blue = hex_rgb(colour)
    return blue, green, red


class KioskScreen:
    """Shows the picture while somebody is in front, the attract screen otherwise."""

    def __init__(self, config: KioskConfig, background_bgr: tuple[int, int, int] | None = None,
                 font: str | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.background = background_bgr
        self.font = font
        self.clock = clock
        self.last_face: float | None = None
        self.attracting = True

    def attract(self, size: tuple[int, int]) -> np.ndarray:
        """The attract screen at ``size`` (w, h): drawn once per size, cached."""
        kwargs = {} if self.background is None else {"background": self.background}
        return card(size, self.config.title, self.config.message, font=self.font, **kwargs)

    def __call__(self, output: np.ndarray, faces: tuple[Face, ...]) -> np.ndarray:
        now = self.clock()
        if faces:
            self.last_face = now
        self.attracting = self.last_face is None or now - self.last_face > self.config.clear_after
        if self.attracting:
            return self.attract((output.shape[1], output.shape[0]))
        return output


class QuitGuard:
    """Decides whether key presses mean "quit": Esc held long enough, or the PIN and Enter."""

    def __init__(self, hold_s: float = 3.0, pin: str = "", clock: Callable[[], float] = time.monotonic) -> None:
        self.hold_s = hold_s
        self.pin = pin
        self.clock = clock
        self._held_since: float | None = None
        self._last_esc = 0.0
        self._typed = ""
        self._last_typed = 0.0

    def key(self, key: int) -> bool:
        """Feed one key code (as from cv2.waitKey & 0xFF); True when the kiosk should quit."""
        now = self.clock()
        if self.pin:
            return self._pin_key(key, now)
        if key != ESC:
            self._held_since = None
            return False
        if self._held_since is None or now - self._last_esc > REPEAT_GAP_S:
            self._held_since = now
        self._last_esc = now
        return now - self._held_since >= self.hold_s

    def _pin_key(self, key: int, now: float) -> bool:
        if now - self._last_typed > 10.0:
            self._typed = ""  # a half-typed PIN does not linger
        self._last_typed = now
        if ord("0") <= key <= ord("9"):
            self._typed = (self._typed + chr(key))[-len(self.pin) - 4:]
            return False
        if key == BACKSPACE:
            self._typed = self._typed[:-1]
            return False
        if key in (ENTER, RETURN):
            typed, self._typed = self._typed, ""
            return typed == self.pin
        return False

    @property
    def hint(self) -> str:
        if self.pin:
            return "to quit: type the PIN, then Enter"
        return "to quit: hold Esc" + (f" for {self.hold_s:g} s" if self.hold_s > 0 else "")


class KioskWindowSink(WindowSink):
    """The preview window, full screen, with the pointer hidden and quitting guarded."""

    # A kiosk is its screen: no file or virtual camera stands in, so start it where the screen is.
    no_display_hint = ("start the kiosk inside the kiosk screen's desktop session (a terminal or autostart there), "
                       "or point it at that screen: DISPLAY=:0 arfilter kiosk ...; 'arfilter doctor --for kiosk' "
                       "checks the display")
    what = "kiosk screen"

    def __init__(self, guard: QuitGuard, title: str = "arfilter kiosk", fullscreen: bool = True,
                 hide_cursor: bool = True, on_key: Callable[[int], object] | None = None) -> None:
        super().__init__(title=title, on_key=on_key)
        self.name = "kiosk screen"
        self.guard = guard
        self.fullscreen = fullscreen
        self.hide_cursor = hide_cursor
        self.cursor_hidden = False

    def _quit_key(self, key: int) -> bool:
        return self.guard.key(key)  # Esc held long enough, or the PIN and Enter

    def _own_key(self, key: int) -> bool:
        """Esc, Enter and the PIN's digits belong to the quit guard; nothing else is the window's."""
        return key in (ESC, ENTER, RETURN) or bool(self.guard.pin and chr(key).isdigit())

    def send(self, image: np.ndarray) -> None:
        if not self._shown and not self.stopped:
            import cv2

            cv2.namedWindow(self.title, cv2.WINDOW_NORMAL)
            if self.fullscreen:
                # Without a window manager (a kiosk often has none) Qt ignores "full screen":
                # size and place the window over the whole screen ourselves as well.
                size = screen_size()
                if size is not None:
                    cv2.resizeWindow(self.title, *size)
                    cv2.moveWindow(self.title, 0, 0)
                cv2.setWindowProperty(self.title, cv2.WND_PROP_FULLSCREEN, cv2.WINDOW_FULLSCREEN)
            if self.hide_cursor:
                self.cursor_hidden = hide_pointer()
        super().send(image)


_X11: tuple | None = None  # (libX11, display): kept open, X hides the pointer only while it lives


def _x11() -> tuple | None:
    """libX11 and an open connection to $DISPLAY, or None (not X11, no library, no server)."""
    global _X11
    lib = xlib()
    if _X11 is None and lib is not None:
        display = lib.XOpenDisplay(None)
        if display:
            _X11 = (lib, display)
    return _X11


def screen_size() -> tuple[int, int] | None:
    """(width, height) of the screen the kiosk opens on, where the system tells."""
    if sys.platform.startswith("win"):
        try:
            user32 = ctypes.windll.user32  # type: ignore[attr-defined]
            return int(user32.GetSystemMetrics(0)), int(user32.GetSystemMetrics(1))
        except (AttributeError, OSError):
            return None
    found = _x11()
    if found is None:
        return None
    x11, display = found
    screen = x11.XDefaultScreen(display)
    return int(x11.XDisplayWidth(display, screen)), int(x11.XDisplayHeight(display, screen))


def hide_pointer() -> bool:
    """Hide the mouse pointer over the kiosk; True if it could be done on this system."""
    if sys.platform.startswith("win"):
        try:
            ctypes.windll.user32.ShowCursor(False)  # type: ignore[attr-defined]
            return True
        except (AttributeError, OSError):
            return False
    found = _x11()
    if found is None:
        return False
    try:
        xfixes = ctypes.CDLL(ctypes.util.find_library("Xfixes") or "libXfixes.so.3")
    except OSError:
        return False
    x11, display = found
    xfixes.XFixesHideCursor.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    xfixes.XFixesHideCursor(display, x11.XDefaultRootWindow(display))
    x11.XFlush(display)
    return True
