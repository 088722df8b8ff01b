"""The web page's shared fixtures: one real site built per test session, and one preview server on it.

``built_site``: ``arfilter web build`` run as a user runs it (a subprocess), with every built-in look,
a campaign event file, the real face model (``model_path``: ``$ARFILTER_TEST_MEDIA``) and the real
MediaPipe runtime. The runtime comes from ``$ARFILTER_CACHE_DIR`` if the developer or CI set one
(CI sets a fresh folder: the first build of the session downloads it once), else from a cache folder
made for this session (one 12 MB download). ``runtime_tarball`` is that verified tarball, for tests
that build more sites offline with ``--runtime``.

``site_server``: ``arfilter web serve`` on that site in a subprocess on a free port; the base URL
(``http://127.0.0.1:PORT/``). Session fixtures start before each test's leak check, so the server
is not a process a test left behind; it is stopped (Ctrl+C) when the session ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CAMPAIGN = {"caption": "#NoMoreSilence: violence at home is never private",
            "helpline": "National Domestic Abuse Helpline 0808 2000 247",
            "url": "https://nomoresilence.campaign/try", "title": "No More Silence: try the look"}
BUILD_TIMEOUT = 300


def builtin_looks() -> list[str]:
    """Every look that ships with arfilter, by name, sorted (not the packs a developer installed)."""
    from arfilter.render.packs import builtin_overlays_dir

    return sorted(folder.name for folder in builtin_overlays_dir().iterdir() if (folder / "overlay.toml").is_file())


def arfilter(*args: str, env: dict[str, str], timeout: float = BUILD_TIMEOUT) -> subprocess.CompletedProcess:
    """``arfilter ARGS`` in a subprocess (the installed command's code), its output as text."""
    return subprocess.run([sys.executable, "-m", "arfilter", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=REPO)


@dataclass(frozen=True)
class SiteBuild:
    """The session's build: the site, the event file it was built from, and what the command said."""

    site: Path
    event_file: Path
    looks: tuple[str, ...]
    result: subprocess.CompletedProcess
    cache: Path


@pytest.fixture(scope="session")
def web_env(tmp_path_factory, model_path) -> dict[str, str]:
    """The environment the web commands run in: the test model, a runtime cache, no debug tracebacks."""
    env = {key: value for key, value in os.environ.items() if key not in ("ARFILTER_DEBUG", "ARFILTER_WEB_RUNTIME")}
    env["ARFILTER_MODEL"] = str(model_path)
    env.setdefault("ARFILTER_CACHE_DIR", str(tmp_path_factory.mktemp("web-cache")))
    return env


@pytest.fixture(scope="session")
def site_build(tmp_path_factory, web_env) -> SiteBuild:
    folder = tmp_path_factory.mktemp("web-site")
    event_file = folder / "event.toml"
    event_file.write_text(f'[campaign]\ncaption = "{CAMPAIGN["caption"]}"\nhelpline = "{CAMPAIGN["helpline"]}"\n'
                          f'\n[web]\nurl = "{CAMPAIGN["url"]}"\ntitle = "{CAMPAIGN["title"]}"\n', encoding="utf-8")
    looks = builtin_looks()
    site = folder / "site"
    args = ["web", "build", "-o", str(site), "--config", str(event_file)]
    for name in looks:
        args += ["--overlay", name]
    result = arfilter(*args, env=web_env)
    if result.returncode != 0:
        pytest.fail(f"arfilter web build failed ({result.returncode}): {result.stderr.strip()}", pytrace=False)
    return SiteBuild(site, event_file, tuple(looks), result, Path(web_env["ARFILTER_CACHE_DIR"]))


@pytest.fixture(scope="session")
def built_site(site_build) -> Path:
    """SITE/ as ``arfilter web build`` wrote it: every built-in look, a campaign caption, helpline and URL."""
    return site_build.site


@pytest.fixture(scope="session")
def runtime_tarball(site_build) -> Path:
    """The verified ``tasks-vision-1.1.0.tgz`` the session's build used (for ``--runtime``)."""
    from arfilter.web.runtime import RUNTIME_FILENAME

    return site_build.cache / RUNTIME_FILENAME


def start_server(site: Path, env: dict[str, str], port: int = 0) -> tuple[subprocess.Popen, str]:
    """``arfilter web serve SITE --port PORT`` and the URL it prints (the process is the caller's to stop)."""
    process = subprocess.Popen([sys.executable, "-m", "arfilter", "web", "serve", str(site), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    line = process.stdout.readline()
    if "http://127.0.0.1:" not in line:
        process.kill()
        _out, err = process.communicate(timeout=30)
        pytest.fail(f"arfilter web serve did not start: {line.strip()} {err.strip()}", pytrace=False)
    url = line[line.index("http://"):].split()[0]
    return process, url


def stop_server(process: subprocess.Popen) -> tuple[int, str]:
    """Ctrl+C, as a person stops it; its exit code and what it wrote on stderr."""
    process.send_signal(signal.SIGINT)
    try:
        _out, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _out, err = process.communicate()
    return process.returncode, err


@pytest.fixture(scope="session")
def site_server(built_site, web_env):
    """Base URL (``http://127.0.0.1:PORT/``) of ``arfilter web serve`` on ``built_site``."""
    process, url = start_server(built_site, web_env)
    yield url
    stop_server(process)
