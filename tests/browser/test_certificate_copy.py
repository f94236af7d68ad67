"""인증서 복사 as a customer does it, with two separate browser contexts of one
Chromium: the "PC" holds 홍길동's 공동인증서 in its browser storage, the "휴대폰"
has nothing (its own IndexedDB and cookies). The phone opens 인증서 가져오기,
the PC finds it (by the number, or the QR link), picks the certificate, both
show the same confirmation code, the person confirms on the PC, and only then
is the certificate sealed and sent; the phone shows it, stores it and logs in
with the copy. And the refusals: codes that differ (either side says so), a
relay that swaps the receiver's key, a QR link whose commitment is not the
server's."""

import base64
import json
import re

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone
from playwright.sync_api import expect

from audit.models import AuditEvent
from certificates.client import copy as pycopy
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
PHONE_COMPARE = "보내는 기기에 같은 확인 코드가 보이는지 확인해 주세요"
PC_COMPARE = "받는 기기(휴대폰 등)에 같은 확인 코드가 보이나요?"
SEND_BUTTON = "확인 코드가 같습니다 · 보내기"
DIFFER_BUTTON = "다릅니다 · 취소"


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


def open_on_phone(phone) -> str:
    """The phone opens 인증서 가져오기; returns the QR link the bank answered with."""
    with phone.expect_response(re.compile(r"/certificates/copy/open/$")) as opened:
        phone.goto(RECEIVE)
    shown_number(phone)
    return json.loads(opened.value.body())["link"]


def choose_on_pc(pc):
    """The PC picks the certificate (the 금융인증서 tab is not offered) and joins."""
    pc.get_by_role("button", name="보낼 인증서 선택").click()
    dialog = pc.get_by_role("dialog", name="인증서 선택")
    expect(dialog.get_by_role("button", name="브라우저")).to_have_attribute("aria-pressed", "true")
    expect(dialog.locator('[data-certwin-store="cloud"]')).to_be_hidden()
    choose_certificate(dialog)
    dialog.get_by_role("button", name="확인", exact=True).click()


def codes_shown(pc, phone) -> str:
    """Both screens show a code, the same one; returns it."""
    expect(pc.get_by_text(PC_COMPARE)).to_be_visible()
    expect(phone.get_by_text(PHONE_COMPARE)).to_be_visible()
    pc_code = pc.get_by_test_id("copy-code").inner_text()
    assert re.fullmatch(r"\d{3} \d{3}", pc_code)
    expect(phone.get_by_test_id("copy-code")).to_have_text(pc_code)
    return pc_code


def only_expected_refusals(context, status: str):
    """The polls that met the cancelled copy got the expected 4xx; nothing else went wrong."""
    problems = context.browser_problems.messages
    for _ in range(50):  # Chromium's console line for the refused fetch may trail the page update
        if problems:
            break
        context.pages[0].wait_for_timeout(100)
    assert problems and all(status in message for message in problems), problems
    problems.clear()


def posted(requests, endpoint: str) -> list:
    return [request for request in requests if request.url.endswith(f"/certificates/copy/{endpoint}/")]


