"""arfilter stores no one and sends nothing: the README's Privacy section, checked from outside.

The people in front of the camera may be survivors of violence. Each session
here is a real ``python -m arfilter`` process whose HOME, XDG folders, TMPDIR,
model cache and working folder are fresh folders of this test, on an offline
machine: ``tests/no_network/sitecustomize.py`` records every network attempt
the process makes from Python and refuses everything beyond this computer,
and every path it opens for writing from Python; its sockets and open files
are also watched in /proc, which covers native code (MediaPipe, FFmpeg).

After each session every file in those folders is checked, by extension and
by its first bytes, for pictures, videos, arrays and core dumps; Python must
not have written anywhere else; and the session must never have held a file
in /tmp, /var/tmp or /dev/shm (seen in /proc). Only the session's own folders
and its own process are watched, never the machine's /tmp as a whole: other
programs (other test runs) write there at the same time. Logs and crash
reports are checked for pixel data. Linux only (/proc).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
NO_NETWORK = REPO / "tests" / "no_network"
MODEL_HOST = "storage.googleapis.com"
SYSTEM_TEMP = (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"))
PICTURE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".mp4", ".m4v", ".mov",
                    ".avi", ".mkv", ".webm", ".y4m", ".npy", ".npz"}


# --- the sandbox ---------------------------------------------------------------------------------

class Box:
    """Fresh folders for one session: everything it may write to, and nothing else of ours."""

    def __init__(self, root: Path) -> None:
        self.root = root / "box"
        self.logs = root / "logs"  # the test's own files, outside the box
        names = ("home", "xdg_cache", "xdg_config", "xdg_data", "xdg_state", "xdg_runtime", "tmp", "model_cache", "cwd")
        for name in names:
            setattr(self, name, self.root / name)
            (self.root / name).mkdir(parents=True)
        self.xdg_runtime.chmod(0o700)
        self.logs.mkdir()

    def env(self, *, model: Path | None, debug: bool = False, **extra: str) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
            "HOME": str(self.home), "XDG_CACHE_HOME": str(self.xdg_cache), "XDG_CONFIG_HOME": str(self.xdg_config),
            "XDG_DATA_HOME": str(self.xdg_data), "XDG_STATE_HOME": str(self.xdg_state),
            "XDG_RUNTIME_DIR": str(self.xdg_runtime),
            "TMPDIR": str(self.tmp), "TEMP": str(self.tmp), "TMP": str(self.tmp),
            "ARFILTER_CACHE_DIR": str(self.model_cache),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(NO_NETWORK), os.environ.get("PYTHONPATH")])),
            "PYTHONDONTWRITEBYTECODE": "1",  # Python's own .pyc files are not the session's writes
        }
        if model is not None:
            env["ARFILTER_MODEL"] = str(model)
        if debug:
            env["ARFILTER_DEBUG"] = "1"
        env.update(extra)
        return env  # no DISPLAY (headless), no proxy variables

    def start(self, name: str, args: list[str], env: dict[str, str], **popen) -> "Session":
        return Session(self, name, args, env, **popen)


class Session:
    """One ``python -m arfilter`` process in a box: its stderr, network and file logs, and a /proc watch."""

    def __init__(self, box: Box, name: str, args: list[str], env: dict[str, str], **popen) -> None:
        self.box = box
        self.err = box.logs / f"{name}.stderr"
        self.netlog = box.logs / f"{name}.net.jsonl"
        self.filelog = box.logs / f"{name}.files.jsonl"
        env = {**env, "ARFILTER_TEST_NETLOG": str(self.netlog), "ARFILTER_TEST_FILELOG": str(self.filelog)}
        with open(self.err, "wb") as handle:
            self.process = subprocess.Popen([sys.executable, "-m", "arfilter", *args], cwd=box.cwd, env=env,
                                            stdout=handle, stderr=handle, **popen)
        self.watch = ProcWatch(self.process.pid)
        self.code: int | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def stderr(self) -> str:
        return self.err.read_text(errors="replace")

    def wait(self, timeout: float) -> int:
        try:
            self.code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"the session did not end within {timeout:g} s:\n{self.stderr[-3000:]}")
        finally:
            self.watch.stop()
        return self.code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.watch.stop()

    def network(self) -> list[dict]:
        return _jsonl(self.netlog)

    def written(self) -> list[str]:
        """Paths the session opened for writing or created from Python."""
        return [entry["path"] for entry in _jsonl(self.filelog)]

    def check_files(self) -> None:
        """Python wrote only inside the box, and the session held no file in the system's temp folders.

        Both come from the session itself (its write log, its /proc entries), so files other
        programs create in /tmp meanwhile can neither fail nor hide anything here.
        """
        root = str(self.box.root) + os.sep
        outside = sorted({p for p in self.written() if not p.startswith(root) and p != os.devnull})
        assert not outside, f"the session wrote outside its HOME, XDG, TMPDIR, cache and working folders: {outside}"
        test_folder = str(self.box.root.parent) + os.sep  # the box, the logs and the inputs: this test's tmp_path
        own_code = str(REPO) + os.sep  # a checkout in /tmp (tests/mutants.py) is read, not used as temp space
        held = sorted(path for path in self.watch.files if not path.startswith((test_folder, own_code))
                      and any(path.startswith(str(folder) + os.sep) for folder in SYSTEM_TEMP))
        assert not held, f"the session used the system temp folders although TMPDIR pointed elsewhere: {held}"


def _jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- what a session left behind ----------------------------------------------------------------------

def _kind(path: Path) -> str | None:
    """What a file is by its first bytes, if it is a picture, a video or an array; else None."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(64)
    except OSError:
        return None
    if head[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if head[4:8] in (b"ftyp", b"moov", b"mdat"):
        return "MP4/MOV"
    if head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"WEBP"):
        return "AVI" if head[8:12] == b"AVI " else "WebP"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "MKV/WebM"
    if head[:6] == b"\x93NUMPY":
        return "NPY"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[:9] == b"YUV4MPEG2":
        return "Y4M"
    if head[:2] == b"BM" and len(head) >= 6 and int.from_bytes(head[2:6], "little") == path.stat().st_size:
        return "BMP"
    if head[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(path) as archive:
                if any(name.endswith(".npy") for name in archive.namelist()):
                    return "NPZ"
        except (zipfile.BadZipFile, OSError):
            pass
    if head[:4] == b"\x7fELF" and len(head) >= 18 and struct.unpack("<H", head[16:18])[0] == 4:
        return "core dump"
    return None


def _pictures(root: Path) -> dict[str, str]:
    """Every file under ``root`` that is a picture, video, array or core dump, by name or by content."""
    found = {}
    for path in root.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        kind = _kind(path)
        if kind is None and path.suffix.lower() in PICTURE_SUFFIXES:
            kind = f"named {path.suffix}"
        if kind is None and re.fullmatch(r"core(\.\d+)?", path.name):
            kind = "named like a core dump"
        if kind is not None:
            found[str(path.relative_to(root))] = kind
    return found


# --- the process's sockets, from /proc (native code included) ------------------------------------------

def _address(text: str) -> tuple[str, int]:
    host, port = text.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        ip = socket.inet_ntop(socket.AF_INET, raw[::-1])
    else:
        ip = socket.inet_ntop(socket.AF_INET6, b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
    return ip, int(port, 16)


def _is_loopback(ip: str) -> bool:
    import ipaddress

    address = ipaddress.ip_address(ip)
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


class ProcWatch:
    """Polls /proc/PID: the files it holds open or mapped, and its internet sockets (local, remote, state)."""

    TABLES = ("tcp", "tcp6", "udp", "udp6", "raw", "raw6")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.sockets: set[tuple[str, str, int, str, int, str]] = set()  # proto, local ip, port, remote ip, port, state
        self.files: set[str] = set()
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(0.05)

    def poll(self) -> None:
        inodes = set()
        try:
            for fd in os.listdir(f"/proc/{self.pid}/fd"):
                try:
                    target = os.readlink(f"/proc/{self.pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
                elif target.startswith("/"):
                    self.files.add(target)
        except OSError:
            return  # gone
        try:
            for line in Path(f"/proc/{self.pid}/maps").read_text().splitlines():
                fields = line.split(maxsplit=5)
                if len(fields) == 6 and fields[5].startswith("/"):
                    self.files.add(fields[5])
        except OSError:
            pass
        if inodes:
            for table in self.TABLES:
                try:
                    lines = Path(f"/proc/{self.pid}/net/{table}").read_text().splitlines()[1:]
                except OSError:
                    continue
                for line in lines:
                    fields = line.split()
                    if len(fields) > 9 and fields[9] in inodes:
                        local, remote = _address(fields[1]), _address(fields[2])
                        self.sockets.add((table, *local, *remote, fields[3]))
        self.polls += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def beyond_loopback(self) -> list[tuple]:
        return sorted(s for s in self.sockets
                      if not _is_loopback(s[1]) or (s[3] not in ("0.0.0.0", "::") and not _is_loopback(s[3])))


# --- logs ----------------------------------------------------------------------------------------------

_NUMBER_RUN = re.compile(r"(?:\b\d{1,3}\b[\s,\[\]()]+){8,}")


def pixel_data(text: str) -> list[str]:
    """Reasons ``text`` looks like it holds image data (an array's repr, a list of values, a blob)."""
    reasons = []
    run = _NUMBER_RUN.search(text)
    if run:
        reasons.append(f"a run of numbers like pixel values: {run.group(0)[:80]!r}")
    for marker in ("array(", "dtype=uint8", "[[["):
        if marker in text:
            reasons.append(f"a numpy repr ({marker!r})")
    blob = re.search(r"[A-Za-z0-9+/=]{200,}|(?:\\x[0-9a-f]{2}){16,}", text)
    if blob:
        reasons.append(f"an encoded blob: {blob.group(0)[:60]!r}...")
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text):
        reasons.append("raw binary bytes")
    return reasons


def _assert_clean_log(text: str, what: str, max_lines: int = 40) -> None:
    lines = text.splitlines()
    assert "Traceback" not in text, f"{what}: a traceback on stderr:\n{text[-3000:]}"
    assert len(lines) <= max_lines and len(text) <= 8000, f"{what}: stderr is not short ({len(lines)} lines):\n{text[:3000]}"
    reasons = pixel_data(text)
    assert not reasons, f"{what}: stderr holds frame data ({'; '.join(reasons)}):\n{text[:3000]}"


@pytest.fixture
def box(tmp_path) -> Box:
    return Box(tmp_path)


def _clip(shared_media: Path, name: str) -> Path:
    path = shared_media / name
    if not path.is_file():
        pytest.fail(f"{path} is missing: the privacy tests need the shared face clips beside the checkout (../shared/media)")
    return path


# --- the tests -------------------------------------------------------------------------------------------

@pytest.mark.slow  # a real arfilter session
def test_a_live_session_with_the_panel_writes_no_picture_and_listens_only_on_loopback(box, shared_media, model_path):
    """``arfilter run`` with captions, a QR code, stats, rotating looks and the control panel, stopped by SIGTERM:
    no picture anywhere, nothing in /tmp, and the only network use is the panel's bind on 127.0.0.1."""
    clip = _clip(shared_media, "glasses_smile_512.mp4")
    (box.cwd / "event.toml").write_text('[campaign]\ncaption = "#NoMoreSilence"\nhelpline = "Helpline 0808 2000 247"\n'
                                        'qr_url = "https://nomoresilence.campaign/help"\n', encoding="utf-8")
    port = _free_port()
    session = box.start("run-panel", ["run", "--config", "event.toml", "--source", str(clip), "--sink", "null",
                                      "--control", f"127.0.0.1:{port}", "--show-stats", "--rotate-every", "1"],
                        box.env(model=model_path))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        frames = 0
        while frames < 60:
            assert session.process.poll() is None, f"the session ended early:\n{session.stderr[-3000:]}"
            assert time.monotonic() < deadline, f"no frames through the panel in 90 s:\n{session.stderr[-3000:]}"
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                    frames = json.loads(response.read()).get("frames", 0)
            except OSError:
                pass
            time.sleep(0.2)
        with urllib.request.urlopen(f"{base}/preview.jpg", timeout=5) as response:
            assert response.read(3) == b"\xff\xd8\xff", "the panel's preview works (in memory, over loopback)"
        session.process.send_signal(signal.SIGTERM)
        code = session.wait(30)
    finally:
        session.kill()
    assert code == 0, f"SIGTERM ends the session cleanly (exit {code}):\n{session.stderr[-3000:]}"
    _assert_clean_log(session.stderr, "arfilter run with the panel")
    assert _pictures(box.root) == {}, "the session wrote pictures, videos or arrays nobody asked for"
    session.check_files()
    log = session.network()
    assert log, "the network recorder did not run (tests/no_network must be on PYTHONPATH)"
    assert all(entry["allowed"] and entry["host"] == "127.0.0.1" for entry in log), f"network use beyond loopback: {log}"
    assert {entry["call"] for entry in log} <= {"getaddrinfo", "bind"}, f"more than binding the panel: {log}"
    assert [(e["host"], e["port"]) for e in log if e["call"] == "bind"] == [("127.0.0.1", port)], log
    watch = session.watch
    assert watch.polls > 0, f"could not read /proc/{session.pid}/fd to watch the session's sockets"
    assert any(s[0] == "tcp" and s[2] == port and s[5] == "0A" for s in watch.sockets), \
        f"the panel's listening socket was not seen in /proc: {watch.sockets}"
    assert watch.beyond_loopback() == [], f"sockets beyond this computer (seen in /proc): {watch.beyond_loopback()}"


@pytest.mark.slow  # real arfilter sessions
def test_apply_and_a_plain_run_write_only_the_named_file_and_open_no_socket(box, shared_media, model_path):
    """``arfilter apply`` writes the file the user named and nothing else; neither it nor a plain
    ``arfilter run`` touches the network at all (the model is present)."""
    clip = _clip(shared_media, "grimace_green_512.mp4")
    named = box.cwd / "my result.mp4"
    for name, args in (("apply", ["apply", str(clip), "-o", str(named)]),
                       ("run", ["run", "--source", str(clip), "--sink", "null"])):
        session = box.start(name, args, box.env(model=model_path))
        code = session.wait(120)
        assert code == 0, f"arfilter {name} failed:\n{session.stderr[-3000:]}"
        _assert_clean_log(session.stderr, f"arfilter {name}")
        assert session.network() == [], f"arfilter {name} used the network: {session.network()}"
        assert session.watch.polls > 0, f"could not read /proc/{session.pid}/fd to watch the session's sockets"
        assert session.watch.sockets == set(), f"arfilter {name} held internet sockets: {session.watch.sockets}"
        session.check_files()
    assert _pictures(box.root) == {"cwd/my result.mp4": "MP4/MOV"}, "only the file the user named is a picture or video"
    capture = cv2.VideoCapture(str(named))
    assert capture.read()[0], "the named output is a real video"
    capture.release()


def _heard(listener: socket.socket) -> list[str]:
    """The first line of each connection waiting on ``listener`` (which is non-blocking)."""
    lines = []
    while True:
        try:
            connection, _ = listener.accept()
        except BlockingIOError:
            return lines
        with connection:
            connection.settimeout(2)
            try:
                lines.append(connection.recv(200).split(b"\r\n")[0].decode("ascii", "replace"))
            except OSError as exc:
                lines.append(f"(a connection, nothing read: {exc})")


@pytest.mark.slow  # a real arfilter session
def test_mediapipes_usage_reports_never_leave_not_even_through_the_users_proxy(box, shared_media, model_path):
    """MediaPipe's wheel posts usage reports to play.googleapis.com from native code (its own libcurl) while
    a task runs and as it closes. A user's https proxy would carry them out (without one they go straight
    out); a listener standing in for that proxy must hear nothing from a whole session."""
    clip = _clip(shared_media, "grimace_green_512.mp4")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        proxy = f"http://127.0.0.1:{listener.getsockname()[1]}"
        env = box.env(model=model_path, https_proxy=proxy, HTTPS_PROXY=proxy, all_proxy=proxy)
        session = box.start("proxy", ["run", "--source", str(clip), "--sink", "null"], env)
        code = session.wait(120)
        assert code == 0, f"arfilter run failed:\n{session.stderr[-3000:]}"
        heard = _heard(listener)  # a connection made before the session ended waits in the backlog
    assert heard == [], f"the session sent requests out through the user's proxy: {heard}"
    _assert_clean_log(session.stderr, "arfilter run behind a proxy")


@pytest.mark.slow  # a real arfilter session
def test_without_the_model_the_download_is_the_only_connection_and_offline_it_fails_in_one_line(box, shared_media):
    """No model and an empty cache on an offline machine: the one connection tried is the model download
    from storage.googleapis.com, nothing is left in the cache, and the user gets one clear line."""
    clip = _clip(shared_media, "grimace_green_512.mp4")
    session = box.start("no-model", ["run", "--source", str(clip), "--sink", "null"], box.env(model=None))
    code = session.wait(120)
    lines = session.stderr.splitlines()
    assert code == 2 and len(lines) == 1, f"one line and exit code 2, got {code}:\n{session.stderr[-3000:]}"
    assert lines[0].startswith("arfilter: error: no face model yet and it could not be downloaded"), lines[0]
    assert "https://storage.googleapis.com/" in lines[0] and str(box.model_cache) in lines[0], \
        "the line says where to get the model and where to put it"
    _assert_clean_log(session.stderr, "arfilter run without the model")
    log = session.network()
    assert {entry["host"] for entry in log} == {MODEL_HOST} and not any(e["allowed"] for e in log), \
        f"only the model download is tried (and refused, offline): {log}"
    # The renderer's compiled kernels (code, arfilter.core.compiled) may stay; no model file, whole or partial.
    left = [path.name for path in box.model_cache.iterdir() if path.name != "compiled"]
    assert left == [], f"nothing (not even a partial download) is left in the cache: {left}"
    assert not any(path.suffix in (".task", ".part") for path in box.model_cache.rglob("*")), "no model file anywhere"
    assert _pictures(box.root) == {}
    session.check_files()


def test_a_failed_frame_names_the_error_it_came_from_without_its_message(shared_media, capsys):
    """A native library's ``SystemError`` ("returned a result with an exception set") is only a symptom:
    the warning names the error it came from too (its type and where), still without any message."""
    from arfilter.session.loop import run_pipeline
    from arfilter.io.sinks import NullSink
    from arfilter.core.types import Frame

    image = cv2.imread(str(_clip(shared_media, "portrait_720p.jpg")))

    def render(picture: np.ndarray, faces) -> np.ndarray:
        try:
            raise ValueError(f"bad {picture}")
        except ValueError as cause:
            raise SystemError(f"<ufunc 'multiply'> returned a result with an exception set {picture}") from cause

    with NullSink() as sink:
        run_pipeline([Frame(image=image, timestamp=0.0, index=0)], lambda frame: (), render, sink)
    warning = capsys.readouterr().err.strip()
    assert "SystemError in test_privacy.py" in warning and ", from ValueError in test_privacy.py" in warning, warning
    assert len(warning) <= 200 and not pixel_data(warning), warning


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "ARFILTER_DEBUG=1"])
@pytest.mark.parametrize("message", ["array", "list"])
def test_a_frame_that_cannot_be_processed_is_reported_in_one_short_line_without_its_pixels(
        shared_media, monkeypatch, capsys, debug, message):
    """The loop's "frame could not be processed" warning names the failure, never the frame: an exception
    whose message holds the image (as numpy's and many libraries' do) must not put pixels in the log."""
    from arfilter.session.loop import run_pipeline
    from arfilter.io.sinks import NullSink
    from arfilter.core.types import Frame

    if debug:
        monkeypatch.setenv("ARFILTER_DEBUG", "1")
    else:
        monkeypatch.delenv("ARFILTER_DEBUG", raising=False)
    image = cv2.imread(str(_clip(shared_media, "portrait_720p.jpg")))
    frames = [Frame(image=image.copy(), timestamp=i / 30.0, index=i) for i in range(3)]

    def render(picture: np.ndarray, faces) -> np.ndarray:
        if message == "array":
            raise ValueError(f"bad {picture}")
        row, column = picture.shape[0] // 2, picture.shape[1] // 2  # on the face
        raise RuntimeError(f"odd pixels {picture[row, column:column + 4].tolist()} in row {row}")

    with NullSink() as sink:
        stats = run_pipeline(frames, lambda frame: (), render, sink)
    stderr = capsys.readouterr().err
    lines = stderr.splitlines()
    assert stats.bad_frames == 3 and stats.frames == 3, "every failed frame is passed through and counted"
    warnings = [line for line in lines if "could not be processed" in line]
    # One line; with ARFILTER_DEBUG=1 a stack (files and lines, no values) may follow it.
    assert len(warnings) == 1 and (len(lines) == 1 or debug and len(lines) <= 40), \
        f"one short warning, got {len(lines)} lines:\n{stderr[:2000]}"
    assert ("ValueError" if message == "array" else "RuntimeError") in warnings[0], "it says what failed"
    assert len(warnings[0]) <= 200, f"the warning is short, got {len(warnings[0])} characters: {warnings[0][:300]}"
    reasons = pixel_data(stderr)
    assert not reasons, f"the warning holds frame data ({'; '.join(reasons)}): {stderr[:300]}"


