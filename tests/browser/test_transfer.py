"""계좌이체 as a customer does it: log in with the certificate (NPKI files on
a USB stick), send 50,000원 to 다온은행, sign the review text in the 인증서
선택창, see the receipt and both balances change; a transfer over the OTP
threshold asks for the OTP and checks it; beyond the daily limit the form
refuses and says how much is left."""

import re

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from banking.models import DepositAccount, Transfer
from certificates.client import npki
from tests.browser.test_certificates import CERT_PASSWORD, choose_certificate
from tests.certificates.conftest import issue_for
from tests.conftest import totp_now


@pytest.fixture(autouse=True)
def _signing_ca(test_ca):
    """The live server signs and verifies with the test CA."""


@pytest.fixture
def usb_files(customer, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    holder = issue_for(customer, key)
    folder = npki.save_key_pair(
        tmp_path / npki.npki_folder_path(holder.der), holder.der, npki.encrypt_key_file(key, holder.r, CERT_PASSWORD)
    )
    return holder, [folder / "signCert.der", folder / "signPri.key"]


def pick_files(dialog, files):
    dialog.get_by_role("button", name="하드디스크·이동식디스크").click()
    dialog.get_by_label("인증서 파일 선택").set_input_files(files)
    choose_certificate(dialog)


def log_in_with_certificate(page, files):
    page.goto("/nuri/login/")
    page.get_by_role("button", name="인증서 로그인").click()
    dialog = page.get_by_role("dialog", name="인증서 선택")
    pick_files(dialog, files)
    dialog.get_by_role("button", name="확인", exact=True).click()
    expect(page).to_have_url(re.compile(r"/nuri/accounts/$"))


def fill_transfer(page, to_account, amount: str):
    page.get_by_role("navigation", name="주 메뉴").get_by_role("link", name="계좌이체").click()
    expect(page).to_have_url(re.compile(r"/nuri/transfer/$"))
    page.get_by_label("입금은행").select_option(to_account.bank.code)
    page.get_by_label("입금계좌번호").fill(to_account.display_number)
    page.get_by_role("button", name="수취인 조회").click()
    expect(page.get_by_role("status").filter(has_text="받는 분")).to_contain_text("이*수")
    page.get_by_label("이체금액").press_sequentially(amount)


def sign_on_review(page, files):
    page.get_by_role("button", name="인증서로 서명하고 이체").click()
    dialog = page.get_by_role("dialog", name="인증서 선택")
    # The review page's challenge: its time left counts down in the window.
    expect(dialog.get_by_test_id("certwin-timer")).to_have_text(re.compile(r"서명 유효시간\s+[12]:\d\d"))
    pick_files(dialog, files)
    dialog.get_by_role("button", name="확인", exact=True).click()


def test_send_50000_won_to_another_bank_with_the_certificate_signature(page, usb_files, chulsoo_account, artifacts_dir):
    holder, files = usb_files
    log_in_with_certificate(page, files)
    fill_transfer(page, chulsoo_account, "50000")
    expect(page.get_by_label("이체금액")).to_have_value("50,000")
    expect(page.get_by_text("50,000원 (오만원)")).to_be_visible()
    page.get_by_label("내 통장 표시").fill("책값")
    page.get_by_label("받는 분 통장 표시").fill("홍길동")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=artifacts_dir / "transfer-form.png", full_page=True)
    page.get_by_role("button", name="다음").click()

    expect(page).to_have_url(re.compile(r"/nuri/transfer/review/$"))
    text = page.get_by_test_id("text-to-sign")
    for line in ("입금은행: 다온은행", "받는분: 이*수", "금액: 50,000원 (오만원)", "수수료: 500원", "메모(내 통장): 책값"):
        expect(text).to_contain_text(line)
    page.screenshot(path=artifacts_dir / "transfer-review.png", full_page=True)
    sign_on_review(page, files)

    expect(page).to_have_url(re.compile(r"/nuri/transfer/[0-9a-f-]{36}/$"))
    expect(page.get_by_test_id("signature-verified")).to_have_text("전자서명 검증됨")
    expect(page.get_by_test_id("receipt-amount")).to_have_text("50,000원")
    expect(page.get_by_test_id("openssl-command")).to_contain_text("openssl cms -verify")
    page.screenshot(path=artifacts_dir / "transfer-receipt.png", full_page=True)

    record = Transfer.objects.get()
    assert record.signer_certificate == holder.certificate
    assert DepositAccount.objects.get(pk=chulsoo_account.pk).balance == 50_000
    page.get_by_role("link", name="계좌조회").click()
    expect(page.get_by_test_id("account-balance")).to_have_text("949,500원")

    # The history shows the transfer and its fee with the running balance.
    page.get_by_role("link", name="거래내역").click()
    expect(page.get_by_role("row").filter(has_text="타행이체 수수료")).to_contain_text("949,500원")
    page.screenshot(path=artifacts_dir / "transfer-history.png", full_page=True)
    page.goto("/nuri/devices/")
    expect(page.get_by_role("heading", name="단말기 지정", level=1)).to_be_visible()
    page.screenshot(path=artifacts_dir / "transfer-devices.png", full_page=True)


def test_over_the_otp_threshold_the_otp_is_asked_for_and_checked(page, usb_files, chulsoo_account, settings):
    holder, files = usb_files
    settings.CERTBANK_TRANSFER_OTP_THRESHOLD = 100_000
    device = TOTPDevice.objects.create(user=holder.customer, name="OTP", confirmed=True)
    log_in_with_certificate(page, files)
    fill_transfer(page, chulsoo_account, "200000")
    page.get_by_role("button", name="다음").click()
    otp = page.get_by_label("OTP 인증번호")
    expect(otp).to_be_visible()
    wrong = "000000" if totp_now(device) != "000000" else "111111"
    otp.fill(wrong)
    with page.expect_console_message(lambda message: "403" in message.text):
        sign_on_review(page, files)
    expect(page.get_by_role("alert").filter(has_text="OTP 인증번호가 올바르지 않습니다")).to_be_visible()
    page.context.browser_problems.messages.clear()  # the refused fetch is the expected 403
    assert Transfer.objects.count() == 0

    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    page.get_by_role("button", name="다시 서명하기").click()
    page.get_by_label("OTP 인증번호").fill(totp_now(device))
    sign_on_review(page, files)
    expect(page.get_by_test_id("signature-verified")).to_be_visible()
    assert Transfer.objects.get().amount == 200_000


def test_beyond_the_daily_limit_the_form_says_how_much_is_left(page, usb_files, chulsoo_account, settings):
    holder, files = usb_files
    settings.CERTBANK_TRANSFER_LIMITS = {"otp": (100_000_000, 500_000_000), "basic": (300_000, 400_000)}
    from banking.services import transfer

    transfer(
        customer=holder.customer,
        from_account=holder.customer.deposit_accounts.get(),
        to_account=chulsoo_account,
        amount=250_000,
        unsigned_reason="test",
    )
    log_in_with_certificate(page, files)
    fill_transfer(page, chulsoo_account, "200000")
    page.get_by_role("button", name="다음").click()
    expect(page.get_by_role("alert").filter(has_text="1일 이체한도를 초과했습니다")).to_contain_text(
        "오늘 남은 한도는 150,000원입니다."
    )
    expect(page.get_by_test_id("remaining-today")).to_have_text("150,000원")
    assert Transfer.objects.count() == 1
