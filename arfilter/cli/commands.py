"""The offline commands: apply, demo, overlays, template, unwrap, validate, gallery, and the
event tools (config, doctor, install). Each returns an exit code from the contract
(``core.errors.ExitCode``); user errors are raised as ``ArfilterError`` and printed
by ``cli.main`` as one line.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from arfilter.app.live import open_recorder
from arfilter.cli.stopping import TERMINATED, stop_if_terminated
from arfilter.core.errors import ArfilterError, ExitCode
from arfilter.core.types import Frame
from arfilter.session.stats import RunStats


def open_tracker(model: str | None, faces: int, delegate: str = "cpu"):
    from arfilter.tracking.model import resolve_model
    from arfilter.tracking.tracker import FaceTracker, TrackerOptions

    model_path = resolve_model(model, progress=sys.stderr)
    return model_path, FaceTracker(TrackerOptions(model_path=model_path, max_faces=faces, delegate=delegate))


def tracking_settings(args: argparse.Namespace):
    """The --smoothing flags as the settings' [tracking] section (apply and demo have no event file)."""
    from arfilter.settings.config import TrackingConfig

    given = {"smoothing": None if args.smoothing is None else args.smoothing == "on",
             "smooth_min_cutoff": args.smooth_min_cutoff, "smooth_beta": args.smooth_beta}
    return TrackingConfig(**{key: value for key, value in given.items() if value is not None})


def make_stabilizer(args: argparse.Namespace):
    from arfilter.app.live import build_stabiliser

    return build_stabiliser(tracking_settings(args), args.max_faces)


def make_renderer(model_path: Path, overlay, intensity: float = 1.0):
    """A renderer of ``overlay`` (a loaded pack, or a name or folder to load)."""
    from arfilter.tracking.mesh import load_canonical_mesh
    from arfilter.render.packs import load_overlay
    from arfilter.render.renderer import Renderer

    pack = load_overlay(overlay) if isinstance(overlay, (str, Path)) else overlay
    return Renderer(load_canonical_mesh(model_path), pack, intensity=intensity)


def read_photo(path: str, what: str) -> np.ndarray:
    """A photo as BGR, or one line saying why not (the one photo reader: ``core.images.read_image``)."""
    from arfilter.core.images import read_image

    return read_image(path, what=what, hint="give a JPEG or PNG photo of a face")


def track_photo(model_path: Path, image: np.ndarray, faces: int = 1):
    """Faces in one still photo, with a tracker of its own (no state from other photos);
    implausible and duplicate faces are dropped, as in a live run."""
    from arfilter.tracking.stabilize import FaceStabilizer
    from arfilter.tracking.tracker import FaceTracker, TrackerOptions

    frame = Frame(image, timestamp=0.0)
    with FaceTracker(TrackerOptions(model_path=model_path, max_faces=faces)) as tracker:
        return FaceStabilizer()(frame, tracker(frame))


def write_image(path: str, image: np.ndarray) -> None:
    """Write an image file whole or not at all (``core.outputs``), or one line saying why not."""
    import cv2

    from arfilter.core.outputs import check_output, write_bytes

    out = Path(path)
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise ArfilterError(f"output {path}: use a .png or .jpg file name")
    check_output(out, "output")
    ok, data = cv2.imencode(out.suffix.lower(), image)
    if not ok:
        raise ArfilterError(f"output {path}: the image could not be encoded as {out.suffix.lower()}")
    write_bytes(out, data.tobytes(), "output")


def check_outputs(args: argparse.Namespace, inputs: tuple[str, ...] = ()) -> None:
    """Every file a command will write, checked before any work (none may be an input or another output)."""
    from arfilter.core.outputs import check_output

    check_output(args.output, "output", inputs)
    for flag, path in (("--landmarks-out", args.landmarks_out), ("--stats-json", args.stats_json)):
        if path:
            check_output(path, flag, inputs + (args.output,))


def finish(stats: RunStats, stats_json: str | None) -> None:
    print(f"arfilter: {stats.summary_line()}", file=sys.stderr)
    if stats_json:
        stats.write_json(stats_json)


def cmd_overlays(args: argparse.Namespace) -> int:
    from arfilter.render.packs import list_overlays, load_overlay

    for name, folder in list_overlays().items():
        try:
            overlay = load_overlay(folder)
            print(f"{name:<20} {overlay.title} - {overlay.description}")
        except ArfilterError as exc:
            print(f"{name:<20} BROKEN: {exc}")
    return 0


class NoFaceFound(ArfilterError):
    """``apply --require-face`` on an input without a face: a check that found a problem (exit code 1)."""

    exit_code = ExitCode.PROBLEMS_FOUND


def check_input(path: str) -> Path:
    """The input file of ``apply``, or one line saying what it is instead."""
    input_path = Path(path)
    if input_path.is_dir():
        raise ArfilterError(f"input {path}: is a folder; give one image or video file (apply works on a file)")
    if not input_path.is_file():
        raise ArfilterError(f"input {path}: no such file; give an image or video file")
    return input_path


