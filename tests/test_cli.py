"""The command line: real files in, real files out, and one clear line for every bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from arfilter.cli import main


def arfilter(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real command in a child process, as a user would."""
    return subprocess.run([sys.executable, "-m", "arfilter", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL)


@pytest.fixture
def user_env(model_path, tmp_path):
    """A user's environment: the shared model, an empty cache in a temporary home."""
    env = dict(os.environ)
    env.update(ARFILTER_MODEL=str(model_path), ARFILTER_CACHE_DIR=str(tmp_path / "cache"), HOME=str(tmp_path / "home"))
    return env


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("arfilter: error:")]
    assert len(lines) == 1, result.stderr
    noise = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("arfilter: ")]
    assert not noise, f"library chatter reached the user: {noise}"
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_apply_on_a_photo_writes_a_painted_image_of_the_same_size(shared_media, tmp_path, user_env):
    out = tmp_path / "painted.png"
    stats_path = tmp_path / "stats.json"
    result = arfilter("apply", str(shared_media / "portrait_720p.jpg"), "-o", str(out), "--stats-json", str(stats_path),
                      env=user_env)
    assert result.returncode == 0, result.stderr
    original = cv2.imread(str(shared_media / "portrait_720p.jpg"))
    painted = cv2.imread(str(out))
    assert painted.shape == original.shape
    assert 500 < np.any(painted != original, axis=2).sum() < 0.05 * original.shape[0] * original.shape[1]
    stats = json.loads(stats_path.read_text())
    assert stats["frames"] == 1 and stats["frames_with_face"] == 1 and stats["faces_drawn"] == 1
    for stage in ("capture", "track", "render", "sink"):
        assert stats["stages"][stage]["median_ms"] >= 0 and stats["stages"][stage]["p95_ms"] >= stats["stages"][stage]["median_ms"]


def test_apply_on_a_video_is_deterministic_and_keeps_every_frame(shared_media, tmp_path, user_env):
    clip = shared_media / "grimace_green_512.mp4"
    outputs = []
    for name in ("a.avi", "b.avi"):
        out = tmp_path / name
        result = arfilter("apply", str(clip), "-o", str(out), env=user_env)
        assert result.returncode == 0, result.stderr
        outputs.append(out)
    frames = []
    for out in outputs:
        capture = cv2.VideoCapture(str(out))
        video = []
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            video.append(frame)
        capture.release()
        frames.append(np.stack(video))
    assert len(frames[0]) == 78 and frames[0].shape[1:] == (512, 512, 3)
    np.testing.assert_array_equal(frames[0], frames[1])


