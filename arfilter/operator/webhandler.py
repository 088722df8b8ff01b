"""The web control panel's request handler: access rules first, then the endpoint.

Each request is checked against :mod:`arfilter.operator.webaccess` (host,
origin, token), routed by path and method, and answered with the panel's
security headers; JSON bodies never hold NaN (browsers cannot parse it).
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from arfilter.operator.webaccess import Problem, origin_problem, token_problem

if TYPE_CHECKING:
    from arfilter.operator.webcontrol import ControlServer, PanelHTTPServer

# One logger for the whole panel, under the name its documentation gives (webcontrol's).
log = logging.getLogger("arfilter.operator.webcontrol")

MAX_STREAMS = 8  # open live previews at once
MAX_BODY = 4096  # bytes in an action request
BOUNDARY = "arfilterframe"

ROUTES = {  # path -> allowed methods
    "/": ("GET",), "/healthz": ("GET",), "/api/state": ("GET",), "/api/action": ("POST",),
    "/preview.jpg": ("GET",), "/stream.mjpg": ("GET",),
}


def json_safe(value: object) -> object:
    """NaN and infinity become null: browsers cannot parse them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


class ControlHandler(BaseHTTPRequestHandler):
    """One request to the panel: checked against the access rules, then routed to its endpoint."""

    server: "PanelHTTPServer"
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
    def app(self) -> "ControlServer":
        return self.server.app

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        problem = self._check_origin(method, path) or self._check_token(path, parts.query)
        if problem is not None:
            self._refuse(*problem)
            return
        allowed = ROUTES.get(path)
        if allowed is None:
            self._refuse(404, f"no such page: {path}; the panel is at /")
            return
        if method not in allowed:
            self._refuse(405, f"{path} takes {' or '.join(allowed)}, not {method}", allow=", ".join(allowed))
            return
        getattr(self, "_" + {"/": "page", "/healthz": "healthz", "/api/state": "state", "/api/action": "action",
                             "/preview.jpg": "preview", "/stream.mjpg": "stream"}[path])()

    def _check_origin(self, method: str, path: str) -> Problem | None:
        app = self.app
        return origin_problem(self.headers, method, path, host=app.host, port=app.port, loopback=app.loopback)

    def _check_token(self, path: str, query: str) -> Problem | None:
        app = self.app
        if app.token is None:
            return None
        problem, self._token_from_query = token_problem(self.headers, path, query, token=app.token,
                                                        cookie_name=app.cookie_name)
        return problem

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
        body = json.dumps(json_safe(value)).encode("utf-8")
        self._send(status, body, "application/json", extra)

    def _refuse(self, status: int, message: str, allow: str | None = None) -> None:
        extra = {"Allow": allow} if allow else {}
        if status == 401:
            extra["WWW-Authenticate"] = 'Bearer realm="arfilter"'
        self._json(status, {"error": message}, extra)

    # --- endpoints ----------------------------------------------------------------------------------

    def _page(self) -> None:
        app = self.app
        extra = {"Content-Security-Policy": app.csp}
        if app.token is not None and getattr(self, "_token_from_query", False):
            extra["Set-Cookie"] = (f"{app.cookie_name}={quote(app.token, safe='')}; Path=/; HttpOnly; "
                                   "SameSite=Strict")
        self._send(200, app.page, "text/html; charset=utf-8", extra)

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
        while not applied and time.monotonic() < deadline and not app.stopping.is_set():
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
        if not app.take_stream(MAX_STREAMS):
            self._refuse(503, f"{MAX_STREAMS} live previews are open already; close one")
            return
        try:
            self._headers(200, f"multipart/x-mixed-replace; boundary={BOUNDARY}", None,
                          {"Pragma": "no-cache", "Connection": "close"})
            self.wfile.write(f"--{BOUNDARY}\r\n".encode())
            interval = 1.0 / max(0.5, min(app.max_stream_fps, app.controls.preview_fps))
            last = None
            while not app.stopping.is_set():
                jpeg = app.controls.preview_jpeg()
                if jpeg is not None and jpeg is not last:
                    # The boundary right after each part: browsers show the part at once.
                    head = f"Content-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
                    self.wfile.write(head + jpeg + f"\r\n--{BOUNDARY}\r\n".encode())
                    last = jpeg
                app.stopping.wait(interval)
        except (ConnectionError, TimeoutError, OSError):
            pass  # the tab was closed or the phone went to sleep: end quietly
        finally:
            self.close_connection = True
            app.end_stream()
