"""Who may talk to the web control panel: where it listens, and which requests it accepts.

The rules (see :mod:`arfilter.operator.webcontrol` for the whole list): loopback
unless a token is set; with a token, every request carries it (bearer header,
the panel's cookie, or ``?token=`` on the page and previews), compared in
constant time; on loopback the ``Host`` must be this server (DNS rebinding);
requests other web pages could send are refused.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import socket
from email.message import Message
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs, unquote

from arfilter.core.errors import ArfilterError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MIN_TOKEN_LENGTH = 12
QUERY_TOKEN_PATHS = ("/", "/preview.jpg", "/stream.mjpg")

Problem = tuple[int, str]  # HTTP status, message


def format_address(host: str, port: int) -> str:
    """``host:port``, with brackets around an IPv6 address."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_control_address(text: str, where: str = "--control") -> tuple[str, int]:
    """``--control``'s value as (host, port): ``8765``, ``127.0.0.1:8765``, ``0.0.0.0:9000``,
    ``[::1]:8765``, ``localhost:8765``. A port alone means 127.0.0.1 (this computer only).
    ``where``: where the value came from, for the message (``event.toml: controls.web``)."""
    spec = text.strip()
    example = f"e.g. {_example(where, f'{DEFAULT_HOST}:{DEFAULT_PORT}')}"
    if not spec:
        raise ArfilterError(f"{where}: give an address and port, {example}")
    if spec.startswith("["):
        end = spec.find("]")
        if end < 0 or not spec[end + 1:].startswith(":"):
            raise ArfilterError(f"{where} {text}: write an IPv6 address as [ADDRESS]:PORT, "
                                f"e.g. {_example(where, '[::1]:8765')}")
        host, port_text = spec[1:end], spec[end + 2:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ArfilterError(f"{where} {text}: {host!r} is not an IPv6 address; {example}") from None
    elif spec.count(":") > 1:
        raise ArfilterError(f"{where} {text}: put an IPv6 address in brackets, e.g. {_example(where, '[::1]:8765')}")
    elif ":" in spec:
        host, port_text = spec.split(":")
        if not host:
            raise ArfilterError(f"{where} {text}: give the address before the colon, {example} "
                                "(127.0.0.1: this computer only)")
        if not re.fullmatch(r"[A-Za-z0-9.-]+", host):
            raise ArfilterError(f"{where} {text}: {host!r} is not an address or host name; {example}")
    else:
        host, port_text = DEFAULT_HOST, spec
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ArfilterError(f"{where} {text}: the port must be a number from 1 to 65535, {example}")
    return host, int(port_text)


def _example(where: str, address: str) -> str:
    """How to write ``address`` where the value came from: a flag, or the event file's ``web = "..."``."""
    if where.startswith(("-", "$")):
        return f"--control {address}"
    return f'web = "{address}"'


def access_problem(host: str, port: int, token: str | None, *, where: str = "--control",
                   token_where: str = "--control-token") -> str | None:
    """Why the panel may not listen at ``host:port`` with ``token``, or None: a token shorter than
    ``MIN_TOKEN_LENGTH``, or an address beyond this computer without one. The pre-flight and the
    server ask the same question; no socket is opened."""
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        return (f"{token_where}: too short ({len(token)} characters); "
                f"use at least {MIN_TOKEN_LENGTH}, e.g. a few random words")
    if token is None and not is_loopback(host):
        if token_where.startswith(("-", "$")):
            how = f"add --control-token SECRET (at least {MIN_TOKEN_LENGTH} characters)"
        else:  # "event.toml: controls.token"
            how = (f"add token = \"SECRET\" (at least {MIN_TOKEN_LENGTH} characters) under [controls] in "
                   f"{token_where.rsplit(': ', 1)[0]}")
        return f"{where} {format_address(host, port)}: binding beyond this computer needs a token; {how}"
    return None


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this computer only (127.x.x.x, ::1 or localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def lan_address() -> str:
    """This computer's address on the network, for the link printed when listening on 0.0.0.0."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # UDP connect sends nothing; it only picks the route
            return probe.getsockname()[0]
    except OSError:
        return socket.gethostname()


def allowed_hosts(host: str, port: int) -> set[str]:
    """The ``Host`` headers a loopback panel answers to: its own address and localhost, with its port."""
    hosts = {"localhost", "127.0.0.1", "[::1]", host.lower()}
    return {format_address(h.strip("[]"), port).lower() for h in hosts}


def token_matches(token: str, offered: bytes) -> bool:
    """Whether ``offered`` is the token, compared in constant time."""
    return hmac.compare_digest(offered, token.encode("utf-8"))


def origin_problem(headers: Message, method: str, path: str, *, host: str, port: int,
                   loopback: bool) -> Problem | None:
    """Refuse what another web page in the operator's browser could send."""
    sent_host = (headers.get("Host") or "").strip().lower()
    if loopback and sent_host not in allowed_hosts(host, port):
        return 403, (f"refused: this panel answers only to http://{format_address(host, port)}/ "
                     "(or localhost)")
    origin = headers.get("Origin")
    if origin is not None and method != "GET" and origin.lower() != f"http://{sent_host}":
        return 403, "refused: the request comes from another web page"
    site = (headers.get("Sec-Fetch-Site") or "").lower()
    navigating = (headers.get("Sec-Fetch-Mode") or "").lower() == "navigate" and path == "/"
    if site in ("cross-site", "same-site") and not navigating:
        return 403, "refused: the request comes from another web page"
    return None


def token_problem(headers: Message, path: str, query: str, *, token: str,
                  cookie_name: str) -> tuple[Problem | None, bool]:
    """(why the request is refused or None, whether the token came in ``?token=``) for a panel with a token."""
    auth = headers.get("Authorization") or ""
    if auth[:7].lower() == "bearer ":
        # Headers arrive decoded as Latin-1: undo that to compare the bytes the client sent.
        if token_matches(token, auth[7:].strip().encode("latin-1", "replace")):
            return None, False
        return (401, "wrong token"), False
    if path in QUERY_TOKEN_PATHS:
        offered = parse_qs(query).get("token")
        if offered:
            if token_matches(token, offered[0].encode("utf-8")):
                return None, True
            return (401, "wrong token"), False
    try:
        cookie = SimpleCookie(headers.get("Cookie") or "").get(cookie_name)
    except CookieError:
        cookie = None
    if cookie is not None and token_matches(token, unquote(cookie.value).encode("utf-8")):
        return None, False
    return (401, "this control panel needs its token: open the link arfilter printed (it ends in ?token=...)"), False
