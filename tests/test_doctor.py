"""arfilter doctor: each faked OS state gives the right status and the exact advice line."""

from __future__ import annotations

import argparse
import hashlib
import json
import plistlib
import sys
from pathlib import Path

import pytest

from arfilter.ops.doctor import (
    Check, System, add_doctor_arguments, check_camera, check_display, check_model, check_virtual_camera,
    checks_to_json, cmd_doctor, format_table, parse_v4l2_modes, ready, run_checks,
)
from arfilter.tracking.model import MODEL_SHA256, MODEL_URL

V4L = "/sys/class/video4linux"
PARAMS = "/sys/module/v4l2loopback/parameters"
OBS = "{A3FCE0F5-3493-419F-958A-ABA1250EC20B}"
UNITY = "{5C2CD55C-92AD-4999-8666-912BD3E70010}"
PLIST = "/Applications/OBS.app/Contents/Info.plist"
DAL = "/Library/CoreMediaIO/Plug-Ins/DAL/obs-mac-virtualcam.plugin"

# The advice lines, spelled out here so a change to any of them is a deliberate one.
NO_MODULE = ("sudo apt install v4l2loopback-dkms && "
             "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=arfilter")
NO_DEVICE = ("sudo modprobe -r v4l2loopback && "
             "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=arfilter")
CAPS_OFF = ("Chrome, Meet and Teams only list the camera with exclusive_caps=1 (Zoom and OBS work either way); "
            "reload with: sudo modprobe -r v4l2loopback && "
            "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=arfilter")
BUSY_10 = ("close the other program that is sending to /dev/video10 (another arfilter, OBS's virtual camera) "
           "or load a second device with devices=2")
PERMISSION = "let your user use video devices: sudo usermod -aG video $USER, then log out and back in"
NO_CAMERA = ("plug in a webcam, or close the app that is using it; a video file works too: "
             "arfilter run --source clip.mp4")
MAC_PERMISSION = "; on a Mac also allow your terminal in System Settings > Privacy & Security > Camera"
WIN_INSTALL = ("install OBS Studio (https://obsproject.com), click Start Virtual Camera once and close OBS; "
               "or install Unity Capture")
WIN_BUSY = ("close the other program that is sending to the virtual camera (OBS's own Start Virtual Camera, "
            "another arfilter), then check again")
MAC_INSTALL = ("install OBS Studio 30 or newer from https://obsproject.com, open it, "
               "click Start Virtual Camera once, then quit OBS")
MAC_UPDATE = "update OBS Studio to 30 or newer from https://obsproject.com, then click Start Virtual Camera once"
MAC_START_ONCE = "open OBS, click Start Virtual Camera once (allow the system extension if macOS asks), then quit OBS"
MAC_BUSY = "click Stop Virtual Camera in OBS, or quit the other program that is sending to it"
DISPLAY_WARN = ("only needed for the preview window or kiosk: run arfilter from a terminal on the desktop, "
                "not over SSH or as a service")
DISPLAY_FAIL = ("run arfilter from a terminal on the desktop (not over SSH or as a service), "
                "or record to a file instead: arfilter run --sink out.mp4")
DISPLAY_KIOSK = ("start the kiosk inside the kiosk screen's desktop session (a terminal or autostart there), "
                 "or point it at that screen: DISPLAY=:0 arfilter kiosk ...")
MODEL_MISSING = f"it will be downloaded on first run ({MODEL_URL}), or save it there yourself"


