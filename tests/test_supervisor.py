"""The supervisor with real processes: tiny fake sessions that crash, hang, stop or fail, and the real
product killed with SIGKILL and brought back.

Times are measured with the system's monotonic clock, which every process on Linux shares: each fake
session writes when it started and when it failed into a log file.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from arfilter.ops.heartbeat import HEARTBEAT_ENV, SUPERVISED_ENV, Heartbeat
from arfilter.ops.supervisor import BACKOFF, Supervisor

pytestmark = [pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and /proc"),
              pytest.mark.slow]  # real child processes, restarts and signals

# A fake session: logs "start <t>" / "fail <t>" lines, then behaves as its run number says.
FAKE = r"""
import os, signal, sys, time
from arfilter.ops.heartbeat import Heartbeat

log, plan = sys.argv[1], sys.argv[2].split(",")
run = sum(line.startswith("start") for line in open(log).read().splitlines()) if os.path.exists(log) else 0
with open(log, "a") as handle:
    handle.write(f"start {time.monotonic()} {os.getpid()}\n")
action = plan[min(run, len(plan) - 1)]
heartbeat = Heartbeat.from_env()

def mark():
    with open(log, "a") as handle:
        handle.write(f"fail {time.monotonic()}\n")

def beat_for(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        heartbeat.beat()
        time.sleep(0.01)

kind, _, seconds = action.partition(":")
beat_for(float(seconds or 0))
if kind == "crash":
    mark()
    os.kill(os.getpid(), signal.SIGSEGV)
elif kind == "hang":  # still running, no more beats, deaf to SIGTERM
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    mark()
    time.sleep(600)
elif kind == "deaf":  # keeps beating, ignores SIGTERM
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    beat_for(600)
elif kind == "usererror":
    print("arfilter: loading things", file=sys.stderr)
    print("arfilter: error: overlay nope: not found; use the name of an installed overlay", file=sys.stderr)
    sys.exit(2)
elif kind == "nocamera":  # the exit-code contract: 3, a device is unavailable
    print("arfilter: error: camera 0: cannot open it; check that it is plugged in", file=sys.stderr)
    sys.exit(3)
elif kind == "nodevice":  # exit 3 worded without the word camera: still a device
    print("arfilter: error: preview window: no display found", file=sys.stderr)
    sys.exit(3)
elif kind == "camerawords":  # the word camera, but exit 2: bad input, not a device
    print("arfilter: error: camera settings: --size 1x1 is out of range", file=sys.stderr)
    sys.exit(2)
elif kind == "exit":
    print("arfilter: the source ended", file=sys.stderr)
    sys.exit(0)
"""


def fake(tmp_path: Path, *plan: str) -> tuple[list[str], Path]:
    log = tmp_path / "runs.log"
    return [sys.executable, "-c", FAKE, str(log), ",".join(plan)], log


def events(log: Path) -> list[tuple[str, float]]:
    return [(line.split()[0], float(line.split()[1])) for line in log.read_text().splitlines()]


def supervise(command: list[str], **options) -> tuple[int, str, float]:
    out = io.StringIO()
    start = time.monotonic()
    code = Supervisor(command, stderr=out, **options).run()
    return code, out.getvalue(), time.monotonic() - start


def restart_gaps(log: Path) -> list[float]:
    """Seconds from each failure to the next start."""
    seen = events(log)
    return [seen[i + 1][1] - t for i, (kind, t) in enumerate(seen[:-1]) if kind == "fail" and seen[i + 1][0] == "start"]


def test_a_crash_is_restarted_within_5_s_and_a_normal_exit_ends_it(tmp_path):
    command, log = fake(tmp_path, "crash:0.6", "crash:0.6", "exit")
    code, out, _ = supervise(command)
    assert code == 0, out
    gaps = restart_gaps(log)
    # Real processes: the waits are the backoff's 0.5 and 1 s; the bound is 10x the longer one, so a
    # loaded machine cannot fail it (the 5 s promise itself: benchmarks/README.md, "Runs for days").
    assert len(gaps) == 2 and all(gap < 10.0 for gap in gaps), gaps
    assert "arfilter: supervisor: the session crashed (exit -11); restarting in 0.5 s (restart 1)" in out
    assert "arfilter: supervisor: the session crashed (exit -11); restarting in 1 s (restart 2)" in out
    assert out.count("arfilter: supervisor: session started (pid ") == 3
    assert "arfilter: the source ended" in out, "the child's stderr is passed through"
    assert out.rstrip().endswith("arfilter: supervisor: the session ended (exit 0); not restarting")


def test_exit_0_is_not_restarted(tmp_path):
    command, log = fake(tmp_path, "exit")
    code, out, took = supervise(command)
    assert code == 0 and len(events(log)) == 1 and took < 5, out


def test_a_hang_is_killed_and_restarted_within_hang_after_plus_5_s(tmp_path):
    command, log = fake(tmp_path, "hang:0.5", "exit")  # the hung one ignores SIGTERM: it needs SIGKILL
    code, out, _ = supervise(command, hang_after=3.0)
    assert code == 0, out
    (gap,) = restart_gaps(log)
    assert 3.0 <= gap < 3.0 + 30.0, gap  # at least hang_after; at most 10x the ~3.5 s it takes
    assert "arfilter: supervisor: the session stopped responding for 3 s; restarting in 0.5 s (restart 1)" in out
    hung_pid = int(log.read_text().splitlines()[0].split()[2])
    assert not Path(f"/proc/{hung_pid}").exists(), "the hung session is gone"


def test_a_session_that_never_beats_is_restarted_after_the_start_grace(tmp_path):
    command, log = fake(tmp_path, "hang:0", "exit")
    code, out, _ = supervise(command, start_grace=1.0)
    assert code == 0, out
    assert "the session did not start within 1 s; restarting in 0.5 s (restart 1)" in out
    assert len(restart_gaps(log)) == 1


def test_the_same_start_up_error_three_times_stops_with_exit_2_and_that_line(tmp_path):
    command, log = fake(tmp_path, "usererror", "usererror", "usererror", "exit")  # a 4th start would exit 0
    code, out, took = supervise(command)
    assert code == 2, out
    assert len(events(log)) == 3, "tried three times, then stopped"
    line = "arfilter: error: overlay nope: not found; use the name of an installed overlay"
    assert out.count(line) == 4, "the child's line each time, and once more at the end"
    assert out.rstrip().splitlines()[-1] == line
    assert "(2 of 3 in a row); trying again in 1 s (restart 2)" in out
    assert "the same error 3 times in a row at start-up; a restart cannot fix it, so stopping" in out
    assert took < 30  # two backoff waits (0.5 + 1 s) and three starts: 10x the ~2.5 s it takes


def test_a_missing_camera_is_retried_beyond_the_error_limit(tmp_path):
    command, log = fake(tmp_path, "nocamera", "nocamera", "nocamera", "nocamera", "nocamera", "exit")
    code, out, _ = supervise(command, backoff=(0.1, 0.2, 0.4))
    assert code == 0, out
    assert len(events(log)) == 6, "five missing cameras, then it came"
    assert out.count("arfilter: supervisor: waiting for the camera or display; trying again in ") == 5
    assert "trying again in 0.4 s (restart 5)" in out


def test_restarts_are_decided_by_the_exit_code_never_by_the_message(tmp_path):
    """Exit 3 is retried beyond the error limit whatever it says; exit 2 stops after 3 even if it says 'camera'."""
    command, log = fake(tmp_path, "nodevice", "nodevice", "nodevice", "nodevice", "exit")
    code, out, _ = supervise(command, backoff=(0.1, 0.2))
    assert code == 0 and len(events(log)) == 5, out
    command, log = fake(tmp_path / "words", "camerawords", "camerawords", "camerawords", "exit")
    (tmp_path / "words").mkdir()
    code, out, _ = supervise(command, backoff=(0.1, 0.2))
    assert code == 2 and len(events(log)) == 3, out
    assert "a restart cannot fix it, so stopping" in out


def test_backoff_is_bounded_and_starts_again_after_a_healthy_spell(tmp_path):
    command, log = fake(tmp_path, "crash:0", "crash:0", "crash:0", "crash:0", "crash:1.5", "crash:0", "exit")
    code, out, _ = supervise(command, backoff=(0.2, 0.4, 0.8), healthy_after=1.0)
    assert code == 0, out
    delays = [float(d) for d in re.findall(r"restarting in ([0-9.]+) s", out)]
    assert delays == [0.2, 0.4, 0.8, 0.8, 0.2, 0.4], out
    gaps = restart_gaps(log)
    # Each wait is at least its delay (the schedule itself is the printed one, checked above).
    assert all(delay - 0.05 <= gap for delay, gap in zip(delays, gaps)), (delays, gaps)
    # the product's schedule: even the longest wait plus the 2 s a hung session may take to die stays within 5 s
    assert max(BACKOFF) <= 4.0 and Supervisor([]).kill_grace <= 2.0


def _start_supervisor(command: list[str], log: Path, **options) -> subprocess.Popen:
    script = ("import sys; from arfilter.ops.supervisor import Supervisor; "
              f"sys.exit(Supervisor({command!r}, **{options!r}).run())")
    with open(log, "w") as handle:
        return subprocess.Popen([sys.executable, "-c", script], stdout=handle, stderr=subprocess.STDOUT)


def _wait_for(predicate, timeout: float, what: str, log: Path, process: subprocess.Popen):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"no {what} (supervisor exit {process.poll()}): {log.read_text()[-2000:]}")


def _pids(text: str) -> list[int]:
    return [int(pid) for pid in re.findall(r"arfilter: supervisor: session started \(pid (\d+)\)", text)]


def test_sigterm_to_the_supervisor_is_forwarded_and_a_deaf_session_is_killed_after_the_grace(tmp_path):
    command, log = fake(tmp_path, "deaf:0")
    out = tmp_path / "supervisor.log"
    supervisor = _start_supervisor(command, out, stop_grace=1.5)
    try:
        (pid,) = _wait_for(lambda: _pids(out.read_text()), 10, "session", out, supervisor)
        time.sleep(0.5)
        supervisor.send_signal(signal.SIGTERM)
        start = time.monotonic()
        assert supervisor.wait(timeout=10) == 0
        took = time.monotonic() - start
    finally:
        supervisor.kill()
    assert 1.5 <= took < 20, took  # the grace, then a kill: 10x the ~2 s it takes
    assert not Path(f"/proc/{pid}").exists()
    text = out.read_text()
    assert "stopping the session (SIGTERM)" in text and "did not stop within 1.5 s; killed it" in text


def test_sigint_to_the_supervisor_exits_130(tmp_path):
    command, log = fake(tmp_path, "crash:30")  # a plain Python child: SIGINT is a KeyboardInterrupt
    out = tmp_path / "supervisor.log"
    supervisor = _start_supervisor(command, out)
    try:
        (pid,) = _wait_for(lambda: _pids(out.read_text()), 10, "session", out, supervisor)
        time.sleep(0.5)
        supervisor.send_signal(signal.SIGINT)
        assert supervisor.wait(timeout=10) == 130
    finally:
        supervisor.kill()
    assert not Path(f"/proc/{pid}").exists()
    assert "stopping the session (SIGINT)" in out.read_text()


def test_heartbeat_is_a_no_op_unless_supervised_and_costs_microseconds(tmp_path):
    off = Heartbeat.from_env({})
    hook = object()
    assert not off.enabled and off.chain(hook) is hook and off.chain(None) is None
    path = tmp_path / "beat"
    on = Heartbeat(path, interval=0.25)
    calls = []
    chained = on.chain(lambda *args: calls.append(args))
    chained(1, 2, 3)
    first = path.read_bytes()
    assert calls == [(1, 2, 3)] and first.split()[0] == str(os.getpid()).encode()
    # Cheap because it writes at most once per interval, however often it is called (its cost per call
    # is measured in benchmarks, not asserted here): 100 000 beats, a handful of writes.
    start = time.monotonic()
    for _ in range(100_000):
        on.beat()
    assert on.count <= 2 + (time.monotonic() - start) / 0.25, on.count
    time.sleep(0.3)
    on.beat()
    assert path.read_bytes() != first and len(path.read_bytes()) == len(first), "a fixed-size record, rewritten"
    on.close()


def _heartbeat_of(pid: int) -> Path:
    environ = dict(item.split("=", 1) for item in
                   Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").split("\0") if "=" in item)
    assert environ.get(SUPERVISED_ENV) == "1"
    return Path(environ[HEARTBEAT_ENV])


def _beats(path: Path, pid: int, timeout: float) -> bool:
    """The file shows two different records from ``pid``."""
    seen = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = path.read_bytes()
        if record.split()[:1] == [str(pid).encode()]:
            seen.add(record)
            if len(seen) >= 2:
                return True
        time.sleep(0.05)
    return False


def test_the_real_session_killed_with_sigkill_is_back_within_5_s_and_sigterm_stops_everything(
        tmp_path, shared_media, model_path):
    env = {**os.environ, "ARFILTER_MODEL": str(model_path)}
    out = tmp_path / "run.log"
    with open(out, "w") as handle:
        supervisor = subprocess.Popen([sys.executable, "-m", "arfilter", "run", "--supervise", "--source",
                                       str(shared_media / "portrait_720p.jpg"), "--sink", "null"],
                                      env=env, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    pids: list[int] = []
    try:
        (first,) = _wait_for(lambda: _pids(out.read_text()), 30, "first session", out, supervisor)
        pids.append(first)
        heartbeat = _heartbeat_of(first)
        assert _beats(heartbeat, first, 30), f"the session beats: {out.read_text()[-1500:]}"
        os.kill(first, signal.SIGKILL)
        killed = time.monotonic()
        second = _wait_for(lambda: _pids(out.read_text())[1:], 5, "new session", out, supervisor)[0]
        assert time.monotonic() - killed < 10.0 and second != first  # ~0.6 s measured; 10x the first 0.5 s + start
        pids.append(second)
        assert _beats(heartbeat, second, 30), f"the new session beats: {out.read_text()[-1500:]}"
        supervisor.send_signal(signal.SIGTERM)
        start = time.monotonic()
        assert supervisor.wait(timeout=10) == 0, out.read_text()[-1500:]
        assert time.monotonic() - start < 10
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()
        for pid in pids:
            if Path(f"/proc/{pid}").exists():
                os.kill(pid, signal.SIGKILL)
    text = out.read_text()
    assert all(not Path(f"/proc/{pid}").exists() for pid in pids)
    assert "the session crashed (exit -9); restarting in 0.5 s (restart 1)" in text
    assert "stopping the session (SIGTERM)" in text and "Traceback" not in text, text[-2000:]
    assert not heartbeat.exists(), "the supervisor cleans up its heartbeat file"
