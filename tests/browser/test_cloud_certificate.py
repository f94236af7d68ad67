"""금융인증서 as a new customer meets it: issued at 누리은행 on this browser,
used to log in with the PIN pad, registered at 가람은행 and used there, and
locked by five wrong PINs. The PIN never appears in any request body."""

import base64
import datetime
import re

import pytest
import time_machine
from playwright.sync_api import expect

from certificates.models import Certificate, CertificateRegistration, CloudDevice, CloudKey
from core.models import SmsMessage
from tests.browser.test_certificates import (
    RRN,
    code_from_demo_phone,
    fresh_context,
    log_in_with_password,
    log_out,
    newest_sms_code,
)
from tests.conftest import PASSWORD, PIN

CLOUD_PIN = "482916"
WRONG_PIN = "739150"


@pytest.fixture(autouse=True)
def _signing_ca(test_ca):
    """The live server signs and verifies with the test CA."""


@pytest.fixture
def request_bodies(context):
    """Every request body the browser sends, to look for the PIN."""
    bodies = []
    context.on("request", lambda request: bodies.append(request.post_data_buffer or b""))
    return bodies


def pin_pad(page):
    return page.locator("dialog[data-pinpad][open]")


def enter_pin(page, pin):
    """Click the digits on the shuffled keypad, as a customer does."""
    pad = pin_pad(page)
    expect(pad).to_be_visible()
    for digit in pin:
        pad.get_by_role("button", name=digit, exact=True).click()
    # The sixth digit submits after a short pause; the pad then empties (or closes).
    expect(page.locator("dialog[data-pinpad][open] .pinpad__dot--on")).to_have_count(0)


def issue_cloud_certificate(page):
    account_number = page.get_by_test_id("account-number").first.inner_text().strip()
    page.get_by_role("link", name="인증센터").click()
    page.get_by_role("link", name="인증서 발급·재발급").first.click()
    expect(page).to_have_url(re.compile(r"/nuri/certificates/issue/$"))
    page.get_by_role("radio", name="금융인증서").check()
    page.get_by_label("주민등록번호").fill(RRN)
    page.get_by_label("계좌번호").fill(account_number)
    page.get_by_label("계좌 비밀번호").fill(PIN)
    page.get_by_role("button", name="본인확인").click()
    page.get_by_label("SMS 인증번호").fill(newest_sms_code())
    page.get_by_role("button", name="확인", exact=True).click()
    expect(page).to_have_url(re.compile(r"/nuri/certificates/issue/keys/$"))
    expect(page.get_by_role("heading", name="금융인증서 발급")).to_be_visible()
    page.get_by_role("button", name="PIN 설정하고 발급").click()
    # A weak PIN is refused on the pad before it is ever used.
    enter_pin(page, "111111")
    expect(pin_pad(page)).to_contain_text("같은 숫자")
    enter_pin(page, CLOUD_PIN)
    enter_pin(page, CLOUD_PIN)  # once more to confirm
    expect(page.get_by_text("금융인증서가 발급되었습니다.")).to_be_visible()


def cloud_login(page, bank, pin=CLOUD_PIN):
    page.goto(f"/{bank}/login/")
    page.get_by_role("button", name="인증서 로그인").click()
    dialog = page.get_by_role("dialog", name="인증서 선택")
    dialog.get_by_role("button", name="금융인증서", exact=True).click()
    dialog.get_by_role("row", name=re.compile("홍길동")).click()
    dialog.get_by_role("button", name="확인", exact=True).click()
    enter_pin(page, pin)
    return dialog


