"""Doctor's virtual camera check: the backend pyvirtualcam uses on this OS is there, set up and free.

Linux: v4l2loopback (loaded, a device made, exclusive_caps on for browsers);
Windows: OBS Virtual Camera or Unity Capture; macOS: OBS 30 or newer, its
virtual camera started once. Each is opened as ``arfilter run`` would.
"""

from __future__ import annotations

import plistlib
import re
from typing import Any

from arfilter.ops.doctor_system import Check, System, os_kind
from arfilter.ops.doctor_v4l import LOOPBACK_MODULE, exclusive_caps, is_loopback, video_nodes

OBS_CLSID = "{A3FCE0F5-3493-419F-958A-ABA1250EC20B}"
UNITY_CLSID = "{5C2CD55C-92AD-4999-8666-912BD3E70010}"
MAC_DAL_PLUGIN = "/Library/CoreMediaIO/Plug-Ins/DAL/obs-mac-virtualcam.plugin"
MAC_OBS_PLIST = "/Applications/OBS.app/Contents/Info.plist"
MAC_OBS_MIN = 30

_LOAD = "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=arfilter"
FIX_NO_MODULE = f"sudo apt install v4l2loopback-dkms && {_LOAD}"
FIX_NO_DEVICE = f"sudo modprobe -r v4l2loopback && {_LOAD}"
FIX_EXCLUSIVE_CAPS = (
    "Chrome, Meet and Teams only list the camera with exclusive_caps=1 (Zoom and OBS work either way); "
    f"reload with: sudo modprobe -r v4l2loopback && {_LOAD}"
)
FIX_PERMISSION = "let your user use video devices: sudo usermod -aG video $USER, then log out and back in"
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


def fix_busy(device: str) -> str:
    """Advice when another program already feeds the loopback device."""
    return (f"close the other program that is sending to {device} (another arfilter, OBS's virtual camera) "
            "or load a second device with devices=2")


def _linux_virtual_camera(system: System) -> Check:
    name = "virtual camera"
    if not system.exists(LOOPBACK_MODULE):
        return Check(name, "fail", "v4l2loopback (the Linux virtual camera) is not loaded", FIX_NO_MODULE,
                     {"module_loaded": False, "devices": []})
    loopbacks = [(node, label) for node, label in video_nodes(system) if is_loopback(system, node, label)]
    details: dict[str, Any] = {"module_loaded": True, "devices": []}
    if not loopbacks:
        return Check(name, "fail", "v4l2loopback is loaded but made no device", FIX_NO_DEVICE, details)
    caps = exclusive_caps(system, loopbacks)
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
    kind = os_kind(system.platform())
    if kind == "linux":
        return _linux_virtual_camera(system)
    if kind == "windows":
        return _windows_virtual_camera(system)
    if kind == "macos":
        return _macos_virtual_camera(system)
    return Check("virtual camera", "fail", f"no virtual camera support on {system.platform()}", FIX_OTHER_OS)
