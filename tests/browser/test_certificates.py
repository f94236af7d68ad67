"""공동인증서 in the browser: issuance, downloads, and certificate login.

Everything a customer does is done by clicking: log in with ID and password,
인증센터 → 본인확인 → SMS → 발급 (keys made and encrypted in Chromium), then
인증서 로그인 through the 인증서 선택창, from the browser's store or from the
downloaded files in a browser that has never seen the certificate.
"""

import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect

from audit.models import AuditEvent
from certificates.models import Certificate
from certificates.services import certificate_status_change
from core.models import SmsMessage
from tests.browser.conftest import CSP_LISTENER, DEFAULT_TIMEOUT_MS, BrowserProblems
from tests.certificates.test_interop import assert_logged_in, assert_vid_binds, pinksign_login, pinksign_open, pinksign_r
from tests.conftest import PASSWORD, PIN

CERT_PASSWORD = "Cert#pass2026"
RRN = "900101-1234568"
PHONE = "01012345678"
SMS_CODE_RE = re.compile(r"\[(\d{6})\]")
ACCOUNTS_URL = re.compile(r"/nuri/accounts/$")
LOGIN_URL = re.compile(r"/nuri/login/$")


@pytest.fixture(autouse=True)
def _signing_ca(test_ca):
    """Every test here signs with the fast temporary CA (the live server shares the settings)."""


# --- Steps a customer takes ---------------------------------------------------------------------


def log_in_with_password(page):
    page.goto("/nuri/login/")
    page.get_by_label("아이디", exact=True).fill("hong")
    page.get_by_label("비밀번호", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="로그인", exact=True).click()
    expect(page).to_have_url(ACCOUNTS_URL)


def log_out(page):
    page.get_by_role("button", name="로그아웃").click()
    expect(page).to_have_url(re.compile(r"/nuri/$"))
    expect(page.get_by_role("button", name="로그아웃")).to_have_count(0)


def newest_sms_code(phone=PHONE) -> str:
    message = SmsMessage.objects.filter(phone=phone).first()
    assert message is not None, f"no SMS to {phone}"
    match = SMS_CODE_RE.search(message.body)
    assert match, message.body
    return match.group(1)