def test_issue_log_in_register_at_another_bank_and_log_in_there(page, customer, make_customer, request_bodies, artifacts_dir):
    log_in_with_password(page)
    issue_cloud_certificate(page)
    page.screenshot(path=artifacts_dir / "cloud-issued.png", full_page=True)
    certificate = Certificate.objects.get(kind="financial")
    assert "OU=personalF" in certificate.subject
    log_out(page)

    # Log in at 누리은행 with the PIN pad.
    cloud_login(page, "nuri")
    expect(page).to_have_url(re.compile(r"/nuri/accounts/$"))
    expect(page.get_by_text("홍길동님", exact=True)).to_be_visible()
    log_out(page)

    # Register it at 가람은행 (logged in there with ID and password, extra SMS check).
    gildong = make_customer(bank_code="902", login_id="gildong")
    page.goto("/garam/login/")
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
    dialog.get_by_role("button", name="금융인증서", exact=True).click()
    dialog.get_by_role("row", name=re.compile("홍길동")).click()
    page.screenshot(path=artifacts_dir / "cloud-certwindow.png")
    dialog.get_by_role("button", name="확인", exact=True).click()
    expect(pin_pad(page)).to_be_visible()
    page.screenshot(path=artifacts_dir / "cloud-pinpad.png")
    enter_pin(page, CLOUD_PIN)
    expect(page.get_by_test_id("registration-row")).to_contain_text(certificate.serial)
    assert CertificateRegistration.objects.filter(certificate=certificate, bank=gildong.bank, customer=gildong).exists()
    page.get_by_role("button", name="로그아웃").click()

    cloud_login(page, "garam")
    expect(page).to_have_url(re.compile(r"/garam/accounts/$"))

    # The PIN never left the browser: not in any request body, neither plain nor base64 nor as a list.
    assert request_bodies
    forms = [CLOUD_PIN.encode(), base64.b64encode(CLOUD_PIN.encode()), b"4,8,2,9,1,6", b'"4","8","2"']
    for body in request_bodies:
        for form in forms:
            assert form not in body


def test_five_wrong_pins_lock_the_certificate(page, customer, artifacts_dir):
    log_in_with_password(page)
    issue_cloud_certificate(page)
    log_out(page)
    cloud_login(page, "nuri", pin=WRONG_PIN)
    for attempt in range(1, 5):
        expect(pin_pad(page)).to_contain_text(f"({attempt}/5회 오류")
        enter_pin(page, WRONG_PIN)
    dialog = page.get_by_role("dialog", name="인증서 선택")
    expect(dialog).to_contain_text("금융인증서가 잠겼습니다")
    page.screenshot(path=artifacts_dir / "cloud-locked.png")
    # Locked on the server: the right PIN does not help now.
    assert CloudKey.objects.get().locked
    page.context.browser_problems.messages.clear()  # the refused fetches are the expected 403s


def test_in_its_last_thirty_days_it_renews_itself_on_use(page, customer):
    log_in_with_password(page)
    issue_cloud_certificate(page)
    log_out(page)
    old = Certificate.objects.get(kind="financial")
    # The bank's clock (the live server runs in this process) moves to 20 days before expiry.
    with time_machine.travel(old.not_after - datetime.timedelta(days=20)):
        cloud_login(page, "nuri")
        expect(page).to_have_url(re.compile(r"/nuri/accounts/$"))
        expect(page.get_by_text("금융인증서가 자동 갱신되었습니다.")).to_be_visible()
        old.refresh_from_db()
        assert old.status == "revoked" and old.revocation_reason == "superseded"
        renewed = Certificate.objects.get(kind="financial", status="valid")
        assert renewed.not_after.year == old.not_after.year + 3
        assert CloudKey.objects.filter(certificate=renewed).exists()
        assert "자동 갱신" in SmsMessage.objects.first().body


def test_pin_change_on_the_management_page(page, customer, artifacts_dir):
    log_in_with_password(page)
    issue_cloud_certificate(page)
    page.goto("/nuri/certificates/")
    card = page.get_by_test_id("cloud-card")
    card.get_by_role("button", name="PIN 변경").click()
    enter_pin(page, CLOUD_PIN)
    enter_pin(page, "730519")
    enter_pin(page, "730519")
    expect(card.get_by_text("금융인증서 PIN을 변경했습니다.")).to_be_visible()
    page.screenshot(path=artifacts_dir / "cloud-manage.png", full_page=True)
    log_out(page)
    cloud_login(page, "nuri", pin="730519")
    expect(page).to_have_url(re.compile(r"/nuri/accounts/$"))


def registration_panel(dialog):
    return dialog.locator("[data-certwin-device]")


