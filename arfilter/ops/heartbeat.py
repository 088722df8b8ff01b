"""The supervised session's side of the supervisor: a heartbeat file the supervisor watches.

The live loop calls ``Heartbeat.beat`` for every frame it sends (cards too);
the call costs a clock read, and at most every ``BEAT_INTERVAL`` seconds it
overwrites a fixed-size record. ``Heartbeat.from_env()`` is a no-op object
when the session is not supervised. See ``ops.supervisor`` for the other side.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Callable


HEARTBEAT_ENV = "ARFILTER_HEARTBEAT"
SUPERVISED_ENV = "ARFILTER_SUPERVISED"
SUPERVISOR_PID_ENV = "ARFILTER_SUPERVISOR_PID"
BEAT_INTERVAL = 0.25
RECORD = "{pid:>10} {count:>20}\n"  # fixed size: overwritten in place, never truncated
WINDOWS = sys.platform == "win32"


# --- the child's side ------------------------------------------------------------

class Heartbeat:
    """The child's side: ``beat()`` for every frame sent; writes at most every ``interval`` seconds.

    ``Heartbeat.from_env()`` is a no-op object when the session is not supervised.
    """

    def __init__(self, path: str | os.PathLike | None, interval: float = BEAT_INTERVAL,
                 parent_pid: int | None = None) -> None:
        self.path = Path(path) if path else None
        self.interval = interval
        self.count = 0
        self._next = 0.0
        self._fd: int | None = None
        self._parent_pid = parent_pid
        if self.path is not None:
            try:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
            except OSError:
                self._fd = None  # a heartbeat must never stop the session; the supervisor will see no beats

    @classmethod
    def from_env(cls, environ=None) -> "Heartbeat":
        """The heartbeat the supervisor asked for, or a no-op one; arms the orphan watch."""
        environ = os.environ if environ is None else environ
        path = environ.get(HEARTBEAT_ENV)
        if not path:
            return cls(None)
        parent = environ.get(SUPERVISOR_PID_ENV, "")
        heartbeat = cls(path, parent_pid=int(parent) if parent.isdigit() else None)
        heartbeat._stop_with_parent()
        return heartbeat

    @property
    def enabled(self) -> bool:
        return self._fd is not None

    def beat(self) -> None:
        """Cheap: one clock read per call; the file is written at most every ``interval``."""
        if self._fd is None:
            return
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self.interval
        self.count += 1
        try:
            os.lseek(self._fd, 0, os.SEEK_SET)
            os.write(self._fd, RECORD.format(pid=os.getpid(), count=self.count).encode())
        except OSError:
            pass
        if self._parent_pid is not None and not WINDOWS and os.getppid() != self._parent_pid:
            self._parent_gone()

    def __call__(self, *_args) -> None:
        self.beat()

    def chain(self, on_frame: Callable | None) -> Callable | None:
        """``on_frame`` for ``run_pipeline`` that also beats (``on_frame`` itself when not supervised)."""
        if self._fd is None:
            return on_frame
        if on_frame is None:
            return self
        beat = self.beat

        def on_frame_and_beat(*args) -> None:
            on_frame(*args)
            beat()

        return on_frame_and_beat

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _stop_with_parent(self) -> None:
        """Linux: SIGTERM when the supervisor dies (other systems: the check in ``beat``)."""
        if not sys.platform.startswith("linux"):
            return
        try:
            import ctypes

            PR_SET_PDEATHSIG = 1
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        except Exception:
            return
        if self._parent_pid is not None and os.getppid() != self._parent_pid:
            self._parent_gone()  # it died before the prctl

    def _parent_gone(self) -> None:
        self._parent_pid = None
        try:  # nobody reads our stderr any more: keep the shutdown quiet instead of failing on a broken pipe
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 2)
            os.close(null)
        except OSError:
            pass
        os.kill(os.getpid(), signal.SIGTERM)
