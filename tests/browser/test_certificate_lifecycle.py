"""공동인증서 after issuance, in the browser: 갱신, 재발급, 삭제, 분실 신고, 비밀번호 변경.

Each test issues a certificate by clicking (the helpers of test_certificates.py)
and then does what a customer does from 인증센터: the server's list and detail
page, the 인증서 선택창, and the "이 브라우저에 저장된 인증서" section.

Renewal opens 30 days before expiry. The server's clock is moved with
time_machine (the live server is a thread of this process); the browser's clock
is moved with Playwright's clock to the same moment, as a customer's PC would
be, so that the renewed certificate (valid from "now" on the server) is not
"not yet valid" in the 인증서 선택창.
"""

import datetime
import re

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from certificates.models import Certificate
from tests.browser.test_certificates import (
    CERT_PASSWORD,
    LOGIN_URL,
    RRN,
    choose_certificate,
    confirm_and_land_on_accounts,
    issue_certificate,
    log_in_with_password,
    log_out,
    newest_sms_code,
    open_certificate_window,
)
from tests.conftest import PIN

NEW_CERT_PASSWORD = "Fresh#cert2027"
MANAGE_URL = re.compile(r"/nuri/certificates/$")
DELETED_MESSAGE = "이 브라우저에서 인증서를 삭제했습니다."
EMPTY_STORE = "이 브라우저에 저장된 인증서가 없습니다."
WRONG_PASSWORD = "인증서 비밀번호가 올바르지 않습니다."

S = Certificate.Status
R = Certificate.RevocationReason


@pytest.fixture(autouse=True)
def _signing_ca(test_ca):
    """Every test here signs with the fast temporary CA (the live server shares the settings)."""


# --- Steps a customer takes ---------------------------------------------------------------------


def account_number(page) -> str:
    page.goto("/nuri/accounts/")
    return page.get_by_test_id("account-number").first.inner_text().strip()


def go_to_certificate_center(page):
    page.get_by_role("link", name="인증센터").click()
    expect(page).to_have_url(MANAGE_URL)


def server_row(page, serial):
    return page.locator(f'[data-testid="certificate-row"][data-serial="{serial}"]')


def browser_rows(page):
    return page.locator('tr[data-testid="browser-cert-row"][data-serial]')


def open_detail(page, serial):
    """인증센터 → 자세히 on the row of `serial`."""
    go_to_certificate_center(page)
    server_row(page, serial).get_by_role("link", name="자세히").click()
    expect(page).to_have_url(re.compile(rf"/nuri/certificates/{serial}/$"))
    expect(page.get_by_test_id("certificate-serial")).to_have_text(serial)


def verify_identity(page, number, *, reason=None):
    """본인확인 (RRN, account, PIN[, 발급 사유]) → SMS 인증번호 → 확인."""
    page.get_by_label("주민등록번호").fill(RRN)
    page.get_by_label("계좌번호").fill(number)
    page.get_by_label("계좌 비밀번호").fill(PIN)
    if reason is not None:
        page.get_by_label("발급 사유").select_option(label=reason)
    page.get_by_role("button", name="본인확인").click()
    expect(page.get_by_label("SMS 인증번호")).to_be_visible()
    page.get_by_label("SMS 인증번호").fill(newest_sms_code())
    page.get_by_role("button", name="확인", exact=True).click()


def reissue_certificate(page, *, reason, password):
    """인증센터 → 인증서 발급·재발급 with a 발급 사유, into the browser, under `password`."""
    number = account_number(page)
    go_to_certificate_center(page)
    page.get_by_role("link", name="인증서 발급·재발급").first.click()
    expect(page).to_have_url(re.compile(r"/nuri/certificates/issue/$"))
    expect(page.get_by_label("발급 사유")).to_have_value("new")  # 신규 발급 unless told
    verify_identity(page, number, reason=reason)
    expect(page).to_have_url(re.compile(r"/nuri/certificates/issue/keys/$"))
    expect(page.get_by_role("radio", name="브라우저")).to_be_checked()
    expect(page.get_by_role("button", name="발급", exact=True)).to_be_enabled()  # the page's script is ready
    page.get_by_label("인증서 비밀번호", exact=True).fill(password)
    page.get_by_label("인증서 비밀번호 확인", exact=True).fill(password)
    expect(page.get_by_text("비밀번호가 일치합니다.")).to_be_visible()
    page.get_by_role("button", name="발급", exact=True).click()
    expect(page.get_by_text("공동인증서가 발급되었습니다.")).to_be_visible()


def issued_certificate(customer) -> Certificate:
    return Certificate.objects.get(holder=customer, status=S.VALID)


