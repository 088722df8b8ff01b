"""Find, verify and (once) download MediaPipe's ``face_landmarker.task``.

The model is not shipped with the package: it is looked up in this order

1. ``--model PATH`` (``explicit``),
2. ``$ARFILTER_MODEL``,
3. ``<user cache>/face_landmarker.task``,
4. a download from Google into that cache.

Every file is checked against the published SHA-256 before it is handed to
MediaPipe, so a truncated download, a captive-portal HTML page or a different
model version fails here with a clear message instead of deep inside the
native loader. Nothing is printed except the download progress on ``progress``;
there is no telemetry.
"""

from __future__ import annotations

import hashlib
import http.client
from dataclasses import dataclass
import os
import socket
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any, Callable, Mapping, TextIO

from arfilter.core.errors import ArfilterError
from arfilter.core.paths import user_cache_dir

MODEL_URL = (
    "https://storage.googleapis.com/mediapipe-models/face_landmarker/"
    "face_landmarker/float16/1/face_landmarker.task"
)
MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
MODEL_FILENAME = "face_landmarker.task"
MODEL_SIZE = 3758596
MODEL_DESCRIPTION = "Google's face_landmarker.task (float16, v1)"

#: Seconds a single connect or read may stall before the download is given up.
DOWNLOAD_TIMEOUT = 30.0
#: A response larger than this is not the model; stop before it fills the disk.
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
_CHUNK = 1 << 16

Opener = Callable[..., Any]

@dataclass(frozen=True)
class Fetched:
    """What a verified download is, for its messages: the face model by default; the web page's
    MediaPipe runtime (``arfilter.web.runtime``) uses the same download with its own names."""

    label: str = "the face model"  # "downloading the face model"
    description: str = MODEL_DESCRIPTION  # "the file downloaded ... is not <description>"
    filename: str = MODEL_FILENAME  # "far larger than <filename>"
    algorithm: str = "sha256"  # a hashlib name; the expected digest is given in hex
    instead: str = "download it yourself and point --model at it"


FACE_MODEL = Fetched()

# (resolved path, device, inode, size, mtime_ns) -> hex digest. Lets a long-lived
# process call resolve_model() repeatedly without rehashing an unchanged file.
_digest_memo: dict[tuple[str, int, int, int, int], str] = {}


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in chunks so memory use stays flat."""
    return file_digest(path, "sha256")


def file_digest(path: str | Path, algorithm: str) -> str:
    """Hex digest of a file by any hashlib algorithm (npm pins its tarballs by SHA-512)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _memo_digest(path: Path) -> str:
    """``sha256_of`` remembered per unchanged file (same inode, size, mtime)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    cached = _digest_memo.get(key)
    if cached is None:
        cached = sha256_of(path)
        _digest_memo[key] = cached
    return cached


def user_model_path(explicit: str | Path | None, env: Mapping[str, str]) -> tuple[Path, str] | None:
    """The path the user named, and how to name its source in messages."""
    if explicit is not None and str(explicit) != "":
        return Path(os.path.expanduser(str(explicit))), f"--model {explicit}"
    from_env = env.get("ARFILTER_MODEL")
    if from_env:
        return Path(os.path.expanduser(from_env)), f"ARFILTER_MODEL={from_env}"
    return None


def _check_user_model(path: Path, source: str, url: str, expected_sha256: str) -> Path:
    """Return a user-named model if it is the right file, else explain why not."""
    if not path.exists():
        raise ArfilterError(
            f"{source}: no such file; check the path, or leave it out to use "
            f"(and if needed download) {MODEL_FILENAME} automatically"
        )
    if path.is_dir():
        raise ArfilterError(
            f"{source}: is a folder; give the path of the {MODEL_FILENAME} file itself"
        )
    try:
        digest = _memo_digest(path)
    except OSError as exc:
        raise ArfilterError(f"model {path}: cannot read it ({_reason(exc)})") from exc
    if digest != expected_sha256.lower():
        raise ArfilterError(
            f"model {path}: checksum does not match {MODEL_DESCRIPTION}; "
            f"download it again from {url}"
        )
    return path


def _is_tty(stream: IO[str]) -> bool:
    """Whether a progress bar may redraw in place (not for logs or pipes)."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except (OSError, ValueError):
        return False


