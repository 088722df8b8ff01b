"""Small truths of the command line: a typo gets "did you mean", a folder is called a folder,
and only the commands that process frames take --stats-json."""

from __future__ import annotations

import pytest

from arfilter.cli.main import main
from arfilter.core.errors import ArfilterError, ExitCode
from arfilter.render.packs import resolve_overlay


def error_line(capsys, *argv: str) -> str:
    """The one line a usage error prints (exit code 2 from the contract, nothing else said)."""
    with pytest.raises(SystemExit) as stopped:
        main(list(argv))
    assert stopped.value.code == ExitCode.BAD_INPUT
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("arfilter: error: "), lines
    return lines[0]


@pytest.mark.parametrize("argv, hint", [
    (["rn"], "did you mean 'run'?"),
    (["aply", "x.png"], "did you mean 'apply'?"),
    (["run", "--intensty", "1"], "did you mean '--intensity'?"),
    (["apply", "in.png", "-o", "out.png", "--maxfaces", "1"], "did you mean '--max-faces'?"),
    (["apply", "in.png", "-o", "out.png", "--smoothing", "of"], "did you mean 'off'?"),
    (["kiosk", "--sink", "null"], "--sink is an option of run, not kiosk"),
])
def test_a_typo_gets_the_closest_valid_word(capsys, argv, hint):
    line = error_line(capsys, *argv)
    assert hint in line, line
    assert f"see 'arfilter {argv[0]} --help'" in line or "see 'arfilter --help'" in line


def test_nothing_close_suggests_nothing(capsys):
    line = error_line(capsys, "zzzzzz")
    assert "did you mean" not in line and "choose from 'run'" in line


def test_only_commands_that_process_frames_take_stats_json(capsys):
    line = error_line(capsys, "overlays", "--stats-json", "x.json")
    assert "--stats-json is an option of run, kiosk, apply, demo, not overlays" in line


def test_a_mistyped_look_name_gets_the_installed_one_it_resembles():
    with pytest.raises(ArfilterError, match=r"overlay black_eye: not found; did you mean 'black_eye_left'\?"):
        resolve_overlay("black_eye")
    with pytest.raises(ArfilterError, match=r"installed overlay \(black_eye_left, .*split_lip\)"):
        resolve_overlay("qwertyuiop")


def test_a_folder_without_a_manifest_is_called_a_folder(tmp_path):
    with pytest.raises(ArfilterError, match=r"the folder has no overlay.toml"):
        resolve_overlay(tmp_path)


def test_a_folder_given_as_a_photo_is_called_a_folder(capsys, tmp_path):
    assert main(["unwrap", str(tmp_path), "-o", str(tmp_path / "uv.png")]) == ExitCode.BAD_INPUT
    assert f"photo {tmp_path}: is a folder; give one image file" in capsys.readouterr().err


def test_sigterm_stops_at_once_but_never_raises_inside_a_finaliser():
    """SIGTERM raises KeyboardInterrupt to stop a wait at once, but not inside a ``__del__`` (MediaPipe's
    Image frees itself there): Python would print "Exception ignored ... Traceback" and swallow it. The
    flag the loop asks between frames is set either way."""
    import importlib
    import sys

    cli_main = importlib.import_module("arfilter.cli.main")  # the module (the package exports main())

    handler = cli_main._terminate  # the SIGTERM/SIGBREAK handler, called as the signal module would
    cli_main._TERMINATED.clear()
    with pytest.raises(KeyboardInterrupt):
        handler(15, sys._getframe())
    assert cli_main._TERMINATED.is_set()
    cli_main._TERMINATED.clear()

    raised = []

    class Finalised:
        def __del__(self) -> None:
            try:
                handler(15, sys._getframe())
            except KeyboardInterrupt:
                raised.append(True)

    Finalised()  # collected at once: its __del__ runs here
    assert raised == [] and cli_main._TERMINATED.is_set()
    cli_main._TERMINATED.clear()


@pytest.mark.parametrize("clip, name", [("portrait_720p.jpg", "out.png"), ("talking_woman_512.mp4", "out.mp4")])
def test_a_sigterm_lost_in_a_finaliser_still_leaves_the_old_output(monkeypatch, model_path, shared_media, tmp_path,
                                                                   clip, name):
    """A SIGTERM that lands inside a finaliser raises nothing and only sets the flag. ``apply`` stops on it
    between frames as Ctrl+C does (exit 130 in ``main``): the file it was writing is thrown away and the
    user's old output stays byte for byte. Before, it went on to the end and replaced that output (seen
    once in CI: test_a_killed_or_stopped_apply_leaves_the_old_output_as_it_was[SIGTERM])."""
    import importlib
    import sys

    from arfilter.cli import commands
    from arfilter.cli.parser import build_parser

    cli_main = importlib.import_module("arfilter.cli.main")
    monkeypatch.setenv("ARFILTER_MODEL", str(model_path))
    output = tmp_path / name
    output.write_bytes(b"last week's file, which must survive")

    class Finalised:
        def __del__(self) -> None:
            cli_main._terminate(15, sys._getframe())  # as the signal module calls it, inside the finaliser

    cli_main._TERMINATED.clear()
    try:
        Finalised()
        assert cli_main._TERMINATED.is_set()
        with pytest.raises(KeyboardInterrupt):
            commands.cmd_apply(build_parser().parse_args(["apply", str(shared_media / clip), "-o", str(output)]))
    finally:
        cli_main._TERMINATED.clear()
    assert output.read_bytes() == b"last week's file, which must survive"
    assert sorted(path.name for path in tmp_path.iterdir()) == [name], "the unfinished file is thrown away"
