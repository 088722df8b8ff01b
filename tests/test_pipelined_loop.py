"""The pipelined loop: the tracker reads and tracks frame N on its own thread while frame N-1 is
stabilised, rendered, presented and sent; files lose nothing, order and output are kept, errors keep
their class, and the thread never outlives the run."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Iterator

import av
import numpy as np
import pytest

from arfilter.core.errors import ArfilterError, DeviceUnavailable
from arfilter.core.types import Face, Frame
from arfilter.io.sinks import NullSink, VideoFileSink
from arfilter.session.loop import run_pipeline
from test_pipeline import RecordingSink
from test_sources import FakeCapture

WAIT_S = 10.0  # generous: only a loop that never overlaps the two stages waits this long


def numbered(count: int | None) -> Iterator[Frame]:
    """Frames whose pixels are their index (``count`` None: until the loop stops)."""
    index = 0
    while count is None or index < count:
        yield Frame(np.full((8, 12, 3), index % 256, np.uint8), timestamp=index / 30, index=index)
        index += 1


def tracker_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "arfilter-track"]


def one_face(frame: Frame) -> tuple[Face, ...]:
    return (Face(np.zeros((478, 3), np.float32)),)


class Overlap:
    """Tracking frame N and rendering frame N-1, each waiting until the other has begun: only a loop
    that runs them at the same time gets through; a serial one waits ``WAIT_S`` at every frame."""

    def __init__(self, count: int) -> None:
        self.tracking = [threading.Event() for _ in range(count)]
        self.rendering = [threading.Event() for _ in range(count)]
        self.met: list[bool] = []

    def track(self, frame: Frame) -> tuple[Face, ...]:
        self.tracking[frame.index].set()
        if frame.index > 0:
            self.met.append(self.rendering[frame.index - 1].wait(WAIT_S))
        return ()

    def render(self, image: np.ndarray, faces) -> np.ndarray:
        index = int(image[0, 0, 0])
        self.rendering[index].set()
        if index + 1 < len(self.tracking):
            self.met.append(self.tracking[index + 1].wait(WAIT_S))
        return image


def test_tracking_frame_n_overlaps_rendering_frame_n_minus_one():
    overlap = Overlap(4)
    sink = RecordingSink()
    stats = run_pipeline(numbered(4), overlap.track, overlap.render, sink)
    assert stats.frames == 4 and stats.bad_frames == 0
    assert overlap.met == [True] * 6, "each frame's tracking ran while the one before it was rendered"
    assert not tracker_threads()


def test_a_file_loses_no_frame_and_keeps_their_order_whichever_side_is_slower(shared_media):
    """A real clip with the tracker behind (it waits for the render of the frame before), then ahead (each
    render waits for the next frame's tracking): every frame comes through, in order."""
    from arfilter.io.files import VideoFileSource

    for slow in ("track", "render"):
        tracked, rendered = defaultdict(threading.Event), defaultdict(threading.Event)
        seen: list[int] = []
        met: list[bool] = []

        def track(frame: Frame) -> tuple[Face, ...]:
            if slow == "track" and frame.index > 0:
                met.append(rendered[frame.index - 1].wait(WAIT_S))
            tracked[frame.index].set()
            return ()

        def render(image: np.ndarray, faces) -> np.ndarray:
            index = len(seen)
            if slow == "render" and index + 1 < 78:
                met.append(tracked[index + 1].wait(WAIT_S))
            rendered[index].set()
            return image

        with VideoFileSource(shared_media / "grimace_green_512.mp4") as source:
            sink = RecordingSink()
            stats = run_pipeline(source, track, render, sink, on_frame=lambda frame, faces, out: seen.append(frame.index))
        assert seen == list(range(78)) and stats.frames == 78 == len(sink.images), slow
        assert met == [True] * 77, slow
        assert not tracker_threads()


def test_pipelined_and_serial_runs_of_a_real_clip_give_the_same_output(model_path, mesh, shared_media):
    """Real faces, the real tracker, stabiliser (smoothing on: its state follows the frames' order) and look."""
    from arfilter.io.files import VideoFileSource
    from arfilter.render.packs import load_overlay
    from arfilter.render.renderer import Renderer
    from arfilter.tracking.smoothing import SmoothingOptions
    from arfilter.tracking.stabilize import FaceStabilizer, StabilizerOptions
    from arfilter.tracking.tracker import FaceTracker, TrackerOptions

    outputs = {}
    for mode in ("pipelined", "serial", "prepared"):  # prepared: the decode thread makes the model's input
        sink = RecordingSink()
        landmarks: list[np.ndarray] = []
        renderer = Renderer(mesh, load_overlay("black_eye_left"))
        smoother = FaceStabilizer(StabilizerOptions(smoothing=SmoothingOptions(enabled=True)))
        prepared: list[bool] = []
        with FaceTracker(TrackerOptions(model_path=model_path, max_faces=2)) as tracker, \
                VideoFileSource(shared_media / "grimace_green_512.mp4") as source:
            if mode == "prepared":
                source.prepare = tracker.prepare

            def on_frame(frame, faces, out):
                landmarks.extend(f.landmarks for f in faces)
                prepared.append(frame.prepared is not None)

            stats = run_pipeline(source, tracker, renderer, sink, smoother=smoother, pipelined=mode != "serial",
                                 on_frame=on_frame)
        assert stats.frames == 78 and stats.frames_with_face >= 70 and stats.bad_frames == 0
        assert prepared == [mode == "prepared"] * 78
        assert not [thread for thread in threading.enumerate() if thread.name.startswith("arfilter-")]
        outputs[mode] = (sink.images, landmarks)
    serial_images, serial_marks = outputs["serial"]
    assert len(serial_images) == 78
    for mode in ("pipelined", "prepared"):
        images, marks = outputs[mode]
        assert len(images) == 78 and all(np.array_equal(a, b) for a, b in zip(images, serial_images)), mode
        assert len(marks) == len(serial_marks) and all(
            np.array_equal(a, b) for a, b in zip(marks, serial_marks)), f"{mode}: the same smoothed faces"


def test_a_frame_the_tracker_cannot_handle_is_passed_through_unchanged(shared_media):
    import cv2

    image = cv2.imread(str(shared_media / "portrait_720p.jpg"))
    source = [Frame(image.copy(), timestamp=i / 30, index=i) for i in range(5)]

    def tracker(frame: Frame) -> tuple[Face, ...]:
        if frame.index == 2:
            raise RuntimeError("the model choked")
        return one_face(frame)

    sink, warnings = RecordingSink(), []
    stats = run_pipeline(source, tracker, lambda picture, faces: np.zeros_like(picture), sink, warn=warnings.append)
    assert stats.frames == 5 and stats.bad_frames == 1 and stats.frames_with_face == 4
    assert np.array_equal(sink.images[2], image) and all(not sink.images[i].any() for i in (0, 1, 3, 4))
    assert len(warnings) == 1 and "frame 2" in warnings[0] and "RuntimeError" in warnings[0]
    assert not tracker_threads()


@pytest.mark.parametrize("error", [ArfilterError("video x.mp4: decoding stopped"),
                                   DeviceUnavailable("camera 0: lost for good")], ids=["user", "device"])
def test_an_error_from_the_source_reaches_the_caller_with_its_class(error):
    def source():
        yield from numbered(3)
        raise error

    sink = RecordingSink()
    with pytest.raises(type(error)) as raised:
        run_pipeline(source(), lambda frame: (), lambda image, faces: image, sink)
    assert raised.value is error and type(raised.value) is type(error) and len(sink.images) == 3
    assert not tracker_threads()


def test_a_user_error_from_the_tracker_ends_the_run_with_its_class():
    def tracker(frame: Frame) -> tuple[Face, ...]:
        if frame.index == 1:
            raise ArfilterError("model face_landmarker.task: cannot be loaded")
        return ()

    with pytest.raises(ArfilterError, match="cannot be loaded"):
        run_pipeline(numbered(None), tracker, lambda image, faces: image, RecordingSink())
    assert not tracker_threads()


def test_a_camera_that_never_sends_a_frame_is_said_with_its_class():
    """A real CameraSource whose device opens but never hands over a picture: DeviceUnavailable (exit 3)."""
    from arfilter.io.camera import CameraSource

    class Silent(FakeCapture):
        def read(self):
            threading.Event().wait(0.01)
            return False, None

    with CameraSource(0, capture_factory=Silent, open_seconds=0.3, report=lambda line: None) as camera:
        with pytest.raises(DeviceUnavailable, match="no frame"):
            run_pipeline(camera, lambda frame: (), lambda image, faces: image, RecordingSink())
        assert not tracker_threads()


def test_stop_and_a_stopping_sink_end_an_endless_run_and_the_thread_is_gone():
    asked = []

    def stop() -> bool:
        asked.append(True)
        return len(asked) > 5

    sink = RecordingSink()
    stats = run_pipeline(numbered(None), lambda frame: (), lambda image, faces: image, sink, stop=stop)
    assert stats.frames == 5 == len(sink.images) and not tracker_threads()

    class StopAfterThree(RecordingSink):
        @property
        def stopped(self) -> bool:
            return len(self.images) >= 3

    stats = run_pipeline(numbered(None), lambda frame: (), lambda image, faces: image, StopAfterThree())
    assert stats.frames == 3 and not tracker_threads()


def test_ctrl_c_in_the_render_ends_the_run_and_the_thread_is_gone():
    def render(image: np.ndarray, faces) -> np.ndarray:
        if int(image[0, 0, 0]) == 3:
            raise KeyboardInterrupt
        return image

    sink = RecordingSink()
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(numbered(None), lambda frame: (), render, sink)
    assert len(sink.images) == 3 and not tracker_threads()


def test_a_thread_waiting_on_a_camera_ends_with_the_run():
    """The run stops while the tracker's thread waits for a slow camera's next frame (real CameraSource)."""
    from arfilter.io.camera import CameraSource

    class Slow(FakeCapture):  # a new picture each time, slowly
        def read(self):
            threading.Event().wait(0.2)
            self.count += 1
            return True, np.full((48, 64, 3), self.count % 256, np.uint8)

    with CameraSource(0, capture_factory=Slow, size=(64, 48), fps=30, stall_seconds=5.0,
                      report=lambda line: None) as camera:
        class StopAfterTwo(RecordingSink):
            @property
            def stopped(self) -> bool:
                return len(self.images) >= 2

        stats = run_pipeline(camera, lambda frame: (), lambda image, faces: image, StopAfterTwo())
        assert stats.frames == 2 and not tracker_threads(), "ended while the camera was still open"


def test_a_camera_prepares_the_models_input_on_its_capture_thread_and_nothing_changes(model_path, shared_media):
    """A real CameraSource over a clip's frames: its capture thread makes the model's input (newest wins,
    so some are made for frames that are dropped); each shown frame's faces are bit for bit those a
    tracker finds making its own input from the same pictures, and every thread ends with the run."""
    import cv2

    from arfilter.io.camera import CameraSource
    from arfilter.tracking.tracker import FaceTracker, Prepared, TrackerOptions

    capture = cv2.VideoCapture(str(shared_media / "webcam_glasses_720x1280.mp4"))
    pictures = [capture.read()[1] for _ in range(12)]
    capture.release()
    made_on: set[str] = set()

    class Clip:  # the clip's pictures at a camera's pace, over and over
        count = 0

        def isOpened(self) -> bool:
            return True

        def read(self):
            threading.Event().wait(0.03)
            self.count += 1
            return True, pictures[self.count % len(pictures)].copy()

        def get(self, prop) -> float:
            return 0.0

        def set(self, prop, value) -> bool:
            return True

        def release(self) -> None:
            pass

    shown: list[tuple[Frame, tuple[Face, ...]]] = []
    with FaceTracker(TrackerOptions(model_path, max_faces=1)) as tracker, \
            CameraSource(0, capture_factory=lambda device: Clip(), size=(720, 1280), fps=30, stall_seconds=5.0,
                         report=lambda line: None) as camera:
        def prepare(image):
            made_on.add(threading.current_thread().name)
            return tracker.prepare(image)

        camera.prepare = prepare
        stats = run_pipeline(camera, tracker, lambda image, faces: image, NullSink(),
                             on_frame=lambda frame, faces, out: shown.append((frame, faces)),
                             stop=lambda: len(shown) >= 8)
    assert stats.frames == 8 and made_on == {"arfilter-camera 0"}
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("arfilter-")]
    assert all(isinstance(frame.prepared, Prepared) and frame.prepared.of is frame.image for frame, _ in shown)
    with FaceTracker(TrackerOptions(model_path, max_faces=1)) as fresh:
        for frame, faces in shown:
            again = fresh(Frame(frame.image, frame.timestamp, frame.index))
            assert len(faces) == len(again) == 1 and faces[0].landmarks.tobytes() == again[0].landmarks.tobytes()


