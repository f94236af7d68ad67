"""인증서 복사 as a customer does it, with two separate browser contexts of one
Chromium: the "PC" holds 홍길동's 공동인증서 in its browser storage, the "휴대폰"
has nothing (its own IndexedDB and cookies). The phone opens 인증서 가져오기,
the PC sends the certificate with the number the phone shows, both show the
same confirmation code, the phone accepts and then logs in with the copy."""

import base64
import json
import re

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone
from playwright.sync_api import expect

from audit.models import AuditEvent
from certificates.client import npki
from certificates.models import CopySession
from tests.browser.test_certificates import ACCOUNTS_URL, CERT_PASSWORD, choose_certificate, fresh_context
from tests.certificates.conftest import issue_for

RECEIVE = "/nuri/certificates/copy/receive/"
SEND = "/nuri/certificates/copy/send/"
STORED = """async () => {
    const { listCertificates } = await import("/static/js/ui/keystore.js");
    return (await listCertificates()).map((r) => ({ serial: r.serial, cert: btoa(String.fromCharCode(...r.certificateDer)),
                                                   key: btoa(String.fromCharCode(...r.keyFile)) }));
}"""


@pytest.fixture(autouse=True)
def _signing_ca(test_ca):
    """The live server signs and verifies with the test CA."""


