"""What a hand held by the memory of the skin (:class:`~arfilter.render.skin_memory.SkinMemory`)
encloses: an eye under a palm is under the hand too, though the memory sees only the hand's outline."""

from __future__ import annotations

import cv2
import numpy as np

from arfilter.render.labels import label_counts

_FILL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))  # holes a hand's memory fills (an eye under it)
PALM_LEAST = 20  # texels a palm smooths over in a held area before all its outline spans counts as held


def enclosed(held: np.ndarray, palm: np.ndarray | None = None) -> np.ndarray:
    """uint8 255: ``held`` (what the memory holds) closed (gaps under 9 texels) and with its holes filled:
    what a hand encloses (an eye, its lids: their usual look is so varied that a palm over them barely
    differs from it) is under the hand too. Filling only by the closing left a ring around the eye
    painted on the palm: paint on a hand over the black eye 42 -> 26 % on the glasses clip
    (bench_occlusion.py).

    Where a held area holds at least :data:`PALM_LEAST` texels of ``palm`` (uint8 255: a palm smoothed
    them over), all its outline spans is held (its convex hull): a palm over an eye is seldom held
    whole, and a gap in it (a finger the memory let go) opens the eye to the box's edge, so the eye's
    lids were painted on the palm every other frame (45 % of the paint on the hand over head turns'
    black eye). Only areas a palm smooths: hair's strands add edges and never take it."""
    closed = cv2.morphologyEx(held, cv2.MORPH_CLOSE, _FILL)
    outside = cv2.copyMakeBorder(cv2.bitwise_not(closed), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=255)
    cv2.floodFill(outside, None, (0, 0), 0)  # what is not held and reaches the box's edge: outside
    filled = cv2.max(closed, outside[1:-1, 1:-1])
    if palm is None or cv2.countNonZero(palm) < PALM_LEAST:
        return filled
    count, labels = cv2.connectedComponents(filled, connectivity=8)
    palms = label_counts(labels, palm, count)
    for label in np.flatnonzero(palms >= PALM_LEAST):
        if label > 0:
            hull = cv2.convexHull(cv2.findNonZero((labels == label).view(np.uint8)))
            cv2.fillConvexPoly(filled, hull, 255)
    return filled
