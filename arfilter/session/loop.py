"""The loop, top to bottom::

    for frame in source:
        faces = stabilise(frame, track(frame))
        sink.send(present(render(frame.image, faces), faces, figures))

Every stage is a small Protocol with frozen values between them (``Frame``,
``Face``, ``LiveFigures``); this module imports no operator, kiosk, web,
campaign or shader code (tests/test_layers.py checks), so it can be read,
tested and timed on its own. It times every stage and never lets one bad
frame end a live session: a frame the tracker or renderer cannot handle is
passed through unchanged and counted. Sink errors (the virtual-camera driver
gone, a full disk) do end the run, with the sink's own one-line message.
The operator's changes come in between frames (``Operator.apply``), like
events on a bus, never through the frames.
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path
from typing import Callable, Iterable, Protocol

import numpy as np

from arfilter.core.errors import ArfilterError
from arfilter.core.types import Face, Frame
from arfilter.session.figures import LiveFigures
from arfilter.session.stats import LiveMeter, RunStats


class Track(Protocol):
    """Frame -> the faces in it (the tracker; touches the model)."""

    def __call__(self, frame: Frame) -> tuple[Face, ...]: ...


class Stabilise(Protocol):
    """Identity, smoothing, fades (``tracking.stabilize.FaceStabilizer``)."""

    def __call__(self, frame: Frame, faces: tuple[Face, ...]) -> tuple[Face, ...]: ...


class Render(Protocol):
    """The look painted on the faces: a new image."""

    def __call__(self, image: np.ndarray, faces: tuple[Face, ...]) -> np.ndarray: ...


class Present(Protocol):
    """Curtain, mirror, kiosk screen, captions, readout (``session.present.Presenter``)."""

    def __call__(self, output: np.ndarray, faces: tuple[Face, ...], figures: LiveFigures) -> np.ndarray: ...

    def card(self, image: np.ndarray) -> np.ndarray: ...


class Sink(Protocol):
    """Where finished frames go (``io.sinks``); ``stopped`` once it asks to end the run."""

    stopped: bool

    def send(self, image: np.ndarray) -> None: ...


class Operator(Protocol):
    """The live controls' side of the loop (``session.controls.Controls``)."""

    def apply(self) -> None: ...

    def publish(self, output: np.ndarray, figures: LiveFigures) -> None: ...


OnFrame = Callable[[Frame, tuple[Face, ...], np.ndarray], None]


def _failure(exc: BaseException) -> str:
    """An exception's type and where it was raised, never its message: a message can hold
    the frame's pixels (numpy puts arrays in them), and logs must never carry a face."""
    where = traceback.extract_tb(exc.__traceback__)[-1:]
    if not where:
        return type(exc).__name__
    return f"{type(exc).__name__} in {Path(where[0].filename).name}:{where[0].lineno}"


def _no_faces(frame: Frame, faces: tuple[Face, ...]) -> tuple[Face, ...]:
    return faces


def _paint(frame: Frame, tracker: Track, stabilise: Stabilise, render: Render, stats: RunStats, start: float,
           warn: Callable[[str], None] | None) -> tuple[tuple[Face, ...], np.ndarray]:
    """track -> stabilise -> render one frame, timed; a frame that fails is passed through unchanged
    and counted (``warn`` is given until the first one failed: one line per run, not per frame)."""
    clock = time.perf_counter
    try:
        faces = tracker(frame)
        t_tracked = clock()
        faces = stabilise(frame, faces)
        t_smoothed = clock()
        output = render(frame.image, faces)
        stats.add("track", t_tracked - start)
        stats.add("smooth", t_smoothed - t_tracked)
        stats.add("render", clock() - t_smoothed)
        return faces, output
    except ArfilterError:
        raise
    except Exception as exc:  # one bad frame must not end a live session
        stats.bad_frames += 1
        if warn is not None:
            warn(f"arfilter: frame {frame.index} could not be processed ({_failure(exc)}); "
                 "passing such frames through unchanged")
        return (), frame.image


def _figures(meter: LiveMeter, stats: RunStats, faces: int, dropped: int) -> LiveFigures:
    return LiveFigures(fps=meter.fps, latency_ms=meter.latency_ms, faces=faces, frames=stats.frames, dropped=dropped,
                       bad_frames=stats.bad_frames, uptime_s=meter.uptime_s)


def run_pipeline(source: Iterable[Frame], tracker: Track, render: Render, sink: Sink, *,
                 smoother: Stabilise | None = None, stats: RunStats | None = None, on_frame: OnFrame | None = None,
                 warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
                 controls: Operator | None = None, present: Present | None = None,
                 stop: Callable[[], bool] = lambda: False) -> RunStats:
    """Run until the source ends or the sink asks to stop; returns the stats. ``controls``: the
    operator's settings, applied between frames, where each sent frame and the figures are published.
    ``present``: the last step on the finished frame (it alone mirrors, before any text). ``stop``: asked
    between frames; True ends the run as Ctrl+C does (a SIGTERM raised inside a finaliser is lost)."""
    stats = stats or RunStats()
    stabilise = smoother or _no_faces
    clock = time.perf_counter
    meter = LiveMeter()
    live = bool(getattr(source, "live", False))
    frames = iter(source)
    figures = LiveFigures()
    while not stop():
        if controls is not None:
            controls.apply()
        t0 = clock()
        frame = next(frames, None)
        if frame is None:
            break
        t1 = clock()
        stats.add("capture", max(t1 - t0, frame.decode_s))  # a file's decoding runs ahead on its own thread
        if frame.placeholder:  # the source's "camera unavailable" card: never tracked
            output = frame.image if present is None else present.card(frame.image)
            stats.placeholders += 1
            faces: tuple[Face, ...] = ()
        else:
            faces, output = _paint(frame, tracker, stabilise, render, stats, t1, warn if not stats.bad_frames else None)
            t3 = clock()
            if present is not None:
                output = present(output, faces, figures)
        sink.send(output)
        if not frame.placeholder:
            stats.add("sink", clock() - t3)
            stats.frames += 1
            stats.frames_with_face += bool(faces)
            stats.faces_drawn += len(faces)
            if controls is not None or present is not None:  # only an operator or a readout needs the figures
                # Latency: from the camera's capture (live: timestamps are monotonic) or from the read.
                meter.sent(time.monotonic() - frame.timestamp if live else clock() - t0)
                figures = _figures(meter, stats, len(faces), int(getattr(source, "dropped", 0) or 0))
        if controls is not None:
            controls.publish(output, figures)
        if on_frame is not None:  # a placeholder too: the session is alive (the supervisor's heartbeat)
            on_frame(frame, faces, output)
        if sink.stopped:
            break
    dropped = getattr(source, "dropped", None)
    if live and dropped is not None:
        stats.dropped_frames = int(dropped)
    stats.finish()
    return stats
