"""``arfilter apply`` never costs the user a file: the input is refused as the output by any name,
an interrupted or killed run leaves the old output byte for byte, and a finished one is an
H.264 MP4 with the input's sound. The real command, in child processes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest

from test_cli import arfilter, assert_one_line_error
from test_encode import audio_of, top_level_atoms, video_duration

pytestmark = pytest.mark.slow  # the real command in child processes


@pytest.fixture
def user_env(model_path, tmp_path):
    env = dict(os.environ)
    env.update(ARFILTER_MODEL=str(model_path), ARFILTER_CACHE_DIR=str(tmp_path / "cache"), HOME=str(tmp_path / "home"))
    return env


def snapshot(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}


@pytest.mark.parametrize("how", ["same path", "symbolic link", "hard link", "--stats-json", "--landmarks-out"])
def test_apply_refuses_to_write_over_its_input_by_any_name(shared_media, tmp_path, user_env, how):
    clip = tmp_path / "clip.mp4"
    shutil.copyfile(shared_media / "grimace_green_512.mp4", clip)
    output, extra = clip, []
    if how == "symbolic link":
        output = tmp_path / "link.mp4"
        output.symlink_to(clip)
    elif how == "hard link":
        output = tmp_path / "hard.mp4"
        os.link(clip, output)
    elif how.startswith("--"):
        output, extra = tmp_path / "out.mp4", [how, str(clip)]
    before = snapshot(tmp_path)
    result = arfilter("apply", str(clip), "-o", str(output), *extra, env=user_env)
    assert result.returncode == 2
    assert_one_line_error(result, "is the input", "give another")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert snapshot(tmp_path) == before, "the input byte for byte, and no other file"


def start_apply(clip: Path, output: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "arfilter", "apply", str(clip), "-o", str(output)], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_for_frames_on_disk(folder: Path, process: subprocess.Popen, size: int = 64_000) -> Path:
    """The hidden temporary file, once it holds ``size`` bytes of encoded frames."""
    deadline = time.monotonic() + 120  # only a run that never writes waits this out
    while time.monotonic() < deadline and process.poll() is None:
        partial = [path for path in folder.iterdir() if ".partial-" in path.name]
        if partial and partial[0].stat().st_size >= size:
            return partial[0]
        time.sleep(0.02)
    raise AssertionError(f"no temporary file grew to {size} bytes (exit code {process.poll()})")


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_or_stopped_apply_leaves_the_old_output_as_it_was(shared_media, tmp_path, user_env, stop):
    output = tmp_path / "out.mp4"
    output.write_bytes(b"last week's clip, which must survive")
    process = start_apply(shared_media / "talking_woman_512.mp4", output, user_env)
    try:
        partial = wait_for_frames_on_disk(tmp_path, process)
        assert partial.name.startswith("."), "the temporary file is hidden"
    finally:
        process.send_signal(stop)
        _, stderr = process.communicate(timeout=60)
    assert output.read_bytes() == b"last week's clip, which must survive"
    left = sorted(path.name for path in tmp_path.iterdir() if path.is_file())
    if stop == signal.SIGTERM:
        assert process.returncode == 130 and "Traceback" not in stderr, stderr
        assert left == ["out.mp4"], "stopped cleanly: the temporary file removed"
    else:
        assert [name for name in left if not name.startswith(".")] == ["out.mp4"], "no visible stray file"


def test_apply_writes_h264_with_the_inputs_sound_and_replaces_the_old_output(shared_media, tmp_path, user_env):
    """speech_512: MPEG-4 Part 2 video with 16 kHz AAC in; H.264 with the same sound, copied, out."""
    clip, output = shared_media / "speech_512.mp4", tmp_path / "out.mp4"
    output.write_bytes(b"an older result")
    result = arfilter("apply", str(clip), "-o", str(output), env=user_env)
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in tmp_path.iterdir() if path.is_file()) == ["out.mp4"]
    with av.open(str(output)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.name, video.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert (video.width, video.height) == (512, 512) and sum(1 for _ in container.decode(video)) == 200
    atoms = top_level_atoms(output)
    assert atoms.index("moov") < atoms.index("mdat"), "faststart"
    original, rate, original_s, _ = audio_of(clip)
    copied, out_rate, copied_s, codec = audio_of(output)
    assert (codec, out_rate) == ("aac", rate) and np.array_equal(copied, original), "the sound, copied"
    picture_s, frame_s = video_duration(output)
    assert abs(picture_s - copied_s) <= 2 * frame_s and abs(copied_s - original_s) <= 1024 / rate
