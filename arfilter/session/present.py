"""The last step before the sink: privacy curtain, mirror, kiosk screen, campaign layer, readout.

``present(output, faces, figures)`` runs once per frame on the finished
picture. Order matters: the curtain replaces everything (nothing of the
person gets through, not even under a caption); the picture is mirrored here
and only here (``--mirror``, the kiosk, the m key), before anything with text
is drawn, so captions and readouts always read the right way round; the
kiosk's attract screen replaces the picture when nobody is in front; the
campaign layer and the readout go on top. The campaign layer is given the
faces' boxes in the picture it draws on (mirrored with it), so it can keep
its bar and panel off the faces and the look painted on them.
``card(image)`` is the same step for a source's "camera unavailable" card:
the curtain still wins, and the card is never mirrored.
"""

from __future__ import annotations

import time
from typing import Callable, Protocol, Sequence

import cv2
import numpy as np

from arfilter.core.framing import mirror
from arfilter.session.controls import Controls
from arfilter.session.figures import LiveFigures
from arfilter.core.types import Face

CURTAIN_BGR = (32, 32, 32)


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels


class Layer(Protocol):
    """Drawn over the picture, off the faces' boxes (``operator.campaign.CampaignLayer``)."""

    def draw(self, image: np.ndarray, faces: Sequence[Box] = ()) -> np.ndarray: ...


def face_boxes(faces: tuple[Face, ...], width: int, mirrored: bool) -> tuple[Box, ...]:
    """The faces' boxes in the output picture: the camera's, flipped left-right when the picture is."""
    boxes = tuple(face.bbox for face in faces)
    if mirrored:
        boxes = tuple((width - x1, y0, width - x0, y1) for x0, y0, x1, y1 in boxes)
    return boxes


class Screen(Protocol):
    """Decides what is shown instead of the camera's picture (the kiosk's attract screen)."""

    def __call__(self, output: np.ndarray, faces: tuple[Face, ...]) -> np.ndarray: ...


def blank(shape: tuple[int, ...]) -> np.ndarray:
    """The privacy curtain: one flat colour, nothing of the picture."""
    return np.full((shape[0], shape[1], 3), CURTAIN_BGR, np.uint8)


def draw_readout(image: np.ndarray, figures: LiveFigures, in_place: bool = False) -> np.ndarray:
    """fps / latency / faces / dropped in a small box, top left: on a new image, or on ``image`` itself
    when the caller made it (saves a whole-frame copy: 0.3 ms at 720p, 0.7 at 1080p)."""
    lines = [f"{figures.fps:4.1f} fps", f"{figures.latency_ms:4.0f} ms latency",
             f"{figures.faces} face{'s' if figures.faces != 1 else ''}", f"{figures.dropped} dropped"]
    scale = max(image.shape[0] / 720.0, 0.4)
    font, thickness = cv2.FONT_HERSHEY_SIMPLEX, max(1, round(1.5 * scale))
    size = 0.6 * scale
    line_h = int(26 * scale)
    width = max(cv2.getTextSize(line, font, size, thickness)[0][0] for line in lines) + int(20 * scale)
    height = line_h * len(lines) + int(12 * scale)
    out = image if in_place else image.copy()
    x0, y0 = int(12 * scale), int(12 * scale)
    box = out[y0:y0 + height, x0:x0 + width]
    box[:] = (box.astype(np.uint16) * 2 // 5).astype(np.uint8)  # darken: readable on any picture
    for number, line in enumerate(lines):
        baseline = y0 + int(6 * scale) + line_h * (number + 1) - int(7 * scale)
        cv2.putText(out, line, (x0 + int(10 * scale), baseline), font, size, (255, 255, 255), thickness, cv2.LINE_AA)
    return out


class Presenter:
    """Curtain, kiosk screen, captions and readout, as the operator has set them."""

    def __init__(self, controls: Controls, campaign: Layer | None = None, screen: Screen | None = None,
                 rotate_every: float = 0.0, clock: Callable[[], float | None] = time.monotonic) -> None:
        self.controls = controls
        self.campaign = campaign
        self.screen = screen
        self.rotate_every = rotate_every
        self.clock = clock  # the shown frame's time (live.MediaClock): a file's own seconds, a camera's clock
        self._last_rotation: float | None = None

    def __call__(self, output: np.ndarray, faces: tuple[Face, ...], figures: LiveFigures) -> np.ndarray:
        controls = self.controls
        self._rotate()
        if controls.curtain:
            return blank(output.shape)
        made_here = False  # ``output`` is an array made in this call: the readout may draw on it in place
        if controls.mirror:
            output, made_here = mirror(output), True
        if self.screen is not None:
            shown = self.screen(output, faces)  # the picture itself, or its own (maybe kept) attract screen
            made_here, output = made_here and shown is output, shown
        if self.campaign is not None and controls.captions:
            boxes = face_boxes(faces, output.shape[1], controls.mirror)
            output = self.campaign.draw(output, boxes)
            made_here = True  # a new frame (the layer never draws on its input)
        if controls.stats_visible:
            output = draw_readout(output, figures, in_place=made_here)
        return output

    def card(self, image: np.ndarray) -> np.ndarray:
        """A source's placeholder card, shown as it is unless the curtain is down."""
        return blank(image.shape) if self.controls.curtain else image

    def _rotate(self) -> None:
        """Looks change on their own every ``rotate_every`` seconds (0: never)."""
        if self.rotate_every <= 0 or self.controls.looks is None:
            return
        now = self.clock()
        if now is None:
            return
        if self._last_rotation is None:  # the first frame starts the count
            self._last_rotation = now
        if now - self._last_rotation >= self.rotate_every:
            self._last_rotation = now
            self.controls.request("next")
