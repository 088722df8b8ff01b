"""core.outputs: outputs are checked before any work and never replace what the user had unless complete."""

from __future__ import annotations

import os

import pytest

from arfilter.core.errors import ArfilterError
from arfilter.core.outputs import check_output, output_problem, replacing, write_bytes


def test_the_input_itself_a_link_to_it_or_a_hard_link_is_refused(tmp_path):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"precious")
    (tmp_path / "soft.mp4").symlink_to(clip)
    os.link(clip, tmp_path / "hard.mp4")
    for name in ("clip.mp4", "soft.mp4", "hard.mp4", "./clip.mp4"):
        problem = output_problem(tmp_path / name, inputs=[clip])
        assert problem and "is the input" in problem, name
    assert output_problem(tmp_path / "other.mp4", inputs=[clip]) is None
    assert clip.read_bytes() == b"precious"


def test_a_folder_a_missing_folder_and_a_read_only_folder_are_named(tmp_path, monkeypatch):
    assert "is a folder" in output_problem(tmp_path)
    assert "does not exist" in output_problem(tmp_path / "nope" / "out.png")
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access  # CI runs as root, whom permissions do not bind: ask as a user would be answered
    monkeypatch.setattr(os, "access", lambda path, mode: False if str(path) == str(locked) else real_access(path, mode))
    assert "not writable" in output_problem(locked / "out.png")
    with pytest.raises(ArfilterError, match=r"^--stats-json .*out.json: the folder"):
        check_output(tmp_path / "gone" / "out.json", "--stats-json")


def test_a_failed_write_leaves_the_old_file_and_no_temporary_behind(tmp_path):
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with replacing(target) as temporary:
            temporary.write_bytes(b"half")
            raise RuntimeError("the encoder failed")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_a_complete_write_replaces_the_file_and_keeps_the_extension(tmp_path):
    target = tmp_path / "out.npz"
    with replacing(target) as temporary:
        assert temporary.parent == tmp_path and temporary.suffix == ".npz" and temporary != target
        temporary.write_bytes(b"new")
    write_bytes(tmp_path / "b.json", b"{}")
    assert target.read_bytes() == b"new" and (tmp_path / "b.json").read_bytes() == b"{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json", "out.npz"]
