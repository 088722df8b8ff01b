"""The pre-flight: a file `arfilter config` passes never fails at start for a reason `config` could have known.

Every start-up error case goes through both `arfilter config FILE` (exit 1, the problem listed as
`file: key: reason`) and `arfilter run|kiosk --config FILE` (exit 2, one line naming the file and the key),
and the run must stop before anything opens: the tracker, the camera, the sink and the control panel
are replaced by traps that fail the test if reached.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from arfilter.cli.main import main
from arfilter.settings.config import EXAMPLE, load_config
from arfilter.settings.preflight import preflight_problems

PUA = "\\U0010FFFD"  # a private-use character no font draws (TOML escape)


class Opened(AssertionError):
    """A device, the model or a socket was reached although the pre-flight should have stopped the start."""


@pytest.fixture
def traps(monkeypatch):
    """Everything that opens a device, loads the model or binds a socket fails the test when reached."""
    def trap(what):
        def opened(*args, **kwargs):
            raise Opened(f"{what} was opened")
        return opened

    import arfilter.io.sinks
    import arfilter.io.sources
    import arfilter.operator.kiosk
    import arfilter.operator.webcontrol
    import arfilter.tracking.model
    import arfilter.tracking.tracker

    monkeypatch.setattr(arfilter.tracking.model, "resolve_model", trap("the model"))
    monkeypatch.setattr(arfilter.tracking.tracker, "FaceTracker", trap("the tracker"))
    monkeypatch.setattr(arfilter.io.sources, "CameraSource", trap("a camera"))
    monkeypatch.setattr(arfilter.io.sinks, "open_sink", trap("the sink"))
    monkeypatch.setattr(arfilter.operator.kiosk, "KioskWindowSink", trap("the kiosk screen"))
    monkeypatch.setattr(arfilter.operator.webcontrol, "ControlServer", trap("the control panel"))


def _clip(path) -> None:
    """A real 3-frame MJPG video."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (64, 48))
    for value in (40, 120, 200):
        writer.write(np.full((48, 64, 3), value, np.uint8))
    writer.release()


@pytest.fixture
def event(tmp_path, model_path, shared_media):
    """Writes an event file: a good base (a real model, a real photo, the null sink) plus the case's lines."""
    (tmp_path / "empty folder").mkdir()
    (tmp_path / "garbage.mp4").write_bytes(b"this is not a video" * 50)
    (tmp_path / "garbage.jpg").write_bytes(b"this is not a photo" * 50)
    (tmp_path / "not_a_model.task").write_bytes(b"not the model")
    _clip(tmp_path / "clip.avi")

    def write(lines: list[str]) -> object:
        base = {"model": f'model = "{model_path}"', "source": f'source = "{shared_media / "portrait_720p.jpg"}"',
                "sink": 'sink = "null"'}
        for line in lines:
            base.pop(line.split("=")[0].strip(), None)
        path = tmp_path / "event.toml"
        path.write_text("\n".join([*base.values(), *lines]) + "\n", encoding="utf-8")
        return path
    return write