def issue_certificate(page, *, storage="브라우저"):
    """From the account list: 인증센터 → 본인확인 → SMS → 저장 위치, 비밀번호 → 발급.

    Returns when the done state shows. With storage "하드디스크·이동식디스크" the page
    starts the ZIP download itself once the key is made: that download is returned.
    """
    account_number = page.get_by_test_id("account-number").first.inner_text().strip()
    page.get_by_role("link", name="인증센터").click()
    expect(page).to_have_url(re.compile(r"/nuri/certificates/$"))
    page.get_by_role("link", name="인증서 발급·재발급").first.click()
    expect(page).to_have_url(re.compile(r"/nuri/certificates/issue/$"))

    page.get_by_label("주민등록번호").fill(RRN)
    page.get_by_label("계좌번호").fill(account_number)
    page.get_by_label("계좌 비밀번호").fill(PIN)
    page.get_by_role("button", name="본인확인").click()
    # The same page moves on to the SMS step; the code was sent as it began.
    expect(page.get_by_label("SMS 인증번호")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/nuri/certificates/issue/$"))

    page.get_by_label("SMS 인증번호").fill(newest_sms_code())
    page.get_by_role("button", name="확인", exact=True).click()
    expect(page).to_have_url(re.compile(r"/nuri/certificates/issue/keys/$"))

    # The page's script enables 발급 once it is ready to check the passwords as they are typed.
    expect(page.get_by_role("button", name="발급", exact=True)).to_be_enabled()
    browser_radio = page.get_by_role("radio", name="브라우저")
    expect(browser_radio).to_be_checked()  # the default
    page.get_by_role("radio", name=storage).check()
    page.get_by_label("인증서 비밀번호", exact=True).fill(CERT_PASSWORD)
    page.get_by_label("인증서 비밀번호 확인", exact=True).fill(CERT_PASSWORD)
    expect(page.get_by_text("비밀번호가 일치합니다.")).to_be_visible()
    issue = page.get_by_role("button", name="발급", exact=True)
    zip_download = None
    if storage == "하드디스크·이동식디스크":
        # Waited for from the click that starts it, not from the start of the flow.
        with page.expect_download() as started:
            issue.click()
        zip_download = started.value
    else:
        issue.click()

    expect(page.get_by_text("공동인증서가 발급되었습니다.")).to_be_visible()
    expect(page.get_by_role("link", name="인증서로 로그인")).to_be_visible()
    return zip_download


def code_from_demo_phone(page) -> str:
    """The newest code, read as a person does: the demo hint's 내 휴대폰 opens the phone in a new tab."""
    hint = page.locator(".demo-hint").filter(visible=True)
    with page.expect_popup() as popup:
        hint.get_by_role("link", name="내 휴대폰").click()
    phone = popup.value
    sms = phone.get_by_test_id("sms-list").locator(".sms__body").first
    expect(sms).to_contain_text("인증번호")
    match = SMS_CODE_RE.search(sms.inner_text())
    assert match, sms.inner_text()
    phone.close()
    return match.group(1)


def verify_identity_logged_out(page, customer, *, name="홍길동"):
    """본인확인 without a session: 이름, 주민등록번호, an account of this bank and its PIN."""
    page.get_by_label("이름", exact=True).fill(name)
    page.get_by_label("주민등록번호").fill(RRN)
    page.get_by_label("계좌번호").fill(customer.deposit_accounts.first().display_number)
    page.get_by_label("계좌 비밀번호").fill(PIN)
    page.get_by_role("button", name="본인확인").click()
    expect(page.get_by_label("SMS 인증번호")).to_be_visible()


def download(page, link_name, folder: Path) -> Path:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).click()
    target = folder / info.value.suggested_filename
    info.value.save_as(target)
    return target