class FakeSystem(System):
    """An OS made of a dict of files (a fake /sys tree), symlinks, programs and answers."""

    def __init__(self, platform: str = "linux", files: dict | None = None, links: dict | None = None,
                 env: dict | None = None, binaries: dict | None = None, commands: dict | None = None,
                 registry: tuple = (), busy: dict | None = None, opencv: dict | None = None,
                 offline: str | None = None) -> None:
        self._platform = platform
        self.files = dict(files or {})
        self.links = dict(links or {})
        self.env = dict(env or {})
        self.binaries = dict(binaries or {})
        self.commands = dict(commands or {})
        self.registry = set(registry)
        self.busy = dict(busy or {})
        self.opencv = dict(opencv or {})
        self.tried: list[str | None] = []
        self.offline = offline  # why the model's server cannot be reached; None: it can
        self.asked: list[str] = []

    def platform(self) -> str:
        return self._platform

    def read_text(self, path: str) -> str | None:
        value = self.files.get(path)
        return value.decode() if isinstance(value, bytes) else value

    def read_bytes(self, path: str) -> bytes | None:
        value = self.files.get(path)
        return value.encode() if isinstance(value, str) else value

    def _paths(self) -> list[str]:
        return [*self.files, *self.links]

    def exists(self, path: str) -> bool:
        prefix = path.rstrip("/") + "/"
        return any(p == path or p.startswith(prefix) for p in self._paths())

    def listdir(self, path: str) -> list[str]:
        prefix = path.rstrip("/") + "/"
        return sorted({p[len(prefix):].split("/")[0] for p in self._paths() if p.startswith(prefix)})

    def link_name(self, path: str) -> str | None:
        return self.links.get(path)

    def which(self, binary: str) -> str | None:
        return self.binaries.get(binary)

    def run(self, argv, timeout: float = 5.0) -> tuple[int, str]:
        return self.commands.get(tuple(argv), (127, ""))

    def registry_has(self, clsid: str) -> bool:
        return clsid in self.registry

    def can_download(self, url: str, timeout: float = 5.0) -> str | None:
        self.asked.append(url)
        return self.offline

    def try_virtual_camera(self, device: str | None) -> str | None:
        self.tried.append(device)
        return self.busy.get(device)

    def probe_opencv_camera(self, index: int) -> list[str] | None:
        return self.opencv.get(index)


# ---------------------------------------------------------------- fake /sys trees

def webcam(number: int, name: str = "Integrated Camera", metadata: bool = True) -> tuple[dict, dict]:
    """A UVC webcam: its capture node, and the metadata node UVC adds beside it."""
    files = {f"{V4L}/video{number}/name": name + "\n", f"{V4L}/video{number}/index": "0\n"}
    links = {f"{V4L}/video{number}/device/driver": "uvcvideo"}
    if metadata:
        files |= {f"{V4L}/video{number + 1}/name": name + "\n", f"{V4L}/video{number + 1}/index": "1\n"}
        links[f"{V4L}/video{number + 1}/device/driver"] = "uvcvideo"
    return files, links


def loopback(number: int = 10, label: str = "arfilter", marker: str = "max_openers") -> tuple[dict, dict]:
    """A v4l2loopback device, recognisable by ``marker``: a sysfs attribute, the driver link or the label."""
    files = {f"{V4L}/video{number}/name": label + "\n"}
    links = {}
    if marker == "max_openers":
        files[f"{V4L}/video{number}/max_openers"] = "10\n"
    elif marker == "driver":
        links[f"{V4L}/video{number}/device/driver"] = "v4l2loopback"
    return files, links


def module(exclusive_caps: str = "Y,N,N,N,N,N,N,N", video_nr: str = "-1,-1,-1,-1,-1,-1,-1,-1") -> dict:
    return {f"{PARAMS}/exclusive_caps": exclusive_caps + "\n", f"{PARAMS}/video_nr": video_nr + "\n"}


def linux(*parts: tuple[dict, dict], files: dict | None = None, **kwargs) -> FakeSystem:
    all_files, all_links = dict(files or {}), {}
    for part_files, part_links in parts:
        all_files |= part_files
        all_links |= part_links
    return FakeSystem("linux", all_files, all_links, **kwargs)


def plist(version: str) -> bytes:
    return plistlib.dumps({"CFBundleShortVersionString": version, "CFBundleName": "OBS"})


# ---------------------------------------------------------------- virtual camera

