"""Per-stage timing and counters for a run, reported as median and p95.

Kept in plain lists of floats: a run of days at 30 fps is a few million
numbers, so samples are kept in a bounded window (the newest ``window``).
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from arfilter.core.outputs import check_output, write_bytes

STAGES = ("capture", "track", "smooth", "render", "sink")
# Stages also timed on their thread's CPU clock: what drawing costs, apart from the time its thread waits for
# a core while the model and the decoder run (on two cores up to half the wall time of "render"). Exact
# where OpenCV runs each call on its caller's thread (two cores: core.cores.opencv_threads); with a pool of its
# own, its workers' share is not in it.
CPU_STAGES = ("render",)


def summarize(samples_ms: list[float] | deque) -> dict[str, float] | None:
    """Median and p95 of millisecond samples, or None when there are none."""
    if not samples_ms:
        return None
    values = np.fromiter(samples_ms, dtype=np.float64)
    return {
        "median_ms": round(float(np.median(values)), 3),
        "p95_ms": round(float(np.percentile(values, 95)), 3),
    }


@dataclass
class RunStats:
    """Counters and stage timings of one pipeline run."""

    window: int = 20_000  # per stage: the last ~11 minutes at 30 fps, ~3 MB in all
    frames: int = 0
    frames_with_face: int = 0
    faces_drawn: int = 0
    bad_frames: int = 0
    placeholders: int = 0  # "camera unavailable" cards sent while the camera was lost
    dropped_frames: int | None = None
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None
    stages: dict[str, deque] = field(default_factory=dict)
    cpu_stages: dict[str, deque] = field(default_factory=dict)  # the same, on the stage's thread's CPU clock

    def __post_init__(self) -> None:
        self.stages = {name: deque(maxlen=self.window) for name in STAGES}
        self.cpu_stages = {name: deque(maxlen=self.window) for name in CPU_STAGES}

    def add(self, stage: str, seconds: float) -> None:
        self.stages[stage].append(seconds * 1000.0)

    def add_cpu(self, stage: str, seconds: float) -> None:
        """CPU seconds the stage's own thread spent on one frame (``time.thread_time``)."""
        self.cpu_stages[stage].append(seconds * 1000.0)

    def finish(self) -> None:
        self.finished = time.perf_counter()

    @property
    def processing_fps(self) -> float:
        """Frames per second if the stages ran one after another (track + render + sink, not waiting for
        input). The loop overlaps tracking with the rest, so it is a floor, not the throughput:
        ``wall_fps`` is what came out."""
        busy_ms = sum(sum(self.stages[s]) for s in ("track", "smooth", "render", "sink"))
        return round(self.frames / (busy_ms / 1000.0), 2) if busy_ms > 0 else 0.0

    @property
    def wall_fps(self) -> float:
        """Frames per second of wall-clock time, input waits included."""
        end = self.finished if self.finished is not None else time.perf_counter()
        elapsed = end - self.started
        return round(self.frames / elapsed, 2) if elapsed > 0 else 0.0

    def as_dict(self) -> dict:
        result = {
            "frames": self.frames,
            "frames_with_face": self.frames_with_face,
            "faces_drawn": self.faces_drawn,
            "bad_frames": self.bad_frames,
            "camera_unavailable_frames": self.placeholders,
            "processing_fps": self.processing_fps,
            "wall_fps": self.wall_fps,
            "stages": {name: summarize(self.stages[name]) for name in STAGES},
            "stages_cpu": {name: summarize(self.cpu_stages[name]) for name in CPU_STAGES},
        }
        if self.dropped_frames is not None:
            result["dropped_frames"] = self.dropped_frames
        return result

    def write_json(self, path: str | Path) -> None:
        """Write the figures whole or not at all (beside ``path``, then renamed over it)."""
        check_output(path, "--stats-json")
        write_bytes(path, (json.dumps(self.as_dict(), indent=2) + "\n").encode("utf-8"), "--stats-json")

    def summary_line(self) -> str:
        stages = self.as_dict()["stages"]
        parts = [f"{name} {stages[name]['median_ms']:.1f} ms" for name in STAGES if stages[name]]
        return (
            f"{self.frames} frames, {self.frames_with_face} with a face, {self.wall_fps:.1f} fps"
            + (f" ({', '.join(parts)} median)" if parts else "")
        )


class LiveMeter:
    """Frames per second and latency over the last second or so, for the operator's readout.

    ``sent`` is called once per frame with how long the frame took from being
    read (or captured, for a camera) to being handed to the sink.
    """

    def __init__(self, window_s: float = 1.0, clock=time.monotonic) -> None:
        self.window_s = window_s
        self.clock = clock
        self.started = clock()
        self._times: deque = deque()
        self._latencies: deque = deque(maxlen=120)

    def sent(self, latency_s: float) -> None:
        now = self.clock()
        self._times.append(now)
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()
        self._latencies.append(latency_s * 1000.0)

    @property
    def fps(self) -> float:
        times = self._times
        if len(times) < 2:
            return 0.0
        span = times[-1] - times[0]
        return round((len(times) - 1) / span, 1) if span > 0 else 0.0

    @property
    def latency_ms(self) -> float:
        recent = list(self._latencies)[-30:]
        return round(float(np.median(recent)), 1) if recent else 0.0

    @property
    def uptime_s(self) -> float:
        return round(self.clock() - self.started, 1)