def _say(progress: TextIO | None, line: str) -> None:
    """Write one whole line of progress, if anyone is listening."""
    if progress is None:
        return
    try:
        progress.write(line + "\n")
        progress.flush()
    except (OSError, ValueError):
        pass


class _Progress:
    """Download progress: one redrawn line on a TTY, two plain lines otherwise."""

    def __init__(self, stream: TextIO | None, url: str, dest: Path, label: str = FACE_MODEL.label) -> None:
        self.stream = stream
        self.label = label
        self.tty = stream is not None and _is_tty(stream)
        self.url = url
        self.dest = dest
        self.total: int | None = None
        self.last_drawn: tuple[int, int] | None = None
        self.open_line = False

    def start(self, total: int | None) -> None:
        self.total = total
        if self.tty:
            self.update(0)
        else:
            size = f" ({total / 1e6:.1f} MB)" if total else ""
            _say(self.stream, f"arfilter: downloading {self.label}{size} from {self.url}")

    def update(self, done: int) -> None:
        if not self.tty or self.stream is None:
            return
        if self.total:
            percent = min(100, done * 100 // self.total)
            state = (percent, 0)
            text = f"\rarfilter: downloading {self.label} {percent:3d}%  {done / 1e6:.1f}/{self.total / 1e6:.1f} MB"
        else:
            state = (-1, done // 100_000)
            text = f"\rarfilter: downloading {self.label}  {done / 1e6:.1f} MB"
        if state == self.last_drawn:
            return
        self.last_drawn = state
        try:
            self.stream.write(text)
            self.stream.flush()
            self.open_line = True
        except (OSError, ValueError):
            pass

    def finish(self, ok: bool) -> None:
        """End the bar's line; on success say where the model went."""
        if self.tty:
            if self.open_line:
                suffix = f" -> {self.dest}" if ok else ""
                _say(self.stream, suffix)
                self.open_line = False
        elif ok:
            _say(self.stream, f"arfilter: saved {self.label} to {self.dest}")


def _reason(exc: BaseException) -> str:
    """A short human reason for a network or file error, without errno noise."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}".strip()
    if isinstance(exc, urllib.error.URLError):
        inner = exc.reason
        if isinstance(inner, BaseException):
            return _reason(inner)
        return str(inner)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out waiting for the server"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


class NetworkError(Exception):
    """The download failed for a reason outside the user's files (offline, HTTP)."""


def _no_model_error(reason: str, url: str, cache_path: Path) -> ArfilterError:
    return ArfilterError(
        f"no face model yet and it could not be downloaded ({reason}). "
        f"Download {url} and save it as {cache_path}, or point --model / ARFILTER_MODEL at it"
    )


def _unwritable(folder: Path, exc: OSError) -> ArfilterError:
    return ArfilterError(
        f"cannot write the model cache folder {folder} ({_reason(exc)}); "
        "set ARFILTER_CACHE_DIR to a writable folder"
    )


def _stream(response, handle, bar: "_Progress", url: str, folder: Path, what: Fetched = FACE_MODEL) -> str:
    """Copy the response into ``handle`` with progress and a size cap; the hex digest of what came."""
    length = response.headers.get("Content-Length") if response.headers else None
    total = int(length) if length and length.isdigit() else None
    bar.start(total)
    digest = hashlib.new(what.algorithm)
    done = 0
    while True:
        try:
            chunk = response.read(_CHUNK)
        except (http.client.HTTPException, OSError) as exc:
            raise NetworkError(_reason(exc)) from exc
        if not chunk:
            break
        done += len(chunk)
        if done > MAX_DOWNLOAD_BYTES:
            raise ArfilterError(
                f"the download from {url} is over {MAX_DOWNLOAD_BYTES // 2**20} MB, "
                f"far larger than {what.filename}; nothing was saved"
            )
        digest.update(chunk)
        try:
            handle.write(chunk)
        except OSError as exc:
            raise _unwritable(folder, exc) from exc
        bar.update(done)
    if total is not None and done != total:
        raise NetworkError(f"the connection closed after {done} of {total} bytes")
    return digest.hexdigest()


def download_verified(url: str, dest: Path, expected: str, progress: TextIO | None, opener: Opener,
                      timeout: float, what: Fetched = FACE_MODEL) -> None:
    """Fetch ``url`` to ``dest`` atomically, only if its digest (``what.algorithm``, hex) is right.

    Bytes go to a temp file beside ``dest`` (same filesystem, so ``os.replace``
    is atomic and concurrent runs never see half a model); the temp file is
    removed on every failure. Raises ``NetworkError`` for connection trouble
    and ``ArfilterError`` for everything else.
    """
    folder = dest.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(
            dir=folder, prefix=f".{dest.name}.", suffix=".part", delete=False
        )
    except OSError as exc:
        raise _unwritable(folder, exc) from exc

    tmp = Path(handle.name)
    bar = _Progress(progress, url, dest, what.label)
    ok = False
    try:
        with handle:
            try:
                response = opener(url, timeout=timeout)
            except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
                raise NetworkError(_reason(exc)) from exc
            with response:
                got = _stream(response, handle, bar, url, folder, what)
            try:
                handle.flush()
                os.fsync(handle.fileno())
            except OSError as exc:
                raise _unwritable(folder, exc) from exc

        if got != expected.lower():
            raise ArfilterError(
                f"the file downloaded from {url} is not {what.description} "
                f"(checksum mismatch; a proxy or login page may have answered); "
                f"nothing was saved. Try again, or {what.instead}"
            )
        try:
            os.replace(tmp, dest)
        except OSError as exc:
            raise _unwritable(folder, exc) from exc
        ok = True
    finally:
        bar.finish(ok)
        if not ok:
            try:
                tmp.unlink()
            except OSError:  # already gone, or not ours to remove: nothing was saved either way
                pass


def _cached(cache_path: Path, expected_sha256: str, progress: TextIO | None, download: bool) -> bool:
    """Whether the cache holds the right model; a damaged copy is ours, so it is deleted (and said)."""
    if cache_path.is_file():
        try:
            digest = _memo_digest(cache_path)
        except OSError as exc:
            raise ArfilterError(
                f"cached model {cache_path}: cannot read it ({_reason(exc)}); "
                "delete it, or set ARFILTER_CACHE_DIR to another folder"
            ) from exc
        if digest == expected_sha256.lower():
            return True
        try:
            cache_path.unlink()
        except OSError as exc:
            raise ArfilterError(
                f"cached model {cache_path} is damaged (checksum mismatch) and cannot be "
                f"deleted ({_reason(exc)}); delete it by hand, or set ARFILTER_CACHE_DIR"
            ) from exc
        _say(
            progress,
            f"arfilter: the cached face model {cache_path} was damaged (checksum mismatch); "
            "deleted it" + (", downloading it again" if download else ""),
        )
    elif cache_path.exists():
        raise ArfilterError(
            f"cached model {cache_path} is not a file; remove it, or set ARFILTER_CACHE_DIR"
        )

    return False


def resolve_model(
    explicit: str | Path | None = None,
    *,
    env: Mapping[str, str] = os.environ,
    cache_dir: str | Path | None = None,
    download: bool = True,
    url: str = MODEL_URL,
    expected_sha256: str = MODEL_SHA256,
    progress: TextIO | None = sys.stderr,
    opener: Opener = urllib.request.urlopen,
    timeout: float = DOWNLOAD_TIMEOUT,
) -> Path:
    """Path of a verified ``face_landmarker.task``, downloading it once if needed.

    ``explicit`` (``--model``) beats ``$ARFILTER_MODEL`` beats the cached copy.
    A user-named file is never replaced: if it is missing or wrong the user is
    told. A damaged cached copy is ours, so it is deleted and fetched again.
    Every failure is an ``ArfilterError`` with a one-line message.
    """
    named = user_model_path(explicit, env)
    if named is not None:
        return _check_user_model(named[0], named[1], url, expected_sha256)

    folder = Path(cache_dir) if cache_dir is not None else user_cache_dir(env=env)
    cache_path = folder / MODEL_FILENAME

    if _cached(cache_path, expected_sha256, progress, download):
        return cache_path
    if not download:
        raise _no_model_error("downloading is turned off", url, cache_path)
    try:
        download_verified(url, cache_path, expected_sha256, progress, opener, timeout)
    except NetworkError as exc:
        raise _no_model_error(str(exc), url, cache_path) from exc
    _digest_memo.clear()  # the cache file changed; no stale entry may match it
    return cache_path
