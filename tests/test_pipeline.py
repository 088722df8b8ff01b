"""The loop: one bad frame never ends a run; stats count what happened; mirroring; pacing."""

from __future__ import annotations

import time

import numpy as np
import pytest

from arfilter.app.live import realtime
from arfilter.core.errors import ArfilterError
from arfilter.session.loop import run_pipeline
from arfilter.io.sinks import NullSink
from arfilter.core.types import Face, Frame


class RecordingSink(NullSink):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[np.ndarray] = []

    def send(self, image: np.ndarray) -> None:
        super().send(image)
        self.images.append(image)


def frames(count: int) -> list[Frame]:
    return [Frame(np.full((8, 12, 3), i, np.uint8), timestamp=i / 30, index=i) for i in range(count)]


def fake_tracker(frame: Frame) -> tuple[Face, ...]:
    if frame.index == 2:
        raise ValueError("unreadable frame")
    return (Face(np.zeros((478, 3), np.float32)),) if frame.index % 2 == 0 else ()


def paint_white_left_column(image: np.ndarray, faces) -> np.ndarray:
    out = image.copy()
    if faces:
        out[:, 0] = 255
    return out


def test_a_bad_frame_is_passed_through_unchanged_and_counted():
    sink = RecordingSink()
    warnings: list[str] = []
    source = frames(6)
    stats = run_pipeline(source, fake_tracker, paint_white_left_column, sink, warn=warnings.append)
    assert stats.frames == 6 and sink.frames_sent == 6
    assert stats.bad_frames == 1 and len(warnings) == 1 and "frame 2" in warnings[0]
    np.testing.assert_array_equal(sink.images[2], source[2].image)
    assert stats.frames_with_face == 2 and stats.faces_drawn == 2  # frames 0 and 4
    assert sink.images[0][0, 0, 0] == 255 and sink.images[1][0, 0, 0] == 1


def test_every_stage_is_timed_and_reported():
    stats = run_pipeline(frames(5), lambda f: (), lambda image, faces: image, NullSink())
    report = stats.as_dict()
    for stage in ("capture", "track", "render", "sink"):
        assert report["stages"][stage]["median_ms"] >= 0
        assert report["stages"][stage]["p95_ms"] >= report["stages"][stage]["median_ms"]
    assert report["frames"] == 5 and "dropped_frames" not in report


def test_drawing_is_also_timed_on_its_threads_cpu_clock():
    """``stages_cpu.render`` is what drawing costs its own thread, without the waits for a core: a render
    that sleeps 20 ms (waiting, as for a core the model holds) takes 20 ms of wall time and almost no CPU;
    one that keeps its thread busy for 15 ms of CPU shows those 15 ms."""
    def sleeping(image: np.ndarray, faces) -> np.ndarray:
        time.sleep(0.02)
        return image

    def busy(image: np.ndarray, faces) -> np.ndarray:
        until = time.thread_time() + 0.015
        while time.thread_time() < until:
            pass
        return image

    waited = run_pipeline(frames(3), lambda f: (), sleeping, NullSink()).as_dict()
    assert waited["stages"]["render"]["median_ms"] >= 20.0
    assert waited["stages_cpu"]["render"]["median_ms"] < 5.0
    worked = run_pipeline(frames(3), lambda f: (), busy, NullSink()).as_dict()
    assert worked["stages_cpu"]["render"]["median_ms"] >= 15.0


def test_mirror_flips_the_output_left_right():
    """Mirroring has one owner, the presenter (``--mirror``, the kiosk and the m key all set it)."""
    from arfilter.session.controls import Controls
    from arfilter.session.present import Presenter

    sink = RecordingSink()
    present = Presenter(Controls(mirror=True))
    run_pipeline(frames(1), lambda f: (Face(np.zeros((478, 3), np.float32)),), paint_white_left_column, sink,
                 present=present)
    assert sink.images[0][0, -1, 0] == 255 and sink.images[0][0, 0, 0] == 0


def test_the_privacy_curtain_also_covers_the_camera_unavailable_card():
    """A lost camera's card goes out as it is, never tracked; with the curtain down, blank instead."""
    from arfilter.draw.cards import camera_unavailable_card
    from arfilter.session.controls import Controls
    from arfilter.session.present import CURTAIN_BGR, Presenter

    card = camera_unavailable_card((160, 120))
    tracked: list = []
    controls = Controls()
    present = Presenter(controls)
    placeholders = [Frame(card, timestamp=i / 30, index=i, placeholder=True) for i in range(4)]
    sink = RecordingSink()
    stats = run_pipeline(placeholders[:2], tracked.append, paint_white_left_column, sink, controls=controls,
                         present=present)
    assert np.array_equal(sink.images[0], card) and not tracked and stats.placeholders == 2
    controls.request("curtain", True)
    run_pipeline(placeholders[2:], tracked.append, paint_white_left_column, sink, controls=controls, present=present)
    assert (sink.images[-1] == CURTAIN_BGR).all() and (sink.images[-2] == CURTAIN_BGR).all()