@pytest.mark.parametrize("system, status, summary, fix", [
    pytest.param(linux(webcam(0)), "fail", "v4l2loopback (the Linux virtual camera) is not loaded", NO_MODULE,
                 id="no-module"),
    pytest.param(linux(webcam(0), files=module()), "fail", "v4l2loopback is loaded but made no device", NO_DEVICE,
                 id="module-without-device"),
    pytest.param(linux(webcam(0), loopback(10), files=module("N,N,N,N,N,N,N,N")), "warn",
                 '/dev/video10 "arfilter" has exclusive_caps off', CAPS_OFF, id="exclusive-caps-off"),
    pytest.param(linux(webcam(0), loopback(10), files=module(),
                       busy={"/dev/video10": "Virtual camera device /dev/video10 is not a video output device."}),
                 "fail", "/dev/video10 is busy (Virtual camera device /dev/video10 is not a video output device.)",
                 BUSY_10, id="busy"),
    pytest.param(linux(loopback(10), files=module(), busy={"/dev/video10": "open failed: Permission denied"}),
                 "fail", "/dev/video10: no permission (open failed: Permission denied)", PERMISSION, id="permission"),
    pytest.param(linux(webcam(0), loopback(10), files=module()), "ok",
                 '/dev/video10 "arfilter" is free (exclusive_caps on)', "", id="all-fine"),
    pytest.param(linux(loopback(10), loopback(11, "second"), files=module("Y,Y,N,N,N,N,N,N"),
                       busy={"/dev/video10": "in use"}), "ok",
                 '/dev/video11 "second" is free (exclusive_caps on)', "", id="first-busy-second-free"),
    pytest.param(linux(loopback(10), loopback(11), files=module("Y,N,N,N,N,N,N,N", "11,10,-1,-1,-1,-1,-1,-1")),
                 "warn", '/dev/video10 "arfilter" has exclusive_caps off', CAPS_OFF, id="caps-follow-video_nr-order"),
    pytest.param(linux(loopback(10), files={f"{PARAMS}/video_nr": "-1\n"}), "ok",
                 '/dev/video10 "arfilter" is free (exclusive_caps unknown)', "", id="caps-unreadable"),
])
def test_linux_virtual_camera(system, status, summary, fix):
    check = check_virtual_camera(system)
    assert (check.name, check.status, check.summary, check.fix) == ("virtual camera", status, summary, fix)
    json.dumps(check.details)


def test_busy_device_is_tried_by_path_and_reported_in_details():
    system = linux(loopback(10), files=module(), busy={"/dev/video10": "busy"})
    check = check_virtual_camera(system)
    assert system.tried == ["/dev/video10"]
    assert check.details["devices"] == [
        {"device": "/dev/video10", "name": "arfilter", "exclusive_caps": True, "error": "busy"}]


@pytest.mark.parametrize("registry, busy, status, summary, fix", [
    ((OBS,), {}, "ok", "OBS Virtual Camera installed and free", ""),
    ((UNITY,), {}, "ok", "Unity Capture installed and free", ""),
    ((), {}, "fail", "no virtual camera installed (neither OBS Virtual Camera nor Unity Capture)", WIN_INSTALL),
    ((OBS, UNITY), {None: "'obs' backend: virtual camera output could not be started"}, "fail",
     "OBS Virtual Camera and Unity Capture installed but busy "
     "('obs' backend: virtual camera output could not be started)", WIN_BUSY),
], ids=["obs", "unity", "nothing", "busy"])
def test_windows_virtual_camera(registry, busy, status, summary, fix):
    check = check_virtual_camera(FakeSystem("win32", registry=registry, busy=busy))
    assert (check.status, check.summary, check.fix) == (status, summary, fix)


