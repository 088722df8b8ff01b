"""The loop's live figures: a frozen snapshot the operator's panel and the readout read.

Kept apart from the controls so the frame loop imports nothing of the
operator layer, only this value.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LiveFigures:
    """The loop's figures for the operator: a snapshot, updated every frame."""

    fps: float = 0.0  # frames sent per second, over the last second or so
    latency_ms: float = 0.0  # frame read -> frame sent, median of the last second
    faces: int = 0  # faces drawn in the last frame
    frames: int = 0  # frames sent since start
    dropped: int = 0  # camera frames skipped because a newer one was ready
    bad_frames: int = 0  # frames passed through unpainted because something failed
    uptime_s: float = 0.0
