"""거래내역조회 in the browser: a preset period fills the date fields, editing
a date switches to 직접입력, and the page shows the period it searched."""

import re

from django.utils import timezone
from playwright.sync_api import expect

from banking.forms import months_before
from tests.browser.test_certificates import log_in_with_password


def test_presets_fill_the_dates_and_typing_a_date_picks_custom(page, customer, artifacts_dir):
    log_in_with_password(page)
    page.get_by_role("link", name=re.compile("거래내역")).first.click()
    expect(page.get_by_role("heading", name="거래내역조회")).to_be_visible()
    today = timezone.localdate()
    date_from, date_to = page.get_by_label("시작일"), page.get_by_label("종료일")
    expect(date_from).to_have_value(months_before(today, 1).isoformat())
    expect(date_to).to_have_value(today.isoformat())

    page.get_by_role("radio", name="3개월").check()
    expect(date_from).to_have_value(months_before(today, 3).isoformat())

    date_from.fill(today.replace(day=1).isoformat())
    expect(page.get_by_role("radio", name="직접입력")).to_be_checked()
    page.get_by_role("button", name="조회", exact=True).click()
    expect(page.get_by_test_id("history-range")).to_contain_text(f"{today:%Y.%m}.01 ~ {today:%Y.%m.%d}")
    expect(page.get_by_role("radio", name="직접입력")).to_be_checked()
    page.screenshot(path=artifacts_dir / "history-custom.png", full_page=True)
