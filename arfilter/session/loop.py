"""The loop: ``for frame in source: faces = smoother(frame, tracker(frame)); sink.send(render(frame, faces))``.

It times every stage and never lets one bad frame end a live session: a frame
the tracker or renderer cannot handle is passed through unchanged and counted.
Sink errors (the virtual-camera driver gone, a full disk) do end the run,
with the sink's own one-line message.
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path
from typing import Callable, Iterable, Protocol

import numpy as np

from arfilter.session.controls import Controls, LiveFigures
from arfilter.core.errors import ArfilterError
from arfilter.core.framing import mirror as mirror_image
from arfilter.session.present import blank
from arfilter.io.sinks import Sink
from arfilter.session.stats import LiveMeter, RunStats
from arfilter.core.types import Face, Frame


def _failure(exc: BaseException) -> str:
    """An exception's type and where it was raised, never its message: a message can hold
    the frame's pixels (numpy puts arrays in them), and logs must never carry a face."""
    where = traceback.extract_tb(exc.__traceback__)[-1:]
    if not where:
        return type(exc).__name__
    return f"{type(exc).__name__} in {Path(where[0].filename).name}:{where[0].lineno}"


class Tracker(Protocol):
    def __call__(self, frame: Frame) -> tuple[Face, ...]: ...


class Smoother(Protocol):
    def __call__(self, frame: Frame, faces: tuple[Face, ...]) -> tuple[Face, ...]: ...


class Render(Protocol):
    def __call__(self, image: np.ndarray, faces: tuple[Face, ...]) -> np.ndarray: ...


class Present(Protocol):
    """The last step before the sink: curtain, captions, readouts (see ``present.Presenter``)."""

    def __call__(self, output: np.ndarray, faces: tuple[Face, ...], figures: LiveFigures) -> np.ndarray: ...


def run_pipeline(
    source: Iterable[Frame],
    tracker: Tracker,
    render: Render,
    sink: Sink,
    *,
    mirror: bool = False,
    smoother: Smoother | None = None,
    stats: RunStats | None = None,
    on_frame: Callable[[Frame, tuple[Face, ...], np.ndarray], None] | None = None,
    warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
    controls: Controls | None = None,
    present: Present | None = None,
) -> RunStats:
    """Run until the source ends or the sink asks to stop; returns the stats.

    ``controls``: the operator's live settings, applied between frames, and
    where each sent frame and the live figures are published. ``present``:
    drawn on the finished frame (after mirroring, so text reads the right way).
    """
    stats = stats or RunStats()
    clock = time.perf_counter
    meter = LiveMeter()
    live = bool(getattr(source, "live", False))
    frames = iter(source)
    warned = False
    figures = LiveFigures()
    while True:
        if controls is not None:
            controls.apply()
        t0 = clock()
        try:
            frame = next(frames)
        except StopIteration:
            break
        t1 = clock()
        stats.add("capture", t1 - t0)
        if frame.placeholder:  # the source's "camera unavailable" card: shown as it is
            output = blank(frame.image.shape) if controls is not None and controls.curtain else frame.image
            sink.send(output)
            stats.placeholders += 1
            if controls is not None:
                controls.publish(output, figures)
            if on_frame is not None:  # the session is alive (a supervisor's heartbeat rides on this)
                on_frame(frame, (), output)
            if sink.stopped:
                break
            continue
        try:
            faces = tracker(frame)
            t2 = clock()
            if smoother is not None:
                faces = smoother(frame, faces)
            t_smoothed = clock()
            output = render(frame.image, faces)
            t3 = clock()
            stats.add("track", t2 - t1)
            stats.add("smooth", t_smoothed - t2)
            stats.add("render", t3 - t_smoothed)
        except ArfilterError:
            raise
        except Exception as exc:  # one bad frame must not end a live session
            stats.bad_frames += 1
            if not warned:
                warn(f"arfilter: frame {frame.index} could not be processed ({_failure(exc)}); "
                     "passing such frames through unchanged")
                warned = True
            faces, output = (), frame.image
            t3 = clock()
        if mirror:
            output = mirror_image(output)
        if present is not None:
            output = present(output, faces, figures)
        sink.send(output)
        stats.add("sink", clock() - t3)
        stats.frames += 1
        stats.frames_with_face += bool(faces)
        stats.faces_drawn += len(faces)
        if controls is not None or present is not None:  # only an operator or a readout needs the figures
            # Latency: from the camera's capture (live: timestamps are monotonic) or from the read.
            meter.sent(time.monotonic() - frame.timestamp if live else clock() - t0)
            figures = LiveFigures(fps=meter.fps, latency_ms=meter.latency_ms, faces=len(faces), frames=stats.frames,
                                  dropped=int(getattr(source, "dropped", 0) or 0), bad_frames=stats.bad_frames,
                                  uptime_s=meter.uptime_s)
        if controls is not None:
            controls.publish(output, figures)
        if on_frame is not None:
            on_frame(frame, faces, output)
        if sink.stopped:
            break
    dropped = getattr(source, "dropped", None)
    if getattr(source, "live", False) and dropped is not None:
        stats.dropped_frames = int(dropped)
    stats.finish()
    return stats
