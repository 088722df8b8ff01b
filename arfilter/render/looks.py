"""The look on screen, switchable while running: next/previous, stronger/weaker.

A switch builds the new renderer completely before it replaces the old one,
so a frame never sees a half-loaded look; a pack that fails to load is
reported in one line and skipped, and the current look stays. Building a
look takes 10-40 ms of CPU (a pack's PNGs decoded, its mip levels made), so the
looks one key press away (the next one that loads, and the previous) are built
on a background thread: at start, and again after every switch. A key press
switches at the next frame, with no stall, and a session never builds looks
nobody may ask for (a 40-look event folder would hold them all in memory).
"""

from __future__ import annotations

import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as StillRunning
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from arfilter.core.errors import ArfilterError
from arfilter.core.limits import INTENSITY, INTENSITY_STEP
from arfilter.tracking.mesh import CanonicalMesh
from arfilter.render.packs import load_overlay
from arfilter.render.renderer import Renderer
from arfilter.core.types import Face



def _say(message: str) -> None:
    print(f"arfilter: {message}", file=sys.stderr)


class LookSwitcher:
    """Draws the current look; ``next``/``previous``/``stronger``/``weaker`` change it between frames."""

    def __init__(self, mesh: CanonicalMesh, looks: Sequence[str | Path], start: int = 0,
                 intensity: float = INTENSITY.default, report: Callable[[str], None] = _say, preload: bool = True) -> None:
        if not looks:
            raise ArfilterError("no looks to show; install an overlay pack or pass --overlay PATH")
        self.mesh = mesh
        self.looks = list(looks)
        self.report = report
        self._cache: dict[int, Renderer] = {}
        self._broken: dict[int, str] = {}
        self._lock = threading.Lock()
        self.index = start % len(self.looks)
        self.renderer = self._load(self.index)  # the first look must load: its error is the user's
        self.intensity = intensity
        self._closing = threading.Event()
        self._preloader: ThreadPoolExecutor | None = None
        self._preloaded: Future | None = None
        if preload and len(self.looks) > 1:
            self._preloader = ThreadPoolExecutor(1, thread_name_prefix="arfilter-looks")
            self._preload_around(self.index)

    def _preload_around(self, index: int) -> None:
        """Build, in the background, the looks a key press from ``index`` reaches."""
        if self._preloader is not None and not self._closing.is_set():
            self._preloaded = self._preloader.submit(self._preload, index)

    def _preload(self, index: int) -> None:
        """The next look that loads (broken ones are skipped by ``n`` too), then the previous one."""
        for direction in (+1, -1):
            for step in range(1, len(self.looks)):
                if self._closing.is_set():
                    return
                try:
                    self._load((index + direction * step) % len(self.looks))
                    break
                except ArfilterError:
                    pass  # remembered in _broken; reported if the user switches to it

    def preloaded(self, timeout: float | None = None) -> bool:
        """Wait for the background builds asked for so far; False if they are still running."""
        pending = self._preloaded
        if pending is None:
            return True
        try:
            pending.result(timeout)
        except StillRunning:
            return False
        return True

    @property
    def intensity(self) -> float:
        return self._intensity

    @intensity.setter
    def intensity(self, value: float) -> None:
        self._intensity = float(np.clip(round(value, 2), INTENSITY.low, INTENSITY.high))
        self.renderer.intensity = self._intensity

    @property
    def title(self) -> str:
        return self.renderer.overlay.title

    def _load(self, index: int) -> Renderer:
        """The look at ``index``, built once; a broken pack raises the same error every time."""
        with self._lock:
            if index in self._broken:
                raise ArfilterError(self._broken[index])
            if index not in self._cache:
                try:
                    self._cache[index] = Renderer(self.mesh, load_overlay(self.looks[index]))
                except ArfilterError as exc:
                    self._broken[index] = str(exc)
                    raise
            return self._cache[index]

    @property
    def names(self) -> list[str]:
        """The looks' names (their folder names), in switching order."""
        return [Path(look).name for look in self.looks]

    def select(self, index: int) -> bool:
        """Show the look at ``index``; a broken pack is reported and the current look stays."""
        index %= len(self.looks)
        try:
            renderer = self._load(index)
        except ArfilterError as exc:
            self.report(f"skipping look {self.looks[index]}: {exc}")
            return False
        renderer.intensity = self.intensity
        self.index, self.renderer = index, renderer  # one assignment: atomic for the next frame
        self.report(f"look: {self.title} (intensity {self.intensity:.1f})")
        self._preload_around(index)
        return True

    def step(self, delta: int) -> None:
        """Move ``delta`` looks along the list, skipping any that fail to load."""
        for attempt in range(1, len(self.looks)):
            if self.select(self.index + delta * attempt):
                return

    def close(self) -> None:
        """Stop building looks in the background (a native call must not outlive the process)."""
        self._closing.set()
        if self._preloader is not None:
            self._preloader.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "LookSwitcher":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def next(self) -> None:
        self.step(+1)

    def previous(self) -> None:
        self.step(-1)

    def stronger(self) -> None:
        self.intensity = self.intensity + INTENSITY_STEP
        self.report(f"look: {self.title} (intensity {self.intensity:.1f})")

    def weaker(self) -> None:
        self.intensity = self.intensity - INTENSITY_STEP
        self.report(f"look: {self.title} (intensity {self.intensity:.1f})")

    def paint(self, image: np.ndarray, faces: tuple[Face, ...]) -> np.ndarray:
        return self.renderer.paint(image, faces)

    def __call__(self, image: np.ndarray, faces: tuple[Face, ...]) -> np.ndarray:
        return self.renderer(image, faces)