def test_what_follows_the_shown_frame_is_told_in_turn_though_the_source_is_read_ahead(tmp_path):
    """The presenter's clock (``showing``) and a file sink's timestamps (``follow``) belong to the frame
    being sent, though the tracker has already read the next one: each frame is presented at its own
    time, and a clip with frames 3 and 4 missing keeps its gap in the written file."""
    from arfilter.app.live import MediaClock

    indices = [0, 1, 2, 5, 6, 7, 8]
    source = [Frame(np.full((48, 64, 3), 40 * n, np.uint8), timestamp=t / 30, index=n) for n, t in enumerate(indices)]
    read = [threading.Event() for _ in source]
    clock, presented = MediaClock(), []

    def track(frame: Frame) -> tuple[Face, ...]:
        read[frame.index].set()
        return ()

    def render(image: np.ndarray, faces) -> np.ndarray:  # presented and sent once the next frame was read
        index = int(image[0, 0, 0]) // 40
        if index + 1 < len(read):
            assert read[index + 1].wait(WAIT_S)
        return image

    def present(output: np.ndarray, faces, figures) -> np.ndarray:
        presented.append(clock())
        return output

    out = tmp_path / "gap.mp4"
    with VideoFileSink(out, fps=30.0) as sink:
        run_pipeline(sink.follow(source), track, render, sink, present=present, showing=clock.show)
    assert presented == [t / 30 for t in indices]
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        written = [round(float(frame.pts * stream.time_base) * 30) for frame in container.decode(stream)]
    assert written == indices