@pytest.fixture
def pc_certificate(customer):
    """홍길동's certificate and its password-encrypted key file, as the PC's browser keeps them."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    holder = issue_for(customer, key)
    return holder, npki.encrypt_key_file(key, holder.r, CERT_PASSWORD)


def store_in_browser(page, holder, key_file):
    page.goto("/nuri/login/")
    page.evaluate(
        """async ({serial, cert, key}) => {
            const { saveCertificate } = await import("/static/js/ui/keystore.js");
            const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            await saveCertificate({ serial, certificateDer: bytes(cert), keyFile: bytes(key) });
        }""",
        {
            "serial": holder.certificate.serial,
            "cert": base64.b64encode(holder.der).decode(),
            "key": base64.b64encode(key_file).decode(),
        },
    )


def shown_number(phone) -> str:
    number = phone.get_by_test_id("copy-number")
    expect(number).to_have_text(re.compile(r"^\d{4} \d{4}$"))
    return number.inner_text()


def send_from_pc(pc):
    pc.get_by_role("button", name="보낼 인증서 선택").click()
    dialog = pc.get_by_role("dialog", name="인증서 선택")
    expect(dialog.get_by_role("button", name="브라우저")).to_have_attribute("aria-pressed", "true")
    choose_certificate(dialog)
    dialog.get_by_role("button", name="확인", exact=True).click()
    expect(pc.get_by_text("휴대폰에서 확인 코드를 확인하고 [가져오기]를 누르세요.")).to_be_visible()


def test_copy_a_certificate_from_pc_to_phone_and_log_in_on_the_phone(
    page, browser, live_server, pc_certificate, customer, artifacts_dir
):
    holder, key_file = pc_certificate
    pc = page
    store_in_browser(pc, holder, key_file)
    sent = []
    pc.on("request", lambda request: sent.append(request) if request.method == "POST" else None)

    with fresh_context(browser, live_server) as phone_context:
        phone = phone_context.new_page()
        phone.set_viewport_size({"width": 420, "height": 900})
        # A separate context: nothing of the PC's storage or cookies.
        phone.goto("/nuri/login/")
        assert phone.evaluate(STORED) == []
        assert not {c["value"] for c in phone_context.cookies()} & {c["value"] for c in pc.context.cookies()}

        # The login page links to 인증서 가져오기.
        phone.get_by_role("link", name="다른 기기의 인증서 가져오기").click()
        expect(phone).to_have_url(re.compile(re.escape(RECEIVE) + "$"))
        expect(phone.locator("[data-copy-qr] svg")).to_be_visible()
        number = shown_number(phone)
        expect(phone.locator("[data-copy-countdown]").first).to_have_text(re.compile(r"^[23]:\d\d$"))
        phone.screenshot(path=artifacts_dir / "certificate-copy-receive.png", full_page=True)

        # The PC: 인증서 내보내기, the number, the certificate window, the password.
        pc.goto(SEND)
        pc.get_by_label("인증번호 (8자리)").fill(number.replace(" ", ""))
        expect(pc.get_by_label("인증번호 (8자리)")).to_have_value(number)
        pc.screenshot(path=artifacts_dir / "certificate-copy-send.png", full_page=True)
        pc.get_by_role("button", name="다음").click()
        expect(pc.get_by_text("받는 기기를 찾았습니다.")).to_be_visible()
        send_from_pc(pc)
        pc_code = pc.get_by_test_id("copy-code").inner_text()
        assert re.fullmatch(r"\d{3} \d{3}", pc_code)
        pc.screenshot(path=artifacts_dir / "certificate-copy-sent.png", full_page=True)

        # The phone shows the same code, and the customer accepts.
        expect(phone.get_by_test_id("copy-code")).to_have_text(pc_code)
        expect(
            phone.get_by_text("PC 화면에 보이는 확인 코드와 같은지 확인한 뒤 [가져오기]를 누르세요.", exact=False)
        ).to_be_visible()
        phone.screenshot(path=artifacts_dir / "certificate-copy-confirm.png", full_page=True)
        phone.get_by_role("button", name="가져오기", exact=True).click()
        expect(phone.get_by_text("인증서를 이 브라우저에 저장했습니다.")).to_be_visible()
        phone.screenshot(path=artifacts_dir / "certificate-copy-done.png", full_page=True)
        expect(pc.get_by_text("받는 기기에서 인증서를 가져갔습니다. 복사가 끝났습니다.")).to_be_visible()

        # The phone's store holds exactly the PC's files: the key file still password-encrypted.
        stored = phone.evaluate(STORED)
        assert len(stored) == 1
        assert stored[0]["serial"] == holder.certificate.serial
        assert base64.b64decode(stored[0]["cert"]) == holder.der
        assert base64.b64decode(stored[0]["key"]) == key_file

        # SECURITY: the PC sent neither the password nor the certificate or key in the clear.
        upload = [request for request in sent if request.url.endswith("/certificates/copy/upload/")]
        assert len(upload) == 1
        for request in sent:
            body = request.post_data_buffer or b""
            assert CERT_PASSWORD.encode() not in body
            for secret in (holder.der, key_file):
                assert base64.b64encode(secret[100:160]).decode().encode() not in body
        copy = CopySession.objects.get()
        assert copy.downloaded_at is not None and bytes(copy.ciphertext) == b""

        # And the phone logs in with certificate login, from its own browser storage.
        phone.get_by_role("link", name="인증서로 로그인").click()
        phone.get_by_role("button", name="인증서 로그인").click()
        dialog = phone.get_by_role("dialog", name="인증서 선택")
        expect(dialog.get_by_role("button", name="브라우저")).to_have_attribute("aria-pressed", "true")
        choose_certificate(dialog)
        dialog.get_by_role("button", name="확인", exact=True).click()
        expect(phone).to_have_url(ACCOUNTS_URL)
        expect(phone.get_by_text("홍길동님", exact=True)).to_be_visible()

    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"certificate_copy_opened", "certificate_copy_uploaded", "certificate_copy_downloaded"} <= actions
    assert AuditEvent.objects.filter(action="certificate_login_succeeded", customer=customer).count() == 1


def test_qr_link_opens_the_send_page_and_a_refused_code_stores_nothing(page, browser, live_server, pc_certificate):
    holder, key_file = pc_certificate
    pc = page
    store_in_browser(pc, holder, key_file)

    with fresh_context(browser, live_server) as phone_context:
        phone = phone_context.new_page()
        with phone.expect_response(re.compile(r"/certificates/copy/open/$")) as opened:
            phone.goto(RECEIVE)
        link = json.loads(opened.value.body())["link"]
        first_number = shown_number(phone)
        assert re.fullmatch(re.escape(live_server.url + SEND) + r"#t=[A-Za-z0-9_-]{43}", link)

        # The PC opens the QR's link: the session is found without typing, and the
        # token leaves the address bar (it never went to the server: a fragment).
        pc.goto(link)
        expect(pc.get_by_text("받는 기기를 찾았습니다.")).to_be_visible()
        assert "#" not in pc.url
        send_from_pc(pc)

        # The customer sees codes that (say) differ and refuses: nothing is stored.
        expect(phone.get_by_test_id("copy-code")).to_have_text(pc.get_by_test_id("copy-code").inner_text())
        phone.get_by_role("button", name="코드가 달라요 (취소)").click()
        expect(phone.get_by_text("인증서 복사를 취소했습니다. 이 기기에는 아무것도 저장하지 않았습니다.")).to_be_visible()
        assert phone.evaluate(STORED) == []
        copy = CopySession.objects.get()
        assert copy.cancelled_at is not None and bytes(copy.ciphertext) == b""
        # The PC's poll gets the 410 and says so.
        expect(pc.get_by_text("받는 기기에서 인증서 복사를 취소했습니다.")).to_be_visible()
        problems = pc.context.browser_problems.messages
        for _ in range(50):  # Chromium's console line for the refused fetch may trail the page update
            if problems:
                break
            pc.wait_for_timeout(100)
        assert problems and all("410" in message for message in problems), problems
        problems.clear()  # the expected 410 of the poll

        # 다시 시작 gives a new number.
        phone.get_by_role("button", name="다시 시작").click()
        expect(phone.get_by_test_id("copy-number")).not_to_have_text(first_number)
        expect(phone.get_by_test_id("copy-number")).to_be_visible()
        shown_number(phone)
        assert CopySession.objects.count() == 2


def test_expired_copy_says_so_and_starts_again(page, banks, settings, artifacts_dir):
    settings.CERTBANK_COPY_SECONDS = 2  # the live server reads the same settings
    page.goto(RECEIVE)
    first_number = shown_number(page)
    expect(page.get_by_text("인증서 복사 시간(3분)이 지났습니다. [다시 시작]을 눌러 새 번호를 받으세요.")).to_be_visible()
    expect(page.get_by_test_id("copy-number")).to_be_hidden()
    page.screenshot(path=artifacts_dir / "certificate-copy-expired.png", full_page=True)
    # A status poll that reached the server after the expiry got the expected 410.
    problems = page.context.browser_problems.messages
    assert all("410" in message for message in problems), problems
    problems.clear()
    settings.CERTBANK_COPY_SECONDS = 180
    page.get_by_role("button", name="다시 시작").click()
    expect(page.get_by_test_id("copy-number")).not_to_have_text(first_number)
    expect(page.get_by_test_id("copy-number")).to_be_visible()
    assert CopySession.objects.filter(expires_at__gt=timezone.now()).count() == 1
