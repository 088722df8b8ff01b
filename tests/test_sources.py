"""Sources: newest-frame-wins for cameras, every frame in order for files, clear errors."""

from __future__ import annotations

import itertools
import struct
import threading
import time

import cv2
import numpy as np
import pytest

from arfilter.core.errors import ArfilterError
from arfilter.core.types import Frame
from arfilter.io.sources import (
    MAX_IMAGE_PIXELS, CameraSource, ImageFolderSource, ImageSource, LatestFrame, VideoFileSource, image_header_size,
    open_source,
)

# The shared clips as OpenCV 5.0 decodes them here: name -> (frames, width, height).
CLIPS = {
    "webcam_glasses_720x1280.mp4": (352, 720, 1280),
    "glasses_smile_512.mp4": (587, 512, 480),
    "talking_woman_512.mp4": (354, 512, 512),
    "grimace_green_512.mp4": (78, 512, 512),
    "head_turns_480.mp4": (216, 480, 480),
    "speech_512.mp4": (200, 512, 512),
    "stage_speaker_360p.mp4": (275, 640, 360),
}


class FakeCapture:
    """Behaves like cv2.VideoCapture on a camera that delivers ``fps`` numbered frames."""

    def __init__(self, device, fps: float = 200.0, fail_after: int | None = None, opened: bool = True):
        self.device, self.fps, self.fail_after, self.opened = device, fps, fail_after, opened
        self.count = 0
        self.props: dict[int, float] = {}
        self.released = False

    def isOpened(self):
        return self.opened

    def set(self, prop, value):
        self.props[prop] = value
        return True

    def get(self, prop):
        return {cv2.CAP_PROP_FRAME_WIDTH: 64, cv2.CAP_PROP_FRAME_HEIGHT: 48, cv2.CAP_PROP_FPS: self.fps}.get(prop, 0)

    def read(self):
        time.sleep(1.0 / self.fps)
        if self.fail_after is not None and self.count >= self.fail_after:
            return False, None
        self.count += 1
        image = np.full((48, 64, 3), self.count % 256, np.uint8)
        image[0, 0, 1] = self.count // 256  # the frame number, readable back with number()
        return True, image

    def release(self):
        self.released = True


def number(image: np.ndarray) -> int:
    """The FakeCapture frame number (1, 2, ...) stored in the first pixel."""
    return int(image[0, 0, 0]) + 256 * int(image[0, 0, 1])


def test_latest_frame_hands_the_newest_to_a_slow_reader():
    box = LatestFrame()
    produced = []

    def producer():
        for i in range(300):
            box.put(i, float(i))
            produced.append(i)
            time.sleep(0.0005)
        box.close()

    thread = threading.Thread(target=producer)
    thread.start()
    received = []
    while True:
        newest_put = produced[-1] if produced else -1  # appended after put: surely in the slot (or taken)
        item = box.get(timeout=2.0)
        if item is None:
            break
        received.append(item[0])
        assert item[0] >= newest_put, "the reader got a stale frame"
        time.sleep(0.005)
    thread.join()
    assert received == sorted(set(received)), "frames must only move forward"
    assert received[-1] == 299
    assert box.dropped == 300 - len(received)


def test_latest_frame_keeps_only_the_newest_and_counts_the_rest_as_dropped():
    """The same rule without threads: ten frames put for every one taken, so nine of ten are dropped."""
    box = LatestFrame()
    taken = []
    for i in range(300):
        box.put(i, float(i))
        if i % 10 == 9:
            taken.append(box.get(timeout=0)[0])
    assert taken == list(range(9, 300, 10)) and box.dropped == 270


