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
import hmac
import ipaddress
import json
import logging
import math
import re
import socket
import socketserver
import sys
import threading
import time
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs, quote, unquote, urlsplit

from arfilter.session.controls import Controls
from arfilter.core.errors import ArfilterError

log = logging.getLogger("arfilter.operator.webcontrol")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MIN_TOKEN_LENGTH = 12
STALE_AFTER_S = 5.0  # /healthz answers 503 when no frame was sent for this long
MAX_STREAM_FPS = 10.0
MAX_STREAMS = 8  # open live previews at once
MAX_BODY = 4096  # bytes in an action request
APPLY_WAIT_S = 0.5  # how long an action waits for the loop to apply it before answering
QUERY_TOKEN_PATHS = ("/", "/preview.jpg", "/stream.mjpg")
BOUNDARY = "arfilterframe"
_PAGE_FILE = "webcontrol.html"

_ROUTES = {  # path -> allowed methods
    "/": ("GET",), "/healthz": ("GET",), "/api/state": ("GET",), "/api/action": ("POST",),
    "/preview.jpg": ("GET",), "/stream.mjpg": ("GET",),
}


# --- addresses --------------------------------------------------------------------------------------

def format_address(host: str, port: int) -> str:
    """``host:port``, with brackets around an IPv6 address."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_control_address(text: str) -> tuple[str, int]:
    """``--control``'s value as (host, port): ``8765``, ``127.0.0.1:8765``, ``0.0.0.0:9000``,
    ``[::1]:8765``, ``localhost:8765``. A port alone means 127.0.0.1 (this computer only)."""
    spec = text.strip()
    example = f"e.g. --control {DEFAULT_HOST}:{DEFAULT_PORT}"
    if not spec:
        raise ArfilterError(f"--control: give an address and port, {example}")
    if spec.startswith("["):
        end = spec.find("]")
        if end < 0 or not spec[end + 1:].startswith(":"):
            raise ArfilterError(f"--control {text}: write an IPv6 address as [ADDRESS]:PORT, e.g. --control [::1]:8765")
        host, port_text = spec[1:end], spec[end + 2:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ArfilterError(f"--control {text}: {host!r} is not an IPv6 address; {example}") from None
    elif spec.count(":") > 1:
        raise ArfilterError(f"--control {text}: put an IPv6 address in brackets, e.g. --control [::1]:8765")
    elif ":" in spec:
        host, port_text = spec.split(":")
        if not host:
            raise ArfilterError(f"--control {text}: give the address before the colon, {example} "
                                "(127.0.0.1: this computer only)")
        if not re.fullmatch(r"[A-Za-z0-9.-]+", host):
            raise ArfilterError(f"--control {text}: {host!r} is not an address or host name; {example}")
    else:
        host, port_text = DEFAULT_HOST, spec
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ArfilterError(f"--control {text}: the port must be a number from 1 to 65535, {example}")
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this computer only (127.x.x.x, ::1 or localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _lan_address() -> str:
    """This computer's address on the network, for the link printed when listening on 0.0.0.0."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # UDP connect sends nothing; it only picks the route
            return probe.getsockname()[0]
    except OSError:
        return socket.gethostname()


# --- the page ---------------------------------------------------------------------------------------

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


