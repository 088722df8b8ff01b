"""``arfilter doctor``: check what ``arfilter run`` needs, and say how to fix what is missing.

The people who set up a campaign booth are not engineers, so every problem
comes with one plain line of advice holding the exact command or click.
Four checks: a webcam, the virtual camera for this OS, the face model, and a
display (only needed for the preview window and kiosk).

All OS access (files under /sys, programs, the Windows registry, opening
cameras) goes through one :class:`System` object so each OS state can be faked
in tests; the model check reads real files through :mod:`arfilter.tracking.model`.
"""

from __future__ import annotations

import argparse
import json
import os
import plistlib
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import arfilter.tracking.model as _model

STATUSES = ("ok", "warn", "fail")
TARGETS = ("virtualcam", "window", "kiosk")

V4L_CLASS = "/sys/class/video4linux"
LOOPBACK_MODULE = "/sys/module/v4l2loopback"
LOOPBACK_PARAMS = LOOPBACK_MODULE + "/parameters"
#: Card labels v4l2loopback devices are known by: its default, ours, and OBS's.
LOOPBACK_LABELS = ("Dummy video device", "arfilter", "OBS Virtual Camera")

OBS_CLSID = "{A3FCE0F5-3493-419F-958A-ABA1250EC20B}"
UNITY_CLSID = "{5C2CD55C-92AD-4999-8666-912BD3E70010}"
MAC_DAL_PLUGIN = "/Library/CoreMediaIO/Plug-Ins/DAL/obs-mac-virtualcam.plugin"
MAC_OBS_PLIST = "/Applications/OBS.app/Contents/Info.plist"
MAC_OBS_MIN = 30

#: Sizes tried when no v4l2-ctl can list a camera's modes (only on a real system).
PROBE_SIZES = ((640, 480), (1280, 720), (1920, 1080))
#: Camera numbers tried where the OS lists no devices (Windows, macOS).
PROBE_INDICES = range(5)

_LOAD = "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=arfilter"
FIX_NO_MODULE = f"sudo apt install v4l2loopback-dkms && {_LOAD}"
FIX_NO_DEVICE = f"sudo modprobe -r v4l2loopback && {_LOAD}"
FIX_EXCLUSIVE_CAPS = (
    "Chrome, Meet and Teams only list the camera with exclusive_caps=1 (Zoom and OBS work either way); "
    f"reload with: sudo modprobe -r v4l2loopback && {_LOAD}"
)
FIX_PERMISSION = "let your user use video devices: sudo usermod -aG video $USER, then log out and back in"
FIX_NO_CAMERA = (
    "plug in a webcam, or close the app that is using it; a video file works too: "
    "arfilter run --source clip.mp4"
)
FIX_MAC_CAMERA_PERMISSION = "; on a Mac also allow your terminal in System Settings > Privacy & Security > Camera"
FIX_WINDOWS_INSTALL = (
    "install OBS Studio (https://obsproject.com), click Start Virtual Camera once and close OBS; "
    "or install Unity Capture"
)
FIX_WINDOWS_BUSY = (
    "close the other program that is sending to the virtual camera (OBS's own Start Virtual Camera, "
    "another arfilter), then check again"
)
FIX_MAC_INSTALL = (
    f"install OBS Studio {MAC_OBS_MIN} or newer from https://obsproject.com, open it, "
    "click Start Virtual Camera once, then quit OBS"
)
FIX_MAC_UPDATE = (
    f"update OBS Studio to {MAC_OBS_MIN} or newer from https://obsproject.com, "
    "then click Start Virtual Camera once"
)
FIX_MAC_START_ONCE = (
    "open OBS, click Start Virtual Camera once (allow the system extension if macOS asks), then quit OBS"
)
FIX_MAC_BUSY = "click Stop Virtual Camera in OBS, or quit the other program that is sending to it"
FIX_OTHER_OS = "this system has no virtual camera arfilter can use; show a window instead: arfilter run --sink window"
FIX_DISPLAY_WARN = (
    "only needed for the preview window or kiosk: run arfilter from a terminal on the desktop, "
    "not over SSH or as a service"
)
FIX_DISPLAY_FAIL = (
    "run arfilter from a terminal on the desktop (not over SSH or as a service), "
    "or record to a file instead: arfilter run --sink out.mp4"
)
FIX_BUG = "this is a bug in arfilter doctor; please report this line"


