"""A new customer's first visit, as a person would click through it."""

import base64
import re

from django_otp.oath import TOTP
from playwright.sync_api import expect

from accounts import rrn as rrn_rules
from tests.conftest import PASSWORD, PIN

NAME = "김누리"
PHONE = "01055501234"
LOGIN_ID = "nuri_first"
EMAIL = "nuri.first@example.com"
SMS_CODE_RE = re.compile(r"\[누리은행\][^\[]*인증번호 \[(\d{6})\]")


def valid_rrn() -> str:
    first_twelve = "950505" + "1" + "23456"
    return f"{first_twelve[:6]}-{first_twelve[6:]}{rrn_rules.check_digit(first_twelve)}"


def test_new_customer_opens_an_account_logs_in_and_enrols_otp(page, context, banks, artifacts_dir):
    # The bank list, then 누리은행.
    page.goto("/")
    page.get_by_role("link", name=re.compile("누리은행")).click()
    expect(page).to_have_url(re.compile(r"/nuri/$"))

    # Step 1: the application form.
    page.get_by_role("link", name="계좌개설", exact=True).click()
    expect(page).to_have_url(re.compile(r"/nuri/signup/$"))
    page.get_by_label("이름", exact=True).fill(NAME)
    page.get_by_label("주민등록번호").fill(valid_rrn())
    page.get_by_label("휴대폰 번호").fill("010-5550-1234")
    page.get_by_label("이메일").fill(EMAIL)
    page.get_by_label("아이디", exact=True).fill(LOGIN_ID)
    page.get_by_label("비밀번호", exact=True).fill(PASSWORD)
    page.get_by_label("비밀번호 확인", exact=True).fill(PASSWORD)
    page.get_by_label(re.compile("수집·이용에 동의")).check()
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/nuri/signup/")) as signup_response:
        page.get_by_role("button", name="인증번호 받기").click()
    status = signup_response.value.status
    assert status == 302, f"the sign-up form answered {status}, not a redirect to the SMS step"
    expect(page).to_have_url(re.compile(r"/nuri/signup/verify/$"))
    expect(page.get_by_text("010-5550-1234")).to_be_visible()

    # The SMS arrives on the demo phone, read in a second tab.
    phone = context.new_page()
    phone.goto(f"/nuri/demo/phone/?phone={PHONE}")
    sms_text = phone.get_by_test_id("sms-list").inner_text()
    match = SMS_CODE_RE.search(sms_text)
    assert match, f"no 누리은행 code in the SMS list: {sms_text!r}"
    code = match.group(1)
    phone.close()

    # Step 2: the code and the account PIN.
    page.bring_to_front()
    page.get_by_label("SMS 인증번호").fill(code)
    page.get_by_label("계좌 비밀번호 (숫자 4자리)").fill(PIN)
    page.get_by_label("계좌 비밀번호 확인").fill(PIN)
    page.get_by_role("button", name="계좌 개설", exact=True).click()

    # Step 3: done, with the new account number.
    expect(page.get_by_role("heading", name="계좌 개설이 완료되었습니다")).to_be_visible()
    account_number = page.get_by_test_id("new-account-number").inner_text().strip()
    assert re.fullmatch(r"901-10-\d{7}-\d", account_number), account_number

    # First login with the new ID.
    page.get_by_role("link", name="로그인하러 가기").click()
    expect(page).to_have_url(re.compile(r"/nuri/login/$"))
    page.get_by_label("아이디", exact=True).fill(LOGIN_ID)
    page.get_by_label("비밀번호", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="로그인", exact=True).click()
    expect(page).to_have_url(re.compile(r"/nuri/accounts/$"))
    expect(page.get_by_test_id("account-number")).to_have_text(account_number)
    expect(page.get_by_test_id("account-balance")).to_have_text("1,000,000원")
    expect(page.get_by_test_id("total-balance")).to_have_text("1,000,000원")

    # The history shows the welcome deposit.
    page.get_by_role("link", name="거래내역").click()
    expect(page.get_by_role("heading", name="거래내역조회")).to_be_visible()
    expect(page.get_by_role("cell", name="신규가입 축하금")).to_be_visible()

    # Back to the account list, kept as a picture.
    page.get_by_role("link", name=re.compile("전체계좌조회")).click()
    expect(page.get_by_test_id("total-balance")).to_have_text("1,000,000원")
    # The picture is only useful with the stylesheets applied.
    assert page.evaluate("() => [...document.styleSheets].every(sheet => sheet.cssRules.length > 0)")
    screenshot = artifacts_dir / "accounts.png"
    screenshot.unlink(missing_ok=True)
    page.screenshot(path=screenshot, full_page=True)
    assert screenshot.is_file()
    assert screenshot.stat().st_size > 20_000

    # OTP enrolment with the key typed by hand instead of the QR code.
    page.get_by_role("link", name="OTP 관리").click()
    secret = re.sub(r"\s+", "", page.get_by_test_id("otp-secret").inner_text())
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    page.get_by_label("OTP 인증번호").fill(f"{TOTP(key).token():06d}")
    page.get_by_role("button", name="OTP 등록").click()
    expect(page.get_by_test_id("otp-status")).to_be_visible()
    expect(page.get_by_test_id("otp-status")).to_contain_text("OTP가 등록되어 있습니다")

    # Logging out ends the session.
    page.get_by_role("button", name="로그아웃").click()
    expect(page).to_have_url(re.compile(r"/nuri/$"))
    expect(page.get_by_role("link", name="로그인", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="로그아웃")).to_have_count(0)
    page.goto("/nuri/accounts/")
    expect(page).to_have_url(re.compile(r"/nuri/login/\?next=%2Fnuri%2Faccounts%2F$"))