def test_copy_a_certificate_from_pc_to_phone_by_number_and_log_in_on_the_phone(
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
        # The phone opened with a commitment only: the bank does not know its key yet.
        assert bytes(CopySession.objects.get().receiver_public_key) == b""

        # The PC: 인증서 내보내기, the number, the certificate window, the password.
        pc.goto(SEND)
        pc.get_by_label("인증번호 (8자리)").fill(number.replace(" ", ""))
        expect(pc.get_by_label("인증번호 (8자리)")).to_have_value(number)
        pc.screenshot(path=artifacts_dir / "certificate-copy-send.png", full_page=True)
        pc.get_by_role("button", name="다음").click()
        expect(pc.get_by_text("받는 기기를 찾았습니다.")).to_be_visible()
        choose_on_pc(pc)

        # Both screens show the same code; nothing has been sealed or sent yet.
        code = codes_shown(pc, phone)
        expect(pc.get_by_role("button", name=SEND_BUTTON)).to_be_enabled()
        expect(pc.get_by_role("button", name=DIFFER_BUTTON)).to_be_enabled()
        pc.screenshot(path=artifacts_dir / "certificate-copy-compare.png", full_page=True)
        phone.screenshot(path=artifacts_dir / "certificate-copy-phone-compare.png", full_page=True)
        copy = CopySession.objects.get()
        assert copy.revealed_at is not None and copy.uploaded_at is None and bytes(copy.ciphertext) == b""
        assert posted(sent, "join") and not posted(sent, "upload")

        # The person confirms on the PC: now it seals and sends.
        pc.get_by_role("button", name=SEND_BUTTON).click()
        expect(pc.get_by_text("인증서를 암호화해 보냈습니다.", exact=False)).to_be_visible()
        expect(pc.get_by_test_id("copy-code")).to_have_text(code)
        pc.screenshot(path=artifacts_dir / "certificate-copy-sent.png", full_page=True)

        # The phone shows what arrived, and the customer stores it.
        confirm = phone.locator("[data-copy-confirm]")
        expect(confirm.get_by_text("보내는 기기에서 인증서를 보냈습니다.")).to_be_visible()
        expect(confirm.get_by_text("홍길동", exact=False)).to_be_visible()
        phone.screenshot(path=artifacts_dir / "certificate-copy-confirm.png", full_page=True)
        phone.get_by_role("button", name="이 기기에 저장").click()
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
        assert len(posted(sent, "upload")) == 1
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

    actions = list(
        AuditEvent.objects.filter(action__startswith="certificate_copy").order_by("id").values_list("action", flat=True)
    )
    assert actions == [
        "certificate_copy_opened",
        "certificate_copy_joined",
        "certificate_copy_revealed",
        "certificate_copy_uploaded",
        "certificate_copy_downloaded",
    ]
    assert AuditEvent.objects.filter(action="certificate_login_succeeded", customer=customer).count() == 1


def test_qr_link_path_and_the_pc_says_the_codes_differ_so_nothing_is_sealed(page, browser, live_server, pc_certificate):
    holder, key_file = pc_certificate
    pc = page
    store_in_browser(pc, holder, key_file)
    sent = []
    pc.on("request", lambda request: sent.append(request) if request.method == "POST" else None)

    with fresh_context(browser, live_server) as phone_context:
        phone = phone_context.new_page()
        link = open_on_phone(phone)
        first_number = shown_number(phone)
        assert re.fullmatch(re.escape(live_server.url + SEND) + r"#t=[A-Za-z0-9_-]{43}&c=[A-Za-z0-9_-]{43}", link)

        # The PC opens the QR's link: the session is found without typing, the
        # commitment checked against the QR's, and the fragment leaves the address bar.
        pc.goto(link)
        expect(pc.get_by_text("받는 기기를 찾았습니다.")).to_be_visible()
        assert "#" not in pc.url
        assert all("#" not in request.url and "c=" not in (request.post_data or "") for request in sent)
        choose_on_pc(pc)
        codes_shown(pc, phone)

        # The customer sees codes that (say) differ and refuses on the PC: nothing is sealed.
        pc.get_by_role("button", name=DIFFER_BUTTON).click()
        expect(pc.get_by_text("인증서 복사를 취소했습니다. 인증서를 보내지 않았습니다.")).to_be_visible()
        expect(
            phone.get_by_text("보내는 기기에서 인증서 복사를 취소했습니다. 이 기기에는 아무것도 저장하지 않았습니다.")
        ).to_be_visible()
        only_expected_refusals(phone_context, "410")  # the phone's poll met the cancelled copy
        assert not posted(sent, "upload")
        copy = CopySession.objects.get()
        assert copy.cancelled_at is not None and copy.uploaded_at is None and bytes(copy.ciphertext) == b""
        assert AuditEvent.objects.get(action="certificate_copy_cancelled").detail["by"] == "sender"
        assert phone.evaluate(STORED) == []

        # 다시 시작 gives a new number.
        phone.get_by_role("button", name="다시 시작").click()
        expect(phone.get_by_test_id("copy-number")).not_to_have_text(first_number)
        shown_number(phone)
        assert CopySession.objects.count() == 2


def test_the_phone_says_the_codes_differ_and_the_pc_sends_nothing(page, browser, live_server, pc_certificate):
    holder, key_file = pc_certificate
    pc = page
    store_in_browser(pc, holder, key_file)

    with fresh_context(browser, live_server) as phone_context:
        phone = phone_context.new_page()
        pc.goto(open_on_phone(phone))
        choose_on_pc(pc)
        codes_shown(pc, phone)
        phone.get_by_role("button", name="코드가 달라요 (취소)").click()
        expect(phone.get_by_text("인증서 복사를 취소했습니다. 이 기기에는 아무것도 저장하지 않았습니다.")).to_be_visible()
        # The PC's poll gets the 410 and says so; its buttons are gone with the copy.
        expect(pc.get_by_text("받는 기기에서 인증서 복사를 취소했습니다.")).to_be_visible()
        expect(pc.get_by_role("button", name=SEND_BUTTON)).to_be_hidden()
        only_expected_refusals(pc.context, "410")
        copy = CopySession.objects.get()
        assert copy.cancelled_at is not None and copy.uploaded_at is None and bytes(copy.ciphertext) == b""
        assert phone.evaluate(STORED) == []


def test_the_phone_shows_the_certificate_and_may_decline_to_store_it(page, browser, live_server, pc_certificate):
    holder, key_file = pc_certificate
    pc = page
    store_in_browser(pc, holder, key_file)

    with fresh_context(browser, live_server) as phone_context:
        phone = phone_context.new_page()
        pc.goto(open_on_phone(phone))
        choose_on_pc(pc)
        codes_shown(pc, phone)
        pc.get_by_role("button", name=SEND_BUTTON).click()
        confirm = phone.locator("[data-copy-confirm]")
        expect(confirm.locator("[data-copy-serial]")).to_have_text(re.compile(r"\S"))
        phone.get_by_role("button", name="저장하지 않음").click()
        expect(phone.get_by_text("인증서 복사를 취소했습니다. 이 기기에는 아무것도 저장하지 않았습니다.")).to_be_visible()
        assert phone.evaluate(STORED) == []
        # It was downloaded once (and so deleted from the relay) before the customer decided.
        copy = CopySession.objects.get()
        assert copy.downloaded_at is not None and bytes(copy.ciphertext) == b""


def test_the_pc_refuses_a_receiver_key_that_does_not_match_the_commitment_even_if_the_server_passes_it(
    page, browser, live_server, pc_certificate
):
    """A relay that swaps the phone's key for its own in what it tells the PC
    (simulated: the PC's sent-status answer is rewritten on the way). The
    server's own check is bypassed; the PC's check alone must hold."""
    holder, key_file = pc_certificate
    pc = page
    store_in_browser(pc, holder, key_file)
    relay = pycopy.create_receiver()
    rewritten = []

    def swap_receiver_key(route):
        response = route.fetch()
        body = response.json()
        if "receiver_public_key" in body:
            body["receiver_public_key"] = base64.b64encode(relay.public_key).decode()
            rewritten.append(body)
        route.fulfill(response=response, json=body)

    pc.route(re.compile(r"/certificates/copy/sent-status/$"), swap_receiver_key)
    sent = []
    pc.on("request", lambda request: sent.append(request) if request.method == "POST" else None)

    with fresh_context(browser, live_server) as phone_context:
        phone = phone_context.new_page()
        pc.goto(open_on_phone(phone))
        choose_on_pc(pc)
        expect(
            pc.get_by_text("받는 기기의 키가 처음에 약속한 값과 다릅니다. 중간에서 키가 바뀌었을 수 있어", exact=False)
        ).to_be_visible()
        assert rewritten
        # SECURITY: no code was offered for comparison, nothing was sealed, the copy is cancelled.
        expect(pc.get_by_role("button", name=SEND_BUTTON)).to_be_hidden()
        assert not posted(sent, "upload")
        assert len(posted(sent, "cancel")) == 1
        copy = CopySession.objects.get()
        assert copy.cancelled_at is not None and copy.uploaded_at is None and bytes(copy.ciphertext) == b""
        expect(phone.get_by_text("보내는 기기에서 인증서 복사를 취소했습니다.", exact=False)).to_be_visible()
        only_expected_refusals(phone_context, "410")
        assert phone.evaluate(STORED) == []


def test_a_qr_link_whose_commitment_is_not_the_servers_is_refused(page, browser, live_server, pc_certificate):
    holder, key_file = pc_certificate
    pc = page
    store_in_browser(pc, holder, key_file)
    sent = []
    pc.on("request", lambda request: sent.append(request) if request.method == "POST" else None)

    with fresh_context(browser, live_server) as phone_context:
        phone = phone_context.new_page()
        link = open_on_phone(phone)
        head, c = link.rsplit("&c=", 1)
        other = bytearray(base64.urlsafe_b64decode(c + "="))
        other[0] ^= 0x01
        pc.goto(f"{head}&c={base64.urlsafe_b64encode(bytes(other)).decode().rstrip('=')}")
        expect(pc.get_by_text("QR 코드의 확인 값이 은행 서버가 알려 준 값과 다릅니다.", exact=False)).to_be_visible()
        expect(pc.get_by_role("button", name="보낼 인증서 선택")).to_be_hidden()
        assert posted(sent, "find") and not posted(sent, "join")
        assert CopySession.objects.get().joined_at is None
        # The phone is still waiting for a sender.
        expect(phone.get_by_test_id("copy-number")).to_be_visible()


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
