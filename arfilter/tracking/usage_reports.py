"""MediaPipe's usage reports stay on this computer: arfilter has no telemetry, and neither may its model.

The mediapipe 1.x wheels carry a usage logger Google builds into ``libmediapipe.so`` (not in the
open-source tree; google-ai-edge/mediapipe issue 6291): a worker thread posts each task's start,
running mode, frame counts, latencies, host system and Python version to play.googleapis.com through
the libcurl linked inside, periodically and when a task closes. There is no option to turn it off.
Seen here: every ``arfilter run`` looked up play.googleapis.com as its tracker closed.

libcurl reads its proxy from the C environment at each request. Naming a proxy scheme it does not
know makes every request fail before any name lookup or socket (measured: no DNS query, no connect).
Only the C environment changes (``os.putenv``): ``os.environ``, and so Python's own downloads (the
model, through the user's proxy if they have one), keep what the user set. A program this process starts
with the inherited environment sees the refused proxy too: none of arfilter's needs the network (the
supervisor passes its children ``os.environ``); a caller that starts one that does passes ``env=os.environ``.
"""

from __future__ import annotations

import os

# libcurl refuses an unknown proxy scheme ("Unsupported proxy scheme") before resolving anything.
NO_UPLOAD_PROXY = "arfilter-no-usage-reports://nowhere"
PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY")  # what libcurl reads for an https:// address, in order
BYPASS_VARIABLES = ("no_proxy", "NO_PROXY")  # hosts libcurl would reach directly, past any proxy


def refuse_usage_reports() -> None:
    """Point libcurl's https proxy, in this process and the C environment only, at one it refuses.
    Call before MediaPipe creates a task; calling again changes nothing."""
    for name in PROXY_VARIABLES:
        os.putenv(name, NO_UPLOAD_PROXY)
    for name in BYPASS_VARIABLES:
        os.unsetenv(name)
