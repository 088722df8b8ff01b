"""Event files: the example is valid, every problem is listed with its exact message, flags win."""

from __future__ import annotations

import sys

import pytest

from arfilter.cli.main import build_parser, event_config, main
from arfilter.settings.config import EXAMPLE, EventConfig, check_config, check_config_file, load_config
from arfilter.core.errors import ArfilterError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def test_the_printed_example_is_a_valid_event_file_with_what_it_says(tmp_path, capsys):
    assert main(["config", "--example"]) == 0
    text = capsys.readouterr().out
    assert text == EXAMPLE
    path = tmp_path / "event.toml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    assert config.source == "0" and config.sink == "virtualcam" and config.size == (1280, 720)
    assert config.fallback == "preview" and config.looks.rotation[:2] == ("black_eye_left", "cheek_bruise")
    assert config.campaign.caption.startswith("#NoMoreSilence") and config.campaign.qr_url == "https://example.org/help"
    assert config.controls.web == "127.0.0.1:8765" and config.kiosk.quit_hold == 3.0
    assert main(["config", str(path)]) == 1, "its placeholder helpline and link are refused (test_preflight.py)"
    assert [line.split(": ")[1] for line in capsys.readouterr().out.splitlines()] == [
        "campaign.helpline", "campaign.qr_url"]
    path.write_text(text.replace("0800 123 456", "0808 2000 247").replace("https://example.org/help",
                                                                          "https://www.nationaldahelpline.org.uk/"),
                    encoding="utf-8")
    assert main(["config", str(path)]) == 0
    assert capsys.readouterr().out.strip() == f"{path}: ok"


def test_an_empty_file_means_the_defaults_of_arfilter_run():
    config, problems = check_config({}, "e.toml")
    assert problems == []
    assert (config.source, config.sink, config.size, config.fps, config.max_faces) == ("0", "virtualcam", (1280, 720), 30.0, 2)
    assert config.looks.start == "black_eye_left" and config.controls.captions and not config.controls.stats


@pytest.mark.parametrize("table, message", [
    ({"fps": 500}, "e.toml: fps: 500 is out of range; use 1 to 240"),
    ({"fps": "30"}, "e.toml: fps: must be a number from 1 to 240"),
    ({"size": "1280*720"}, "e.toml: size: '1280*720' is not a size; write it like 1280x720"),
    ({"size": "8x8"}, "e.toml: size: '8x8' is out of range; use 16x16 to 7680x4320"),
    ({"mirror": "yes"}, "e.toml: mirror: must be true or false"),
    ({"max_faces": 2.5}, "e.toml: max_faces: must be a whole number from 1 to 16"),
    ({"fallback": "window"}, "e.toml: fallback: 'window' is not one of none, preview"),
    ({"sink": "zoom"}, "e.toml: sink: 'zoom' is not one of virtualcam, window, null or a file name ending in "
                       ".mp4, .avi, .mkv, .mov, .m4v, .webm, .png, .jpg, .jpeg, .bmp, .webp"),
    ({"colour": 1}, "e.toml: colour: unknown key; valid keys: backend, device, fallback, fps, landmarks_out, max_faces, mirror, model, sink, size, source, "
                       "stats_json, supervise"),
    ({"extras": {"a": 1}}, "e.toml: [extras]: unknown section; valid sections: campaign, looks, tracking, controls, kiosk, web"),
    ({"tracking": {"smooth_beta": -1}}, "e.toml: tracking.smooth_beta: -1 is out of range; use 0 to 10000"),
    ({"looks": {"rotation": "black_eye_left"}},
     "e.toml: looks.rotation: must be a list of look names in quotes, like [\"black_eye_left\", \"cheek_bruise\"]"),
    ({"looks": {"intensity": 3}}, "e.toml: looks.intensity: 3 is out of range; use 0 to 2"),
    ({"looks": {"speed": 1}}, "e.toml: looks.speed: unknown key; valid keys: intensity, rotate_every, rotation, start"),
    ({"looks": 3}, "e.toml: looks: must be a [looks] section"),
    ({"controls": {"stats": 1}}, "e.toml: controls.stats: must be true or false"),
    ({"kiosk": {"clear_after": 2}}, "e.toml: kiosk.clear_after: 2 is out of range; use 0 to 1"),
    ({"kiosk": {"quit_pin": "12a4"}}, "e.toml: kiosk.quit_pin: must be 4 to 12 digits in quotes (or \"\" for none)"),
    ({"kiosk": {"quit_pin": 1234}}, "e.toml: kiosk.quit_pin: must be 4 to 12 digits in quotes (or \"\" for none)"),
])
def test_each_mistake_is_named_with_file_key_and_reason(table, message):
    config, problems = check_config(table, "e.toml")
    assert config is None and problems == [message]


