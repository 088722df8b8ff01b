"""Where the tests' real faces and face model come from: one lookup for every test.

The files are not in the repository (they are other people's pictures and
Google's model), so a folder laid out like ``../shared`` (``models/``,
``media/``) is looked up in this order:

1. ``$ARFILTER_TEST_MEDIA``: a folder the developer names; used as it is;
2. ``../shared`` beside the checkout (CI and the project's machines);
3. a cache, ``$ARFILTER_CACHE_DIR/test-media`` (default: the user cache, as for
   the model), filled once from the files' public sources, pinned by commit
   and SHA-256, so a clone from the internet can run ``make test``.

Every file is checked against its SHA-256 below: a wrong file in a named
folder is one clear error, a wrong file in the cache is ours and is fetched
again, and a download whose hash differs is deleted and is one clear error.
``$ARFILTER_TEST_MEDIA_BASE_URL`` replaces every source by
``<base>/<path>`` (a mirror laid out like ``../shared``).

``python tests/media.py`` fills the cache and prints the folder; ``make test``
runs it before pytest so the one-time download is visible.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any, Callable, Mapping

from arfilter.core.paths import user_cache_dir
from arfilter.tracking.model import MODEL_SHA256, MODEL_URL, sha256_of

REPO = Path(__file__).resolve().parents[1]
MODEL = "models/face_landmarker.task"

_LIVEPORTRAIT = "https://raw.githubusercontent.com/KwaiVGI/LivePortrait/1986663be3b6902605d32200c01f4bfd36cda83d/"
_SADTALKER = "https://raw.githubusercontent.com/OpenTalker/SadTalker/cd4c0465ae0b54a6f85af57f5c65fec9fe23e7f8/"
_FACE_RECOGNITION = "https://raw.githubusercontent.com/ageitgey/face_recognition/2e2dccea9dd0ce730c8d464d0f67c6eebb40c9d1/"

#: path in the folder -> (public source, SHA-256); the same files and digests as ../shared/SHA256SUMS.
FILES: dict[str, tuple[str, str]] = {
    MODEL: (MODEL_URL, MODEL_SHA256),  # the product's own pin: the same file users download
    "media/grimace_green_512.mp4": (_LIVEPORTRAIT + "assets/examples/driving/d0.mp4",
                                    "63f6f9962e1fdf6e6722172e7a18155204858d5d5ce3b1e0646c150360c33bed"),
    "media/webcam_glasses_720x1280.mp4": (_LIVEPORTRAIT + "assets/examples/driving/d13.mp4",
                                          "d03e39c28323cde1c5fc6c5629aa83fe6c834fa7c9ed2dac969e1247eaafdb60"),
    "media/head_turns_480.mp4": (_LIVEPORTRAIT + "assets/examples/driving/d18.mp4",
                                 "1dc94c1fec7ef7dc831c8a49f0e1788ae568812cb68e62f6875d9070f573d02a"),
    "media/talking_woman_512.mp4": (_LIVEPORTRAIT + "assets/examples/driving/d3.mp4",
                                    "ef5c86e49b1b43dcb1449b499eb5a7f0cbae2f78aec08b5598193be1e4257099"),
    "media/glasses_smile_512.mp4": (_LIVEPORTRAIT + "assets/examples/driving/d9.mp4",
                                    "9a414aa1d547be35306d692065a2157434bf40a6025ba8e30ce12e5bb322cc33"),
    "media/speech_512.mp4": (_SADTALKER + "examples/ref_video/WDA_AlexandriaOcasioCortez_000.mp4",
                             "a85242c3fc4d50e2202cea393b9e7ee59019759b68e78e26a254d528c22615a7"),
    "media/portrait_tall.jpg": (_FACE_RECOGNITION + "examples/biden.jpg",
                                "3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c"),
    "media/portrait_720p.jpg": (_FACE_RECOGNITION + "examples/obama-720p.jpg",
                                "4a95b996710ae9cb39971f9ee9001b670c7ab7babe53d39f10483da1d6b31453"),
    "media/stage_speaker_360p.mp4": (_FACE_RECOGNITION + "examples/short_hamilton_clip.mp4",
                                     "0b5ff4c55a4cd69f79956f312681730881fe1e2a9e6146e75c31636dffcc7e28"),
    "media/two_people.jpg": (_FACE_RECOGNITION + "examples/two_people.jpg",
                             "536b29cd513fb618e4d5aa79d51a279948daa804ce359463449cce5f9dc68aa7"),
    "media/partial_face.jpg": (_FACE_RECOGNITION + "tests/test_images/obama_partial_face.jpg",
                               "c2d1f09e7ef3042352b41e41286e6eb0522f64f88308be13886991b95db52117"),
}

#: No test file is near this size; a bigger answer is not ours (stop before it fills the disk).
MAX_BYTES = 64 * 1024 * 1024
TIMEOUT = 60.0

Opener = Callable[..., Any]


class MediaError(Exception):
    """The test media cannot be found or fetched; the message is one line saying what to do."""


def cache_dir(env: Mapping[str, str] = os.environ) -> Path:
    """``$ARFILTER_CACHE_DIR/test-media``, else ``test-media`` in arfilter's per-user cache."""
    return user_cache_dir(env=env) / "test-media"


