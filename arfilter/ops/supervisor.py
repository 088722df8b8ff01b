"""Keep a live session running for days: a parent process that restarts it.

``arfilter kiosk`` (unless ``--no-supervise``) and ``arfilter run --supervise``
run as a small supervisor; the real session is a child process,
``python -m arfilter <the same command and options> --no-supervise``, with
``ARFILTER_HEARTBEAT=<file>`` and ``ARFILTER_SUPERVISED=1`` in its environment.

The heartbeat
    The child's live loop (``live.run_session``) calls :class:`Heartbeat` for
    every frame it sends, and for every frame of the kiosk's "camera
    unavailable" card. The call costs a clock read; at most every
    ``BEAT_INTERVAL`` (0.25 s) it overwrites a fixed-size ``"<pid> <count>"``
    record at the start of the file. The supervisor only looks for a *change*
    of that record, timed by its own monotonic clock, so a wall-clock jump
    (NTP, a laptop resuming) is never taken for a hang.

What the supervisor does when the child ends or stops beating
    exit 0
        The session ended on purpose (the kiosk quit by Esc held or its PIN,
        the source ended): the supervisor exits 0, no restart.
    exit 130
        The session was interrupted (Ctrl+C, SIGTERM sent to the child
        itself): the supervisor exits 130, no restart.
    exit 3 (``ExitCode.DEVICE_UNAVAILABLE``)
        The camera, the virtual camera or the display is missing, busy or
        unplugged. A kiosk is often switched on before its camera, so this is
        retried forever, every few seconds (the backoff below, so at most
        every 4 s).
    exit 2 (``ExitCode.BAD_INPUT``) before the first beat
        A start-up error: a broken event file, a missing model, an unknown
        look, a port in use. It is retried (the port may simply not be free
        yet), but once ``SAME_ERROR_LIMIT`` (3) starts in a row have ended
        with exit 2 the supervisor stops and exits 2, printing the child's
        last error line: a restart cannot fix it.
    The decision is made by the exit code alone (``core.errors.ExitCode``),
    never by reading the message: rewording a message cannot change what
    the supervisor does.
    exit 2 after the first beat, any other exit code, a signal
        A crash (a session that was running is not misconfigured; the virtual
        camera driver that went away, say): restarted.
    no heartbeat for ``hang_after`` seconds (3), or no first heartbeat within
    ``start_grace`` seconds (20, for loading the model and opening the camera)
        A hang: the child gets SIGTERM (it shuts down cleanly on it), SIGKILL
        2 s later if it is still there, and is restarted.

    Restarts wait 0.5, 1, 2, then 4 s (the wait counts from the failure, so
    the 2 s a hung child may take to die are part of it): a new session is
    always running within 5 s of a failure. Once a session has been beating
    for ``healthy_after`` seconds (60) the backoff starts again at 0.5 s and
    the start-up error count is cleared.

Signals
    SIGTERM, SIGINT (and SIGHUP) to the supervisor are forwarded once to the
    child (SIGINT as SIGINT, the others as SIGTERM), which closes the virtual
    camera and any recording; after 10 s it is killed. The supervisor then
    exits 0, or 130 for SIGINT. The child runs in its own session (process
    group), so a Ctrl+C in the terminal reaches it only once, through the
    supervisor. If the supervisor itself is killed, the child stops too: on
    Linux through ``PR_SET_PDEATHSIG``, elsewhere when its next heartbeat sees
    that its parent is gone; both send it SIGTERM, the clean way out.
    Under systemd use ``KillMode=mixed`` so that only the supervisor gets the
    stop signal (see docs/DEPLOY.md).

    Windows (not tested here; kept simple): the child is started in a new
    process group and stopped with CTRL_BREAK_EVENT, then ``terminate()``
    after the grace period; a hung child is terminated at once.

Output
    The child's stderr is passed through to the supervisor's stderr as it
    comes (its stdout is shared directly); the supervisor adds one line per
    event, each starting ``arfilter: supervisor:``::

        arfilter: supervisor: session started (pid 4242)
        arfilter: supervisor: the session crashed (exit -11); restarting in 1 s (restart 3)
        arfilter: supervisor: the session stopped responding for 3 s; restarting in 0.5 s (restart 1)
        arfilter: supervisor: waiting for the camera or display; trying again in 4 s (restart 6)
        arfilter: supervisor: the same error 3 times in a row at start-up; a restart cannot fix it, so stopping
        arfilter: supervisor: the session ended (exit 0); not restarting
"""

