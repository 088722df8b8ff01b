"""The ``arfilter`` command: run, kiosk, apply, demo, overlays, the event tools
(config, doctor) and the authoring tools (template, unwrap, validate, gallery).

Every user-caused problem surfaces as one ``arfilter: error: ...`` line and a
non-zero exit code; tracebacks are for bugs only (or ``ARFILTER_DEBUG=1``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Sequence

import numpy as np

from arfilter import __version__
from arfilter.settings.config import DEFAULT_OVERLAY
from arfilter.core.errors import ArfilterError
from arfilter.session.stats import RunStats
from arfilter.core.types import Frame


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
intensity_value = ranged(float, 0.0, 2.0, "a number")
texture_size = ranged(int, 256, 4096, "a whole number")
cell_size = ranged(int, 64, 1024, "a whole number")


def _common(parser: argparse.ArgumentParser, *, overlay: bool = True, tracking: bool = True, live: bool = False) -> None:
    """Options shared by the commands; ``live`` ones default to None so an event file can fill them."""
    if overlay:
        parser.add_argument("--overlay", default=None if live else DEFAULT_OVERLAY,
                            help=f"installed overlay name or pack folder (default: {DEFAULT_OVERLAY}; see 'arfilter overlays')")
        parser.add_argument("--intensity", type=intensity_value, default=None if live else 1.0,
                            help="how strong the look is, 0 to 2 (default: 1, as authored)")
    if tracking:
        parser.add_argument("--max-faces", type=max_faces, default=None if live else 2,
                            help="most faces to paint (default: 2)")
        parser.add_argument("--model", help="face_landmarker.task to use (default: $ARFILTER_MODEL, else the cache, else download)")
        parser.add_argument("--smoothing", choices=["on", "off"], default="on",
                            help="steady the landmarks (One Euro filter) so the look does not shiver (default: on)")
        parser.add_argument("--smooth-min-cutoff", type=ranged(float, 0.01, 30.0, "a number"), default=None,
                            help="smoothing of a still head in Hz: lower is steadier (default: 0.2)")
        parser.add_argument("--smooth-beta", type=ranged(float, 0.0, 10000.0, "a number"), default=None,
                            help="how fast smoothing lets go when the head moves: higher is less lag (default: 500)")
        parser.add_argument("--landmarks-out", metavar="PATH.npz",
                            help="write every frame's smoothed landmarks, face ids and timestamps (numbers only)")
    parser.add_argument("--stats-json", metavar="PATH", help="write frame counts and per-stage timings (median, p95) as JSON")


def _live_options(parser: argparse.ArgumentParser, kiosk: bool) -> None:
    """Options of run and kiosk; every one can also come from --config (a flag wins over the file)."""
    parser.add_argument("--config", metavar="EVENT.toml", help="event file with every option (see 'arfilter config --example')")
    parser.add_argument("--source", help="camera number (0), device (/dev/video2), video, image or folder (default: 0)")
    if not kiosk:
        parser.add_argument("--sink", help="virtualcam, window, null, or a file .mp4/.avi/.mkv/.mov/.png/.jpg (default: virtualcam)")
    parser.add_argument("--size", type=parse_size, help="camera and output size (default: 1280x720)")
    parser.add_argument("--fps", type=positive_fps, help="camera and output frame rate (default: 30)")
    if not kiosk:
        parser.add_argument("--mirror", action="store_true", default=None, help="flip the output left-right, like a mirror")
        parser.add_argument("--device", help="virtual camera device (e.g. /dev/video10); default: the first one")
        parser.add_argument("--backend", help="pyvirtualcam backend (v4l2loopback, obs, unitycapture); default: the OS default")
        parser.add_argument("--fallback", choices=["none", "preview"],
                            help="if the virtual camera cannot start, show a preview window instead (default: none)")
    parser.add_argument("--rotate-every", type=ranged(float, 0, 86400, "a number"), metavar="SECONDS",
                        help="switch to the next look every so many seconds (default: 0, only by key)")
    parser.add_argument("--control", metavar="HOST:PORT",
                        help="serve a control panel for a browser, e.g. 127.0.0.1:8765 (default: none)")
    parser.add_argument("--control-token", metavar="SECRET",
                        help="required to bind the control panel beyond this computer (or set $ARFILTER_CONTROL_TOKEN)")
    parser.add_argument("--show-stats", action="store_true", default=None,
                        help="draw fps, latency and faces on the output (key s toggles it)")
    # --- supervisor (arfilter/supervisor.py): restart the session if it crashes or hangs ---
    parser.add_argument("--supervise", dest="supervise", action="store_true", default=None,
                        help="run the session as a child process and restart it if it crashes or hangs"
                             + (" (the kiosk's default)" if kiosk else ""))
    parser.add_argument("--no-supervise", dest="supervise", action="store_false", default=None,
                        help="run the session in this process, without restarts"
                             + ("" if kiosk else " (the default for run)"))
    # --- end supervisor ---
    _common(parser, live=True)


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
    _live_options(run, kiosk=False)

    kiosk = commands.add_parser("kiosk", help="exhibition screen: full screen, mirrored, attract screen when nobody is there",
                                description="A full-screen mirror for an exhibition: the look on whoever stands in front, "
                                            "an attract screen when nobody does (the last visitor is cleared within a "
                                            "second), looks rotating on a timer or a key, the pointer hidden; quitting "
                                            "needs Esc held (or the PIN from the event file).")
    _live_options(kiosk, kiosk=True)

    config = commands.add_parser("config", help="print an example event file, or check one",
                                 description="Event files hold every option of a live session: "
                                             "arfilter run --config event.toml, arfilter kiosk --config event.toml.")
    config.add_argument("file", nargs="?", help="event file to check (lists every problem; exit code 0 only if none)")
    config.add_argument("--example", action="store_true", help="print a commented example event file")

    from arfilter.ops.doctor import add_doctor_arguments
    from arfilter.ops.install import add_install_arguments

    doctor = commands.add_parser("doctor", help="check camera, virtual camera, model and display, and say how to fix them",
                                 description="Checks everything 'arfilter run' needs on this computer; exit code 0 only "
                                             "when it can work.")
    add_doctor_arguments(doctor)

    install = commands.add_parser("install", help="install an overlay pack from a .zip (safely: packs from strangers)",
                                  description="Checks the zip (no paths outside the pack, no links, size caps) and the "
                                              "pack, then installs it in your overlays folder in one step.")
    add_install_arguments(install)

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

    template = commands.add_parser("template", help="write the UV layout for painting a new overlay",
                                   description="Writes the face's UV layout (mesh wireframe, features labelled, eyes "
                                               "and mouth shaded: never drawn) to paint over in any image editor.")
    template.add_argument("-o", "--output", default="template.png", help="PNG to write (default: template.png)")
    template.add_argument("--size", type=texture_size, default=2048, help="width and height in pixels (default: 2048)")
    template.add_argument("--model", help="face_landmarker.task to read the mesh from")

    unwrap = commands.add_parser("unwrap", help="unwrap a frontal photo's face into the overlay's UV space",
                                 description="Paint a look on a real face: unwrap a photo, paint on a layer above it, "
                                             "export that layer as an RGBA PNG and use it as a texture.")
    unwrap.add_argument("photo", help="a frontal photo of a face (JPEG or PNG)")
    unwrap.add_argument("-o", "--output", default="face_uv.png", help="RGBA PNG to write (default: face_uv.png)")
    unwrap.add_argument("--size", type=texture_size, default=1024, help="texture size in pixels (default: 1024)")
    unwrap.add_argument("--model", help="face_landmarker.task to use")

    validate = commands.add_parser("validate", help="check overlay packs and list every problem",
                                   description="Checks each pack's manifest and textures and reports every problem "
                                               "at once; exit code 0 only if all are fine.")
    validate.add_argument("packs", nargs="*", help="pack folders or installed names (default: every installed pack)")

    gallery = commands.add_parser("gallery", help="every look on a few faces, in one picture",
                                  description="Renders each installed look (or --looks) on each photo's faces.")
    gallery.add_argument("-o", "--output", default="gallery.jpg", help="image to write (default: gallery.jpg)")
    gallery.add_argument("--face", action="append", metavar="PHOTO",
                         help="a photo to use; repeat for several (default: the demo's sample portrait)")
    gallery.add_argument("--looks", help="comma-separated looks (default: all installed)")
    gallery.add_argument("--cell", type=cell_size, default=256, help="size of each picture in pixels (default: 256)")
    gallery.add_argument("--max-faces", type=max_faces, default=2, help="most faces per photo (default: 2)")
    gallery.add_argument("--model", help="face_landmarker.task to use")
    return parser


# --- building blocks -------------------------------------------------------

def open_tracker(model: str | None, faces: int):
    from arfilter.tracking.model import resolve_model
    from arfilter.tracking.tracker import FaceTracker, TrackerOptions

    model_path = resolve_model(model, progress=sys.stderr)
    return model_path, FaceTracker(TrackerOptions(model_path=model_path, max_faces=faces))


def make_stabilizer(args: argparse.Namespace, faces: int | None = None):
    """Identity, dropouts and fades always; our smoothing unless switched off.

    With one face MediaPipe already smooths its landmarks (a One Euro filter
    in its graph); with two or more it does not, so ours takes over there.
    """
    from dataclasses import replace

    from arfilter.tracking.smoothing import SmoothingOptions
    from arfilter.tracking.stabilize import FaceStabilizer, StabilizerOptions

    faces = args.max_faces if faces is None else faces
    smoothing = SmoothingOptions(enabled=args.smoothing == "on" and faces > 1)
    if args.smooth_min_cutoff is not None:
        smoothing = replace(smoothing, min_cutoff=args.smooth_min_cutoff)
    if args.smooth_beta is not None:
        smoothing = replace(smoothing, beta=args.smooth_beta)
    return FaceStabilizer(StabilizerOptions(smoothing=smoothing))


def open_recorder(args: argparse.Namespace, stack: ExitStack):
    """The --landmarks-out recorder (closed, so saved, when ``stack`` ends), or None."""
    if not args.landmarks_out:
        return None
    from arfilter.io.recording import LandmarkRecorder

    return stack.enter_context(LandmarkRecorder(args.landmarks_out))


def make_renderer(model_path: Path, overlay_spec: str, intensity: float = 1.0):
    from arfilter.tracking.mesh import load_canonical_mesh
    from arfilter.render.packs import load_overlay
    from arfilter.render.renderer import Renderer

    return Renderer(load_canonical_mesh(model_path), load_overlay(overlay_spec), intensity=intensity)


def read_photo(path: str, what: str) -> np.ndarray:
    """A photo as BGR, or one line saying why not."""
    import cv2

    data = np.fromfile(path, dtype=np.uint8) if Path(path).is_file() else np.zeros(0, np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise ArfilterError(f"{what} {path}: not a readable image; give a JPEG or PNG photo of a face")
    return image


def track_photo(model_path: Path, image: np.ndarray, faces: int = 1):
    """Faces in one still photo, with a tracker of its own (no state from other photos);
    implausible and duplicate faces are dropped, as in a live run."""
    from arfilter.tracking.stabilize import FaceStabilizer
    from arfilter.tracking.tracker import FaceTracker, TrackerOptions

    frame = Frame(image, timestamp=0.0)
    with FaceTracker(TrackerOptions(model_path=model_path, max_faces=faces)) as tracker:
        return FaceStabilizer()(frame, tracker(frame))


def write_image(path: str, image: np.ndarray) -> None:
    """Write an image file, or one line saying why not."""
    import cv2

    out = Path(path)
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise ArfilterError(f"output {path}: use a .png or .jpg file name")
    if not out.parent.is_dir():
        raise ArfilterError(f"output {path}: folder {out.parent} does not exist")
    ok, data = cv2.imencode(out.suffix.lower(), image)
    if not ok:
        raise ArfilterError(f"output {path}: the image could not be encoded as {out.suffix.lower()}")
    try:
        out.write_bytes(data.tobytes())
    except OSError as exc:
        raise ArfilterError(f"output {path}: cannot be written ({exc.strerror})") from None


def _finish(stats: RunStats, stats_json: str | None) -> None:
    print(f"arfilter: {stats.summary_line()}", file=sys.stderr)
    if stats_json:
        stats.write_json(stats_json)


# --- commands ----------------------------------------------------------------

def cmd_overlays(args: argparse.Namespace) -> int:
    from arfilter.render.packs import list_overlays, load_overlay

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
    from arfilter.session.loop import run_pipeline
    from arfilter.core.framing import IMAGE_EXTENSIONS
    from arfilter.io.sinks import ImageFileSink, VideoFileSink
    from arfilter.io.sources import open_source

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
        renderer = make_renderer(model_path, args.overlay, args.intensity)
        recorder = open_recorder(args, stack)
        sink = ImageFileSink(output) if out_is_image else VideoFileSink(output, fps=source.fps)
        stack.enter_context(sink)
        stats = run_pipeline(source, tracker, renderer.paint if source.fresh_frames else renderer, sink,
                             smoother=make_stabilizer(args), on_frame=recorder)
    _finish(stats, args.stats_json)
    print(f"arfilter: wrote {output}", file=sys.stderr)
    return 0


def event_config(args: argparse.Namespace):
    """The session's ``EventConfig``: the --config file (or the defaults), then every flag given."""
    from arfilter.settings.config import EventConfig, load_config, override

    config = load_config(args.config) if args.config else EventConfig()
    flags = {"source": args.source, "sink": getattr(args, "sink", None), "size": args.size, "fps": args.fps,
             "mirror": getattr(args, "mirror", None), "device": getattr(args, "device", None),
             "backend": getattr(args, "backend", None), "fallback": getattr(args, "fallback", None),
             "max_faces": args.max_faces, "model": args.model, "looks__start": args.overlay,
             "looks__intensity": args.intensity, "looks__rotate_every": args.rotate_every,
             "controls__web": args.control, "controls__stats": args.show_stats,
             # the token from the environment keeps it out of shell history and the process list
             "controls__token": args.control_token or os.environ.get("ARFILTER_CONTROL_TOKEN")}
    return override(config, **{key: value for key, value in flags.items() if value is not None})


