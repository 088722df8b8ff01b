"""How the frame loop shares the machine's cores with the face model.

OpenCV runs its parallel loops (remap, resize, colour conversions) on a pool of one thread per core,
whose workers wait actively for work. Beside the model, which keeps a core busy on its own thread,
and the decoder on another, that pool takes cores the model needs and burns CPU waiting: on a 2-core
laptop the virtual-camera path spent 5 ms of CPU a 720p frame in OpenCV's workers, 10 ms at 1080p,
and a single-threaded OpenCV drew the same frames with 2-5 ms less CPU in all, its stages no slower
(benchmarks/README.md). So OpenCV gets half the cores, at least one.
"""

from __future__ import annotations

import os

import cv2


def opencv_threads(cores: int | None = None) -> int:
    """The threads OpenCV's parallel loops get on a machine with ``cores`` cores (default: this one's)."""
    return max(1, (cores or os.cpu_count() or 1) // 2)


def share_cores_with_the_model() -> int:
    """Set OpenCV's thread count for a session or a command (process-wide); returns it."""
    threads = opencv_threads()
    cv2.setNumThreads(threads)
    return threads
