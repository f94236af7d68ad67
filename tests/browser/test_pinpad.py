"""The 금융인증서 PIN pad (static/js/ui/pinpad.js, templates/includes/_pinpad.html)
as a customer uses it: digits entered only on shuffled on-screen keys, never
from the keyboard, no text field, the layout changing on every open and by
재배열, confirmation and weak-PIN refusal, cancel.

No production page uses the pad yet, so the test serves its own page: the
include rendered by Django's template engine, routed by Playwright on the
live server's origin (so /static/ and the bank colour come from the live
server) under the site's real Content-Security-Policy.
"""

import re

import pytest
from django.template import engines
from playwright.sync_api import expect

from bank.middleware import CONTENT_SECURITY_POLICY

PAGE_PATH = "/__pinpad_test__/"
PAGE = """{% load static i18n %}<!doctype html>
<html lang="ko"><head><meta charset="utf-8">
<title>금융인증서 로그인 · 누리은행</title>
<link rel="icon" href="{% static 'favicon.svg' %}" type="image/svg+xml">
<link rel="stylesheet" href="{% static 'css/site.css' %}">
<link rel="stylesheet" href="{% url 'brand_css' 'nuri' %}">
</head><body>
<main id="main" class="page">
  <section class="card">
    <h1>금융인증서 로그인</h1>
    <p>금융인증서 PIN 6자리를 입력하면 로그인됩니다.</p>
    <button type="button" class="btn btn--primary" id="opener">금융인증서 로그인</button>
  </section>
</main>
{% include "includes/_pinpad.html" %}
</body></html>"""

SEQUENCE = "연속된 숫자(예: 123456, 987654)는 PIN으로 사용할 수 없습니다."
MISMATCH = "두 번 입력한 PIN이 서로 다릅니다. 처음부터 다시 입력해 주세요."


@pytest.fixture
def pad(page, banks, live_server):
    """The test page loaded, pinpad.js imported, helpers for the pad."""
    html = engines["django"].from_string(PAGE).render({})
    page.route(
        f"{live_server.url}{PAGE_PATH}",
        lambda route: route.fulfill(
            status=200,
            content_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY},
            body=html,
        ),
    )
    page.goto(PAGE_PATH)
    page.evaluate("async () => { window.pinpad = await import('/static/js/ui/pinpad.js'); }")
    return Pad(page)


class Pad:
    def __init__(self, page):
        self.page = page
        self.dialog = page.locator("dialog[data-pinpad]")

    def open(self, **options):
        """Open the pad; the promise's value lands in window.pinResult."""
        self.page.evaluate(
            """(options) => {
                window.pinResult = undefined;
                window.pinpad.openPinPad(document, options).then((pin) => { window.pinResult = pin; });
            }""",
            options,
        )
        expect(self.dialog).to_be_visible()

    def key(self, name):
        return self.dialog.get_by_role("button", name=name, exact=True)

    def enter(self, pin):
        for digit in pin:
            self.key(digit).click()

    def layout(self):
        return "".join(self.page.locator("[data-pinpad-slot]").all_text_contents())

    def count(self):
        return self.page.locator("[data-pinpad-count]").text_content()

    def result(self):
        self.page.wait_for_function("() => window.pinResult !== undefined")
        return self.page.evaluate("() => window.pinResult")

    def pending(self):
        return self.page.evaluate("() => window.pinResult === undefined")


