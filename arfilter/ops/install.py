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
3. checks the unpacked pack with ``overlay.check_pack`` (textures are sized
   from their PNG headers before they are decoded);
4. renames it into place under a name made from the manifest's ``name``
   (``[a-z0-9_-]``, 1 to 64 characters). With ``replace=True`` an installed
   pack of that name is renamed aside, the new one renamed in, and the old one
   deleted; without it an existing name is an error.

On any failure the hidden folder is deleted, so nothing is left behind: no
half-installed pack, no temporary files, and not even the overlays folder if
this call created it. Every failure is one ``ArfilterError`` line naming the
zip, the entry, and what to do.

A pack may not take the name of a built-in look (``black_eye_left``, ...):
the installer refuses it, and ``overlay.list_overlays`` lists a folder put
in the overlays folder by hand under a built-in's name as ``user:NAME``, so
an installed pack never silently replaces a built-in look.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import stat
import struct
import tempfile
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Mapping

from arfilter.core.checks import toml_loads
from arfilter.core.errors import ArfilterError, first_of
from arfilter.render.packs import MANIFEST, builtin_overlays_dir, check_pack
from arfilter.core.paths import user_overlays_dir

try:
    from lzma import LZMAError
except ImportError:  # pragma: no cover - a Python built without lzma (zipfile then refuses LZMA entries)
    class LZMAError(Exception):  # type: ignore[no-redef]
        pass

MiB = 1024 * 1024
MAX_TOTAL_BYTES = 256 * MiB
MAX_ENTRIES = 200
MAX_ENTRY_BYTES = 64 * MiB
MAX_NAME_CHARS = 64
#: Central-directory bytes allowed per entry (the record, a name, extra fields):
#: bounds what ``zipfile`` parses before the entry count can be checked.
_CENTRAL_BYTES_PER_ENTRY = 4096
_MAX_ENTRY_NAME = 1024
_CHUNK = 1 << 16
_TEMP_PREFIX = ".install-"
_SUPPORTED_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate",
                      zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma"}
_WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
_WINDOWS_BAD_CHARS = set('<>:"|?*')
_JUNK_FOLDER = "__MACOSX"  # Finder's resource forks: skipped, never unpacked
_JUNK_FILES = {".DS_Store", "Thumbs.db", "desktop.ini"}
_HOSTILE = "refusing to install it (the zip may be malicious); ask its author for a plain zip of the pack folder"
# What reading a damaged or crafted zip can raise from the standard library.
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, LZMAError, EOFError, OSError, ValueError,
               NotImplementedError, RuntimeError, struct.error, UnicodeDecodeError, OverflowError, IndexError,
               KeyError)


def pack_folder_name(name: str) -> str:
    """``name`` as a folder name of ``[a-z0-9_-]``, at most 64 characters ("" if nothing is left).

    Accents are dropped ("Bleu Été" -> "bleu_ete"); any other run of characters becomes one "_".
    """
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"[^a-z0-9_-]+", "_", text).strip("_-")
    return text[:MAX_NAME_CHARS].strip("_-")


# --- reading the zip ----------------------------------------------------------------


@dataclass(frozen=True)
class _Limits:
    total: int
    entries: int
    entry: int


@dataclass(frozen=True)
class _Entry:
    info: zipfile.ZipInfo
    parts: tuple[str, ...]  # the path inside the pack folder


def _show(name: str) -> str:
    """An entry name for a message: quoted, escaped, and short."""
    text = repr(name)
    return text if len(text) <= 100 else text[:97] + "...'"


def _amount(size: int) -> str:
    return f"{size // MiB} MB" if size >= MiB and size % MiB == 0 else (
        f"{size / MiB:.1f} MB" if size >= MiB else f"{size} bytes")


def _open_zip(path: Path, label: str, limits: _Limits) -> zipfile.ZipFile:
    if not path.exists():
        raise ArfilterError(f"{label}: no such file; give the path of the overlay pack's .zip file")
    if path.is_dir():
        raise ArfilterError(f"{label}: is a folder, not a zip; use it as it is with --overlay {path}, "
                            "or zip it to install it")
    damaged = (f"{label}: is not a zip file or is damaged ({{}}); download it again, "
               "or zip the pack folder again")
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:  # the central directory's entry count and size, before zipfile parses it
            end = zipfile._EndRecData(handle)  # type: ignore[attr-defined]
    except AttributeError:  # pragma: no cover - a Python without the helper: zipfile's own checks only
        end = None
    except OSError as exc:
        raise ArfilterError(f"{label}: cannot be read ({exc.strerror or exc}); check the file") from None
    except _ZIP_ERRORS as exc:
        raise ArfilterError(damaged.format(str(exc) or type(exc).__name__)) from None
    if end is not None:
        count, central = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]  # type: ignore[attr-defined]
        if count > limits.entries:
            raise ArfilterError(f"{label}: has {count} entries; a pack may have at most {limits.entries} "
                                "files and folders (overlay.toml and its textures)")
        if central > max(limits.entries, 1) * _CENTRAL_BYTES_PER_ENTRY or central > size:
            raise ArfilterError(damaged.format(f"its directory claims {central} bytes for {count} entries"))
    try:
        return zipfile.ZipFile(path)
    except _ZIP_ERRORS as exc:
        raise ArfilterError(damaged.format(str(exc) or type(exc).__name__)) from None