def _live(args: argparse.Namespace, kiosk: bool) -> int:
    from arfilter.app.live import run_session

    config = event_config(args)
    with ExitStack() as stack:
        recorder = open_recorder(args, stack)
        stats = run_session(config, kiosk=kiosk, smoother=make_stabilizer(args, config.max_faces), on_frame=recorder)
    _finish(stats, args.stats_json)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    return _live(args, kiosk=False)


def cmd_kiosk(args: argparse.Namespace) -> int:
    return _live(args, kiosk=True)


def cmd_config(args: argparse.Namespace) -> int:
    from arfilter.settings.config import EXAMPLE, check_config_file

    if args.example or not args.file:
        if not args.example:
            raise ArfilterError("config: give an event file to check, or --example to print one")
        sys.stdout.write(EXAMPLE)
        return 0
    config, problems = check_config_file(args.file)
    for problem in problems:
        print(problem)
    if config is None:
        print(f"arfilter: {args.file}: {len(problems)} problem{'s' if len(problems) != 1 else ''}", file=sys.stderr)
        return 1
    print(f"{args.file}: ok")
    return 0


def cmd_install_command(args: argparse.Namespace) -> int:
    from arfilter.ops.install import cmd_install

    return cmd_install(args)


def cmd_doctor_command(args: argparse.Namespace) -> int:
    from arfilter.ops.doctor import cmd_doctor

    return cmd_doctor(args)


