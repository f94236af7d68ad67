"""The idle-logout countdown in the header (the server rule is tested elsewhere)."""

import re

from playwright.sync_api import expect

from tests.conftest import PASSWORD

CLOCK_RE = re.compile(r"(\d{2}):(\d{2})")


def seconds_shown(page) -> int:
    text = page.get_by_role("timer").inner_text()
    match = CLOCK_RE.search(text)
    assert match, f"no mm:ss in the timer: {text!r}"
    return int(match.group(1)) * 60 + int(match.group(2))


def log_in(page):
    page.goto("/nuri/login/")
    page.get_by_label("아이디", exact=True).fill("hong")
    page.get_by_label("비밀번호", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="로그인", exact=True).click()
    expect(page).to_have_url(re.compile(r"/nuri/accounts/$"))


def test_countdown_runs_extends_and_logs_out_at_zero(page, customer, live_server):
    # Fake timers from the start; time still flows at normal speed until
    # fast_forward jumps ahead.
    page.clock.install()
    log_in(page)

    timer = page.get_by_role("timer")
    expect(timer).to_contain_text(CLOCK_RE)
    first = seconds_shown(page)
    assert 590 <= first <= 600, first

    # The clock goes down by itself, in real time.
    expect(timer).not_to_have_text(timer.inner_text(), timeout=5_000)
    assert seconds_shown(page) < first

    # Two minutes pass for the page; the clock shows about eight minutes.
    page.clock.fast_forward("02:00")
    expect(timer).to_contain_text(re.compile(r"\b0[78]:\d{2}\b"))
    before_extend = seconds_shown(page)
    assert 470 <= before_extend <= 480, before_extend

    # 연장 asks the server and starts again from (nearly) ten minutes.
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/nuri/session/extend/")) as extend:
        page.get_by_role("button", name="연장").click()
    assert extend.value.ok
    data = extend.value.json()
    assert data["logged_in"] is True
    assert data["seconds_left"] >= 595
    expect(timer).to_contain_text(re.compile(r"\b(10:00|09:5\d)\b"))
    assert seconds_shown(page) >= 590

    # Ten minutes later (for the page's timers) the script submits logout.
    with page.expect_navigation(url=re.compile(r"/nuri/$")):
        page.clock.fast_forward("10:01")
    expect(page).to_have_url(f"{live_server.url}/nuri/")
    expect(page.get_by_role("timer")).to_have_count(0)
    expect(page.get_by_role("button", name="로그아웃")).to_have_count(0)
    expect(page.get_by_label("아이디", exact=True)).to_be_visible()
    expect(page.get_by_label("비밀번호", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="로그인", exact=True)).to_be_visible()