def test_pin_entered_on_the_keys_resolves_and_no_text_field_exists(pad, page):
    pad.open(title="금융인증서 로그인", lead="로그인하려면 PIN을 입력해 주세요.")
    expect(page.get_by_role("dialog", name="금융인증서 로그인")).to_be_visible()
    expect(pad.dialog.locator("[data-pinpad-lead]")).to_have_text("로그인하려면 PIN을 입력해 주세요.")
    assert pad.dialog.locator("input, textarea, select, [contenteditable]").count() == 0
    assert page.locator("input, textarea").count() == 0
    # Ten digit keys with their digits as names, plus 재배열, 지우기 and 전체 삭제.
    assert sorted(pad.layout()) == list("0123456789")
    for name in ["재배열", "지우기", "전체 삭제", "닫기", *"0123456789"]:
        expect(pad.key(name)).to_have_count(1)
    expect(pad.dialog.locator("[data-pinpad-keys] button")).to_have_count(12)
    assert pad.count() == "6자리 중 0자리 입력"

    pad.enter("48291")
    assert pad.count() == "6자리 중 5자리 입력"
    expect(pad.dialog.locator(".pinpad__dot--on")).to_have_count(5)
    assert pad.pending()
    pad.key("5").click()  # the sixth digit submits by itself
    assert pad.result() == "482915"
    expect(pad.dialog).to_be_hidden()
    # Nothing of the PIN stays in the page.
    assert "482915" not in page.content()
    expect(pad.dialog.locator(".pinpad__dot--on")).to_have_count(0)


def test_backspace_and_clear_all(pad):
    pad.open()
    pad.enter("1357")
    pad.key("지우기").click()
    assert pad.count() == "6자리 중 3자리 입력"
    pad.key("전체 삭제").click()
    assert pad.count() == "6자리 중 0자리 입력"
    pad.enter("802461")
    assert pad.result() == "802461"


def test_layout_differs_on_every_open_and_after_reshuffle(pad):
    """pinpad.js never repeats the previous order (shuffledDigits), so this
    is deterministic: six opens give six orders, each unlike the one before."""
    layouts = []
    for _ in range(6):
        pad.open()
        layouts.append(pad.layout())
        pad.dialog.press("Escape")
        assert pad.result() is None
    assert all(a != b for a, b in zip(layouts, layouts[1:], strict=False)), layouts
    assert len(set(layouts)) >= 2
    assert all(sorted(layout) == list("0123456789") for layout in layouts)

    pad.open()
    pad.enter("70")
    before = pad.layout()
    pad.key("재배열").click()
    after = pad.layout()
    assert after != before and sorted(after) == list("0123456789")
    # Reshuffling keeps what was entered, and the digits pressed are the labels.
    assert pad.count().endswith("6자리 중 2자리 입력")
    pad.enter("3949")
    assert pad.result() == "703949"


def test_shuffle_is_uniform_enough(pad, page):
    """Each digit lands on each of the ten keys about equally often (a
    chi-squared check over 2,000 shuffles; fails by chance < 1 in 10^6)."""
    counts = page.evaluate(
        """() => {
            const counts = Array.from({ length: 10 }, () => new Array(10).fill(0));
            let previous = null;
            for (let n = 0; n < 2000; n++) {
                previous = window.pinpad.shuffledDigits(previous);
                previous.forEach((digit, slot) => counts[digit][slot]++);
            }
            return counts;
        }"""
    )
    chi2 = sum((c - 200) ** 2 / 200 for row in counts for c in row)
    assert chi2 < 170, chi2  # 81 degrees of freedom: P(chi2 > 170) < 1e-7


def test_keyboard_digits_are_ignored_but_keys_work_with_enter_and_space(pad, page):
    pad.open()
    for digit in "482915":
        page.keyboard.press(digit)
        page.keyboard.press(f"Numpad{digit}")
    assert pad.count() == "6자리 중 0자리 입력"
    expect(pad.dialog.locator("[data-pinpad-error]")).to_have_text(
        "보안을 위해 키보드로는 입력할 수 없습니다. 화면의 키패드를 눌러 주세요."
    )
    assert pad.pending()

    # Tab moves between the on-screen keys; Enter and Space press them.
    pad.key("4").focus()
    page.keyboard.press("Enter")
    pad.key("8").focus()
    page.keyboard.press("Space")
    assert pad.count() == "6자리 중 2자리 입력"
    focused = page.evaluate("() => document.activeElement.textContent")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") != focused
    pad.enter("2915")
    assert pad.result() == "482915"


