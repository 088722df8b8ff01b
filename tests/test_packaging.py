"""Packaging: every overlay pack and shader ships in the wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from conftest import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def test_every_overlay_pack_is_listed_as_a_package():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    packs = {p.parent.name for p in (REPO / "overlays").glob("*/overlay.toml")}
    listed = {name.split(".")[-1] for name in config["packages"] if name.startswith("arfilter.overlays.")}
    assert packs == listed, "add new pack folders to [tool.setuptools] packages and package-data"
    for pack in packs:
        assert f"arfilter.overlays.{pack}" in config["package-data"]


def test_the_wheel_holds_the_package_shaders_and_overlays(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                             "-w", str(tmp_path), str(REPO)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    wheel = next(tmp_path.glob("arfilter-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("arfilter/cli.py", "arfilter/shaders/multiply.py", "arfilter/shaders/normal.py",
                     "arfilter/overlays/black_eye_left/overlay.toml", "arfilter/overlays/black_eye_left/bruise.png",
                     "arfilter/webcontrol.html"):
        assert expected in names
    assert not any(name.startswith(("tests/", "benchmarks/")) for name in names)
