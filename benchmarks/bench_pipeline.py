"""What users get: the CLI's own session on real decoded clips, against MediaPipe's model alone.

Per clip size, each case is timed ``--runs`` times (interleaved: run 1 of every case, then run 2, ...)
and every figure is the median of the runs:

* ``run_null``: ``arfilter run --source CLIP --sink null``: the ``EventConfig`` the CLI's own parser
  and ``cli.main.event_config`` build from those flags, run by ``app.live.run_session`` in this
  process (file decoding on its read-ahead thread, tracker, stabiliser, the default look, presenter).
* ``run_virtualcam``: ``arfilter run --source CLIP [--size 1920x1080]``: the same with the default
  sink, the virtual camera: the real ``VirtualCameraSink`` and its sender thread, and pyvirtualcam's
  real ``Camera`` over a stand-in backend that does what the v4l2loopback backend does up to the
  device write (BGR to I420 into a frame buffer) and discards the bytes. A file played into a live
  sink is paced at its own rate (30 fps), so its wall time per frame is the clip's period: read its
  CPU per frame and cores busy.
* ``apply_mp4``: ``arfilter apply CLIP -o out.mp4`` (H.264), the whole command as a child process:
  start-up and model load included.
* ``model_stock`` / ``model_no_blendshapes``: MediaPipe's ``FaceLandmarker`` alone on the same clip
  decoded into memory first (RGB ``mp.Image`` made outside the clock): the bundle as Google ships it,
  and ``tracking.tracker.landmarks_only_bundle`` (without the blendshape network). Flags: VIDEO mode,
  num_faces=2, output_face_blendshapes=False, output_facial_transformation_matrixes=False.

Per case: fps, ms per frame (wall), CPU ms per frame (every thread of this process, ``process_time``;
the child's for apply), cores busy (CPU / wall), stage medians and p95 (``RunStats``), the render stage's
also on its own thread's CPU clock (``stages_cpu``: drawing without the waits for a core that the model
and the decoder cause on two cores), and ms and CPU ms per frame over both models'. Live runs count
from the first frame out to the last (start-up left out; the whole command's wall and CPU beside).
Clips: 720p is ``webcam_glasses_720x1280.mp4`` itself; 1080p is it upscaled to 1080x1920 (bicubic),
libx264 CRF 18, made once into ``$ARFILTER_BENCH_CACHE`` (default ``~/.cache/arfilter-bench``); the
landscape pair is it scaled to fit 1280x720 / 1920x1080 with black bars left and right (what the virtual
camera sends for a portrait source).

    ARFILTER_MODEL=../shared/models/face_landmarker.task .venv/bin/python benchmarks/bench_pipeline.py --runs 3
    .venv/bin/python benchmarks/bench_pipeline.py --quick --json /tmp/p.json    # a smoke test: 16 frames, 1 run
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from arfilter.core.framing import letterbox  # noqa: E402

CLIP = "webcam_glasses_720x1280.mp4"
# label -> (clip size, how it is made from the 720x1280 clip, --size for the virtual camera)
SIZES: dict[str, tuple[tuple[int, int], str, str]] = {
    "720p": ((720, 1280), "original", "1280x720"),
    "1080p": ((1080, 1920), "upscaled", "1920x1080"),
    "720p-landscape": ((1280, 720), "pillarboxed", "1280x720"),
    "1080p-landscape": ((1920, 1080), "pillarboxed", "1920x1080"),
}
CASES = ("run_null", "run_virtualcam", "apply_mp4", "model_stock", "model_no_blendshapes")
MODELS = ("model_stock", "model_no_blendshapes")
CRF, PRESET = 18, "veryfast"


def make_clip(source: Path, out: Path, size: tuple[int, int], how: str, frames: int | None) -> None:
    """``source`` re-encoded at ``size`` (libx264 CRF 18, 30 fps), written beside ``out`` then renamed."""
    import av

    partial = out.with_name(out.name + ".partial")
    with av.open(str(source)) as reader, av.open(str(partial), "w", format="mp4") as writer:
        stream = writer.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"crf": str(CRF), "preset": PRESET}
        for index, decoded in enumerate(reader.decode(video=0)):
            if frames is not None and index >= frames:
                break
            image = np.ascontiguousarray(decoded.to_ndarray(format="bgr24"))
            if how == "upscaled":
                image = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
            elif how == "pillarboxed":
                image = letterbox(image, size)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                writer.mux(packet)
        for packet in stream.encode():
            writer.mux(packet)
    os.replace(partial, out)


def clip_for(label: str, media: Path, folder: Path, frames: int | None) -> Path:
    """The clip of ``label``: the shared clip itself for 720p, else one made once into ``folder``."""
    size, how, _ = SIZES[label]
    source = media / CLIP
    if how == "original" and frames is None:
        return source
    out = folder / f"{source.stem}_{size[0]}x{size[1]}_{how}_crf{CRF}{'' if frames is None else f'_{frames}f'}.mp4"
    if not out.is_file():
        print(f"making {out} ...", file=sys.stderr, flush=True)
        make_clip(source, out, size, how, frames)
    return out


def per_frame(frames: int, wall_s: float, cpu_s: float) -> dict[str, float]:
    """The figures every case reports, from its frame count and its wall and CPU seconds."""
    return {"frames": frames, "fps": round(frames / wall_s, 2), "ms_per_frame": round(1e3 * wall_s / frames, 3),
            "cpu_ms_per_frame": round(1e3 * cpu_s / frames, 3), "cores_busy": round(cpu_s / wall_s, 3)}


def thread_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds so far of every thread of this process (Linux): native id -> (name, seconds). Python
    threads by their Python name, native ones (MediaPipe's, FFmpeg's) by the kernel's."""
    names = {thread.native_id: thread.name for thread in threading.enumerate() if thread.native_id}
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, tuple[str, float]] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as comm, open(f"/proc/self/task/{tid}/stat") as stat:
                name, fields = comm.read().strip(), stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        out[int(tid)] = (names.get(int(tid), name), (int(fields[11]) + int(fields[12])) / tick)
    return out