def one_year_later(day: datetime.date) -> datetime.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def refused_certificate_login(page, context, dialog):
    """확인 in the window for a certificate the server refuses (403).

    Chromium logs the refused fetch as a console error: expected here, so it
    is awaited and taken off the list the `page` fixture fails a test on.
    """
    with (
        page.expect_console_message(lambda m: m.type == "error" and "status of 403" in m.text) as logged,
        page.expect_response(lambda r: r.url.endswith("/nuri/login/certificate/")) as answer,
    ):
        dialog.get_by_role("button", name="확인", exact=True).click()
    assert answer.value.status == 403
    problems = context.browser_problems.messages
    refused_fetch = [m for m in problems if logged.value.text in m]
    assert len(refused_fetch) == 1 and "/nuri/login/certificate/" in refused_fetch[0], problems
    problems.remove(refused_fetch[0])


# --- Tests ----------------------------------------------------------------------------------------


def test_renew_inside_the_window(page, customer, artifacts_dir):
    log_in_with_password(page)
    issue_certificate(page)
    old = issued_certificate(customer)
    log_out(page)

    # Ten days before expiry, on the bank's clock and on the customer's PC.
    moment = old.not_after - datetime.timedelta(days=10)
    with time_machine.travel(moment, tick=True):
        page.clock.install(time=moment)
        log_in_with_password(page)
        open_detail(page, old.serial)
        expect(page.get_by_test_id("renewal-refusal")).to_have_count(0)
        page.get_by_role("link", name="갱신하기").click()
        expect(page).to_have_url(re.compile(rf"/nuri/certificates/{old.serial}/renew/$"))
        expect(page.get_by_test_id("renew-refusal")).to_have_count(0)

        page.get_by_role("button", name="갱신", exact=True).click()
        dialog = page.get_by_role("dialog", name="인증서 선택")
        expect(dialog).to_be_visible()
        # The "renew" challenge came with the window: its time left counts down there.
        expect(dialog.get_by_test_id("certwin-timer")).to_have_text(re.compile(r"서명 유효시간\s+[12]:\d\d"))
        choose_certificate(dialog)
        with page.expect_response(lambda r: r.url.endswith("/nuri/certificates/renew/complete/")) as answer:
            dialog.get_by_role("button", name="확인", exact=True).click()
        assert answer.value.status == 200, f"renewal answered {answer.value.status}"
        expect(dialog).to_be_hidden()
        expect(page.get_by_test_id("renew-done")).to_be_visible()

        new_serial = page.locator("[data-certrenew-serial]").inner_text().strip()
        assert new_serial and new_serial != old.serial
        old_expiry = timezone.localtime(old.not_after).date()
        expect(page.locator("[data-certrenew-expiry]")).to_have_text(one_year_later(old_expiry).isoformat())
        page.screenshot(path=artifacts_dir / "certificate-renewed.png", full_page=True)

        old.refresh_from_db()
        assert (old.status, old.revocation_reason) == (S.REVOKED, R.SUPERSEDED)
        new = Certificate.objects.get(serial=new_serial)
        assert new.status == S.VALID and new.holder == customer
        assert timezone.localtime(new.not_after).date() == one_year_later(old_expiry)

        # The browser keeps only the new certificate, and it logs in.
        log_out(page)
        dialog = open_certificate_window(page)
        expect(dialog.get_by_role("row", name=re.compile("홍길동"))).to_have_count(1)
        choose_certificate(dialog)
        confirm_and_land_on_accounts(page, dialog)
        go_to_certificate_center(page)
        expect(browser_rows(page)).to_have_count(1)
        expect(browser_rows(page)).to_have_attribute("data-serial", new_serial)
        expect(server_row(page, new_serial).get_by_test_id("certificate-status")).to_have_text("유효")
        expect(server_row(page, old.serial).get_by_test_id("certificate-status")).to_have_text("폐기")


def test_renewal_outside_the_window_is_explained(page, customer):
    log_in_with_password(page)
    issue_certificate(page)
    certificate = issued_certificate(customer)
    open_detail(page, certificate.serial)
    expect(page.get_by_test_id("certificate-status")).to_have_text("유효")
    expect(page.get_by_test_id("renewal-refusal")).to_contain_text("갱신은 만료 30일 전부터 할 수 있습니다")
    expect(page.get_by_role("link", name="갱신하기")).to_have_count(0)
    # The other tasks are still offered.
    expect(page.get_by_role("link", name="재발급하기")).to_be_visible()
    expect(page.get_by_role("link", name="폐기하기")).to_be_visible()


def test_reissue_after_forgotten_password(page, customer):
    log_in_with_password(page)
    issue_certificate(page)
    first = issued_certificate(customer)

    reissue_certificate(page, reason="비밀번호·PIN 분실, 금융인증서 잠김", password=NEW_CERT_PASSWORD)
    first.refresh_from_db()
    assert (first.status, first.revocation_reason) == (S.REVOKED, R.SUPERSEDED)
    second = issued_certificate(customer)
    assert second.serial != first.serial

    go_to_certificate_center(page)
    expect(page.get_by_test_id("certificate-row")).to_have_count(2)
    expect(server_row(page, first.serial).get_by_test_id("certificate-status")).to_have_text("폐기")
    expect(server_row(page, second.serial).get_by_test_id("certificate-status")).to_have_text("유효")
    # The revoked certificate left this browser's store with the reissue.
    expect(browser_rows(page)).to_have_count(1)
    expect(browser_rows(page)).to_have_attribute("data-serial", second.serial)

    log_out(page)
    dialog = open_certificate_window(page)
    rows = dialog.get_by_role("row", name=re.compile("홍길동"))
    expect(rows).to_have_count(1)
    rows.first.click()
    expect(rows.first).to_have_attribute("aria-selected", "true")
    dialog.get_by_label("인증서 비밀번호", exact=True).fill(NEW_CERT_PASSWORD)
    confirm_and_land_on_accounts(page, dialog)