def _name_problem(name: str) -> str | None:
    """Why an entry name is unsafe or unportable, or None."""
    if "\x00" in name:
        return f"has a NUL byte in its name; {_HOSTILE}"
    if re.match(r"[A-Za-z]:", name):
        return f"starts with a drive letter; {_HOSTILE}"
    if name.startswith(("/", "\\")):
        return f"is an absolute path; {_HOSTILE}"
    if ".." in re.split(r"[/\\]", name):
        return f"goes up out of the pack folder (..); {_HOSTILE}"
    if "\\" in name:
        return ("uses backslashes (\\) between folders, but zip files must use /; zip the pack folder again "
                "with another tool (Explorer, Finder or 'zip -r')")
    if len(name) > _MAX_ENTRY_NAME:
        return f"has a name of {len(name)} characters; use shorter names and zip the pack again"
    for part in name.rstrip("/").split("/"):
        why = None
        if part in ("", "."):
            why = "has an empty or '.' folder in its path"
        elif any(ord(char) < 32 or ord(char) == 127 for char in part):
            why = "has a control character in its name"
        elif any(char in _WINDOWS_BAD_CHARS for char in part):
            why = f"has one of {' '.join(sorted(_WINDOWS_BAD_CHARS))} in its name"
        elif part[-1] in ". ":
            why = "has a name ending in a dot or a space"
        elif part.split(".")[0].rstrip(" ").upper() in _WINDOWS_DEVICES:
            why = f"is named like the Windows device {part.split('.')[0].rstrip(' ').upper()}"
        elif len(part.encode("utf-8")) > 255:
            why = "has a part longer than 255 bytes"
        if why:
            return f"{why}, which not every system can unpack; rename it and zip the pack again"
    return None


def _kind_problem(info: zipfile.ZipInfo) -> str | None:
    """Why an entry is not a plain file or folder (by its Unix mode bits), or None."""
    mode = (info.external_attr >> 16) & 0xFFFF
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        return f"is a symbolic link; a pack may only hold plain files: {_HOSTILE}"
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        return f"is a device, pipe or socket, not a file; {_HOSTILE}"
    if kind == stat.S_IFDIR and not info.orig_filename.endswith("/"):
        return "is marked as a folder but named like a file; zip the pack folder again"
    return None


def _is_junk(parts: tuple[str, ...]) -> bool:
    return parts[0] == _JUNK_FOLDER or parts[-1] in _JUNK_FILES


def _plan(archive: zipfile.ZipFile, label: str, limits: _Limits) -> tuple[str, list[_Entry]]:
    """Check every entry from the central directory alone; the pack's folder prefix and what to unpack."""
    infos = archive.infolist()
    if not infos:
        raise ArfilterError(f"{label}: the zip is empty; it must hold {MANIFEST} and its PNG textures")
    if len(infos) > limits.entries:
        raise ArfilterError(f"{label}: has {len(infos)} entries; a pack may have at most {limits.entries} "
                            "files and folders (overlay.toml and its textures)")
    seen: dict[str, str] = {}  # name as Windows and macOS compare them -> the entry's name
    files: dict[str, str] = {}
    folders: set[str] = set()
    claimed = 0
    for info in infos:
        name = info.orig_filename
        entry = f"{label}: entry {_show(name)}"
        why = _name_problem(name) or _kind_problem(info)
        if why:
            raise ArfilterError(f"{entry} {why}")
        if info.flag_bits & 0x41:
            raise ArfilterError(f"{entry} is encrypted; a pack cannot have a password: "
                                "ask its author for a zip without one")
        if info.compress_type not in _SUPPORTED_METHODS:
            raise ArfilterError(f"{entry} uses compression method {info.compress_type}, which arfilter cannot "
                                "unpack; zip the pack folder again with ordinary (deflate) compression")
        if info.file_size > limits.entry:
            raise ArfilterError(f"{entry} unpacks to {_amount(info.file_size)}; a file in a pack may be at most "
                                f"{_amount(limits.entry)}: {_HOSTILE}")
        claimed += info.file_size
        if claimed > limits.total:
            raise ArfilterError(f"{label}: unpacks to more than {_amount(limits.total)} in all, the most a pack "
                                f"may hold; {_HOSTILE}")
        key = unicodedata.normalize("NFC", name.rstrip("/")).casefold()
        other = seen.get(key)
        if other == name:
            raise ArfilterError(f"{entry} appears twice in the zip; zip the pack folder again")
        if other is not None and other.rstrip("/") == name.rstrip("/"):
            raise ArfilterError(f"{entry} is both a file and a folder; rename one and zip the pack again")
        if other is not None:
            raise ArfilterError(f"{label}: entries {_show(other)} and {_show(name)} have the same name on Windows "
                                "and macOS (they differ only in upper/lower case or accents); rename one and zip "
                                "the pack again")
        seen[key] = name
        parts = key.split("/")
        folders.update("/".join(parts[:depth]) for depth in range(1, len(parts)))
        if name.endswith("/"):
            folders.add(key)
        else:
            files[key] = name
    for key, name in files.items():
        if key in folders:
            raise ArfilterError(f"{label}: entry {_show(name)} is both a file and a folder; "
                                "rename one and zip the pack again")

    paths = [tuple(info.orig_filename.rstrip("/").split("/")) for info in infos]
    wanted = [(info, parts) for info, parts in zip(infos, paths) if not _is_junk(parts)]
    manifests = [parts for info, parts in wanted if parts[-1] == MANIFEST and len(parts) <= 2
                 and not info.is_dir()]
    if (MANIFEST,) in manifests:
        prefix: tuple[str, ...] = ()
    elif len(manifests) == 1:
        prefix = manifests[0][:1]
    elif manifests:
        listed = ", ".join("/".join(parts) for parts in manifests[:3])
        raise ArfilterError(f"{label}: holds more than one pack ({listed}); zip and install one pack at a time")
    else:
        raise ArfilterError(f"{label}: has no {MANIFEST}, neither at the top nor inside one folder; "
                            f"zip the folder that holds {MANIFEST}")
    entries = []
    for info, parts in wanted:
        if parts[:len(prefix)] != prefix:
            raise ArfilterError(f"{label}: entry {_show(info.orig_filename)} is outside the pack folder "
                                f"{_show(prefix[0] + '/')}; zip only the pack folder")
        if len(parts) > len(prefix):
            entries.append(_Entry(info, parts[len(prefix):]))
    return "/".join(prefix), entries