# Which part of the product a thread's CPU belongs to, by its name (first match).
THREAD_ROLES = (("model", ("drishti", "ThreadPoolExecutor", "arfilter-track", "arfilter-models")),
                ("decode", ("arfilter-decode", "av:")),
                ("render_present", ("MainThread",)),
                ("sink", ("arfilter-virtualcam", "arfilter-encode")),
                ("looks_preload", ("arfilter-looks",)))


def role_of(name: str) -> str:
    return next((role for role, prefixes in THREAD_ROLES if name.startswith(prefixes)), "other")


class FrameClock:
    """Notes wall and CPU time when the first and the last frame leave the loop (``on_frame``), and
    every thread's CPU then (and every 8th frame, for threads that end before the last one)."""

    def __init__(self) -> None:
        self.count = 0
        self.first: tuple[float, float] | None = None
        self.last: tuple[float, float] | None = None
        self.threads_first: dict[int, tuple[str, float]] = {}
        self.threads_last: dict[int, tuple[str, float]] = {}

    def __call__(self, *_: Any) -> None:
        self.count += 1
        self.last = (time.perf_counter(), time.process_time())
        if self.first is None:
            self.first = self.last
            self.threads_first = thread_cpu()
        elif self.count % 8 == 0:
            self.threads_last.update(thread_cpu())

    def figures(self) -> dict[str, Any]:
        """From the first frame out to the last: steady state, start-up and model warm-up left out."""
        assert self.first and self.last and self.count > 1, "the session sent fewer than two frames"
        self.threads_last.update(thread_cpu())
        frames = self.count - 1
        by_role: dict[str, float] = {}
        for tid, (name, seconds) in self.threads_last.items():
            spent = seconds - self.threads_first.get(tid, (name, 0.0))[1]
            by_role[role_of(name)] = by_role.get(role_of(name), 0.0) + spent
        return {**per_frame(frames, self.last[0] - self.first[0], self.last[1] - self.first[1]),
                "cpu_ms_per_frame_by_thread": {role: round(1e3 * by_role.get(role, 0.0) / frames, 2)
                                               for role in [*(r for r, _ in THREAD_ROLES), "other"]}}