def download_files(page, folder: Path) -> dict[str, Path]:
    """signCert.der, signPri.key and the NPKI ZIP from the done state."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "cert": download(page, "signCert.der", folder),
        "key": download(page, "signPri.key", folder),
        "zip": download(page, re.compile(r"^NPKI-[0-9a-f]+\.zip$"), folder),
    }


def open_certificate_window(page):
    if not LOGIN_URL.search(page.url):
        page.goto("/nuri/login/")
    page.get_by_role("button", name="인증서 로그인").click()
    dialog = page.get_by_role("dialog", name="인증서 선택")
    expect(dialog).to_be_visible()
    return dialog


def choose_certificate(dialog, password=CERT_PASSWORD):
    row = dialog.get_by_role("row", name=re.compile("홍길동"))
    expect(row).to_have_count(1)
    row.click()
    expect(row).to_have_attribute("aria-selected", "true")
    dialog.get_by_label("인증서 비밀번호", exact=True).fill(password)


def confirm_and_land_on_accounts(page, dialog):
    dialog.get_by_role("button", name="확인", exact=True).click()
    expect(page).to_have_url(ACCOUNTS_URL)
    expect(page.get_by_test_id("account-balance")).to_have_text("1,000,000원")
    expect(page.get_by_text("홍길동님", exact=True)).to_be_visible()


def certificate_audit_rows():
    return AuditEvent.objects.filter(action__in=["certificate_login_succeeded", "certificate_refused"])


@contextmanager
def fresh_context(browser, live_server):
    """A second browser profile (empty IndexedDB), watched like the `page` fixture's."""
    context = browser.new_context(
        base_url=live_server.url, locale="ko-KR", timezone_id="Asia/Seoul", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    problems = BrowserProblems()
    context.on("console", problems.on_console)
    context.on("weberror", problems.on_weberror)
    context.expose_binding("__certbankCspViolation", problems.on_csp_violation)
    context.add_init_script(CSP_LISTENER)
    context.browser_problems = problems  # a test may clear a problem it expected
    try:
        yield context
    finally:
        context.close()
    assert not problems.messages, problems.report()


# --- Tests ----------------------------------------------------------------------------------------


def test_issue_store_in_browser_download_files_and_log_in_with_the_certificate(
    page, customer, live_server, artifacts_dir, tmp_path
):
    log_in_with_password(page)
    sent = []
    page.on("request", lambda request: sent.append(request) if request.method == "POST" else None)
    issue_certificate(page)
    expect(page.get_by_text("홍길동", exact=True)).to_be_visible()  # 사용자 in the facts
    # SECURITY: the private key and the certificate password never leave the browser.
    issue_posts = [request for request in sent if request.url.endswith("/certificates/issue/complete/")]
    assert len(issue_posts) == 1
    fields = issue_posts[0].post_data_buffer.decode("latin-1")
    names = set(re.findall(r'name="([^"]+)"', fields))
    assert names == {"challenge", "public_key", "signature", "r"}
    for request in sent:
        body = request.post_data_buffer or b""
        assert CERT_PASSWORD.encode() not in body
    # Before the download clicks scroll the page (the sticky header would land mid-picture).
    page.screenshot(path=artifacts_dir / "certificate-issued.png", full_page=True)
    files = download_files(page, tmp_path / "downloads")
    certificate = Certificate.objects.get(holder=customer, status="valid")
    assert files["cert"].name == "signCert.der" and files["key"].name == "signPri.key"
    assert files["cert"].read_bytes() == bytes(certificate.der)
    assert files["zip"].read_bytes()[:4] == b"PK\x03\x04"

    log_out(page)
    page.get_by_role("link", name="로그인", exact=True).click()
    dialog = open_certificate_window(page)
    expect(dialog.get_by_role("button", name="브라우저")).to_have_attribute("aria-pressed", "true")
    choose_certificate(dialog)
    page.screenshot(path=artifacts_dir / "certificate-window.png")
    confirm_and_land_on_accounts(page, dialog)
    assert AuditEvent.objects.filter(action="certificate_login_succeeded", customer=customer).count() == 1

    # The key file Chromium wrote opens in pypinksign, whose R gives the VID and
    # whose own signature over a fresh challenge logs another session in.
    signer = pinksign_open(files["cert"].read_bytes(), files["key"].read_bytes(), CERT_PASSWORD)
    assert_vid_binds(files["cert"].read_bytes(), pinksign_r(signer))
    assert_logged_in(*pinksign_login(live_server.url, signer, files["cert"].read_bytes()))


def test_fresh_browser_logs_in_by_importing_the_downloaded_files(page, browser, customer, live_server, tmp_path):
    # Issued to disk: the page starts the ZIP download itself.
    log_in_with_password(page)
    zip_download = issue_certificate(page, storage="하드디스크·이동식디스크")
    expect(page.get_by_text("하드디스크·이동식디스크 (파일 내려받기)")).to_be_visible()
    folder = tmp_path / "usb"
    folder.mkdir()
    zip_path = folder / zip_download.suggested_filename
    zip_download.save_as(zip_path)
    assert re.fullmatch(r"NPKI-[0-9a-f]+\.zip", zip_path.name)
    cert_path = download(page, "signCert.der", folder)
    key_path = download(page, "signPri.key", folder)

    for picked in ([cert_path, key_path], [zip_path]):
        with fresh_context(browser, live_server) as context:
            other = context.new_page()
            dialog = open_certificate_window(other)
            # Nothing in this browser's store.
            expect(dialog.get_by_text("이 브라우저에 저장된 인증서가 없습니다.")).to_be_visible()
            dialog.get_by_role("button", name="하드디스크·이동식디스크").click()
            dialog.get_by_label("인증서 파일 선택").set_input_files(picked)
            choose_certificate(dialog)
            confirm_and_land_on_accounts(other, dialog)
    assert AuditEvent.objects.filter(action="certificate_login_succeeded", customer=customer).count() == 2


def test_wrong_certificate_password_is_refused_in_the_browser(page, customer):
    log_in_with_password(page)
    issue_certificate(page)
    log_out(page)
    dialog = open_certificate_window(page)
    # The login challenge came with the window (its countdown shows once it has).
    expect(dialog.get_by_test_id("certwin-timer")).to_be_visible()

    sent = []
    page.on("request", lambda request: sent.append(request.url) if request.method == "POST" else None)
    choose_certificate(dialog, password="Wrong#pass2026")
    dialog.get_by_role("button", name="확인", exact=True).click()
    expect(dialog.get_by_role("alert")).to_have_text("인증서 비밀번호가 올바르지 않습니다.")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("인증서 비밀번호", exact=True)).to_have_attribute("aria-invalid", "true")

    # The password was checked on the device: nothing was asked of the server.
    assert sent == []
    assert not certificate_audit_rows().exists()
    dialog.get_by_role("button", name="취소").click()
    expect(dialog).to_be_hidden()
    page.goto("/nuri/accounts/")
    expect(page).to_have_url(re.compile(r"/nuri/login/\?next="))