def fix_busy(device: str) -> str:
    """Advice when another program already feeds the loopback device."""
    return (f"close the other program that is sending to {device} (another arfilter, OBS's virtual camera) "
            "or load a second device with devices=2")


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


# --------------------------------------------------------------------------- the OS


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
            return _one_line(str(exc)) or type(exc).__name__
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
            return _sort_modes(modes)
        finally:
            capture.release()


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def _os_kind(platform: str) -> str:
    """'linux', 'windows', 'macos' or 'other', from ``sys.platform``."""
    if platform.startswith("linux"):
        return "linux"
    if platform.startswith(("win", "cygwin")):
        return "windows"
    if platform == "darwin":
        return "macos"
    return "other"


# --------------------------------------------------------------------------- camera


def _sort_modes(modes: Sequence[str]) -> list[str]:
    """Largest picture first, so the first mode is the best one."""
    def area(mode: str) -> int:
        width, _, rest = mode.partition("x")
        return -int(width) * int(rest.split("@")[0])

    return sorted(dict.fromkeys(modes), key=area)


def parse_v4l2_modes(text: str) -> list[str]:
    """Sizes and best frame rate from ``v4l2-ctl --list-formats-ext``, e.g. ["1280x720@30"].

    Rough on purpose: every pixel format is merged, a stepwise range counts
    as its largest size, and each size keeps its highest rate.
    """
    best: dict[tuple[int, int], float] = {}
    size: tuple[int, int] | None = None
    for line in text.splitlines():
        found = re.search(r"Size:\s+Discrete\s+(\d+)x(\d+)", line) or re.search(
            r"Size:\s+\w+\s+\d+x\d+\s*-\s*(\d+)x(\d+)", line)
        if found:
            size = (int(found.group(1)), int(found.group(2)))
            best.setdefault(size, 0.0)
            continue
        rate = re.search(r"\(([\d.]+)(?:\s*-\s*([\d.]+))?\s*fps\)", line)
        if rate and size is not None:
            fps = float(rate.group(2) or rate.group(1))
            best[size] = max(best[size], fps)
        elif re.match(r"\s*\[\d+\]:", line):
            size = None
    return _sort_modes([f"{w}x{h}" + (f"@{fps:g}" if fps else "") for (w, h), fps in best.items()])


def _param_list(system: System, name: str) -> list[str]:
    """A v4l2loopback array parameter ("Y,N,N") as a list; [] if not readable."""
    text = system.read_text(f"{LOOPBACK_PARAMS}/{name}")
    return [part.strip() for part in text.strip().split(",")] if text else []


def _video_number(node: str) -> int | None:
    found = re.fullmatch(r"video(\d+)", node)
    return int(found.group(1)) if found else None


def _is_loopback(system: System, node: str, name: str) -> bool:
    """Whether /dev/<node> is a v4l2loopback device (an output, never a webcam)."""
    base = f"{V4L_CLASS}/{node}"
    for link in (f"{base}/device/driver", f"{base}/device"):
        if "v4l2loopback" in (system.link_name(link) or ""):
            return True
    if system.exists(f"{base}/max_openers"):  # a sysfs attribute only v4l2loopback adds
        return True
    if str(_video_number(node)) in _param_list(system, "video_nr"):
        return True
    labels = [label for label in _param_list(system, "card_label") if label]
    return any(name == label or name.startswith(label) for label in (*labels, *LOOPBACK_LABELS))


def _video_nodes(system: System) -> list[tuple[str, str]]:
    """(node, name) of every /dev/videoN the kernel lists, in number order."""
    nodes = [node for node in system.listdir(V4L_CLASS) if _video_number(node) is not None]
    nodes.sort(key=lambda node: _video_number(node) or 0)
    return [(node, (system.read_text(f"{V4L_CLASS}/{node}/name") or "").strip()) for node in nodes]


