"""Shader parameters: declared once per shader, validated when a manifest is read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Param:
    """A number a manifest may set for a shader, with its range and meaning."""

    default: float
    low: float
    high: float
    doc: str

    def check(self, value: object) -> str | None:
        """Why ``value`` is not acceptable, or None."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number from {self.low:g} to {self.high:g}, not {_shown(value)}"
        if not self.low <= value <= self.high:
            return f"must be from {self.low:g} to {self.high:g}, not {_shown(value)}"
        return None


def _shown(value: object) -> str:
    """A value for a message: repr, but never thousands of digits (or a ValueError for them)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return "a number far too large"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
