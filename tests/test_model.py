"""Tests for finding, verifying and downloading the face model.

There is no internet here, so downloads come from a real HTTP server on
127.0.0.1 that serves the copy of Google's file among the test media
(tests/media.py finds it, as every test's ``model_path``). Every
test uses its own ``tmp_path`` cache and never touches the user's ``~/.cache``.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

import arfilter.tracking.model as model
from arfilter.core.errors import ArfilterError
from arfilter.core.paths import user_cache_dir
from arfilter.tracking.model import (
    MODEL_FILENAME,
    MODEL_SHA256,
    MODEL_SIZE,
    MODEL_URL,
    resolve_model,
    sha256_of,
)

# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def model_bytes(model_path: Path) -> bytes:
    """The genuine model, read once per module (3.7 MB)."""
    return model_path.read_bytes()


@pytest.fixture(scope="module")
def damaged_bytes(model_bytes: bytes) -> bytes:
    """Same size as the model with one byte flipped: only a checksum can tell."""
    data = bytearray(model_bytes)
    data[len(data) // 2] ^= 0xFF
    return bytes(data)


class _Server:
    """A local HTTP server with fixed routes, counting the requests it gets."""

    def __init__(self, routes: dict[str, tuple[bytes, int | None]]) -> None:
        self.routes = routes
        self.hits: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                outer.hits.append(self.path)
                if self.path not in outer.routes:
                    self.send_error(404, "Not Found")
                    return
                body, length = outer.routes[self.path]
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture(scope="module")
def server(model_bytes: bytes, damaged_bytes: bytes) -> Iterator[_Server]:
    """Routes: the real model, a corrupted one, and one cut short mid-body."""
    srv = _Server(
        {
            "/face_landmarker.task": (model_bytes, None),
            "/wrong.task": (damaged_bytes, None),
            "/truncated.task": (model_bytes[:1000], MODEL_SIZE),
        }
    )
    srv.thread.start()
    try:
        yield srv
    finally:
        srv.httpd.shutdown()
        srv.httpd.server_close()


@pytest.fixture
def closed_port_url() -> str:
    """A URL nobody listens on, so connecting fails at once like being offline."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/{MODEL_FILENAME}"


@pytest.fixture(autouse=True)
def _fresh_memo() -> Iterator[None]:
    """Each test starts without remembered digests, so it hashes what it wrote."""
    model._digest_memo.clear()
    yield
    model._digest_memo.clear()


def _no_network(*args: Any, **kwargs: Any) -> Any:
    """An opener that fails the test: proves a code path never downloads."""
    raise AssertionError("resolve_model tried to download")


class _TTY(io.StringIO):
    """A StringIO that says it is a terminal, to exercise the redrawn bar."""

    def isatty(self) -> bool:
        return True


# --------------------------------------------------------------------------- user_cache_dir


@pytest.mark.parametrize(
    ("platform", "env", "expected"),
    [
        ("linux", {"HOME": "/home/ana"}, "/home/ana/.cache/arfilter"),
        ("linux", {"HOME": "/home/ana", "XDG_CACHE_HOME": "/var/xdg"}, "/var/xdg/arfilter"),
        ("linux", {"HOME": "/home/ana", "XDG_CACHE_HOME": "rel/xdg"}, "/home/ana/.cache/arfilter"),
        ("linux", {"HOME": "/home/ana", "XDG_CACHE_HOME": ""}, "/home/ana/.cache/arfilter"),
        ("freebsd13", {"HOME": "/usr/home/bo", "XDG_CACHE_HOME": "/x"}, "/x/arfilter"),
        ("linux", {"HOME": "/h", "ARFILTER_CACHE_DIR": "/srv/models"}, "/srv/models"),
        ("darwin", {"HOME": "/Users/ana", "XDG_CACHE_HOME": "/x"}, "/Users/ana/Library/Caches/arfilter"),
        ("darwin", {"HOME": "/Users/ana", "ARFILTER_CACHE_DIR": "/tmp/c"}, "/tmp/c"),
    ],
)
def test_user_cache_dir_posix(platform: str, env: dict[str, str], expected: str) -> None:
    """Each OS puts caches where its users and cleanup tools expect them."""
    assert user_cache_dir(platform=platform, env=env) == Path(expected)