@pytest.mark.parametrize("files, busy, status, summary, fix", [
    ({}, {}, "fail", "OBS Studio is not installed", MAC_INSTALL),
    ({PLIST: plist("29.1.3"), DAL: ""}, {}, "fail", "OBS Studio 29.1.3 is too old", MAC_UPDATE),
    ({PLIST: plist("30.2.0")}, {}, "fail",
     "OBS Studio 30.2.0 is installed but its virtual camera was never started", MAC_START_ONCE),
    ({PLIST: plist("30.2.0"), DAL + "/Contents/Info.plist": ""}, {}, "ok",
     "OBS Studio 30.2.0: OBS Virtual Camera is free", ""),
    ({PLIST: plist("31.0.0"), DAL: ""}, {None: "virtual camera output could not be started"}, "fail",
     "OBS Virtual Camera is busy (virtual camera output could not be started)", MAC_BUSY),
], ids=["no-obs", "obs-29", "never-started", "obs-30", "busy"])
def test_macos_virtual_camera(files, busy, status, summary, fix):
    check = check_virtual_camera(FakeSystem("darwin", files, busy=busy))
    assert (check.status, check.summary, check.fix) == (status, summary, fix)


def test_other_os_has_no_virtual_camera():
    check = check_virtual_camera(FakeSystem("sunos5"))
    assert check.status == "fail" and "--sink window" in check.fix


# ---------------------------------------------------------------- cameras

V4L2_CTL_OUT = """ioctl: VIDIOC_ENUM_FMT
\tType: Video Capture

\t[0]: 'MJPG' (Motion-JPEG, compressed)
\t\tSize: Discrete 1280x720
\t\t\tInterval: Discrete 0.033s (30.000 fps)
\t\t\tInterval: Discrete 0.067s (15.000 fps)
\t\tSize: Discrete 1920x1080
\t\t\tInterval: Discrete 0.033s (30.000 fps)
\t[1]: 'YUYV' (YUYV 4:2:2)
\t\tSize: Discrete 640x480
\t\t\tInterval: Discrete 0.033s (30.000 fps)
\t\tSize: Discrete 1280x720
\t\t\tInterval: Discrete 0.100s (10.000 fps)
\t[2]: 'YU12' (Planar YUV 4:2:0)
\t\tSize: Stepwise 16x16 - 3840x2160 with step 1/1
\t\t\tInterval: Stepwise 0.033s - 1.000s with step 0.000s (1.000-30.000 fps)
"""


def test_v4l2_ctl_modes_merge_formats_and_keep_the_best_rate():
    assert parse_v4l2_modes(V4L2_CTL_OUT) == ["3840x2160@30", "1920x1080@30", "1280x720@30", "640x480@30"]
    assert parse_v4l2_modes("") == []