def _linux_cameras(system: System) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Webcams (capture nodes that are not loopback outputs) and the nodes skipped, with why."""
    cameras: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    v4l2_ctl = system.which("v4l2-ctl")
    for node, name in _video_nodes(system):
        device = f"/dev/{node}"
        if _is_loopback(system, node, name):
            skipped.append({"device": device, "why": "v4l2loopback output (the virtual camera)"})
            continue
        index_text = (system.read_text(f"{V4L_CLASS}/{node}/index") or "0").strip()
        if index_text not in ("", "0"):
            skipped.append({"device": device, "why": "second node of a camera (metadata)"})
            continue
        number = _video_number(node) or 0
        camera: dict[str, Any] = {"index": number, "device": device, "name": name or None}
        if v4l2_ctl:
            rc, out = system.run([v4l2_ctl, "--list-formats-ext", "-d", device])
            camera["modes"] = parse_v4l2_modes(out) if rc == 0 else []
            camera["opens"] = None  # not tried: listing modes does not need the camera free
        else:
            modes = system.probe_opencv_camera(number)
            camera["modes"] = modes or []
            camera["opens"] = modes is not None
        cameras.append(camera)
    return cameras, skipped


def _probed_cameras(system: System) -> list[dict[str, Any]]:
    """Cameras OpenCV can open by number (Windows, macOS: the OS gives no names here)."""
    cameras = []
    for index in PROBE_INDICES:
        modes = system.probe_opencv_camera(index)
        if modes is not None:
            cameras.append({"index": index, "device": None, "name": None, "modes": modes, "opens": True})
    return cameras


def _describe_camera(camera: Mapping[str, Any]) -> str:
    label = f"camera {camera['index']}"
    if camera.get("name"):
        label += f" \"{camera['name']}\""
    if camera.get("modes"):
        label += f" (up to {camera['modes'][0]})"
    if camera.get("opens") is False:
        label += " (cannot open it)"
    return label


def check_camera(system: System) -> Check:
    """A webcam ``arfilter run --source N`` can read; loopback outputs do not count."""
    kind = _os_kind(system.platform())
    skipped: list[dict[str, str]] = []
    if kind == "linux":
        cameras, skipped = _linux_cameras(system)
    else:
        cameras = _probed_cameras(system)
    details: dict[str, Any] = {"cameras": cameras, "skipped": skipped}
    if kind != "linux":
        details["names"] = "not available on this system"
    usable = [camera for camera in cameras if camera.get("opens") is not False]
    fix = FIX_NO_CAMERA + (FIX_MAC_CAMERA_PERMISSION if kind == "macos" else "")
    if not cameras:
        return Check("camera", "fail", "no camera found", fix, details)
    found = ", ".join(_describe_camera(camera) for camera in cameras)
    if kind != "linux":
        found += " (names not available here)"
    if not usable:
        return Check("camera", "fail", f"{found}: in use or not working", fix, details)
    if usable[0]["index"] != 0:
        first = usable[0]["index"]
        return Check("camera", "warn", f"{found}; camera 0 is not a webcam",
                     f"arfilter run reads camera 0 unless told: start it with arfilter run --source {first}", details)
    return Check("camera", "ok", found, "", details)


# --------------------------------------------------------------------------- virtual camera


def _exclusive_caps(system: System, devices: Sequence[tuple[str, str]]) -> dict[str, bool | None]:
    """Each loopback device's exclusive_caps (None: unknown).

    The module parameter lists one value per device in the order they were
    created: by ``video_nr`` where given, else by device number.
    """
    values = _param_list(system, "exclusive_caps")
    numbers = _param_list(system, "video_nr")
    result: dict[str, bool | None] = {}
    for position, (node, _) in enumerate(devices):
        number = str(_video_number(node))
        slot = numbers.index(number) if number in numbers else position
        value = values[slot].upper() if slot < len(values) else ""
        result[node] = True if value in ("Y", "1") else False if value in ("N", "0") else None
    return result


def _linux_virtual_camera(system: System) -> Check:
    name = "virtual camera"
    if not system.exists(LOOPBACK_MODULE):
        return Check(name, "fail", "v4l2loopback (the Linux virtual camera) is not loaded", FIX_NO_MODULE,
                     {"module_loaded": False, "devices": []})
    loopbacks = [(node, label) for node, label in _video_nodes(system) if _is_loopback(system, node, label)]
    details: dict[str, Any] = {"module_loaded": True, "devices": []}
    if not loopbacks:
        return Check(name, "fail", "v4l2loopback is loaded but made no device", FIX_NO_DEVICE, details)
    caps = _exclusive_caps(system, loopbacks)
    free: list[tuple[str, str]] = []
    errors: dict[str, str] = {}
    for node, label in loopbacks:
        error = system.try_virtual_camera(f"/dev/{node}")
        details["devices"].append({"device": f"/dev/{node}", "name": label, "exclusive_caps": caps[node],
                                   "error": error})
        if error is None:
            free.append((node, label))
        else:
            errors[node] = error
    if not free:
        node = loopbacks[0][0]
        error = errors[node]
        if "ermission" in error:
            return Check(name, "fail", f"/dev/{node}: no permission ({error})", FIX_PERMISSION, details)
        return Check(name, "fail", f"/dev/{node} is busy ({error})", fix_busy(f"/dev/{node}"), details)
    node, label = free[0]
    details["chosen"] = f"/dev/{node}"
    found = f"/dev/{node} \"{label}\"" if label else f"/dev/{node}"
    if caps[node] is False:
        return Check(name, "warn", f"{found} has exclusive_caps off", FIX_EXCLUSIVE_CAPS, details)
    state = "exclusive_caps on" if caps[node] else "exclusive_caps unknown"
    return Check(name, "ok", f"{found} is free ({state})", "", details)


def _windows_virtual_camera(system: System) -> Check:
    name = "virtual camera"
    installed = [label for label, clsid in (("OBS Virtual Camera", OBS_CLSID), ("Unity Capture", UNITY_CLSID))
                 if system.registry_has(clsid)]
    details: dict[str, Any] = {"installed": installed}
    if not installed:
        return Check(name, "fail", "no virtual camera installed (neither OBS Virtual Camera nor Unity Capture)",
                     FIX_WINDOWS_INSTALL, details)
    error = system.try_virtual_camera(None)
    details["error"] = error
    if error is not None:
        return Check(name, "fail", f"{' and '.join(installed)} installed but busy ({error})", FIX_WINDOWS_BUSY, details)
    return Check(name, "ok", f"{' and '.join(installed)} installed and free", "", details)


def _obs_version(system: System) -> str | None:
    """OBS.app's version from its Info.plist, or None if OBS is not in /Applications."""
    data = system.read_bytes(MAC_OBS_PLIST)
    if data is None:
        return None
    try:
        info = plistlib.loads(data)
    except Exception:  # a damaged plist: OBS is there, its version is not known
        return "unknown"
    return str(info.get("CFBundleShortVersionString") or info.get("CFBundleVersion") or "unknown")