def test_camera_with_a_slow_consumer_drops_old_frames_not_lag(capsys):
    fakes: list[FakeCapture] = []
    with CameraSource(0, capture_factory=lambda d: fakes.append(FakeCapture(d)) or fakes[-1]) as camera:
        fake = fakes[0]
        assert "camera 0: 64x48 @ 200 fps" in capsys.readouterr().err
        frames = iter(camera)
        values = []
        for _ in range(20):
            read_so_far = fake.count  # frames 1..count were read; 1..count-1 are surely in the mailbox
            frame = next(frames)
            values.append(number(frame.image))
            assert values[-1] >= read_so_far - 1, "the consumer must get the newest or next-newest frame"
            # A slow pipeline: the camera reads 4 frames before the next one is taken (20 ms at 200 fps;
            # the 5 s bound is over 10x that on a loaded machine and only a stuck reader reaches it).
            deadline, wanted = time.monotonic() + 5.0, fake.count + 4
            while fake.count < wanted:
                assert time.monotonic() < deadline, "the camera stopped reading"
                time.sleep(0.002)
        assert values == sorted(set(values)), "frames only move forward"
        assert fake.props[cv2.CAP_PROP_BUFFERSIZE] == 1
        assert fake.props[cv2.CAP_PROP_FOURCC] == cv2.VideoWriter_fourcc(*"MJPG")
        assert list(fake.props).index(cv2.CAP_PROP_FOURCC) < list(fake.props).index(cv2.CAP_PROP_FRAME_WIDTH)
    assert fake.released
    # Every frame read was either handed over, dropped, or still in the slot / in flight at close.
    assert fake.count - 2 <= len(values) + camera.dropped <= fake.count
    assert camera.dropped >= 2 * len(values), "4 frames read per frame taken: most are dropped"


def test_camera_that_cannot_open_names_itself():
    with pytest.raises(ArfilterError, match="camera 3: cannot open it.*--source 1"):
        CameraSource(3, capture_factory=lambda d: FakeCapture(d, opened=False))


class CameraWorld:
    """A camera that can be unplugged, replugged, frozen or made to hang, for fault tests.

    ``state``: "ok" (numbered frames at 100 fps), "fail" (reads return False: unplugged),
    "frozen" (the same picture every time), "block" (a read never returns).
    ``plugged``: whether opening it works. Every open is recorded with the name it used.
    """

    def __init__(self) -> None:
        self.state = "ok"
        self.plugged = True
        self.opened: list[str] = []
        self.count = 0
        self.release_blocked = threading.Event()

    def factory(self, device):
        self.opened.append(str(device))
        world = self

        class Capture(FakeCapture):
            def read(self):
                if world.state == "block":
                    world.release_blocked.wait()  # a driver that never answers
                    return False, None
                time.sleep(0.01)
                if world.state == "fail":
                    return False, None
                if world.state == "ok":
                    world.count += 1
                image = np.full((48, 64, 3), world.count % 256, np.uint8)
                image[0, 0, 1] = world.count // 256
                return True, image

        return Capture(device, fps=100.0, opened=self.plugged)


def frames_until(frames, condition, timeout: float = 10.0) -> list:
    """Frames taken from ``frames`` until ``condition(frame)`` holds (that frame included).

    What the tests wait for takes at most about a second (a stall, a few 0.2 s retries); the
    10 s bound is over 10x that, for a loaded machine, and only a broken source reaches it.
    """
    taken = []
    deadline = time.monotonic() + timeout
    for frame in frames:
        taken.append(frame)
        if condition(frame):
            return taken
        assert time.monotonic() < deadline, "timed out"
    raise AssertionError("the source ended")


@pytest.mark.parametrize("fault, why", [
    ("fail", "reads fail (unplugged?)"),
    ("frozen", "it has sent the same picture for 0.3 s (frozen)"),
    ("block", "no frame for 0.6 s (stuck?)"),
])
def test_a_lost_camera_gives_placeholder_cards_then_comes_back_by_the_same_name(fault, why):
    from arfilter.draw.cards import camera_unavailable_card

    world = CameraWorld()
    lines: list[str] = []
    camera = CameraSource(0, capture_factory=world.factory, stall_seconds=0.6, stale_seconds=0.3,
                          retry_seconds=0.2, report=lines.append)
    try:
        frames = iter(camera)
        assert not next(frames).placeholder
        world.state, world.plugged = fault, False  # unplugged, frozen or hung ... and not openable for now
        lost = frames_until(frames, lambda f: f.placeholder)
        cards = frames_until(frames, lambda f: len(world.opened) >= 4)  # it keeps trying to reopen meanwhile
        assert all(f.placeholder for f in cards) and len(cards) >= 5, "the loop keeps getting the card"
        assert np.array_equal(cards[-1].image, camera_unavailable_card((64, 48)))
        gaps = np.diff([f.timestamp for f in cards])
        # Not faster than the camera's rate: each card waits a period (10 ms) for a frame first. A lower
        # bound that load can only raise the gaps above; how close to 10 ms they stay is a timing.
        assert np.median(gaps) >= 0.5 / 100.0, "cards at most at the camera's rate, not in a spin"
        world.state, world.plugged = "ok", True  # plugged back in
        back = frames_until(frames, lambda f: not f.placeholder)
        assert number(back[-1].image) > 0 and camera.lost_count == 1
        assert set(world.opened) == {"0"}, "reopened by the same name, never another camera"
        assert any(line.startswith(f"camera 0: lost ({why})") for line in lines), lines
        assert lines[-1] == "camera 0: back"
        assert len(lost) < 200, "lost within the stall time, not later"
    finally:
        world.release_blocked.set()
        camera.close()