def test_a_new_browser_registers_itself_inside_the_window_and_logs_in(page, browser, live_server, customer, artifacts_dir):
    log_in_with_password(page)
    issue_cloud_certificate(page)
    log_out(page)
    assert CloudDevice.objects.count() == 1  # the browser it was issued on

    # Another browser, no session: the 금융인증서 tab offers to register it, right there.
    with fresh_context(browser, live_server) as context:
        other = context.new_page()
        other.goto("/nuri/login/")
        steps = []
        other.on("request", lambda r: steps.append(r) if r.url.endswith("/nuri/certificates/cloud/devices/register/") else None)
        other.get_by_role("button", name="인증서 로그인").click()
        dialog = other.get_by_role("dialog", name="인증서 선택")
        dialog.get_by_role("button", name="금융인증서", exact=True).click()
        panel = registration_panel(dialog)
        expect(panel).to_be_visible()
        expect(panel).to_contain_text("이 기기는 금융인증서 이용기기로 등록되어 있지 않습니다.")
        expect(dialog.get_by_role("row", name=re.compile("홍길동"))).to_have_count(0)

        # 본인확인 in the window: 이름, 주민등록번호, 계좌번호, 계좌 비밀번호; then 인증번호 받기.
        panel.get_by_label("이름", exact=True).fill("홍길동")
        panel.get_by_label("주민등록번호").fill(RRN)
        panel.get_by_label("계좌번호").fill(customer.deposit_accounts.first().display_number)
        panel.get_by_label("계좌 비밀번호").fill(PIN)
        other.screenshot(path=artifacts_dir / "cloud-device-identity.png")
        dialog.get_by_role("button", name="인증번호 받기").click()

        # The SMS step, with the code's validity counting down.
        code = panel.get_by_label("SMS 인증번호")
        expect(code).to_be_visible()
        expect(code).to_be_focused()
        timer = panel.get_by_test_id("certwin-device-timer")
        expect(timer).to_have_text(re.compile(r"남은 시간\s+[23]:\d\d"))
        shown = timer.inner_text()
        expect(timer).not_to_have_text(shown)  # it ticks
        code.fill(code_from_demo_phone(other))
        dialog.get_by_role("button", name="등록", exact=True).click()

        # Registered: the list is back with the certificate, and it logs in with the PIN.
        expect(panel).to_be_hidden()
        expect(dialog.get_by_role("status")).to_contain_text("이용기기로 등록했습니다")
        row = dialog.get_by_role("row", name=re.compile("홍길동"))
        expect(row).to_have_count(1)
        expect(row).to_have_attribute("aria-selected", "true")
        assert CloudDevice.objects.count() == 2
        # All of it inside the window: the page never left, each step was a fetch asking for JSON.
        expect(other).to_have_url(re.compile(r"/nuri/login/$"))
        assert [(r.method, r.post_data and re.search(r'name="step"\r\n\r\n(\w+)', r.post_data).group(1)) for r in steps] == [
            ("GET", None),
            ("POST", "identity"),
            ("POST", "sms"),
        ]
        assert all(r.headers.get("accept") == "application/json" for r in steps)
        dialog.get_by_role("button", name="확인", exact=True).click()
        enter_pin(other, CLOUD_PIN)
        expect(other).to_have_url(re.compile(r"/nuri/accounts/$"))
        expect(other.get_by_text("홍길동님", exact=True)).to_be_visible()


