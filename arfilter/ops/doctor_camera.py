"""Doctor's camera check: a webcam ``arfilter run --source N`` can read.

On Linux the kernel lists the devices (loopback outputs and metadata nodes are
skipped) and ``v4l2-ctl`` lists their modes; elsewhere cameras are probed by
number through OpenCV.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from arfilter.ops.doctor_system import Check, System, os_kind, sort_modes
from arfilter.ops.doctor_v4l import V4L_CLASS, is_loopback, video_nodes, video_number

#: Camera numbers tried where the OS lists no devices (Windows, macOS).
PROBE_INDICES = range(5)

FIX_NO_CAMERA = (
    "plug in a webcam, or close the app that is using it; a video file works too: "
    "arfilter run --source clip.mp4"
)
FIX_MAC_CAMERA_PERMISSION = "; on a Mac also allow your terminal in System Settings > Privacy & Security > Camera"


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
    return sort_modes([f"{w}x{h}" + (f"@{fps:g}" if fps else "") for (w, h), fps in best.items()])


def _linux_cameras(system: System) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Webcams (capture nodes that are not loopback outputs) and the nodes skipped, with why."""
    cameras: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    v4l2_ctl = system.which("v4l2-ctl")
    for node, name in video_nodes(system):
        device = f"/dev/{node}"
        if is_loopback(system, node, name):
            skipped.append({"device": device, "why": "v4l2loopback output (the virtual camera)"})
            continue
        index_text = (system.read_text(f"{V4L_CLASS}/{node}/index") or "0").strip()
        if index_text not in ("", "0"):
            skipped.append({"device": device, "why": "second node of a camera (metadata)"})
            continue
        number = video_number(node) or 0
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
    kind = os_kind(system.platform())
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
