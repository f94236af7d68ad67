"""Time left, shown as it runs out: the SMS code's validity on the step-up
page, and the 서명 유효시간 of every challenge a customer signs (the
인증서 선택창 for login and transfers, the issuance page). When a challenge
runs out the page says so and 다시 시도 fetches a new one (for a transfer, a
fresh review page), with which the signature goes through.

The page's clock is Playwright's (installed before the page loads), so two
minutes pass in an instant; the bank's clock is the real one.
"""

import datetime
import re

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from playwright.sync_api import expect

from certificates.client import npki
from certificates.models import Certificate
from tests.browser.test_certificates import (
    CERT_PASSWORD,
    LOGIN_URL,
    confirm_and_land_on_accounts,
    newest_sms_code,
    verify_identity_logged_out,
)
from tests.browser.test_transfer import fill_transfer, log_in_with_certificate, sign_on_review
from tests.certificates.conftest import issue_for

CHALLENGE_POSTS = "/nuri/certificates/challenge/"
RUNNING = re.compile(r"서명 유효시간\s+[12]:\d\d")
EXPIRED = "서명 유효시간이 지났습니다. 다시 시도해 주세요."


@pytest.fixture(autouse=True)
def _signing_ca(test_ca):
    """The live server signs and verifies with the test CA."""