def test_delete_from_the_browser(page, customer):
    log_in_with_password(page)
    issue_certificate(page)
    certificate = issued_certificate(customer)
    go_to_certificate_center(page)

    row = browser_rows(page)
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-serial", certificate.serial)
    row.get_by_role("button", name="삭제", exact=True).click()
    dialog = page.get_by_role("dialog", name="인증서 삭제")
    expect(dialog).to_be_visible()
    delete = dialog.get_by_role("button", name="삭제", exact=True)
    expect(delete).to_be_disabled()
    dialog.get_by_label("위 내용을 확인했습니다").check()
    expect(delete).to_be_enabled()
    delete.click()

    expect(dialog).to_be_hidden()
    expect(browser_rows(page)).to_have_count(0)
    expect(page.get_by_test_id("browser-store-message")).to_have_text(DELETED_MESSAGE)
    expect(page.get_by_test_id("browser-store-empty")).to_have_text(EMPTY_STORE)
    # Only this browser's copy is gone: the certificate itself stays valid.
    certificate.refresh_from_db()
    assert certificate.status == S.VALID

    log_out(page)
    dialog = open_certificate_window(page)
    expect(dialog.get_by_text(EMPTY_STORE)).to_be_visible()
    expect(dialog.get_by_role("row", name=re.compile("홍길동"))).to_have_count(0)


def test_loss_report_then_login_fails(page, context, customer):
    log_in_with_password(page)
    number = account_number(page)
    issue_certificate(page)
    certificate = issued_certificate(customer)

    open_detail(page, certificate.serial)
    page.get_by_role("link", name="폐기하기").click()
    expect(page).to_have_url(re.compile(rf"/nuri/certificates/{certificate.serial}/revoke/$"))
    verify_identity(page, number)
    expect(page).to_have_url(re.compile(rf"/nuri/certificates/{certificate.serial}/$"))
    expect(page.get_by_test_id("certificate-status")).to_have_text("폐기")
    # Nothing left to do with it but reissue.
    expect(page.get_by_role("link", name="폐기하기")).to_have_count(0)
    expect(page.get_by_role("button", name="효력정지")).to_have_count(0)
    certificate.refresh_from_db()
    assert (certificate.status, certificate.revocation_reason) == (S.REVOKED, R.KEY_COMPROMISE)

    log_out(page)
    dialog = open_certificate_window(page)
    choose_certificate(dialog)
    refused_certificate_login(page, context, dialog)
    expect(page.locator("[data-cert-login-error]")).to_have_text("폐기된 인증서입니다. 인증서를 재발급 받아 주세요.")
    expect(page).to_have_url(LOGIN_URL)
    expect(page.get_by_role("button", name="로그아웃")).to_have_count(0)


def test_change_certificate_password_in_the_browser(page, customer):
    log_in_with_password(page)
    issue_certificate(page)
    go_to_certificate_center(page)

    browser_rows(page).get_by_role("button", name="비밀번호 변경").click()
    dialog = page.get_by_role("dialog", name="인증서 비밀번호 변경")
    expect(dialog).to_be_visible()
    current = dialog.get_by_label("현재 인증서 비밀번호", exact=True)
    current.fill("Wrong#pass2026")
    dialog.get_by_label("새 인증서 비밀번호", exact=True).fill(NEW_CERT_PASSWORD)
    dialog.get_by_label("새 인증서 비밀번호 확인", exact=True).fill(NEW_CERT_PASSWORD)
    dialog.get_by_role("button", name="변경", exact=True).click()
    expect(dialog.get_by_role("alert")).to_have_text(WRONG_PASSWORD)
    expect(current).to_have_attribute("aria-invalid", "true")
    expect(dialog).to_be_visible()

    current.fill(CERT_PASSWORD)
    dialog.get_by_role("button", name="변경", exact=True).click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("browser-store-message")).to_have_text("인증서 비밀번호를 변경했습니다.")
    expect(browser_rows(page)).to_have_count(1)

    log_out(page)
    dialog = open_certificate_window(page)
    choose_certificate(dialog, password=CERT_PASSWORD)
    dialog.get_by_role("button", name="확인", exact=True).click()
    expect(dialog.get_by_role("alert")).to_have_text(WRONG_PASSWORD)
    dialog.get_by_label("인증서 비밀번호", exact=True).fill(NEW_CERT_PASSWORD)
    confirm_and_land_on_accounts(page, dialog)
