"""``arfilter install PACK.zip``: install an overlay pack from a zip, safely.

Packs come from designers the kiosk's operator does not know, so a zip is
treated as hostile until proven otherwise. ``install_pack``:

1. reads only the zip's central directory first and refuses, before anything
   touches the disk: a file that is not a (readable) zip, an empty zip, more
   than ``max_entries`` entries, encrypted entries, names that could land
   outside the pack (``..``, absolute paths, drive letters, backslashes, NUL
   bytes, names Windows or macOS would read differently), symbolic links and
   other special files, names that appear twice (also case-insensitively, as
   on Windows and macOS), sizes the headers already admit are too large, and
   a zip without ``overlay.toml`` at its top or inside exactly one folder;
2. unpacks into a new hidden folder *inside* the overlays folder (same
   filesystem, so the final rename is atomic), counting the bytes that come
   out of the decompressor: the per-entry and total caps hold even when a
   crafted header lies about the sizes (a zip bomb stops at the cap, reading
   64 KB at a time);
3. checks the unpacked pack with ``packs.check_pack`` (textures are sized
   from their PNG headers before they are decoded);
4. renames it into place under a name made from the manifest's ``name``
   (``[a-z0-9_-]``, 1 to 64 characters). With ``replace=True`` an installed
   pack of that name is renamed aside, the new one renamed in, and the old one
   deleted; without it an existing name is an error.

On any failure the hidden folder is deleted, so nothing is left behind: no
half-installed pack, no temporary files, and not even the overlays folder if
this call created it. Every failure is one ``ArfilterError`` line naming the
zip, the entry, and what to do. Steps 1 and 2 are :mod:`arfilter.ops.zipcheck`.

A pack may not take the name of a built-in look (``black_eye_left``, ...):
the installer refuses it, and ``packs.list_overlays`` lists a folder put
in the overlays folder by hand under a built-in's name as ``user:NAME``, so
an installed pack never silently replaces a built-in look.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path

from arfilter.core.checks import toml_loads
from arfilter.core.errors import ArfilterError, first_of
from arfilter.core.paths import user_overlays_dir
from arfilter.ops.zipcheck import Limits, MiB, extract, open_zip, plan
from arfilter.render.packs import MANIFEST, builtin_overlays_dir, check_pack

MAX_TOTAL_BYTES = 256 * MiB
MAX_ENTRIES = 200
MAX_ENTRY_BYTES = 64 * MiB
MAX_NAME_CHARS = 64
_TEMP_PREFIX = ".install-"


def pack_folder_name(name: str) -> str:
    """``name`` as a folder name of ``[a-z0-9_-]``, at most 64 characters ("" if nothing is left).

    Accents are dropped ("Bleu Été" -> "bleu_ete"); any other run of characters becomes one "_".
    """
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"[^a-z0-9_-]+", "_", text).strip("_-")
    return text[:MAX_NAME_CHARS].strip("_-")


# --- checking and placing -----------------------------------------------------------


def _check_staged(staged: Path, prefix: str, zip_path: Path, label: str) -> None:
    overlay, problems = check_pack(staged)
    if overlay is None:
        inside = f"{prefix}/" if prefix else ""
        shown = [f"{label}: {problem.replace(str(staged) + os.sep, inside)}" for problem in problems]
        folder = f"{zip_path.stem}/{prefix}" if prefix else zip_path.stem
        raise first_of(shown, f"unzip -d {zip_path.stem} {zip_path.name} && arfilter validate {folder}")


def _pack_name(staged: Path, prefix: str, zip_path: Path, label: str) -> str:
    try:
        manifest = toml_loads((staged / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):  # check_pack has read it already
        manifest = {}
    declared = manifest.get("name")
    for candidate in (declared, prefix, zip_path.stem):
        if isinstance(candidate, str) and pack_folder_name(candidate):
            return pack_folder_name(candidate)
    raise ArfilterError(f"{label}: cannot make a folder name from the pack's name {declared!r}; "
                        "set name = \"my_look\" (letters a-z, digits, _ and -) in overlay.toml")


def _place(staged: Path, temp: Path, dest: Path, name: str, replace: bool, label: str) -> Path:
    final = dest / name
    exists = f"{label}: a pack named {name!r} is already installed in {dest}; add --replace to replace it"
    present = final.exists() or final.is_symlink()
    if present and not replace:
        raise ArfilterError(exists)
    aside = temp / "old"
    try:
        if present:
            os.rename(final, aside)
        try:
            os.rename(staged, final)
        except OSError:
            if present:
                os.rename(aside, final)  # put the old pack back
            raise
    except OSError as exc:
        if not replace and (final.exists() or final.is_symlink()):
            raise ArfilterError(exists) from None  # another install got there first
        raise ArfilterError(f"{label}: cannot move the pack into {final} ({exc.strerror or exc}); "
                            "close programs using it, or pass --dest DIR") from None
    return final


def _make_folder(dest: Path, label: str) -> list[Path]:
    """Create ``dest`` and any missing parents; the folders made, outermost first."""
    made = []
    for folder in (*reversed(dest.parents), dest):
        if folder.is_dir():
            continue
        try:
            folder.mkdir()
        except FileExistsError:
            if folder.is_dir():
                continue
            raise ArfilterError(f"{label}: the overlays folder {dest} cannot be made ({folder} is a file); "
                                "pass --dest DIR or set ARFILTER_OVERLAYS_DIR to a folder") from None
        except OSError as exc:
            raise ArfilterError(f"{label}: cannot create the overlays folder {dest} ({exc.strerror or exc}); "
                                "pass --dest DIR or set ARFILTER_OVERLAYS_DIR to a writable folder") from None
        made.append(folder)
    return made


def install_pack(zip_path: str | Path, dest_root: str | Path | None = None, *, replace: bool = False,
                 max_total_bytes: int = MAX_TOTAL_BYTES, max_entries: int = MAX_ENTRIES,
                 max_entry_bytes: int = MAX_ENTRY_BYTES) -> Path:
    """Install the overlay pack in ``zip_path`` into ``dest_root`` (default ``user_overlays_dir()``).

    Returns the installed pack's folder, ``dest_root / NAME``. Raises ``ArfilterError`` (one line naming the
    zip, the entry and what to do) for anything wrong with the zip or the pack, leaving nothing behind.
    """
    zip_path = Path(zip_path)
    dest = Path(dest_root) if dest_root is not None else user_overlays_dir()
    label = f"pack {zip_path}"
    limits = Limits(max_total_bytes, max_entries, max_entry_bytes)
    with open_zip(zip_path, label, limits) as archive:
        prefix, entries = plan(archive, label, limits)
        made = _make_folder(dest, label)
        try:
            try:
                temp = Path(tempfile.mkdtemp(prefix=_TEMP_PREFIX, dir=dest))
            except OSError as exc:
                raise ArfilterError(f"{label}: cannot write to the overlays folder {dest} ({exc.strerror or exc}); "
                                    "pass --dest DIR or set ARFILTER_OVERLAYS_DIR to a writable folder") from None
            try:
                staged = temp / "pack"
                extract(archive, entries, staged, label, limits)
                _check_staged(staged, prefix, zip_path, label)
                name = _pack_name(staged, prefix, zip_path, label)
                if (builtin_overlays_dir() / name / MANIFEST).is_file():
                    raise ArfilterError(f"{label}: {name!r} is the name of a built-in look; set another name in "
                                        f"overlay.toml, e.g. name = \"{name}_2\"")
                return _place(staged, temp, dest, name, replace, label)
            finally:
                shutil.rmtree(temp, ignore_errors=True)
        except BaseException:
            for folder in reversed(made):  # only folders this call made, and only if still empty
                try:
                    folder.rmdir()
                except OSError:
                    break
            raise


# --- command line -------------------------------------------------------------------


def add_install_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``arfilter install``."""
    parser.add_argument("pack", help="an overlay pack as a .zip file (overlay.toml and its PNG textures, "
                                     "at the top of the zip or in one folder)")
    parser.add_argument("--replace", action="store_true",
                        help="replace an installed pack of the same name")
    parser.add_argument("--dest", metavar="DIR", default=None, help=argparse.SUPPRESS)


def cmd_install(args: argparse.Namespace) -> int:
    """``arfilter install PACK.zip [--replace]``."""
    folder = install_pack(args.pack, args.dest, replace=args.replace)
    print(f"arfilter: installed {folder.name} to {folder}; use it with --overlay {folder.name}")
    return 0