def test_every_problem_is_listed_at_once(tmp_path, capsys):
    path = tmp_path / "event.toml"
    path.write_text('fps = 0\nmirror = 2\n[looks]\nintensity = -1\n[kiosk]\nclear_after = 5\n', encoding="utf-8")
    config, problems = check_config_file(path)
    assert config is None and len(problems) == 4
    assert main(["config", str(path)]) == 1
    out = capsys.readouterr()
    assert out.out.splitlines() == problems and "4 problems" in out.err
    with pytest.raises(ArfilterError, match=r"fps: 0 is out of range; use 1 to 240 \(and 3 more; run 'arfilter config "):
        load_config(path)


@pytest.mark.parametrize("content, needle", [
    (None, "no such file; write one with: arfilter config --example > missing.toml"),
    ("fps = = 3\n", "cannot be read (Invalid value"),
    (b"\xff\xfe\x00", "cannot be read ("),
])
def test_unreadable_files_are_one_line(tmp_path, content, needle):
    path = tmp_path / "missing.toml"
    if isinstance(content, str):
        path.write_text(content)
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(ArfilterError) as excinfo:
        load_config(path)
    assert needle in str(excinfo.value) and "\n" not in str(excinfo.value)


def test_run_with_a_bad_event_file_exits_with_the_one_line(tmp_path, capsys):
    path = tmp_path / "event.toml"
    path.write_text("fps = 1000\n")
    assert main(["run", "--config", str(path), "--sink", "null"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"arfilter: error: {path}: fps: 1000 is out of range; use 1 to 240"]


def test_flags_on_the_command_line_win_over_the_file(tmp_path):
    path = tmp_path / "event.toml"
    path.write_text('source = "clip.mp4"\nfps = 25\nsize = "640x480"\n[looks]\nstart = "cheek_bruise"\nintensity = 0.5\n'
                    '[controls]\nweb = "127.0.0.1:9000"\n', encoding="utf-8")
    args = build_parser().parse_args(["run", "--config", str(path), "--fps", "15", "--overlay", "split_lip",
                                      "--control", "127.0.0.1:9100", "--show-stats"])
    config = event_config(args)
    assert (config.source, config.fps, config.size) == ("clip.mp4", 15.0, (640, 480))
    assert (config.looks.start, config.looks.intensity) == ("split_lip", 0.5)
    assert config.controls.web == "127.0.0.1:9100" and config.controls.stats
    plain = event_config(build_parser().parse_args(["run"]))
    assert plain == EventConfig()


def test_a_logo_is_found_next_to_the_event_file(tmp_path):
    import cv2
    import numpy as np

    logo = np.zeros((64, 64, 4), np.uint8)
    logo[16:48, 16:48] = (255, 255, 255, 255)
    cv2.imwrite(str(tmp_path / "logo.png"), logo)
    path = tmp_path / "event.toml"
    path.write_text('[campaign]\ncaption = "hello"\nlogo = "logo.png"\n', encoding="utf-8")
    config = load_config(path)
    assert config.campaign.logo == str(tmp_path / "logo.png")
    tomllib.loads(EXAMPLE)  # the example stays plain TOML


@pytest.mark.parametrize("lines, flags, needle, code", [
    (['[looks]', 'start = "nope"'], [], "{file}: looks.start: no installed look is called 'nope'", 2),
    ([], ["--overlay", "nope"], "error: --overlay nope: no installed look is called 'nope'", 2),
    (['source = 7'], [], "{file}: source: camera 7", 3),
    (['[controls]', 'web = "0.0.0.0:8765"'], [], "{file}: controls.web 0.0.0.0:8765: binding beyond this computer", 2),
    ([], ["--control", "0.0.0.0:8765"], "error: --control 0.0.0.0:8765: binding beyond this computer", 2),
])
def test_an_error_names_where_the_value_came_from(lines, flags, needle, code, tmp_path, model_path, shared_media,
                                                  capsys):
    """A value from the event file is named as `file: key`, one from the command line by its flag;
    the exit code is the contract's (2 bad input, 3 a device unavailable)."""
    event = tmp_path / "event.toml"
    top = [f'model = "{model_path}"', f'source = "{shared_media / "portrait_720p.jpg"}"', 'sink = "null"']
    if any(line.startswith("source") for line in lines):
        top = top[:1] + top[2:]
    event.write_text("\n".join(top + lines) + "\n")
    assert main(["run", "--config", str(event), "--no-supervise", *flags]) == code
    err = capsys.readouterr().err
    assert needle.format(file=event) in err, err
    if flags:
        assert str(event) not in err.split("error:")[1], "a flag's value is not blamed on the file"