def test_a_camera_that_never_delivers_at_start_is_one_clear_error():
    world = CameraWorld()
    world.state = "fail"
    camera = CameraSource(0, capture_factory=world.factory, open_seconds=0.5, report=lambda line: None)
    with pytest.raises(ArfilterError, match="camera 0: no frame for 0.5 s; check that the camera works in another app"):
        next(iter(camera))
    camera.close()


def test_a_slow_camera_open_is_waited_for_without_alarm():
    lines: list[str] = []

    def slow(device):
        time.sleep(1.0)
        return FakeCapture(device)

    with CameraSource(0, capture_factory=slow, stall_seconds=0.3, report=lines.append) as camera:
        first = next(iter(camera))
    assert not first.placeholder and not any("lost" in line for line in lines)


def test_a_camera_without_permission_says_how_to_get_it(monkeypatch, tmp_path):
    import arfilter.io.camera as camera

    node = tmp_path / "video7"
    node.write_text("")
    monkeypatch.setattr(camera.os, "access", lambda path, mode: False)
    with pytest.raises(ArfilterError, match=f"camera {node}: no permission to use {node}; .*sudo usermod -aG video"):
        CameraSource(str(node), capture_factory=lambda d: FakeCapture(d, opened=False))


def test_stable_name_of_a_camera_follows_it_across_usb_ports(tmp_path):
    from arfilter.io.sources import stable_device

    node = tmp_path / "video2"
    node.write_text("")
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    (by_id / "usb-Logitech_C920_ABC123-video-index1").symlink_to(node)  # metadata node: not this one
    (by_id / "usb-Logitech_C920_ABC123-video-index0").symlink_to(node)
    assert stable_device(str(node), "linux", by_id) == str(by_id / "usb-Logitech_C920_ABC123-video-index0")
    assert stable_device(str(tmp_path / "video9"), "linux", by_id) == str(tmp_path / "video9")
    assert stable_device(0, "win32", by_id) == 0


def test_the_loop_sends_the_card_while_the_camera_is_lost_and_never_tracks_it():
    from arfilter.draw.cards import camera_unavailable_card
    from arfilter.session.loop import run_pipeline

    world = CameraWorld()
    camera = CameraSource(0, capture_factory=world.factory, stall_seconds=0.3, retry_seconds=0.1,
                          report=lambda line: None)
    sent, tracked = [], []

    class Sink:
        name, stopped = "test", False

        def send(self, image):
            sent.append(image)
            if len(sent) == 5:
                world.state, world.plugged = "fail", False
            if sum(1 for s in sent if s is card) == 20:
                world.state, world.plugged = "ok", True
            if len(sent) > 25 and not sent[-1] is card and sent[-2] is card:
                self.stopped = True

    card = camera_unavailable_card((64, 48))
    alive: list[bool] = []  # on_frame carries the supervisor's heartbeat: the card must keep it going
    stats = run_pipeline(camera, lambda frame: tracked.append(frame) or (), lambda image, faces: image, Sink(),
                         on_frame=lambda frame, faces, output: alive.append(frame.placeholder))
    camera.close()
    assert stats.placeholders >= 20 and all(not f.placeholder for f in tracked)
    assert len(sent) == len(alive) and sum(alive) == stats.placeholders
    assert len(tracked) + stats.placeholders - len(sent) in (0, 1)  # the tracker may have read one frame ahead


def test_video_file_frames_come_in_order_with_file_timestamps(shared_media):
    with VideoFileSource(shared_media / "grimace_green_512.mp4") as source:
        assert (source.fps, source.frame_count, source.size) == (25.0, 78, (512, 512))
        frames = list(source)
    assert [f.index for f in frames] == list(range(78))
    assert frames[10].timestamp == pytest.approx(10 / 25.0)
    assert all(f.image.shape == (512, 512, 3) and f.image.dtype == np.uint8 for f in frames)