def _major(version: str) -> int | None:
    found = re.match(r"(\d+)", version)
    return int(found.group(1)) if found else None


def _macos_virtual_camera(system: System) -> Check:
    name = "virtual camera"
    version = _obs_version(system)
    plugin = system.exists(MAC_DAL_PLUGIN)
    details: dict[str, Any] = {"obs_version": version, "plugin": plugin}
    if version is None and not plugin:
        return Check(name, "fail", "OBS Studio is not installed", FIX_MAC_INSTALL, details)
    major = _major(version or "")
    if major is not None and major < MAC_OBS_MIN:
        return Check(name, "fail", f"OBS Studio {version} is too old", FIX_MAC_UPDATE, details)
    obs = f"OBS Studio {version}" if version and version != "unknown" else "OBS Studio"
    if not plugin:
        return Check(name, "fail", f"{obs} is installed but its virtual camera was never started",
                     FIX_MAC_START_ONCE, details)
    error = system.try_virtual_camera(None)
    details["error"] = error
    if error is not None:
        return Check(name, "fail", f"OBS Virtual Camera is busy ({error})", FIX_MAC_BUSY, details)
    return Check(name, "ok", f"{obs}: OBS Virtual Camera is free", "", details)


def check_virtual_camera(system: System) -> Check:
    """The virtual camera backend pyvirtualcam uses on this OS: there, set up and free."""
    kind = _os_kind(system.platform())
    if kind == "linux":
        return _linux_virtual_camera(system)
    if kind == "windows":
        return _windows_virtual_camera(system)
    if kind == "macos":
        return _macos_virtual_camera(system)
    return Check("virtual camera", "fail", f"no virtual camera support on {system.platform()}", FIX_OTHER_OS)