@pytest.mark.parametrize("system, status, summary, fix, indices", [
    pytest.param(linux(), "fail", "no camera found", NO_CAMERA, [], id="linux-no-camera"),
    pytest.param(linux(loopback(10, marker="driver"), files=module()), "fail", "no camera found", NO_CAMERA, [],
                 id="linux-only-loopback"),
    pytest.param(linux(webcam(0), loopback(10), files=module(), opencv={0: ["1280x720@30", "640x480@30"]}),
                 "ok", 'camera 0 "Integrated Camera" (up to 1280x720@30)', "", [0], id="linux-webcam-and-loopback"),
    pytest.param(linux(webcam(0), files=module(), binaries={"v4l2-ctl": "/usr/bin/v4l2-ctl"},
                       commands={("/usr/bin/v4l2-ctl", "--list-formats-ext", "-d", "/dev/video0"): (0, V4L2_CTL_OUT)}),
                 "ok", 'camera 0 "Integrated Camera" (up to 3840x2160@30)', "", [0], id="linux-v4l2-ctl"),
    pytest.param(linux(webcam(0), opencv={}), "fail", 'camera 0 "Integrated Camera" (cannot open it): in use or not '
                 "working", NO_CAMERA, [0], id="linux-camera-in-use"),
    pytest.param(linux(loopback(0, "Dummy video device (0x0000)", marker="label"), webcam(2), files=module(),
                       opencv={2: ["640x480@30"]}),
                 "warn", 'camera 2 "Integrated Camera" (up to 640x480@30); camera 0 is not a webcam',
                 "arfilter run reads camera 0 unless told: start it with arfilter run --source 2", [2],
                 id="linux-loopback-is-video0"),
    pytest.param(linux(webcam(0, metadata=False), webcam(4, "USB Camera"), loopback(2, "OBS Virtual Camera", "label"),
                       files=module(video_nr="9,-1,-1,-1,-1,-1,-1,-1") | {f"{V4L}/video9/name": "x\n"},
                       opencv={0: ["1280x720@30"], 4: ["1920x1080@60"]}),
                 "ok", 'camera 0 "Integrated Camera" (up to 1280x720@30), camera 4 "USB Camera" (up to 1920x1080@60)',
                 "", [0, 4], id="linux-two-webcams"),
    pytest.param(FakeSystem("win32", opencv={0: ["1280x720@30"]}), "ok",
                 "camera 0 (up to 1280x720@30) (names not available here)", "", [0], id="windows-camera"),
    pytest.param(FakeSystem("win32"), "fail", "no camera found", NO_CAMERA, [], id="windows-no-camera"),
    pytest.param(FakeSystem("darwin"), "fail", "no camera found", NO_CAMERA + MAC_PERMISSION, [],
                 id="macos-no-camera"),
])
def test_cameras(system, status, summary, fix, indices):
    check = check_camera(system)
    assert (check.name, check.status, check.summary, check.fix) == ("camera", status, summary, fix)
    assert [camera["index"] for camera in check.details["cameras"]] == indices
    json.dumps(check.details)


def test_loopback_and_metadata_nodes_are_skipped_with_reasons():
    check = check_camera(linux(webcam(0), loopback(10), files=module(), opencv={0: []}))
    assert check.details["skipped"] == [
        {"device": "/dev/video1", "why": "second node of a camera (metadata)"},
        {"device": "/dev/video10", "why": "v4l2loopback output (the virtual camera)"},
    ]


# ---------------------------------------------------------------- model

def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_model_not_downloaded_yet_is_a_warning(tmp_path):
    check = check_model(FakeSystem(env={"ARFILTER_CACHE_DIR": str(tmp_path)}))
    assert (check.status, check.summary, check.fix) == (
        "warn", f"not downloaded yet ({tmp_path / 'face_landmarker.task'})", MODEL_MISSING)


OFFLINE_FIX = ("on a computer with internet download {url} and save it as {path} "
               "(or point --model / ARFILTER_MODEL at it)")


def test_a_missing_model_that_cannot_be_downloaded_fails(tmp_path):
    """Offline with an empty cache, ``run`` would stop at once: a fail, saying how to bring the file over."""
    system = FakeSystem(env={"ARFILTER_CACHE_DIR": str(tmp_path)}, offline="cannot look up storage.googleapis.com")
    check = check_model(system)
    path = tmp_path / "face_landmarker.task"
    assert (check.status, check.summary, check.fix) == (
        "fail", f"not downloaded yet ({path}), and it cannot be downloaded from here "
                "(cannot look up storage.googleapis.com)", OFFLINE_FIX.format(url=MODEL_URL, path=path))
    assert system.asked == [MODEL_URL] and not path.exists()


def test_a_model_in_place_never_asks_the_network(tmp_path):
    (tmp_path / "face_landmarker.task").write_bytes(b"fake model")
    system = FakeSystem(env={"ARFILTER_CACHE_DIR": str(tmp_path)}, offline="offline")
    assert check_model(system, expected_sha256=_sha(b"fake model")).status == "ok" and system.asked == []


def _closed_port_url() -> str:
    import socket

    with socket.socket() as probe:  # a port nobody listens on: the connection is refused, as offline
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/face_landmarker.task"