def sources(files: Mapping[str, tuple[str, str]] = FILES, env: Mapping[str, str] = os.environ) -> dict[str, tuple[str, str]]:
    """The table, with every URL moved under ``$ARFILTER_TEST_MEDIA_BASE_URL`` when that is set."""
    base = env.get("ARFILTER_TEST_MEDIA_BASE_URL")
    if not base:
        return dict(files)
    return {path: (base.rstrip("/") + "/" + path, digest) for path, (_, digest) in files.items()}


def check_folder(root: Path, name: str, files: Mapping[str, tuple[str, str]] = FILES) -> Path:
    """``root`` if it holds every file with the right hash; else one error naming the first bad file."""
    for path, (url, digest) in files.items():
        file = root / path
        if not file.is_file():
            raise MediaError(f"{name}: {path} is missing; copy it there from {url}")
        if sha256_of(file) != digest:
            raise MediaError(f"{name}: {path} is not the pinned file (SHA-256 differs); "
                             f"replace it with {url}")
    return root


def download(url: str, dest: Path, digest: str, opener: Opener = urllib.request.urlopen,
             timeout: float = TIMEOUT) -> None:
    """Fetch ``url`` into ``dest`` only if its SHA-256 is ``digest``.

    Bytes go to a temporary name beside ``dest``, then an atomic rename, so a
    concurrent or interrupted run never sees half a file; anything else
    (a hash mismatch, a network error) deletes the temporary file.
    """
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part", delete=False)
    except OSError as exc:
        raise MediaError(f"cannot write the test-media cache {dest.parent} ({exc}); "
                         "set ARFILTER_CACHE_DIR to a writable folder") from exc
    tmp = Path(handle.name)
    try:
        hasher = hashlib.sha256()
        size = 0
        with handle:
            try:
                with opener(url, timeout=timeout) as response:
                    for chunk in iter(lambda: response.read(1 << 16), b""):
                        size += len(chunk)
                        if size > MAX_BYTES:
                            raise MediaError(f"{url} sent over {MAX_BYTES >> 20} MB, which is not {dest.name}; "
                                             "nothing was saved")
                        hasher.update(chunk)
                        handle.write(chunk)
            except (OSError, http.client.HTTPException) as exc:  # URLError, HTTPError, timeouts, cut-off bodies
                raise MediaError(f"cannot download {url} ({exc}); put the test media in a folder laid out "
                                 "like ../shared and set ARFILTER_TEST_MEDIA to it") from exc
        got = hasher.hexdigest()
        if got != digest:
            raise MediaError(f"{url} is not the pinned {dest.name} (SHA-256 {got}, expected {digest}); "
                             "deleted the download")
        os.chmod(tmp, 0o644)  # a cache others may read, not a private temporary file
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def fill_cache(root: Path, files: Mapping[str, tuple[str, str]], opener: Opener = urllib.request.urlopen,
               say: Callable[[str], None] = lambda line: None) -> Path:
    """Download into ``root`` each file that is missing or damaged (the cache is ours to repair)."""
    for path, (url, digest) in files.items():
        file = root / path
        if file.is_file() and sha256_of(file) == digest:
            continue
        say(f"test media: downloading {path} from {url}")
        download(url, file, digest, opener)
    return root


def media_root(env: Mapping[str, str] = os.environ, *, repo: Path = REPO, opener: Opener = urllib.request.urlopen,
               say: Callable[[str], None] = lambda line: None) -> Path:
    """The folder holding ``models/`` and ``media/``, verified, downloading into the cache once if needed."""
    named = env.get("ARFILTER_TEST_MEDIA")
    if named:
        return check_folder(Path(os.path.expanduser(named)), f"ARFILTER_TEST_MEDIA={named}")
    shared = repo.parent / "shared"
    if (shared / "models").is_dir() or (shared / "media").is_dir():
        return check_folder(shared, str(shared))
    return fill_cache(cache_dir(env), sources(FILES, env), opener, say)


def read_frames(path: Path | str, count: int | None = None) -> list:
    """The first ``count`` frames of a video (every frame when None), as BGR arrays: the one reader
    the tests and benchmarks share."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames = []
    while count is None or len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def main() -> int:
    """Find (and if needed fetch) the test media; print the folder, or one line saying what is wrong."""
    try:
        print(f"test media: {media_root(say=lambda line: print(line, file=sys.stderr, flush=True))}")
    except MediaError as exc:
        print(f"test media: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())


def track_clip(frames: list, model_path: Path | str, max_faces: int = 1) -> list:
    """The product's tracker over ``frames`` as a 30 fps clip (VIDEO mode): a tuple of faces per frame,
    the one loop the tests and benchmarks share."""
    from arfilter.core.types import Frame
    from arfilter.tracking.tracker import FaceTracker, TrackerOptions

    with FaceTracker(TrackerOptions(model_path=Path(model_path), max_faces=max_faces)) as tracker:
        return [tracker(Frame(frame, index / 30.0, index)) for index, frame in enumerate(frames)]