class StandInBackend:
    """pyvirtualcam's v4l2loopback backend up to the device write: it gets the flat BGR frame
    pyvirtualcam's ``Camera.send`` hands it, converts it to I420 into its frame buffer (what the
    native backend does before ``write``) and discards the bytes."""

    sent = 0

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device: str | None, **kw: Any) -> None:
        from pyvirtualcam.util import decode_fourcc

        if decode_fourcc(fourcc) != "24BG":
            raise RuntimeError(f"stand-in backend: BGR expected, got {decode_fourcc(fourcc)!r}")
        self.shape = (height, width, 3)
        self.buffer = np.empty((height * 3 // 2, width), np.uint8)

    def send(self, frame: np.ndarray) -> None:
        cv2.cvtColor(frame.reshape(self.shape), cv2.COLOR_BGR2YUV_I420, dst=self.buffer)
        StandInBackend.sent += 1

    def close(self) -> None:
        pass

    def device(self) -> str:
        return "/dev/video-benchmark"

    def native_fourcc(self) -> None:
        return None  # I420 in the real one; pyvirtualcam only reads it for Camera.native_fmt


@contextmanager
def stand_in_virtual_camera() -> Iterator[None]:
    """pyvirtualcam with the stand-in as its only backend, restored afterwards."""
    from pyvirtualcam import camera

    saved = dict(camera.BACKENDS)
    camera.BACKENDS.clear()
    camera.register_backend("benchmark", StandInBackend)
    try:
        yield
    finally:
        camera.BACKENDS.clear()
        camera.BACKENDS.update(saved)


def run_cli_session(flags: list[str]) -> dict[str, Any]:
    """``arfilter run FLAGS`` as the CLI builds it (its parser and ``event_config``), in this process."""
    from arfilter.app.live import run_session
    from arfilter.cli.main import event_config
    from arfilter.cli.parser import build_parser

    config = event_config(build_parser().parse_args(["run", *flags]))
    clock = FrameClock()
    StandInBackend.sent = 0
    wall, cpu = time.perf_counter(), time.process_time()
    stats = run_session(config, on_frame=clock)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    summary = stats.as_dict()
    result = {**clock.figures(), "whole_command": {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3)},
              "processing_ms_per_frame": round(1e3 / summary["processing_fps"], 3) if summary["processing_fps"] else None,
              "frames_with_face": summary["frames_with_face"], "bad_frames": summary["bad_frames"],
              "stages": summary["stages"], "stages_cpu": summary["stages_cpu"]}
    if config.sink == "virtualcam":
        result["frames_sent_to_camera"] = StandInBackend.sent  # cards and repeats in; frames replaced unsent out
    return result


def run_apply(clip: Path, model: Path) -> dict[str, Any]:
    """``arfilter apply CLIP -o out.mp4``, the whole command in a child process (its CPU from rusage)."""
    import resource
    with tempfile.TemporaryDirectory() as folder:
        out, stats_path = Path(folder) / "out.mp4", Path(folder) / "stats.json"
        env = dict(os.environ, ARFILTER_MODEL=str(model),
                   PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.perf_counter()
        subprocess.run([sys.executable, "-m", "arfilter", "apply", str(clip), "-o", str(out),
                        "--stats-json", str(stats_path)], env=env, check=True, capture_output=True, cwd=folder)
        wall = time.perf_counter() - wall
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        assert out.stat().st_size > 0
        summary = json.loads(stats_path.read_text())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {**per_frame(summary["frames"], wall, cpu), "frames_with_face": summary["frames_with_face"],
            "stages": summary["stages"], "stages_cpu": summary["stages_cpu"]}


def decoded_rgb(clip: Path) -> list[np.ndarray]:
    """Every frame of ``clip`` as RGB in memory (decoding is not what the baselines time)."""
    import av

    with av.open(str(clip)) as reader:
        # contiguous: PyAV pads rows (1080 px of RGB is 3264 bytes a row) and MediaPipe reads them as packed
        return [np.ascontiguousarray(frame.to_ndarray(format="rgb24")) for frame in reader.decode(video=0)]


def time_models(clip: Path, model: Path) -> dict[str, dict[str, Any]]:
    """Both bundles on the same decoded frames, alternating frame by frame (so load hits both alike)."""
    import mediapipe as mp
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core.base_options import BaseOptions

    from arfilter.tracking.tracker import landmarks_only_bundle
    from arfilter.tracking.usage_reports import refuse_usage_reports

    def options(base: BaseOptions) -> Any:
        return vision.FaceLandmarkerOptions(base_options=base, running_mode=vision.RunningMode.VIDEO, num_faces=2,
                                            output_face_blendshapes=False,
                                            output_facial_transformation_matrixes=False)

    frames = decoded_rgb(clip)
    refuse_usage_reports()  # MediaPipe's usage logger stays off the network here too
    times: dict[str, list[tuple[float, float, int]]] = {name: [] for name in MODELS}
    with vision.FaceLandmarker.create_from_options(options(BaseOptions(model_asset_path=str(model)))) as stock, \
            vision.FaceLandmarker.create_from_options(options(BaseOptions(
                model_asset_buffer=landmarks_only_bundle(model)))) as lean:
        for index, rgb in enumerate(frames):
            for name, landmarker in (("model_stock", stock), ("model_no_blendshapes", lean)):
                image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
                wall, cpu = time.perf_counter(), time.process_time()
                found = landmarker.detect_for_video(image, index * 33 + 1)
                times[name].append((time.perf_counter() - wall, time.process_time() - cpu, len(found.face_landmarks)))
    results = {}
    for name, samples in times.items():
        steady = samples[1:]  # the first call warms the graph up, as the live runs' first frame does
        walls = np.array([s[0] for s in steady]) * 1e3
        results[name] = {**per_frame(len(steady), walls.sum() / 1e3, sum(s[1] for s in steady)),
                         "median_ms": round(float(np.median(walls)), 3),
                         "p95_ms": round(float(np.percentile(walls, 95)), 3),
                         "frames_with_face": sum(1 for s in samples if s[2])}
    return results


def one_round(label: str, clip: Path, model: Path) -> dict[str, dict[str, Any]]:
    """Every case once on ``clip``."""
    vsize = SIZES[label][2]
    result = {"run_null": run_cli_session(["--source", str(clip), "--sink", "null"])}
    with stand_in_virtual_camera():
        flags = ["--source", str(clip)] + ([] if vsize == "1280x720" else ["--size", vsize])
        result["run_virtualcam"] = {**run_cli_session(flags), "paced": True}
    result["apply_mp4"] = run_apply(clip, model)
    result.update(time_models(clip, model))
    return result


def median_of(runs: list[Any]) -> Any:
    """The median of every number across runs (dicts recursively); other values from the first run."""
    first = runs[0]
    if isinstance(first, dict):
        return {key: median_of([run.get(key) for run in runs]) for key in first}
    if isinstance(first, (int, float)) and not isinstance(first, bool):
        numbers = [value for value in runs if isinstance(value, (int, float))]
        return round(float(statistics.median(numbers)), 3)
    return first


def with_ratios(cases: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each case's wall and CPU ms per frame over each model's (the same decoded frames, the same hour)."""
    for case in cases.values():
        case["ratio"] = {}
        for model in MODELS:
            base = cases[model]
            short = model.replace("model_", "")
            case["ratio"][f"wall_vs_{short}"] = round(case["ms_per_frame"] / base["ms_per_frame"], 3)
            case["ratio"][f"cpu_vs_{short}"] = round(case["cpu_ms_per_frame"] / base["cpu_ms_per_frame"], 3)
    return cases


COMMANDS = {"run_null": "arfilter run --source CLIP --sink null",
            "run_virtualcam": "arfilter run --source CLIP [--size 1920x1080] (virtual camera, stand-in backend)",
            "apply_mp4": "arfilter apply CLIP -o out.mp4", "model_stock": "FaceLandmarker, bundle as shipped",
            "model_no_blendshapes": "FaceLandmarker, landmarks_only_bundle",
            "model_flags": "VIDEO, num_faces=2, output_face_blendshapes=False, "
                           "output_facial_transformation_matrixes=False"}


def print_table(label: str, clip: Path, cases: dict[str, dict[str, Any]]) -> None:
    print(f"\n## {label}: {clip.name}\n")
    print("| case | fps | ms/frame | CPU ms/frame | cores busy | x stock (wall) | x no-blendshapes (wall) "
          "| x stock (CPU) | track median/p95 | render median/p95 | render CPU median/p95 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in CASES:
        row, stages, on_cpu = cases[name], cases[name].get("stages") or {}, cases[name].get("stages_cpu") or {}
        cells = [f"{timed[s]['median_ms']:.2f} / {timed[s]['p95_ms']:.2f}" if timed.get(s) else ""
                 for timed, s in ((stages, "track"), (stages, "render"), (on_cpu, "render"))]
        if name in MODELS:
            cells[0] = f"{row['median_ms']:.1f} / {row['p95_ms']:.1f}"
        print(f"| {name} | {row['fps']:.1f} | {row['ms_per_frame']:.1f} | {row['cpu_ms_per_frame']:.1f} "
              f"| {row['cores_busy']:.2f} | {row['ratio']['wall_vs_stock']:.2f} "
              f"| {row['ratio']['wall_vs_no_blendshapes']:.2f} | {row['ratio']['cpu_vs_stock']:.2f} "
              f"| {cells[0]} | {cells[1]} | {cells[2]} |", flush=True)
    roles = [*(role for role, _ in THREAD_ROLES), "other"]
    print("\nCPU ms per frame by thread (" + ", ".join(f"{role}" for role in roles) + "):")
    for name in CASES:
        split = cases[name].get("cpu_ms_per_frame_by_thread")
        if split:
            print(f"  {name}: " + " / ".join(f"{split[role]:.1f}" for role in roles), flush=True)


def default_media() -> Path:
    """The shared clips: $ARFILTER_TEST_MEDIA/media as the tests find them, else ../shared/media."""
    named = os.environ.get("ARFILTER_TEST_MEDIA")
    return Path(named) / "media" if named else REPO.parent / "shared" / "media"


def find_model(explicit: str | None, media: Path) -> Path:
    """--model, else $ARFILTER_MODEL, else models/ beside the media folder, else the product's lookup."""
    if explicit or os.environ.get("ARFILTER_MODEL"):
        return Path(explicit or os.environ["ARFILTER_MODEL"]).resolve()
    beside = media.parent / "models" / "face_landmarker.task"
    if beside.is_file():
        return beside.resolve()
    from arfilter.tracking.model import resolve_model
    return resolve_model(None, progress=sys.stderr)


def machine() -> dict[str, Any]:
    import mediapipe
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "opencv": cv2.__version__, "numpy": np.__version__, "mediapipe": mediapipe.__version__,
            "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=default_media(), help=f"the folder holding {CLIP}")
    parser.add_argument("--model", help="face_landmarker.task (default: $ARFILTER_MODEL, ../shared/models)")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--runs", type=int, default=3, help="runs of every case; figures are their median")
    parser.add_argument("--quick", action="store_true", help="a smoke test: clips of --quick-frames frames, 1 run")
    parser.add_argument("--quick-frames", type=int, default=16)
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get(
        "ARFILTER_BENCH_CACHE", Path.home() / ".cache" / "arfilter-bench")), help="where made clips are kept")
    parser.add_argument("--json", type=Path, help="default: benchmarks/results/DATE-pipeline.json (none with --quick)")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = 1
    elif args.json is None:
        args.json = REPO / "benchmarks" / "results" / f"{datetime.date.today():%Y-%m-%d}-pipeline.json"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if not (args.media / CLIP).is_file():
        print(f"bench_pipeline: {args.media / CLIP} is missing; give --media FOLDER", file=sys.stderr)
        return 2
    model = find_model(args.model, args.media)
    os.environ["ARFILTER_MODEL"] = str(model)  # what `arfilter run` and `apply` resolve, in and out of process
    with tempfile.TemporaryDirectory() as quick_folder:
        folder = Path(quick_folder) if args.quick else args.cache
        folder.mkdir(parents=True, exist_ok=True)
        frames = args.quick_frames if args.quick else None
        clips = {label: clip_for(label, args.media, folder, frames) for label in args.sizes}
        results: dict[str, Any] = {"date": f"{datetime.date.today():%Y-%m-%d}", "machine": machine(),
                                   "runs": args.runs, "quick": args.quick, "commands": COMMANDS, "sizes": {}}
        rounds: dict[str, list] = {label: [] for label in args.sizes}
        for index in range(args.runs):
            for label in args.sizes:
                print(f"run {index + 1}/{args.runs}: {label}", file=sys.stderr, flush=True)
                rounds[label].append(one_round(label, clips[label], model))
        for label in args.sizes:
            cases = with_ratios(median_of(rounds[label]))
            for name in CASES:
                cases[name]["fps_runs"] = [run[name]["fps"] for run in rounds[label]]
            size, how, vsize = SIZES[label]
            results["sizes"][label] = {"clip": clips[label].name, "size": list(size), "made": how,
                                       "virtual_camera_size": vsize, "cases": cases}
            print_table(label, clips[label], cases)
        results["machine"]["load_average_end"] = machine()["load_average"]
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
