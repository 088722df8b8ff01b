"""What an operator can change while arfilter runs, from a key, a web page or a timer.

Keys arrive on the loop's own thread (the preview window), web requests on the
control server's threads and rotation ticks from the kiosk's clock. Every
change is queued and applied by the loop between two frames (``apply``), so
no frame is ever drawn half with the old look and half with the new, and no
lock is held while a frame is drawn. The privacy curtain is the exception:
it takes effect for the very next frame sent, whatever thread asks.

The loop hands the finished output back (``publish``) with its live figures;
the web page's preview and stats read them from here. Only the latest frame
is kept (a reference, not a copy: the loop makes a new array every frame),
and it is JPEG-encoded only when someone asks, at most ``preview_fps`` times
a second.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Callable

import cv2
import numpy as np

from arfilter.core.limits import INTENSITY, INTENSITY_STEP, KEYS
from arfilter.session.figures import LiveFigures

if TYPE_CHECKING:  # the looks are handed in; importing them would load every shader
    from arfilter.render.looks import LookSwitcher

ACTIONS = ("next", "previous", "look", "intensity", "stronger", "weaker", "curtain", "captions", "stats", "mirror")
TOGGLES = ("curtain", "captions", "stats", "mirror")  # True, False or None (flip)
LOOK_ACTIONS = ("next", "previous", "stronger", "weaker")


class Controls:
    """The live settings, shared by the keyboard, the web panel and the kiosk timer."""

    def __init__(self, looks: LookSwitcher | None = None, *, captions: bool = True, curtain: bool = False,
                 stats: bool = False, mirror: bool = False, preview_fps: float = 10.0,
                 report: Callable[[str], None] | None = None) -> None:
        self.looks = looks
        self.captions = captions
        self.curtain = curtain
        self.stats_visible = stats
        self.mirror = mirror  # the presenter flips the picture before captions and readouts
        self.preview_fps = preview_fps
        self.report = report or (looks.report if looks is not None else (lambda line: None))
        self._pending: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._output: np.ndarray | None = None
        self._jpeg: bytes | None = None
        self._jpeg_time = 0.0
        self._figures = LiveFigures()
        self.changes = 0  # applied changes, for anyone polling for "did it take"

    # --- requests, from any thread -------------------------------------------

    def request(self, action: str, value: object = None) -> None:
        """Queue a change: ``next``, ``previous``, ``look`` (a name or index), ``intensity`` (0-2),
        ``stronger``, ``weaker``, ``curtain``/``captions``/``stats``/``mirror`` (True, False or None to toggle).

        Raises ValueError for an unknown action or a bad value, naming the valid ones.
        """
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
        if action == "look":
            value = self._look_index(value)
        elif action == "intensity":
            try:
                value = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise ValueError(f"intensity {value!r} is not a number; give {INTENSITY.span}") from None
            why = INTENSITY.why_not(value)
            if why:
                raise ValueError(f"intensity {why}")
        elif action in TOGGLES and value is not None and not isinstance(value, bool):
            raise ValueError(f"{action} must be true, false or null (toggle), not {value!r}")
        if action == "curtain":  # privacy first: blank the very next frame, not after a queue
            self.curtain = (not self.curtain) if value is None else bool(value)
            self.changes += 1
            self.report(f"privacy curtain {'on: the output is blank' if self.curtain else 'off'}")
            return
        self._pending.put((action, value))

    def _look_index(self, value: object) -> int:
        if self.looks is None:
            raise ValueError("no looks to switch between")
        names = self.looks.names
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
            return value
        if isinstance(value, str) and value in names:
            return names.index(value)
        raise ValueError(f"unknown look {value!r}; use one of {', '.join(names)}")

    def handle_key(self, key: int) -> bool:
        """Keys of the preview and kiosk windows: n/p look, +/- intensity, b curtain,
        c captions, s stats, m mirror (the one map: ``core.limits.KEYS``). Returns whether the key was used."""
        action = KEYS.get(chr(key)) if 0 <= key < 0x110000 else None
        if action is None or (self.looks is None and action in LOOK_ACTIONS):
            return False
        self.request(action)
        if action != "curtain":
            self.apply()  # keys arrive on the loop's thread, between frames: apply now
        return True

    # --- the loop's side ------------------------------------------------------

    def apply(self) -> None:
        """Apply queued changes; called by the loop between frames."""
        while True:
            try:
                action, value = self._pending.get_nowait()
            except queue.Empty:
                return
            self._apply_one(action, value)
            self.changes += 1

    def _apply_one(self, action: str, value: object) -> None:
        looks = self.looks
        if action in ("captions", "stats", "mirror"):
            attribute = "stats_visible" if action == "stats" else action
            setattr(self, attribute, (not getattr(self, attribute)) if value is None else bool(value))
            self.report(f"{action} {'on' if getattr(self, attribute) else 'off'}")
        elif looks is None:
            return
        elif action == "next":
            looks.next()
        elif action == "previous":
            looks.previous()
        elif action == "look":
            looks.select(int(value))  # type: ignore[arg-type]
        elif action == "intensity":
            looks.intensity = float(value)  # type: ignore[arg-type]
            self.report(f"look: {looks.title} (intensity {looks.intensity:.1f})")
        elif action == "stronger":
            looks.stronger()
        elif action == "weaker":
            looks.weaker()

    def publish(self, output: np.ndarray, figures: LiveFigures) -> None:
        """The frame just sent and the live figures (the loop calls this once per frame)."""
        with self._lock:
            self._output = output
            self._figures = figures

    # --- readers, from any thread ---------------------------------------------

    @property
    def figures(self) -> LiveFigures:
        with self._lock:
            return self._figures

    def preview_jpeg(self, max_width: int = 640, quality: int = 75) -> bytes | None:
        """The latest output as a small JPEG (re-encoded at most ``preview_fps`` times a second)."""
        now = time.monotonic()
        with self._lock:
            output = self._output
            if self._jpeg is not None and now - self._jpeg_time < 1.0 / self.preview_fps:
                return self._jpeg
        if output is None:
            return None
        height, width = output.shape[:2]
        if width > max_width:
            output = cv2.resize(output, (max_width, max(1, round(height * max_width / width))),
                                interpolation=cv2.INTER_AREA)
        ok, data = cv2.imencode(".jpg", output, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            return None
        with self._lock:
            self._jpeg, self._jpeg_time = data.tobytes(), now
            return self._jpeg

    def state(self) -> dict:
        """Everything the control page shows, JSON-ready."""
        looks = self.looks
        return {
            "looks": [] if looks is None else [
                {"index": i, "name": name} for i, name in enumerate(looks.names)],
            "look": None if looks is None else looks.names[looks.index],
            "title": None if looks is None else looks.title,
            "intensity": None if looks is None else looks.intensity,
            "intensity_range": {"min": INTENSITY.low, "max": INTENSITY.high, "step": INTENSITY_STEP},
            "curtain": self.curtain,
            "captions": self.captions,
            "stats_visible": self.stats_visible,
            "mirror": self.mirror,
            "live": asdict(self.figures),
            "changes": self.changes,
        }