def test_revoked_certificate_is_refused_at_login(page, context, customer):
    log_in_with_password(page)
    issue_certificate(page)
    log_out(page)
    certificate = Certificate.objects.get(holder=customer, status="valid")
    certificate_status_change(certificate=certificate, to="revoked", reason="key_compromise")

    dialog = open_certificate_window(page)
    choose_certificate(dialog)
    # Chromium logs the refused fetch as a console error: expected here, so it
    # is awaited and taken off the list the `page` fixture fails a test on.
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
    error = page.locator("[data-cert-login-error]")
    expect(error).to_have_text("폐기된 인증서입니다. 인증서를 재발급 받아 주세요.")
    expect(page).to_have_url(LOGIN_URL)
    expect(page.get_by_role("button", name="로그아웃")).to_have_count(0)
    assert certificate_audit_rows().filter(action="certificate_refused").count() == 1
    assert not certificate_audit_rows().filter(action="certificate_login_succeeded").exists()


def test_issue_logged_out_from_the_login_page_then_log_in_with_it(page, customer):
    # A fresh browser, no session: 인증서 발급·재발급 from the login page.
    page.goto("/nuri/login/")
    page.get_by_role("link", name="인증서 발급·재발급").click()
    expect(page).to_have_url(re.compile(r"/nuri/certificates/issue/$"))
    expect(page.get_by_role("radio", name="공동인증서")).to_be_checked()
    verify_identity_logged_out(page, customer)

    # The code went to 홍길동's phone as the SMS step began; its validity counts down.
    page.get_by_label("SMS 인증번호").fill(code_from_demo_phone(page))
    page.get_by_role("button", name="확인", exact=True).click()
    expect(page).to_have_url(re.compile(r"/nuri/certificates/issue/keys/$"))
    expect(page.get_by_text("홍길동님, 본인확인이 끝났습니다.", exact=False)).to_be_visible()

    expect(page.get_by_role("button", name="발급", exact=True)).to_be_enabled()
    page.get_by_label("인증서 비밀번호", exact=True).fill(CERT_PASSWORD)
    page.get_by_label("인증서 비밀번호 확인", exact=True).fill(CERT_PASSWORD)
    page.get_by_role("button", name="발급", exact=True).click()
    expect(page.get_by_text("공동인증서가 발급되었습니다.")).to_be_visible()
    certificate = Certificate.objects.get(holder=customer, status="valid")
    expect(page.locator("[data-certissue-serial]")).to_have_text(certificate.serial)
    assert certificate.kind == "joint"

    # Still logged out; the certificate is in this browser and logs in.
    expect(page.get_by_role("button", name="로그아웃")).to_have_count(0)
    page.get_by_role("link", name="인증서로 로그인").click()
    expect(page).to_have_url(LOGIN_URL)
    dialog = open_certificate_window(page)
    choose_certificate(dialog)
    confirm_and_land_on_accounts(page, dialog)
    assert AuditEvent.objects.filter(action="certificate_login_succeeded", customer=customer).count() == 1
