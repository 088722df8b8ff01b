"""``arfilter web build``: a real site from the real model and the real MediaPipe runtime, read back;
what it refuses (an event file or look ``arfilter config`` refuses, a folder with the user's files in
it, a damaged runtime, no network) is one line, exit code 2, and nothing is written."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

from arfilter.tracking.model import MODEL_SHA256
from arfilter.web import build
from arfilter.web.runtime import NOTICE_PATH, RUNTIME_FILES, RUNTIME_SHA512
from conftest import CAMPAIGN, REPO, arfilter

pytestmark = pytest.mark.slow  # builds sites in subprocesses (the session's first downloads the runtime)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("arfilter: error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0].removeprefix("arfilter: error: ")


def test_the_site_holds_the_page_the_looks_the_model_and_the_pinned_runtime(site_build, runtime_tarball, model_path):
    site = site_build.site
    for path in (REPO / "arfilter/web/site").rglob("*"):  # the template, as it is
        if path.is_file() and "__pycache__" not in path.parts:
            relative = path.relative_to(REPO / "arfilter/web/site")
            assert (site / relative).read_bytes() == path.read_bytes(), relative
    assert (site / "index.html").is_file()
    # Google's model, entry for entry, without the blendshape network the page never asks for.
    with zipfile.ZipFile(site / "models/face_landmarker.task") as shipped, zipfile.ZipFile(model_path) as original:
        kept = [entry for entry in original.namelist() if entry != "face_blendshapes.tflite"]
        assert shipped.namelist() == kept and len(kept) == 3
        assert all(shipped.read(entry) == original.read(entry) for entry in kept)
    assert sha256(model_path) == MODEL_SHA256
    assert hashlib.sha512(runtime_tarball.read_bytes()).hexdigest() == RUNTIME_SHA512
    with tarfile.open(runtime_tarball) as archive:  # the three runtime files, byte for byte, and only them
        for member, target in RUNTIME_FILES.items():
            assert (site / target).read_bytes() == archive.extractfile(member).read(), target
    assert sorted(p.name for p in (site / "mediapipe").rglob("*") if p.is_file()) == \
        ["NOTICE", "vision_bundle.mjs", "vision_wasm_internal.js", "vision_wasm_internal.wasm"]
    assert "Apache License, Version 2.0" in (site / NOTICE_PATH).read_text()
    assert (site / "mediapipe/wasm/vision_wasm_internal.wasm").read_bytes()[:4] == b"\0asm"
    for name in site_build.looks:
        assert (site / "data/looks" / name).is_dir(), name
    assert {look["name"] for look in json.loads((site / "data/looks.json").read_text())["looks"]} \
        >= set(site_build.looks)


def test_event_json_says_what_the_event_file_says(site_build):
    event = json.loads((site_build.site / "data/event.json").read_text(encoding="utf-8"))
    assert event["title"] == CAMPAIGN["title"] and event["caption"] == CAMPAIGN["caption"]
    assert event["helpline"] == CAMPAIGN["helpline"] and event["url"] == CAMPAIGN["url"]
    assert event["looks"] == list(site_build.looks) and event["look"] == site_build.looks[0]
    assert event["intensity"] == 1.0 and event["help_url"] == ""  # the QR of the panel leads to the page itself


def test_the_size_line_is_the_real_size_and_under_the_floor(site_build):
    files = [p for p in site_build.site.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files) / 1e6
    said = re.search(r"wrote .+ \((\d+) files, ([\d.]+) MB of the 20 MB floor", site_build.result.stderr)
    assert said, site_build.result.stderr
    assert int(said.group(1)) == len(files) and float(said.group(2)) == pytest.approx(size, abs=0.05)
    assert size <= build.SIZE_FLOOR_MB
    listed = json.loads((site_build.site / "data/build.json").read_text())["files"]
    assert listed == {p.relative_to(site_build.site).as_posix(): sha256(p) for p in files
                      if p.name != "build.json"}


def test_over_the_floor_nothing_is_written(tmp_path, monkeypatch, runtime_tarball, model_path):
    monkeypatch.setattr(build, "SIZE_FLOOR_MB", 10.0)
    with pytest.raises(build.ArfilterError, match=r"^-o .*site: the site would be 1\d\.\d MB, over the 10 MB a "
                                                  r"phone should download; nothing was written"):
        build.build_site(tmp_path / "site", overlays=("cheek_bruise",), model=model_path, runtime=runtime_tarball,
                         progress=None)
    assert list(tmp_path.iterdir()) == []


def test_an_unchanged_site_is_rebuilt_and_a_folder_with_the_users_files_is_refused(tmp_path, web_env,
                                                                                   runtime_tarball):
    site = tmp_path / "site"
    args = ["web", "build", "-o", str(site), "--overlay", "cheek_bruise", "--runtime", str(runtime_tarball)]
    assert arfilter(*args, env=web_env).returncode == 0
    first = tree(site)
    again = arfilter(*args[:5], "split_lip", *args[6:], env=web_env)
    assert again.returncode == 0, again.stderr
    assert json.loads((site / "data/event.json").read_text())["looks"] == ["split_lip"]
    (site / "data/notes.txt").write_text("my notes")
    before = tree(site)
    assert one_error_line(arfilter(*args, env=web_env)) == (
        f"-o {site}: data/notes.txt was changed or added after 'arfilter web build' made this site; move it out of "
        "the folder (or give a new folder) so nothing of yours is replaced")
    assert tree(site) == before and first != before
    (site / "data/notes.txt").unlink()
    (site / "index.html").write_text("<p>my own page</p>")
    assert "index.html was changed or added" in one_error_line(arfilter(*args, env=web_env))
    assert (site / "index.html").read_text() == "<p>my own page</p>"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "photo.jpg").write_bytes(b"not the user's to lose")
    assert one_error_line(arfilter(*args[:3], str(mine), *args[4:], env=web_env)) == (
        f"-o {mine}: exists and is not a site 'arfilter web build' made; give a new or empty folder (nothing in it "
        "is replaced)")
    assert tree(mine) == {"photo.jpg": b"not the user's to lose"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "site"], "no partial folder left behind"


@pytest.mark.parametrize("event, flags", [
    ('[looks]\nstart = "black_eye_lft"\n', ()),
    ('[campaign]\nhelpline = "Helpline 0800 123 456 (free, 24/7)"\n', ()),
    ('[campaign]\nqr_url = "https://example.org/help"\n', ()),
    ('[web]\nurl = "https://example.org/try"\n', ()),
    ('[web]\nurl = "http://nomoresilence.campaign/try"\n', ()),
    ('[web]\nurl = "https://nomoresilence.campaign/try"\ncolour = 1\n', ()),
    ('[looks]\nrotation = ["cheek_bruise", "split_lipp"]\n', ()),
    ("", ("--overlay", "split_lipp")),
])
def test_what_config_refuses_build_refuses_in_the_same_words(tmp_path, web_env, runtime_tarball, event, flags):
    event_file = tmp_path / "event.toml"
    event_file.write_text(event, encoding="utf-8")
    checked = arfilter("config", str(event_file), env=web_env)
    site = tmp_path / "site"
    result = arfilter("web", "build", "-o", str(site), "--config", str(event_file), "--runtime",
                      str(runtime_tarball), *flags, env=web_env)
    line = one_error_line(result)
    if flags:  # a flag's look is named by the flag, as run names --overlay
        assert line == ("--overlay split_lipp: no installed look is called 'split_lipp'; did you mean 'split_lip'? "
                        "'arfilter overlays' lists them (or give a folder holding overlay.toml)")
    else:
        assert checked.returncode == 1 and line == checked.stdout.splitlines()[0], (checked.stdout, line)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["event.toml"]


def test_a_damaged_runtime_tarball_is_one_line_and_nothing_is_written(tmp_path, web_env, runtime_tarball):
    damaged = tmp_path / "tasks-vision-1.1.0.tgz"
    data = bytearray(runtime_tarball.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    expected = (f"is not @mediapipe/tasks-vision 1.1.0 (its SHA-512 does not match the npm registry's); download "
                "https://registry.npmjs.org/@mediapipe/tasks-vision/-/tasks-vision-1.1.0.tgz again")
    result = arfilter("web", "build", "-o", str(tmp_path / "site"), "--runtime", str(damaged), env=web_env)
    assert one_error_line(result) == f"--runtime {damaged}: {expected}"
    result = arfilter("web", "build", "-o", str(tmp_path / "site"), env={**web_env, "ARFILTER_WEB_RUNTIME": str(damaged)})
    assert one_error_line(result) == f"ARFILTER_WEB_RUNTIME={damaged}: {expected}"
    assert sorted(p.name for p in tmp_path.iterdir()) == [damaged.name]


def test_offline_without_a_cached_runtime_says_what_to_do(tmp_path, web_env):
    env = {**web_env, "ARFILTER_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "tests" / "no_network"), web_env.get("PYTHONPATH")])),
           "ARFILTER_TEST_NETLOG": str(tmp_path / "net.log")}
    line = one_error_line(arfilter("web", "build", "-o", str(tmp_path / "site"), env=env))
    cache = tmp_path / "cache" / "tasks-vision-1.1.0.tgz"
    assert line.startswith("MediaPipe's web runtime is not cached yet and could not be downloaded (")
    assert line.endswith(f"then give it with --runtime tasks-vision-1.1.0.tgz (or $ARFILTER_WEB_RUNTIME), or save it "
                         f"as {cache}")
    assert "registry.npmjs.org" in (tmp_path / "net.log").read_text()
    assert not (tmp_path / "site").exists() and not cache.exists()
    shutil.rmtree(tmp_path / "cache", ignore_errors=True)