def test_the_real_probe_says_a_server_that_does_not_answer_cannot_give_the_model(tmp_path):
    """No fake: the real System tries to connect (nothing is sent) to a server that refuses."""
    system = System()
    system.env = {"ARFILTER_CACHE_DIR": str(tmp_path / "empty cache")}
    url = _closed_port_url()
    check = check_model(system, url=url)
    assert check.status == "fail" and check.summary.startswith(
        f"not downloaded yet ({tmp_path / 'empty cache' / 'face_landmarker.task'}), and it cannot be downloaded "
        "from here (cannot reach 127.0.0.1 (")
    assert check.details["download"].startswith("cannot reach 127.0.0.1")
    assert not (tmp_path / "empty cache").exists(), "doctor never creates the cache"


def test_doctor_fails_offline_without_a_model_and_names_it_first(tmp_path, capsys):
    system = linux(webcam(0), loopback(10), files=module(), opencv={}, env={"ARFILTER_CACHE_DIR": str(tmp_path),
                                                                           "DISPLAY": "screenhost:0"},
                   offline="cannot look up storage.googleapis.com")
    args = argparse.Namespace(json=False, for_="virtualcam", model=None)
    assert cmd_doctor(args, system) == 1
    out = capsys.readouterr().out.rstrip("\n").splitlines()
    assert [line.split()[:2] for line in out[1:] if not line.startswith(" ")][:4] == [
        ["camera", "FAIL"], ["virtual", "camera"], ["model", "FAIL"], ["display", "OK"]]
    assert out[-1] == (f"Not ready: model: not downloaded yet ({tmp_path / 'face_landmarker.task'}), and it cannot "
                       "be downloaded from here (cannot look up storage.googleapis.com) (and 1 more FAIL line above); "
                       "fix the FAIL lines above, then run arfilter doctor again.")
    assert cmd_doctor(argparse.Namespace(json=True, for_="virtualcam", model=None), system) == 1
    assert json.loads(capsys.readouterr().out)["blocking"] == ["model", "camera"]


@pytest.mark.parametrize("content, expected_of, status, summary, fix", [
    (b"fake model", b"fake model", "ok", "{path} (checksum ok)", ""),
    (b"truncated", b"fake model", "warn", "{path} is damaged (checksum mismatch)",
     f"it will be downloaded again on first run ({MODEL_URL}), or save a fresh copy there yourself"),
], ids=["good", "damaged"])
def test_cached_model(tmp_path, content, expected_of, status, summary, fix):
    path = tmp_path / "face_landmarker.task"
    path.write_bytes(content)
    check = check_model(FakeSystem(env={"ARFILTER_CACHE_DIR": str(tmp_path)}), expected_sha256=_sha(expected_of))
    assert (check.status, check.summary, check.fix) == (status, summary.format(path=path), fix)


def test_model_with_bad_checksum_fails_with_the_download_address(tmp_path):
    path = tmp_path / "model.task"
    path.write_bytes(b"not the model")
    check = check_model(FakeSystem(), path, expected_sha256=_sha(b"the model"))
    assert check.status == "fail"
    assert check.summary == f"{path}: checksum does not match Google's face_landmarker.task (float16, v1)"
    assert check.fix == f"download it again from {MODEL_URL} and save it as {path}"
    assert check.details["sha256"] == _sha(b"not the model")


@pytest.mark.parametrize("where, env_named, status, summary, fix", [
    ("missing.task", False, "fail", "--model {path}: no such file",
     "check the path in --model, or leave --model out to download the model automatically"),
    ("missing.task", True, "fail", "ARFILTER_MODEL={path}: no such file",
     "check the path in ARFILTER_MODEL, or leave ARFILTER_MODEL out to download the model automatically"),
    ("", False, "fail", "--model {path}: is a folder", "point --model at the face_landmarker.task file itself"),
], ids=["missing", "missing-env", "folder"])
def test_named_model_problems(tmp_path, where, env_named, status, summary, fix):
    path = tmp_path / where if where else tmp_path
    system = FakeSystem(env={"ARFILTER_MODEL": str(path)} if env_named else {})
    check = check_model(system, None if env_named else path)
    assert (check.status, check.summary, check.fix) == (status, summary.format(path=path), fix)