def _copy_capped(source: IO[bytes], target: IO[bytes], entry_cap: int, total_left: int) -> int:
    """Copy ``source`` to ``target`` 64 KB at a time; raises ``_Overflow`` once more than a cap comes out.

    The caps count the bytes the decompressor actually produces, never a header's claim.
    """
    written = 0
    while True:
        chunk = source.read(_CHUNK)
        if not chunk:
            return written
        written += len(chunk)
        if written > entry_cap:
            raise _Overflow("entry")
        if written > total_left:
            raise _Overflow("total")
        target.write(chunk)


class _Overflow(Exception):
    """A cap on unpacked bytes was passed ("entry" or "total")."""


class _ReadError(Exception):
    """The zip's data could not be read (wrapped so that write errors stay apart)."""


class _Reader:
    """A zip entry's stream whose read errors become ``_ReadError``."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream

    def read(self, size: int) -> bytes:
        try:
            return self.stream.read(size)
        except _ZIP_ERRORS as exc:
            raise _ReadError(str(exc) or type(exc).__name__) from None


def _extract(archive: zipfile.ZipFile, entries: list[_Entry], staged: Path, label: str, limits: _Limits) -> None:
    staged.mkdir()
    root = staged.resolve()
    left = limits.total
    for item in entries:
        target = staged.joinpath(*item.parts)
        entry = f"{label}: entry {_show(item.info.orig_filename)}"
        try:
            if root not in target.resolve().parents:  # checked by name already; this holds whatever the OS does
                raise ArfilterError(f"{entry} would land outside the pack folder; {_HOSTILE}")
            if item.info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                stream = archive.open(item.info)
            except _ZIP_ERRORS as exc:
                raise _ReadError(str(exc) or type(exc).__name__) from None
            with stream, open(target, "xb") as out:
                left -= _copy_capped(_Reader(stream), out, limits.entry, left)
        except _ReadError as exc:
            raise ArfilterError(f"{entry} is damaged ({exc}); download the pack again, "
                                "or zip the pack folder again") from None
        except _Overflow as exc:
            if str(exc) == "entry":
                raise ArfilterError(f"{entry} unpacks to more than {_amount(limits.entry)} (its header says "
                                    f"{_amount(item.info.file_size)}); a file in a pack may be at most "
                                    f"{_amount(limits.entry)}: {_HOSTILE}") from None
            raise ArfilterError(f"{label}: unpacks to more than {_amount(limits.total)} in all, the most a pack "
                                f"may hold (at entry {_show(item.info.orig_filename)}); {_HOSTILE}") from None
        except OSError as exc:
            raise ArfilterError(f"{label}: cannot unpack entry {_show(item.info.orig_filename)} into "
                                f"{staged.parent.parent} ({exc.strerror or exc}); is the disk full? "
                                "pass --dest DIR or set ARFILTER_OVERLAYS_DIR to another folder") from None


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
    limits = _Limits(max_total_bytes, max_entries, max_entry_bytes)
    with _open_zip(zip_path, label, limits) as archive:
        prefix, entries = _plan(archive, label, limits)
        made = _make_folder(dest, label)
        try:
            try:
                temp = Path(tempfile.mkdtemp(prefix=_TEMP_PREFIX, dir=dest))
            except OSError as exc:
                raise ArfilterError(f"{label}: cannot write to the overlays folder {dest} ({exc.strerror or exc}); "
                                    "pass --dest DIR or set ARFILTER_OVERLAYS_DIR to a writable folder") from None
            try:
                staged = temp / "pack"
                _extract(archive, entries, staged, label, limits)
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
