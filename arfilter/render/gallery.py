"""A contact sheet of looks on faces: one row per photo, one column per look.

Pure: it takes photos with their tracked faces and the renderers, and
returns one image; tracking and files are the caller's business.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from arfilter.render.renderer import Renderer
from arfilter.core.types import Face

TITLE_HEIGHT = 34
BACKGROUND = (32, 32, 32)


def face_crop(image: np.ndarray, face: Face, cell: int, margin: float = 1.5) -> np.ndarray:
    """A square ``cell`` x ``cell`` view centred on the face, ``margin`` times its size."""
    x0, y0, x1, y1 = face.bbox
    side = max(x1 - x0, y1 - y0) * margin
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0 - 0.05 * side
    scale = cell / side
    matrix = np.array([[scale, 0.0, cell / 2.0 - cx * scale], [0.0, scale, cell / 2.0 - cy * scale]])
    return cv2.warpAffine(image, matrix, (cell, cell), flags=cv2.INTER_AREA, borderValue=BACKGROUND)


def _title(text: str, width: int) -> np.ndarray:
    """A strip with ``text`` centred, shrunk to fit."""
    strip = np.full((TITLE_HEIGHT, width, 3), BACKGROUND, np.uint8)
    scale = 0.55
    while scale > 0.3 and cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] > width - 8:
        scale -= 0.05
    (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.putText(strip, text, ((width - w) // 2, (TITLE_HEIGHT + h) // 2), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (235, 235, 235), 1, cv2.LINE_AA)
    return strip


def make_gallery(photos: Sequence[tuple[np.ndarray, Face]], renderers: Sequence[Renderer], cell: int = 256) -> np.ndarray:
    """Rows: each photo's face as it is, then with each look. Columns titled by look."""
    titles = ["original"] + [renderer.overlay.title for renderer in renderers]
    rows = [np.hstack([_title(title, cell) for title in titles])]
    for image, face in photos:
        cells = [face_crop(image, face, cell)]
        for renderer in renderers:
            renderer.forget()  # each photo is other people: no memory of the last one's skin or light
            cells.append(face_crop(renderer(image, (face,)), face, cell))
        rows.append(np.hstack(cells))
    return np.vstack(rows)