def test_the_loop_stops_when_the_sink_says_so():
    class StopAfterTwo(NullSink):
        @property
        def stopped(self) -> bool:
            return self.frames_sent >= 2

    stats = run_pipeline(frames(10), lambda f: (), lambda image, faces: image, StopAfterTwo())
    assert stats.frames == 2


def test_user_errors_from_a_stage_end_the_run_with_their_message():
    def broken_sink_send(image):
        raise ArfilterError("virtual camera: stopped accepting frames")

    sink = NullSink()
    sink.send = broken_sink_send
    with pytest.raises(ArfilterError, match="stopped accepting"):
        run_pipeline(frames(3), lambda f: (), lambda image, faces: image, sink)


def test_realtime_plays_file_frames_at_their_own_pace():
    """Each frame waits for its own timestamp, counted from the start, on a clock the test moves."""
    now = [10.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(round(seconds, 6))
        now[0] += seconds

    out = []
    for frame in realtime(frames(7), clock=lambda: now[0], sleep=sleep):  # frames at 0, 1/30, ... 6/30 s
        out.append(frame)
        now[0] += 0.01  # the loop's own work takes 10 ms per frame, which the next wait absorbs
    assert len(out) == 7 and now[0] == pytest.approx(10.0 + 6 / 30 + 0.01)
    assert waits == [round(1 / 30 - 0.01, 6)] * 6, "no drift: each wait is what is left of the frame"
    late = []
    for frame in realtime(frames(3), clock=lambda: now[0], sleep=late.append):
        now[0] += 0.1  # slower than the frames: never waits, never sleeps a negative time
    assert late == []


def test_the_smoother_sits_between_tracker_and_renderer_and_is_timed():
    seen = []

    def smoother(frame: Frame, faces: tuple[Face, ...]) -> tuple[Face, ...]:
        return tuple(Face(face.landmarks + 1.0, face_id=7) for face in faces)

    def render(image: np.ndarray, faces) -> np.ndarray:
        seen.extend(faces)
        return image

    stats = run_pipeline(frames(6), fake_tracker, render, NullSink(), smoother=smoother)
    assert seen and all(face.face_id == 7 and face.landmarks[0, 0] == 1.0 for face in seen)
    assert stats.as_dict()["stages"]["smooth"]["median_ms"] >= 0.0


@pytest.mark.parametrize("max_faces, smoothing, enabled", [(2, "on", True), (1, "on", False), (2, "off", False)])
def test_our_filter_is_used_only_where_mediapipe_does_not_smooth(max_faces, smoothing, enabled):
    """MediaPipe smooths one face itself; two filters in a row would only add lag."""
    import argparse

    from arfilter.cli.commands import make_stabilizer

    args = argparse.Namespace(max_faces=max_faces, smoothing=smoothing, smooth_min_cutoff=0.5, smooth_beta=None)
    options = make_stabilizer(args).options.smoothing
    assert options.enabled is enabled and options.min_cutoff == 0.5 and options.beta == 500.0


def test_odd_sizes_and_a_size_change_mid_stream_are_painted_without_a_crash(model_path, mesh, portrait):
    """Real tracker, stabiliser and look on a face at 641 px wide, then 1280x720, then a tiny one."""
    import cv2

    from arfilter.render.packs import load_overlay
    from arfilter.render.renderer import Renderer
    from arfilter.tracking.stabilize import FaceStabilizer
    from arfilter.tracking.tracker import FaceTracker, TrackerOptions

    sizes = [(641, 481)] * 4 + [(1280, 720)] * 4 + [(97, 65)] * 2 + [(641, 481)] * 2
    source = [Frame(cv2.resize(portrait, size), timestamp=i / 30, index=i) for i, size in enumerate(sizes)]
    sink = RecordingSink()
    renderer = Renderer(mesh, load_overlay("black_eye_left"))
    with FaceTracker(TrackerOptions(model_path=model_path, max_faces=2)) as tracker:
        stats = run_pipeline(source, tracker, renderer, sink, smoother=FaceStabilizer())
    assert stats.bad_frames == 0 and stats.frames == len(sizes)
    assert [image.shape[:2][::-1] for image in sink.images] == sizes
    painted = [not np.array_equal(out, frame.image) for out, frame in zip(sink.images, source)]
    assert all(painted[:8]) and all(painted[10:]), "the look is on the face at every usable size"


def test_a_stop_request_between_frames_ends_the_run():
    """SIGTERM's flag: asked between frames, so a KeyboardInterrupt lost in a finaliser still stops it."""
    asked = []

    def stop() -> bool:
        asked.append(True)
        return len(asked) > 3

    sink = RecordingSink()
    stats = run_pipeline(frames(10), lambda f: (), lambda image, faces: image, sink, stop=stop)
    assert stats.frames == 3 and len(sink.images) == 3
