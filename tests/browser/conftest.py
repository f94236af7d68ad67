"""Browser tests: Debian's Chromium driven by Playwright against `live_server`.

Every test here is marked `browser`. The `page` fixture gives each test a
fresh context (Korean locale, Seoul time, 1280x900). A test fails if any tab
of its context logged a console error, an uncaught exception or a
Content-Security-Policy violation: right after the test body (a FAILED), or
at teardown for anything that arrived later (an ERROR). A failing test leaves
a full-page screenshot in tests/artifacts/failed-<test>.png.
"""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from flows import demo
from tests.chromium import CHROMIUM, CHROMIUM_ARGS

# Playwright's sync API runs an event loop in the test thread, and Django's
# ORM refuses to run in a thread with a running loop unless told otherwise.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
# pytest-django's live_server listens on "localhost" unless told; use the
# loopback address itself (a secure context for WebCrypto, no IPv6 surprise).
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parent / "artifacts"
# Short enough that a missing element fails fast, long enough for a busy CI.
DEFAULT_TIMEOUT_MS = 10_000
# expect() has its own default (5 s), too short on a loaded 2-core machine:
# assertions wait for state as long as actions do.
expect.set_options(timeout=DEFAULT_TIMEOUT_MS)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A test whose pages logged problems fails (a plain FAILED, not an ERROR)."""
    result = yield
    context = item.funcargs.get("context")
    problems = getattr(context, "browser_problems", None)
    if problems is not None and problems.messages:
        text = problems.report()
        problems.messages.clear()  # reported here, not again at teardown
        pytest.fail(text, pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.browser_call_report = report
    return report


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def banks(transactional_db):
    """The demo banks, committed so the live server's thread sees them.

    Overrides the root `banks` fixture, so `make_customer` and `customer`
    also write committed rows here.
    """
    return demo.seed_banks()


@pytest.fixture
def chulsoo_account(make_customer):
    """이철수's empty account at 다온은행 (903): where the transfer tests send money."""
    chulsoo = make_customer(
        bank_code="903", login_id="chulsoo", name="이철수", rrn="850720-1456782", phone="01034567890", deposit=0
    )
    return chulsoo.deposit_accounts.get()


# Without a <link rel="icon"> (pages not built on base.html, such as the staff
# admin) Chromium asks for /favicon.ico on its own and logs the 404 as a
# console error. That request is the browser's, not the page's.
IGNORED_CONSOLE = [re.compile(r"^Failed to load resource: .* 404 .*/favicon\.ico\)?$")]


# Chromium's wording for CSP violations changes between versions ("Refused to
# execute inline script ..." before, "Executing inline script violates ..."
# in 156), so the pages also report each `securitypolicyviolation` event.
CSP_MARKERS = ("Refused to", "Content Security Policy")
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__certbankCspViolation(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"} at ${event.documentURI}`);
});
"""


class BrowserProblems:
    """Console errors, uncaught exceptions and CSP violations seen in a context."""

    def __init__(self):
        self.messages: list[str] = []

    def on_csp_violation(self, source, description):
        self.messages.append(f"CSP violation: {description}")

    def on_console(self, message):
        text = message.text
        if message.type == "error" or any(marker in text for marker in CSP_MARKERS):
            where = message.location.get("url", "") if message.location else ""
            line = f"{text} ({where})" if where else text
            if not any(pattern.search(line) for pattern in IGNORED_CONSOLE):
                self.messages.append(f"console.{message.type}: {line}")

    def on_weberror(self, web_error):
        self.messages.append(f"uncaught: {web_error.error}")

    def report(self) -> str:
        return "the browser reported problems:\n  " + "\n  ".join(self.messages)


@pytest.fixture
def context(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url,
        locale="ko-KR",
        timezone_id="Asia/Seoul",
        viewport={"width": 1280, "height": 900},
        # Transitions are cosmetic; without them Playwright need not wait for
        # every key of the PIN pad to stop moving (tests run about twice as fast).
        reduced_motion="reduce",
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    problems = BrowserProblems()
    context.on("console", problems.on_console)
    context.on("weberror", problems.on_weberror)
    context.expose_binding("__certbankCspViolation", problems.on_csp_violation)
    context.add_init_script(CSP_LISTENER)
    context.browser_problems = problems
    yield context
    context.close()


@pytest.fixture
def page(request, context, artifacts_dir):
    page = context.new_page()
    yield page
    report = getattr(request.node, "browser_call_report", None)
    body_failed = report is not None and (report.failed or hasattr(report, "wasxfail"))
    if body_failed and not page.is_closed():
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        page.screenshot(path=artifacts_dir / f"failed-{name}.png", full_page=True)
    # Whatever arrived after the test body (the body's own are failed above,
    # in pytest_runtest_call), or everything when the body failed anyway.
    problems = context.browser_problems
    if not problems.messages:
        return
    text = problems.report()
    if body_failed:
        # The test already failed (or failed as expected): show, don't pile on.
        request.node.add_report_section("teardown", "browser", text)
    else:
        pytest.fail(text, pytrace=False)
