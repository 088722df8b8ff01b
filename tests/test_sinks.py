"""Sinks: virtual-camera repeats and cards (on a clock the test moves), files written and read back, a preview window.

The virtual camera's pacing under real time (rate, latency of a new frame, the cap on a faster
source) is measured by benchmarks/bench_pacing.py, not asserted here.
"""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from arfilter.core.errors import ArfilterError
from arfilter.io.sinks import (
    ImageFileSink, NullSink, VideoFileSink, VirtualCameraSink, WindowSink, open_sink, virtual_camera_help,
)
from arfilter.io.sources import VideoFileSource


class Clock:
    """A clock the test moves by hand: the sink's stall cards follow it, never the machine's load."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeCamera:
    """Records what pyvirtualcam.Camera would be sent, and when by ``clock``."""

    def __init__(self, width, height, fps, fmt, device=None, backend=None, fail_after=None, clock=time.monotonic):
        self.width, self.height, self.fps, self.device = width, height, fps, device or "/dev/fake"
        self.fail_after = fail_after
        self.clock = clock
        self.sent: list[tuple[float, np.ndarray]] = []
        self.closed = False

    def send(self, image):
        if self.fail_after is not None and len(self.sent) >= self.fail_after:
            raise RuntimeError("device gone")
        assert image.shape == (self.height, self.width, 3) and image.dtype == np.uint8
        self.sent.append((self.clock(), image))

    def close(self):
        self.closed = True


def fake_sink(clock: Clock, **options) -> tuple[VirtualCameraSink, list[FakeCamera]]:
    """A VirtualCameraSink on a FakeCamera, reading ``clock``; its sender thread is real."""
    cams: list[FakeCamera] = []

    def factory(**kw):
        cams.append(FakeCamera(**kw, clock=clock))
        return cams[-1]

    return VirtualCameraSink(camera_factory=factory, clock=clock, **options), cams


def sent_soon(cam: FakeCamera, condition, what: str) -> list[np.ndarray]:
    """Images sent from now on, once ``condition(images)`` holds.

    The sender is a real thread that sends within a period or two (tens of ms); 5 s is over
    10x that on a loaded 2-core machine, and only a broken sink ever waits it out.
    """
    start = len(cam.sent)
    deadline = time.monotonic() + 5.0
    while not condition(images := [image for _, image in cam.sent[start:]]):
        assert time.monotonic() < deadline, f"the sender never sent {what}"
        time.sleep(0.005)
    return images


def test_virtual_camera_repeats_the_last_frame_at_one_size_when_the_pipeline_is_slow():
    """Between new frames the sender repeats the last one, letterboxed to the camera's one size.

    (How steady the rate is under real timing is benchmarks/bench_pacing.py's job.)"""
    clock = Clock()
    sink, cams = fake_sink(clock, size=(320, 180), fps=30.0)
    wide, square = np.full((360, 640, 3), 255, np.uint8), np.full((480, 480, 3), 255, np.uint8)
    sink.send(wide)
    repeats = sent_soon(cams[0], lambda images: len(images) >= 4, "the wide frame four times")
    assert all(np.array_equal(image, np.full((180, 320, 3), 255, np.uint8)) for image in repeats)
    sink.send(square)
    boxed = sent_soon(cams[0], lambda images: len(images) >= 3 and images[-1][:, 0].max() == 0, "the square frame")
    assert boxed[-1][:, 0].max() == 0 and boxed[-1][90, 160].min() == 255, "black bars at the sides, picture between"
    sink.close()
    assert cams[0].closed and sink.repeats >= 4


def test_virtual_camera_sends_the_starting_card_before_the_first_frame():
    from arfilter.draw.cards import starting_card

    clock = Clock()
    sink, cams = fake_sink(clock, size=(320, 180), fps=60.0)
    sent_soon(cams[0], lambda images: len(images) >= 3, "three frames")
    sink.close()
    sent = [img for _, img in cams[0].sent]
    assert all(np.array_equal(img, starting_card((320, 180))) for img in sent[:-1])
    assert sent[0].std() > 5, "the card has text on it"


def test_a_stalled_camera_gets_the_unavailable_card_never_a_frozen_person_and_recovers():
    from arfilter.draw.cards import camera_unavailable_card

    clock = Clock()
    sink, cams = fake_sink(clock, size=(320, 180), fps=50.0, stall_after=0.3)
    card = camera_unavailable_card((320, 180))
    person = np.full((180, 320, 3), 200, np.uint8)
    is_person = lambda image: np.array_equal(image, person)  # noqa: E731
    is_card = lambda image: np.array_equal(image, card)  # noqa: E731
    sink.send(person)
    sent_soon(cams[0], lambda images: any(map(is_person, images)), "the person")
    clock.now += 0.25  # a short gap: under stall_after
    short_gap = sent_soon(cams[0], lambda images: len(images) >= 3, "repeats in a short gap")
    assert all(map(is_person, short_gap)), "a short gap repeats the last frame"
    clock.now += 0.5  # now 0.75 s without a frame: the camera stalled
    stalled = sent_soon(cams[0], lambda images: sum(map(is_card, images)) >= 3, "the card")
    first_card = [is_card(image) for image in stalled].index(True)
    assert all(map(is_card, stalled[first_card:])), "once stalled, only the card: never a frozen person"
    sink.send(person)  # frames flow again
    resumed = sent_soon(cams[0], lambda images: sum(map(is_person, images)) >= 3, "the person again")
    first_person = [is_person(image) for image in resumed].index(True)
    assert all(map(is_person, resumed[first_person:])), "frames flow again"
    sink.close()
    assert is_card(cams[0].sent[-1][1]), "the last frame a consumer keeps is the card"
    assert sink.cards_sent >= 4


def test_virtual_camera_driver_gone_mid_run_is_one_line_and_the_session_goes_on_until_it_is_back():
    lines: list[str] = []
    attempts = {"n": 0}

    def factory(**kw):
        attempts["n"] += 1
        if attempts["n"] == 1:
            return FakeCamera(**kw, fail_after=3)  # the driver goes away after 3 frames
        if attempts["n"] < 4:
            raise RuntimeError("device not found")  # still gone
        cams.append(FakeCamera(**kw))
        return cams[-1]

    cams: list[FakeCamera] = []
    sink = VirtualCameraSink(size=(64, 48), fps=60.0, retry_seconds=0.1, camera_factory=factory, report=lines.append)
    # Three tries 0.1 s apart on the real retry timer: about 0.3 s; 10 s is over 30x that.
    deadline = time.monotonic() + 10
    while not cams or len(cams[0].sent) < 5:
        sink.send(np.full((48, 64, 3), 99, np.uint8))  # never raises: the preview/recording go on
        time.sleep(0.01)
        assert time.monotonic() < deadline, lines
    sink.close()
    assert lines[0] == "virtual camera /dev/fake: stopped accepting frames (device gone); the session goes on, retrying every 0.1 s"
    assert lines[-1] == "virtual camera /dev/fake: back" and sink.reopened == 1
    assert any(img[5, 5, 0] == 99 for _, img in cams[0].sent), "frames flow to the reopened device"


def test_virtual_camera_can_be_closed_and_opened_again():
    clock = Clock()
    cams: list[FakeCamera] = []
    for _ in range(2):
        sink, made = fake_sink(clock, size=(64, 48), fps=60.0)
        with sink:
            sink.send(np.full((48, 64, 3), 7, np.uint8))
            sent_soon(made[0], lambda images: any(img[0, 0, 0] == 7 for img in images), "the frame")
        cams += made
    assert len(cams) == 2 and all(cam.closed for cam in cams)
    assert all(any(img[0, 0, 0] == 7 for _, img in cam.sent) for cam in cams)


def test_a_busy_virtual_camera_says_what_to_do():
    def busy(**kw):
        raise RuntimeError("'/dev/video10' is busy\n(another program?)")

    with pytest.raises(ArfilterError) as excinfo:
        VirtualCameraSink(size=(64, 48), camera_factory=busy)
    assert str(excinfo.value) == (
        "virtual camera: not available ('/dev/video10' is busy; (another program?)); another program is already "
        "sending to it (another arfilter, OBS's own virtual camera): close it, or on Linux load a second device "
        "with devices=2 and pick it with --device; or use --fallback preview to show a window instead")


def test_real_virtual_camera_without_a_driver_says_how_to_fix_it():
    """This machine has no v4l2loopback device: the message must say so and how to fix it."""
    with pytest.raises(ArfilterError) as excinfo:
        VirtualCameraSink(size=(640, 480), fps=30.0)
    message = str(excinfo.value)
    assert "v4l2loopback" in message and "--fallback preview" in message and "\n" not in message


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_unknown_virtual_camera_backend_is_refused_cleanly():
    """pyvirtualcam's own KeyError path leaves a half-made object whose __del__ raises."""
    with pytest.raises(ArfilterError, match="backend 'obs' does not exist on Linux; use v4l2loopback"):
        VirtualCameraSink(size=(640, 480), backend="obs")


def test_open_sink_virtualcam_without_a_driver_is_the_help_line():
    with pytest.raises(ArfilterError, match="sudo modprobe v4l2loopback"):
        open_sink("virtualcam", size=(640, 480))


@pytest.mark.parametrize("os_name, needle", [
    ("linux", "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=arfilter"),
    ("Linux", "v4l2loopback-dkms"),
    ("win32", "OBS Studio"),
    ("Windows", "Unity Capture"),
    ("darwin", "OBS Studio 30"),
    ("Darwin", "1280x720"),
])
def test_virtual_camera_help_per_os(os_name, needle):
    line = virtual_camera_help(os_name, "no device")
    assert needle in line and "no device" in line and line.endswith("instead")


@pytest.mark.parametrize("ext", [".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm"])
def test_video_file_round_trip_keeps_count_size_and_picture(tmp_path, ext):
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8), (0, 0), 3)
    frames = [np.roll(base, i * 2, axis=1) for i in range(12)]
    path = tmp_path / f"clip{ext}"
    with VideoFileSink(path, fps=24.0) as sink:
        for frame in frames:
            sink.send(frame)
        sink.send(np.zeros((60, 60, 3), np.uint8))  # another size: letterboxed, not a crash
    assert sink.frames_written == 13
    with VideoFileSource(path) as source:
        back = [f.image for f in source]
        assert source.fps == pytest.approx(24.0)
    assert len(back) == 13 and back[0].shape == (120, 160, 3)
    for original, decoded in zip(frames, back):
        assert np.abs(original.astype(int) - decoded.astype(int)).mean() < 8
    boxed = back[-1]  # 60x60 black in 160x120: still black, at the fixed size
    assert boxed.shape == (120, 160, 3) and boxed.mean() < 8


