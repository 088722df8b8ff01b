"""The operator's web control panel: ``arfilter run --control 127.0.0.1:8765``.

A small local web server (standard library only) that lets the person running
an event change the look, the intensity, the privacy curtain, captions and
the on-screen stats from a laptop or phone beside the stream, and see the
output live. It talks to the loop only through :class:`~arfilter.session.controls.Controls`:
requests are queued there and applied between two frames.

Endpoints::

    GET  /             the panel (arfilter/webcontrol.html: HTML, CSS and JS in one file)
    GET  /healthz      {"ok": true, "frames": N, "uptime_s": S, ...}; 503 and "ok": false when
                       no frame was sent for more than 5 s (the first 5 s after start are grace)
    GET  /api/state    Controls.state()
    POST /api/action   {"action": "look", "value": "cheek_bruise"} (Content-Type: application/json)
                       -> 200 and the new state, or 400 {"error": "..."} for a bad action or value
    GET  /preview.jpg  the latest output frame (503 until the first one)
    GET  /stream.mjpg  the output as MJPEG, up to 10 frames a second

Security rules:

* It listens on loopback (127.0.0.1) unless told otherwise. Listening on any
  other address needs a token (``--control-token``, at least 12 characters).
* With a token, every request must carry it: ``Authorization: Bearer TOKEN``,
  or the ``arfilter_token_PORT`` cookie (HttpOnly, SameSite=Strict) that the
  page sets when opened as ``/?token=TOKEN``; ``?token=`` itself is accepted
  only on the page and the preview images. Tokens are compared in constant time.
* On loopback, requests whose ``Host`` header is not the bound address or
  ``localhost`` (with the right port) are refused (DNS rebinding).
* Changes are made only by ``POST`` with ``Content-Type: application/json``: a
  cross-site form cannot send that without a CORS preflight, which is never
  answered. A POST whose ``Origin`` is not this server is refused, so are
  sub-requests that browsers mark as coming from another site.
  No CORS headers are ever sent.
* Nothing is logged to stdout; requests go, one line each and without query
  strings, to the ``arfilter.operator.webcontrol`` logger at DEBUG level. Frame data is never logged.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import socket
import socketserver
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from importlib import resources
from typing import Callable
from urllib.parse import quote

from arfilter.core.errors import ArfilterError
from arfilter.operator.webaccess import (
    DEFAULT_HOST, DEFAULT_PORT, access_problem, format_address, is_loopback, lan_address, parse_control_address,
)
from arfilter.operator.webhandler import ControlHandler
from arfilter.session.controls import Controls

__all__ = ["ControlServer", "DEFAULT_HOST", "DEFAULT_PORT", "parse_control_address"]

log = logging.getLogger("arfilter.operator.webcontrol")

STALE_AFTER_S = 5.0  # /healthz answers 503 when no frame was sent for this long
MAX_STREAM_FPS = 10.0
APPLY_WAIT_S = 0.5  # how long an action waits for the loop to apply it before answering
_PAGE_FILE = "webcontrol.html"


def _load_page() -> tuple[bytes, str]:
    """The page and its Content-Security-Policy (inline script and style allowed by their hashes)."""
    html = resources.files("arfilter.operator").joinpath(_PAGE_FILE).read_text(encoding="utf-8")

    def hashes(tag: str) -> str:
        blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.S)
        return " ".join("'sha256-" + base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() + "'"
                        for b in blocks)

    policy = (f"default-src 'none'; script-src {hashes('script')}; style-src {hashes('style')}; "
              "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
              "frame-ancestors 'none'")
    return html.encode("utf-8"), policy


class PanelHTTPServer(ThreadingHTTPServer):
    """The standard library's threading server, without a DNS lookup at start and with quiet disconnects."""


    daemon_threads = True
    allow_reuse_address = sys.platform != "win32"  # on Windows it would let two servers share a port
    app: "ControlServer"

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's full name (DNS): slow or stuck offline.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request, client_address) -> None:
        kind = sys.exc_info()[0]
        if kind is not None and issubclass(kind, (ConnectionError, TimeoutError)):
            log.debug("control panel: connection from %s ended early", client_address[0])
        else:
            log.warning("control panel: a request failed", exc_info=True)


class PanelHTTPServer6(PanelHTTPServer):
    address_family = socket.AF_INET6


