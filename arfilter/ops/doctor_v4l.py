"""Linux video devices as sysfs shows them: which /dev/videoN exist, and which are v4l2loopback outputs.

Shared by the camera check (loopback outputs are not webcams) and the virtual
camera check (they are what it looks for).
"""

from __future__ import annotations

import re
from typing import Sequence

from arfilter.ops.doctor_system import System

V4L_CLASS = "/sys/class/video4linux"
LOOPBACK_MODULE = "/sys/module/v4l2loopback"
LOOPBACK_PARAMS = LOOPBACK_MODULE + "/parameters"
#: Card labels v4l2loopback devices are known by: its default, ours, and OBS's.
LOOPBACK_LABELS = ("Dummy video device", "arfilter", "OBS Virtual Camera")


def param_list(system: System, name: str) -> list[str]:
    """A v4l2loopback array parameter ("Y,N,N") as a list; [] if not readable."""
    text = system.read_text(f"{LOOPBACK_PARAMS}/{name}")
    return [part.strip() for part in text.strip().split(",")] if text else []


def video_number(node: str) -> int | None:
    """N of "videoN", or None for any other name."""
    found = re.fullmatch(r"video(\d+)", node)
    return int(found.group(1)) if found else None


def is_loopback(system: System, node: str, name: str) -> bool:
    """Whether /dev/<node> is a v4l2loopback device (an output, never a webcam)."""
    base = f"{V4L_CLASS}/{node}"
    for link in (f"{base}/device/driver", f"{base}/device"):
        if "v4l2loopback" in (system.link_name(link) or ""):
            return True
    if system.exists(f"{base}/max_openers"):  # a sysfs attribute only v4l2loopback adds
        return True
    if str(video_number(node)) in param_list(system, "video_nr"):
        return True
    labels = [label for label in param_list(system, "card_label") if label]
    return any(name == label or name.startswith(label) for label in (*labels, *LOOPBACK_LABELS))


def video_nodes(system: System) -> list[tuple[str, str]]:
    """(node, name) of every /dev/videoN the kernel lists, in number order."""
    nodes = [node for node in system.listdir(V4L_CLASS) if video_number(node) is not None]
    nodes.sort(key=lambda node: video_number(node) or 0)
    return [(node, (system.read_text(f"{V4L_CLASS}/{node}/name") or "").strip()) for node in nodes]


def exclusive_caps(system: System, devices: Sequence[tuple[str, str]]) -> dict[str, bool | None]:
    """Each loopback device's exclusive_caps (None: unknown).

    The module parameter lists one value per device in the order they were
    created: by ``video_nr`` where given, else by device number.
    """
    values = param_list(system, "exclusive_caps")
    numbers = param_list(system, "video_nr")
    result: dict[str, bool | None] = {}
    for position, (node, _) in enumerate(devices):
        number = str(video_number(node))
        slot = numbers.index(number) if number in numbers else position
        value = values[slot].upper() if slot < len(values) else ""
        result[node] = True if value in ("Y", "1") else False if value in ("N", "0") else None
    return result