def load_sample_face(path: str | None) -> np.ndarray:
    """The demo's face: the user's photo, else a portrait that ships with a dependency."""
    import cv2

    if path:
        return read_photo(path, "--face")
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
    from arfilter.session.loop import run_pipeline
    from arfilter.io.sinks import VideoFileSink
    from arfilter.io.synthetic import SwaySource, frame_face

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
        renderer = make_renderer(model_path, args.overlay, args.intensity)
        sink = stack.enter_context(VideoFileSink(Path(args.output), fps=source.fps))

        def before_after(image: np.ndarray, faces) -> np.ndarray:
            return np.hstack([image, renderer(image, faces)])

        recorder = open_recorder(args, stack)
        stats = run_pipeline(source, tracker, before_after, sink, smoother=make_stabilizer(args), on_frame=recorder)
    _finish(stats, args.stats_json)
    if stats.frames_with_face == 0:
        raise ArfilterError("demo: no face was found in the sample; try 'arfilter demo --face PHOTO' with a frontal photo")
    width, height = source.size
    print(f"arfilter: wrote {args.output} ({stats.frames} frames, before | after, {2 * width}x{height})")
    print(f"arfilter: throughput {stats.processing_fps:.1f} fps (track {stats.as_dict()['stages']['track']['median_ms']:.1f} ms, "
          f"render {stats.as_dict()['stages']['render']['median_ms']:.1f} ms median per frame)")
    return 0


