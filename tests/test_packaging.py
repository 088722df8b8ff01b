"""Packaging: every layer, shader and overlay pack ships in the wheel, and nothing test-only does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from conftest import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def test_every_code_package_is_listed():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "arfilter").rglob("__init__.py")}
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages in pyproject.toml"


@pytest.mark.slow  # pip builds a wheel in a subprocess
def test_the_wheel_holds_every_module_shader_and_pack_file(tmp_path):
    # Built from a copy of the files git knows: a build/ folder left in the checkout would lend the
    # wheel files the package data no longer ships.
    source = tmp_path / "source"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        if (REPO / name).is_file() and not (REPO / name).is_symlink():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    # os.environ, not this process's C environment: a tracker made by an earlier test in this process
    # pointed that at a proxy nothing can use (arfilter/tracking/usage_reports.py), and pip would inherit it.
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
                            capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    wheel = next(tmp_path.glob("arfilter-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {str(p.relative_to(REPO)) for p in (REPO / "arfilter").rglob("*.py")}
    expected |= {"arfilter/shaders/" + p.name for p in (REPO / "shaders").glob("*.py")}
    # Every file of every pack, found by the glob: a new pack folder ships with no pyproject edit.
    expected |= {"arfilter/overlays/" + str(p.relative_to(REPO / "overlays"))
                 for p in (REPO / "overlays").glob("*/*") if p.suffix in (".toml", ".png")}
    expected.add("arfilter/operator/webcontrol.html")
    # The campaign web page's template: every file of it (a page that lost a script is a blank page).
    expected |= {str(p.relative_to(REPO)) for p in (REPO / "arfilter/web/site").rglob("*") if p.is_file()}
    assert len(expected) > 60
    assert not expected - names, f"missing from the wheel: {sorted(expected - names)[:5]}"
    assert not any(name.startswith(("tests/", "benchmarks/")) or "reference" in name for name in names)
