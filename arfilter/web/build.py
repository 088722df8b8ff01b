"""``arfilter web build``: the campaign web page as a folder any static host can serve.

The site is the template (``site/``, copied as it is), the looks and the face mesh as data
(``assets.write_assets``), MediaPipe's web runtime (``runtime``), the face model and
``data/event.json`` (the campaign's title, caption, helpline and looks). The event file and the
looks are checked exactly as ``arfilter config`` checks them, before anything is fetched or written.

Nothing the user had is lost: the site is built in a hidden folder beside SITE/ and renamed into
place when complete. SITE/ may be new, empty, or a site an earlier build wrote and nobody changed
since (``data/build.json`` lists every file it wrote with its SHA-256); anything else is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, TextIO

from arfilter import __version__
from arfilter.core.errors import ArfilterError, first_of
from arfilter.core.outputs import partial_path, write_bytes
from arfilter.settings.config import EventConfig, load_config, override

TEMPLATE = Path(__file__).resolve().parent / "site"
MANIFEST = "data/build.json"
EVENT_FILE = "data/event.json"
MODEL_FILE = "models/face_landmarker.task"
GENERATOR = "arfilter web build"
#: What a phone should download at most to try a look (issue 15's floor), in MB (10^6 bytes).
SIZE_FLOOR_MB = 20.0


@dataclass(frozen=True)
class BuildReport:
    """What was written: the site, its file count and total size, its looks (default first)."""

    site: Path
    files: int
    size: int  # bytes
    looks: tuple[str, ...]

    @property
    def megabytes(self) -> float:
        return self.size / 1e6

    def summary(self) -> str:
        return (f"wrote {self.site} ({self.files} files, {self.megabytes:.1f} MB of the {SIZE_FLOOR_MB:g} MB "
                f"floor; looks: {', '.join(self.looks)})")


def event_settings(config: Path | None, overlays: Sequence[str], model: Path | None) -> EventConfig:
    """The event file (or the defaults) with ``--overlay`` and ``--model``, checked as ``arfilter config``
    checks it: the first problem is one ``ArfilterError`` line (exit 2)."""
    from arfilter.settings.preflight import preflight_problems

    event = load_config(config) if config is not None else EventConfig()
    changes: dict = {}
    if overlays:
        changes.update(looks__start=overlays[0], looks__rotation=tuple(overlays))
    if model is not None:
        changes["model"] = str(model)
    event = override(event, origins={key: "--" + key.split("__")[-1] for key in changes}, **changes)
    problems = preflight_problems(event)
    if problems and config is not None:
        raise first_of(problems, f"arfilter config {config}")
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ArfilterError(problems[0] + more)
    return event


def look_names(event: EventConfig) -> list[str]:
    """The page's looks in order, the default first: the rotation (or every installed look)."""
    from arfilter.render.packs import list_overlays

    names = list(event.looks.rotation) or list(list_overlays())
    if event.looks.start in names:
        names.remove(event.looks.start)
    return [event.looks.start, *names]


def event_data(event: EventConfig, looks: Sequence[str]) -> dict:
    """``data/event.json``: what the page shows around the look (real HTML text, any script)."""
    campaign = event.campaign
    return {"title": event.web.title, "caption": campaign.caption, "helpline": campaign.helpline,
            "help_url": "" if campaign.qr_url == event.web.url else campaign.qr_url, "url": event.web.url,
            "looks": list(looks), "look": looks[0], "intensity": event.looks.intensity,
            "caption_color": campaign.caption_color, "bar_color": campaign.bar_color}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _files(folder: Path) -> dict[str, Path]:
    """Every entry under ``folder`` by its relative POSIX path (links and other odd entries included)."""
    found = {}
    for root, dirs, names in os.walk(folder):
        for name in names + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            path = Path(root, name)
            found[path.relative_to(folder).as_posix()] = path
    return found


