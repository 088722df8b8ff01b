"""The frozen values that flow between the stages of the loop.

``for frame in source: faces = tracker(frame); sink.send(render(frame, faces))``:
a source yields :class:`Frame`, the tracker returns a tuple of :class:`Face`, and
the renderer returns a new BGR image. Arrays are treated as read-only once made.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Frame:
    """One BGR uint8 image (H, W, 3) and when it was taken (seconds, monotonic).

    ``placeholder``: not a picture from the camera but the card a source hands
    out while its camera is lost, so the loop and every sink keep going; it is
    shown as it is (no tracking, no look).
    ``decode_s``: decoding happens on another thread while the previous frame is tracked, so the
    loop's wait for a frame is near zero; the capture stage reports this work instead.
    ``prepared``: the model's input made from ``image`` on the thread that produced the frame (a source's
    ``prepare`` hook, ``FaceTracker.prepare``), so the tracker's thread only runs the model; opaque here.
    """

    image: np.ndarray
    timestamp: float
    index: int = 0
    placeholder: bool = False
    decode_s: float = 0.0  # seconds spent decoding it (a file's read-ahead thread), counted in the capture stage
    prepared: object = None  # the tracker's input made from ``image`` ahead of time, or None: it makes its own

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.image.shape[1]), int(self.image.shape[0])


@dataclass(frozen=True, eq=False)
class Face:
    """One tracked face, in the pixel coordinates of the frame it came from.

    ``landmarks`` is (478, 3) float32: x and y in pixels, z in pixels on the same
    scale as x (smaller is closer to the camera), as MediaPipe defines it.
    ``pose`` is MediaPipe's 4x4 facial transformation matrix (cm) or None.
    """

    landmarks: np.ndarray
    pose: np.ndarray | None = None
    face_id: int = 0
    opacity: float = 1.0

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the landmarks, in pixels."""
        xy = self.landmarks[:, :2]
        x0, y0 = xy.min(axis=0)
        x1, y1 = xy.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)


@dataclass(frozen=True)
class Light:
    """The light falling on one face, estimated from the face's own shading (``render.lighting``).

    Kept here, with the other values between stages, so shaders can read it without importing
    the renderer. ``direction``: unit vector towards the light in image axes (x right, y down,
    z towards the camera). ``ambient``: brightness (0-1 of luma) the skin gets from all around.
    ``directional``: how much of the light comes from that one direction, 0 (flat) to 1 (one hard light).
    """

    direction: tuple[float, float, float]
    ambient: float
    directional: float
