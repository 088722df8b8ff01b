"""The errors a user can cause and fix, and the exit-code contract they map to.

The CLI prints ``str(error)`` on one line and exits with ``error.exit_code``;
nothing else in the package prints tracebacks for user errors, so every
message must name the input and say what to do. Programs (the supervisor, a
script, CI) decide by the exit code, never by reading the message:

=====  =====================================================================
code   meaning
=====  =====================================================================
0      ok
1      a check found problems (``doctor``, ``validate``, ``config FILE``)
2      bad usage or input (a flag, an event file, a pack, a photo, a video)
3      a device is unavailable (camera, virtual camera, display)
130    stopped by Ctrl+C
=====  =====================================================================
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What ``arfilter`` exits with; the README's table is this one."""

    OK = 0
    PROBLEMS_FOUND = 1
    BAD_INPUT = 2
    DEVICE_UNAVAILABLE = 3
    INTERRUPTED = 130


class ArfilterError(Exception):
    """A problem with the user's input, explained in one line (exit code 2)."""

    exit_code: int = ExitCode.BAD_INPUT

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class DeviceUnavailable(ArfilterError):
    """A camera, virtual camera or display that is missing, busy or gone (exit code 3).

    A supervisor keeps retrying these: the device may come back (a kiosk is often
    switched on before its camera).
    """

    exit_code = ExitCode.DEVICE_UNAVAILABLE


def first_of(problems: list[str], see_all: str) -> ArfilterError:
    """The first of several problems as one line, with how many more and the command that lists them all."""
    more = f" (and {len(problems) - 1} more; run '{see_all}' to see all)" if len(problems) > 1 else ""
    return ArfilterError(problems[0] + more)
