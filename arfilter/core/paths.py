"""Per-user folders, by each OS's convention (the model cache, installed overlay packs).

Pure functions of ``platform`` and ``env`` (default: the running system), so
every OS's rule can be tested anywhere.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Mapping


def user_dir(override: str, windows: tuple[str, str, str], mac: str, xdg: tuple[str, str, str], *,
             platform: str | None = None, env: Mapping[str, str] | None = None) -> Path:
    """A per-user folder.

    ``override``: the environment variable that wins everywhere (the escape
    hatch for read-only or shared homes). ``windows``: (variable, AppData
    subfolder, path under arfilter), e.g. ("LOCALAPPDATA", "Local", "Cache").
    ``mac``: the path under ~/Library. ``xdg``: (variable, default under ~, path
    under arfilter), e.g. ("XDG_CACHE_HOME", ".cache", ""); relative XDG values
    are invalid by the spec.
    """
    platform = sys.platform if platform is None else platform
    env = os.environ if env is None else env
    chosen = env.get(override)
    if chosen:
        return Path(os.path.expanduser(chosen))
    if platform.startswith("win"):
        variable, appdata, under = windows
        if env.get(variable):
            return Path(env[variable]) / "arfilter" / under
        home = env.get("USERPROFILE") or env.get("HOME")
        return (Path(home) if home else Path.home()) / "AppData" / appdata / "arfilter" / under
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    if platform == "darwin":
        return home / "Library" / mac
    variable, default, under = xdg
    base = env.get(variable)
    root = Path(base) if base and os.path.isabs(base) else home / default
    return root / "arfilter" / under if under else root / "arfilter"


def user_overlays_dir(platform: str | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The per-user folder ``arfilter install`` puts packs in, following each OS's convention.

    ``$ARFILTER_OVERLAYS_DIR`` wins everywhere. Linux and the BSDs:
    ``$XDG_DATA_HOME/arfilter/overlays`` (default ``~/.local/share/...``);
    macOS: ``~/Library/Application Support/arfilter/overlays``; Windows:
    ``%APPDATA%\\arfilter\\overlays``. A pure function of ``platform`` and ``env``
    (default: the running system), like :func:`user_cache_dir`.
    """
    return user_dir("ARFILTER_OVERLAYS_DIR", ("APPDATA", "Roaming", "overlays"),
                    "Application Support/arfilter/overlays", ("XDG_DATA_HOME", ".local/share", "overlays"),
                    platform=platform, env=env)


def user_cache_dir(
    platform: str | None = None, env: Mapping[str, str] | None = None
) -> Path:
    """The per-user cache folder for arfilter, following each OS's convention.

    A pure function of ``platform`` and ``env`` (default: the running system)
    so every OS's rule can be tested anywhere. ``$ARFILTER_CACHE_DIR`` wins
    everywhere; it is the escape hatch for read-only or shared home folders.
    """
    return user_dir("ARFILTER_CACHE_DIR", ("LOCALAPPDATA", "Local", "Cache"), "Caches/arfilter",
                    ("XDG_CACHE_HOME", ".cache", ""), platform=platform, env=env)
