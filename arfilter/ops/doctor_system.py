"""What doctor's checks share: the ``Check`` row and the ``System`` seam to the OS.

All OS access (files under /sys, programs, the Windows registry, opening
cameras) goes through one :class:`System` object so each OS state can be faked
in tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

STATUSES = ("ok", "warn", "fail")

#: Sizes tried when no v4l2-ctl can list a camera's modes (only on a real system).
PROBE_SIZES = ((640, 480), (1280, 720), (1920, 1080))


@dataclass(frozen=True)
class Check:
    """One line of the report: what was found, and what to do about it."""

    name: str
    status: str  # "ok", "warn" or "fail"
    summary: str
    fix: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {self.status!r}")


class System:
    """The running machine, seen only through the few questions the checks ask.

    Tests replace it with a fake built from a dict of files, so each OS state
    (no module, busy device, Windows without OBS...) can be checked anywhere.
    Every method answers rather than raises for "not there".
    """

    def __init__(self) -> None:
        self.env: Mapping[str, str] = os.environ

    def platform(self) -> str:
        return sys.platform

    def read_text(self, path: str) -> str | None:
        try:
            return Path(path).read_text(errors="replace")
        except OSError:
            return None

    def read_bytes(self, path: str) -> bytes | None:
        try:
            return Path(path).read_bytes()
        except OSError:
            return None

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def listdir(self, path: str) -> list[str]:
        try:
            return sorted(os.listdir(path))
        except OSError:
            return []

    def link_name(self, path: str) -> str | None:
        """Last part of a symlink's target (e.g. a device's driver), or None."""
        try:
            return os.path.basename(os.readlink(path))
        except OSError:
            return None

    def which(self, binary: str) -> str | None:
        return shutil.which(binary)

    def run(self, argv: Sequence[str], timeout: float = 5.0) -> tuple[int, str]:
        """Exit code and stdout of a program; 127 if missing, 124 if it hangs."""
        try:
            done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, errors="replace")
        except FileNotFoundError:
            return 127, ""
        except subprocess.TimeoutExpired:
            return 124, ""
        except OSError as exc:
            return 126, str(exc)
        return done.returncode, done.stdout

    def can_download(self, url: str, timeout: float = 5.0) -> str | None:
        """None if a connection to ``url``'s server opens (then closed at once, nothing sent), else why not.

        Only asked when the model is missing: the one download arfilter ever makes must be able to happen."""
        import socket
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            with socket.create_connection((parts.hostname or "", port), timeout=timeout):
                return None
        except socket.gaierror:
            return f"cannot look up {parts.hostname}: no internet connection or no DNS"
        except (socket.timeout, TimeoutError):
            return f"{parts.hostname} does not answer (timed out)"
        except (OSError, ValueError) as exc:
            return f"cannot reach {parts.hostname} ({getattr(exc, 'strerror', None) or exc})"

    def registry_has(self, clsid: str) -> bool:
        """Whether a COM class (a DirectShow camera filter) is registered."""
        try:
            import winreg  # type: ignore[import-not-found]
        except ImportError:
            return False
        try:
            with winreg.OpenKey(winreg.HKEY_CLASSES_ROOT, f"CLSID\\{clsid}"):
                return True
        except OSError:
            return False

    def try_virtual_camera(self, device: str | None) -> str | None:
        """Open the virtual camera as ``arfilter run`` would, then let go: None, or why it failed."""
        import pyvirtualcam

        try:
            camera = pyvirtualcam.Camera(width=1280, height=720, fps=30, device=device)
        except Exception as exc:  # pyvirtualcam raises RuntimeError, ValueError
            return one_line(str(exc)) or type(exc).__name__
        camera.close()
        return None

    def probe_opencv_camera(self, index: int) -> list[str] | None:
        """Modes a camera accepts ("1280x720@30"), or None if it cannot be opened.

        Sets a few common sizes and reads back what the driver chose: slower
        and rougher than v4l2-ctl, but it works on every OS.
        """
        import cv2

        capture = cv2.VideoCapture(index)
        try:
            if not capture.isOpened():
                return None
            modes: list[str] = []
            for width, height in PROBE_SIZES:
                capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
                capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
                got = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
                fps = capture.get(cv2.CAP_PROP_FPS) or 0
                mode = f"{got[0]}x{got[1]}" + (f"@{fps:g}" if fps > 0 else "")
                if got[0] > 0 and mode not in modes:
                    modes.append(mode)
            return sort_modes(modes)
        finally:
            capture.release()


def one_line(text: str) -> str:
    """Several lines of an error as one, for a report row."""
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def os_kind(platform: str) -> str:
    """'linux', 'windows', 'macos' or 'other', from ``sys.platform``."""
    if platform.startswith("linux"):
        return "linux"
    if platform.startswith(("win", "cygwin")):
        return "windows"
    if platform == "darwin":
        return "macos"
    return "other"


def sort_modes(modes: Sequence[str]) -> list[str]:
    """Largest picture first, so the first mode is the best one."""
    def area(mode: str) -> int:
        width, _, rest = mode.partition("x")
        return -int(width) * int(rest.split("@")[0])

    return sorted(dict.fromkeys(modes), key=area)
