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

The landmark model is the one stage that takes long (12-15 ms at 720p) and it
runs in native code without Python's lock, so it gets a thread of its own
("arfilter-track") that reads and tracks frame N while this thread
stabilises, renders, presents and sends frame N-1: on two cores everything
else hides behind the model. The tracker takes the next frame only once the
loop has taken the last one (one frame ahead, never more), so a camera's
newest frame is read when there is room for it and no lag builds up, and a
file's frames all come through, in order. Everything but tracking and
reading stays on the caller's thread, in order: the stabiliser's state, the
sinks (a preview window must be drawn from it) and the stats.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Protocol

import numpy as np

from arfilter.core.errors import ArfilterError
from arfilter.core.types import Face, Frame
from arfilter.session.figures import LiveFigures
from arfilter.session.stats import LiveMeter, RunStats

# How long the end of a run waits for the tracker's thread. A read returns within a frame period
# (a lost camera sends its card after 1 s); only a camera's very first frame may take longer (up
# to its open timeout): then the thread, a daemon, ends when the source's owner closes the source,
# right after the run, instead of Ctrl+C waiting for it.
JOIN_S = 3.0


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


@dataclass(frozen=True)
class Tracked:
    """One frame as the tracker hands it over: its faces, or why tracking failed, and when it was
    read (``perf_counter`` seconds, the same clock on every thread)."""

    frame: Frame
    faces: tuple[Face, ...]
    failure: Exception | None
    read_at: float
    read_s: float
    track_s: float


def _failure(exc: BaseException) -> str:
    """An exception's type and where it was raised, and the same of the one it came from (a library's
    ``SystemError`` names the error a native call left behind only as its cause), never a message: a
    message can hold the frame's pixels (numpy puts arrays in them), and logs must never carry a face."""
    said = []
    while exc is not None and len(said) < 2:
        where = traceback.extract_tb(exc.__traceback__)[-1:]
        name = type(exc).__name__
        said.append(f"{name} in {Path(where[0].filename).name}:{where[0].lineno}" if where else name)
        exc = exc.__cause__ or exc.__context__
    return ", from ".join(said)


def _no_faces(frame: Frame, faces: tuple[Face, ...]) -> tuple[Face, ...]:
    return faces


def _read(frames: Iterator[Frame]) -> tuple[Frame, float, float] | None:
    """The next frame, when its read began and how long it took; None at the source's end."""
    started = time.perf_counter()
    frame = next(frames, None)
    return None if frame is None else (frame, started, time.perf_counter() - started)


def _track(read: tuple[Frame, float, float], tracker: Track) -> Tracked:
    """Track one frame read; a placeholder card is never tracked, and a frame the tracker cannot
    handle comes back with its failure (a user error, ``ArfilterError``, ends the run)."""
    frame, read_at, read_s = read
    if frame.placeholder:
        return Tracked(frame, (), None, read_at, read_s, 0.0)
    started = time.perf_counter()
    try:
        faces, failure = tracker(frame), None
    except ArfilterError:
        raise
    except Exception as exc:  # one bad frame must not end a live session
        faces, failure = (), exc
    return Tracked(frame, faces, failure, read_at, read_s, time.perf_counter() - started)


class TrackInline:
    """Read and track on the caller's thread, one stage after another (``pipelined=False``)."""

    def __init__(self, frames: Iterator[Frame], tracker: Track) -> None:
        self.frames, self.tracker = frames, tracker

    def next(self) -> Tracked | None:
        read = _read(self.frames)
        return None if read is None else _track(read, self.tracker)

    def close(self) -> None:
        pass


class TrackAhead:
    """Read and track on a thread of their own, one frame ahead of the caller.

    The thread takes a turn (``_turn``) before each read: the first is free, every other one
    is given when the caller takes a frame, so it never holds more than one finished frame
    and never reads a camera's frame before there is room for it. Whatever ends the thread (the
    source's end, an error from the source or the tracker), the caller's next ``next`` learns
    it, with the error's own class; ``close`` ends and joins the thread from any state.
    """

    def __init__(self, frames: Iterator[Frame], tracker: Track) -> None:
        self.frames, self.tracker = frames, tracker
        self._ready: queue.SimpleQueue = queue.SimpleQueue()
        self._turns = threading.Semaphore(1)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="arfilter-track", daemon=True)
        self.thread.start()

    def _turn(self) -> bool:
        """Wait for the caller to take the last frame; False once the run ends."""
        while not self._stop.is_set():
            if self._turns.acquire(timeout=0.1):
                return not self._stop.is_set()
        return False

    def _run(self) -> None:
        try:
            while self._turn():
                read = _read(self.frames)
                if read is None or self._stop.is_set():  # never track after the run ended
                    break
                self._ready.put(_track(read, self.tracker))
        except BaseException as exc:  # the source's or the tracker's error, raised by the caller's next()
            self._ready.put(exc)
        finally:
            self._ready.put(None)

    def next(self) -> Tracked | None:
        """The next tracked frame, in order; None at the end; the thread's error raised here."""
        while True:
            try:  # woken now and then: Ctrl+C is seen at once, whichever thread the signal reached
                item = self._ready.get(timeout=0.1)
                break
            except queue.Empty:
                continue
        if isinstance(item, BaseException):
            raise item
        if item is not None:
            self._turns.release()  # room for one more: the thread reads and tracks it meanwhile
        return item

    def close(self) -> None:
        self._stop.set()
        self._turns.release()  # wake a thread waiting for its turn at once
        if self.thread is not threading.current_thread():
            self.thread.join(timeout=JOIN_S)