def cmd_template(args: argparse.Namespace) -> int:
    from arfilter.render.authoring import make_template
    from arfilter.tracking.mesh import load_canonical_mesh
    from arfilter.tracking.model import resolve_model

    mesh = load_canonical_mesh(resolve_model(args.model, progress=sys.stderr))
    write_image(args.output, make_template(mesh, args.size))
    print(f"arfilter: wrote {args.output} ({args.size}x{args.size}); paint on a layer above it and export that layer "
          "as an RGBA PNG", file=sys.stderr)
    return 0


def cmd_unwrap(args: argparse.Namespace) -> int:
    from arfilter.render.authoring import unwrap
    from arfilter.tracking.mesh import load_canonical_mesh
    from arfilter.tracking.model import resolve_model

    if Path(args.output).suffix.lower() != ".png":
        raise ArfilterError(f"output {args.output}: use a .png file name (the texture needs transparency)")
    photo = read_photo(args.photo, "photo")
    model_path = resolve_model(args.model, progress=sys.stderr)
    faces = track_photo(model_path, photo)
    if not faces:
        raise ArfilterError(f"photo {args.photo}: no face found; use a clear, frontal photo of one face")
    write_image(args.output, unwrap(photo, faces[0].landmarks, load_canonical_mesh(model_path), args.size))
    print(f"arfilter: wrote {args.output}; paint a look on a layer above it, export that layer as an RGBA PNG, "
          "and name it in a pack's overlay.toml", file=sys.stderr)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from arfilter.render.packs import check_pack, list_overlays

    packs = args.packs or list(list_overlays().values())
    broken = 0
    for spec in packs:
        try:
            overlay, problems = check_pack(spec)
        except ArfilterError as exc:
            overlay, problems = None, [str(exc)]
        if overlay is not None:
            layers = ", ".join(layer.shader for layer in overlay.layers)
            print(f"ok      {overlay.name}: {overlay.title} ({len(overlay.layers)} layer(s): {layers})")
            continue
        broken += 1
        print(f"BROKEN  {spec}: {len(problems)} problem(s)")
        for problem in problems:
            print(f"  - {problem}")
    if broken:
        raise ArfilterError(f"validate: {broken} of {len(packs)} pack(s) have problems (listed above)")
    return 0


