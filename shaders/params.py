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
            return f"must be a number from {self.low:g} to {self.high:g}, not {value!r}"
        if not self.low <= value <= self.high:
            return f"must be from {self.low:g} to {self.high:g}, not {value!r}"
        return None
