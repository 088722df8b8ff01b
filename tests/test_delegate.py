"""--delegate auto|cpu|gpu and [tracking] delegate: where MediaPipe runs the face model.

This machine has no GPU MediaPipe can use (no GPU device node; a software renderer at most), so
the GPU cannot start here: ``auto`` must fall back in one line and track on the CPU, ``gpu`` must
stop with exit code 3 in one line, ``cpu`` must never try. Without a device node the tracker does
not even ask MediaPipe (whose attempt costs half a second of start-up); the ``real_attempt`` fixture
makes it ask, so MediaPipe's own failure is checked too. MediaPipe's GPU success path cannot run here; the
tracker's side of it (keeping a landmarker that started on the GPU) is checked with a CPU
landmarker standing in, and ``benchmarks/bench_delegate.py`` is the check on a GPU machine.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from arfilter.cli.main import main
from arfilter.core.errors import DeviceUnavailable, ExitCode
from arfilter.core.types import Frame
from arfilter.ops.doctor import checks_to_json, format_table, run_checks
from arfilter.ops.doctor_system import Check, System
from arfilter.ops.doctor_tracking import check_tracking
from arfilter.settings.config import check_config
from arfilter.tracking import tracker as tracker_module
from arfilter.tracking.tracker import FaceTracker, TrackerOptions, gpu_reason


@pytest.fixture
def attempts(monkeypatch) -> list[bool]:
    """Every landmarker the tracker creates, True for a GPU one (the real creation still runs)."""
    made: list[bool] = []
    real = tracker_module.create_landmarker

    def recording(model_bytes, options, *, gpu, **kwargs):
        made.append(gpu)
        return real(model_bytes, options, gpu=gpu, **kwargs)

    monkeypatch.setattr(tracker_module, "create_landmarker", recording)
    return made


@pytest.fixture
def real_attempt(monkeypatch) -> None:
    """The tracker asks MediaPipe for the GPU as if this machine had a GPU device node."""
    monkeypatch.setattr(tracker_module, "gpu_device_missing", lambda: None)


def test_without_a_gpu_device_auto_does_not_ask_mediapipe_and_says_why_in_one_line(model_path, portrait,
                                                                                    attempts, monkeypatch):
    monkeypatch.setattr(tracker_module, "GPU_DEVICES", ("/nonexistent/renderD*",))
    lines: list[str] = []
    with FaceTracker(TrackerOptions(model_path, max_faces=1, delegate="auto"), say=lines.append) as tracker:
        assert len(tracker(Frame(portrait, 0.0))) == 1
    assert attempts == [False], "no GPU attempt without a GPU device"
    assert lines == ["tracking on the CPU: the GPU delegate is unavailable (no GPU device node in /dev/dri)"]
    assert tracker_module.gpu_problem(model_path) == "no GPU device node in /dev/dri"
    monkeypatch.setattr(tracker_module, "GPU_DEVICES", (str(model_path),))  # "a device is there": ask MediaPipe
    assert tracker_module.gpu_device_missing() is None


def test_auto_falls_back_to_the_cpu_in_one_line_and_tracks_a_real_face(model_path, portrait, attempts, capfd,
                                                                      real_attempt):
    lines: list[str] = []
    with FaceTracker(TrackerOptions(model_path, max_faces=1, delegate="auto"), say=lines.append) as tracker:
        faces = tracker(Frame(portrait, 0.0))
        assert tracker.delegate == "cpu" and tracker.why_not_gpu
    assert attempts == [True, False], "the GPU is tried first, then the CPU"
    assert len(lines) == 1 and lines[0].startswith("tracking on the CPU: the GPU delegate is unavailable (")
    assert len(lines[0]) < 120
    assert len(faces) == 1 and faces[0].landmarks.shape == (478, 3)
    out, err = capfd.readouterr()
    assert out == "" and err == "", "MediaPipe's native GPU chatter (EGL, stack traces) never reaches the user"


def test_cpu_never_tries_the_gpu(model_path, portrait, attempts):
    lines: list[str] = []
    with FaceTracker(TrackerOptions(model_path, max_faces=1, delegate="cpu"), say=lines.append) as tracker:
        assert len(tracker(Frame(portrait, 0.0))) == 1
        assert tracker.delegate == "cpu" and tracker.why_not_gpu is None
    assert attempts == [False] and lines == []


def test_gpu_that_cannot_start_is_a_device_error(model_path, attempts, real_attempt):
    with pytest.raises(DeviceUnavailable, match=r"^--delegate gpu: the GPU delegate cannot start here \("):
        FaceTracker(TrackerOptions(model_path, max_faces=1, delegate="gpu"))
    assert attempts == [True], "no CPU landmarker is made when the user insisted on the GPU"


def test_a_landmarker_that_starts_on_the_gpu_is_kept(model_path, portrait, monkeypatch):
    """The tracker's half of the GPU success path (MediaPipe's half needs a GPU: bench_delegate.py)."""
    made: list[bool] = []
    real = tracker_module.create_landmarker

    def gpu_that_works(model_bytes, options, *, gpu, **kwargs):
        made.append(gpu)
        return real(model_bytes, options, gpu=False, **kwargs)  # a CPU landmarker standing in for a working GPU one

    monkeypatch.setattr(tracker_module, "create_landmarker", gpu_that_works)
    monkeypatch.setattr(tracker_module, "gpu_device_missing", lambda: None)
    lines: list[str] = []
    with FaceTracker(TrackerOptions(model_path, max_faces=1, delegate="auto"), say=lines.append) as tracker:
        assert tracker.delegate == "gpu" and tracker.why_not_gpu is None
        faces = tracker(Frame(portrait, 0.0))  # ms 0 is the warm-up's: the first frame goes after it
    assert made == [True] and lines == [] and len(faces) == 1


def test_gpu_through_the_cli_is_exit_code_3_and_one_line(model_path, shared_media, tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("ARFILTER_MODEL", str(model_path))
    out = tmp_path / "out.png"
    code = main(["apply", str(shared_media / "portrait_720p.jpg"), "-o", str(out), "--delegate", "gpu"])
    err = capfd.readouterr().err
    assert code == ExitCode.DEVICE_UNAVAILABLE == 3
    assert err.count("\n") == 1 and err.startswith("arfilter: error: --delegate gpu: the GPU delegate cannot start"), err
    assert "--delegate auto" in err and "--delegate cpu" in err, "it says what to do"
    assert not out.exists()


def test_auto_through_the_cli_says_one_line_and_paints_the_face(model_path, shared_media, tmp_path, monkeypatch,
                                                                capfd):
    monkeypatch.setenv("ARFILTER_MODEL", str(model_path))
    source = shared_media / "portrait_720p.jpg"
    assert main(["apply", str(source), "-o", str(tmp_path / "auto.png")]) == 0  # auto is the default
    auto_err = capfd.readouterr().err
    assert main(["apply", str(source), "-o", str(tmp_path / "cpu.png"), "--delegate", "cpu"]) == 0
    cpu_err = capfd.readouterr().err
    gpu_lines = [line for line in auto_err.splitlines() if "GPU" in line]
    assert len(gpu_lines) == 1 and gpu_lines[0].startswith("arfilter: tracking on the CPU:"), auto_err
    assert [line for line in auto_err.splitlines() if not line.startswith("arfilter: ")] == [], auto_err
    assert "GPU" not in cpu_err
    painted = cv2.imread(str(tmp_path / "auto.png"))
    assert np.array_equal(painted, cv2.imread(str(tmp_path / "cpu.png"))), "auto fell back to the very same CPU path"
    assert not np.array_equal(painted, cv2.imread(str(source))), "the face was painted"


def test_gpu_from_the_event_file_names_the_file_and_key(model_path, shared_media, tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("ARFILTER_MODEL", str(model_path))
    event = tmp_path / "event.toml"
    event.write_text(f'source = "{shared_media / "portrait_720p.jpg"}"\nsink = "null"\n'
                     '[tracking]\ndelegate = "gpu"\n', encoding="utf-8")
    assert main(["run", "--config", str(event), "--no-supervise"]) == 3
    err = capfd.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"arfilter: error: {event}: tracking.delegate: the GPU delegate cannot start here ("), err
    assert 'set it to "auto"' in err


def test_the_event_file_key_is_checked_and_a_flag_wins(tmp_path):
    config, problems = check_config({"tracking": {"delegate": "cuda"}}, "event.toml")
    assert config is None
    assert problems == ["event.toml: tracking.delegate: 'cuda' is not one of auto, cpu, gpu"]
    config, problems = check_config({"tracking": {"delegate": "cpu"}}, "event.toml")
    assert problems == [] and config.tracking.delegate == "cpu"
    assert config.origin("tracking.delegate") == "event.toml: tracking.delegate"
    assert check_config({}, "event.toml")[0].tracking.delegate == "auto"

    from arfilter.cli.main import event_config
    from arfilter.cli.parser import build_parser

    event = tmp_path / "event.toml"
    event.write_text('[tracking]\ndelegate = "gpu"\n', encoding="utf-8")
    args = build_parser().parse_args(["run", "--config", str(event), "--delegate", "cpu"])
    config = event_config(args)
    assert config.tracking.delegate == "cpu" and config.origin("tracking.delegate") == "--delegate"


def test_the_flag_refuses_other_names(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["apply", "in.png", "-o", "out.png", "--delegate", "gpus"])
    assert stopped.value.code == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--delegate" in err and "did you mean 'gpu'?" in err


@pytest.mark.parametrize("error, reason", [
    (NotImplementedError("GPU delegate is not yet supported for Windows"), "MediaPipe has no GPU delegate on this system"),
    (RuntimeError('Service "kGpuService", required by node x, was not provided and cannot be created: GPU emulation '
                  "detected, but not supported."), "only a software renderer, no physical GPU"),
    (RuntimeError("INTERNAL: Unable to initialize EGL"), "no EGL display: no GPU driver for OpenGL ES"),
    (RuntimeError("x" * 300 + "\nstack"), "x" * 97 + "..."),
])
def test_gpu_failures_are_said_in_a_few_words(error, reason):
    assert gpu_reason(error) == reason


# --- doctor ------------------------------------------------------------------------------------------

class AnsweringSystem(System):
    """This machine, except that the GPU probe's child process answers ``answer``."""

    def __init__(self, answer: tuple[int, str]) -> None:
        super().__init__()
        self.answer = answer
        self.asked: list[list[str]] = []

    def run(self, argv, timeout: float = 5.0) -> tuple[int, str]:
        if "gpu_problem" in " ".join(argv):
            self.asked.append(list(argv))
            return self.answer
        return super().run(argv, timeout)


