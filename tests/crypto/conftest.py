"""Run the browser-side modules (static/js/crypto/, and the plain helpers of
static/js/ui/) in real Chromium.

A tiny `http.server` on 127.0.0.1 serves the static/ folder (so
`/js/crypto/seed.js` is importable and the page is a secure context), and a
headless Chromium opens a blank test page from it. Under /__http__/ it also
answers like the bank's JSON endpoints (HTTP_ANSWERS), for http.js. Tests call `js(script,
arg)`, which runs `page.evaluate(script, arg)`; the page defines two helpers,
`fromHex(hex)` → Uint8Array and `toHex(bytes)` → hex, since bytes cross the
Python/JS boundary as hex strings.

Playwright's sync API only allows one instance per thread, and the browser
tests in tests/browser/ keep their own for the whole session. So this one
lives in a dedicated worker thread: every Playwright call is submitted to it.
That also keeps the test thread free of Playwright's event loop. No Django,
no database.
"""

import json
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

# What /__http__/<name> answers (bank/http.py's shapes): status, headers, body.
JSON = "application/json"
HTTP_ANSWERS = {
    "throttled": (
        429,
        {"Content-Type": JSON, "Retry-After": "30"},
        {"error": "요청이 너무 많습니다. 30초 후에 다시 시도해 주세요.", "code": "throttled"},
    ),
    "refused": (403, {"Content-Type": JSON}, {"error": "PIN이 올바르지 않습니다. (1/5회 오류)", "code": "wrong_pin"}),
    "form-errors": (
        400,
        {"Content-Type": JSON},
        {
            "step": "identity",
            "errors": {"rrn": ["주민등록번호 13자리를 입력해 주세요."]},
            "error": "주민등록번호 13자리를 입력해 주세요.",
        },
    ),
    "no-json-refusal": (403, {"Content-Type": "text/html; charset=utf-8"}, "<h1>Forbidden (403)</h1>"),
    "html": (200, {"Content-Type": "text/html; charset=utf-8"}, "<!doctype html><p>a page, not an answer</p>"),
    "state": (200, {"Content-Type": JSON}, {"step": "sms", "sms_pending": True, "phone": "010-****-5678"}),
}


class StaticHandler(SimpleHTTPRequestHandler):
    """static/ as is, the blank test page and /__http__/ answers; no caching, no access log."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript"}

    def do_GET(self):
        if self.path == TEST_PAGE:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(TEST_PAGE_HTML)))
            self.end_headers()
            self.wfile.write(TEST_PAGE_HTML)
            return
        if self.path.startswith("/__http__/"):
            self.answer()
            return
        super().do_GET()

    def do_POST(self):
        if self.path.startswith("/__http__/"):
            self.answer()
            return
        self.send_error(405)

    def answer(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        name = self.path.removeprefix("/__http__/")
        if name == "echo":
            # What arrived: the headers the scripts set and the form they sent.
            status, headers = 200, {"Content-Type": JSON}
            content = {
                "method": self.command,
                "csrf": self.headers.get("X-CSRFToken"),
                "accept": self.headers.get("Accept"),
                "content_type": self.headers.get("Content-Type") or "",
                "body": body.decode("utf-8", "replace"),
            }
        elif name in HTTP_ANSWERS:
            status, headers, content = HTTP_ANSWERS[name]
        else:
            self.send_error(404)
            return
        data = (json.dumps(content, ensure_ascii=False) if headers["Content-Type"] == JSON else content).encode("utf-8")
        self.send_response(status)
        for header, value in headers.items():
            self.send_header(header, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

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
