"""Cards shown instead of the camera: their text is really drawn (a white title over a softer message,
centred), and nothing else is on them: everywhere else a card is its background colour."""

from __future__ import annotations

import numpy as np
import pytest

from arfilter.draw.cards import CARD_BGR, MESSAGE_RGB, camera_unavailable_card, starting_card

SIZES = [(1280, 720), (640, 360), (320, 180)]
CARDS = {"camera-unavailable": camera_unavailable_card, "starting": starting_card}


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.parametrize("name", sorted(CARDS))
def test_a_card_shows_a_white_title_over_its_message_centred(name, size):
    image = CARDS[name](size)
    width, height = size
    assert image.shape == (height, width, 3) and image.dtype == np.uint8
    assert not image.flags.writeable, "cards are cached and shared: read-only"
    drawn = np.any(image != np.full_like(image, CARD_BGR), axis=2)
    assert drawn.mean() > 0.004, "the card must carry text, not be a blank card of its colour"
    title = np.all(image >= 240, axis=2)  # white glyphs
    message = np.all(np.abs(image.astype(int) - MESSAGE_RGB[::-1]) <= 3, axis=2)  # the message's colour
    assert title.sum() >= 40, "the title is drawn"
    assert message.sum() >= 15, "the message is drawn"
    assert np.nonzero(title)[0].mean() < np.nonzero(message)[0].mean(), "the title sits above the message"
    rows, columns = np.nonzero(drawn)
    assert abs(columns.mean() - width / 2) < 0.05 * width and abs(rows.mean() - height / 2) < 0.1 * height
    assert columns.min() >= 0.05 * width and columns.max() <= 0.95 * width, "the text keeps a margin"


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_the_unavailable_card_says_something_else_than_the_starting_card(size):
    """Two different messages: a viewer can tell a stalled camera from one still starting."""
    unavailable, starting = camera_unavailable_card(size), starting_card(size)
    differs = np.any(unavailable != starting, axis=2)
    assert differs.sum() > 0.002 * size[0] * size[1]