def cmd_gallery(args: argparse.Namespace) -> int:
    from arfilter.render.gallery import make_gallery
    from arfilter.tracking.mesh import load_canonical_mesh
    from arfilter.tracking.model import resolve_model
    from arfilter.render.packs import list_overlays, load_overlay
    from arfilter.render.renderer import Renderer

    model_path = resolve_model(args.model, progress=sys.stderr)
    mesh = load_canonical_mesh(model_path)
    names = [name.strip() for name in args.looks.split(",") if name.strip()] if args.looks else list(list_overlays())
    renderers = []
    for name in names:
        try:
            renderers.append(Renderer(mesh, load_overlay(name)))
        except ArfilterError as exc:
            if args.looks:
                raise
            print(f"arfilter: skipping look {name}: {exc}", file=sys.stderr)
    photos = []
    for path in args.face or [None]:
        image = read_photo(path, "--face") if path else load_sample_face(None)
        faces = track_photo(model_path, image, args.max_faces)
        if not faces:
            print(f"arfilter: --face {path}: no face found; left out", file=sys.stderr)
        photos.extend((image, face) for face in faces)
    if not photos:
        raise ArfilterError("gallery: no face found in any photo; give clear, frontal photos with --face")
    write_image(args.output, make_gallery(photos, renderers, args.cell))
    print(f"arfilter: wrote {args.output} ({len(photos)} face(s) x {len(renderers)} look(s))", file=sys.stderr)
    return 0


COMMANDS = {"run": cmd_run, "kiosk": cmd_kiosk, "config": cmd_config, "doctor": cmd_doctor_command, "install": cmd_install_command, "apply": cmd_apply, "demo": cmd_demo, "overlays": cmd_overlays,
            "template": cmd_template, "unwrap": cmd_unwrap, "validate": cmd_validate, "gallery": cmd_gallery}


def _terminate(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _no_core_dumps() -> None:
    """A crash must not write the frames in memory (the faces) to a core file on disk."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):  # Windows has no core files
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``arfilter`` command."""
    _no_core_dumps()
    args = build_parser().parse_args(argv)
    # --- supervisor: kiosk unless --no-supervise, run only with --supervise ---
    if args.command in ("run", "kiosk") and (args.supervise if args.supervise is not None else args.command == "kiosk"):
        from arfilter.ops.supervisor import supervise

        return supervise(list(sys.argv[1:] if argv is None else argv))
    # --- end supervisor ---
    for name in ("SIGTERM", "SIGBREAK"):  # SIGBREAK: Windows' Ctrl+Break, how a supervisor stops us there
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _terminate)
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