# --------------------------------------------------------------------------- model


def check_model(system: System, explicit: str | Path | None = None, *,
                expected_sha256: str = _model.MODEL_SHA256, url: str = _model.MODEL_URL) -> Check:
    """The face model in the place ``arfilter run`` will look, with the right checksum.

    Same lookup as :func:`arfilter.tracking.model.resolve_model` (``--model``, then
    ``$ARFILTER_MODEL``, then the cache) but never downloads or deletes.
    """
    name = "model"
    env = system.env
    named = _model._user_path(explicit, env)
    if named is not None:
        path, source = named
        return _check_named_model(path, source, expected_sha256, url)
    path = _model.user_cache_dir(system.platform(), env) / _model.MODEL_FILENAME
    details: dict[str, Any] = {"path": str(path), "source": "cache", "expected_sha256": expected_sha256.lower()}
    if not path.exists():
        return Check(name, "warn", f"not downloaded yet ({path})",
                     f"it will be downloaded on first run ({url}), or save it there yourself", details)
    if not path.is_file():
        return Check(name, "fail", f"{path} is not a file",
                     f"remove {path}, or set ARFILTER_CACHE_DIR to another folder", details)
    digest = _hash(path)
    details["sha256"] = digest
    if digest is None:
        return Check(name, "fail", f"{path}: cannot read it",
                     f"check its permissions, or delete it so it is downloaded again ({url})", details)
    if digest != expected_sha256.lower():
        return Check(name, "warn", f"{path} is damaged (checksum mismatch)",
                     f"it will be downloaded again on first run ({url}), or save a fresh copy there yourself", details)
    return Check(name, "ok", f"{path} (checksum ok)", "", details)


def _hash(path: Path) -> str | None:
    try:
        return _model.sha256_of(path)
    except OSError:
        return None


def _check_named_model(path: Path, source: str, expected_sha256: str, url: str) -> Check:
    """A model the user pointed at: never replaced for them, so every problem is a fail."""
    name = "model"
    option = "--model" if source.startswith("--model") else "ARFILTER_MODEL"
    details: dict[str, Any] = {"path": str(path), "source": option, "expected_sha256": expected_sha256.lower()}
    if not path.exists():
        return Check(name, "fail", f"{source}: no such file",
                     f"check the path in {option}, or leave {option} out to download the model automatically", details)
    if path.is_dir():
        return Check(name, "fail", f"{source}: is a folder",
                     f"point {option} at the {_model.MODEL_FILENAME} file itself", details)
    digest = _hash(path)
    details["sha256"] = digest
    if digest is None:
        return Check(name, "fail", f"{path}: cannot read it", f"check its permissions, or point {option} at another copy",
                     details)
    if digest != expected_sha256.lower():
        return Check(name, "fail", f"{path}: checksum does not match {_model.MODEL_DESCRIPTION}",
                     f"download it again from {url} and save it as {path}", details)
    return Check(name, "ok", f"{path} (checksum ok, from {option})", "", details)


# --------------------------------------------------------------------------- display


def check_display(system: System, target: str = "virtualcam") -> Check:
    """Whether a window can open (for ``--sink window`` and the kiosk); a must only for those."""
    from arfilter.io.sinks import display_problem

    platform, env = system.platform(), system.env
    problem = display_problem(platform, env)
    details = {"DISPLAY": env.get("DISPLAY"), "WAYLAND_DISPLAY": env.get("WAYLAND_DISPLAY")}
    if problem is None:
        where = f"DISPLAY={env['DISPLAY']}" if env.get("DISPLAY") else "the desktop"
        return Check("display", "ok", f"windows can open on {where}", "", details)
    if env.get("WAYLAND_DISPLAY"):
        problem += " (Wayland without XWayland: the window needs X)"
    if target in ("window", "kiosk"):
        return Check("display", "fail", problem, FIX_DISPLAY_FAIL, details)
    return Check("display", "warn", problem, FIX_DISPLAY_WARN, details)


