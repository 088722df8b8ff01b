"""SCAFFOLD (helper fills in): which texels of a look still show this face's skin."""

from __future__ import annotations

import numpy as np

from arfilter.render.unwrap import UvView
from arfilter.render.warp import Roi


class Occlusion:
    """Per face (by ``face_id``): 255 where the look may paint, 0 where something covers the skin."""

    def __init__(self, box: Roi) -> None:
        self.box = box

    def visible(self, face_id: int, view: UvView) -> np.ndarray:
        return np.full(view.valid.shape, 255, np.uint8)

    def seen(self, face_ids: set[int]) -> None:
        """Called once per frame with the faces drawn, so memory of long-gone faces can go."""
