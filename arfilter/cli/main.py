"""The ``arfilter`` command's entry point: flags (and an event file) become one settings
value, a command runs, and the exit code follows the contract in ``core.errors``:
0 ok, 1 a check found problems, 2 bad usage or input, 3 a device is unavailable,
130 stopped. Every user-caused problem is one ``arfilter: error: ...`` line;
tracebacks are for bugs only (or ``ARFILTER_DEBUG=1``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from types import FrameType
from typing import Sequence

from arfilter.cli import commands
from arfilter.cli.commands import finish
from arfilter.cli.parser import build_parser
from arfilter.cli.stopping import TERMINATED
from arfilter.cli.web import cmd_web
from arfilter.core.errors import ArfilterError, ExitCode


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
             "supervise": args.supervise, "landmarks_out": args.landmarks_out, "stats_json": args.stats_json,
             "tracking__smoothing": None if args.smoothing is None else args.smoothing == "on",
             "tracking__smooth_min_cutoff": args.smooth_min_cutoff, "tracking__smooth_beta": args.smooth_beta,
             "tracking__delegate": args.delegate,
             # the token from the environment keeps it out of shell history and the process list
             "controls__token": args.control_token or os.environ.get("ARFILTER_CONTROL_TOKEN")}
    given = {key: value for key, value in flags.items() if value is not None}
    origins = {key: FLAGS.get(key, "--" + key.split("__")[-1].replace("_", "-")) for key in given}
    if "controls__token" in given and not args.control_token:
        origins["controls__token"] = "$ARFILTER_CONTROL_TOKEN"
    return override(config, origins=origins, **given)


# The flag behind each setting whose flag is not simply --KEY (for messages naming where a value came from).
FLAGS = {"looks__start": "--overlay", "controls__web": "--control", "controls__stats": "--show-stats",
         "controls__token": "--control-token", "tracking__smoothing": "--smoothing"}


def _live(args: argparse.Namespace, kiosk: bool) -> int:
    from arfilter.app.live import run_session

    config = event_config(args)
    stats = run_session(config, kiosk=kiosk, stop=_TERMINATED.is_set)
    finish(stats, config.stats_json)
    return ExitCode.OK


def cmd_run(args: argparse.Namespace) -> int:
    return _live(args, kiosk=False)


def cmd_kiosk(args: argparse.Namespace) -> int:
    return _live(args, kiosk=True)


COMMANDS = {"run": cmd_run, "kiosk": cmd_kiosk, "config": commands.cmd_config, "doctor": commands.cmd_doctor_command,
            "install": commands.cmd_install_command, "apply": commands.cmd_apply, "demo": commands.cmd_demo,
            "overlays": commands.cmd_overlays, "template": commands.cmd_template, "unwrap": commands.cmd_unwrap,
            "validate": commands.cmd_validate, "gallery": commands.cmd_gallery, "web": cmd_web}


# Set by SIGTERM/SIGBREAK. The handler also raises KeyboardInterrupt to stop at once (a wait for a
# camera), except while a finaliser runs (MediaPipe's Image.__del__): Python cannot raise out of one
# and prints "Exception ignored ... Traceback" instead. The loop asks this flag between frames, so
# the session stops either way, and a command writing a file then stops as Ctrl+C does (cli.stopping).
_TERMINATED = TERMINATED


def _in_finaliser(frame: FrameType | None) -> bool:
    """Whether Python code interrupted at ``frame`` runs inside a ``__del__``."""
    while frame is not None:
        if frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False


def _terminate(signum: int, frame: FrameType | None) -> None:
    _TERMINATED.set()
    if not _in_finaliser(frame):
        raise KeyboardInterrupt


def _no_core_dumps() -> None:
    """A crash must not write the frames in memory (the faces) to a core file on disk."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):  # Windows has no core files
        pass


def _supervised(args: argparse.Namespace) -> bool:
    """--supervise / --no-supervise, else the event file's ``supervise``, else only the kiosk.

    A bad event file or setting is reported by the session itself, unsupervised, so
    it is one line and exit code 2, not a restart loop: a supervised start runs the
    pre-flight here first.
    """
    from arfilter.settings.preflight import preflight

    try:
        config = event_config(args)
    except ArfilterError:
        return False
    chosen = config.supervise if config.supervise is not None else args.command == "kiosk"
    if chosen:
        try:
            preflight(config, kiosk=args.command == "kiosk")
        except ArfilterError:
            return False
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``arfilter`` command."""
    _no_core_dumps()
    _TERMINATED.clear()
    args = build_parser().parse_args(argv)
    if args.command in ("run", "kiosk") and _supervised(args):
        from arfilter.ops.supervisor import supervise

        return supervise(list(sys.argv[1:] if argv is None else argv))
    for name in ("SIGTERM", "SIGBREAK"):  # SIGBREAK: Windows' Ctrl+Break, how a supervisor stops us there
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _terminate)
    try:
        return COMMANDS[args.command](args)
    except ArfilterError as exc:
        if os.environ.get("ARFILTER_DEBUG"):
            raise
        print(f"arfilter: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("arfilter: stopped", file=sys.stderr)
        return ExitCode.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