def test_the_shared_folder_holds_exactly_the_listed_clips(shared_media):
    assert sorted(p.name for p in shared_media.glob("*.mp4")) == sorted(CLIPS)


@pytest.mark.slow  # every frame of every shared clip
@pytest.mark.parametrize("clip", sorted(CLIPS))
def test_every_shared_clip_decodes_completely(clip, shared_media):
    frames, width, height = CLIPS[clip]
    with VideoFileSource(shared_media / clip) as source:
        assert source.frame_count == frames and source.size == (width, height)
        shapes = {f.image.shape for f in source}
    assert shapes == {(height, width, 3)}
    assert source.unreadable == 0


def test_a_damaged_stretch_is_skipped_not_the_end(tmp_path, shared_media, capsys):
    """FFmpeg resynchronises after garbage: frames after the damage must still come."""
    data = bytearray((shared_media / "head_turns_480.mp4").read_bytes())
    start = len(data) // 3
    data[start:start + 20000] = np.random.default_rng(1).integers(0, 256, 20000, dtype=np.uint8).tobytes()
    path = tmp_path / "damaged.mp4"
    path.write_bytes(bytes(data))
    with VideoFileSource(path) as source:
        frames = list(source)
    positions = [round(f.timestamp * source.fps) for f in frames]
    assert [f.index for f in frames] == list(range(len(frames)))
    assert 0 < source.unreadable < 100 and len(frames) + source.unreadable == 216
    assert max(np.diff(positions)) > 1, "timestamps jump over the lost frames"
    assert positions[-1] >= 200, "decoding went on after the damage"
    assert f"{path}: {source.unreadable} of 216 frames could not be decoded" in capsys.readouterr().err


def test_closing_a_video_half_way_stops_the_decoder(shared_media):
    source = VideoFileSource(shared_media / "glasses_smile_512.mp4")
    first = list(itertools.islice(source, 5))
    source.close()
    assert len(first) == 5 and not source._thread.is_alive()


@pytest.mark.parametrize("content, name", [
    (b"", "empty.mp4"), (b"hello, not a video", "text.mp4"), (bytes(range(256)) * 40, "random.avi"),
    (np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes(), "x.mp4"),
])
def test_unreadable_videos_name_the_file(tmp_path, content, name):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ArfilterError, match=f"video {path}: cannot be read as a video"):
        VideoFileSource(path)


def test_missing_video_names_the_file(tmp_path):
    with pytest.raises(ArfilterError, match=f"video {tmp_path / 'gone.mp4'}: no such file"):
        VideoFileSource(tmp_path / "gone.mp4")


def test_image_source_repeats_and_forever(shared_media):
    path = shared_media / "two_people.jpg"
    assert len(list(ImageSource(path, repeat=3))) == 3
    forever = list(itertools.islice(ImageSource(path, repeat=None), 50))
    assert len(forever) == 50 and forever[-1].index == 49


@pytest.mark.parametrize("write, expected", [
    (lambda p: p.write_text("not an image"), "not a readable image"),
    (lambda p: p.write_bytes(b""), "not a readable image"),
])
def test_bad_images_name_the_file(tmp_path, write, expected):
    path = tmp_path / "photo.jpg"
    write(path)
    with pytest.raises(ArfilterError, match=expected) as excinfo:
        ImageSource(path)
    assert str(path) in str(excinfo.value)


def test_gray_and_transparent_images_become_bgr(tmp_path):
    cv2.imwrite(str(tmp_path / "gray.png"), np.full((20, 30), 128, np.uint8))
    cv2.imwrite(str(tmp_path / "rgba.png"), np.full((20, 30, 4), 200, np.uint8))
    for name in ("gray.png", "rgba.png"):
        frame = next(iter(ImageSource(tmp_path / name)))
        assert frame.image.shape == (20, 30, 3)


def test_folder_skips_bad_files_in_name_order(tmp_path, capsys):
    for i in (2, 0, 1):
        cv2.imwrite(str(tmp_path / f"img{i}.png"), np.full((10, 10, 3), i * 50, np.uint8))
    (tmp_path / "broken.jpg").write_text("no")
    (tmp_path / "notes.txt").write_text("ignored")
    source = ImageFolderSource(tmp_path)
    values = [int(f.image[0, 0, 0]) for f in source]
    assert values == [0, 50, 100]
    assert source.unreadable == 1 and "broken.jpg" in capsys.readouterr().err


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(ArfilterError, match="no images in it"):
        ImageFolderSource(tmp_path)