def test_confirm_mismatch_starts_over(pad):
    pad.open(confirm=True, title="금융인증서 PIN 등록")
    pad.enter("482915")
    expect(pad.dialog.locator("[data-pinpad-lead]")).to_have_text("PIN을 한 번 더 입력해 주세요.")
    first_layout = pad.layout()
    pad.enter("482916")
    expect(pad.dialog.locator("[data-pinpad-error]")).to_have_text(MISMATCH)
    expect(pad.dialog.locator("[data-pinpad-lead]")).to_have_text("PIN 6자리를 입력해 주세요.")
    assert pad.layout() != first_layout
    assert pad.pending()
    pad.enter("730461")
    expect(pad.dialog.locator("[data-pinpad-lead]")).to_have_text("PIN을 한 번 더 입력해 주세요.")
    pad.enter("730461")
    assert pad.result() == "730461"


def test_weak_pin_is_refused_before_the_second_entry(pad):
    pad.open(confirm=True, birthDate="1990-03-15")
    pad.enter("123456")
    expect(pad.dialog.locator("[data-pinpad-error]")).to_have_text(SEQUENCE)
    expect(pad.dialog.locator("[data-pinpad-lead]")).to_have_text("PIN 6자리를 입력해 주세요.")
    pad.enter("111111")
    expect(pad.dialog.locator("[data-pinpad-error]")).to_have_text("같은 숫자만 반복한 PIN은 사용할 수 없습니다.")
    pad.enter("900315")
    expect(pad.dialog.locator("[data-pinpad-error]")).to_have_text("생년월일은 PIN으로 사용할 수 없습니다.")
    assert pad.pending()
    pad.enter("482915")
    expect(pad.dialog.locator("[data-pinpad-lead]")).to_have_text("PIN을 한 번 더 입력해 주세요.")
    pad.enter("482915")
    assert pad.result() == "482915"


def test_unlocking_does_not_check_weakness(pad):
    """An existing PIN is only proved, not judged (checkWeak defaults to confirm)."""
    pad.open()
    pad.enter("123456")
    assert pad.result() == "123456"


def test_cancel_with_escape_or_close_gives_null_and_returns_focus(pad, page):
    page.locator("#opener").focus()
    pad.open()
    pad.enter("12")
    pad.dialog.press("Escape")
    assert pad.result() is None
    expect(pad.dialog).to_be_hidden()
    expect(page.locator("#opener")).to_be_focused()
    pad.open()
    assert pad.count() == "6자리 중 0자리 입력"  # nothing carried over
    pad.key("닫기").click()
    assert pad.result() is None


def test_error_shown_on_open_and_reopening_right_after_a_result(pad, page):
    """The caller reopens the pad with the server's refusal as soon as the
    first PIN arrives: the old opening's close must not cancel the new one."""
    page.evaluate(
        """() => {
            window.pinResult = undefined;
            window.pinpad.openPinPad(document).then((pin) => {
                window.firstPin = pin;
                return window.pinpad.openPinPad(document, { error: "PIN이 올바르지 않습니다. (2/5회 오류)" });
            }).then((pin) => { window.pinResult = pin; });
        }"""
    )
    pad.enter("482915")
    expect(pad.dialog.locator("[data-pinpad-error]")).to_have_text("PIN이 올바르지 않습니다. (2/5회 오류)")
    page.wait_for_timeout(300)
    expect(pad.dialog).to_be_visible()
    assert page.evaluate("() => window.firstPin") == "482915"
    pad.enter("4")
    expect(pad.dialog.locator("[data-pinpad-error]")).to_have_text("")  # cleared once typing again
    pad.enter("82917")
    assert pad.result() == "482917"


def test_screenshot(pad, page, artifacts_dir):
    pad.open(title="금융인증서 로그인", lead="누리은행 로그인을 위해 금융인증서 PIN 6자리를 입력해 주세요.")
    pad.enter("482")
    page.wait_for_timeout(250)
    page.screenshot(path=artifacts_dir / "pinpad.png")
    pad.dialog.press("Escape")
    assert pad.result() is None
    page.set_viewport_size({"width": 390, "height": 844})
    pad.open(error="PIN이 올바르지 않습니다. (2/5회 오류)")
    page.wait_for_timeout(250)
    page.screenshot(path=artifacts_dir / "pinpad-phone.png")
    assert re.fullmatch(r"[0-9]{10}", pad.layout())
