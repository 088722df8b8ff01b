"""Output files that never cost the user what they had: checked before any work, written beside
the target and renamed into place only when complete.

Every file arfilter writes (a clip, a photo, ``--stats-json``, ``--landmarks-out``, a recording)
goes through here:

- :func:`output_problem` / :func:`check_output` say, before the first frame, why a path cannot
  be written: it is a folder, its folder is missing or read-only, or it *is* one of the inputs
  (the same path, a symbolic link or a hard link to it), so ``apply clip.mp4 -o clip.mp4`` is
  refused instead of destroying the clip;
- :func:`replacing` hands out a temporary name beside the target (same folder, so the final
  rename is atomic on every platform) and renames it over the target only when the block ends
  without an error; a failed or interrupted write removes the temporary file and leaves an
  existing target exactly as it was.
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from arfilter.core.errors import ArfilterError


def _same_file(first: Path, second: Path) -> bool:
    """True when both names reach the same file (same path, a symbolic link or a hard link)."""
    try:
        return first.exists() and second.exists() and os.path.samefile(first, second)
    except (OSError, ValueError):
        return False


def output_problem(path: str | Path, inputs: Iterable[str | Path] = ()) -> str | None:
    """Why ``path`` cannot be written as a new or replaced file, or None; nothing is created."""
    path = Path(path)
    for given in inputs:
        if given is not None and (_same_file(path, Path(given)) or
                                  Path(os.path.abspath(path)) == Path(os.path.abspath(given))):
            return f"is the input {given}; writing it would destroy the input, so give another output name"
    try:
        if path.is_dir():
            return "is a folder; give a file name inside it"
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            return f"the folder {folder} does not exist; create it or pick another path"
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"the folder {folder} is not writable; pick a folder you can write to"
        if path.exists() and not os.access(path, os.W_OK):
            return "exists and is read-only; pick another name or make it writable"
    except (OSError, ValueError) as exc:  # a name the system cannot look up (too long, a NUL byte)
        return f"is not a usable file name ({exc})"
    return None


def check_output(path: str | Path, what: str, inputs: Iterable[str | Path] = ()) -> Path:
    """``path`` as a Path, or an ``ArfilterError`` naming ``what`` (``"output"``, ``"--stats-json"``)."""
    problem = output_problem(path, inputs)
    if problem:
        raise ArfilterError(f"{what} {path}: {problem}")
    return Path(path)


def partial_path(path: str | Path, *, hidden: bool = True) -> Path:
    """A fresh name beside ``path`` that keeps its extension (encoders and numpy go by it).

    ``hidden``: a dot name the user never sees (a photo, a JSON file). A recording that must
    survive a crash gets a visible one (``clip.recording-1a2b.mp4``) so it can be found.
    """
    path = Path(path)
    tag = secrets.token_hex(3)
    name = f".{path.stem}.partial-{tag}{path.suffix}" if hidden else f"{path.stem}.recording-{tag}{path.suffix}"
    return path.with_name(name)


@contextmanager
def replacing(path: str | Path, what: str = "output", *, hidden: bool = True) -> Iterator[Path]:
    """Write to the yielded temporary path; on success it replaces ``path`` atomically.

    On any error (or Ctrl+C) the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    temporary = partial_path(path, hidden=hidden)
    try:
        yield temporary
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    try:
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise ArfilterError(f"{what} {path}: cannot be written ({exc.strerror}); check the disk and permissions") \
            from None


def write_bytes(path: str | Path, data: bytes, what: str = "output") -> None:
    """Write a whole small file atomically (a photo, a JSON file)."""
    with replacing(path, what) as temporary:
        try:
            temporary.write_bytes(data)
        except OSError as exc:
            raise ArfilterError(f"{what} {path}: cannot be written ({exc.strerror}); check the disk and "
                                "permissions") from None
