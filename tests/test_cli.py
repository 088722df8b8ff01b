"""The command line: real files in, real files out, and one clear line for every bad input."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest

from arfilter.cli.main import main

pytestmark = pytest.mark.slow  # the real command in child processes


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


@pytest.mark.parametrize("args, needles, code", [
    (["apply", "{tmp}/missing.mp4", "-o", "{tmp}/out.mp4"], ["{tmp}/missing.mp4", "no such file"], 2),
    (["apply", "{tmp}/not_a_video.mp4", "-o", "{tmp}/out.mp4"], ["not_a_video.mp4"], 2),
    (["apply", "{tmp}/not_an_image.jpg", "-o", "{tmp}/out.png"], ["not_an_image.jpg"], 2),
    (["apply", "{media}/portrait_720p.jpg", "-o", "{tmp}/out.png", "--overlay", "nope"], ["overlay nope", "black_eye_left"], 2),
    (["apply", "{media}/portrait_720p.jpg", "-o", "{tmp}/out.mp4"], ["out.mp4", "image"], 2),
    (["apply", "{media}/portrait_720p.jpg", "-o", "{tmp}/out.png", "--model", "{tmp}/bad.task"], ["bad.task", "checksum"], 2),
    (["run", "--source", "{tmp}/nothing_here", "--sink", "null"], ["nothing_here"], 2),
    (["run", "--source", "{media}/portrait_720p.jpg", "--sink", "{tmp}/x.xyz"], ["x.xyz", "virtualcam"], 2),
    (["run", "--source", "7", "--sink", "null"], ["camera 7"], 3),
    (["run", "--source", "{media}/portrait_720p.jpg", "--sink", "virtualcam"], ["v4l2loopback", "--fallback preview"], 3),
    (["demo", "--face", "{tmp}/not_an_image.jpg", "-o", "{tmp}/d.mp4"], ["not_an_image.jpg"], 2),
])
def test_bad_input_gets_one_clear_line(args, needles, code, shared_media, tmp_path, user_env):
    """One line naming the input, and the exit code of the contract: 2 bad input, 3 a device unavailable."""
    (tmp_path / "not_a_video.mp4").write_bytes(os.urandom(4096))
    (tmp_path / "not_an_image.jpg").write_text("hello")
    (tmp_path / "bad.task").write_bytes(b"PK\x03\x04 not the model")
    fill = {"tmp": str(tmp_path), "media": str(shared_media)}
    result = arfilter(*[a.format(**fill) for a in args], env=user_env, timeout=120)
    assert_one_line_error(result, *[n.format(**fill) for n in needles])
    assert result.returncode == code, result.stderr


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


def test_run_to_a_preview_window_on_a_real_display(shared_media, tmp_path, user_env, private_display):
    env = dict(user_env, DISPLAY=private_display)
    stats_path = tmp_path / "window.json"
    result = arfilter("run", "--source", str(shared_media / "grimace_green_512.mp4"), "--sink", "window",
                      "--stats-json", str(stats_path), env=env)
    assert result.returncode == 0, result.stderr
    assert "QFontDatabase" not in result.stderr
    assert json.loads(stats_path.read_text())["frames"] == 78


def test_virtual_camera_falls_back_to_the_preview_when_asked(shared_media, tmp_path, user_env, private_display):
    env = dict(user_env, DISPLAY=private_display)
    result = arfilter("run", "--source", str(shared_media / "grimace_green_512.mp4"), "--fallback", "preview", env=env)
    assert result.returncode == 0, result.stderr
    assert "v4l2loopback" in result.stderr and "showing a preview window instead" in result.stderr


# --- looks and authoring tools ---------------------------------------------------

def test_live_keys_switch_looks_and_intensity_in_a_real_preview_window(shared_media, user_env, private_display, xdotool):
    env = dict(user_env, DISPLAY=private_display)
    process = subprocess.Popen([sys.executable, "-m", "arfilter", "run", "--source", str(shared_media / "talking_woman_512.mp4"),
                                "--sink", "window"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        window = subprocess.run([xdotool, "search", "--sync", "--name", "^arfilter$"], env=env, capture_output=True,
                                text=True, timeout=60).stdout.split()[0]
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stderr], daemon=True)
        reader.start()
        said: list[str] = []
        # One key at a time, each after the previous one's answer: the window reads one key per frame,
        # and two keys that arrive while a frame is busy would reach it as one (the test is about keys
        # doing their job, not about typing speed).
        for key in ("n", "n", "plus", "p", "minus", "minus"):
            subprocess.run([xdotool, "key", "--window", window, key], env=env, check=True, timeout=10)
            while True:
                said.append(lines.get(timeout=30))
                if said[-1].startswith("arfilter: look: "):
                    break
        subprocess.run([xdotool, "key", "--window", window, "q"], env=env, check=True, timeout=10)
        process.wait(timeout=60)
        reader.join(timeout=10)
        stderr = "".join(said) + "".join(lines.queue)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    looks = [line.removeprefix("arfilter: look: ").strip() for line in stderr.splitlines()
             if line.startswith("arfilter: look: ")]
    assert looks == ["Black eye (right) (intensity 1.0)", "Cheek bruise (intensity 1.0)", "Cheek bruise (intensity 1.1)",
                     "Black eye (right) (intensity 1.1)", "Black eye (right) (intensity 1.0)",
                     "Black eye (right) (intensity 0.9)"], stderr


def test_template_writes_the_uv_layout(tmp_path, user_env):
    out = tmp_path / "template.png"
    result = arfilter("template", "-o", str(out), "--size", "512", env=user_env)
    assert result.returncode == 0, result.stderr
    image = cv2.imread(str(out))
    assert image.shape == (512, 512, 3) and (image < 200).any() and (image == 255).all(axis=2).mean() > 0.3


def test_unwrap_then_apply_puts_the_painted_face_back(shared_media, tmp_path, user_env):
    """A designer's round trip through the CLI: unwrap, paint, pack, apply."""
    texture = tmp_path / "pack" / "face_uv.png"
    texture.parent.mkdir()
    result = arfilter("unwrap", str(shared_media / "portrait_720p.jpg"), "-o", str(texture), "--size", "512", env=user_env)
    assert result.returncode == 0, result.stderr
    uv = cv2.imread(str(texture), cv2.IMREAD_UNCHANGED)
    assert uv.shape == (512, 512, 4) and 0.3 < (uv[:, :, 3] > 0).mean() < 0.9
    uv[:, :, :3] = 255 - uv[:, :, :3]  # "paint": invert the skin, so the result is unmistakable
    cv2.imwrite(str(texture), uv)
    (texture.parent / "overlay.toml").write_text('[[layers]]\ntexture = "face_uv.png"\n')
    out = tmp_path / "applied.png"
    result = arfilter("apply", str(shared_media / "portrait_720p.jpg"), "-o", str(out), "--overlay",
                      str(texture.parent), env=user_env)
    assert result.returncode == 0, result.stderr
    original, applied = cv2.imread(str(shared_media / "portrait_720p.jpg")), cv2.imread(str(out))
    inverted = np.abs(applied.astype(int) + original - 255).max(axis=2) < 40  # painted pixels match 255 - skin
    assert inverted.sum() > 10_000


