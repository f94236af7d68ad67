"""Run the browser-side crypto modules (static/js/crypto/) in real Chromium.

A tiny `http.server` on 127.0.0.1 serves the static/ folder (so
`/js/crypto/seed.js` is importable and the page is a secure context), and a
headless Chromium opens a blank test page from it. Tests call `js(script,
arg)`, which runs `page.evaluate(script, arg)`; the page defines two helpers,
`fromHex(hex)` → Uint8Array and `toHex(bytes)` → hex, since bytes cross the
Python/JS boundary as hex strings.

Playwright's sync API only allows one instance per thread, and the browser
tests in tests/browser/ keep their own for the whole session. So this one
lives in a dedicated worker thread: every Playwright call is submitted to it.
That also keeps the test thread free of Playwright's event loop. No Django,
no database.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.chromium import CHROMIUM, CHROMIUM_ARGS

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

STATIC = Path(__file__).resolve().parents[2] / "static"
TEST_PAGE = "/__crypto_test__.html"
TEST_PAGE_HTML = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>crypto tests</title>
<script>
  globalThis.fromHex = (hex) => Uint8Array.from((hex.match(/../g) || []).map((b) => parseInt(b, 16)));
  globalThis.toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
</script></head><body></body></html>
"""
CALL_TIMEOUT_S = 30


class StaticHandler(SimpleHTTPRequestHandler):
    """static/ as is, plus the blank test page; no caching, no access log."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript"}

    def do_GET(self):
        if self.path == TEST_PAGE:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(TEST_PAGE_HTML)))
            self.end_headers()
            self.wfile.write(TEST_PAGE_HTML)
            return
        super().do_GET()

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="session")
def static_server():
    """Base URL of an HTTP server for static/ on 127.0.0.1 (a free port)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(StaticHandler, directory=str(STATIC)))
    thread = threading.Thread(target=server.serve_forever, name="crypto-static-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


class BrowserPage:
    """One Chromium page, driven by Playwright's sync API in its own thread."""

    def __init__(self, url):
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crypto-playwright")
        self._playwright = self._call(lambda: sync_playwright().start())
        self._browser = self._call(self._playwright.chromium.launch, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        self.page = self._call(self._browser.new_page)
        self.page_errors = []
        self._call(self.page.on, "pageerror", lambda error: self.page_errors.append(str(error)))
        self._call(self.page.goto, url)
        assert self._call(self.page.evaluate, "isSecureContext"), "the test page must be a secure context"

    def _call(self, fn, *args, **kwargs):
        return self._executor.submit(fn, *args, **kwargs).result(timeout=CALL_TIMEOUT_S)

    def evaluate(self, script, arg=None):
        return self._call(self.page.evaluate, script, arg)

    def close(self):
        try:
            self._call(self._browser.close)
            self._call(self._playwright.stop)
        finally:
            self._executor.shutdown(wait=True)


@pytest.fixture(scope="session")
def crypto_page(static_server):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium package")
    page = BrowserPage(static_server + TEST_PAGE)
    yield page
    page.close()


@pytest.fixture
def js(crypto_page):
    """`js(script, arg=None)`: evaluate a JS function expression in the page."""
    crypto_page.page_errors.clear()
    yield crypto_page.evaluate
    assert not crypto_page.page_errors, f"uncaught errors in the page: {crypto_page.page_errors}"
