"""Letterboxing: fixed-size sinks must fit any frame without stretching faces."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from arfilter.core.framing import letterbox, letterbox_rect, mirror, scaled


@pytest.mark.parametrize("src, dst, rect", [
    ((640, 480), (1280, 720), (160, 0, 960, 720)),   # 4:3 into 16:9: bars left and right
    ((1280, 720), (640, 480), (0, 60, 640, 360)),    # 16:9 into 4:3: bars top and bottom
    ((720, 1280), (1280, 720), (437, 0, 405, 720)),  # a phone's portrait video into a webcam frame
    ((100, 100), (100, 100), (0, 0, 100, 100)),
    ((10000, 1), (64, 48), (0, 23, 64, 1)),          # absurd aspect: still at least one pixel
])
def test_letterbox_rect(src, dst, rect):
    assert letterbox_rect(src, dst) == rect


def test_letterbox_rect_refuses_empty_sizes():
    with pytest.raises(ValueError):
        letterbox_rect((0, 10), (64, 48))


def test_letterbox_returns_the_same_object_when_the_size_matches():
    image = np.zeros((48, 64, 3), np.uint8)
    assert letterbox(image, (64, 48)) is image


@pytest.mark.parametrize("shape, size", [
    ((100, 100, 3), (200, 100)),   # same height: bars at the sides
    ((50, 50, 3), (200, 100)),     # small: scaled up
    ((400, 100, 3), (100, 100)),   # tall: scaled down, bars at the sides
    ((100, 400, 3), (100, 100)),   # wide: bars top and bottom
    ((30, 40), (80, 80)),          # gray stays gray
])
def test_letterbox_keeps_the_picture_inside_black_bars(shape, size):
    image = np.full(shape, 255, np.uint8)
    boxed = letterbox(image, size)
    assert boxed.shape[:2] == (size[1], size[0]) and boxed.shape[2:] == shape[2:] and boxed.dtype == np.uint8
    x, y, w, h = letterbox_rect((shape[1], shape[0]), size)
    inside = np.zeros(boxed.shape[:2], bool)
    inside[y:y + h, x:x + w] = True
    assert boxed[inside].min() == 255, "the picture fills its rectangle"
    assert not inside.all() and boxed[~inside].max() == 0, "the bars are black"


def test_letterbox_keeps_the_aspect_ratio_of_content():
    image = np.zeros((90, 160, 3), np.uint8)
    image[:, 80:] = 255  # right half white
    boxed = letterbox(image, (640, 480))
    x, y, w, h = letterbox_rect((160, 90), (640, 480))
    assert (w, h) == (640, 360)
    row = boxed[240, :, 0]
    assert row[:318].max() < 20 and row[322:].min() > 235, "the half-way edge stays half-way"


def test_shrinking_a_camera_picture_gives_what_area_averaging_gives(shared_media):
    """A phone's portrait clip into a landscape virtual camera (1.78x smaller): bilinear, within 45 dB of
    OpenCV's area averaging (the slow way) on real frames."""
    capture = cv2.VideoCapture(str(shared_media / "webcam_glasses_720x1280.mp4"))
    for _ in range(3):
        ok, frame = capture.read()
        assert ok
        boxed = letterbox(frame, (1280, 720))
        x, y, w, h = letterbox_rect((720, 1280), (1280, 720))
        area = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA).astype(np.float64)
        error = np.mean((boxed[y:y + h, x:x + w].astype(np.float64) - area) ** 2)
        assert 10 * np.log10(255 ** 2 / error) > 45.0
    capture.release()


def test_shrinking_more_than_twice_averages_fine_detail_away():
    """1-pixel stripes shrunk 3x are an even grey (bilinear would pick stripes and draw a moire)."""
    stripes = np.zeros((300, 300), np.uint8)
    stripes[:, ::2] = 255
    small = scaled(stripes, (100, 100)).astype(int)
    assert abs(small[:, 1:-1].mean() - 127.5) < 2 and np.ptp(small[:, 1:-1]) <= 90


def test_mirror_flips_left_and_right_into_a_new_array():
    image = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    flipped = mirror(image)
    np.testing.assert_array_equal(flipped, image[:, ::-1])
    assert flipped is not image and flipped.flags.c_contiguous