# (case, event-file lines, the command that meets the problem, the problem: "{file}: key: ...")
CASES = [
    ("unknown start look", ['[looks]', 'start = "black_eye_lft"'], "run",
     "{file}: looks.start: no installed look is called 'black_eye_lft'; did you mean 'black_eye_left'? "
     "'arfilter overlays' lists them (or give a folder holding overlay.toml)"),
    ("unknown rotation look", ['[looks]', 'rotation = ["cheek_bruise", "split_lipp"]'], "kiosk",
     "{file}: looks.rotation: no installed look is called 'split_lipp'; did you mean 'split_lip'? "
     "'arfilter overlays' lists them (or give a folder holding overlay.toml)"),
    ("missing source file", ['source = "nothere.mp4"'], "run",
     "{file}: source: no such file or folder (a path in the event file is relative to the file); give a camera "
     "number like 0, a video, an image or a folder of images"),
    ("source is an empty folder", ['source = "{dir}/empty folder"'], "run",
     "{file}: source: folder {dir}/empty folder: no images in it (.png, .jpg, .jpeg, .bmp, .webp)"),
    ("unreadable video", ['source = "{dir}/garbage.mp4"'], "run",
     "{file}: source: video {dir}/garbage.mp4: cannot be read as a video; check that the file plays in a media "
     "player or re-encode it as MP4 (H.264)"),
    ("unreadable photo", ['source = "{dir}/garbage.jpg"'], "kiosk",
     "{file}: source: image {dir}/garbage.jpg: not a readable image; use a JPEG or PNG file"),
    ("web 0.0.0.0 without a token", ['[controls]', 'web = "0.0.0.0:8765"'], "run",
     "{file}: controls.web 0.0.0.0:8765: binding beyond this computer needs a token; add token = \"SECRET\" "
     "(at least 12 characters) under [controls] in {file}"),
    ("a short token", ['[controls]', 'web = "0.0.0.0:8765"', 'token = "short"'], "kiosk",
     "{file}: controls.token: too short (5 characters); use at least 12, e.g. a few random words"),
    ("bad web address", ['[controls]', 'web = "localhost:99999"'], "run",
     "{file}: controls.web localhost:99999: the port must be a number from 1 to 65535, "
     "e.g. web = \"127.0.0.1:8765\""),
    ("missing logo", ['[campaign]', 'caption = "hello"', 'logo = "nologo.png"'], "run",
     "{file}: campaign.logo: logo file not found ({dir}/nologo.png); check the path (relative to the event file)"),
    ("sink in a missing folder", ['sink = "{dir}/no such folder/out.mp4"'], "run",
     "{file}: sink: the folder {dir}/no such folder does not exist; create it or pick another path"),
    ("sink is a folder", ['sink = "{dir}/folder.mp4"'], "run", "{file}: sink: is a folder; give a file name inside it"),
    ("sink is the source", ['source = "{dir}/clip.avi"', 'sink = "{dir}/clip.avi"'], "run",
     "{file}: sink: is the input {dir}/clip.avi; writing it would destroy the input, so give another output name"),
    ("stats_json in a missing folder", ['stats_json = "{dir}/gone/stats.json"'], "kiosk",
     "{file}: stats_json: the folder {dir}/gone does not exist; create it or pick another path"),
    ("landmarks_out wrong suffix", ['landmarks_out = "{dir}/marks.csv"'], "run",
     "{file}: landmarks_out: use a file name ending in .npz"),
    ("explicit model missing", ['model = "{dir}/nomodel.task"'], "run",
     "{file}: model: no such file; check the path, or leave the model out to use (and if needed download) "
     "face_landmarker.task automatically"),
    ("explicit model is another file", ['model = "{dir}/not_a_model.task"'], "kiosk",
     "{file}: model: is not Google's face_landmarker.task (float16, v1) (checksum mismatch); download it again "
     "from https://storage.googleapis.com/mediapipe-models/face_landmarker/face_landmarker/float16/1/"
     "face_landmarker.task"),
    ("a caption no font can draw", ['[campaign]', f'caption = "help {PUA}"'], "run",
     "{file}: campaign.caption: no installed font can draw \U0010fffd (symbols); install DejaVu Sans "
     "(Debian/Ubuntu: sudo apt install fonts-dejavu-core) or name a font file with font = \"...\""),
    ("a kiosk title no font can draw", ['[kiosk]', f'title = "{PUA}"'], "kiosk",
     "{file}: kiosk.title: no installed font can draw \U0010fffd (symbols); install DejaVu Sans "
     "(Debian/Ubuntu: sudo apt install fonts-dejavu-core) or name a font file with font = \"...\""),
    ("the example's helpline", ['[campaign]', 'helpline = "Helpline 0800 123 456 (free, 24/7)"'], "run",
     "{file}: campaign.helpline: still the example's placeholder number \"0800 123 456\"; put your campaign's "
     "real helpline (people in danger may call it)"),
    ("a reserved QR host", ['[campaign]', 'qr_url = "https://help.example.com/call"'], "kiosk",
     "{file}: campaign.qr_url: still a placeholder address (help.example.com is reserved for examples and belongs "
     "to no campaign); put the link to your campaign's help page (people in danger may open it)"),
]


