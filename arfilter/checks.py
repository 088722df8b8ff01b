"""Checkers for values read from TOML files (event files, campaign sections).

Each checker takes a value and returns ``(value, None)`` when it is fine
(possibly normalised) or ``(None, reason)``; the reason is the end of a
``file: key: reason`` line, so it says what is expected, not what went wrong
inside.
"""

from __future__ import annotations

import math
from typing import Any, Callable

Check = Callable[[Any], "tuple[Any, str | None]"]


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
        if not (math.isfinite(value) and low <= value <= high):
            return None, f"{value} is out of range; use {low:g} to {high:g}"
        return (int(value) if whole else float(value)), None
    return check


def choice(*choices: str) -> Check:
    def check(value: Any) -> tuple[Any, str | None]:
        if value in choices:
            return value, None
        return None, f"{value!r} is not one of {', '.join(choices)}"
    return check
