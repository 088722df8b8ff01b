"""The virtual camera's pacing under real time: what tests/test_sinks.py no longer asserts.

Three runs of ``VirtualCameraSink`` on a stand-in camera that records when each frame left:

* a slow pipeline (10 fps into a 30 fps camera): frames sent per second and the gaps between
  them (the sender repeats the last frame, so the consumer sees a steady 30 fps);
* a 15 fps pipeline: how long a new frame waits before it leaves (it should go at once,
  not at the next tick);
* a 100 fps source: frames sent per second (capped near the camera's rate).

These are timings, so they depend on the machine and its load: they are measured here and
reported, never asserted in the unit tests. Expected on an idle machine: about 30 frames a
second with a median gap of 33 ms; a new frame leaves within a few ms; the cap holds 28-38 fps.

Run:  python benchmarks/bench_pacing.py [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from arfilter.io.virtualcam import VirtualCameraSink


class TimedCamera:
    """Records when (time.monotonic) and what each frame was sent."""

    def __init__(self, width, height, fps, fmt, device=None, backend=None):
        self.device = "/dev/bench"
        self.sent: list[tuple[float, int]] = []

    def send(self, image: np.ndarray) -> None:
        self.sent.append((time.monotonic(), int(image[0, 0, 0])))

    def close(self) -> None:
        pass


def _sink(size: tuple[int, int], fps: float) -> tuple[VirtualCameraSink, list[TimedCamera]]:
    cams: list[TimedCamera] = []
    sink = VirtualCameraSink(size=size, fps=fps, camera_factory=lambda **kw: cams.append(TimedCamera(**kw)) or cams[-1])
    return sink, cams


def slow_pipeline(seconds: float = 2.0) -> dict:
    sink, cams = _sink((320, 180), 30.0)
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        sink.send(np.full((360, 640, 3), 255, np.uint8))
        time.sleep(0.1)
    sink.close()
    gaps = np.diff([t for t, _ in cams[0].sent[1:-1]])
    return {"fps_sent": (len(cams[0].sent) - 2) / seconds, "gap_median_ms": 1000 * float(np.median(gaps)),
            "gap_max_ms": 1000 * float(gaps.max()), "repeats": sink.repeats}


def new_frame_latency(frames: int = 30) -> dict:
    sink, cams = _sink((64, 48), 30.0)
    time.sleep(0.2)
    delays = []
    for number in range(1, frames + 1):
        handed = time.monotonic()
        sink.send(np.full((48, 64, 3), number, np.uint8))
        time.sleep(1 / 15)
        delays.append(next(t for t, value in cams[0].sent if value == number) - handed)
    sink.close()
    return {"latency_median_ms": 1000 * float(np.median(delays)), "latency_max_ms": 1000 * float(max(delays))}


def fast_source(seconds: float = 2.0) -> dict:
    sink, cams = _sink((64, 48), 30.0)
    time.sleep(0.2)
    count, start = len(cams[0].sent), time.monotonic()
    while time.monotonic() - start < seconds:
        sink.send(np.full((48, 64, 3), 200, np.uint8))
        time.sleep(0.01)
    sent = len(cams[0].sent) - count
    sink.close()
    return {"fps_sent_from_100fps": sent / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    figures = {"slow_pipeline": slow_pipeline(), "new_frame": new_frame_latency(), "fast_source": fast_source()}
    for name, values in figures.items():
        print(name + ": " + ", ".join(f"{key} {value:.1f}" for key, value in values.items()))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(figures, handle, indent=2)


if __name__ == "__main__":
    main()