class ControlServer:
    """The web control panel for one running pipeline; ``start()``, then ``close()`` (or ``with``)."""

    def __init__(self, controls: Controls, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 token: str | None = None, *, stale_after_s: float = STALE_AFTER_S,
                 apply_wait_s: float = APPLY_WAIT_S, max_stream_fps: float = MAX_STREAM_FPS,
                 where: str = "--control", token_where: str = "--control-token",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.controls = controls
        self.clock = clock  # for /healthz's frame ages; tests pass a clock they move
        self.where = where  # where the address came from, for messages (a flag or "event.toml: controls.web")
        self.host = host
        self.port = int(port)
        self.token = token or None
        self.stale_after_s = stale_after_s
        self.apply_wait_s = apply_wait_s
        self.max_stream_fps = max_stream_fps
        refused = access_problem(host, self.port, self.token, where=where, token_where=token_where)
        if refused:
            raise ArfilterError(refused)
        self.loopback = is_loopback(host)
        self.page, self.csp = _load_page()
        self._server: PanelHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._watcher: threading.Thread | None = None
        self.stopping = threading.Event()  # set while closing: live previews and waiting actions end
        self._streams = 0
        self._streams_lock = threading.Lock()
        self._started_at = self.clock()
        self._last_frames = -1
        self._last_frame_at: float | None = None

    # --- life cycle ---------------------------------------------------------------------------------

    def start(self) -> "ControlServer":
        """Listen and serve in background threads. Raises ArfilterError if the address cannot be used."""
        if self._server is not None:
            return self
        bind_host = "127.0.0.1" if self.host.lower() == "localhost" else self.host
        address = format_address(self.host, self.port)
        try:
            family = socket.getaddrinfo(bind_host, self.port, 0, socket.SOCK_STREAM)[0][0]
        except (socket.gaierror, UnicodeError):
            raise ArfilterError(f"{self.where} {address}: cannot find the address {self.host!r}; use 127.0.0.1 "
                                "(this computer only) or 0.0.0.0 (every network) with --control-token") from None
        server_class = PanelHTTPServer6 if family == socket.AF_INET6 else PanelHTTPServer
        server = server_class((bind_host, self.port), ControlHandler, bind_and_activate=False)
        try:
            server.server_bind()
            server.server_activate()
        except OSError as exc:
            server.server_close()
            raise self._bind_error(exc, address) from None
        server.app = self
        self.port = server.server_address[1]
        self._server = server
        self.stopping.clear()
        self._started_at = self.clock()
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="arfilter-control", daemon=True)
        self._thread.start()
        self._watcher = threading.Thread(target=self._watch_frames, name="arfilter-control-watch", daemon=True)
        self._watcher.start()
        log.info("control panel at %s", self.url)
        return self

    def _bind_error(self, exc: OSError, address: str) -> ArfilterError:
        import errno

        other = format_address(self.host, self.port + 1 if self.port < 65535 else self.port - 1)
        if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
            return ArfilterError(f"{self.where} {address}: the port is in use (another arfilter?); "
                                 f"pick another port, e.g. --control {other}")
        if exc.errno in (errno.EACCES, errno.EPERM):
            return ArfilterError(f"{self.where} {address}: not allowed to use port {self.port} (ports below 1024 "
                                 f"need admin rights); pick one from 1024 to 65535, e.g. --control "
                                 f"{format_address(self.host, DEFAULT_PORT)}")
        if exc.errno in (errno.EADDRNOTAVAIL, getattr(errno, "WSAEADDRNOTAVAIL", -1)):
            return ArfilterError(f"{self.where} {address}: this computer has no such address; use 127.0.0.1 "
                                 "(this computer only) or 0.0.0.0 (every network) with --control-token")
        return ArfilterError(f"{self.where} {address}: cannot listen there ({exc.strerror or exc}); "
                             f"try another port, e.g. --control {other}")

    def close(self) -> None:
        """Stop serving: live previews end, the port is freed, every thread is joined."""
        self.stopping.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        for thread in (self._thread, self._watcher):
            if thread is not None:
                thread.join(timeout=5)
        deadline = time.monotonic() + 2.0
        while self.active_streams and time.monotonic() < deadline:
            time.sleep(0.01)

    def __enter__(self) -> "ControlServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- what to tell the user ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Where the panel is: the bound address; for 0.0.0.0 / :: this computer's network address."""
        host = self.host
        if host in ("0.0.0.0", "::"):
            host = lan_address()
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/"

    @property
    def link(self) -> str:
        """The URL to open: with ``?token=`` when a token is set (the page then keeps it in a cookie)."""
        return self.url if self.token is None else f"{self.url}?token={quote(self.token, safe='')}"

    @property
    def active_streams(self) -> int:
        """Live previews (MJPEG) being served right now."""
        with self._streams_lock:
            return self._streams

    @property
    def cookie_name(self) -> str:
        # Cookies ignore ports: two arfilters on one computer must not overwrite each other's.
        return f"arfilter_token_{self.port}"

    # --- health -------------------------------------------------------------------------------------

    def _watch_frames(self) -> None:
        """Note when the frame count last moved, for /healthz."""
        while not self.stopping.wait(0.2):
            self._observe()

    def _observe(self) -> None:
        frames = self.controls.figures.frames
        if frames != self._last_frames:
            if self._last_frames >= 0 or frames > 0:
                self._last_frame_at = self.clock()
            self._last_frames = frames

    def health(self) -> tuple[int, dict]:
        """(status, body) of /healthz: 503 when no frame was sent for more than ``stale_after_s``."""
        self._observe()
        figures = self.controls.figures
        now = self.clock()
        since = self._last_frame_at if self._last_frame_at is not None else self._started_at
        age = now - since
        body = {"ok": age <= self.stale_after_s, "frames": figures.frames, "uptime_s": figures.uptime_s,
                "fps": figures.fps, "last_frame_age_s": None if self._last_frame_at is None else round(age, 2),
                "curtain": self.controls.curtain}
        if not body["ok"]:
            body["error"] = (f"no frame sent for {age:.1f} s" if self._last_frame_at is not None
                             else f"no frame sent yet, {age:.1f} s after start")
        return (200 if body["ok"] else 503), body

    # --- live previews -----------------------------------------------------------------------------

    def take_stream(self, limit: int) -> bool:
        """Count one more live preview, unless ``limit`` are open already."""
        with self._streams_lock:
            if self._streams >= limit:
                return False
            self._streams += 1
            return True

    def end_stream(self) -> None:
        with self._streams_lock:
            self._streams -= 1
