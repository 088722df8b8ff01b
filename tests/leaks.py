"""What a test may leave behind, measured before and after it: processes, X windows, held keys, files.

The suite shares one process, one Xvfb and one machine's /tmp across every test, so a
leftover is another test's surprise (and runs in a different order find it). The
conftest's autouse fixture compares these snapshots around each test and fails the one
that leaked, after cleaning up, so the next test starts clean.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# --- processes ---------------------------------------------------------------------------------------


def _stat(pid: str) -> tuple[int, int, str, str] | None:
    """(ppid, process group, state, command name) of a process, from /proc; None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = text[text.index("(") + 1:text.rindex(")")]
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[2]), fields[0], name


def our_processes() -> dict[int, str]:
    """Running processes this test process started: its descendants, and orphans still in its process group.

    A grandchild whose parent died is re-parented to init but keeps the process group,
    so it is found too. Zombies are left out: they run nothing and the kernel reaps them
    once their parent waits.
    """
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (info := _stat(entry)) is not None:
            table[int(entry)] = info
    me, group = os.getpid(), os.getpgrp()
    found: dict[int, str] = {}
    parents = {me}
    while parents:
        parents = {pid for pid, (ppid, _, state, _) in table.items() if ppid in parents and pid not in found}
        found.update({pid: table[pid][3] for pid in parents})
    found.update({pid: info[3] for pid, info in table.items() if info[1] == group and pid != me})
    return {pid: name for pid, name in found.items() if table[pid][2] != "Z"}


def new_processes(before: dict[int, str], grace_s: float = 5.0) -> dict[int, str]:
    """Processes started since ``before`` that are still running after ``grace_s``.

    The grace is for a process the test has just signalled (terminate() without wait());
    a session that ends cleanly needs a fraction of a second, so 5 s is over 10x that.
    """
    deadline = time.monotonic() + grace_s
    while True:
        left = {pid: name for pid, name in our_processes().items() if pid not in before}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def kill(pids: dict[int, str]) -> None:
    """SIGKILL leftover processes and reap the ones that are our children."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for pid in pids:
        try:
            os.waitpid(pid, 0)
        except OSError:
            pass  # not our child (an orphan): init reaps it


# --- X windows and keys ------------------------------------------------------------------------------


def visible_windows(display: str) -> dict[str, str]:
    """Mapped top-level windows on ``display`` (id -> name), the root included."""
    env = {**os.environ, "DISPLAY": display}
    found = subprocess.run(["xdotool", "search", "--maxdepth", "1", "--onlyvisible", "--name", ""], env=env,
                           capture_output=True, text=True, timeout=30).stdout.split()
    names = {}
    for window in found:
        names[window] = subprocess.run(["xdotool", "getwindowname", window], env=env, capture_output=True,
                                       text=True, timeout=30).stdout.strip()
    return names


def _xlib():
    x11 = ctypes.CDLL("libX11.so.6")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XQueryKeymap.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    x11.XFlush.argtypes = [ctypes.c_void_p]
    return x11


def held_keys(display: str) -> list[int]:
    """X keycodes the server believes are held down (a keydown whose keyup never came)."""
    x11 = _xlib()
    connection = x11.XOpenDisplay(display.encode())
    if not connection:
        return []
    try:
        keymap = ctypes.create_string_buffer(32)
        x11.XQueryKeymap(connection, keymap)
        return [8 * index + bit for index, byte in enumerate(keymap.raw) for bit in range(8) if byte >> bit & 1]
    finally:
        x11.XCloseDisplay(connection)


def release_keys(display: str, keycodes: list[int]) -> None:
    """Send the missing key-up events through XTEST, as xdotool keyup does."""
    x11 = _xlib()
    xtst = ctypes.CDLL("libXtst.so.6")
    xtst.XTestFakeKeyEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_ulong]
    connection = x11.XOpenDisplay(display.encode())
    if not connection:
        return
    try:
        for code in keycodes:
            xtst.XTestFakeKeyEvent(connection, code, 0, 0)
        x11.XFlush(connection)
    finally:
        x11.XCloseDisplay(connection)


def close_our_windows() -> None:
    """Close any OpenCV window this process still has (only if OpenCV's GUI was used at all)."""
    cv2 = sys.modules.get("cv2")
    if cv2 is not None:
        try:
            cv2.destroyAllWindows()
            cv2.waitKey(1)
        except Exception:  # no GUI backend: nothing was open
            pass


# --- files -------------------------------------------------------------------------------------------

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


class WriteLog:
    """Paths this process opens for writing from Python (an audit hook), and that cv2.imwrite writes.

    Native writers other than cv2.imwrite (FFmpeg through VideoWriter, subprocesses) are not
    seen; the hook covers Python's open(), pathlib, tempfile, shutil and Playwright's screenshots.
    """

    def __init__(self) -> None:
        self.paths: set[str] = set()
        self.active = False

    def install(self) -> None:
        sys.addaudithook(self._hook)
        try:
            import cv2
        except ImportError:
            return
        imwrite = cv2.imwrite

        def recorded_imwrite(filename, *args, **kwargs):
            self.note(filename)
            return imwrite(filename, *args, **kwargs)

        cv2.imwrite = recorded_imwrite

    def note(self, path: object) -> None:
        if self.active and isinstance(path, (str, bytes, os.PathLike)):
            self.paths.add(os.path.abspath(os.fsdecode(path)))

    def _hook(self, event: str, args: tuple) -> None:
        if event != "open" or not self.active:
            return
        path, mode, flags = args
        if isinstance(mode, str) and any(c in mode for c in "wax+") or mode is None and flags & _WRITE_FLAGS:
            self.note(path)

    def left_outside(self, allowed: list[Path]) -> list[str]:
        """Regular files written outside ``allowed`` that are still there (temporary files deleted again are fine)."""
        roots = [str(root) + os.sep for root in allowed]
        return sorted(path for path in self.paths
                      if not any(path.startswith(root) for root in roots) and os.path.isfile(path))
