"""The ``arfilter`` command's flags: every range, default and name list comes from ``core.limits``.

A bad value is refused by argparse naming the flag (``--intensity: 3 is out of
range; use 0 to 2``), on one line, with exit code 2. The live commands' flags
default to None so that an event file can fill them (a flag wins over the file).
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from typing import NoReturn, Sequence

from arfilter import __version__
from arfilter.core import limits
from arfilter.core.errors import ExitCode
from arfilter.settings.config import sink_problem


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one ``arfilter: error:`` line and exit code 2 (the contract),
    with "did you mean ..." for a mistyped command, flag or choice."""

    def parse_known_args(self, args: Sequence[str] | None = None, namespace=None):
        self._argv = list(sys.argv[1:] if args is None else args)  # to find the command a stray flag belongs to
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"arfilter: error: {message}{self._suggestion(message)} (see '{self._help_prog()} --help')\n")
        sys.exit(ExitCode.BAD_INPUT)

    def _suggestion(self, message: str) -> str:
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)$", message)
        if choice:
            return did_you_mean(choice.group(1), re.findall(r"'([^']*)'", choice.group(2)))
        stray = re.match(r"unrecognized arguments: (\S+)", message)
        if stray and stray.group(1).startswith("-"):
            command, typed = self._command_parser(), stray.group(1).split("=")[0]
            others = [name for name, sub in self._commands().items() if typed in _flags(sub)]
            if command is not None and others:
                return f" ({typed} is an option of {', '.join(others)}, not {command.prog.split()[-1]})"
            return did_you_mean(typed, _flags(command or self))
        return ""

    def _commands(self) -> dict[str, argparse.ArgumentParser]:
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return dict(action.choices)
        return {}

    def _command_parser(self) -> argparse.ArgumentParser | None:
        """The subcommand's parser named in the arguments (unknown flags are reported by the top parser)."""
        commands = self._commands()
        return next((commands[word] for word in getattr(self, "_argv", []) if word in commands), None)

    def _help_prog(self) -> str:
        command = self._command_parser()
        return command.prog if command is not None else self.prog


def _flags(parser: argparse.ArgumentParser) -> list[str]:
    return [option for action in parser._actions for option in action.option_strings if option.startswith("--")]


def did_you_mean(typed: str, valid: Sequence[str]) -> str:
    """`` (did you mean 'X'?)`` for the closest valid word, or nothing when none is close."""
    close = difflib.get_close_matches(typed, list(valid), n=1, cutoff=0.7)
    return f" (did you mean '{close[0]}'?)" if close else ""


def flag(span: limits.Range | limits.SizeRange):
    """An argparse type for a range declared in ``core.limits``; argparse names the flag in the error."""

    def parse(text: str):
        try:
            return span.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def sink_name(text: str) -> str:
    why = sink_problem(text)
    if why:
        raise argparse.ArgumentTypeError(why)
    return text


def _common(parser: argparse.ArgumentParser, *, overlay: bool = True, tracking: bool = True, live: bool = False,
            stats: bool = True) -> None:
    """Options shared by the commands; ``live`` ones default to None so an event file can fill them."""
    if overlay:
        parser.add_argument("--overlay", default=None if live else limits.DEFAULT_OVERLAY,
                            help=f"installed overlay name or pack folder (default: {limits.DEFAULT_OVERLAY}; see 'arfilter overlays')")
        parser.add_argument("--intensity", type=flag(limits.INTENSITY), default=None if live else limits.INTENSITY.default,
                            help=f"how strong the look is, {limits.INTENSITY.span} (default: {limits.INTENSITY.default:g}, as authored)")
    if tracking:
        parser.add_argument("--max-faces", type=flag(limits.MAX_FACES), default=None if live else int(limits.MAX_FACES.default),
                            help=f"most faces to paint (default: {limits.MAX_FACES.default:g})")
        parser.add_argument("--model", help="face_landmarker.task to use (default: $ARFILTER_MODEL, else the cache, else download)")
        parser.add_argument("--smoothing", choices=limits.SWITCH, default=None if live else "on",
                            help="steady the landmarks (One Euro filter) so the look does not shiver (default: on)")
        parser.add_argument("--smooth-min-cutoff", type=flag(limits.SMOOTH_MIN_CUTOFF), default=None,
                            help=f"smoothing of a still head in Hz: lower is steadier (default: {limits.SMOOTH_MIN_CUTOFF.default:g})")
        parser.add_argument("--smooth-beta", type=flag(limits.SMOOTH_BETA), default=None,
                            help=f"how fast smoothing lets go when the head moves: higher is less lag (default: {limits.SMOOTH_BETA.default:g})")
        parser.add_argument("--delegate", choices=limits.DELEGATES, default=None if live else limits.DEFAULT_DELEGATE,
                            help=f"where the face model runs: auto tries the GPU and falls back to the CPU, cpu, "
                                 f"gpu (default: {limits.DEFAULT_DELEGATE})")
        parser.add_argument("--landmarks-out", metavar="PATH.npz",
                            help="write every frame's smoothed landmarks, face ids and timestamps (numbers only)")
    if stats:  # the commands that process frames: run, kiosk, apply, demo
        parser.add_argument("--stats-json", metavar="PATH", help="write frame counts and per-stage timings (median, p95) as JSON")


