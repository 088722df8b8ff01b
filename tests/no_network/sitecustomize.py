"""An offline machine, for tests that run arfilter in a subprocess (tests/test_privacy.py, tests/test_soak.py).

Put this folder on PYTHONPATH and Python imports this module at start-up, before
any of arfilter. It records every network attempt the process makes from Python
(``socket.create_connection``, ``socket.getaddrinfo``, and a socket's ``connect``,
``connect_ex``, ``bind``, ``sendto``, ``sendmsg``) as one JSON line in the file
named by ``$ARFILTER_TEST_NETLOG``, and refuses anything beyond this computer as
an offline machine would (no name resolution, network unreachable). Loopback
(127.0.0.0/8, ::1, localhost) is allowed and still recorded; local sockets
(AF_UNIX) are allowed and recorded too.

With ``$ARFILTER_TEST_FILELOG`` set it also records, through an audit hook, every
path the process opens for writing or creates from Python (one JSON line each).

Native code (MediaPipe, FFmpeg, OpenCV's writers) does not go through here; the
tests watch the process's sockets and open files in /proc for that.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import socket
import threading

_LOG = os.environ.get("ARFILTER_TEST_NETLOG")
_lock = threading.Lock()
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def _is_loopback(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str) or not host:
        return False  # "" binds every interface
    host = host.strip("[]").split("%")[0].lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _record(call: str, family: str, host, port, allowed: bool) -> None:
    if not _LOG:
        return
    if isinstance(host, bytes):
        host = host.decode("utf-8", "replace")
    entry = {"pid": os.getpid(), "call": call, "family": family, "host": host if host is None else str(host),
             "port": port, "allowed": allowed}
    line = (json.dumps(entry) + "\n").encode("utf-8")
    with _lock:
        fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


def _family(sock) -> str:
    try:
        return socket.AddressFamily(sock.family).name
    except (ValueError, AttributeError):
        return str(getattr(sock, "family", "?"))


def _split(sock, address):
    """(family name, host, port, whether it may go ahead) of a socket call's address."""
    family = _family(sock)
    if family in ("AF_INET", "AF_INET6") and isinstance(address, tuple) and address:
        host, port = address[0], address[1] if len(address) > 1 else None
        return family, host, port, _is_loopback(host)
    if family == "AF_UNIX":
        path = address.decode("utf-8", "replace") if isinstance(address, bytes) else str(address)
        return family, path, None, True
    return family, repr(address), None, False


def _unreachable() -> OSError:
    return OSError(errno.ENETUNREACH, "Network is unreachable (offline test machine)")


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_bind = socket.socket.bind
_real_sendto = socket.socket.sendto
_real_sendmsg = socket.socket.sendmsg
_real_create_connection = socket.create_connection
_real_getaddrinfo = socket.getaddrinfo


def connect(self, address):
    family, host, port, ok = _split(self, address)
    _record("connect", family, host, port, ok)
    if not ok:
        raise _unreachable()
    return _real_connect(self, address)


def connect_ex(self, address):
    family, host, port, ok = _split(self, address)
    _record("connect_ex", family, host, port, ok)
    if not ok:
        return errno.ENETUNREACH
    return _real_connect_ex(self, address)


def bind(self, address):
    family, host, port, ok = _split(self, address)
    _record("bind", family, host, port, ok)
    if not ok:
        raise OSError(errno.EADDRNOTAVAIL, "only loopback addresses may be bound (offline test machine)")
    return _real_bind(self, address)


def sendto(self, data, *args):
    address = args[-1] if args else None
    family, host, port, ok = _split(self, address)
    _record("sendto", family, host, port, ok)
    if not ok:
        raise _unreachable()
    return _real_sendto(self, data, *args)


def sendmsg(self, buffers, *args):
    address = args[2] if len(args) > 2 else None
    if address is None:  # a connected socket: its connect() was recorded
        return _real_sendmsg(self, buffers, *args)
    family, host, port, ok = _split(self, address)
    _record("sendmsg", family, host, port, ok)
    if not ok:
        raise _unreachable()
    return _real_sendmsg(self, buffers, *args)


def create_connection(address, *args, **kwargs):
    host, port = address[0], address[1]
    ok = _is_loopback(host)
    _record("create_connection", "AF_INET", host, port, ok)
    if not ok:
        raise _unreachable()
    return _real_create_connection(address, *args, **kwargs)


def getaddrinfo(host, port, *args, **kwargs):
    ok = host is None or _is_loopback(host)
    _record("getaddrinfo", "-", host, port, ok)
    if not ok:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution (offline test machine)")
    return _real_getaddrinfo(host, port, *args, **kwargs)


# --- files: every path opened for writing or created from Python, to $ARFILTER_TEST_FILELOG ---------

_FILELOG = os.environ.get("ARFILTER_TEST_FILELOG")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_busy = threading.local()


def _path(value) -> str | None:
    if isinstance(value, bytes):
        return os.fsdecode(value)
    if isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return None  # a file descriptor


def _audit(event: str, args: tuple) -> None:
    if getattr(_busy, "on", False):
        return
    if event == "open":
        path, mode, flags = (tuple(args) + (None, None, None))[:3]
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS)
        paths = [_path(path)] if writes else []
    elif event in ("os.mkdir", "os.mkfifo", "os.mknod", "os.truncate", "tempfile.mkstemp", "tempfile.mkdtemp"):
        paths = [_path(args[0])]
    elif event in ("os.rename", "os.link", "os.symlink", "shutil.copyfile", "shutil.copytree", "shutil.move"):
        paths = [_path(args[1])]
    else:
        return
    paths = [p for p in paths if p and p not in (_LOG, _FILELOG)]  # not our own logs
    if not paths:
        return
    _busy.on = True
    try:
        line = "".join(json.dumps({"pid": os.getpid(), "event": event, "path": os.path.abspath(p)}) + "\n"
                       for p in paths).encode("utf-8")
        fd = os.open(_FILELOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    finally:
        _busy.on = False


if _FILELOG:
    import sys

    sys.addaudithook(_audit)


socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
socket.socket.bind = bind
socket.socket.sendto = sendto
socket.socket.sendmsg = sendmsg
socket.create_connection = create_connection
socket.getaddrinfo = getaddrinfo
