"""tests/media.py: the one lookup for the test media, and its pinned, verified download.

There is no internet here, so "public sources" are a real HTTP server on
127.0.0.1 serving folders in tmp_path (or the test media themselves, laid out
like ../shared). Every cache is in tmp_path.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

import media
from media import FILES, MediaError, fill_cache, media_root, sources


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[tuple[str, list[str]]]:
    """Serve ``folder`` on 127.0.0.1; yields the base URL and the list of paths requested."""
    hits: list[str] = []

    class Handler(_Quiet):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            hits.append(self.path)
            super().do_GET()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _no_network(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the lookup tried to download")


def _small(tmp_path: Path, data: bytes = b"a small test file\n" * 100) -> tuple[Path, str]:
    """A file to serve, and its SHA-256."""
    public = tmp_path / "public"
    public.mkdir(exist_ok=True)
    (public / "clip.bin").write_bytes(data)
    return public, hashlib.sha256(data).hexdigest()


def _leftovers(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def test_a_missing_file_is_downloaded_once_into_the_cache(tmp_path: Path) -> None:
    public, digest = _small(tmp_path)
    cache = tmp_path / "cache"
    with serve(public) as (base, hits):
        table = {"media/clip.bin": (f"{base}/clip.bin", digest)}
        assert fill_cache(cache, table) == cache
        assert fill_cache(cache, table) == cache  # already there and right: no second request
    assert hits == ["/clip.bin"]
    assert (cache / "media" / "clip.bin").read_bytes() == (public / "clip.bin").read_bytes()
    assert _leftovers(cache) == ["media/clip.bin"]


def test_a_download_whose_hash_differs_is_deleted_and_is_one_clear_error(tmp_path: Path) -> None:
    public, _ = _small(tmp_path)
    pinned = hashlib.sha256(b"what the pinned commit holds").hexdigest()
    cache = tmp_path / "cache"
    with serve(public) as (base, _hits):
        with pytest.raises(MediaError) as caught:
            fill_cache(cache, {"media/clip.bin": (f"{base}/clip.bin", pinned)})
    message = str(caught.value)
    assert "\n" not in message
    assert f"{base}/clip.bin is not the pinned clip.bin" in message and pinned in message
    assert "deleted the download" in message
    assert _leftovers(cache) == []  # neither the file nor its temporary name is left


def test_a_damaged_cached_file_is_fetched_again(tmp_path: Path) -> None:
    public, digest = _small(tmp_path)
    cache = tmp_path / "cache"
    (cache / "media").mkdir(parents=True)
    (cache / "media" / "clip.bin").write_bytes(b"cut short")
    with serve(public) as (base, hits):
        fill_cache(cache, {"media/clip.bin": (f"{base}/clip.bin", digest)})
    assert hits == ["/clip.bin"]
    assert (cache / "media" / "clip.bin").read_bytes() == (public / "clip.bin").read_bytes()


def test_an_unreachable_source_says_how_to_provide_the_media(tmp_path: Path) -> None:
    public, digest = _small(tmp_path)
    cache = tmp_path / "cache"
    with serve(public) as (base, _hits):
        with pytest.raises(MediaError) as caught:
            fill_cache(cache, {"media/clip.bin": (f"{base}/gone.bin", digest)})
    assert f"cannot download {base}/gone.bin" in str(caught.value) and "404" in str(caught.value)
    assert "ARFILTER_TEST_MEDIA" in str(caught.value)
    assert _leftovers(cache) == []


def test_the_base_url_override_serves_every_file_from_a_mirror() -> None:
    moved = sources(FILES, {"ARFILTER_TEST_MEDIA_BASE_URL": "http://mirror/x/"})
    assert moved["media/two_people.jpg"] == ("http://mirror/x/media/two_people.jpg", FILES["media/two_people.jpg"][1])
    assert moved[media.MODEL][0] == "http://mirror/x/models/face_landmarker.task"
    assert sources(FILES, {}) == FILES
    assert all(url.startswith("https://") and len(digest) == 64 for url, digest in FILES.values())


def _clone(tmp_path: Path) -> Path:
    """A checkout with nothing beside it (no ../shared), as a clone from the internet has."""
    repo = tmp_path / "place" / "arfilter"
    repo.mkdir(parents=True)
    return repo


def test_a_clone_without_shared_fills_its_cache_from_the_sources(tmp_path: Path, media_folder: Path) -> None:
    """The whole table, end to end: served from a mirror of the real files, verified, cached once."""
    repo = _clone(tmp_path)
    env = {"ARFILTER_CACHE_DIR": str(tmp_path / "cache")}
    with serve(media_folder) as (base, hits):
        env["ARFILTER_TEST_MEDIA_BASE_URL"] = base
        root = media_root(env, repo=repo)
        assert media_root(env, repo=repo) == root
    assert root == tmp_path / "cache" / "test-media"
    assert sorted(hits) == sorted(f"/{path}" for path in FILES)  # each file once
    assert _leftovers(root) == sorted(FILES)


def test_shared_beside_the_checkout_is_used_and_checked(tmp_path: Path, media_folder: Path) -> None:
    repo = _clone(tmp_path)
    shutil.copytree(media_folder / "models", repo.parent / "shared" / "models")
    with pytest.raises(MediaError) as caught:  # models/ but no media/: named, not downloaded around
        media_root({"ARFILTER_CACHE_DIR": str(tmp_path / "cache")}, repo=repo, opener=_no_network)
    assert "media/" in str(caught.value) and "is missing; copy it there from https://" in str(caught.value)
    shutil.copytree(media_folder / "media", repo.parent / "shared" / "media")
    assert media_root({}, repo=repo, opener=_no_network) == repo.parent / "shared"


def test_arfilter_test_media_wins_and_a_wrong_file_there_is_named(tmp_path: Path, media_folder: Path) -> None:
    repo = _clone(tmp_path)
    named = tmp_path / "mine"
    shutil.copytree(media_folder / "models", named / "models")
    shutil.copytree(media_folder / "media", named / "media")
    env = {"ARFILTER_TEST_MEDIA": str(named)}
    assert media_root(env, repo=repo, opener=_no_network) == named
    (named / "media" / "two_people.jpg").write_bytes(b"not the photo")
    with pytest.raises(MediaError) as caught:
        media_root(env, repo=repo, opener=_no_network)
    assert str(caught.value) == (f"ARFILTER_TEST_MEDIA={named}: media/two_people.jpg is not the pinned file "
                                 f"(SHA-256 differs); replace it with {FILES['media/two_people.jpg'][0]}")