@pytest.mark.parametrize("spec, kind", [
    ("{media}/talking_woman_512.mp4", VideoFileSource),
    ("{media}/portrait_720p.jpg", ImageSource),
    ("{media}", ImageFolderSource),
])
def test_open_source_picks_by_what_the_path_is(spec, kind, shared_media):
    with open_source(spec.format(media=shared_media)) as source:
        assert isinstance(source, kind)


@pytest.mark.parametrize("spec, expected", [
    ("/nonexistent/clip.mp4", "source /nonexistent/clip.mp4: no such file, folder or camera"),
    ("/dev/video99", "camera /dev/video99: no such device"),
])
def test_open_source_errors(spec, expected):
    with pytest.raises(ArfilterError, match=expected):
        open_source(spec)


def test_open_source_names_bad_files(tmp_path):
    (tmp_path / "photo.jpg").write_text("this is text")
    (tmp_path / "clip.mp4").write_bytes(np.random.default_rng(2).integers(0, 256, 9000, dtype=np.uint8).tobytes())
    for name in ("photo.jpg", "clip.mp4"):
        with pytest.raises(ArfilterError) as excinfo:
            open_source(str(tmp_path / name))
        assert str(tmp_path / name) in str(excinfo.value)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".webp"])
def test_image_header_size_matches_what_opencv_decodes(ext):
    ok, encoded = cv2.imencode(ext, np.zeros((23, 37, 3), np.uint8))
    assert ok and image_header_size(encoded.tobytes()) == (37, 23)


def test_image_header_size_of_the_shared_photos(shared_media):
    for path in shared_media.glob("*.jpg"):
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)  # stored size, before EXIF rotation
        assert image_header_size(path.read_bytes()[:65536]) == (image.shape[1], image.shape[0]), path.name


def _png_header(width: int, height: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)


def _jpeg_header(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + bytes(9)
    return b"\xff\xd8" + app0 + sof0


@pytest.mark.parametrize("name, header", [
    ("huge.png", _png_header(20_000, 20_000)),
    ("huge.jpg", _jpeg_header(12_000, 9_000)),
])
def test_absurdly_large_images_are_refused_before_decoding(tmp_path, name, header, monkeypatch):
    path = tmp_path / name
    path.write_bytes(header + bytes(1000))
    assert image_header_size(path.read_bytes())[0] * image_header_size(path.read_bytes())[1] > MAX_IMAGE_PIXELS
    decoded = []
    monkeypatch.setattr(cv2, "imdecode", lambda *args, **kwargs: decoded.append(args) or None)
    monkeypatch.setattr(cv2, "imread", lambda *args, **kwargs: decoded.append(args) or None)
    with pytest.raises(ArfilterError, match="too large; use at most 100 megapixels") as excinfo:
        ImageSource(path)
    assert str(path) in str(excinfo.value) and decoded == [], "refused from the header, never decoded"


def test_exif_orientation_is_applied(tmp_path):
    """A phone portrait is stored sideways with an EXIF 'rotate 90' tag; it must come out upright."""
    image = np.zeros((20, 40, 3), np.uint8)
    image[:, :10] = 255  # white band on the left as stored
    encoded = cv2.imencode(".jpg", image)[1].tobytes()
    tiff = b"MM\x00\x2a\x00\x00\x00\x08" + struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0) + bytes(4)
    exif = b"Exif\x00\x00" + tiff
    path = tmp_path / "portrait.jpg"
    path.write_bytes(encoded[:2] + b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif + encoded[2:])
    source = ImageSource(path)
    assert source.size == (20, 40)
    assert source.image[:8].min() > 200 and source.image[12:].max() < 50, "the band is now on top"


def test_non_ascii_paths_work(tmp_path):
    folder = tmp_path / "фото ü"
    folder.mkdir()
    cv2.imencode(".png", np.full((8, 8, 3), 7, np.uint8))[1].tofile(str(folder / "café.png"))
    frame = next(iter(ImageSource(folder / "café.png")))
    assert frame.image.shape == (8, 8, 3) and frame.image.max() == 7
    assert len(list(ImageFolderSource(folder))) == 1


def test_a_decoder_that_crashes_ends_the_video_with_a_clear_error(shared_media, monkeypatch):
    """The reader must never wait forever on a dead decode thread."""
    source = VideoFileSource(shared_media / "grimace_green_512.mp4")
    source._capture.release()

    class Exploding:
        def read(self):
            raise RuntimeError("codec exploded")

        def release(self):
            pass

    source._capture = Exploding()
    with pytest.raises(ArfilterError, match="decoding stopped at frame 1 .*codec exploded"):
        list(source)
    source.close()


