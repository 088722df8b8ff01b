"""MediaPipe's web runtime for the campaign page: ``@mediapipe/tasks-vision``, pinned by version and by
the npm registry's own SHA-512 (``dist.integrity``), fetched once into the user cache like the face model.

Found in this order: ``--runtime FILE.tgz``, ``$ARFILTER_WEB_RUNTIME``, the cached tarball, a download
from the npm registry into the cache (``tracking.model.download_verified``: the same atomic, checked
download as the model). A file the user names is checked against the same integrity and never changed.

Only three files of the tarball go into a site: the ES module and the SIMD WebAssembly build with its
loader (13.5 MB). The no-SIMD build would add 12 MB and put the site over its 20 MB floor; every current
browser has WebAssembly SIMD (Chrome 91+, Firefox 89+, Safari 16.4+).
"""

from __future__ import annotations

import base64
import os
import sys
import tarfile
import urllib.request
from pathlib import Path
from typing import Mapping, TextIO

from arfilter.core.errors import ArfilterError
from arfilter.core.outputs import write_bytes
from arfilter.core.paths import user_cache_dir
from arfilter.tracking.model import DOWNLOAD_TIMEOUT, Fetched, NetworkError, Opener, download_verified, file_digest

RUNTIME_PACKAGE = "@mediapipe/tasks-vision"
RUNTIME_VERSION = "1.1.0"
RUNTIME_FILENAME = f"tasks-vision-{RUNTIME_VERSION}.tgz"
RUNTIME_URL = f"https://registry.npmjs.org/{RUNTIME_PACKAGE}/-/{RUNTIME_FILENAME}"
#: The registry's ``dist.integrity`` for that version (Subresource Integrity form).
RUNTIME_INTEGRITY = "sha512-ZJqh0wMKOINorfSffvDAxzyO1//c+FiG3IkzOdNDnLqvBB3DbMfj0bB/tys2SNf9S914sgoIbIpF4HTOi336cg=="
RUNTIME_SHA512 = base64.b64decode(RUNTIME_INTEGRITY.split("-", 1)[1]).hex()
RUNTIME_ENV = "ARFILTER_WEB_RUNTIME"

#: tarball member -> where it goes in the site. The page loads the module from ``mediapipe/`` and
#: hands ``mediapipe/wasm`` to FilesetResolver, which picks ``vision_wasm_internal`` (SIMD).
RUNTIME_FILES = {
    "package/vision_bundle.mjs": "mediapipe/vision_bundle.mjs",
    "package/wasm/vision_wasm_internal.js": "mediapipe/wasm/vision_wasm_internal.js",
    "package/wasm/vision_wasm_internal.wasm": "mediapipe/wasm/vision_wasm_internal.wasm",
}
NOTICE_PATH = "mediapipe/NOTICE"
NOTICE = (f"{RUNTIME_PACKAGE} {RUNTIME_VERSION} (MediaPipe Tasks Vision), by Google LLC.\n"
          "Licensed under the Apache License, Version 2.0: https://www.apache.org/licenses/LICENSE-2.0\n"
          f"Unmodified files from {RUNTIME_URL} ({RUNTIME_INTEGRITY}):\n"
          + "".join(f"  {member.removeprefix('package/')}\n" for member in RUNTIME_FILES))
_MAX_MEMBER_BYTES = 32 * 1024 * 1024  # the wasm is 13 MB; anything larger is not this package

RUNTIME = Fetched(label="MediaPipe's web runtime", description=f"{RUNTIME_PACKAGE} {RUNTIME_VERSION}",
                  filename=RUNTIME_FILENAME, algorithm="sha512",
                  instead=f"download it yourself and give it with --runtime {RUNTIME_FILENAME}")


def _offline_hint(cache_path: Path) -> str:
    return (f"download {RUNTIME_URL} on a machine that can, then give it with --runtime {RUNTIME_FILENAME} "
            f"(or ${RUNTIME_ENV}), or save it as {cache_path}")


