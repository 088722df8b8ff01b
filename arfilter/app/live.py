"""A live session, built from one ``EventConfig``: ``arfilter run`` and ``arfilter kiosk``.

    source -> tracker -> stabiliser -> look -> (mirror) -> presenter -> sink
                                         ^                    ^
                                     controls  <-  keys, control panel, rotation timer

Only the source, tracker, sink and control server touch devices or sockets;
everything between is pure per-frame work. The session ends when the source
ends or the sink is closed (q in the preview; the kiosk only on Esc held or
its PIN) or on Ctrl+C / SIGTERM; everything opened is closed in reverse order.
"""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Callable, Iterable, Iterator

from arfilter.settings.config import EventConfig, LooksConfig
from arfilter.session.controls import Controls
from arfilter.core.errors import ArfilterError
from arfilter.session.stats import RunStats
from arfilter.core.types import Frame


def _say(line: str) -> None:
    print(f"arfilter: {line}", file=sys.stderr)


def realtime(frames: Iterable[Frame]) -> Iterator[Frame]:
    """Hand out file frames at their own timestamps, for live sinks."""
    start = time.monotonic()
    for frame in frames:
        delay = start + frame.timestamp - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield frame


def make_switcher(model_path: Path, looks: LooksConfig, report: Callable[[str], None] = _say):
    """The looks to go through (the rotation, else every installed one), starting at ``looks.start``."""
    from arfilter.render.looks import LookSwitcher
    from arfilter.tracking.mesh import load_canonical_mesh
    from arfilter.render.packs import list_overlays, resolve_overlay

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


def _open_sink(config: EventConfig, kiosk: bool, controls: Controls):
    from arfilter.io.sinks import open_sink

    if kiosk:
        from arfilter.operator.kiosk import KioskWindowSink, QuitGuard

        guard = QuitGuard(hold_s=config.kiosk.quit_hold, pin=config.kiosk.quit_pin)
        sink = KioskWindowSink(guard, fullscreen=config.kiosk.fullscreen, hide_cursor=config.kiosk.hide_cursor,
                               on_key=controls.handle_key)
        _say(f"kiosk: {guard.hint}")
        return sink
    try:
        return open_sink(config.sink, size=config.size, fps=config.fps, device=config.device,
                         backend=config.backend, on_key=controls.handle_key)
    except ArfilterError as exc:
        if config.sink != "virtualcam" or config.fallback != "preview":
            raise
        _say(str(exc))
        _say("showing a preview window instead (fallback = preview)")
        return open_sink("window", on_key=controls.handle_key)


def run_session(config: EventConfig, *, kiosk: bool = False, smoother=None,
                on_frame: Callable | None = None, stats: RunStats | None = None) -> RunStats:
    """Run a live session until it is stopped; returns its stats."""
    from arfilter.tracking.model import resolve_model
    from arfilter.session.loop import run_pipeline
    from arfilter.session.present import Presenter
    from arfilter.io.sinks import WindowSink
    from arfilter.io.sources import open_source
    from arfilter.tracking.tracker import FaceTracker, TrackerOptions

    stats = stats or RunStats()
    # --- heartbeat for arfilter.ops.supervisor (a no-op unless supervised): every frame sent beats ---
    from arfilter.ops.supervisor import Heartbeat

    heartbeat = Heartbeat.from_env()
    on_frame = heartbeat.chain(on_frame)
    # --- end heartbeat ---
    with ExitStack() as stack:
        model_path = resolve_model(config.model, progress=sys.stderr)
        tracker = stack.enter_context(FaceTracker(TrackerOptions(model_path=model_path, max_faces=config.max_faces)))
        looks = stack.enter_context(make_switcher(model_path, config.looks))
        controls = Controls(looks, captions=config.controls.captions, stats=config.controls.stats)
        screen = None
        if kiosk:
            from arfilter.operator.kiosk import KioskScreen, hex_to_bgr

            screen = KioskScreen(config.kiosk, hex_to_bgr(config.campaign.bar_color), font=config.campaign.font)
        presenter = Presenter(controls, _campaign_layer(config), screen, rotate_every=config.looks.rotate_every)
        source = stack.enter_context(open_source(config.source, size=config.size, fps=config.fps, repeat_images=None))
        sink = stack.enter_context(_open_sink(config, kiosk, controls))
        if config.controls.web:
            from arfilter.operator.webcontrol import ControlServer, parse_control_address

            host, port = parse_control_address(config.controls.web)
            server = stack.enter_context(ControlServer(controls, host=host, port=port,
                                                       token=config.controls.token or None))
            _say(f"control panel: {server.link}")
        frames: Iterable[Frame] = source
        if not source.live and (kiosk or config.sink in ("virtualcam", "window")):
            frames = realtime(source)
        _say(f"{source.name} -> {sink.name}, look: {looks.title}; press Ctrl+C to stop")
        if getattr(sink, "crash_safe", True) is False and source.live:
            _say(f"{sink.name} is finished when arfilter stops; a crash or power cut would lose it "
                 "(record to .avi to keep everything up to the last second)")
        if isinstance(sink, WindowSink) and not kiosk:
            _say("keys: n/p look, +/- intensity, b privacy curtain, c captions, s stats, m mirror, q quit")
        render = looks.paint if source.fresh_frames else looks
        lost: ArfilterError | None = None
        try:
            run_pipeline(frames, tracker, render, sink, mirror=config.mirror or kiosk, stats=stats,
                         smoother=smoother, on_frame=on_frame, controls=controls, present=presenter)
        except KeyboardInterrupt:
            pass
        except ArfilterError as exc:
            if not kiosk or sink.stopped:
                raise
            lost = exc  # the kiosk stays up, showing the card, until it is told to quit
        stats.finish()
        if source.live:
            stats.dropped_frames = int(getattr(source, "dropped", 0))
        if kiosk and not sink.stopped:
            _hold_card(sink, config, lost, heartbeat.beat)
    return stats


def _hold_card(sink, config: EventConfig, lost: ArfilterError | None, beat: Callable[[], None] = lambda: None) -> None:
    """The kiosk's source ended or was lost: show the card (never the last visitor) until quit."""
    from arfilter.draw.cards import camera_unavailable_card

    _say(f"{lost}; showing the 'camera unavailable' card" if lost else
         "the source ended; showing the 'camera unavailable' card")
    card = camera_unavailable_card(config.size)
    try:
        while not sink.stopped:
            sink.send(card)
            beat()  # the card is alive too (supervisor heartbeat)
            time.sleep(1.0 / config.fps)
    except KeyboardInterrupt:
        pass