def test_odd_sizes_are_cropped_to_even_as_the_file_stores_them(tmp_path):
    """4:2:0 codecs cut odd sizes silently; the sink says so in ``size`` and crops, not rescales."""
    image = np.zeros((121, 161, 3), np.uint8)
    image[:, 80:] = 255
    path = tmp_path / "odd.mp4"
    with VideoFileSink(path, fps=30.0) as sink:
        for _ in range(3):
            sink.send(image)
        assert sink.size == (160, 120)
    with VideoFileSource(path) as source:
        assert source.size == (160, 120) and source.frame_count == 3
        first = next(iter(source)).image
    assert first[:, :78].max() < 40 and first[:, 82:].min() > 215, "the edge stays where it was: cropped, not scaled"


@pytest.mark.parametrize("fps", [0.0, -5.0, float("nan")])
def test_video_sink_refuses_a_bad_frame_rate(tmp_path, fps):
    with pytest.raises(ArfilterError, match="frame rate"):
        VideoFileSink(tmp_path / "x.mp4", fps=fps)


def test_image_file_sink_writes_the_last_frame_exactly(tmp_path):
    path = tmp_path / "snap.png"
    with ImageFileSink(path) as sink:
        sink.send(np.zeros((10, 20, 3), np.uint8))
        last = np.arange(600, dtype=np.uint8).reshape(10, 20, 3)
        sink.send(last)
        assert not path.exists(), "nothing is written until the sink closes"
    np.testing.assert_array_equal(cv2.imread(str(path)), last)