def _json_safe(value: object) -> object:
    """NaN and infinity become null: browsers cannot parse them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


# --- the server -------------------------------------------------------------------------------------

class _HTTPServer(ThreadingHTTPServer):
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


class _HTTPServer6(_HTTPServer):
    address_family = socket.AF_INET6


class ControlServer:
    """The web control panel for one running pipeline; ``start()``, then ``close()`` (or ``with``)."""

    def __init__(self, controls: Controls, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 token: str | None = None, *, stale_after_s: float = STALE_AFTER_S,
                 apply_wait_s: float = APPLY_WAIT_S, max_stream_fps: float = MAX_STREAM_FPS) -> None:
        self.controls = controls
        self.host = host
        self.port = int(port)
        self.token = token or None
        self.stale_after_s = stale_after_s
        self.apply_wait_s = apply_wait_s
        self.max_stream_fps = max_stream_fps
        address = format_address(host, self.port)
        if self.token is not None and len(self.token) < MIN_TOKEN_LENGTH:
            raise ArfilterError(f"--control-token: too short ({len(self.token)} characters); "
                                f"use at least {MIN_TOKEN_LENGTH}, e.g. a few random words")
        if self.token is None and not is_loopback(host):
            raise ArfilterError(f"--control {address}: binding beyond this computer needs a token; "
                                f"add --control-token SECRET (at least {MIN_TOKEN_LENGTH} characters)")
        self.loopback = is_loopback(host)
        self._page, self._csp = _load_page()
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._watcher: threading.Thread | None = None
        self._stopping = threading.Event()
        self._streams = 0
        self._streams_lock = threading.Lock()
        self._started_at = time.monotonic()
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
            raise ArfilterError(f"--control {address}: cannot find the address {self.host!r}; use 127.0.0.1 "
                                "(this computer only) or 0.0.0.0 (every network) with --control-token") from None
        server_class = _HTTPServer6 if family == socket.AF_INET6 else _HTTPServer
        server = server_class((bind_host, self.port), _Handler, bind_and_activate=False)
        try:
            server.server_bind()
            server.server_activate()
        except OSError as exc:
            server.server_close()
            raise self._bind_error(exc, address) from None
        server.app = self
        self.port = server.server_address[1]
        self._server = server
        self._stopping.clear()
        self._started_at = time.monotonic()
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
            return ArfilterError(f"--control {address}: the port is in use (another arfilter?); "
                                 f"pick another port, e.g. --control {other}")
        if exc.errno in (errno.EACCES, errno.EPERM):
            return ArfilterError(f"--control {address}: not allowed to use port {self.port} (ports below 1024 "
                                 f"need admin rights); pick one from 1024 to 65535, e.g. --control "
                                 f"{format_address(self.host, DEFAULT_PORT)}")
        if exc.errno in (errno.EADDRNOTAVAIL, getattr(errno, "WSAEADDRNOTAVAIL", -1)):
            return ArfilterError(f"--control {address}: this computer has no such address; use 127.0.0.1 "
                                 "(this computer only) or 0.0.0.0 (every network) with --control-token")
        return ArfilterError(f"--control {address}: cannot listen there ({exc.strerror or exc}); "
                             f"try another port, e.g. --control {other}")

    def close(self) -> None:
        """Stop serving: live previews end, the port is freed, every thread is joined."""
        self._stopping.set()
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
            host = _lan_address()
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
        while not self._stopping.wait(0.2):
            self._observe()

    def _observe(self) -> None:
        frames = self.controls.figures.frames
        if frames != self._last_frames:
            if self._last_frames >= 0 or frames > 0:
                self._last_frame_at = time.monotonic()
            self._last_frames = frames

    def health(self) -> tuple[int, dict]:
        """(status, body) of /healthz: 503 when no frame was sent for more than ``stale_after_s``."""
        self._observe()
        figures = self.controls.figures
        now = time.monotonic()
        since = self._last_frame_at if self._last_frame_at is not None else self._started_at
        age = now - since
        body = {"ok": age <= self.stale_after_s, "frames": figures.frames, "uptime_s": figures.uptime_s,
                "fps": figures.fps, "last_frame_age_s": None if self._last_frame_at is None else round(age, 2),
                "curtain": self.controls.curtain}
        if not body["ok"]:
            body["error"] = (f"no frame sent for {age:.1f} s" if self._last_frame_at is not None
                             else f"no frame sent yet, {age:.1f} s after start")
        return (200 if body["ok"] else 503), body

    # --- access -------------------------------------------------------------------------------------

    def allowed_hosts(self) -> set[str]:
        port = self.port
        hosts = {"localhost", "127.0.0.1", "[::1]", self.host.lower()}
        return {format_address(h.strip("[]"), port).lower() for h in hosts}

    def token_matches(self, offered: bytes) -> bool:
        assert self.token is not None
        return hmac.compare_digest(offered, self.token.encode("utf-8"))


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    server_version = "arfilter"
    sys_version = ""
    timeout = 10  # seconds a client may stall a read or a write (a locked phone, a half-open socket)

    # --- logging: one line per request, to a logger, never the query string --------------------------

    def log_request(self, code: object = "-", size: object = "-") -> None:
        path = urlsplit(getattr(self, "path", "") or "").path
        log.debug("%s %s %s %s", self.client_address[0], getattr(self, "command", "-"), path, code)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        text = format % args if args else format
        log.debug("%s %s", self.client_address[0], re.sub(r"token=[^&\s\"]*", "token=***", text))

    # --- methods ------------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_HEAD(self) -> None:
        self._refuse(405, "use GET or POST", allow="GET, POST")

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD  # no CORS preflight is ever answered

    # --- the rules ----------------------------------------------------------------------------------

    @property
    def app(self) -> ControlServer:
        return self.server.app

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        problem = self._check_origin(method, path) or self._check_token(path, parts.query)
        if problem is not None:
            self._refuse(*problem)
            return
        allowed = _ROUTES.get(path)
        if allowed is None:
            self._refuse(404, f"no such page: {path}; the panel is at /")
            return
        if method not in allowed:
            self._refuse(405, f"{path} takes {' or '.join(allowed)}, not {method}", allow=", ".join(allowed))
            return
        getattr(self, "_" + {"/": "page", "/healthz": "healthz", "/api/state": "state", "/api/action": "action",
                             "/preview.jpg": "preview", "/stream.mjpg": "stream"}[path])()

    def _check_origin(self, method: str, path: str) -> tuple[int, str] | None:
        """Refuse what another web page in the operator's browser could send."""
        app = self.app
        host = (self.headers.get("Host") or "").strip().lower()
        if app.loopback and host not in app.allowed_hosts():
            return 403, (f"refused: this panel answers only to http://{format_address(app.host, app.port)}/ "
                         "(or localhost)")
        origin = self.headers.get("Origin")
        if origin is not None and method != "GET" and origin.lower() != f"http://{host}":
            return 403, "refused: the request comes from another web page"
        site = (self.headers.get("Sec-Fetch-Site") or "").lower()
        navigating = (self.headers.get("Sec-Fetch-Mode") or "").lower() == "navigate" and path == "/"
        if site in ("cross-site", "same-site") and not navigating:
            return 403, "refused: the request comes from another web page"
        return None

    def _check_token(self, path: str, query: str) -> tuple[int, str] | None:
        app = self.app
        if app.token is None:
            return None
        self._token_from_query = False
        auth = self.headers.get("Authorization") or ""
        if auth[:7].lower() == "bearer ":
            # Headers arrive decoded as Latin-1: undo that to compare the bytes the client sent.
            if app.token_matches(auth[7:].strip().encode("latin-1", "replace")):
                return None
            return 401, "wrong token"
        if path in QUERY_TOKEN_PATHS:
            offered = parse_qs(query).get("token")
            if offered:
                if app.token_matches(offered[0].encode("utf-8")):
                    self._token_from_query = True
                    return None
                return 401, "wrong token"
        try:
            cookie = SimpleCookie(self.headers.get("Cookie") or "").get(app.cookie_name)
        except CookieError:
            cookie = None
        if cookie is not None and app.token_matches(unquote(cookie.value).encode("utf-8")):
            return None
        return 401, "this control panel needs its token: open the link arfilter printed (it ends in ?token=...)"

    # --- responses ----------------------------------------------------------------------------------

    def _headers(self, status: int, content_type: str, length: int | None, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("X-Frame-Options", "DENY")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()

    def _send(self, status: int, body: bytes, content_type: str, extra: dict | None = None) -> None:
        self._headers(status, content_type, len(body), extra)
        self.wfile.write(body)

    def _json(self, status: int, value: object, extra: dict | None = None) -> None:
        body = json.dumps(_json_safe(value)).encode("utf-8")
        self._send(status, body, "application/json", extra)

    def _refuse(self, status: int, message: str, allow: str | None = None) -> None:
        extra = {"Allow": allow} if allow else {}
        if status == 401:
            extra["WWW-Authenticate"] = 'Bearer realm="arfilter"'
        self._json(status, {"error": message}, extra)

    # --- endpoints ----------------------------------------------------------------------------------

    def _page(self) -> None:
        app = self.app
        extra = {"Content-Security-Policy": app._csp}
        if app.token is not None and getattr(self, "_token_from_query", False):
            extra["Set-Cookie"] = (f"{app.cookie_name}={quote(app.token, safe='')}; Path=/; HttpOnly; "
                                   "SameSite=Strict")
        self._send(200, app._page, "text/html; charset=utf-8", extra)

    def _healthz(self) -> None:
        status, body = self.app.health()
        self._json(status, body)

    def _state(self) -> None:
        self._json(200, self.app.controls.state())

    def _action(self) -> None:
        app = self.app
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            self._refuse(415, "send the action as JSON, with Content-Type: application/json")
            return
        length_text = self.headers.get("Content-Length")
        if length_text is None or not length_text.isdigit():
            self._refuse(411, "send a Content-Length")
            return
        length = int(length_text)
        if length > MAX_BODY:
            self._refuse(413, f"the action is too long ({length} bytes; at most {MAX_BODY})")
            return
        try:
            request = json.loads(self.rfile.read(length).decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            self._refuse(400, f"the body is not valid JSON ({exc})")
            return
        if not isinstance(request, dict) or not isinstance(request.get("action"), str):
            self._refuse(400, 'send {"action": NAME, "value": VALUE}')
            return
        controls = app.controls
        before = controls.changes
        try:
            controls.request(request["action"], request.get("value"))
        except ValueError as exc:
            self._refuse(400, str(exc))
            return
        # Changes are applied by the loop between frames: wait for it, so the answer shows the result.
        applied = request["action"] == "curtain"
        deadline = time.monotonic() + app.apply_wait_s
        while not applied and time.monotonic() < deadline and not app._stopping.is_set():
            time.sleep(0.005)
            applied = controls.changes > before
        state = controls.state()
        state["applied"] = applied
        self._json(200, state)

    def _preview(self) -> None:
        jpeg = self.app.controls.preview_jpeg()
        if jpeg is None:
            self._refuse(503, "no frame yet")
            return
        self._send(200, jpeg, "image/jpeg")

    def _stream(self) -> None:
        app = self.app
        with app._streams_lock:
            if app._streams >= MAX_STREAMS:
                full = True
            else:
                full, app._streams = False, app._streams + 1
        if full:
            self._refuse(503, f"{MAX_STREAMS} live previews are open already; close one")
            return
        try:
            self._headers(200, f"multipart/x-mixed-replace; boundary={BOUNDARY}", None,
                          {"Pragma": "no-cache", "Connection": "close"})
            self.wfile.write(f"--{BOUNDARY}\r\n".encode())
            interval = 1.0 / max(0.5, min(app.max_stream_fps, app.controls.preview_fps))
            last = None
            while not app._stopping.is_set():
                jpeg = app.controls.preview_jpeg()
                if jpeg is not None and jpeg is not last:
                    # The boundary right after each part: browsers show the part at once.
                    head = f"Content-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
                    self.wfile.write(head + jpeg + f"\r\n--{BOUNDARY}\r\n".encode())
                    last = jpeg
                app._stopping.wait(interval)
        except (ConnectionError, TimeoutError, OSError):
            pass  # the tab was closed or the phone went to sleep: end quietly
        finally:
            self.close_connection = True
            with app._streams_lock:
                app._streams -= 1