def test_the_real_model_has_the_real_checksum(model_path):
    check = check_model(FakeSystem(env={"ARFILTER_MODEL": str(model_path)}))
    assert (check.status, check.summary) == ("ok", f"{model_path} (checksum ok, from ARFILTER_MODEL)")
    assert check.details["sha256"] == MODEL_SHA256


# ---------------------------------------------------------------- display

@pytest.mark.parametrize("platform, env, target, status, summary, fix", [
    ("linux", {}, "virtualcam", "warn", "no DISPLAY is set", DISPLAY_WARN),
    ("linux", {}, "window", "fail", "no DISPLAY is set", DISPLAY_FAIL),
    ("linux", {}, "kiosk", "fail", "no DISPLAY is set", DISPLAY_KIOSK),
    ("linux", {"WAYLAND_DISPLAY": "wayland-0"}, "window", "fail",
     "no DISPLAY is set (Wayland without XWayland: the window needs X)", DISPLAY_FAIL),
    ("linux", {"DISPLAY": "screenhost:0"}, "window", "ok", "windows can open on DISPLAY=screenhost:0", ""),
    ("win32", {}, "kiosk", "ok", "windows can open on the desktop", ""),
    ("darwin", {}, "window", "ok", "windows can open on the desktop", ""),
])
def test_display(platform, env, target, status, summary, fix):
    check = check_display(FakeSystem(platform, env=env), target)
    assert (check.status, check.summary, check.fix) == (status, summary, fix)


# ---------------------------------------------------------------- the report

def healthy_linux(tmp_path, **kwargs) -> FakeSystem:
    (tmp_path / "face_landmarker.task").write_bytes(b"fake model")
    return linux(webcam(0), loopback(10), files=module(), opencv={0: ["1280x720@30"]},
                 env={"ARFILTER_CACHE_DIR": str(tmp_path), "DISPLAY": "screenhost:0"}, **kwargs)