def test_odd_frames_from_a_camera_are_normalised_or_dropped_and_counted():
    """None, empty, grey, one channel, BGRA, 16-bit, float, odd widths, a size change mid-stream."""
    good = np.full((48, 64, 3), 100, np.uint8)
    script = [good, None, np.zeros((0, 0, 3), np.uint8), np.full((48, 64), 50, np.uint8),
              np.full((48, 64, 1), 60, np.uint8), np.full((48, 64, 4), 70, np.uint8),
              np.full((48, 64, 3), 80 * 257, np.uint16), np.full((48, 64, 3), 0.5, np.float32),
              np.full((480, 641, 3), 90, np.uint8), np.full((4, 4, 4, 4), 1, np.uint8),
              np.full((720, 1280, 3), 110, np.uint8)]

    class Scripted(FakeCapture):
        def read(self):
            time.sleep(0.02)
            item = script[min(self.count, len(script) - 1)]
            self.count += 1
            if item is None:
                return False, None
            image = item.copy()
            image.reshape(-1)[-1:] = self.count % 256  # live sensors: no two frames alike
            return True, image

    with CameraSource(0, capture_factory=lambda d: Scripted(d), report=lambda line: None) as camera:
        frames = []
        for frame in camera:
            frames.append(frame)
            if frame.image.shape == (720, 1280, 3):
                break
    assert all(f.image.dtype == np.uint8 and f.image.ndim == 3 and f.image.shape[2] == 3 for f in frames)
    assert [int(f.image[1, 1, 0]) for f in frames] == [100, 50, 60, 70, 80, 128, 90, 110]
    assert (480, 641, 3) in [f.image.shape for f in frames]
    assert camera.unreadable == 2  # the empty and the 4-D one: dropped and counted


@pytest.mark.slow  # a real arfilter process
def test_an_image_wider_than_the_model_takes_is_one_clear_line_not_an_abort(tmp_path, model_path, portrait):
    """MediaPipe aborts the whole process (no message) on a side over 32767 px; we refuse it first."""
    import subprocess
    import sys

    wide = tmp_path / "wide.png"
    cv2.imwrite(str(wide), cv2.resize(portrait, (40000, 2)))
    result = subprocess.run([sys.executable, "-m", "arfilter", "apply", str(wide), "-o", str(tmp_path / "out.png")],
                            env={**__import__("os").environ, "ARFILTER_MODEL": str(model_path)},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"arfilter: error: image {wide}: 40000x2 is too large; use at most 100 megapixels and 32767 px per side "
        "(scale it down first)")


def test_the_tracker_refuses_a_frame_too_wide_for_the_model_instead_of_aborting(model_path):
    from arfilter.tracking.tracker import FaceTracker, TrackerOptions

    with FaceTracker(TrackerOptions(model_path=model_path)) as tracker:
        with pytest.raises(ValueError, match="a 33000x4 frame is larger than the 32767 px per side"):
            tracker(Frame(np.zeros((4, 33000, 3), np.uint8), 0.0))
        assert tracker(Frame(np.zeros((48, 64, 3), np.uint8), 0.04)) == ()  # and it goes on


def test_the_capture_stage_counts_decoding_done_ahead_on_the_read_ahead_thread(shared_media):
    """Decoding overlaps tracking, so the loop hardly waits for a frame; the capture figure is the decoding."""
    from arfilter.io.sinks import NullSink
    from arfilter.session.loop import run_pipeline

    with VideoFileSource(shared_media / "webcam_glasses_720x1280.mp4") as source:
        decoded: list[float] = []

        def keep(frame, faces, output):
            decoded.append(frame.decode_s)

        def slow_model(frame):  # the model takes longer than decoding, so frames wait decoded in the queue
            time.sleep(0.03)
            return ()

        stats = run_pipeline(itertools.islice(source, 30), slow_model, lambda image, faces: image, NullSink(),
                             on_frame=keep)
    assert len(decoded) == 30 and all(seconds > 0 for seconds in decoded)
    capture = sorted(stats.stages["capture"])
    assert capture[len(capture) // 2] >= 1000 * sorted(decoded)[len(decoded) // 2]  # stages are in ms
