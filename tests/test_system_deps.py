"""tests/system_deps.sh: installs what the tests need through apt-get, or says in one line what to install.

The script runs for real under /bin/sh, with a PATH of stand-in programs in
tmp_path (apt-get, sudo, id, fc-list, Xvfb, xdotool) that record how they were
called, so every branch is exercised without touching this machine's packages.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent / "system_deps.sh"
PACKAGES = "xvfb xdotool chromium fonts-noto-cjk fonts-dejavu-core"


class Machine:
    """A fake system in tmp_path: which programs exist, who we are, what apt-get does."""

    def __init__(self, root: Path) -> None:
        self.bin = root / "bin"
        self.state = root / "state"
        self.bin.mkdir()
        self.state.mkdir()
        self.tmp = root / "tmp"
        self.tmp.mkdir()
        for tool in ("grep", "env", "mktemp", "rm", "cp", "touch"):  # real tools the script and stubs use
            os.symlink(shutil.which(tool), self.bin / tool)
        self.chromium = self.bin / "chromium"
        self.stub("fc-list", f'case "$*" in *lang=zh*) [ -f {self.state}/cjk ] && echo "NotoSansCJK.ttc: Noto Sans CJK SC";; '
                             f'*DejaVu*) echo "DejaVuSans.ttf: DejaVu Sans";; esac; exit 0')
        self.uid(0)

    def stub(self, name: str, body: str) -> None:
        path = self.bin / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)

    def uid(self, number: int) -> None:
        self.stub("id", f"echo {number}")

    def everything(self) -> "Machine":
        for name in ("Xvfb", "xdotool", "chromium"):
            self.stub(name, "exit 0")
        (self.state / "cjk").touch()
        return self

    def apt(self, mode: str) -> None:
        """ok: install works; stale: install works only after update; broken: always fails."""
        log = self.state / "apt.log"
        works = {"ok": "true", "stale": f"[ -f {self.state}/updated ]", "broken": "false"}[mode]
        self.stub("apt-get", f'echo "$DEBIAN_FRONTEND $*" >> {log}\n'
                             f'case "$*" in *update*) touch {self.state}/updated; exit 0;; esac\n'
                             f'if {works}; then touch {self.state}/cjk; exit 0; fi\nexit 100')

    def calls(self, name: str = "apt.log") -> list[str]:
        path = self.state / name
        return path.read_text().splitlines() if path.exists() else []

    def run(self) -> subprocess.CompletedProcess:
        env = {"PATH": str(self.bin), "ARFILTER_CHROMIUM": str(self.chromium), "TMPDIR": str(self.tmp)}
        return subprocess.run(["/bin/sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    return Machine(tmp_path)


def test_nothing_missing_installs_nothing(machine: Machine) -> None:
    machine.everything().apt("ok")
    result = machine.run()
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert machine.calls() == []


def test_a_missing_cjk_font_is_installed_as_root_without_an_update(machine: Machine) -> None:
    machine.everything().apt("ok")
    (machine.state / "cjk").unlink()
    result = machine.run()
    assert result.returncode == 0, result.stderr
    assert machine.calls() == [f"noninteractive -q install -y {PACKAGES}"]
    assert result.stderr == f"make test: installing {PACKAGES} (missing: a CJK font)\n"
    assert list(machine.tmp.iterdir()) == []  # the apt log is removed on success


def test_stale_package_lists_are_updated_once_the_first_install_fails(machine: Machine) -> None:
    machine.everything().apt("stale")
    (machine.state / "cjk").unlink()
    result = machine.run()
    assert result.returncode == 0, result.stderr
    assert machine.calls() == [f"noninteractive -q install -y {PACKAGES}", "noninteractive -q update",
                               f"noninteractive -q install -y {PACKAGES}"]


def test_not_root_goes_through_sudo(machine: Machine) -> None:
    machine.everything().apt("ok")
    (machine.bin / "xdotool").unlink()
    machine.uid(1000)
    machine.stub("sudo", f'echo "$*" >> {machine.state}/sudo.log\nexec "$@"')
    machine.stub("apt-get", f'case "$*" in *install*) cp {machine.bin}/Xvfb {machine.bin}/xdotool;; esac')
    result = machine.run()
    assert result.returncode == 0, result.stderr
    assert machine.calls("sudo.log") == [f"env DEBIAN_FRONTEND=noninteractive apt-get -q install -y {PACKAGES}"]
    assert "missing: xdotool" in result.stderr


@pytest.mark.parametrize(("setup", "needles"), [
    ("no apt", ["missing Xvfb, Chromium", f"sudo apt-get install {PACKAGES}", "Linux"]),
    ("no sudo", ["missing Xvfb, Chromium", f"as root, apt-get install {PACKAGES}"]),
    ("apt fails", ["missing Xvfb, Chromium", f"sudo apt-get install {PACKAGES}", "apt-get failed", "arfilter-apt."]),
    ("still missing", ["missing Xvfb", "still missing"]),
])
def test_what_cannot_be_installed_is_one_line_saying_what_to_install(machine: Machine, setup: str,
                                                                       needles: list[str]) -> None:
    machine.everything()
    (machine.bin / "Xvfb").unlink()
    machine.chromium.unlink()
    if setup == "no sudo":
        machine.apt("ok")
        machine.uid(1000)
    elif setup == "apt fails":
        machine.apt("broken")
    elif setup == "still missing":
        machine.apt("ok")  # "installs" only the font stand-in, so Xvfb stays missing
    result = machine.run()
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if not line.startswith("make test: installing")]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    if setup == "no sudo":
        assert machine.calls() == []