def site_problem(out: Path) -> str | None:
    """Why SITE/ cannot be (re)built without losing something the user has, or None."""
    try:
        parent = out.parent if str(out.parent) else Path(".")
        if not out.exists():
            if not parent.is_dir():
                return f"the folder {parent} does not exist; create it or pick another path"
            return None if os.access(parent, os.W_OK | os.X_OK) else f"the folder {parent} is not writable"
        if not out.is_dir() or out.is_symlink():
            return "exists and is not a folder; give a new folder name for the site"
        if not os.access(parent, os.W_OK | os.X_OK):
            return f"the folder {parent} is not writable"
        present = _files(out)
        if not present and not any(out.iterdir()):
            return None
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8")) if MANIFEST in present else {}
        if not isinstance(manifest, dict) or manifest.get("generator") != GENERATOR:
            return ("exists and is not a site 'arfilter web build' made; give a new or empty folder "
                    "(nothing in it is replaced)")
        listed = manifest.get("files") if isinstance(manifest.get("files"), dict) else {}
        for name, path in sorted(present.items()):
            if name != MANIFEST and (path.is_symlink() or listed.get(name) != _sha256(path)):
                return (f"{name} was changed or added after 'arfilter web build' made this site; move it out "
                        "of the folder (or give a new folder) so nothing of yours is replaced")
    except (OSError, ValueError) as exc:  # unreadable, a name the system cannot look up, a broken build.json
        return f"cannot be checked ({getattr(exc, 'strerror', None) or exc}); give a new folder"
    return None


def _assemble(partial: Path, event: EventConfig, names: Sequence[str], model_path: Path, tarball: Path) -> None:
    """Write the whole site into ``partial`` (a new folder nobody else sees)."""
    from arfilter.render.packs import load_overlay
    from arfilter.tracking.mesh import load_canonical_mesh
    from arfilter.tracking.tracker import landmarks_only_bundle
    from arfilter.web.assets import write_assets
    from arfilter.web.runtime import write_runtime

    shutil.copytree(TEMPLATE, partial, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
    overlays = [load_overlay(name) for name in names]
    write_assets(partial, overlays, load_canonical_mesh(model_path))
    write_runtime(partial, tarball)
    (partial / MODEL_FILE).parent.mkdir(parents=True, exist_ok=True)
    # The page asks for no blendshapes, as the desktop does: the bundle without their network is a
    # quarter smaller for every visitor (2.8 MB, not 3.8) and the model about 8 % faster.
    write_bytes(partial / MODEL_FILE, landmarks_only_bundle(model_path), "site")
    data = event_data(event, [overlay.name for overlay in overlays])
    write_bytes(partial / EVENT_FILE, json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"), "site")
    files = {name: _sha256(path) for name, path in sorted(_files(partial).items())}
    manifest = {"generator": GENERATOR, "version": __version__, "files": files}
    write_bytes(partial / MANIFEST, json.dumps(manifest, indent=1).encode("utf-8"), "site")


def _move_into_place(partial: Path, out: Path) -> None:
    """Rename the finished site to ``out``; an earlier (unchanged) site or an empty folder goes aside first."""
    aside = None
    if out.exists():
        aside = partial_path(out)
        os.replace(out, aside)
    try:
        os.replace(partial, out)
    except OSError:
        if aside is not None:
            os.replace(aside, out)
        raise
    if aside is not None:
        shutil.rmtree(aside)


def build_site(out: Path, *, config: Path | None = None, overlays: Sequence[str] = (), model: Path | None = None,
               runtime: Path | None = None, progress: TextIO | None = sys.stderr) -> BuildReport:
    """Check everything, fetch what is missing, write SITE/ whole or not at all, and say what it holds."""
    from arfilter.tracking.model import resolve_model
    from arfilter.web.runtime import resolve_runtime

    event = event_settings(config, overlays, model)
    out = Path(out)
    why = site_problem(out)
    if why:
        raise ArfilterError(f"-o {out}: {why}")
    names = look_names(event)
    model_path = resolve_model(event.model, progress=progress)
    tarball = resolve_runtime(runtime, progress=progress)
    target = Path(os.path.abspath(out))  # "." and "site/" have a name to build beside
    partial = partial_path(target)
    try:
        _assemble(partial, event, names, model_path, tarball)
        files = [path for path in partial.rglob("*") if path.is_file()]
        size = sum(path.stat().st_size for path in files)
        if size > SIZE_FLOOR_MB * 1e6:
            raise ArfilterError(f"-o {out}: the site would be {size / 1e6:.1f} MB, over the {SIZE_FLOOR_MB:g} MB a "
                                "phone should download; nothing was written. Build fewer looks with --overlay NAME "
                                "or use smaller textures")
        _move_into_place(partial, target)
    except OSError as exc:
        raise ArfilterError(f"-o {out}: cannot be written ({exc.strerror or exc}); check the disk and "
                            "permissions") from None
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return BuildReport(out, len(files), size, tuple(data_looks(out)))


def data_looks(site: Path) -> list[str]:
    """The looks a built site offers, from its ``data/event.json``."""
    return list(json.loads((site / EVENT_FILE).read_text(encoding="utf-8"))["looks"])
