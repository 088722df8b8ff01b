"""Soak: the whole live session for a long time, watching memory, threads and file descriptors.

Can ``arfilter run`` stay up for the days of an exhibition? This runs the
product's own live session (``arfilter.app.live.run_session``, what ``arfilter
run`` calls) with the same pieces and settings as ``arfilter run`` with an
event file: the real ``FaceTracker`` (2 faces), the stabiliser the command
line builds, a ``LookSwitcher`` whose looks rotate every ``--rotate-every``
seconds, the campaign layer (caption, helpline and QR code), the stats
readout on, the control panel on 127.0.0.1, and the virtual-camera sink with
its sender thread. Only the two devices are replaced: the camera by
``PacedCapture`` (a real face clip, looped, delivered at 30 fps through the
product's ``CameraSource``) and the pyvirtualcam driver by a stand-in that
does what its Linux backend does per frame (BGR to I420). An operator thread
uses the control panel as its page does (state every second, the live MJPEG
preview open, and now and then the privacy curtain, captions, intensity or a
look); the product applies those between frames.

Every ``--sample`` seconds it records the process's RSS (VmRSS, and its
anonymous part RssAnon: heap, not mapped files) from /proc/self/status, the
threads (``threading.active_count()`` and /proc/self/task), the open file
descriptors (/proc/self/fd), the memory blocks Python holds
(``sys.getallocatedblocks``), and the frames processed. Threads and descriptors are the lowest of 5 reads
20 ms apart, so a panel request being served at that instant is not counted
as a leak (the highest is kept too).

After the warm-up (``--warmup``; default 30 s or a quarter of the run,
whichever is smaller) it fits least-squares slopes (per hour) and reports
growth: the HIGHEST value among the last 3 samples minus the sample at the
end of the warm-up (the first one taken at or after it). Exit code 1 when
RSS grew more than ``--max-growth-mb`` (default 20) or threads or
descriptors grew at all (a leak), 2 when the session itself failed, else 0.

Bounded on purpose: ``RunStats`` keeps the last 20 000 timings of each of
its 5 stages (about 32 bytes each), so RSS rises by up to ~3 MB during the
first 11 minutes at 30 fps and then stays flat; the report shows that share
(``stats_window_mb``) so a short run's slope is not misread as a leak.

Linux only (/proc). Headless (no window), and nothing leaves the computer:
the only socket is the control panel's, on loopback.

Run:  ARFILTER_MODEL=../shared/models/face_landmarker.task \\
      python benchmarks/soak.py [--seconds 600] [--json soak.json]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import socket
import sys
import threading
import time
import urllib.request
from argparse import Namespace
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # PacedCapture, the stand-in camera, is test code: not in the package
STAT_SAMPLE_BYTES = 32  # a float object (24) and its slot in the deque (8)


# --- the two devices ---------------------------------------------------------------------------

class StandInCamera:
    """pyvirtualcam.Camera's stand-in: converts to I420 as its Linux backend does, and counts."""

    sent = 0  # every frame handed to any camera of this run (the sink makes one)

    def __init__(self, width, height, fps, *, fmt=None, device=None, backend=None, **kw) -> None:
        self.width, self.height = width, height
        self.device = "soak stand-in"

    def send(self, image: np.ndarray) -> None:
        if image.shape[:2] != (self.height, self.width):
            raise ValueError(f"frame of shape {image.shape}, expected {(self.height, self.width, 3)}")
        cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)
        StandInCamera.sent += 1

    def close(self) -> None:
        pass


def load_clip(path: Path, size: tuple[int, int], count: int) -> list[np.ndarray]:
    from arfilter.io.synthetic import fit_canvas

    # One block for all frames: a list of separately allocated 2.7 MB arrays, made between
    # larger temporaries, leaves the heap fragmented and the baseline RSS hundreds of MB higher.
    frames = np.empty((count, size[1], size[0], 3), np.uint8)
    capture = cv2.VideoCapture(str(path))
    read = 0
    while read < count:
        ok, image = capture.read()
        if not ok:
            break
        frames[read] = fit_canvas(image, size)
        read += 1
    capture.release()
    if not read:
        raise SystemExit(f"soak: {path} has no readable frames; give a face clip with --clip")
    return list(frames[:read])