def _odd_inputs(folder: Path, portrait: np.ndarray) -> None:
    """A folder of faces with odd frames between them: tiny, a line, 16-bit grey, with alpha, and a broken file."""
    folder.mkdir(parents=True)
    cv2.imwrite(str(folder / "01_face.jpg"), portrait)
    cv2.imwrite(str(folder / "02_one_pixel.png"), portrait[:1, :1])
    cv2.imwrite(str(folder / "03_line.png"), portrait[360:361])
    cv2.imwrite(str(folder / "04_grey16.png"), (cv2.cvtColor(portrait, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257))
    cv2.imwrite(str(folder / "05_alpha.png"), cv2.cvtColor(portrait, cv2.COLOR_BGR2BGRA))
    data = cv2.imencode(".jpg", portrait)[1].tobytes()
    (folder / "06_broken.jpg").write_bytes(data[: len(data) // 3])
    cv2.imwrite(str(folder / "07_face.jpg"), portrait)


def _damaged_video(path: Path, portrait: np.ndarray) -> None:
    """An MJPG video whose middle third is overwritten with noise."""
    small = cv2.resize(portrait, (640, 360))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (640, 360))
    for i in range(45):
        writer.write(np.roll(small, 3 * i, axis=1))
    writer.release()
    data = bytearray(path.read_bytes())
    start, length = len(data) // 3, len(data) // 6
    data[start:start + length] = np.random.default_rng(0).integers(0, 256, length, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


@pytest.mark.slow  # real arfilter sessions
@pytest.mark.parametrize("debug", [False, True], ids=["plain", "ARFILTER_DEBUG=1"])
def test_odd_and_damaged_input_is_logged_without_pixel_data(box, shared_media, model_path, debug):
    """Odd frames (one pixel, a line, 16-bit, alpha, a broken file) in a live run and a video with a
    damaged middle through ``apply``: stderr stays short and free of frame data, with ARFILTER_DEBUG=1
    (MediaPipe's own log on) too, and the only picture written is the named output."""
    portrait = cv2.imread(str(_clip(shared_media, "portrait_720p.jpg")))
    inputs = box.logs / "inputs"  # outside the box: only what the session writes is checked there
    _odd_inputs(inputs / "odd", portrait)
    _damaged_video(inputs / "damaged.avi", portrait)
    for name, args in (("odd", ["run", "--source", str(inputs / "odd"), "--sink", "null"]),
                       ("damaged", ["apply", str(inputs / "damaged.avi"), "-o", "out.avi"])):
        session = box.start(name, args, box.env(model=model_path, debug=debug))
        code = session.wait(120)
        assert code == 0, f"{name}: a damaged input must not end the session (exit {code}):\n{session.stderr[-3000:]}"
        _assert_clean_log(session.stderr, f"{name} input" + (" with ARFILTER_DEBUG=1" if debug else ""))
        assert session.network() == []
        session.check_files()
    assert _pictures(box.root) == {"cwd/out.avi": "AVI"}


def _core_limit(pid: int) -> int | None:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max core file size"):
            soft = line.split()[4]
            return None if soft == "unlimited" else int(soft)
    raise AssertionError("no core limit in /proc/PID/limits")


@pytest.mark.slow  # a real arfilter session, crashed
def test_a_crash_leaves_no_core_dump_of_the_faces_and_no_pixels_in_its_report(box, shared_media, model_path):
    """A native crash (here SIGSEGV from outside, as MediaPipe or a driver could cause) must not leave a
    core dump: it would hold the frames in memory, i.e. the faces, on disk (and on Ubuntu apport /
    Fedora systemd-coredump keep and may upload them). On a machine where core dumps are on (the
    session starts with the core limit raised), arfilter must switch them off for itself; the crash
    report (Python's faulthandler) holds no pixel data."""
    import resource

    hard = resource.getrlimit(resource.RLIMIT_CORE)[1]

    def core_dumps_on() -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))

    session = box.start("crash", ["run", "--source", str(_clip(shared_media, "portrait_720p.jpg")), "--sink", "null"],
                        box.env(model=model_path, PYTHONFAULTHANDLER="1"), preexec_fn=core_dumps_on)
    try:
        deadline = time.monotonic() + 90
        while "press Ctrl+C to stop" not in session.stderr:
            assert session.process.poll() is None, f"the session ended early:\n{session.stderr[-3000:]}"
            assert time.monotonic() < deadline, "the session did not start in 90 s"
            time.sleep(0.1)
        time.sleep(1.0)  # frames (faces) are in memory now
        limit = _core_limit(session.pid)
        session.process.send_signal(signal.SIGSEGV)
        code = session.wait(60)
        dumps = {path: kind for path, kind in _pictures(box.root).items() if "core" in kind}
    finally:
        session.kill()
        for path in box.root.rglob("core*"):
            if path.is_file():
                path.unlink()
    assert code == -signal.SIGSEGV, f"the session crashed as planned (exit {code})"
    # faulthandler prints every thread's stack: the tracker's, the decoder's, MediaPipe's dispatcher
    _assert_clean_log(session.stderr, "the crash report", max_lines=80)
    assert not dumps, f"the crash left a core dump with the faces in memory: {dumps}"
    assert limit == 0, (f"arfilter runs with core dumps allowed (soft limit {limit if limit is not None else 'unlimited'}): "
                        "a crash would write its frames to disk; it must set RLIMIT_CORE to 0 at start")