def _live_options(parser: argparse.ArgumentParser, kiosk: bool) -> None:
    """Options of run and kiosk; every one can also come from --config (a flag wins over the file)."""
    parser.add_argument("--config", metavar="EVENT.toml", help="event file with every option (see 'arfilter config --example')")
    parser.add_argument("--source", help="camera number (0), device (/dev/video2), video, image or folder (default: 0)")
    if not kiosk:
        parser.add_argument("--sink", type=sink_name, help="virtualcam, window, null, or a file .mp4/.avi/.mkv/.mov/.png/.jpg (default: virtualcam)")
    parser.add_argument("--size", type=flag(limits.SIZE), help="camera and output size (default: 1280x720)")
    parser.add_argument("--fps", type=flag(limits.FPS), help=f"camera and output frame rate (default: {limits.FPS.default:g})")
    if not kiosk:
        parser.add_argument("--mirror", action="store_true", default=None, help="flip the output left-right, like a mirror")
        parser.add_argument("--device", help="virtual camera device (e.g. /dev/video10); default: the first one")
        parser.add_argument("--backend", help="pyvirtualcam backend (v4l2loopback, obs, unitycapture); default: the OS default")
        parser.add_argument("--fallback", choices=limits.FALLBACKS,
                            help="if the virtual camera cannot start, show a preview window instead (default: none)")
    parser.add_argument("--rotate-every", type=flag(limits.ROTATE_EVERY), metavar="SECONDS",
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
    parser = Parser(
        prog="arfilter",
        description="Real-time AR face filters for awareness campaigns.",
    )
    parser.add_argument("--version", action="version", version=f"arfilter {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
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

    _event_commands(commands)
    _offline_commands(commands)
    _authoring_commands(commands)
    from arfilter.cli.web import add_web_commands

    add_web_commands(commands, Parser, flag)
    return parser


def _event_commands(commands) -> None:
    """config, doctor, install: getting a machine and an event ready."""
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


def _offline_commands(commands) -> None:
    """apply, demo, overlays: files in, files out."""
    apply = commands.add_parser("apply", help="paint the overlay on an image or video file",
                                description="Offline: the output has the same frames and size as the input; "
                                            "the same input always gives the same output.")
    apply.add_argument("input", help="image or video file")
    apply.add_argument("-o", "--output", required=True,
                       help="output file (.png/.jpg for images; .mp4 (H.264, the sound kept), .webm, .mov, .mkv, .avi for videos)")
    apply.add_argument("--crop", choices=tuple(limits.CROPS),
                       help="cut to the shape people post, following the face (default: the input's shape)")
    apply.add_argument("--require-face", action="store_true",
                       help="exit with code 1 and write nothing when no face is found (default: write it unchanged)")
    _common(apply)

    demo = commands.add_parser("demo", help="see it work with no camera: a sample face, before and after",
                               description="Runs the whole pipeline on a built-in sample portrait swaying like a head "
                                           "and writes a before/after video.")
    demo.add_argument("-o", "--output", default="arfilter-demo.mp4", help="before/after video to write (default: arfilter-demo.mp4)")
    demo.add_argument("--face", help="use this photo instead of the built-in sample")
    demo.add_argument("--frames", type=flag(limits.FRAMES), default=int(limits.FRAMES.default),
                      help=f"length in frames at 30 fps (default: {limits.FRAMES.default:g})")
    demo.add_argument("--size", type=flag(limits.DEMO_SIZE), default=limits.DEMO_SIZE.default, help="size of each half (default: 640x480)")
    _common(demo)

    overlays = commands.add_parser("overlays", help="list installed overlays")
    _common(overlays, overlay=False, tracking=False, stats=False)


def _authoring_commands(commands) -> None:
    """template, unwrap, validate, gallery: making and checking looks."""
    template = commands.add_parser("template", help="write the UV layout for painting a new overlay",
                                   description="Writes the face's UV layout (mesh wireframe, features labelled, eyes "
                                               "and mouth shaded: never drawn) to paint over in any image editor.")
    template.add_argument("-o", "--output", default="template.png", help="PNG to write (default: template.png)")
    template.add_argument("--size", type=flag(limits.TEXTURE_SIZE), default=int(limits.TEXTURE_SIZE.default),
                          help=f"width and height in pixels (default: {limits.TEXTURE_SIZE.default:g})")
    template.add_argument("--model", help="face_landmarker.task to read the mesh from")

    unwrap = commands.add_parser("unwrap", help="unwrap a frontal photo's face into the overlay's UV space",
                                 description="Paint a look on a real face: unwrap a photo, paint on a layer above it, "
                                             "export that layer as an RGBA PNG and use it as a texture.")
    unwrap.add_argument("photo", help="a frontal photo of a face (JPEG or PNG)")
    unwrap.add_argument("-o", "--output", default="face_uv.png", help="RGBA PNG to write (default: face_uv.png)")
    unwrap.add_argument("--size", type=flag(limits.UNWRAP_SIZE), default=int(limits.UNWRAP_SIZE.default),
                        help=f"texture size in pixels (default: {limits.UNWRAP_SIZE.default:g})")
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
    gallery.add_argument("--cell", type=flag(limits.CELL), default=int(limits.CELL.default),
                         help=f"size of each picture in pixels (default: {limits.CELL.default:g})")
    gallery.add_argument("--max-faces", type=flag(limits.MAX_FACES), default=int(limits.MAX_FACES.default),
                         help=f"most faces per photo (default: {limits.MAX_FACES.default:g})")
    gallery.add_argument("--model", help="face_landmarker.task to use")
