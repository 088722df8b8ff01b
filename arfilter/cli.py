"""The ``arfilter`` command: run, apply, demo, overlays.

Every user-caused problem surfaces as one ``arfilter: error: ...`` line and a
non-zero exit code; tracebacks are for bugs only (or ``ARFILTER_DEBUG=1``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from . import __version__
from .errors import ArfilterError
from .stats import RunStats
from .types import Frame

DEFAULT_OVERLAY = "black_eye"


def parse_size(text: str) -> tuple[int, int]:
    """'1280x720' -> (1280, 720), for argparse."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size; write it like 1280x720") from None
    if not (16 <= width <= 7680 and 16 <= height <= 4320):
        raise argparse.ArgumentTypeError(f"{text!r} is out of range; use 16x16 to 7680x4320")
    return width, height


def ranged(kind: type, low: float, high: float, what: str):
    """An argparse type: a ``kind`` number from ``low`` to ``high``, with a clear message."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is out of range; use {low:g} to {high:g}")
        return value

    return parse


positive_fps = ranged(float, 1, 240, "a number")
max_faces = ranged(int, 1, 16, "a whole number")
frame_count = ranged(int, 1, 100_000, "a whole number")


def _common(parser: argparse.ArgumentParser, *, overlay: bool = True, tracking: bool = True) -> None:
    if overlay:
        parser.add_argument("--overlay", default=DEFAULT_OVERLAY,
                            help=f"installed overlay name or pack folder (default: {DEFAULT_OVERLAY}; see 'arfilter overlays')")
    if tracking:
        parser.add_argument("--max-faces", type=max_faces, default=2, help="most faces to paint (default: 2)")
        parser.add_argument("--model", help="face_landmarker.task to use (default: $ARFILTER_MODEL, else the cache, else download)")
    parser.add_argument("--stats-json", metavar="PATH", help="write frame counts and per-stage timings (median, p95) as JSON")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arfilter",
        description="Real-time AR face filters for awareness campaigns.",
    )
    parser.add_argument("--version", action="version", version=f"arfilter {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    run = commands.add_parser("run", help="live: camera -> face filter -> virtual camera or window",
                              description="Paint the overlay on the faces from a camera (or a file) and send the result "
                                          "to a virtual camera, a preview window or a file.")
    run.add_argument("--source", default="0", help="camera number (0), device (/dev/video2), video, image or folder (default: 0)")
    run.add_argument("--sink", default="virtualcam", help="virtualcam, window, null, or a file .mp4/.avi/.mkv/.mov/.png/.jpg (default: virtualcam)")
    run.add_argument("--size", type=parse_size, default=(1280, 720), help="camera and output size (default: 1280x720)")
    run.add_argument("--fps", type=positive_fps, default=30.0, help="camera and output frame rate (default: 30)")
    run.add_argument("--mirror", action="store_true", help="flip the output left-right, like a mirror")
    run.add_argument("--device", help="virtual camera device (e.g. /dev/video10); default: the first one")
    run.add_argument("--backend", help="pyvirtualcam backend (v4l2loopback, obs, unitycapture); default: the OS default")
    run.add_argument("--fallback", choices=["none", "preview"], default="none",
                     help="if the virtual camera cannot start, show a preview window instead (default: none)")
    _common(run)

    apply = commands.add_parser("apply", help="paint the overlay on an image or video file",
                                description="Offline: the output has the same frames and size as the input; "
                                            "the same input always gives the same output.")
    apply.add_argument("input", help="image or video file")
    apply.add_argument("-o", "--output", required=True, help="output file (.png/.jpg for images, .mp4/.avi/.mkv/.mov for videos)")
    _common(apply)

    demo = commands.add_parser("demo", help="see it work with no camera: a sample face, before and after",
                               description="Runs the whole pipeline on a built-in sample portrait swaying like a head "
                                           "and writes a before/after video.")
    demo.add_argument("-o", "--output", default="arfilter-demo.mp4", help="before/after video to write (default: arfilter-demo.mp4)")
    demo.add_argument("--face", help="use this photo instead of the built-in sample")
    demo.add_argument("--frames", type=frame_count, default=150, help="length in frames at 30 fps (default: 150)")
    demo.add_argument("--size", type=parse_size, default=(640, 480), help="size of each half (default: 640x480)")
    _common(demo)

    overlays = commands.add_parser("overlays", help="list installed overlays")
    _common(overlays, overlay=False, tracking=False)
    return parser


# --- building blocks -------------------------------------------------------

def open_tracker(model: str | None, faces: int):
    from .model import resolve_model
    from .tracker import FaceTracker, TrackerOptions

    model_path = resolve_model(model, progress=sys.stderr)
    return model_path, FaceTracker(TrackerOptions(model_path=model_path, max_faces=faces))


def make_renderer(model_path: Path, overlay_spec: str):
    from .mesh import load_canonical_mesh
    from .overlay import load_overlay
    from .render import Renderer

    return Renderer(load_canonical_mesh(model_path), load_overlay(overlay_spec))


def realtime(frames: Iterable[Frame]) -> Iterator[Frame]:
    """Hand out file frames at their own timestamps, for live sinks."""
    start = time.monotonic()
    for frame in frames:
        delay = start + frame.timestamp - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield frame


def _finish(stats: RunStats, stats_json: str | None) -> None:
    print(f"arfilter: {stats.summary_line()}", file=sys.stderr)
    if stats_json:
        stats.write_json(stats_json)


# --- commands ----------------------------------------------------------------

def cmd_overlays(args: argparse.Namespace) -> int:
    from .overlay import list_overlays, load_overlay

    for name, folder in list_overlays().items():
        try:
            overlay = load_overlay(folder)
            print(f"{name:<20} {overlay.title} - {overlay.description}")
        except ArfilterError as exc:
            print(f"{name:<20} BROKEN: {exc}")
    if args.stats_json:
        RunStats().write_json(args.stats_json)
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    from .pipeline import run_pipeline
    from .framing import IMAGE_EXTENSIONS
    from .sinks import ImageFileSink, VideoFileSink
    from .sources import open_source

    input_path = Path(args.input)
    if not input_path.is_file():
        raise ArfilterError(f"input {args.input}: no such file; give an image or video file")
    output = Path(args.output)
    with ExitStack() as stack:
        source = stack.enter_context(open_source(str(input_path), repeat_images=1))
        is_image = source.frame_count == 1 and input_path.suffix.lower() in IMAGE_EXTENSIONS
        out_is_image = output.suffix.lower() in IMAGE_EXTENSIONS
        if is_image != out_is_image:
            kind = "an image" if is_image else "a video"
            raise ArfilterError(f"output {args.output}: the input is {kind}, so the output must be {kind} file too")
        model_path, tracker = open_tracker(args.model, args.max_faces)
        stack.enter_context(tracker)
        renderer = make_renderer(model_path, args.overlay)
        sink = ImageFileSink(output) if out_is_image else VideoFileSink(output, fps=source.fps)
        stack.enter_context(sink)
        stats = run_pipeline(source, tracker, renderer.paint if source.fresh_frames else renderer, sink)
    _finish(stats, args.stats_json)
    print(f"arfilter: wrote {output}", file=sys.stderr)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .pipeline import run_pipeline
    from .sinks import open_sink
    from .sources import open_source

    with ExitStack() as stack:
        model_path, tracker = open_tracker(args.model, args.max_faces)
        stack.enter_context(tracker)
        renderer = make_renderer(model_path, args.overlay)
        source = stack.enter_context(open_source(args.source, size=args.size, fps=args.fps, repeat_images=None))
        try:
            sink = open_sink(args.sink, size=args.size, fps=args.fps, device=args.device, backend=args.backend)
        except ArfilterError as exc:
            if args.sink != "virtualcam" or args.fallback != "preview":
                raise
            print(f"arfilter: {exc}", file=sys.stderr)
            print("arfilter: showing a preview window instead (--fallback preview)", file=sys.stderr)
            sink = open_sink("window")
        stack.enter_context(sink)
        frames: Iterable[Frame] = source
        if not source.live and args.sink in ("virtualcam", "window"):
            frames = realtime(source)
        print(f"arfilter: {source.name} -> {sink.name}; press Ctrl+C to stop", file=sys.stderr)
        stats = RunStats()
        try:
            render = renderer.paint if source.fresh_frames else renderer
            run_pipeline(frames, tracker, render, sink, mirror=args.mirror, stats=stats)
        except KeyboardInterrupt:
            stats.finish()
        if source.live:
            stats.dropped_frames = int(getattr(source, "dropped", 0))
    _finish(stats, args.stats_json)
    return 0


def load_sample_face(path: str | None) -> np.ndarray:
    """The demo's face: the user's photo, else a portrait that ships with a dependency."""
    import cv2

    if path:
        data = np.fromfile(path, dtype=np.uint8) if Path(path).is_file() else np.zeros(0, np.uint8)
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if image is None:
            raise ArfilterError(f"--face {path}: not a readable image; give a JPEG or PNG photo of a face")
        return image
    try:  # Grace Hopper's portrait ships with matplotlib, which mediapipe installs.
        from matplotlib import cbook

        with cbook.get_sample_data("grace_hopper.jpg") as handle:
            return cv2.imdecode(np.frombuffer(handle.read(), np.uint8), cv2.IMREAD_COLOR)
    except Exception:
        pass
    try:
        from skimage import data as skdata

        return cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR)
    except Exception:
        raise ArfilterError("demo: no built-in sample face found; run 'arfilter demo --face PHOTO' with any photo of a face") from None


def cmd_demo(args: argparse.Namespace) -> int:
    from .pipeline import run_pipeline
    from .sinks import VideoFileSink
    from .synthetic import SwaySource, frame_face

    still = load_sample_face(args.face)
    with ExitStack() as stack:
        model_path, tracker = open_tracker(args.model, args.max_faces)
        stack.enter_context(tracker)
        faces = tracker(Frame(still, timestamp=0.0))
        if not faces:
            where = f"--face {args.face}" if args.face else "demo: the sample photo"
            raise ArfilterError(f"{where}: no face found in it; use a clear, frontal photo of a face")
        framed = frame_face(still, faces[0].bbox, args.size)
        source = SwaySource(framed, frames=args.frames, fps=30.0, start_time=1.0)
        renderer = make_renderer(model_path, args.overlay)
        sink = stack.enter_context(VideoFileSink(Path(args.output), fps=source.fps))

        def before_after(image: np.ndarray, faces) -> np.ndarray:
            return np.hstack([image, renderer(image, faces)])

        stats = run_pipeline(source, tracker, before_after, sink)
    _finish(stats, args.stats_json)
    if stats.frames_with_face == 0:
        raise ArfilterError("demo: no face was found in the sample; try 'arfilter demo --face PHOTO' with a frontal photo")
    width, height = source.size
    print(f"arfilter: wrote {args.output} ({stats.frames} frames, before | after, {2 * width}x{height})")
    print(f"arfilter: throughput {stats.processing_fps:.1f} fps (track {stats.as_dict()['stages']['track']['median_ms']:.1f} ms, "
          f"render {stats.as_dict()['stages']['render']['median_ms']:.1f} ms median per frame)")
    return 0


COMMANDS = {"run": cmd_run, "apply": cmd_apply, "demo": cmd_demo, "overlays": cmd_overlays}


def _terminate(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``arfilter`` command."""
    args = build_parser().parse_args(argv)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _terminate)
    try:
        return COMMANDS[args.command](args)
    except ArfilterError as exc:
        if os.environ.get("ARFILTER_DEBUG"):
            raise
        print(f"arfilter: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("arfilter: stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
