"""``arfilter web serve``: the built site on 127.0.0.1 with the types browsers insist on, nothing outside
SITE/ reachable, no folder listings; a port in use is one line; Ctrl+C exits 130 without a traceback."""

from __future__ import annotations

import http.client
import shutil
import socket
import urllib.request
from urllib.parse import urlsplit

import pytest

from conftest import arfilter, start_server, stop_server

pytestmark = pytest.mark.slow  # a server in a subprocess


def get(base: str, path: str) -> tuple[int, str, bytes]:
    """A raw GET of ``path`` exactly as written (no client-side clean-up of ``..``)."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("path, kind", [
    ("index.html", "text/html; charset=utf-8"),
    ("mediapipe/vision_bundle.mjs", "text/javascript; charset=utf-8"),
    ("mediapipe/wasm/vision_wasm_internal.js", "text/javascript; charset=utf-8"),
    ("mediapipe/wasm/vision_wasm_internal.wasm", "application/wasm"),
    ("models/face_landmarker.task", "application/octet-stream"),
    ("data/event.json", "application/json"),
])
def test_each_file_is_served_whole_with_its_type(site_server, built_site, path, kind):
    with urllib.request.urlopen(site_server + path, timeout=30) as response:
        assert response.status == 200 and response.headers["Content-Type"] == kind
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.read() == (built_site / path).read_bytes()
    status, _kind, _body = get(site_server, "/?testhook=1")
    assert status == 200
    assert site_server.startswith("http://127.0.0.1:")


@pytest.mark.parametrize("path", ["/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                                  "/data/../../../conftest.py", "/data/", "/mediapipe/wasm/", "/nope.html"])
def test_nothing_outside_the_site_and_no_folder_listing(site_server, path):
    status, _kind, body = get(site_server, path)
    assert status == 404 and b"root:" not in body and b"vision_wasm" not in body


def test_a_link_out_of_the_site_is_not_followed(tmp_path, built_site, web_env):
    site = tmp_path / "site"
    site.mkdir()
    shutil.copyfile(built_site / "index.html", site / "index.html")
    (tmp_path / "secret.txt").write_text("not for the web")
    (site / "secret.txt").symlink_to(tmp_path / "secret.txt")
    process, url = start_server(site, web_env)
    try:
        assert get(url, "/secret.txt")[0] == 404
        assert get(url, "/index.html")[0] == 200
    finally:
        code, err = stop_server(process)
    assert code == 130 and "Traceback" not in err


def test_ctrl_c_exits_130_quietly(built_site, web_env):
    process, url = start_server(built_site, web_env)
    assert get(url, "/index.html")[0] == 200
    code, err = stop_server(process)
    assert code == 130 and err.strip() == "arfilter: stopped"


def test_a_port_in_use_and_a_folder_that_is_no_site_are_one_line(tmp_path, built_site, web_env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = arfilter("web", "serve", str(built_site), "--port", str(port), env=web_env, timeout=60)
    assert result.returncode == 2 and result.stderr.strip() == (
        f"arfilter: error: --port {port}: the port is in use (another preview?); pick another with --port N, "
        "or --port 0 for any free one")
    result = arfilter("web", "serve", str(tmp_path), env=web_env, timeout=60)
    assert result.returncode == 2 and result.stderr.strip() == (
        f"arfilter: error: {tmp_path}: is not a built site (no index.html); make one with: arfilter web build -o "
        f"{tmp_path}")
