"""The composition root: one ``EventConfig`` in, one running live session out.

    source -> track -> stabilise -> render (the look) -> present -> sink
                                        ^                   ^
                                    controls  <-  keys, control panel, rotation timer

``build_session`` is the one place that turns settings into stages (the
stabiliser too, also for ``apply`` and ``demo`` through ``build_stabiliser``);
``run_session`` runs them with ``session.loop.run_pipeline``. Only the
source, tracker, sink and control server touch devices or sockets; the
session ends when the source ends or the sink is closed (q in the preview;
the kiosk only on Esc held or its PIN) or on Ctrl+C / SIGTERM, and everything
opened is closed in reverse order.
"""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

from arfilter.core.errors import ArfilterError
from arfilter.core.limits import KEY_HINT
from arfilter.core.types import Frame
from arfilter.session.controls import Controls
from arfilter.session.stats import RunStats
from arfilter.settings.config import EventConfig, LooksConfig, TrackingConfig
from arfilter.settings.preflight import from_file, panel_names, preflight


def _say(line: str) -> None:
    print(f"arfilter: {line}", file=sys.stderr)


@contextmanager
def named(config: EventConfig, *keys: str) -> Iterator[None]:
    """A problem with a value from the event file names the file and key (``event.toml: looks.start:``);
    one from a flag already names what the user typed. The error keeps its class, so its exit code."""
    try:
        yield
    except ArfilterError as exc:
        origin = next(filter(None, map(config.origin, keys)), None)
        if origin is None or config.path is None or not origin.startswith(f"{config.path}:"):
            raise  # a default, a flag or the environment: the message already names what was typed
        raise type(exc)(f"{origin}: {exc}") from exc


def realtime(frames: Iterable[Frame], clock: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], None] = time.sleep) -> Iterator[Frame]:
    """Hand out file frames at their own timestamps, for live sinks."""
    start = clock()
    for frame in frames:
        delay = start + frame.timestamp - clock()
        if delay > 0:
            sleep(delay)
        yield frame


def build_stabiliser(tracking: TrackingConfig, max_faces: int):
    """Identity, dropouts and fades always; our smoothing unless switched off.

    With one face MediaPipe already smooths its landmarks (a One Euro filter
    in its graph); with two or more it does not, so ours takes over there.
    """
    from arfilter.tracking.smoothing import SmoothingOptions
    from arfilter.tracking.stabilize import FaceStabilizer, StabilizerOptions

    smoothing = SmoothingOptions(enabled=tracking.smoothing and max_faces > 1)
    smoothing = replace(smoothing, min_cutoff=tracking.smooth_min_cutoff, beta=tracking.smooth_beta)
    return FaceStabilizer(StabilizerOptions(smoothing=smoothing))


def open_recorder(path: str | None, stack: ExitStack):
    """The landmarks recorder (closed, so saved, when ``stack`` ends), or None."""
    if not path:
        return None
    from arfilter.io.recording import LandmarkRecorder

    return stack.enter_context(LandmarkRecorder(path))


def make_switcher(model_path: Path, looks: LooksConfig, report: Callable[[str], None] = _say):
    """The looks to go through (the rotation, else every installed one), starting at ``looks.start``."""
    from arfilter.render.looks import LookSwitcher
    from arfilter.render.packs import list_overlays, resolve_overlay
    from arfilter.tracking.mesh import load_canonical_mesh

    folder = resolve_overlay(looks.start)
    folders = [resolve_overlay(name) for name in looks.rotation] or list(list_overlays().values())
    if folder not in folders:
        folders.insert(0, folder)
    return LookSwitcher(load_canonical_mesh(model_path), folders, start=folders.index(folder),
                        intensity=looks.intensity, report=report)


def _campaign_layer(config: EventConfig):
    from arfilter.operator.campaign import CampaignLayer

    campaign = config.campaign
    if not (campaign.caption or campaign.helpline or campaign.qr_url or campaign.logo):
        return None
    return CampaignLayer(campaign)


