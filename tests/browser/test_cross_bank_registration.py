"""타행/타기관 인증서 등록 as a customer does it: 홍길동's certificate from 누리은행,
kept as NPKI files on a USB stick, registered at 가람은행 (logged in there, or
straight from its login page without logging in) and then used to log in there."""

import re

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from playwright.sync_api import expect

from certificates.client import npki
from certificates.models import CertificateRegistration
from tests.browser.test_certificates import (
    CERT_PASSWORD,
    choose_certificate,
    code_from_demo_phone,
    newest_sms_code,
    verify_identity_logged_out,
)
from tests.certificates.conftest import issue_for
from tests.conftest import PASSWORD


@pytest.fixture(autouse=True)
def _signing_ca(test_ca):
    """The live server signs and verifies with the test CA."""


@pytest.fixture
def usb_files(customer, tmp_path):
    """홍길동's 누리은행 certificate as signCert.der + signPri.key on disk."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    holder = issue_for(customer, key)
    folder = npki.save_key_pair(
        tmp_path / npki.npki_folder_path(holder.der),
        holder.der,
        npki.encrypt_key_file(key, holder.r, CERT_PASSWORD),
    )
    return holder, [folder / "signCert.der", folder / "signPri.key"]


def pick_files(dialog, files):
    dialog.get_by_role("button", name="하드디스크·이동식디스크").click()
    dialog.get_by_label("인증서 파일 선택").set_input_files(files)
    choose_certificate(dialog)


def test_register_a_certificate_of_another_bank_and_log_in_with_it(page, make_customer, usb_files, artifacts_dir):
    holder, files = usb_files
    gildong = make_customer(bank_code="902", login_id="gildong")  # the same person at 가람은행

    # Before registration 가람은행 refuses the certificate, with the registration message.
    page.goto("/garam/login/")
    page.get_by_role("button", name="인증서 로그인").click()
    dialog = page.get_by_role("dialog", name="인증서 선택")
    pick_files(dialog, files)
    with page.expect_console_message(lambda message: "403" in message.text):
        dialog.get_by_role("button", name="확인", exact=True).click()
    expect(page.get_by_text("이 인증서는 타행/타기관 인증서 등록 후 이용할 수 있습니다.")).to_be_visible()
    page.context.browser_problems.messages.clear()  # the refused fetch is the expected 403

    # Log in with ID and password, pass the extra SMS check, register.
    page.get_by_label("아이디", exact=True).fill("gildong")
    page.get_by_label("비밀번호", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="로그인", exact=True).click()
    expect(page).to_have_url(re.compile(r"/garam/accounts/$"))
    page.goto("/garam/certificates/register/")
    page.get_by_role("button", name="인증번호 받기").click()
    page.get_by_label("SMS 인증번호").fill(newest_sms_code())
    page.get_by_role("button", name="확인", exact=True).click()
    page.get_by_role("button", name="등록할 인증서 선택").click()
    dialog = page.get_by_role("dialog", name="인증서 선택")
    pick_files(dialog, files)
    dialog.get_by_role("button", name="확인", exact=True).click()
    expect(page.get_by_test_id("registration-row")).to_contain_text(holder.certificate.serial)
    page.screenshot(path=artifacts_dir / "certificate-registered.png", full_page=True)
    assert CertificateRegistration.objects.filter(certificate=holder.certificate, bank=gildong.bank, customer=gildong).exists()

    # Now certificate login works at 가람은행, as 가람은행's customer.
    page.get_by_role("button", name="로그아웃").click()
    page.goto("/garam/login/")
    page.get_by_role("button", name="인증서 로그인").click()
    dialog = page.get_by_role("dialog", name="인증서 선택")
    pick_files(dialog, files)
    dialog.get_by_role("button", name="확인", exact=True).click()
    expect(page).to_have_url(re.compile(r"/garam/accounts/$"))
    expect(page.get_by_text("홍길동님", exact=True)).to_be_visible()


def test_register_from_the_login_page_without_logging_in_then_log_in_with_it(page, make_customer, usb_files):
    holder, files = usb_files
    gildong = make_customer(bank_code="902", login_id="gildong")  # the same person at 가람은행

    # A fresh browser, no session: 타행/타기관 인증서 등록 from 가람은행's login page.
    page.goto("/garam/login/")
    page.get_by_role("link", name="타행/타기관 인증서 등록").click()
    expect(page).to_have_url(re.compile(r"/garam/certificates/register/$"))
    verify_identity_logged_out(page, gildong)
    page.get_by_label("SMS 인증번호").fill(code_from_demo_phone(page))
    page.get_by_role("button", name="확인", exact=True).click()

    # Verified: the same address now asks for the certificate, in the window, against the clock.
    expect(page).to_have_url(re.compile(r"/garam/certificates/register/$"))
    page.get_by_role("button", name="등록할 인증서 선택").click()
    dialog = page.get_by_role("dialog", name="인증서 선택")
    expect(dialog.get_by_test_id("certwin-timer")).to_contain_text(re.compile(r"서명 유효시간 [12]:\d\d"))
    pick_files(dialog, files)
    with page.expect_response(lambda r: r.url.endswith("/garam/certificates/register/complete/")) as answer:
        dialog.get_by_role("button", name="확인", exact=True).click()
    assert answer.value.status == 200, answer.value.text()
    expect(page).to_have_url(re.compile(r"/garam/login/$"))
    expect(page.get_by_text("인증서를 등록했습니다.", exact=False)).to_be_visible()
    assert CertificateRegistration.objects.filter(certificate=holder.certificate, bank=gildong.bank, customer=gildong).exists()

    # Certificate login at 가람은행 now works, as 가람은행's customer.
    page.get_by_role("button", name="인증서 로그인").click()
    dialog = page.get_by_role("dialog", name="인증서 선택")
    pick_files(dialog, files)
    dialog.get_by_role("button", name="확인", exact=True).click()
    expect(page).to_have_url(re.compile(r"/garam/accounts/$"))
    expect(page.get_by_text("홍길동님", exact=True)).to_be_visible()
