"""Latency: from a frame entering the source to leaving the sink, at 720p30 with a live source.

A synthetic live camera delivers a real face clip (looped) at exactly 30 fps
through the product's own ``CameraSource`` (capture thread, newest-frame-wins
mailbox); the frame's "entered" time is when the capture read returned. The
product's loop runs as ``arfilter run`` does (tracker, stabiliser, look,
presenter with a caption and the readout, virtual-camera sink with its sender
thread); the sink's camera records when each frame really left. In the same
run the tracker stage's own time is measured, so the figure reported is what
arfilter adds on top of the landmark model, in frame periods.

Run:  python benchmarks/bench_latency.py [--seconds 20] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from arfilter.operator.campaign import CampaignOptions, CampaignLayer
from arfilter.session.controls import Controls
from arfilter.app.live import make_switcher
from arfilter.settings.config import LooksConfig
from arfilter.tracking.model import resolve_model
from arfilter.session.loop import run_pipeline
from arfilter.session.present import Presenter
from arfilter.io.sinks import VirtualCameraSink
from arfilter.io.sources import CameraSource
from arfilter.tracking.stabilize import FaceStabilizer
from arfilter.session.stats import RunStats
from arfilter.io.synthetic import fit_canvas
from arfilter.tracking.tracker import FaceTracker, TrackerOptions

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # PacedCapture, the stand-in camera, is test code: not in the package
from paced import PacedCapture  # noqa: E402


PENDING: dict[int, tuple[float, np.ndarray]] = {}  # id(output) -> (when its frame entered, the output)
LATENCIES: list[float] = []  # seconds, frame entered -> frame left the sink


CURRENT = [0.0]  # when the frame now in the loop entered the source


def tag(frame) -> None:
    """Note when the frame being shown entered (a live source's timestamp is its capture time); the loop
    calls it as each frame's turn comes (``showing``): its tracker reads a frame ahead on its own thread."""
    CURRENT[0] = frame.timestamp


class TimedSink(VirtualCameraSink):
    """The product's virtual-camera sink, noting which frame each output came from before handing it over."""

    def send(self, image: np.ndarray) -> None:
        PENDING[id(image)] = (CURRENT[0], image)  # holding the array keeps its id unique until it leaves
        if len(PENDING) > 8:  # a frame replaced in the slot before it was sent never leaves
            for key in list(PENDING)[:-8]:
                PENDING.pop(key, None)
        super().send(image)


class TimedCamera:
    """pyvirtualcam.Camera's stand-in: converts to I420 as its Linux backend does, and notes when each frame left."""

    def __init__(self, width, height, fps, fmt, device=None, backend=None) -> None:
        self.device = "benchmark"
        self.sent = 0

    def send(self, image: np.ndarray) -> None:
        cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)
        self.sent += 1
        item = PENDING.pop(id(image), None)
        if item is not None:
            LATENCIES.append(time.monotonic() - item[0])

    def close(self) -> None:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=REPO.parent / "shared" / "media")
    parser.add_argument("--clip", default="webcam_glasses_720x1280.mp4")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    size, fps = (1280, 720), 30.0
    capture = cv2.VideoCapture(str(args.media / args.clip))
    frames = []
    while len(frames) < 150:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(fit_canvas(image, size))
    model = resolve_model(None, progress=sys.stderr)
    cameras: list[TimedCamera] = []

    stats = RunStats()
    with FaceTracker(TrackerOptions(model_path=model, max_faces=2)) as tracker, \
            make_switcher(model, LooksConfig(start="black_eye_left"), report=lambda line: None) as looks, \
            CameraSource(0, size=size, fps=fps, capture_factory=lambda device: PacedCapture(frames, fps)) as source, \
            TimedSink(size=size, fps=fps, camera_factory=lambda **kw: cameras.append(TimedCamera(**kw)) or cameras[-1]) as sink:
        source.prepare = tracker.prepare  # as app.live does: the capture thread makes the model's input
        controls = Controls(looks, stats=True, report=lambda line: None)
        campaign = CampaignLayer(CampaignOptions(caption="#NoMoreSilence", helpline="Helpline 0808 2000 247",
                                                 qr_url="https://nomoresilence.campaign/help"))
        presenter = Presenter(controls, campaign)
        stop = threading.Timer(args.seconds, source.close)
        stop.start()
        run_pipeline(source, tracker, looks.paint, sink, smoother=FaceStabilizer(), stats=stats,
                     controls=controls, present=presenter, showing=tag)
        stop.cancel()
        time.sleep(0.1)
    warm = 30  # the first second: model warm-up, looks still loading
    latencies = [seconds * 1e3 for seconds in LATENCIES[warm:]]
    track = np.array(list(stats.stages["track"])[warm:])
    period_ms = 1e3 / fps
    added = np.array(latencies) - float(np.median(track))
    result = {
        "machine": f"{platform.machine()} ({os.cpu_count()} cores)",
        "size": "1280x720", "fps": fps, "seconds": args.seconds, "clip": args.clip,
        "frames_processed": stats.frames, "dropped_frames": int(source.dropped), "repeats": sink.repeats,
        "frames_sent_to_virtual_camera": cameras[0].sent,
        "latency_ms": {"median": float(np.median(latencies)), "p95": float(np.percentile(latencies, 95)),
                       "n": len(latencies)},
        "model_ms": {"median": float(np.median(track)), "p95": float(np.percentile(track, 95))},
        "added_ms": {"median": float(np.median(added)), "p95": float(np.percentile(added, 95))},
        "added_frame_periods": {"median": float(np.median(added) / period_ms),
                                "p95": float(np.percentile(added, 95) / period_ms)},
        "stages_ms": {name: summary for name, summary in stats.as_dict()["stages"].items()},
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
