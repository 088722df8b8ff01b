"""``arfilter apply`` as a user meets it: the shapes people post, a photo without a face, a folder
given as a file, a mistyped look said before the model loads. Real files written and read back."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from arfilter.cli.main import main
from arfilter.core.errors import ExitCode
from arfilter.core.types import Frame
from media import read_frames


@pytest.fixture
def user(monkeypatch, model_path):
    monkeypatch.setenv("ARFILTER_MODEL", str(model_path))
    return model_path


def apply(capsys, *argv: str) -> tuple[int, str]:
    code = main(["apply", *argv])
    return code, capsys.readouterr().err


def face_boxes(model_path, images: list[np.ndarray]) -> list[tuple[float, float, float, float] | None]:
    from arfilter.tracking.tracker import FaceTracker, TrackerOptions

    boxes = []
    for image in images:  # each photo on its own: no state carried between them
        with FaceTracker(TrackerOptions(model_path=model_path, max_faces=1)) as tracker:
            faces = tracker(Frame(np.ascontiguousarray(image), 0.0))
        boxes.append(faces[0].bbox if faces else None)
    return boxes


def test_a_photo_without_a_face_is_written_unchanged_and_says_so(capsys, user, tmp_path):
    photo = tmp_path / "wall.png"
    wall = np.full((360, 480, 3), 180, np.uint8)
    wall[:, ::40] = 90  # wallpaper stripes: no face anywhere
    cv2.imwrite(str(photo), wall)
    code, err = apply(capsys, str(photo), "-o", str(tmp_path / "out.png"))
    assert code == ExitCode.OK
    assert f"no face found in {photo}: written unchanged" in err
    assert np.array_equal(cv2.imread(str(tmp_path / "out.png")), wall)


def test_require_face_makes_it_a_problem_and_writes_nothing(capsys, user, tmp_path):
    photo = tmp_path / "wall.png"
    cv2.imwrite(str(photo), np.full((360, 480, 3), 180, np.uint8))
    code, err = apply(capsys, str(photo), "-o", str(tmp_path / "out.png"), "--require-face")
    assert code == ExitCode.PROBLEMS_FOUND
    assert "no face found in" in err and "nothing written (--require-face)" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wall.png"]


def test_a_photo_with_a_face_is_painted_and_require_face_is_content(capsys, user, shared_media, tmp_path):
    code, err = apply(capsys, str(shared_media / "portrait_720p.jpg"), "-o", str(tmp_path / "out.png"),
                      "--require-face")
    assert code == ExitCode.OK and "no face found" not in err
    assert (tmp_path / "out.png").is_file()


def test_a_folder_given_as_the_input_is_called_a_folder(capsys, user, tmp_path):
    code, err = apply(capsys, str(tmp_path), "-o", str(tmp_path / "out.png"))
    assert code == ExitCode.BAD_INPUT
    assert f"input {tmp_path}: is a folder" in err and "no such file" not in err


def test_a_mistyped_look_is_said_before_the_model_is_needed(capsys, monkeypatch, shared_media, tmp_path):
    monkeypatch.setenv("ARFILTER_MODEL", str(tmp_path / "no-model-here.task"))
    code, err = apply(capsys, str(shared_media / "portrait_720p.jpg"), "-o", str(tmp_path / "out.png"),
                      "--overlay", "black_eye")
    assert code == ExitCode.BAD_INPUT
    assert "did you mean 'black_eye_left'" in err and "model" not in err


@pytest.mark.parametrize("shape, size", [("portrait", (404, 720)), ("square", (720, 720))])
def test_crop_cuts_a_photo_to_the_shape_around_the_face(capsys, user, shared_media, tmp_path, shape, size):
    code, _ = apply(capsys, str(shared_media / "portrait_720p.jpg"), "-o", str(tmp_path / "out.png"), "--crop", shape)
    assert code == ExitCode.OK
    out = cv2.imread(str(tmp_path / "out.png"))
    assert (out.shape[1], out.shape[0]) == size
    (box,) = face_boxes(user, [out])
    assert box is not None and box[0] > 0 and box[2] < size[0] and box[1] > 0 and box[3] < size[1]
    assert abs((box[0] + box[2]) / 2 - size[0] / 2) < 0.15 * size[0]  # centred on the face


@pytest.mark.slow  # a whole clip
def test_crop_follows_the_face_through_a_clip_and_keeps_every_frame(capsys, user, shared_media, tmp_path):
    clip = shared_media / "webcam_glasses_720x1280.mp4"
    out = tmp_path / "square.mp4"
    code, _ = apply(capsys, str(clip), "-o", str(out), "--crop", "square")
    assert code == ExitCode.OK
    frames = read_frames(out)
    assert len(frames) == 352 and all(frame.shape == (720, 720, 3) for frame in frames)
    for box in face_boxes(user, frames[::50]):
        assert box is not None and box[0] > 0 and box[2] < 720 and box[1] > 0 and box[3] < 720


@pytest.mark.slow  # whole clips through run
def test_run_from_a_file_into_a_file_keeps_its_frame_rate_and_its_sound(capsys, user, shared_media, tmp_path):
    import av

    out = tmp_path / "grimace.mp4"
    assert main(["run", "--source", str(shared_media / "grimace_green_512.mp4"), "--sink", str(out),
                 "--no-supervise"]) == ExitCode.OK
    with av.open(str(out)) as container:
        (video,) = container.streams.video
        assert video.average_rate == 25 and video.frames == 78  # the clip's 25 fps, not the --fps default 30
    out = tmp_path / "turns.mp4"
    assert main(["run", "--source", str(shared_media / "head_turns_480.mp4"), "--sink", str(out),
                 "--no-supervise"]) == ExitCode.OK
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        (audio,) = container.streams.audio
        assert abs(float(audio.duration * audio.time_base) - 7.2) < 0.1