from __future__ import annotations

import codecs
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Sequence, TextIO

from arfilter.core.errors import ExitCode

from arfilter.ops.heartbeat import HEARTBEAT_ENV, SUPERVISED_ENV, SUPERVISOR_PID_ENV

BACKOFF = (0.5, 1.0, 2.0, 4.0)
SAME_ERROR_LIMIT = 3
ERROR_PREFIX = "arfilter: error: "
PREFIX = "arfilter: supervisor: "
WINDOWS = sys.platform == "win32"


# --- the parent's side -----------------------------------------------------------

class _Tee(threading.Thread):
    """Copies the child's stderr to ours as it comes, remembering its last 'arfilter: error:' line."""

    def __init__(self, pipe, write: Callable[[str], None]) -> None:
        super().__init__(name="arfilter-supervisor-tee", daemon=True)
        self.pipe = pipe
        self.write = write
        self.error_line: str | None = None
        self._partial = ""

    def run(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        fd = self.pipe.fileno()
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            text = decoder.decode(data, final=not data)
            if text:
                self.write(text)
                self._scan(text)
            if not data:
                break
        self.pipe.close()

    def _scan(self, text: str) -> None:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()[-4096:]
        for line in lines:
            line = line.rstrip("\r")
            if line.startswith(ERROR_PREFIX):
                self.error_line = line


class Supervisor:
    """Runs ``command`` as a child process and keeps it running; ``run()`` returns the exit code.

    Times are in seconds; the defaults are the product's, the tests pass short ones.
    """

    def __init__(self, command: Sequence[str], *, hang_after: float = 3.0, start_grace: float = 20.0,
                 healthy_after: float = 60.0, backoff: Sequence[float] = BACKOFF, kill_grace: float = 2.0,
                 stop_grace: float = 10.0, same_error_limit: int = SAME_ERROR_LIMIT, poll: float = 0.1,
                 env: dict | None = None, stderr: TextIO | None = None) -> None:
        self.command = list(command)
        self.hang_after = hang_after
        self.start_grace = start_grace
        self.healthy_after = healthy_after
        self.backoff = tuple(backoff)
        self.kill_grace = kill_grace
        self.stop_grace = stop_grace
        self.same_error_limit = same_error_limit
        self.poll = poll
        self.env = dict(os.environ if env is None else env)
        self.stderr = stderr or sys.stderr
        self.restarts = 0  # all restarts so far, for the messages
        self._attempt = 0  # index into the backoff; back to 0 after a healthy minute
        self._same_error: tuple[str | None, int] = (None, 0)
        self._signal: int | None = None
        self._lock = threading.Lock()
        self.child: subprocess.Popen | None = None
        self._tee: _Tee | None = None

    # -- output --

    def _write(self, text: str) -> None:
        with self._lock:
            try:
                self.stderr.write(text)
                self.stderr.flush()
            except (OSError, ValueError, AttributeError):
                pass  # the terminal is gone (or there never was one): keep supervising

    def say(self, line: str) -> None:
        self._write(f"{PREFIX}{line}\n")

    # -- signals --

    def _on_signal(self, signum: int, _frame) -> None:
        if self._signal is None:
            self._signal = signum  # the main loop forwards it; nothing else is safe in a handler

    def _install_signals(self) -> dict:
        wanted = [signal.SIGINT, signal.SIGTERM]
        wanted += [signal.SIGBREAK] if WINDOWS else [signal.SIGHUP]  # type: ignore[attr-defined]
        previous = {}
        for signum in wanted:
            try:
                previous[signum] = signal.signal(signum, self._on_signal)
            except (ValueError, OSError):  # not the main thread
                pass
        return previous

    # -- the child --

    def _spawn(self, heartbeat: Path) -> tuple[subprocess.Popen, _Tee] | None:
        """The child, started; None (after saying why) if it could not be."""
        env = {**self.env, HEARTBEAT_ENV: str(heartbeat), SUPERVISED_ENV: "1", SUPERVISOR_PID_ENV: str(os.getpid())}
        options: dict = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP} if WINDOWS else {"start_new_session": True}
        try:
            heartbeat.parent.mkdir(parents=True, exist_ok=True)  # a week-long run: /tmp may have been cleaned
            heartbeat.write_bytes(b"")
            child = subprocess.Popen(self.command, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, **options)
        except OSError as exc:
            delay = self._delay()
            self.say(f"could not start the session ({exc}); trying again in {delay:g} s (restart {self.restarts})")
            self._sleep_until(time.monotonic() + delay)
            return None
        tee = _Tee(child.stderr, self._write)
        tee.start()
        self.child, self._tee = child, tee
        self.say(f"session started (pid {child.pid})")
        return child, tee

    def _send(self, child: subprocess.Popen, signum: int) -> None:
        try:
            if WINDOWS:
                child.send_signal(signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined]
            else:
                child.send_signal(signum)
        except (OSError, ValueError):
            pass

    def _kill(self, child: subprocess.Popen) -> None:
        try:
            if WINDOWS:
                child.kill()
            else:
                os.killpg(child.pid, signal.SIGKILL)  # its own group: anything it started goes too
        except (OSError, ValueError):
            try:
                child.kill()
            except OSError:
                pass

    def _stop(self, child: subprocess.Popen, signum: int, grace: float, hung: bool = False) -> bool:
        """Ask the child to stop, kill it after ``grace`` s; True if it had to be killed."""
        if child.poll() is not None:
            return False
        if WINDOWS and hung:
            child.terminate()  # Windows has no SIGTERM to catch; a hung child gets no cleanup anyway
        else:
            self._send(child, signum)
        try:
            child.wait(timeout=grace)
            return False
        except subprocess.TimeoutExpired:
            self._kill(child)
            child.wait()
            return True

    @staticmethod
    def _read_beat(heartbeat: Path) -> bytes:
        try:
            with open(heartbeat, "rb") as handle:
                return handle.read(64)
        except OSError:
            return b""

    def _delay(self) -> float:
        delay = self.backoff[min(self._attempt, len(self.backoff) - 1)]
        self._attempt += 1
        self.restarts += 1
        return delay

    def _sleep_until(self, deadline: float) -> None:
        while self._signal is None and time.monotonic() < deadline:
            time.sleep(min(self.poll, max(0.0, deadline - time.monotonic())))

    # -- the loop --

    def run(self) -> int:
        previous = self._install_signals()
        runtime = os.environ.get("XDG_RUNTIME_DIR")  # per user, in memory, never cleaned behind our back
        folder = Path(tempfile.mkdtemp(prefix="arfilter-supervisor-", dir=runtime if runtime and os.path.isdir(runtime) else None))
        heartbeat = folder / "heartbeat"
        try:
            return self._loop(heartbeat)
        finally:
            if self.child is not None and self.child.poll() is None:  # only after a bug here: leave nothing behind
                self._stop(self.child, signal.SIGTERM, self.stop_grace)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            for path in (heartbeat, folder):
                try:
                    path.unlink() if path.is_file() else path.rmdir()
                except OSError:
                    pass

    def _loop(self, heartbeat: Path) -> int:
        while True:
            if self._signal is not None:
                return self._exit_for_signal(None)
            spawned = self._spawn(heartbeat)
            if spawned is None:
                continue
            child, tee = spawned
            started = time.monotonic()
            last_record, last_beat, first_beat = b"", started, None
            failure: str | None = None
            while True:
                if self._signal is not None:
                    return self._exit_for_signal(child)
                code = child.poll()
                now = time.monotonic()
                record = self._read_beat(heartbeat)
                if record and record != last_record:
                    last_record, last_beat = record, now
                    first_beat = first_beat or now
                if first_beat is not None and self._attempt and now - first_beat >= self.healthy_after:
                    self._attempt, self._same_error = 0, (None, 0)  # a healthy minute: start the backoff afresh
                if code is not None:
                    break
                if first_beat is None and now - started > self.start_grace:
                    failure = f"the session did not start within {self.start_grace:g} s"
                elif first_beat is not None and now - last_beat > self.hang_after:
                    failure = f"the session stopped responding for {self.hang_after:g} s"
                if failure:
                    delay = self._delay()
                    restart_at = now + delay
                    self.say(f"{failure}; restarting in {delay:g} s (restart {self.restarts})")
                    self._stop(child, signal.SIGTERM, self.kill_grace, hung=True)
                    tee.join(timeout=1.0)
                    break
                time.sleep(self.poll)
            if failure:
                self._sleep_until(restart_at)
                continue
            failed_at = time.monotonic()
            decided = self._after_exit(code, tee, first_beat is not None)
            if decided is not None:
                return decided
            self._sleep_until(failed_at + self._delay_now)

    def _after_exit(self, code: int, tee: _Tee, started: bool) -> int | None:
        """What a child's exit code means (the contract in ``core.errors``): the supervisor's own
        exit code when it should stop, or None to restart after ``self._delay_now`` seconds."""
        tee.join(timeout=2.0)  # its last line, the error, must be read before deciding
        if code == 0:
            self.say("the session ended (exit 0); not restarting")
            return 0
        if code == 130:
            self.say("the session was stopped (exit 130); not restarting")
            return 130
        error = tee.error_line
        if code == ExitCode.DEVICE_UNAVAILABLE:  # the contract, not the wording: a device may come back
            self._same_error = (None, 0)
            delay = self._delay()
            self.say(f"waiting for the camera or display; trying again in {delay:g} s (restart {self.restarts})")
        elif code == ExitCode.BAD_INPUT and not started:
            count = self._same_error[1] + 1
            self._same_error = (error, count)
            if count >= self.same_error_limit:
                self.say(f"the same error {count} times in a row at start-up; a restart cannot fix it, "
                         "so stopping")
                if error:
                    self._write(f"{error}\n")
                return ExitCode.BAD_INPUT
            delay = self._delay()
            self.say(f"the session stopped at start-up with an error ({count} of {self.same_error_limit} "
                     f"in a row); trying again in {delay:g} s (restart {self.restarts})")
        else:
            self._same_error = (None, 0)
            delay = self._delay()
            self.say(f"the session crashed (exit {code}); restarting in {delay:g} s (restart {self.restarts})")
        self._delay_now = delay
        return None

    def _exit_for_signal(self, child: subprocess.Popen | None) -> int:
        signum = self._signal
        name = signal.Signals(signum).name if signum is not None else "signal"
        interrupted = signum == signal.SIGINT
        if child is not None and child.poll() is None:
            self.say(f"stopping the session ({name})")
            if self._stop(child, signal.SIGINT if interrupted else signal.SIGTERM, self.stop_grace):
                self.say(f"the session did not stop within {self.stop_grace:g} s; killed it")
        if child is not None and self._tee is not None:
            self._tee.join(timeout=2.0)  # the child's last lines ('arfilter: stopped', its figures)
        return 130 if interrupted else 0


def child_command(argv: Sequence[str]) -> list[str]:
    """The session the supervisor runs: this same command, unsupervised, in a fresh interpreter."""
    return [sys.executable, "-m", "arfilter", *argv, "--no-supervise"]


def supervise(argv: Sequence[str], **options) -> int:
    """``arfilter run/kiosk ...`` under a supervisor (``argv`` as given, without the program name)."""
    return Supervisor(child_command(argv), **options).run()