@pytest.mark.parametrize("lines, command, problem", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_config_lists_what_the_start_would_meet_and_the_start_stops_before_opening_anything(
        lines, command, problem, event, tmp_path, traps, capsys):
    (tmp_path / "folder.mp4").mkdir()
    path = event([line.replace("{dir}", str(tmp_path)) for line in lines])
    expected = problem.format(file=path, dir=tmp_path)

    assert main(["config", str(path)]) == 1
    out = capsys.readouterr()
    assert out.out.splitlines() == [expected]
    assert out.err == f"arfilter: {path}: 1 problem\n"

    assert main([command, "--config", str(path), "--no-supervise"]) == 2
    out = capsys.readouterr()
    assert out.err == f"arfilter: error: {expected}\n", "one line, naming the file and the key, and nothing else"
    assert out.out == ""


def test_the_good_base_passes_config_and_the_start_goes_on_to_open_the_devices(event, traps, capsys):
    """The control for the table above: without the mistake, config says ok and the start reaches the tracker
    (the first trap: the model), so each case's exit 2 is its own problem and the traps do catch an opening."""
    path = event([])
    assert main(["config", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: ok\n"
    with pytest.raises(Opened, match="the model was opened"):
        main(["run", "--config", str(path), "--no-supervise"])


def test_a_file_that_passes_config_runs(event, tmp_path, capsys, monkeypatch):
    """No traps: a checked file with a video source, a recording, stats and landmarks runs to the end."""
    path = event([f'source = "{tmp_path / "clip.avi"}"', f'sink = "{tmp_path / "out.avi"}"',
                  f'stats_json = "{tmp_path / "stats.json"}"', f'landmarks_out = "{tmp_path / "marks.npz"}"',
                  '[looks]', 'start = "cheek_bruise"', 'rotation = ["cheek_bruise", "split_lip"]',
                  '[campaign]', 'caption = "#NoMoreSilence"', 'helpline = "Helpline 0808 2000 247"',
                  'qr_url = "https://www.nationaldahelpline.org.uk/"'])
    assert main(["config", str(path)]) == 0
    capsys.readouterr()
    assert main(["run", "--config", str(path), "--no-supervise"]) == 0
    assert cv2.VideoCapture(str(tmp_path / "out.avi")).read()[0]
    assert (tmp_path / "stats.json").is_file() and (tmp_path / "marks.npz").is_file()


@pytest.mark.parametrize("flags, line", [
    (["--overlay", "cheek_bruse"], "arfilter: error: --overlay cheek_bruse: no installed look is called "
                                   "'cheek_bruse'; did you mean 'cheek_bruise'? 'arfilter overlays' lists them "
                                   "(or give a folder holding overlay.toml)"),
    (["--control", "0.0.0.0:8765"], "arfilter: error: --control 0.0.0.0:8765: binding beyond this computer needs "
                                    "a token; add --control-token SECRET (at least 12 characters)"),
    (["--control", "0.0.0.0:8765", "--control-token", "short"],
     "arfilter: error: --control-token: too short (5 characters); use at least 12, e.g. a few random words"),
    (["--control", "[::1"], "arfilter: error: --control [::1: write an IPv6 address as [ADDRESS]:PORT, "
                            "e.g. --control [::1]:8765"),
    (["--source", "{dir}/nothere.mp4"], "arfilter: error: --source {dir}/nothere.mp4: no such file or folder; "
                                        "give a camera number like 0, a video, an image or a folder of images"),
    (["--stats-json", "{dir}/gone/s.json"], "arfilter: error: --stats-json {dir}/gone/s.json: the folder "
                                            "{dir}/gone does not exist; create it or pick another path"),
    (["--sink", "{dir}/folder.mp4"], "arfilter: error: --sink {dir}/folder.mp4: is a folder; give a file name "
                                     "inside it"),
    (["--landmarks-out", "{dir}/m.txt"], "arfilter: error: --landmarks-out {dir}/m.txt: use a file name ending "
                                         "in .npz"),
    (["--model", "{dir}/none.task"], "arfilter: error: --model {dir}/none.task: no such file; check the path, or "
                                     "leave the model out to use (and if needed download) face_landmarker.task "
                                     "automatically"),
], ids=["overlay", "control", "token", "ipv6", "source", "stats-json", "sink", "landmarks-out", "model"])
def test_a_flag_is_named_by_the_flag_and_stops_the_start_too(flags, line, tmp_path, shared_media, traps, capsys):
    (tmp_path / "folder.mp4").mkdir()
    flags = [flag.replace("{dir}", str(tmp_path)) for flag in flags]
    base = ["--source", str(shared_media / "portrait_720p.jpg"), "--sink", "null"]
    assert main(["run", *base, *flags]) == 2
    err = capsys.readouterr().err
    assert err == line.format(dir=tmp_path) + "\n"
    assert "event.toml" not in err


def test_a_flag_wins_over_the_file_so_the_flag_is_named(event, tmp_path, traps, capsys):
    path = event(['[looks]', 'start = "split_lip"'])
    assert main(["run", "--config", str(path), "--overlay", "nope", "--no-supervise"]) == 2
    assert capsys.readouterr().err.startswith("arfilter: error: --overlay nope: no installed look is called 'nope'")


def test_several_problems_start_with_the_first_and_config_lists_them_all(event, traps, capsys):
    path = event(['[looks]', 'start = "nope"', '[controls]', 'web = "0.0.0.0:8765"'])
    assert main(["config", str(path)]) == 1
    listed = capsys.readouterr().out.splitlines()
    assert [line.split(": ")[1].split(" ")[0] for line in listed] == ["looks.start", "controls.web"]
    assert main(["run", "--config", str(path), "--no-supervise"]) == 2
    assert capsys.readouterr().err == f"arfilter: error: {listed[0]} (and 1 more; run 'arfilter config {path}' to see all)\n"


def test_a_supervised_kiosk_with_a_bad_file_is_one_line_not_a_restart_loop(event, traps, monkeypatch, capsys):
    import arfilter.ops.supervisor

    def supervise(argv):
        raise Opened("the supervisor started a session")

    monkeypatch.setattr(arfilter.ops.supervisor, "supervise", supervise)
    path = event(['[looks]', 'start = "nope"'])
    assert main(["kiosk", "--config", str(path)]) == 2  # the kiosk is supervised by default
    assert capsys.readouterr().err.count("\n") == 1
    with pytest.raises(Opened, match="the supervisor"):  # a good file is supervised as before
        main(["kiosk", "--config", str(event([]))])


def test_the_example_is_refused_until_its_placeholders_are_changed(tmp_path, capsys):
    path = tmp_path / "event.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    assert main(["config", str(path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{path}: campaign.helpline: still the example's placeholder number \"0800 123 456\"; put your campaign's "
        "real helpline (people in danger may call it)",
        f"{path}: campaign.qr_url: still a placeholder address (example.org is reserved for examples and belongs to "
        "no campaign); put the link to your campaign's help page (people in danger may open it)"]
    edited = (EXAMPLE.replace("0800 123 456", "0808 2000 247")
              .replace("https://example.org/help", "https://www.nationaldahelpline.org.uk/"))
    path.write_text(edited, encoding="utf-8")
    assert main(["config", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: ok\n"


@pytest.mark.parametrize("helpline, url, flagged", [
    ("Call 0800-123-456", "", ["campaign.helpline"]),
    ("Helpline 0800 123 4567", "", ["campaign.helpline"]),  # still the placeholder's digits
    ("Helpline 0808 2000 247", "https://EXAMPLE.NET./x", ["campaign.qr_url"]),
    ("", "https://example.org.evil.test/", []),  # only the reserved names themselves
    ("", "https://notexample.org/help", []),
    ("Helpline 116 016", "tel:+49116016", []),
])
def test_placeholders_are_recognised_however_written(helpline, url, flagged, tmp_path):
    path = tmp_path / "event.toml"
    path.write_text(f'[campaign]\nhelpline = "{helpline}"\nqr_url = "{url}"\n', encoding="utf-8")
    problems = preflight_problems(load_config(path))
    assert [problem.split(": ")[1] for problem in problems] == flagged


@pytest.mark.parametrize("value", ["x" * 300, "a\x00b", "~nosuchuser/x", "/", "x" * 5000 + ".mp4"])
def test_names_the_system_cannot_look_up_are_problems_not_tracebacks(value, tmp_path):
    """Each of these as a look, a source, a model, an output, a panel address or a kiosk title: one line each."""
    from arfilter.settings.config import check_config

    tables = [{"looks": {"start": value}}, {"looks": {"rotation": [value]}}, {"source": value}, {"model": value},
              {"stats_json": value}, {"landmarks_out": value}, {"sink": value + ".mp4"}, {"controls": {"web": value}},
              {"controls": {"web": "0.0.0.0:1", "token": value}}, {"kiosk": {"title": value}}]
    for table in tables:
        config, problems = check_config(table, str(tmp_path / "e.toml"))
        if config is not None:
            problems = preflight_problems(config)
        assert all(isinstance(line, str) and "\n" not in line for line in problems), table

