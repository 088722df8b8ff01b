"""MediaPipe's usage logger is pointed at a proxy libcurl refuses, in the C environment only.

The whole-session check (a listener standing in for the user's proxy hears nothing) is in
tests/test_privacy.py. Here, in a child process so this one's environment stays as it is: what native
code reads afterwards, and what Python's own downloads still use.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from arfilter.tracking.usage_reports import NO_UPLOAD_PROXY

CHILD = """
import ctypes, ctypes.util, json, os, urllib.request
from arfilter.tracking.usage_reports import refuse_usage_reports
refuse_usage_reports()
refuse_usage_reports()
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.getenv.restype = ctypes.c_char_p
native = {name: (libc.getenv(name.encode()) or b"").decode() or None
          for name in ("https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "http_proxy")}
print(json.dumps({"native": native, "python": urllib.request.getproxies(),
                  "bypass": urllib.request.proxy_bypass_environment("play.googleapis.com")}))
"""


def _after_refusing(env: dict[str, str]) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD], env={"PATH": os.environ.get("PATH", ""), **env},
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def test_native_code_sees_a_refused_proxy_and_no_bypass_while_python_keeps_the_users_proxy():
    user = "http://proxy.example:3128"
    seen = _after_refusing({"https_proxy": user, "HTTPS_PROXY": user, "http_proxy": user,
                            "no_proxy": "googleapis.com", "NO_PROXY": "googleapis.com"})
    assert seen["native"] == {"https_proxy": NO_UPLOAD_PROXY, "HTTPS_PROXY": NO_UPLOAD_PROXY,
                              "no_proxy": None, "NO_PROXY": None, "http_proxy": user}, seen
    assert seen["python"]["https"] == user and seen["python"]["http"] == user, \
        f"the model download must still go through the user's proxy: {seen['python']}"
    assert seen["bypass"], "Python's own bypass list is the user's, untouched"


def test_without_any_proxy_set_native_code_still_sees_the_refused_one_and_python_none():
    seen = _after_refusing({})
    assert seen["native"]["https_proxy"] == NO_UPLOAD_PROXY and seen["native"]["HTTPS_PROXY"] == NO_UPLOAD_PROXY
    assert "https" not in seen["python"], f"Python's downloads go direct, as the user set: {seen['python']}"
