"""``arfilter web build`` and ``arfilter web serve``: the campaign web page from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from arfilter.core.errors import ExitCode


def add_web_commands(commands, parser_class, port_type) -> None:
    """The ``web`` command and its two subcommands (``port_type``: the --port range's argparse type)."""
    from arfilter.web.build import SIZE_FLOOR_MB
    from arfilter.web.runtime import RUNTIME_ENV, RUNTIME_FILENAME
    from arfilter.web.serve import PORT

    web = commands.add_parser("web", help="the campaign web page: the looks on any phone, nothing uploaded",
                              description="Build the campaign's web page (a folder any static HTTPS host can serve; "
                                          "each visitor's phone does the tracking and drawing) or preview it.")
    steps = web.add_subparsers(dest="web_command", metavar="build|serve", parser_class=parser_class)
    steps.required = True
    build = steps.add_parser("build", help="write the site: page, looks, face model and MediaPipe's web runtime",
                             description=f"Writes a self-contained static site (at most {SIZE_FLOOR_MB:g} MB). The "
                                         "event file and looks are checked like 'arfilter config'. SITE must be new, "
                                         "empty, or a site an earlier build wrote and nobody changed.")
    build.add_argument("-o", "--output", required=True, metavar="SITE", help="folder to write the site to")
    build.add_argument("--config", metavar="EVENT.toml",
                       help="event file: caption, helpline, looks, [web] title and url (default: none)")
    build.add_argument("--overlay", action="append", metavar="NAME",
                       help="a look to put on the page; repeat for several, the first is shown first "
                            "(default: the event file's looks, else every installed look)")
    build.add_argument("--model", help="face_landmarker.task to ship (default: $ARFILTER_MODEL, else the cache, "
                                       "else download)")
    build.add_argument("--runtime", metavar=RUNTIME_FILENAME,
                       help=f"a local copy of MediaPipe's web runtime for offline machines (or ${RUNTIME_ENV}; "
                            "default: the cache, else download from the npm registry)")
    serve = steps.add_parser("serve", help="preview a built site on this computer (http://127.0.0.1)",
                             description="Serves SITE on 127.0.0.1 only, where browsers allow the camera without "
                                         "HTTPS. Ctrl+C stops it.")
    serve.add_argument("site", metavar="SITE", help="a folder 'arfilter web build' wrote")
    serve.add_argument("--port", type=port_type(PORT), default=int(PORT.default),
                       help=f"port to listen on, {PORT.span}; 0: any free one (default: {PORT.default:g})")


def cmd_web(args: argparse.Namespace) -> int:
    if args.web_command == "serve":
        from arfilter.web.serve import serve_site

        serve_site(Path(args.site), args.port)
        return ExitCode.OK
    from arfilter.web.build import build_site

    report = build_site(Path(args.output), config=Path(args.config) if args.config else None,
                        overlays=tuple(args.overlay or ()), model=Path(args.model) if args.model else None,
                        runtime=Path(args.runtime) if args.runtime else None, progress=sys.stderr)
    print(f"arfilter: {report.summary()}", file=sys.stderr)
    print(f"arfilter: preview it with: arfilter web serve {args.output}; publish the folder on any host with HTTPS",
          file=sys.stderr)
    return ExitCode.OK
