"""Reading an overlay pack's zip as hostile: check every entry from the directory, then unpack with caps.

Steps 1 and 2 of ``arfilter install`` (see :mod:`arfilter.ops.install`):
:func:`plan` refuses, from the central directory alone and before anything
touches the disk, what could escape the pack folder, hide a special file or
collide on another system; :func:`extract` unpacks the rest, counting the
bytes that come out of the decompressor, so a header that lies about sizes
(a zip bomb) stops at the cap, 64 KB at a time.
"""

from __future__ import annotations

import re
import stat
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from arfilter.core.errors import ArfilterError
from arfilter.render.packs import MANIFEST

try:
    from lzma import LZMAError
except ImportError:  # pragma: no cover - a Python built without lzma (zipfile then refuses LZMA entries)
    class LZMAError(Exception):  # type: ignore[no-redef]
        pass

MiB = 1024 * 1024
#: Central-directory bytes allowed per entry (the record, a name, extra fields):
#: bounds what ``zipfile`` parses before the entry count can be checked.
_CENTRAL_BYTES_PER_ENTRY = 4096
_MAX_ENTRY_NAME = 1024
CHUNK = 1 << 16
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


@dataclass(frozen=True)
class Limits:
    """Caps on what a pack may unpack to: bytes in all, entries, bytes per entry."""

    total: int
    entries: int
    entry: int


@dataclass(frozen=True)
class Entry:
    """A zip entry to unpack, and where: its path inside the pack folder."""

    info: zipfile.ZipInfo
    parts: tuple[str, ...]  # the path inside the pack folder


def _show(name: str) -> str:
    """An entry name for a message: quoted, escaped, and short."""
    text = repr(name)
    return text if len(text) <= 100 else text[:97] + "...'"


def _amount(size: int) -> str:
    return f"{size // MiB} MB" if size >= MiB and size % MiB == 0 else (
        f"{size / MiB:.1f} MB" if size >= MiB else f"{size} bytes")


def open_zip(path: Path, label: str, limits: Limits) -> zipfile.ZipFile:
    """The zip, opened only after its end record admits a sane number of entries and directory size."""
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


def plan(archive: zipfile.ZipFile, label: str, limits: Limits) -> tuple[str, list[Entry]]:
    """Check every entry from the central directory alone; the pack's folder prefix and what to unpack."""
    infos = archive.infolist()
    if not infos:
        raise ArfilterError(f"{label}: the zip is empty; it must hold {MANIFEST} and its PNG textures")
    if len(infos) > limits.entries:
        raise ArfilterError(f"{label}: has {len(infos)} entries; a pack may have at most {limits.entries} "
                            "files and folders (overlay.toml and its textures)")
    _check_entries(infos, label, limits)
    paths = [tuple(info.orig_filename.rstrip("/").split("/")) for info in infos]
    wanted = [(info, parts) for info, parts in zip(infos, paths) if not _is_junk(parts)]
    prefix = _pack_prefix(wanted, label)
    entries = []
    for info, parts in wanted:
        if parts[:len(prefix)] != prefix:
            raise ArfilterError(f"{label}: entry {_show(info.orig_filename)} is outside the pack folder "
                                f"{_show(prefix[0] + '/')}; zip only the pack folder")
        if len(parts) > len(prefix):
            entries.append(Entry(info, parts[len(prefix):]))
    return "/".join(prefix), entries


def _check_entries(infos: list[zipfile.ZipInfo], label: str, limits: Limits) -> None:
    """Refuse any entry that is unsafe, unportable, encrypted, too large, or that collides with another."""
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


def _pack_prefix(wanted: list[tuple[zipfile.ZipInfo, tuple[str, ...]]], label: str) -> tuple[str, ...]:
    """The folder the pack is in: () for a manifest at the top, else the one folder holding it."""
    manifests = [parts for info, parts in wanted if parts[-1] == MANIFEST and len(parts) <= 2
                 and not info.is_dir()]
    if (MANIFEST,) in manifests:
        return ()
    if len(manifests) == 1:
        return manifests[0][:1]
    if manifests:
        listed = ", ".join("/".join(parts) for parts in manifests[:3])
        raise ArfilterError(f"{label}: holds more than one pack ({listed}); zip and install one pack at a time")
    raise ArfilterError(f"{label}: has no {MANIFEST}, neither at the top nor inside one folder; "
                        f"zip the folder that holds {MANIFEST}")


def copy_capped(source: IO[bytes], target: IO[bytes], entry_cap: int, total_left: int) -> int:
    """Copy ``source`` to ``target`` 64 KB at a time; raises ``Overflow`` once more than a cap comes out.

    The caps count the bytes the decompressor actually produces, never a header's claim.
    """
    written = 0
    while True:
        chunk = source.read(CHUNK)
        if not chunk:
            return written
        written += len(chunk)
        if written > entry_cap:
            raise Overflow("entry")
        if written > total_left:
            raise Overflow("total")
        target.write(chunk)


class Overflow(Exception):
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


def extract(archive: zipfile.ZipFile, entries: list[Entry], staged: Path, label: str, limits: Limits) -> None:
    """Unpack ``entries`` into the new folder ``staged``, within ``limits``; one ArfilterError line if anything fails."""
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
                left -= copy_capped(_Reader(stream), out, limits.entry, left)
        except _ReadError as exc:
            raise ArfilterError(f"{entry} is damaged ({exc}); download the pack again, "
                                "or zip the pack folder again") from None
        except Overflow as exc:
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