# --------------------------------------------------------------------------- all together


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    """Run one check; if it breaks, the report shows a fail row instead of a traceback."""
    try:
        return check()
    except Exception as exc:  # a bug or an OS surprise: report it, keep the other checks
        return Check(name, "fail", f"the check itself failed: {type(exc).__name__}: {_one_line(str(exc))}",
                     FIX_BUG, {"error": repr(exc)})


def _only_for_virtualcam(check: Check) -> Check:
    """A window or kiosk does not need the virtual camera: its problems become warnings."""
    if check.status != "fail":
        return check
    return replace(check, status="warn", summary=f"{check.summary} (only needed for the virtual camera)")


def run_checks(system: System | None = None, *, target: str = "virtualcam", model: str | Path | None = None,
               expected_sha256: str = _model.MODEL_SHA256) -> list[Check]:
    """Every check, in the order a user fixes them: camera, virtual camera, model, display."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, not {target!r}")
    system = System() if system is None else system
    checks = [
        _guarded("camera", lambda: check_camera(system)),
        _guarded("virtual camera", lambda: check_virtual_camera(system)),
        _guarded("model", lambda: check_model(system, model, expected_sha256=expected_sha256)),
        _guarded("display", lambda: check_display(system, target)),
    ]
    if target != "virtualcam":
        checks[1] = _only_for_virtualcam(checks[1])
    return checks


def ready(checks: Sequence[Check]) -> bool:
    """Whether ``arfilter run`` can work: nothing it needs failed.

    Warnings do not block: a model that is not downloaded yet will be on the
    first run, exclusive_caps off still works in Zoom and OBS, and a missing
    display or virtual camera are warnings only when the target does not need them.
    """
    return all(check.status != "fail" for check in checks)


def format_table(checks: Sequence[Check]) -> str:
    """Aligned rows (check, OK/WARN/FAIL, what was found), the fix indented below each problem."""
    name_width = max([len("check"), *(len(check.name) for check in checks)])
    status_width = len("status")
    lines = [f"{'check':<{name_width}}  {'status':<{status_width}}  summary"]
    indent = " " * (name_width + status_width + 4)
    for check in checks:
        lines.append(f"{check.name:<{name_width}}  {check.status.upper():<{status_width}}  {check.summary}")
        if check.status != "ok" and check.fix:
            lines.append(f"{indent}fix: {check.fix}")
    lines.append("")
    if ready(checks):
        lines.append("Ready: arfilter run can start." if all(c.status == "ok" for c in checks)
                     else "Ready: arfilter run can start (see the warnings above).")
    else:
        lines.append("Not ready: fix the FAIL lines above, then run arfilter doctor again.")
    return "\n".join(lines)


def checks_to_json(checks: Sequence[Check]) -> str:
    """The report for scripts: {"ready": bool, "checks": [{name, status, summary, fix, details}]}."""
    return json.dumps({"ready": ready(checks), "checks": [asdict(check) for check in checks]},
                      indent=2, default=str)


def add_doctor_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``arfilter doctor``."""
    parser.add_argument("--json", action="store_true", help="print the report as JSON (for scripts)")
    parser.add_argument("--for", dest="for_", choices=TARGETS, default="virtualcam",
                        help="what you will run: virtualcam (default), window or kiosk; "
                             "decides whether a missing display or virtual camera blocks")
    parser.add_argument("--model", help="face_landmarker.task to check (default: $ARFILTER_MODEL, else the cache)")


def cmd_doctor(args: argparse.Namespace, system: System | None = None) -> int:
    """Print the report (table or JSON); 0 only when ``arfilter run`` can work."""
    target = getattr(args, "for_", None) or "virtualcam"
    checks = run_checks(system, target=target, model=getattr(args, "model", None))
    print(checks_to_json(checks) if getattr(args, "json", False) else format_table(checks))
    return 0 if ready(checks) else 1