@pytest.mark.parametrize("make, expected", [
    (lambda tmp: ImageFileSink(tmp / "missing" / "x.png"), "does not exist"),
    (lambda tmp: ImageFileSink(tmp / "x.gif"), "not an image file name"),
    (lambda tmp: VideoFileSink(tmp / "x.flv"), "not a video file name"),
    (lambda tmp: open_sink(str(tmp / "x.xyz")), "unknown; use virtualcam, window, null"),
])
def test_bad_outputs_are_named(tmp_path, make, expected):
    with pytest.raises(ArfilterError, match=expected):
        make(tmp_path)


@pytest.mark.parametrize("spec, kind", [
    ("null", NullSink), ("out.mp4", VideoFileSink), ("out.mov", VideoFileSink),
    ("snap.jpg", ImageFileSink),
])
def test_open_sink_by_name(spec, kind, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open_sink(spec) as sink:
        assert isinstance(sink, kind)


@pytest.mark.slow  # needs Xvfb
def test_open_sink_window_is_a_preview_window(monkeypatch, xvfb_display):
    monkeypatch.setenv("DISPLAY", xvfb_display)
    with open_sink("window") as sink:
        assert isinstance(sink, WindowSink)


@pytest.mark.slow  # a real window under Xvfb
def test_preview_window_shows_frames_on_a_real_display_and_obeys_keys(monkeypatch, xvfb_display):
    monkeypatch.setenv("DISPLAY", xvfb_display)
    with WindowSink(title="arfilter-test") as window:  # closed even when an assert fails
        frame = np.zeros((120, 160, 3), np.uint8)
        frame[:, :, 2] = 255  # pure red
        for _ in range(10):
            window.send(frame)
        assert not window.stopped
        assert cv2.getWindowProperty("arfilter-test", cv2.WND_PROP_VISIBLE) >= 1
        assert tuple(cv2.getWindowImageRect("arfilter-test"))[2:] == (160, 120)
        window.handle_key(-1)
        assert not window.stopped
        window.handle_key(27)
        assert window.stopped


@pytest.mark.slow  # a real window under Xvfb
def test_preview_window_closed_by_the_user_stops_and_stays_closed(monkeypatch, xvfb_display):
    monkeypatch.setenv("DISPLAY", xvfb_display)
    with WindowSink(title="arfilter-close-test") as window:  # closed even when an assert fails
        frame = np.zeros((60, 80, 3), np.uint8)
        window.send(frame)
        window.send(frame)
        cv2.destroyWindow("arfilter-close-test")  # what the window manager's close button does
        cv2.waitKey(1)
        window.send(frame)
        assert window.stopped
        window.send(frame)  # the loop may send once more: no new window pops up
        try:
            visible = cv2.getWindowProperty("arfilter-close-test", cv2.WND_PROP_VISIBLE)
        except cv2.error:
            visible = -1
        assert visible < 1


@pytest.mark.parametrize("code, stopped, passed_on", [
    (ord("q"), True, False), (ord("Q"), True, False), (27, True, False),
    (ord("m"), False, True), (ord("x"), False, True), (-1, False, False),
])
@pytest.mark.slow  # needs Xvfb
def test_window_keys(code, stopped, passed_on, monkeypatch, xvfb_display):
    """q/Esc quit; every other key (m for mirror too) goes to the operator's controls."""
    monkeypatch.setenv("DISPLAY", xvfb_display)
    keys: list[int] = []
    with WindowSink(on_key=keys.append) as window:
        window.handle_key(code)
    assert window.stopped == stopped and keys == ([code] if passed_on else [])
    assert window.last_key == (None if code < 0 else code)


@pytest.mark.parametrize("env, problem", [
    ({}, "no DISPLAY is set"),
    ({"DISPLAY": ":4242"}, "no X server answers at DISPLAY=:4242"),
    ({"DISPLAY": "remote.example:0"}, None),
])
def test_display_problem_is_detected_before_opencv_aborts(env, problem):
    from arfilter.io.sinks import display_problem

    assert display_problem("linux", env) == problem
    assert display_problem("win32", {}) is None


def test_window_without_a_display_is_one_clear_error(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(ArfilterError, match="preview window: no display found"):
        WindowSink()


RECORDER = """
import sys, time
import numpy as np
from arfilter.io.sinks import VideoFileSink
sink = VideoFileSink(sys.argv[1], fps=30.0, live=True)
for number in range(100000):
    image = np.zeros((240, 320, 3), np.uint8)
    image[:, :160] = number % 256          # the frame number, readable back
    image[:, 160:] = (number // 256) * 40
    sink.send(image)
    print(number, flush=True)
    time.sleep(1 / 30)
"""


@pytest.mark.slow  # a recorder subprocess for three seconds of real time
def test_an_avi_recording_killed_with_sigkill_plays_up_to_the_last_second(tmp_path):
    import signal
    import subprocess
    import sys

    path = tmp_path / "recording.avi"
    process = subprocess.Popen([sys.executable, "-c", RECORDER, str(path)], stdout=subprocess.PIPE, text=True)
    written = -1
    deadline = time.monotonic() + 30
    while written < 90:  # three seconds of recording
        written = int(process.stdout.readline())
        assert time.monotonic() < deadline
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stdout.close()
    left = list(tmp_path.iterdir())
    assert len(left) == 1 and left[0].name.startswith("recording.recording-"), "the visible temporary file"
    capture = cv2.VideoCapture(str(left[0]))
    numbers = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        numbers.append(int(round(float(image[:, :150].mean()))) + 256 * int(round(float(image[:, 170:].mean()) / 40)))
    assert numbers, "the file plays"
    assert numbers == list(range(len(numbers))), "every frame in order, none damaged"
    assert numbers[-1] >= written - 30, f"lost more than a second: {written} written, {numbers[-1]} playable"


def test_virtual_camera_colours_arrive_in_the_order_the_consumer_reads(monkeypatch):
    """A pure red BGR frame reaches Zoom or OBS as pure red: a fake pyvirtualcam.Camera decodes what it is
    sent by the PixelFormat it was opened with (as pyvirtualcam's drivers do) into the RGB a consumer sees."""
    import pyvirtualcam

    from arfilter.draw.cards import CARD_BGR

    class Consumer:
        def __init__(self, width, height, fps, fmt, device=None, backend=None, **options):
            self.fmt, self.device, self.seen = fmt, device or "/dev/fake", []

        def send(self, frame):
            order = {pyvirtualcam.PixelFormat.RGB: [0, 1, 2], pyvirtualcam.PixelFormat.BGR: [2, 1, 0]}[self.fmt]
            self.seen.append(np.asarray(frame)[:, :, order].copy())

        def close(self):
            pass

    cams: list[Consumer] = []
    monkeypatch.setattr(pyvirtualcam, "Camera", lambda **kw: cams.append(Consumer(**kw)) or cams[-1])
    sink = VirtualCameraSink(size=(64, 48), fps=30.0)
    red = np.zeros((48, 64, 3), np.uint8)
    red[:, :, 2] = 255  # BGR
    sink.send(red)
    # The sender thread passes a new frame on at once (milliseconds); 5 s only bounds a stuck thread.
    deadline = time.monotonic() + 5.0
    while not any(np.ptp(seen, axis=(0, 1)).max() == 0 for seen in list(cams[0].seen)):
        assert time.monotonic() < deadline, "the frame never reached the camera"
        time.sleep(0.01)
    sink.close()
    frame = next(seen for seen in cams[0].seen if np.ptp(seen, axis=(0, 1)).max() == 0)  # ours: no text on it
    assert frame[0, 0].tolist() == [255, 0, 0], "red must arrive as red (RGB)"
    card = cams[0].seen[-1]  # the "camera unavailable" card, sent last on close
    assert card[0, 0].tolist() == list(CARD_BGR[::-1]), "the card's colour must arrive as drawn"


def test_the_window_is_mapped_again_once_so_qt_paints_it(monkeypatch, xvfb_display):
    """Qt can miss the first Expose on a screen with no window manager and never paint (black for
    good); the sink unmaps and maps its window once, early, which sends a fresh one."""
    from arfilter.io import window as window_module
    from arfilter.io.x11 import remap_windows

    monkeypatch.setenv("DISPLAY", xvfb_display)  # the display this process's Qt already uses
    remapped: list[str] = []
    monkeypatch.setattr(window_module, "remap_windows", lambda title: remapped.append(title) or remap_windows(title))
    sink = WindowSink(title="arfilter-remap-test")
    frame = np.full((60, 80, 3), 200, np.uint8)
    for _ in range(window_module.REMAP_AT_FRAME + 5):
        sink.send(frame)
    assert remapped == ["arfilter-remap-test"], "once, at the set frame"
    assert not sink.stopped and sink._window_open(), "the session goes on: a remap is not a close"
    assert remap_windows("arfilter-remap-test") == 1 and remap_windows("no such window") == 0
    sink.close()
    monkeypatch.delenv("DISPLAY")
    assert remap_windows("arfilter-remap-test") == 0, "no X server: nothing to do, no error"
