"""The campaign web page in a real browser (Debian's Chromium through Playwright)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("ARFILTER_CHROMIUM", "/usr/bin/chromium"))
SITE_TEMPLATE = Path(__file__).resolve().parents[2] / "arfilter" / "web" / "site"
# WebGL2 in software (SwiftShader through ANGLE): this machine has no GPU, a phone has one.
SOFTWARE_GL = ["--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
QUIET = ["--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-default-apps"]


def sync_playwright():
    try:
        from playwright.sync_api import sync_playwright as start
    except ImportError:
        pytest.fail("the Python playwright package is missing: pip install playwright (its browsers are not needed: "
                    "the tests use Debian's Chromium, apt install chromium)")
    return start()


def launch(playwright, args: list[str] = (), **options):
    """Headless Debian Chromium with software WebGL2 and ``args`` added."""
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}; the web page tests need it: apt install chromium")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=[*QUIET, *SOFTWARE_GL, *args], **options)


def serve_template(page, origin: str = "http://arfilter.test") -> str:
    """Answer ``origin``'s requests from the site template in the repo (no server, no network): for tests
    of the page's own modules that need no built data."""
    types = {".js": "text/javascript", ".mjs": "text/javascript", ".html": "text/html", ".css": "text/css"}

    def answer(route):
        path = route.request.url[len(origin):].split("?")[0].lstrip("/") or "blank.html"
        file = SITE_TEMPLATE / path
        if path == "blank.html":
            route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>test</title>")
        elif file.is_file():
            route.fulfill(status=200, content_type=types.get(file.suffix, "application/octet-stream"),
                          body=file.read_bytes())
        else:
            route.fulfill(status=404, body="")

    page.route(origin + "/**", answer)
    page.goto(origin + "/blank.html")
    return origin