def _paint(tracked: Tracked, stabilise: Stabilise, render: Render, stats: RunStats,
           warn: Callable[[str], None] | None) -> tuple[tuple[Face, ...], np.ndarray]:
    """stabilise -> render one tracked frame, timed; a frame that fails (here or in the tracker) is passed
    through unchanged and counted (``warn`` is given until the first one failed: one line per run)."""
    clock, cpu_clock = time.perf_counter, time.thread_time
    frame, failure = tracked.frame, tracked.failure
    if failure is None:
        try:
            started = clock()
            faces = stabilise(frame, tracked.faces)
            smoothed, cpu_started = clock(), cpu_clock()
            output = render(frame.image, faces)
            stats.add("track", tracked.track_s)
            stats.add("smooth", smoothed - started)
            stats.add("render", clock() - smoothed)
            stats.add_cpu("render", cpu_clock() - cpu_started)
            return faces, output
        except ArfilterError:
            raise
        except Exception as exc:  # one bad frame must not end a live session
            failure = exc
    stats.bad_frames += 1
    if warn is not None:
        warn(f"arfilter: frame {frame.index} could not be processed ({_failure(failure)}); "
             "passing such frames through unchanged")
    return (), frame.image


def _figures(meter: LiveMeter, stats: RunStats, faces: int, dropped: int) -> LiveFigures:
    return LiveFigures(fps=meter.fps, latency_ms=meter.latency_ms, faces=faces, frames=stats.frames, dropped=dropped,
                       bad_frames=stats.bad_frames, uptime_s=meter.uptime_s)


def run_pipeline(source: Iterable[Frame], tracker: Track, render: Render, sink: Sink, *,
                 smoother: Stabilise | None = None, stats: RunStats | None = None, on_frame: OnFrame | None = None,
                 warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
                 controls: Operator | None = None, present: Present | None = None,
                 stop: Callable[[], bool] = lambda: False, showing: Callable[[Frame], None] | None = None,
                 pipelined: bool = True) -> RunStats:
    """Run until the source ends or the sink asks to stop; returns the stats. ``controls``: the
    operator's settings, applied between frames, where each sent frame and the figures are published.
    ``present``: the last step on the finished frame (it alone mirrors, before any text). ``stop``: asked
    between frames; True ends the run (a SIGTERM raised inside a finaliser is lost; a command writing a
    file then stops as Ctrl+C does: ``cli.stopping``).
    ``showing``: told of each frame on this thread as its turn comes, before it is stabilised: the source
    (and whatever wraps it) is read a frame ahead on the tracker's thread, so state that follows the
    frame being shown (the presenter's clock) is set here. ``pipelined=False``: track on this thread too,
    one stage after another (the same output; for comparing and timing)."""
    stats = stats or RunStats()
    if not stats.frames:  # the throughput counts from here, not from loading the model and opening devices
        stats.started = time.perf_counter()
    frames = iter(source)
    ahead = TrackAhead(frames, tracker) if pipelined else TrackInline(frames, tracker)
    try:
        _loop(ahead, source, render, sink, stats, smoother or _no_faces, on_frame, warn, controls, present, stop,
              showing)
    finally:
        ahead.close()
    dropped = getattr(source, "dropped", None)
    if bool(getattr(source, "live", False)) and dropped is not None:
        stats.dropped_frames = int(dropped)
    stats.finish()
    return stats


def _loop(ahead: TrackAhead | TrackInline, source: Iterable[Frame], render: Render, sink: Sink, stats: RunStats,
          stabilise: Stabilise, on_frame: OnFrame | None, warn: Callable[[str], None], controls: Operator | None,
          present: Present | None, stop: Callable[[], bool], showing: Callable[[Frame], None] | None) -> None:
    """Frames in order from ``ahead``, each stabilised, rendered, presented, sent and counted."""
    clock = time.perf_counter
    meter = LiveMeter()
    live = bool(getattr(source, "live", False))
    figures = LiveFigures()
    while not stop():
        if controls is not None:
            controls.apply()
        tracked = ahead.next()
        if tracked is None:
            break
        frame = tracked.frame
        if showing is not None:
            showing(frame)
        stats.add("capture", max(tracked.read_s, frame.decode_s))  # a file's decoding runs ahead on its own thread
        if frame.placeholder:  # the source's "camera unavailable" card: never tracked
            output = frame.image if present is None else present.card(frame.image)
            stats.placeholders += 1
            faces: tuple[Face, ...] = ()
        else:
            faces, output = _paint(tracked, stabilise, render, stats, warn if not stats.bad_frames else None)
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
                meter.sent(time.monotonic() - frame.timestamp if live else clock() - tracked.read_at)
                figures = _figures(meter, stats, len(faces), int(getattr(source, "dropped", 0) or 0))
        if controls is not None:
            controls.publish(output, figures)
        if on_frame is not None:  # a placeholder too: the session is alive (the supervisor's heartbeat)
            on_frame(frame, faces, output)
        if sink.stopped:
            break