def cmd_apply(args: argparse.Namespace) -> int:
    """The look on every frame of a photo or a video; a video keeps its sound. The output is checked
    first (never the input, by any name), written beside the target and moved into place when
    complete: an interrupted run leaves whatever was there before."""
    from arfilter.session.crop import FaceCrop
    from arfilter.session.loop import run_pipeline
    from arfilter.core.framing import IMAGE_EXTENSIONS
    from arfilter.io.sinks import ImageFileSink, VideoFileSink
    from arfilter.io.sources import open_source
    from arfilter.render.packs import load_overlay

    input_path = check_input(args.input)
    check_outputs(args, (args.input,))
    overlay = load_overlay(args.overlay)  # a mistyped look is said before the model loads
    output = Path(args.output)
    with ExitStack() as stack:
        source = stack.enter_context(open_source(str(input_path), repeat_images=1))
        is_image = source.frame_count == 1 and input_path.suffix.lower() in IMAGE_EXTENSIONS
        out_is_image = output.suffix.lower() in IMAGE_EXTENSIONS
        if is_image != out_is_image:
            kind = "an image" if is_image else "a video"
            raise ArfilterError(f"output {args.output}: the input is {kind}, so the output must be {kind} file too")
        sink = stack.enter_context(ImageFileSink(output, inputs=(args.input,)) if out_is_image else
                                   VideoFileSink(output, fps=source.fps, audio_from=input_path))
        model_path, tracker = open_tracker(args.model, args.max_faces, args.delegate)
        stack.enter_context(tracker)
        source.prepare = tracker.prepare  # the decode thread makes the model's input, off the tracker's thread
        renderer = make_renderer(model_path, overlay, args.intensity)
        recorder = open_recorder(args.landmarks_out, stack)
        frames = source if out_is_image else sink.follow(source)  # a skipped frame keeps the timing
        crop = FaceCrop(args.crop, fps=source.fps, still=is_image) if args.crop else None
        stats = run_pipeline(frames, tracker, renderer.paint if source.fresh_frames else renderer, sink,
                             smoother=make_stabilizer(args), on_frame=recorder, present=crop, stop=TERMINATED.is_set)
        stop_if_terminated()  # inside: the sink throws its unfinished file away, the old output stays
        if stats.frames_with_face == 0 and args.require_face:  # raised inside: the sink writes nothing
            raise NoFaceFound(f"no face found in {args.input}; nothing written (--require-face)")
    finish(stats, args.stats_json)
    if stats.frames_with_face == 0:
        where = args.input if is_image else f"any frame of {args.input}"
        print(f"arfilter: no face found in {where}: written unchanged", file=sys.stderr)
    print(f"arfilter: wrote {output}", file=sys.stderr)
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    from arfilter.settings.config import EXAMPLE, check_config_file
    from arfilter.settings.preflight import preflight_problems

    if args.example or not args.file:
        if not args.example:
            raise ArfilterError("config: give an event file to check, or --example to print one")
        sys.stdout.write(EXAMPLE)
        return 0
    config, problems = check_config_file(args.file)
    if config is not None:  # the values are well formed: now what run and kiosk would meet at start
        problems = preflight_problems(config)
        config = None if problems else config
    for problem in problems:
        print(problem)
    if config is None:
        print(f"arfilter: {args.file}: {len(problems)} problem{'s' if len(problems) != 1 else ''}", file=sys.stderr)
        return ExitCode.PROBLEMS_FOUND
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

        return read_photo(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)), "demo: the sample")
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

    check_outputs(args, (args.face,) if args.face else ())
    still = load_sample_face(args.face)
    with ExitStack() as stack:
        model_path, tracker = open_tracker(args.model, args.max_faces, args.delegate)
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

        recorder = open_recorder(args.landmarks_out, stack)
        stats = run_pipeline(source, tracker, before_after, sink, smoother=make_stabilizer(args), on_frame=recorder,
                             stop=TERMINATED.is_set)
        stop_if_terminated()
    finish(stats, args.stats_json)
    if stats.frames_with_face == 0:
        raise ArfilterError("demo: no face was found in the sample; try 'arfilter demo --face PHOTO' with a frontal photo")
    width, height = source.size
    print(f"arfilter: wrote {args.output} ({stats.frames} frames, before | after, {2 * width}x{height})")
    print(f"arfilter: throughput {stats.wall_fps:.1f} fps (track {stats.as_dict()['stages']['track']['median_ms']:.1f} ms, "
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
        print(f"arfilter: validate: {broken} of {len(packs)} pack(s) have problems (listed above)", file=sys.stderr)
        return ExitCode.PROBLEMS_FOUND
    return ExitCode.OK


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