def test_demo_writes_a_before_after_video_and_prints_throughput(tmp_path, user_env):
    out = tmp_path / "demo.mp4"
    result = arfilter("demo", "-o", str(out), "--frames", "20", env=user_env)
    assert result.returncode == 0, result.stderr
    assert "throughput" in result.stdout and "fps" in result.stdout
    capture = cv2.VideoCapture(str(out))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 20
    assert (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (1280, 480)
    ok, frame = capture.read()
    capture.release()
    before, after = frame[:, :640].astype(int), frame[:, 640:].astype(int)
    assert np.abs(before - after).max() > 60, "the right half must show the overlay"


def test_overlays_lists_the_built_in_pack(user_env):
    result = arfilter("overlays", env=user_env)
    assert result.returncode == 0 and "black_eye_left" in result.stdout


def test_run_from_a_file_to_a_file(shared_media, tmp_path, user_env):
    out = tmp_path / "live.avi"
    stats_path = tmp_path / "run.json"
    result = arfilter("run", "--source", str(shared_media / "grimace_green_512.mp4"), "--sink", str(out),
                      "--stats-json", str(stats_path), "--mirror", env=user_env)
    assert result.returncode == 0, result.stderr
    stats = json.loads(stats_path.read_text())
    assert stats["frames"] == 78 and stats["frames_with_face"] >= 70


@pytest.mark.parametrize("args, needles", [
    (["apply", "{tmp}/missing.mp4", "-o", "{tmp}/out.mp4"], ["{tmp}/missing.mp4", "no such file"]),
    (["apply", "{tmp}/not_a_video.mp4", "-o", "{tmp}/out.mp4"], ["not_a_video.mp4"]),
    (["apply", "{tmp}/not_an_image.jpg", "-o", "{tmp}/out.png"], ["not_an_image.jpg"]),
    (["apply", "{media}/portrait_720p.jpg", "-o", "{tmp}/out.png", "--overlay", "nope"], ["overlay nope", "black_eye_left"]),
    (["apply", "{media}/portrait_720p.jpg", "-o", "{tmp}/out.mp4"], ["out.mp4", "image"]),
    (["apply", "{media}/portrait_720p.jpg", "-o", "{tmp}/out.png", "--model", "{tmp}/bad.task"], ["bad.task", "checksum"]),
    (["run", "--source", "{tmp}/nothing_here", "--sink", "null"], ["nothing_here"]),
    (["run", "--source", "{media}/portrait_720p.jpg", "--sink", "{tmp}/x.xyz"], ["x.xyz", "virtualcam"]),
    (["run", "--source", "7", "--sink", "null"], ["camera 7"]),
    (["run", "--source", "{media}/portrait_720p.jpg", "--sink", "virtualcam"], ["v4l2loopback", "--fallback preview"]),
    (["demo", "--face", "{tmp}/not_an_image.jpg", "-o", "{tmp}/d.mp4"], ["not_an_image.jpg"]),
])
def test_bad_input_gets_one_clear_line(args, needles, shared_media, tmp_path, user_env):
    (tmp_path / "not_a_video.mp4").write_bytes(os.urandom(4096))
    (tmp_path / "not_an_image.jpg").write_text("hello")
    (tmp_path / "bad.task").write_bytes(b"PK\x03\x04 not the model")
    fill = {"tmp": str(tmp_path), "media": str(shared_media)}
    result = arfilter(*[a.format(**fill) for a in args], env=user_env, timeout=120)
    assert_one_line_error(result, *[n.format(**fill) for n in needles])


def test_offline_without_a_model_names_the_url_and_the_cache(tmp_path, user_env, shared_media):
    env = dict(user_env)
    env.pop("ARFILTER_MODEL")
    result = arfilter("apply", str(shared_media / "portrait_720p.jpg"), "-o", str(tmp_path / "o.png"), env=env, timeout=120)
    assert_one_line_error(result, "https://storage.googleapis.com/mediapipe-models/face_landmarker", str(tmp_path / "cache"))


@pytest.mark.parametrize("args", [["run", "--size", "big"], ["run", "--fps", "0"], ["run", "--max-faces", "99"], ["wat"]])
def test_bad_options_exit_with_usage(args, capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(args)
    assert excinfo.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_run_to_a_preview_window_on_a_real_display(shared_media, tmp_path, user_env, xvfb_display):
    env = dict(user_env, DISPLAY=xvfb_display)
    stats_path = tmp_path / "window.json"
    result = arfilter("run", "--source", str(shared_media / "grimace_green_512.mp4"), "--sink", "window",
                      "--stats-json", str(stats_path), env=env)
    assert result.returncode == 0, result.stderr
    assert "QFontDatabase" not in result.stderr
    assert json.loads(stats_path.read_text())["frames"] == 78


def test_virtual_camera_falls_back_to_the_preview_when_asked(shared_media, tmp_path, user_env, xvfb_display):
    env = dict(user_env, DISPLAY=xvfb_display)
    result = arfilter("run", "--source", str(shared_media / "grimace_green_512.mp4"), "--fallback", "preview", env=env)
    assert result.returncode == 0, result.stderr
    assert "v4l2loopback" in result.stderr and "showing a preview window instead" in result.stderr