def _check_named(path: Path, source: str) -> Path:
    """A tarball the user named, if it is the pinned one; it is never changed."""
    if not path.is_file():
        why = "is a folder" if path.is_dir() else "no such file"
        raise ArfilterError(f"{source}: {why}; give the {RUNTIME_FILENAME} file downloaded from {RUNTIME_URL}")
    try:
        digest = file_digest(path, "sha512")
    except OSError as exc:
        raise ArfilterError(f"{source}: cannot be read ({exc.strerror or exc})") from None
    if digest != RUNTIME_SHA512:
        raise ArfilterError(f"{source}: is not {RUNTIME_PACKAGE} {RUNTIME_VERSION} (its SHA-512 does not match the "
                            f"npm registry's); download {RUNTIME_URL} again")
    return path


def _cached(cache_path: Path, progress: TextIO | None) -> bool:
    """Whether the cache holds the pinned tarball; a damaged copy is ours, so it is deleted (and said)."""
    if not cache_path.is_file():
        return False
    try:
        if file_digest(cache_path, "sha512") == RUNTIME_SHA512:
            return True
        cache_path.unlink()
    except OSError as exc:
        raise ArfilterError(f"cached {cache_path}: cannot be read or deleted ({exc.strerror or exc}); delete it "
                            "by hand, or set ARFILTER_CACHE_DIR to another folder") from None
    if progress is not None:
        progress.write(f"arfilter: the cached {cache_path} was damaged (checksum mismatch); deleted it, "
                       "downloading it again\n")
    return False


def resolve_runtime(explicit: str | Path | None = None, *, env: Mapping[str, str] = os.environ,
                    progress: TextIO | None = sys.stderr, opener: Opener = urllib.request.urlopen,
                    timeout: float = DOWNLOAD_TIMEOUT) -> Path:
    """The verified runtime tarball: ``--runtime``, ``$ARFILTER_WEB_RUNTIME``, the cache, or a download
    into the cache. Every failure is one ``ArfilterError`` line (exit 2, like the face model's download)."""
    if explicit:
        return _check_named(Path(os.path.expanduser(str(explicit))), f"--runtime {explicit}")
    if env.get(RUNTIME_ENV):
        return _check_named(Path(os.path.expanduser(env[RUNTIME_ENV])), f"{RUNTIME_ENV}={env[RUNTIME_ENV]}")
    cache_path = user_cache_dir(env=env) / RUNTIME_FILENAME
    if _cached(cache_path, progress):
        return cache_path
    try:
        download_verified(RUNTIME_URL, cache_path, RUNTIME_SHA512, progress, opener, timeout, RUNTIME)
    except NetworkError as exc:
        raise ArfilterError(f"MediaPipe's web runtime is not cached yet and could not be downloaded ({exc}); "
                            f"{_offline_hint(cache_path)}") from None
    return cache_path


def write_runtime(site: Path, tarball: Path) -> list[Path]:
    """Copy the runtime's three files (and its NOTICE) from a verified tarball into ``site``."""
    written = []
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            for member_name, target in RUNTIME_FILES.items():
                member = archive.getmember(member_name)
                handle = archive.extractfile(member) if member.isfile() else None
                if handle is None or member.size > _MAX_MEMBER_BYTES:
                    raise KeyError(member_name)
                path = site / target
                path.parent.mkdir(parents=True, exist_ok=True)
                write_bytes(path, handle.read(), "site")
                written.append(path)
    except (KeyError, tarfile.TarError, OSError) as exc:  # the integrity matched, so only a disk can fail here
        raise ArfilterError(f"{tarball}: the runtime's files cannot be read from it ({exc}); delete it and build "
                            "again") from None
    notice = site / NOTICE_PATH
    write_bytes(notice, NOTICE.encode("utf-8"), "site")
    return [*written, notice]