def test_logged_in_elsewhere_a_new_browser_registers_with_the_sms_code_alone(
    page, browser, live_server, customer, make_customer, artifacts_dir
):
    log_in_with_password(page)
    issue_cloud_certificate(page)
    log_out(page)
    gildong = make_customer(bank_code="902", login_id="gildong")  # the same person at 가람은행

    # A new browser, logged in at 가람은행 to register the 금융인증서 there.
    with fresh_context(browser, live_server) as context:
        other = context.new_page()
        other.goto("/garam/login/")
        other.get_by_label("아이디", exact=True).fill("gildong")
        other.get_by_label("비밀번호", exact=True).fill(PASSWORD)
        other.get_by_role("button", name="로그인", exact=True).click()
        expect(other).to_have_url(re.compile(r"/garam/accounts/$"))
        other.goto("/garam/certificates/register/")
        other.get_by_role("button", name="인증번호 받기").click()
        other.get_by_label("SMS 인증번호").fill(newest_sms_code())
        other.get_by_role("button", name="확인", exact=True).click()
        other.get_by_role("button", name="등록할 인증서 선택").click()
        dialog = other.get_by_role("dialog", name="인증서 선택")
        dialog.get_by_role("button", name="금융인증서", exact=True).click()

        # Logged in, the login is the first factor: no 본인확인 form, only 인증번호 받기.
        panel = registration_panel(dialog)
        expect(panel).to_contain_text("등록된 휴대폰(010-****-5678)으로 인증번호를 보내 드립니다.")
        expect(panel.get_by_label("주민등록번호")).to_be_hidden()
        sent_before = SmsMessage.objects.count()
        dialog.get_by_role("button", name="인증번호 받기").click()
        code = panel.get_by_label("SMS 인증번호")
        expect(code).to_be_focused()
        expect(panel.get_by_test_id("certwin-device-timer")).to_have_text(re.compile(r"남은 시간\s+[23]:\d\d"))
        assert SmsMessage.objects.count() == sent_before + 1
        other.screenshot(path=artifacts_dir / "cloud-device-code.png")
        code.fill(newest_sms_code())
        dialog.get_by_role("button", name="등록", exact=True).click()

        # Registered through 가람은행; now the certificate itself is registered there with its PIN.
        row = dialog.get_by_role("row", name=re.compile("홍길동"))
        expect(row).to_have_attribute("aria-selected", "true")
        dialog.get_by_role("button", name="확인", exact=True).click()
        enter_pin(other, CLOUD_PIN)
        certificate = Certificate.objects.get(kind="financial")
        expect(other.get_by_test_id("registration-row")).to_contain_text(certificate.serial)
        assert CertificateRegistration.objects.filter(certificate=certificate, bank=gildong.bank, customer=gildong).exists()
        assert CloudDevice.objects.count() == 2


def test_the_window_follows_the_banks_json_answer_done(page, browser, live_server, customer):
    """The step-up page's JSON contract (flows/views.py): {"step": "done", "message"} ends the registration.

    Whatever the bank's page answers to the last step today, the window is held to that
    contract: the answer is replaced by it after the bank has done the work.
    """
    log_in_with_password(page)
    issue_cloud_certificate(page)
    log_out(page)
    done = {"step": "done", "message": "이 기기를 금융인증서 이용기기로 등록했습니다.", "redirect": "/nuri/login/"}

    def answer_done_after_the_code(route):
        response = route.fetch()
        if 'name="step"\r\n\r\nsms' in (route.request.post_data or ""):
            route.fulfill(status=200, json=done)
        else:
            route.fulfill(response=response)

    with fresh_context(browser, live_server) as context:
        other = context.new_page()
        other.route("**/nuri/certificates/cloud/devices/register/", answer_done_after_the_code)
        other.goto("/nuri/login/")
        other.get_by_role("button", name="인증서 로그인").click()
        dialog = other.get_by_role("dialog", name="인증서 선택")
        dialog.get_by_role("button", name="금융인증서", exact=True).click()
        panel = registration_panel(dialog)
        panel.get_by_label("이름", exact=True).fill("홍길동")
        panel.get_by_label("주민등록번호").fill(RRN)
        panel.get_by_label("계좌번호").fill(customer.deposit_accounts.first().display_number)
        panel.get_by_label("계좌 비밀번호").fill(PIN)
        panel.get_by_label("계좌 비밀번호").press("Enter")  # Enter submits the step, as 인증번호 받기 does
        code = panel.get_by_label("SMS 인증번호")
        expect(code).to_be_focused()
        code.fill(newest_sms_code())
        code.press("Enter")
        expect(dialog.get_by_role("status")).to_have_text(done["message"])
        expect(dialog.get_by_role("row", name=re.compile("홍길동"))).to_have_attribute("aria-selected", "true")
        assert CloudDevice.objects.count() == 2