def test_everything_fine_is_ready(tmp_path, capsys):
    args = argparse.Namespace(json=False, for_="virtualcam", model=None)
    checks = run_checks(healthy_linux(tmp_path), expected_sha256=_sha(b"fake model"))
    assert [(c.name, c.status) for c in checks] == [
        ("camera", "ok"), ("virtual camera", "ok"), ("model", "ok"), ("display", "ok"), ("tracking", "ok")]
    assert ready(checks)
    assert format_table(checks).endswith("Ready: arfilter run can start.")
    # Against the real checksum the cached fake is damaged: run downloads it again, so a warning, still ready.
    assert cmd_doctor(args, healthy_linux(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "model           WARN" in out and out.endswith("Ready: arfilter run can start (see the warnings above).\n")


def test_cmd_doctor_ready_returns_zero(tmp_path, capsys, model_path):
    system = linux(webcam(0), loopback(10), files=module(), opencv={0: ["1280x720@30"]}, env={})
    assert cmd_doctor(argparse.Namespace(json=False, for_="virtualcam", model=str(model_path)), system) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["check", "status", "summary"]
    assert "Ready: arfilter run can start (see the warnings above)." in out  # no DISPLAY: a warning


def test_cmd_doctor_json(capsys, model_path):
    system = linux(webcam(0), files=module(), opencv={0: ["640x480@30"]})
    assert cmd_doctor(argparse.Namespace(json=True, for_="virtualcam", model=str(model_path)), system) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ready"] is False
    assert [(c["name"], c["status"]) for c in report["checks"]] == [
        ("camera", "ok"), ("virtual camera", "fail"), ("model", "ok"), ("display", "warn"), ("tracking", "ok")]
    vcam = report["checks"][1]
    assert vcam["fix"] == NO_DEVICE and vcam["details"] == {"module_loaded": True, "devices": []}
    assert set(report["checks"][0]) == {"name", "status", "summary", "fix", "details"}


@pytest.mark.parametrize("target, display, vcam, is_ready", [
    ("virtualcam", "warn", "fail", False),
    ("window", "fail", "warn", False),
    ("kiosk", "fail", "warn", False),
])
def test_target_decides_what_blocks(model_path, target, display, vcam, is_ready):
    checks = run_checks(linux(webcam(0), opencv={0: []}), target=target, model=model_path)
    statuses = {check.name: check.status for check in checks}
    assert (statuses["display"], statuses["virtual camera"], ready(checks)) == (display, vcam, is_ready)


def test_a_window_does_not_need_the_virtual_camera(model_path):
    system = linux(webcam(0), opencv={0: []}, env={"DISPLAY": "screenhost:0"})
    checks = run_checks(system, target="window", model=model_path)
    vcam = checks[1]
    assert vcam.status == "warn" and vcam.summary.endswith("(only needed for the virtual camera)")
    assert vcam.fix == NO_MODULE and ready(checks)


class BrokenSystem(FakeSystem):
    def listdir(self, path: str) -> list[str]:
        raise RuntimeError("sysfs exploded")


def test_a_check_that_breaks_becomes_a_fail_row(model_path, capsys):
    args = argparse.Namespace(json=False, for_="virtualcam", model=str(model_path))
    assert cmd_doctor(args, BrokenSystem(files=module())) == 1
    out = capsys.readouterr().out
    assert "camera          FAIL    the check itself failed: RuntimeError: sysfs exploded" in out
    assert "fix: this is a bug in arfilter doctor; please report this line" in out


def test_format_table_layout():
    checks = [Check("camera", "ok", "camera 0"), Check("virtual camera", "fail", "not loaded", "load it"),
              Check("display", "warn", "no DISPLAY is set", "use a desktop")]
    assert format_table(checks) == "\n".join([
        "check           status  summary",
        "camera          OK      camera 0",
        "virtual camera  FAIL    not loaded",
        "                        fix: load it",
        "display         WARN    no DISPLAY is set",
        "                        fix: use a desktop",
        "",
        "Not ready: virtual camera: not loaded; fix the FAIL lines above, then run arfilter doctor again.",
    ])
    assert json.loads(checks_to_json(checks))["checks"][1] == {
        "name": "virtual camera", "status": "fail", "summary": "not loaded", "fix": "load it", "details": {}}


def test_check_rejects_unknown_status():
    with pytest.raises(ValueError, match="status must be one of"):
        Check("camera", "maybe", "?")


def test_doctor_arguments():
    parser = argparse.ArgumentParser(prog="arfilter doctor")
    add_doctor_arguments(parser)
    assert vars(parser.parse_args([])) == {"json": False, "for_": "virtualcam", "model": None}
    assert vars(parser.parse_args(["--json", "--for", "kiosk", "--model", "m.task"])) == {
        "json": True, "for_": "kiosk", "model": "m.task"}
    with pytest.raises(SystemExit):
        parser.parse_args(["--for", "zoom"])


# ---------------------------------------------------------------- this machine, for real

@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the real run is checked on Linux")
def test_real_checks_on_this_machine(model_path, capsys):
    """No fakes: the report must match what this machine really has."""
    if Path("/sys/module/v4l2loopback").exists():
        pytest.skip("v4l2loopback is loaded here; this test checks the report on a machine without it")
    args = argparse.Namespace(json=True, for_="virtualcam", model=str(model_path))
    assert cmd_doctor(args) == 1
    report = json.loads(capsys.readouterr().out)
    checks = {check["name"]: check for check in report["checks"]}
    assert report["ready"] is False
    assert checks["virtual camera"]["status"] == "fail"
    assert checks["virtual camera"]["summary"] == "v4l2loopback (the Linux virtual camera) is not loaded"
    assert checks["virtual camera"]["fix"] == NO_MODULE
    assert checks["model"]["status"] == "ok"
    if not Path("/sys/class/video4linux").exists():
        assert checks["camera"]["status"] == "fail" and checks["camera"]["fix"] == NO_CAMERA
