"""Checkers for values read from TOML files (event files, campaign sections).

Each checker takes a value and returns ``(value, None)`` when it is fine
(possibly normalised) or ``(None, reason)``; the reason is the end of a
``file: key: reason`` line, so it says what is expected, not what went wrong
inside.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

Check = Callable[[Any], "tuple[Any, str | None]"]
TOML_INT_MIN, TOML_INT_MAX = -2 ** 63, 2 ** 63 - 1


class TOMLLimitError(tomllib.TOMLDecodeError):
    """A document ``tomllib`` parses, or crashes on, that a TOML reader must refuse."""

    def __init__(self, message: str) -> None:
        ValueError.__init__(self, message)  # not TOMLDecodeError's (msg, doc, pos) of Python 3.14


def toml_loads(text: str) -> dict[str, Any]:
    """``tomllib.loads`` that fails only with ``TOMLDecodeError``.

    Also refused: documents nested too deeply for Python's recursion limit
    (``tomllib`` raises RecursionError), integers with more digits than Python
    converts (ValueError), and integers outside the signed 64-bit range, which
    the TOML spec says a parser must reject (``tomllib`` does not).
    """
    try:
        table = tomllib.loads(text)
    except RecursionError:
        raise TOMLLimitError("it is nested too deeply") from None
    except tomllib.TOMLDecodeError:
        raise
    except ValueError as exc:
        raise TOMLLimitError("an integer has too many digits" if "digits" in str(exc) else str(exc)) from None
    stack: list[Any] = [table]
    while stack:
        value = stack.pop()
        for item in (value.values() if isinstance(value, dict) else value):
            if isinstance(item, (dict, list)):
                stack.append(item)
            elif isinstance(item, int) and not isinstance(item, bool) and not TOML_INT_MIN <= item <= TOML_INT_MAX:
                raise TOMLLimitError("an integer is outside the 64-bit range TOML allows (-2^63 to 2^63-1)")
    return table


def key_name(key: str) -> str:
    """A key as written, for a one-line message; quoted and escaped if it holds a line break or another
    invisible character (a key in quotes may hold anything)."""
    return key if key.isprintable() else repr(key)


def string(value: Any) -> tuple[Any, str | None]:
    return (value, None) if isinstance(value, str) else (None, "must be a string in quotes")


def optional_string(value: Any) -> tuple[Any, str | None]:
    """A string where "" means "not set" (None)."""
    if value is None:
        return None, None
    value, why = string(value)
    return (value or None, why)


def boolean(value: Any) -> tuple[Any, str | None]:
    return (value, None) if isinstance(value, bool) else (None, "must be true or false")


def number(low: float, high: float, whole: bool = False) -> Check:
    """A number from ``low`` to ``high`` (a float; an int with ``whole``)."""
    def check(value: Any) -> tuple[Any, str | None]:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (whole and not isinstance(value, int)):
            return None, f"must be a {'whole ' if whole else ''}number from {low:g} to {high:g}"
        if not low <= value <= high:  # False for NaN; exact for integers of any size (no float conversion)
            return None, f"{value} is out of range; use {low:g} to {high:g}"
        return (int(value) if whole else float(value)), None
    return check


def choice(*choices: str) -> Check:
    def check(value: Any) -> tuple[Any, str | None]:
        if value in choices:
            return value, None
        return None, f"{value!r} is not one of {', '.join(choices)}"
    return check