# --- measurements ------------------------------------------------------------------------------

def _status_kb(field: str) -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return float(line.split()[1])
    return float("nan")


def _count(folder: str) -> int:
    """Entries of a /proc folder (for /proc/self/fd, not counting the descriptor that lists it)."""
    names = os.listdir(folder)
    return len(names) - 1 if folder.endswith("/fd") else len(names)


def measure() -> dict:
    reads = []
    for attempt in range(5):
        reads.append((threading.active_count(), _count("/proc/self/task"), _count("/proc/self/fd")))
        if attempt < 4:
            time.sleep(0.02)
    py, os_threads, fds = (min(column) for column in zip(*reads))
    return {
        "rss_mb": _status_kb("VmRSS") / 1024.0,
        "rss_anon_mb": _status_kb("RssAnon") / 1024.0,
        "rss_file_mb": _status_kb("RssFile") / 1024.0,
        "threads_py": py, "threads_os": os_threads, "fds": fds,
        "threads_os_max": max(read[1] for read in reads), "fds_max": max(read[2] for read in reads),
        # Memory blocks the interpreter holds, not len(gc.get_objects()): listing every object from this
        # thread hands out references to tuples other threads are still building (``tuple(generator)``),
        # and CPython then fails them ("SystemError: Objects/tupleobject.c: bad argument to internal
        # function"): the soak itself broke frames of the session it watched, and once the session.
        "py_blocks": sys.getallocatedblocks(),
    }


def thread_names() -> list[str]:
    """Python's threads by name, then the OS threads that are not Python's (native libraries' pools)."""
    python = [thread.name for thread in threading.enumerate()]
    native = _count("/proc/self/task") - len(python)
    return python + [f"(native thread {i + 1})" for i in range(max(0, native))]


def slope_per_hour(times_s: list[float], values: list[float]) -> float | None:
    """Least-squares slope of ``values`` against time, per hour (None with fewer than 3 points)."""
    if len(times_s) < 3 or max(times_s) - min(times_s) <= 0:
        return None
    slope, _ = np.polyfit(np.asarray(times_s) / 3600.0, np.asarray(values, dtype=float), 1)
    return float(slope)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- the operator --------------------------------------------------------------------------------

