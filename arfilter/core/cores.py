"""How many CPU cores this process may use, and how many of them OpenCV's own worker threads get."""

from __future__ import annotations

import os

# Threads the live loop keeps busy on cores of their own: the model's and the drawing's.
LOOP_THREADS = 2


def usable_cores() -> int:
    """The cores this process may run on (its affinity on Linux, else all of them), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def opencv_threads(cores: int) -> int:
    """OpenCV's worker threads on a machine with ``cores`` cores: those the loop leaves free, at least 1
    (1: each call runs on its caller's thread). On 2 cores its pool only took turns with the model and
    the decoder: ``arfilter run --sink null`` at 720p drew a face in 5.8 ms against 8.2 ms with the pool
    and used 22.0 ms of CPU a frame against 25.5; ``apply`` 46.8 against 54.2 (medians of 3 alternating
    runs of ``bench_pipeline.py``; benchmarks/README.md)."""
    return max(1, cores - LOOP_THREADS)
