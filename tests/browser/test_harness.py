"""The browser fixtures themselves: CSP is enforced and problems are caught."""

from playwright.sync_api import expect


def test_csp_violation_and_console_error_are_recorded(page, context, banks):
    page.goto("/nuri/")
    expect(page.get_by_role("button", name="로그인", exact=True)).to_be_visible()
    # An injected inline script must be refused by the Content-Security-Policy.
    with page.expect_console_message(lambda message: "Content Security Policy" in message.text):
        page.evaluate(
            "() => { const s = document.createElement('script');"
            " s.textContent = 'window.injected = true'; document.body.append(s); }"
        )
    assert page.evaluate("() => window.injected") is None
    with page.expect_console_message(lambda message: message.type == "error"):
        page.evaluate("() => console.error('harness check')")

    problems = context.browser_problems.messages
    assert any(line.startswith("CSP violation: script-src") for line in problems), problems
    assert any(line.startswith("console.error") and "Content Security Policy" in line for line in problems), problems
    assert any("harness check" in line for line in problems), problems
    # Seen and checked: this test must not fail on them at teardown.
    problems.clear()
