"""One exception type for everything a user can cause and fix.

The CLI prints ``str(error)`` on one line and exits non-zero; nothing else in the
package prints tracebacks for user errors, so every message must name the input
and say what to do.
"""

from __future__ import annotations


class ArfilterError(Exception):
    """A problem with the user's input or machine, explained in one line."""

    exit_code: int = 2

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


def first_of(problems: list[str], see_all: str) -> ArfilterError:
    """The first of several problems as one line, with how many more and the command that lists them all."""
    more = f" (and {len(problems) - 1} more; run '{see_all}' to see all)" if len(problems) > 1 else ""
    return ArfilterError(problems[0] + more)