MODEL_OK = Check("model", "ok", "fine", "", {"path": "/models/face_landmarker.task"})


@pytest.mark.parametrize("answer, summary", [
    ((0, "gpu\n"), "gpu"),
    ((0, "only a software renderer, no physical GPU\n"), "cpu (GPU delegate unavailable: only a software renderer, "
                                                          "no physical GPU)"),
    ((-11, ""), "cpu (GPU delegate unavailable: the GPU check crashed (signal 11))"),
    ((124, ""), "cpu (GPU delegate unavailable: the GPU check did not finish in time)"),
])
def test_doctor_says_where_tracking_runs(answer, summary):
    system = AnsweringSystem(answer)
    check = check_tracking(system, MODEL_OK)
    assert (check.name, check.status, check.summary) == ("tracking", "ok", summary)
    assert system.asked and system.asked[0][-1] == "/models/face_landmarker.task"
    assert check.details["delegate"] == summary[:3]


def test_doctor_without_a_model_does_not_probe():
    system = AnsweringSystem((0, "gpu\n"))
    check = check_tracking(system, Check("model", "warn", "not downloaded yet"))
    assert check.status == "ok" and check.summary.startswith("cpu (") and system.asked == []


def test_doctor_on_this_machine_shows_the_tracking_row(model_path):
    """The real probe, in a child process: this machine has no GPU MediaPipe can use."""
    checks = run_checks(model=model_path)
    rows = [line for line in format_table(checks).splitlines() if line.startswith("tracking")]
    assert len(rows) == 1 and rows[0].split()[:3] == ["tracking", "OK", "cpu"], rows
    assert "(GPU delegate unavailable: " in rows[0]
    tracking = [check for check in json.loads(checks_to_json(checks))["checks"] if check["name"] == "tracking"]
    assert tracking[0]["status"] == "ok" and tracking[0]["details"]["delegate"] == "cpu"
    assert tracking[0]["details"]["gpu_problem"] in rows[0]