class Operator:
    """Uses the control panel as its page does: the state every second, the MJPEG preview open,
    and every ``every`` seconds one change (curtain on for a moment, captions, intensity, a look)."""

    ACTIONS = (("curtain", True), ("curtain", False), ("captions", False), ("captions", True),
               ("intensity", 1.4), ("next", None), ("intensity", 1.0), ("curtain", None), ("curtain", None))

    def __init__(self, base: str, every: float, stop: threading.Event) -> None:
        self.base, self.every, self.stop = base, every, stop
        self.actions = self.errors = self.state_polls = self.preview_bytes = 0
        self.looks_seen: list[str] = []
        self.last_error = ""
        self.figures: dict = {}
        self._threads = [threading.Thread(target=self._control, name="soak-operator", daemon=True),
                         threading.Thread(target=self._preview, name="soak-preview", daemon=True)]

    def start(self) -> "Operator":
        for thread in self._threads:
            thread.start()
        return self

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=15)

    def _call(self, path: str, body: dict | None = None):
        request = urllib.request.Request(self.base + path, method="GET" if body is None else "POST",
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={} if body is None else {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def _control(self) -> None:
        next_action = time.monotonic() + self.every
        step = 0
        while not self.stop.wait(1.0):
            try:
                state = self._call("/api/state")
                self.state_polls += 1
                self.figures = state.get("live", {})
                if not self.looks_seen or self.looks_seen[-1] != state.get("look"):
                    self.looks_seen.append(state.get("look"))
                if time.monotonic() >= next_action:
                    action, value = self.ACTIONS[step % len(self.ACTIONS)]
                    self._call("/api/action", {"action": action, "value": value})
                    self.actions += 1
                    step += 1
                    next_action = time.monotonic() + self.every
            except (OSError, ValueError) as exc:  # the panel is not up yet, or the session is closing
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"

    def _preview(self) -> None:
        """One live preview, as the open page keeps; reconnects if it drops."""
        while not self.stop.is_set():
            try:
                with urllib.request.urlopen(self.base + "/stream.mjpg", timeout=10) as response:
                    while not self.stop.is_set():
                        chunk = response.read(65536)
                        if not chunk:
                            break
                        self.preview_bytes += len(chunk)
            except (OSError, ValueError):
                pass
            self.stop.wait(1.0)


# --- the run -------------------------------------------------------------------------------------

def run(args: argparse.Namespace) -> dict:
    import pyvirtualcam

    import arfilter.io.sources
    from arfilter.operator.campaign import CampaignOptions
    from arfilter.settings.config import ControlsConfig, EventConfig, LooksConfig
    from arfilter.app.live import run_session
    from arfilter.tracking.model import resolve_model
    from arfilter.io.sources import CameraSource
    from arfilter.session.stats import RunStats
    from paced import PacedCapture
    # The renderer's kernels, its shaders' among them, are compiled (seconds, once per cache folder) before
    # the clock and the operator start: the soak is about a session that runs, not its first start.
    import arfilter.render.renderer  # noqa: F401

    size, fps = args.size, args.fps
    frames = load_clip(args.media / args.clip, size, args.loop_frames)
    model = resolve_model(None, progress=sys.stderr)
    port = free_port()
    config = EventConfig(
        source="0", sink="virtualcam", size=size, fps=fps, max_faces=2, model=str(model),
        looks=LooksConfig(start="black_eye_left", rotate_every=args.rotate_every),
        campaign=CampaignOptions(caption="#NoMoreSilence", helpline="Helpline 0808 2000 247",
                                 qr_url="https://nomoresilence.campaign/help"),
        controls=ControlsConfig(web=f"127.0.0.1:{port}", stats=True, captions=True))

    opened: list = []

    def open_camera(spec: str, *, size=size, fps=fps, repeat_images=None):
        source = CameraSource(int(spec), size=size, fps=fps,
                              capture_factory=lambda device: PacedCapture(frames, fps))
        opened.append(source)
        return source

    stats = RunStats()  # the default window, as arfilter run uses
    samples: list[dict] = []
    stop = threading.Event()
    operator = Operator(f"http://127.0.0.1:{port}", args.operator_every, stop)
    failure: list[str] = []
    gc.collect()
    baseline = measure()
    baseline["thread_names"] = thread_names()
    start = time.monotonic()

    def sampler() -> None:
        next_sample = start
        end = start + args.seconds
        while True:
            now = time.monotonic()
            if now >= next_sample:
                sample = {"t_s": round(now - start, 2), "frames": stats.frames, "bad_frames": stats.bad_frames,
                          "dropped": int(getattr(opened[0], "dropped", 0)) if opened else 0,
                          "camera_sent": StandInCamera.sent,
                          "stats_window_mb": sum(len(d) for d in stats.stages.values()) * STAT_SAMPLE_BYTES / 2**20,
                          "looks_seen": len(operator.looks_seen), "operator_actions": operator.actions,
                          "panel_fps": operator.figures.get("fps")}
                sample.update(measure())
                samples.append(sample)
                print_row(sample, samples)
                next_sample += args.sample
            if now >= end or failure:
                break
            time.sleep(max(0.0, min(next_sample, end) - time.monotonic()))
        stop.set()
        if opened:
            opened[0].close()  # the camera ends: the loop ends and the session closes everything

    print_header(args)
    sampling = threading.Thread(target=sampler, name="soak-sampler", daemon=True)
    operator.start()
    sampling.start()
    with _patched(arfilter.io.sources, "open_source", open_camera), _patched(pyvirtualcam, "Camera", StandInCamera):
        try:
            run_session(config, stats=stats)
            if not stop.is_set():
                failure.append(f"the session ended on its own after {time.monotonic() - start:.0f} s")
        except BaseException as exc:  # noqa: BLE001 - reported, then the exit code says so
            failure.append(f"the session failed: {type(exc).__name__}: {exc}")
    stop.set()
    sampling.join(timeout=args.sample + 5)
    operator.join()
    if not opened:
        failure.append("the session did not open the soak's camera (arfilter.io.sources.open_source was not used); "
                       "update benchmarks/soak.py to how arfilter.app.live opens sources now")
    elapsed = time.monotonic() - start
    time.sleep(0.5)  # the panel's and sink's threads finish closing
    gc.collect()
    after_close = measure()
    after_close["thread_names"] = thread_names()
    return summarize(args, samples, baseline, after_close, elapsed, stats, operator, failure,
                     opened[0] if opened else None)


@contextlib.contextmanager
def _patched(module, name: str, value):
    old = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, old)


COLUMNS = ("t_s", "frames", "fps", "rss_mb", "rss_anon_mb", "stats_window_mb", "threads_py", "threads_os", "fds",
           "py_blocks", "looks_seen", "operator_actions")


def print_header(args) -> None:
    print(f"soak: {args.seconds:g} s of arfilter's live session at {args.size[0]}x{args.size[1]} {args.fps:g} fps, "
          f"sampling every {args.sample:g} s", flush=True)
    print(" ".join(f"{name:>16}" if name == "stats_window_mb" else f"{name:>11}" for name in COLUMNS), flush=True)


def print_row(sample: dict, samples: list[dict]) -> None:
    if len(samples) >= 2:
        before = samples[-2]
        span = sample["t_s"] - before["t_s"]
        sample["fps"] = round((sample["frames"] - before["frames"]) / span, 1) if span > 0 else 0.0
    else:
        sample["fps"] = 0.0
    cells = []
    for name in COLUMNS:
        value = sample[name]
        text = f"{value:.1f}" if isinstance(value, float) else str(value)
        cells.append(f"{text:>16}" if name == "stats_window_mb" else f"{text:>11}")
    print(" ".join(cells), flush=True)


def summarize(args, samples, baseline, after_close, elapsed, stats, operator, failure, source) -> dict:
    warmup = args.warmup if args.warmup is not None else min(30.0, 0.25 * args.seconds)
    after = [s for s in samples if s["t_s"] >= warmup - 1e-6]
    problems = list(failure)  # the session failed, or there is too little to judge: exit 2
    leaks: list[str] = []  # exit 1
    summary: dict = {"warmup_s": warmup, "elapsed_s": round(elapsed, 1), "frames_processed": stats.frames,
                     "expected_frames": round(elapsed * args.fps), "bad_frames": stats.bad_frames,
                     "dropped_frames": stats.dropped_frames, "frames_sent_to_virtual_camera": StandInCamera.sent,
                     "camera_lost": getattr(source, "lost_count", None), "camera_unavailable_frames":
                         getattr(stats, "placeholders", None),
                     "looks_seen": len(operator.looks_seen), "operator_actions": operator.actions,
                     "operator_errors": operator.errors, "operator_last_error": operator.last_error,
                     "preview_bytes": operator.preview_bytes, "stages_ms": stats.as_dict()["stages"],
                     "before_start": baseline, "after_close": after_close,
                     "growth_rule": "highest of the last 3 samples minus the first sample at or after the warm-up"}
    if len(after) < 3:
        problems.append(f"only {len(after)} samples after the {warmup:g} s warm-up; run longer or sample more often")
    else:
        start, tail = after[0], after[-3:]
        times = [s["t_s"] for s in after]
        for key in ("rss_mb", "rss_anon_mb", "threads_os", "threads_py", "fds", "py_blocks", "stats_window_mb"):
            values = [s[key] for s in after]
            summary[key] = {"at_warmup_end": start[key], "end": max(s[key] for s in tail),
                            "growth": max(s[key] for s in tail) - start[key], "max": max(values),
                            "slope_per_hour": slope_per_hour(times, values)}
        summary["rss_growth_without_stats_window_mb"] = (summary["rss_mb"]["growth"]
                                                         - summary["stats_window_mb"]["growth"])
        growth = summary["rss_mb"]["growth"]
        if growth > args.max_growth_mb:
            leaks.append(f"RSS grew {growth:.1f} MB after the warm-up (limit {args.max_growth_mb:g} MB)")
        for key, what in (("threads_os", "threads"), ("threads_py", "Python threads"), ("fds", "file descriptors")):
            if summary[key]["growth"] > 0:
                leaks.append(f"{what} grew from {summary[key]['at_warmup_end']} to {summary[key]['end']} "
                                "after the warm-up (a leak)")
    summary["failures"] = problems
    summary["leaks"] = leaks
    summary["ok"] = not problems and not leaks
    return {"machine": f"{platform.machine()} ({os.cpu_count()} cores), Python {platform.python_version()}",
            "settings": {"seconds": args.seconds, "sample_s": args.sample, "warmup_s": warmup,
                         "max_growth_mb": args.max_growth_mb, "size": f"{args.size[0]}x{args.size[1]}",
                         "fps": args.fps, "clip": args.clip, "loop_frames": args.loop_frames,
                         "rotate_every_s": args.rotate_every, "operator_every_s": args.operator_every},
            "summary": summary, "samples": samples}


def report(result: dict) -> None:
    s = result["summary"]
    print()
    print(f"frames processed {s['frames_processed']} in {s['elapsed_s']:g} s (30 fps would be {s['expected_frames']}), "
          f"dropped {s['dropped_frames']}, bad {s['bad_frames']}, sent to the virtual camera "
          f"{s['frames_sent_to_virtual_camera']}; looks seen {s['looks_seen']}, operator actions "
          f"{s['operator_actions']} ({s['operator_errors']} failed requests)")
    if "rss_mb" in s:
        print(f"after the {s['warmup_s']:g} s warm-up ({s['growth_rule']}):")
        for key, unit in (("rss_mb", "MB"), ("rss_anon_mb", "MB"), ("stats_window_mb", "MB"),
                          ("threads_os", ""), ("threads_py", ""), ("fds", ""), ("py_blocks", "")):
            item = s[key]
            slope = item["slope_per_hour"]
            print(f"  {key:<16} {item['at_warmup_end']:>10.1f} -> {item['end']:>10.1f}  growth {item['growth']:+.1f} {unit}"
                  f"  slope {'n/a' if slope is None else f'{slope:+.1f}'} {unit}/h")
        print(f"  RSS growth outside the bounded stats window: {s['rss_growth_without_stats_window_mb']:+.1f} MB")
    print(f"before start: {s['before_start']['threads_os']} threads, {s['before_start']['fds']} fds; "
          f"after close: {s['after_close']['threads_os']} threads, {s['after_close']['fds']} fds")
    extra = [name for name in s["after_close"]["thread_names"] if name not in s["before_start"]["thread_names"]]
    if extra:
        print(f"  threads left after close (not started before): {', '.join(extra)}")
    print("OK" if s["ok"] else "FAIL: " + "; ".join(s["failures"] + s["leaks"]), flush=True)


def parse_size(text: str) -> tuple[int, int]:
    width, height = (int(part) for part in text.lower().split("x"))
    return width, height


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="how long to run (default: 600)")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between samples (default: 5)")
    parser.add_argument("--warmup", type=float, default=None,
                        help="seconds before growth counts (default: 30 or a quarter of the run, the smaller)")
    parser.add_argument("--max-growth-mb", type=float, default=20.0,
                        help="fail when RSS grows more than this after the warm-up (default: 20)")
    parser.add_argument("--json", type=Path, help="write the settings, summary and every sample here")
    parser.add_argument("--media", type=Path, default=REPO.parent / "shared" / "media")
    parser.add_argument("--clip", default="webcam_glasses_720x1280.mp4", help="the face clip the camera loops")
    parser.add_argument("--loop-frames", type=int, default=150, help="frames of the clip to loop (default: 150)")
    parser.add_argument("--size", type=parse_size, default=(1280, 720))
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--rotate-every", type=float, default=3.0, help="seconds between look changes (default: 3)")
    parser.add_argument("--operator-every", type=float, default=4.0,
                        help="seconds between the operator's changes on the panel (default: 4)")
    args = parser.parse_args(argv)
    if not Path("/proc/self/status").exists():
        parser.error("needs Linux's /proc to measure the process")
    os.environ.pop("DISPLAY", None)  # headless: nothing here may open a window
    result = run(args)
    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    if result["summary"]["failures"]:
        return 2
    return 1 if result["summary"]["leaks"] else 0


if __name__ == "__main__":
    sys.exit(main())
