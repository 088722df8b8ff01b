"""``arfilter web serve SITE/``: a local preview of a built site on this computer only (127.0.0.1).

Browsers give a page the camera on ``localhost``/``127.0.0.1`` without HTTPS, so this is all a
preview needs. Files are served with the types browsers insist on (an ES module must be JavaScript,
WebAssembly must be ``application/wasm`` for streaming compilation); there are no folder listings and
nothing outside SITE/ is reachable (``..``, links out). Requests are not logged: nothing about a
visitor is kept.
"""

from __future__ import annotations

import errno
import os
import sys
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, TextIO

from arfilter.core.errors import ArfilterError
from arfilter.core.limits import Range

HOST = "127.0.0.1"
PORT = Range(0, 65535, 8000, whole=True)  # 0: any free port
MIME_TYPES = {
    ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
    ".json": "application/json", ".wasm": "application/wasm", ".task": "application/octet-stream",
    ".png": "image/png", ".jpg": "image/jpeg", ".svg": "image/svg+xml", ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json", ".txt": "text/plain; charset=utf-8", "": "text/plain; charset=utf-8",
}


class SiteHandler(SimpleHTTPRequestHandler):
    """Static files from one folder: the right types, no listings, nothing outside it, no log."""

    extensions_map = MIME_TYPES

    def __init__(self, *args, directory: str, **kwargs) -> None:
        self.root = Path(directory).resolve()
        super().__init__(*args, directory=directory, **kwargs)

    def send_head(self):
        path = Path(self.translate_path(self.path))
        try:
            inside = path.resolve().is_relative_to(self.root)
        except (OSError, ValueError):
            inside = False
        if not inside or (path.is_dir() and not (path / "index.html").is_file()):
            self.send_error(404, "Not found")
            return None
        return super().send_head()

    def list_directory(self, path):  # a folder without index.html is not found, never listed
        self.send_error(404, "Not found")
        return None

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass


def open_server(site: Path, port: int) -> ThreadingHTTPServer:
    """The preview server bound to 127.0.0.1:``port`` (0: a free one), or one line saying why not."""
    site = Path(site)
    if not (site / "index.html").is_file():
        raise ArfilterError(f"{site}: is not a built site (no index.html); make one with: arfilter web build -o {site}")
    try:
        return ThreadingHTTPServer((HOST, port), partial(SiteHandler, directory=str(site)))
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
            raise ArfilterError(f"--port {port}: the port is in use (another preview?); pick another with "
                                "--port N, or --port 0 for any free one") from None
        raise ArfilterError(f"--port {port}: cannot listen on {HOST} ({exc.strerror or exc})") from None


def serve_site(site: Path, port: int = int(PORT.default), *, say: Callable[[str], None] | None = None,
               stream: TextIO = sys.stdout) -> None:
    """Serve ``site`` until Ctrl+C (a KeyboardInterrupt the CLI turns into exit code 130)."""
    server = open_server(site, port)
    url = f"http://{HOST}:{server.server_address[1]}/"
    line = f"arfilter: serving {os.fspath(site)} at {url} (this computer only; Ctrl+C stops)"
    (say or (lambda text: print(text, file=stream, flush=True)))(line)
    with server:
        server.serve_forever()
