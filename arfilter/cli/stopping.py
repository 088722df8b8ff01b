"""The stop SIGTERM (or SIGBREAK) asks for, which a command reads between frames.

The signal handler (``cli.main``) also raises KeyboardInterrupt to stop at once, except inside a
finaliser (MediaPipe's ``Image.__del__``), where Python cannot raise: there only this flag is set. A
command that writes a file must then stop as Ctrl+C does, so the file it was writing is thrown away
and whatever the user had at that path stays as it was.
"""

from __future__ import annotations

import threading

TERMINATED = threading.Event()


def stop_if_terminated() -> None:
    """Raise KeyboardInterrupt (as Ctrl+C does) if a stop was asked and nothing raised it yet."""
    if TERMINATED.is_set():
        raise KeyboardInterrupt