def _open_sink(config: EventConfig, kiosk: bool, controls: Controls, source):
    """The kiosk's screen, or the sink named in ``config``. A recording of a camera is a live one
    (it survives a crash, never replaces a file); one of a file is written like ``apply``'s output,
    at the file's frame rate and with its sound."""
    from arfilter.io.sinks import open_sink

    if kiosk:
        from arfilter.operator.kiosk import KioskWindowSink, QuitGuard

        guard = QuitGuard(hold_s=config.kiosk.quit_hold, pin=config.kiosk.quit_pin)
        sink = KioskWindowSink(guard, fullscreen=config.kiosk.fullscreen, hide_cursor=config.kiosk.hide_cursor,
                               on_key=controls.handle_key)
        _say(f"kiosk: {guard.hint}")
        return sink
    try:
        from arfilter.io.files import VideoFileSource

        video = isinstance(source, VideoFileSource)
        return open_sink(config.sink, size=config.size, fps=source.fps if video else config.fps,
                         device=config.device, backend=config.backend, on_key=controls.handle_key,
                         live=source.live, audio_from=source.path if video else None)
    except ArfilterError as exc:
        if config.sink != "virtualcam" or config.fallback != "preview":
            raise
        _say(str(exc))
        _say("showing a preview window instead (fallback = preview)")
        return open_sink("window", on_key=controls.handle_key)


@dataclass
class LiveSession:
    """Every stage of one live session, built and opened (closed by the stack given to ``build_session``)."""

    config: EventConfig
    kiosk: bool
    source: object
    tracker: object
    stabiliser: object
    looks: object
    controls: Controls
    presenter: object
    sink: object
    on_frame: Callable | None
    beat: Callable[[], None]

    clock: MediaClock

    @property
    def frames(self) -> Iterable[Frame]:
        """Files play at their own rate when someone watches; cameras hand over the newest frame.
        Either way the presenter's clock reads each frame's own time."""
        live_sink = self.kiosk or self.config.sink in ("virtualcam", "window")
        frames = realtime(self.source) if not self.source.live and live_sink else self.source
        if not self.source.live and hasattr(self.sink, "follow"):  # a file's skipped frames keep the timing
            frames = self.sink.follow(frames)
        return frames  # the loop tells the clock (run_pipeline's showing): it reads a frame ahead