def test_unwrap_a_photo_without_a_face_is_one_clear_line(tmp_path, user_env):
    blank = tmp_path / "wall.png"
    cv2.imwrite(str(blank), np.full((480, 640, 3), 128, np.uint8))
    assert_one_line_error(arfilter("unwrap", str(blank), "-o", str(tmp_path / "x.png"), env=user_env),
                          "wall.png", "no face found")
    assert_one_line_error(arfilter("unwrap", str(blank), "-o", str(tmp_path / "x.jpg"), env=user_env),
                          "x.jpg", ".png")


def test_validate_passes_every_builtin_pack(user_env):
    result = arfilter("validate", env=user_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("ok ") >= 11 and "BROKEN" not in result.stdout


def test_validate_lists_every_problem_of_a_broken_pack(tmp_path, user_env):
    folder = tmp_path / "broken"
    folder.mkdir()
    cv2.imwrite(str(folder / "flat.png"), np.zeros((100, 200, 3), np.uint8))
    (folder / "overlay.toml").write_text('title = 5\n[[layers]]\ntexture = "flat.png"\nopacity = 2\n'
                                         '[[layers]]\ntexture = "gone.png"\nshader = "bruise"\nparams = { age = 99 }\n')
    result = arfilter("validate", str(folder), "black_eye_left", env=user_env)
    assert result.stdout.splitlines()[0] == f"BROKEN  {folder}: 5 problem(s)"
    for needle in ("title: must be a string", "layer 1 opacity: must be a number from 0 to 1, not 2",
                   "layer 1 texture 'flat.png': is 200x100; face textures must be square",
                   "layer 2 params: age must be from 0 to 14, not 99", "layer 2 texture 'gone.png': texture file not found"):
        assert needle in result.stdout, result.stdout
    assert "ok      black_eye_left" in result.stdout
    assert result.returncode == 1  # the contract: a check found problems
    assert "1 of 2 pack(s) have problems" in result.stderr and "Traceback" not in result.stderr


def test_gallery_shows_every_look_on_every_face(shared_media, tmp_path, user_env):
    out = tmp_path / "gallery.png"
    result = arfilter("gallery", "-o", str(out), "--face", str(shared_media / "two_people.jpg"), "--face",
                      str(shared_media / "portrait_720p.jpg"), "--looks", "black_eye_left,purple_ribbon", "--cell", "128",
                      env=user_env)
    assert result.returncode == 0, result.stderr
    image = cv2.imread(str(out))
    assert image.shape == (34 + 3 * 128, 3 * 128, 3)
    cells = image[34:].reshape(3, 128, 3, 128, 3).transpose(0, 2, 1, 3, 4)
    for row in cells:
        assert changed_cells(row[0], row[1]) and changed_cells(row[0], row[2]) and changed_cells(row[1], row[2])


def changed_cells(a: np.ndarray, b: np.ndarray) -> bool:
    return np.any(a != b, axis=2).sum() > 30


# --- steadiness -------------------------------------------------------------------

def test_landmarks_out_records_every_frame_and_smoothing_steadies_them(shared_media, tmp_path, user_env):
    clip = shared_media / "grimace_green_512.mp4"
    motion = {}
    for smoothing in ("on", "off"):
        out = tmp_path / f"landmarks_{smoothing}.npz"
        result = arfilter("apply", str(clip), "-o", str(tmp_path / f"out_{smoothing}.mp4"), "--landmarks-out", str(out),
                          "--smoothing", smoothing, env=user_env)
        assert result.returncode == 0, result.stderr
        data = np.load(out)
        assert len(data["timestamps"]) == 78 and np.all(np.diff(data["timestamps"]) > 0)
        assert list(data["frame_size"]) == [512, 512]
        assert data["landmarks"].shape == (len(data["face_id"]), 478, 3) and len(data["face_id"]) >= 70
        assert set(data["face_id"].tolist()) == {0} and np.all(data["opacity"] > 0)
        assert np.all(data["face_frame"][1:] >= data["face_frame"][:-1])
        upper = data["landmarks"][:, [10, 151, 9, 8, 168, 6, 197, 133, 362, 33, 263], :2]
        motion[smoothing] = np.linalg.norm(np.diff(upper, axis=0), axis=2).mean()
    assert motion["on"] < 0.8 * motion["off"], motion


@pytest.mark.parametrize("path, needle", [("{tmp}/marks.txt", ".npz"), ("{tmp}/missing/marks.npz", "does not exist")])
def test_bad_landmarks_out_is_one_clear_line(shared_media, tmp_path, user_env, path, needle):
    result = arfilter("apply", str(shared_media / "portrait_720p.jpg"), "-o", str(tmp_path / "o.png"),
                      "--landmarks-out", path.format(tmp=tmp_path), env=user_env)
    assert_one_line_error(result, "--landmarks-out", needle)
