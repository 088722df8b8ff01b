"""Doctor's model and display checks: the face model where ``arfilter run`` looks, and a desktop to open windows on.

The model check reads real files through :mod:`arfilter.tracking.model` (the
same lookup as ``resolve_model``) but never downloads or deletes; when the model
is missing it only asks whether its server can be reached, since ``run`` cannot
start without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import arfilter.tracking.model as face_model
from arfilter.core.paths import user_cache_dir
from arfilter.ops.doctor_system import Check, System

FIX_DISPLAY_WARN = (
    "only needed for the preview window or kiosk: run arfilter from a terminal on the desktop, "
    "not over SSH or as a service"
)
FIX_DISPLAY_FAIL = (
    "run arfilter from a terminal on the desktop (not over SSH or as a service), "
    "or record to a file instead: arfilter run --sink out.mp4"
)
FIX_DISPLAY_KIOSK = (  # a kiosk is its screen: no file stands in for it
    "start the kiosk inside the kiosk screen's desktop session (a terminal or autostart there), "
    "or point it at that screen: DISPLAY=:0 arfilter kiosk ..."
)


def check_model(system: System, explicit: str | Path | None = None, *,
                expected_sha256: str = face_model.MODEL_SHA256, url: str = face_model.MODEL_URL) -> Check:
    """The face model in the place ``arfilter run`` will look, with the right checksum.

    Same lookup as :func:`arfilter.tracking.model.resolve_model` (``--model``, then
    ``$ARFILTER_MODEL``, then the cache) but never downloads or deletes.
    """
    name = "model"
    env = system.env
    named = face_model.user_model_path(explicit, env)
    if named is not None:
        path, source = named
        return _check_named_model(path, source, expected_sha256, url)
    path = user_cache_dir(system.platform(), env) / face_model.MODEL_FILENAME
    details: dict[str, Any] = {"path": str(path), "source": "cache", "expected_sha256": expected_sha256.lower()}
    if not path.exists():
        return _to_download(system, path, url, details, f"not downloaded yet ({path})",
                            f"it will be downloaded on first run ({url}), or save it there yourself")
    if not path.is_file():
        return Check(name, "fail", f"{path} is not a file",
                     f"remove {path}, or set ARFILTER_CACHE_DIR to another folder", details)
    digest = _hash(path)
    details["sha256"] = digest
    if digest is None:
        return Check(name, "fail", f"{path}: cannot read it",
                     f"check its permissions, or delete it so it is downloaded again ({url})", details)
    if digest != expected_sha256.lower():
        return _to_download(system, path, url, details, f"{path} is damaged (checksum mismatch)",
                            f"it will be downloaded again on first run ({url}), or save a fresh copy there yourself")
    return Check(name, "ok", f"{path} (checksum ok)", "", details)


def _to_download(system: System, path: Path, url: str, details: dict[str, Any], summary: str, fix: str) -> Check:
    """The cache lacks a good model: a warning when ``run`` can download it, a fail when it cannot
    (``run`` would stop at once), with how to bring the file over by hand."""
    offline = system.can_download(url)
    details["download"] = offline or "possible"
    if offline is None:
        return Check("model", "warn", summary, fix, details)
    return Check("model", "fail", f"{summary}, and it cannot be downloaded from here ({offline})",
                 f"on a computer with internet download {url} and save it as {path} "
                 "(or point --model / ARFILTER_MODEL at it)", details)


def _hash(path: Path) -> str | None:
    try:
        return face_model.sha256_of(path)
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
                     f"point {option} at the {face_model.MODEL_FILENAME} file itself", details)
    digest = _hash(path)
    details["sha256"] = digest
    if digest is None:
        return Check(name, "fail", f"{path}: cannot read it", f"check its permissions, or point {option} at another copy",
                     details)
    if digest != expected_sha256.lower():
        return Check(name, "fail", f"{path}: checksum does not match {face_model.MODEL_DESCRIPTION}",
                     f"download it again from {url} and save it as {path}", details)
    return Check(name, "ok", f"{path} (checksum ok, from {option})", "", details)


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
        return Check("display", "fail", problem, FIX_DISPLAY_KIOSK if target == "kiosk" else FIX_DISPLAY_FAIL, details)
    return Check("display", "warn", problem, FIX_DISPLAY_WARN, details)