@pytest.fixture
def usb_files(customer, tmp_path):
    """홍길동's certificate as signCert.der + signPri.key on disk."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    holder = issue_for(customer, key)
    folder = npki.save_key_pair(
        tmp_path / npki.npki_folder_path(holder.der),
        holder.der,
        npki.encrypt_key_file(key, holder.r, CERT_PASSWORD),
    )
    return [folder / "signCert.der", folder / "signPri.key"]


def challenge_requests(page) -> list:
    posted = []
    page.on("request", lambda r: posted.append(r) if r.method == "POST" and r.url.endswith(CHALLENGE_POSTS) else None)
    return posted


def test_the_window_counts_down_the_login_challenge_and_fetches_a_new_one_when_it_runs_out(page, usb_files):
    page.clock.install()
    page.goto("/nuri/login/")
    posted = challenge_requests(page)
    page.get_by_role("button", name="인증서 로그인").click()
    dialog = page.get_by_role("dialog", name="인증서 선택")

    # The challenge comes as the window opens; its time left counts down.
    timer = dialog.get_by_test_id("certwin-timer")
    expect(timer).to_be_visible()
    expect(timer).to_have_text(RUNNING)
    first = timer.inner_text()
    expect(timer).not_to_have_text(first)
    assert len(posted) == 1

    dialog.get_by_role("button", name="하드디스크·이동식디스크").click()
    dialog.get_by_label("인증서 파일 선택").set_input_files(usb_files)
    dialog.get_by_role("row", name=re.compile("홍길동")).click()
    dialog.get_by_label("인증서 비밀번호", exact=True).fill(CERT_PASSWORD)

    # Two minutes later it has run out: the window says so, and 확인 has become 다시 시도.
    page.clock.fast_forward("02:01")
    expect(timer).to_contain_text("0:00")
    expect(dialog.get_by_role("alert")).to_have_text(EXPIRED)
    expect(dialog.get_by_role("button", name="확인", exact=True)).to_have_count(0)
    # Choosing a certificate does not hide that it ran out.
    dialog.get_by_role("row", name=re.compile("홍길동")).click()
    expect(dialog.get_by_role("alert")).to_have_text(EXPIRED)

    # 다시 시도: a new challenge, a fresh countdown, and the login goes through with it.
    dialog.get_by_role("button", name="다시 시도").click()
    expect(timer).to_have_text(RUNNING)
    expect(dialog.locator("[data-certwin-error]")).to_be_empty()
    assert len(posted) == 2
    fresh, stale = (request.response().json()["challenge"] for request in reversed(posted))
    assert fresh != stale
    with page.expect_request(lambda r: r.url.endswith("/nuri/login/certificate/")) as login:
        confirm_and_land_on_accounts(page, dialog)
    assert re.search(r'name="challenge"\r\n\r\n([^\r]+)', login.value.post_data).group(1) == fresh


def test_the_sms_step_counts_down_the_codes_validity(page, customer):
    page.clock.install()
    page.goto("/nuri/certificates/issue/")
    verify_identity_logged_out(page, customer)

    timer = page.locator(".stepup__timer [data-countdown-until]")
    expect(timer).to_have_text(re.compile(r"^[23]:\d\d$"))
    shown = timer.inner_text()
    expect(timer).not_to_have_text(shown)  # it ticks, every second

    page.clock.fast_forward("03:01")
    expect(timer).to_have_text("인증번호가 만료되었습니다. 다시 받아 주세요.")


def test_issuance_shows_the_time_left_and_a_run_out_challenge_is_replaced_on_retry(page, customer):
    page.clock.install()
    page.goto("/nuri/certificates/issue/")
    verify_identity_logged_out(page, customer)
    page.get_by_label("SMS 인증번호").fill(newest_sms_code())
    page.get_by_role("button", name="확인", exact=True).click()
    expect(page).to_have_url(re.compile(r"/nuri/certificates/issue/keys/$"))
    page.get_by_label("인증서 비밀번호", exact=True).fill(CERT_PASSWORD)
    page.get_by_label("인증서 비밀번호 확인", exact=True).fill(CERT_PASSWORD)
    posted = challenge_requests(page)

    # The page's time stands still: issuance waits at its first step, its challenge in hand.
    page.clock.pause_at(datetime.datetime.now() + datetime.timedelta(seconds=1))
    page.get_by_role("button", name="발급", exact=True).click()
    timer = page.get_by_test_id("issue-timer")
    expect(timer).to_be_visible()  # the challenge has come
    expect(timer).to_have_text(RUNNING)
    assert len(posted) == 1

    # It runs out before the request is signed: nothing is sent, the page says try again.
    expect(page.locator('[data-task="keys"]')).to_be_visible()
    expect(page.locator('[data-task="sign"]')).to_be_hidden()
    # Three minutes: the bank's clock went on while the page's stood still.
    page.clock.fast_forward("03:00")
    page.clock.resume()
    expect(page.get_by_role("alert")).to_have_text(EXPIRED)
    expect(timer).to_be_hidden()
    assert not Certificate.objects.exists()

    # 발급 again: a new challenge, and the certificate is issued.
    page.get_by_role("button", name="발급", exact=True).click()
    expect(page.get_by_text("공동인증서가 발급되었습니다.")).to_be_visible()
    assert len(posted) == 2
    assert Certificate.objects.filter(holder=customer, status="valid").count() == 1
    page.get_by_role("link", name="인증서로 로그인").click()
    expect(page).to_have_url(LOGIN_URL)


def test_a_transfer_review_left_too_long_is_signed_after_a_fresh_page(page, usb_files, chulsoo_account):
    page.clock.install()
    log_in_with_certificate(page, usb_files)
    fill_transfer(page, chulsoo_account, "50000")
    page.get_by_role("button", name="다음").click()
    review = re.compile(r"/nuri/transfer/review/$")
    expect(page).to_have_url(review)
    signing = page.locator("[data-transfer-sign]")
    stale = signing.get_attribute("data-challenge")

    # The customer comes back after two minutes: the window says the page's challenge ran out.
    page.clock.fast_forward("02:01")
    page.get_by_role("button", name="인증서로 서명하고 이체").click()
    dialog = page.get_by_role("dialog", name="인증서 선택")
    expect(dialog.get_by_role("alert")).to_have_text(EXPIRED)
    expect(dialog.get_by_test_id("certwin-timer")).to_contain_text("0:00")

    # 다시 시도 brings a fresh review page (the text's 일시 is part of what is signed), and a new challenge.
    with page.expect_navigation():
        dialog.get_by_role("button", name="다시 시도").click()
    expect(page).to_have_url(review)
    expect(signing).not_to_have_attribute("data-challenge", stale)
    sign_on_review(page, usb_files)
    expect(page).to_have_url(re.compile(r"/nuri/transfer/[0-9a-f-]{36}/$"))
    expect(page.get_by_test_id("signature-verified")).to_have_text("전자서명 검증됨")
