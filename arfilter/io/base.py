"""What every source and sink shares: context-manager plumbing and the one-line report.

A module of its own so sources and sinks (and the camera and file readers)
share these without reaching into each other's private names.
"""

from __future__ import annotations

import sys
from typing import Any, Callable


class Closing:
    """Context-manager plumbing shared by every source and sink."""

    def close(self) -> None:  # pragma: no cover - overridden
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def say(line: str) -> None:
    """One ``arfilter: ...`` line on stderr: how sources and sinks tell the user what happened."""
    print(f"arfilter: {line}", file=sys.stderr)


def prepare_quietly(prepare: Callable[[Any], object] | None, image: Any) -> object:
    """The tracker's input made from ``image`` by a source's ``prepare`` hook, or None: a failure
    there is not the source's (the tracker then makes its own input and reports what is wrong)."""
    if prepare is None:
        return None
    try:
        return prepare(image)
    except Exception:  # why: see above; the frame itself still goes on
        return None