class MediaClock:
    """The time of the frame being shown: a file's own seconds (so ``rotate_every = 2`` shows each
    look for two seconds of the file, however fast it is processed), a camera's capture time."""

    def __init__(self) -> None:
        self.now: float | None = None

    def watch(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        for frame in frames:
            self.show(frame)
            yield frame

    def show(self, frame: Frame) -> None:
        """``frame`` is the one being shown now (``run_pipeline``'s ``showing``)."""
        self.now = frame.timestamp

    def __call__(self) -> float | None:
        return self.now


def build_session(config: EventConfig, stack: ExitStack, *, kiosk: bool = False,
                  on_frame: Callable | None = None) -> LiveSession:
    """Open every stage of a live session described by ``config`` (closed when ``stack`` ends).

    The pre-flight comes first: what ``arfilter config`` would find stops the start before anything opens."""
    from arfilter.io.sources import open_source
    from arfilter.ops.heartbeat import Heartbeat
    from arfilter.session.present import Presenter
    from arfilter.tracking.model import resolve_model
    from arfilter.tracking.tracker import FaceTracker, TrackerOptions

    preflight(config, kiosk=kiosk)
    heartbeat = Heartbeat.from_env()  # a no-op unless supervised: every frame sent beats
    with named(config, "landmarks_out"):
        recorder = open_recorder(config.landmarks_out, stack)
    on_frame = heartbeat.chain(_both(recorder, on_frame))
    with named(config, "model"):
        model_path = resolve_model(config.model, progress=sys.stderr)
    tracker = stack.enter_context(FaceTracker(TrackerOptions(
        model_path=model_path, max_faces=config.max_faces, delegate=config.tracking.delegate,
        delegate_named=config.origin("tracking.delegate") if from_file(config, "tracking.delegate") else "")))
    with named(config, "looks.start", "looks.rotation"):
        looks = stack.enter_context(make_switcher(model_path, config.looks))
    controls = Controls(looks, captions=config.controls.captions, stats=config.controls.stats,
                        mirror=config.mirror or kiosk)
    screen = None
    if kiosk:
        from arfilter.operator.kiosk import KioskScreen, hex_to_bgr

        screen = KioskScreen(config.kiosk, hex_to_bgr(config.campaign.bar_color), font=config.campaign.font)
    clock = MediaClock()
    presenter = Presenter(controls, _campaign_layer(config), screen, rotate_every=config.looks.rotate_every,
                          clock=clock)
    with named(config, "source"):
        source = stack.enter_context(open_source(config.source, size=config.size, fps=config.fps, repeat_images=None))
    source.prepare = tracker.prepare  # a file's decode thread or a camera's capture thread makes the model's input
    with named(config, "sink"):
        sink = stack.enter_context(_open_sink(config, kiosk, controls, source))
    if config.controls.web:
        _serve_panel(config, controls, stack)
    return LiveSession(config, kiosk, source, tracker, build_stabiliser(config.tracking, config.max_faces), looks,
                       controls, presenter, sink, on_frame, heartbeat.beat, clock)


def _serve_panel(config: EventConfig, controls: Controls, stack: ExitStack) -> None:
    from arfilter.operator.webcontrol import ControlServer, parse_control_address

    where, token_where = panel_names(config)
    host, port = parse_control_address(config.controls.web, where)
    server = stack.enter_context(ControlServer(controls, host=host, port=port, token=config.controls.token or None,
                                               where=where, token_where=token_where))
    _say(f"control panel: {server.link}")


def _both(first: Callable | None, second: Callable | None) -> Callable | None:
    if first is None or second is None:
        return first or second
    return lambda *args: (first(*args), second(*args))


def run_session(config: EventConfig, *, kiosk: bool = False, on_frame: Callable | None = None,
                stats: RunStats | None = None, stop: Callable[[], bool] = lambda: False) -> RunStats:
    """Run a live session until it is stopped (the sink, the source's end, Ctrl+C, or ``stop()``)."""
    from arfilter.io.sinks import WindowSink
    from arfilter.session.loop import run_pipeline

    stats = stats or RunStats()
    with ExitStack() as stack:
        session = build_session(config, stack, kiosk=kiosk, on_frame=on_frame)
        source, sink, looks = session.source, session.sink, session.looks
        _say(f"{source.name} -> {sink.name}, look: {looks.title}; press Ctrl+C to stop")
        if getattr(sink, "crash_safe", True) is False and source.live:
            _say(f"{sink.name} is finished when arfilter stops; a crash or power cut would lose it "
                 "(record to .mp4 or .avi to keep everything up to the last second)")
        if isinstance(sink, WindowSink) and not kiosk:
            _say(f"keys: {KEY_HINT}")
        render = looks.paint if source.fresh_frames else looks
        lost: ArfilterError | None = None
        try:
            run_pipeline(session.frames, session.tracker, render, sink, stats=stats, smoother=session.stabiliser,
                         on_frame=session.on_frame, controls=session.controls, present=session.presenter,
                         stop=stop, showing=session.clock.show)
        except KeyboardInterrupt:
            pass
        except ArfilterError as exc:
            if not kiosk or sink.stopped:
                raise
            lost = exc  # the kiosk stays up, showing the card, until it is told to quit
        stats.finish()
        if source.live:
            stats.dropped_frames = int(getattr(source, "dropped", 0))
        if kiosk and not sink.stopped and not stop():
            _hold_card(sink, config, lost, session.beat, stop)
    return stats


def _hold_card(sink, config: EventConfig, lost: ArfilterError | None, beat: Callable[[], None] = lambda: None,
               stop: Callable[[], bool] = lambda: False) -> None:
    """The kiosk's source ended or was lost: show the card (never the last visitor) until quit."""
    from arfilter.draw.cards import camera_unavailable_card

    _say(f"{lost}; showing the 'camera unavailable' card" if lost else
         "the source ended; showing the 'camera unavailable' card")
    card = camera_unavailable_card(config.size)
    try:
        while not sink.stopped and not stop():
            sink.send(card)
            beat()  # the card is alive too (supervisor heartbeat)
            time.sleep(1.0 / config.fps)
    except KeyboardInterrupt:
        pass
