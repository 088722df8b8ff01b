"""Sources: newest-frame-wins for cameras, every frame in order for files, clear errors."""

from __future__ import annotations

import itertools
import threading
import time

import cv2
import numpy as np
import pytest

from arfilter.errors import ArfilterError
from arfilter.sources import (
    CameraSource, ImageFolderSource, ImageSource, LatestFrame, VideoFileSource, open_source,
)


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
        return True, np.full((48, 64, 3), self.count % 256, np.uint8)

    def release(self):
        self.released = True


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
    while (item := box.get(timeout=2.0)) is not None:
        newest = produced[-1]
        received.append(item[0])
        assert item[0] >= newest - 1, "the reader got a stale frame"
        time.sleep(0.005)
    thread.join()
    assert received == sorted(set(received)), "frames must only move forward"
    assert received[-1] == 299
    assert box.dropped == 300 - len(received)
    assert len(received) < 150


def test_camera_with_a_slow_consumer_drops_old_frames_not_lag(capsys):
    with CameraSource(0, capture_factory=lambda d: FakeCapture(d)) as camera:
        assert "camera 0: 64x48 @ 200 fps" in capsys.readouterr().err
        values = []
        for frame in itertools.islice(camera, 20):
            values.append(int(frame.image[0, 0, 0]))
            time.sleep(0.02)  # a slow pipeline: 50 fps against a 200 fps camera
        assert values == sorted(values) and len(set(values)) == 20
        assert camera.dropped >= 20
        assert camera._capture.props[cv2.CAP_PROP_BUFFERSIZE] == 1
        assert camera._capture.props[cv2.CAP_PROP_FOURCC] == cv2.VideoWriter_fourcc(*"MJPG")
    assert camera._capture.released


def test_camera_that_cannot_open_names_itself():
    with pytest.raises(ArfilterError, match="camera 3: cannot open it.*--source 1"):
        CameraSource(3, capture_factory=lambda d: FakeCapture(d, opened=False))


def test_camera_that_stops_delivering_ends_with_a_clear_error():
    camera = CameraSource(0, capture_factory=lambda d: FakeCapture(d, fail_after=5), stall_seconds=0.2)
    with pytest.raises(ArfilterError, match="camera 0: stopped delivering frames"):
        for _ in camera:
            pass
    camera.close()


def test_video_file_frames_come_in_order_with_file_timestamps(shared_media):
    with VideoFileSource(shared_media / "grimace_green_512.mp4") as source:
        assert (source.fps, source.frame_count, source.size) == (25.0, 78, (512, 512))
        frames = list(source)
    assert [f.index for f in frames] == list(range(78))
    assert frames[10].timestamp == pytest.approx(10 / 25.0)
    assert all(f.image.shape == (512, 512, 3) and f.image.dtype == np.uint8 for f in frames)


def test_closing_a_video_half_way_stops_the_decoder(shared_media):
    source = VideoFileSource(shared_media / "glasses_smile_512.mp4")
    first = list(itertools.islice(source, 5))
    source.close()
    assert len(first) == 5 and not source._thread.is_alive()


@pytest.mark.parametrize("content, name", [
    (b"", "empty.mp4"), (b"hello, not a video", "text.mp4"), (bytes(range(256)) * 40, "random.avi"),
])
def test_unreadable_videos_name_the_file(tmp_path, content, name):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ArfilterError, match=f"video {path}: cannot be read as a video"):
        VideoFileSource(path)


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