@pytest.mark.parametrize(
    ("env", "expected_parts"),
    [
        ({"LOCALAPPDATA": r"C:\Users\ana\AppData\Local"}, (r"C:\Users\ana\AppData\Local", "arfilter", "Cache")),
        ({"USERPROFILE": r"C:\Users\bo"}, (r"C:\Users\bo", "AppData", "Local", "arfilter", "Cache")),
        ({"LOCALAPPDATA": r"C:\L", "ARFILTER_CACHE_DIR": r"D:\cache"}, (r"D:\cache",)),
    ],
)
def test_user_cache_dir_windows(env: dict[str, str], expected_parts: tuple[str, ...]) -> None:
    """Windows uses %LOCALAPPDATA%\\arfilter\\Cache, with a home-based fallback."""
    assert user_cache_dir(platform="win32", env=env) == Path(*expected_parts)


def test_user_cache_dir_defaults_to_running_system(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With no arguments it reads the real environment (here: an override)."""
    monkeypatch.setenv("ARFILTER_CACHE_DIR", str(tmp_path))
    assert user_cache_dir() == tmp_path


# --------------------------------------------------------------------------- sha256_of


def test_sha256_of_matches_published_digest_and_hashlib(tmp_path: Path, model_path: Path) -> None:
    """The streamed hash equals a one-shot hash, on the real model and a small file."""
    assert sha256_of(model_path) == MODEL_SHA256
    small = tmp_path / "small.bin"
    small.write_bytes(b"arfilter" * 1000)
    assert sha256_of(small) == hashlib.sha256(b"arfilter" * 1000).hexdigest()


# --------------------------------------------------------------------------- lookup order


@pytest.mark.parametrize(
    ("use_explicit", "use_env", "winner"),
    [
        (True, True, "explicit"),
        (True, False, "explicit"),
        (False, True, "env"),
        (False, False, "cache"),
    ],
)
def test_lookup_order(
    tmp_path: Path, model_bytes: bytes, use_explicit: bool, use_env: bool, winner: str
) -> None:
    """--model beats ARFILTER_MODEL beats the cache; none of them downloads."""
    places = {name: tmp_path / name / MODEL_FILENAME for name in ("explicit", "env", "cache")}
    for path in places.values():
        path.parent.mkdir()
        path.write_bytes(model_bytes)
    env = {"ARFILTER_MODEL": str(places["env"])} if use_env else {}
    got = resolve_model(
        places["explicit"] if use_explicit else None,
        env=env,
        cache_dir=places["cache"].parent,
        opener=_no_network,
        progress=None,
    )
    assert got == places[winner]


def test_cache_dir_taken_from_env(tmp_path: Path, model_bytes: bytes) -> None:
    """Without cache_dir, the cache folder comes from the given env mapping."""
    (tmp_path / MODEL_FILENAME).write_bytes(model_bytes)
    got = resolve_model(env={"ARFILTER_CACHE_DIR": str(tmp_path)}, opener=_no_network, progress=None)
    assert got == tmp_path / MODEL_FILENAME


def test_explicit_string_and_tilde_are_accepted(
    tmp_path: Path, model_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Users type paths as strings, often with ~; both must work."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "m.task").write_bytes(model_bytes)
    assert resolve_model("~/m.task", env={}, cache_dir=tmp_path / "c", progress=None) == tmp_path / "m.task"


# --------------------------------------------------------------------------- user-named files


@pytest.mark.parametrize("source", ["explicit", "env"])
def test_missing_user_path_names_path_and_source(tmp_path: Path, source: str) -> None:
    """A typo in --model or ARFILTER_MODEL is reported as such, never downloaded around."""
    missing = tmp_path / "nope.task"
    explicit = missing if source == "explicit" else None
    env = {"ARFILTER_MODEL": str(missing)} if source == "env" else {}
    with pytest.raises(ArfilterError) as info:
        resolve_model(explicit, env=env, cache_dir=tmp_path / "c", opener=_no_network, progress=None)
    prefix = f"--model {missing}" if source == "explicit" else f"ARFILTER_MODEL={missing}"
    assert str(info.value).startswith(f"{prefix}: no such file; ")
    assert not (tmp_path / "c").exists()


def test_user_path_that_is_a_folder(tmp_path: Path) -> None:
    """Pointing --model at the folder instead of the file gets a specific hint."""
    with pytest.raises(ArfilterError, match="is a folder"):
        resolve_model(tmp_path, env={}, cache_dir=tmp_path / "c", opener=_no_network, progress=None)


@pytest.mark.parametrize("source", ["explicit", "env"])
def test_user_file_with_wrong_checksum_is_refused(
    tmp_path: Path, damaged_bytes: bytes, source: str
) -> None:
    """A damaged user-named file is never loaded and never silently replaced."""
    bad = tmp_path / "bad.task"
    bad.write_bytes(damaged_bytes)
    explicit = bad if source == "explicit" else None
    env = {"ARFILTER_MODEL": str(bad)} if source == "env" else {}
    with pytest.raises(ArfilterError) as info:
        resolve_model(explicit, env=env, cache_dir=tmp_path / "c", opener=_no_network, progress=None)
    assert str(info.value) == (
        f"model {bad}: checksum does not match Google's face_landmarker.task (float16, v1); "
        f"download it again from {MODEL_URL}"
    )
    assert bad.read_bytes() == damaged_bytes


# --------------------------------------------------------------------------- downloads


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_into_empty_cache(tmp_path: Path, server: _Server) -> None:
    """First run: the folder is created, the model lands verified, no temp files remain."""
    cache = tmp_path / "deep" / "cache"
    out = io.StringIO()
    got = resolve_model(env={}, cache_dir=cache, url=server.url("/face_landmarker.task"), progress=out)
    assert got == cache / MODEL_FILENAME
    assert got.stat().st_size == MODEL_SIZE
    assert sha256_of(got) == MODEL_SHA256
    assert _leftovers(cache) == [MODEL_FILENAME]

    # A second call finds it in the cache and does not download again.
    hits = len(server.hits)
    assert resolve_model(env={}, cache_dir=cache, opener=_no_network, progress=None) == got
    assert len(server.hits) == hits


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ("/wrong.task", "checksum mismatch"),
        ("/truncated.task", "could not be downloaded (the connection closed after 1000 of"),
        ("/missing.task", "could not be downloaded (HTTP 404"),
    ],
)
def test_failed_download_leaves_nothing(
    tmp_path: Path, server: _Server, route: str, message: str
) -> None:
    """Wrong, cut-short or missing downloads raise and leave the cache empty."""
    cache = tmp_path / "cache"
    with pytest.raises(ArfilterError) as info:
        resolve_model(env={}, cache_dir=cache, url=server.url(route), progress=io.StringIO())
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert _leftovers(cache) == []


def test_corrupt_cached_file_is_replaced(tmp_path: Path, server: _Server, damaged_bytes: bytes) -> None:
    """Our own cached copy, if damaged, is deleted and fetched again, and we say so."""
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / MODEL_FILENAME).write_bytes(damaged_bytes)
    out = io.StringIO()
    got = resolve_model(env={}, cache_dir=cache, url=server.url("/face_landmarker.task"), progress=out)
    assert sha256_of(got) == MODEL_SHA256
    assert _leftovers(cache) == [MODEL_FILENAME]
    lines = out.getvalue().splitlines()
    assert "damaged" in lines[0] and str(cache / MODEL_FILENAME) in lines[0]


def test_corrupt_cached_file_without_download(tmp_path: Path, damaged_bytes: bytes) -> None:
    """With downloading off, a damaged cache is removed and the user told what to do."""
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / MODEL_FILENAME).write_bytes(damaged_bytes)
    with pytest.raises(ArfilterError, match="no face model yet"):
        resolve_model(env={}, cache_dir=cache, download=False, opener=_no_network, progress=None)
    assert _leftovers(cache) == []


@pytest.mark.parametrize("download", [True, False])
def test_offline_message_is_one_actionable_line(
    tmp_path: Path, closed_port_url: str, download: bool
) -> None:
    """Offline (or downloads off): one line saying which URL to fetch and where to put it."""
    cache = tmp_path / "cache"
    kwargs: dict[str, Any] = {} if download else {"opener": _no_network}
    with pytest.raises(ArfilterError) as info:
        resolve_model(
            env={}, cache_dir=cache, url=closed_port_url, download=download, progress=None, **kwargs
        )
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith("no face model yet and it could not be downloaded (")
    assert f"Download {closed_port_url} and save it as {cache / MODEL_FILENAME}" in text
    assert "--model / ARFILTER_MODEL" in text
    assert not (cache / MODEL_FILENAME).exists()
    assert [p for p in _leftovers(cache) if p.endswith(".part")] == []


def test_silent_server_times_out(tmp_path: Path) -> None:
    """A server that accepts but never answers must not hang the app forever."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # connections queue up but nobody ever replies
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/{MODEL_FILENAME}"
        with pytest.raises(ArfilterError, match=r"could not be downloaded \(timed out"):
            resolve_model(env={}, cache_dir=tmp_path, url=url, timeout=0.2, progress=None)
    assert _leftovers(tmp_path) == []


def test_unwritable_cache_names_folder(tmp_path: Path, server: _Server) -> None:
    """A cache path that cannot be created points the user to ARFILTER_CACHE_DIR.

    A regular file in the way makes mkdir fail even for root, unlike chmod.
    """
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    cache = blocker / "cache"
    with pytest.raises(ArfilterError) as info:
        resolve_model(env={}, cache_dir=cache, url=server.url("/face_landmarker.task"), progress=None)
    assert str(cache) in str(info.value) and "ARFILTER_CACHE_DIR" in str(info.value)


# --------------------------------------------------------------------------- progress output


def test_progress_without_tty_is_at_most_two_lines(tmp_path: Path, server: _Server) -> None:
    """Logs and pipes get a start and an end line, not hundreds of redraws."""
    out = io.StringIO()
    resolve_model(env={}, cache_dir=tmp_path, url=server.url("/face_landmarker.task"), progress=out)
    text = out.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert 1 <= len(lines) <= 2
    assert all(line.startswith("arfilter: ") for line in lines)


def test_progress_on_tty_is_one_redrawn_line(tmp_path: Path, server: _Server) -> None:
    """A terminal gets a single line redrawn with percent and MB, ending at 100%."""
    out = _TTY()
    resolve_model(env={}, cache_dir=tmp_path, url=server.url("/face_landmarker.task"), progress=out)
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    frames = text.rstrip("\n").split("\r")[1:]
    assert len(frames) > 2
    assert "100%" in frames[-1] and "3.8/3.8 MB" in frames[-1]


def test_no_progress_stream_is_silent(tmp_path: Path, server: _Server, capsys: pytest.CaptureFixture[str]) -> None:
    """progress=None means nothing at all is printed anywhere."""
    resolve_model(env={}, cache_dir=tmp_path, url=server.url("/face_landmarker.task"), progress=None)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_repeated_resolve_hashes_once(
    tmp_path: Path, model_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-running app may resolve the model often; an unchanged file is hashed once."""
    (tmp_path / MODEL_FILENAME).write_bytes(model_bytes)
    calls: list[Path] = []
    real = model.sha256_of

    def counting(path: str | Path) -> str:
        calls.append(Path(path))
        return real(path)

    monkeypatch.setattr(model, "sha256_of", counting)
    for _ in range(3):
        resolve_model(env={}, cache_dir=tmp_path, opener=_no_network, progress=None)
    assert len(calls) == 1
    os.utime(tmp_path / MODEL_FILENAME, ns=(1, 1))  # a changed file is hashed again
    resolve_model(env={}, cache_dir=tmp_path, opener=_no_network, progress=None)
    assert len(calls) == 2


def test_copy_of_shared_model_is_accepted_as_explicit(tmp_path: Path, model_path: Path) -> None:
    """The shared copy itself is what CI points --model at; it must pass as-is."""
    copy = tmp_path / "copy.task"
    shutil.copyfile(model_path, copy)
    assert resolve_model(copy, env={}, cache_dir=tmp_path / "c", opener=_no_network, progress=None) == copy
