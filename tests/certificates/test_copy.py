"""인증서 복사 (certificates/services/copy.py and its endpoints): a 공동인증서 goes from
one device to another through the bank, end-to-end encrypted. The devices here
are two Django test clients speaking the protocol with the Python client
(certificates/client/copy.py), the same sealing the browsers use."""

import base64
import datetime

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from certificates import services
from certificates.client import copy as pycopy
from certificates.client import npki
from certificates.exceptions import CopyRefusal, CopyRefused
from certificates.models import CopySession
from certificates.services.copy import copy_session_digest

CERT_PASSWORD = "Cert#pass2026"
BASE = "/nuri/certificates/copy/"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


@pytest.fixture
def files(holder):
    """What the sending device holds: signCert.der and the password-encrypted signPri.key."""
    return holder.der, npki.encrypt_key_file(holder.key, holder.r, CERT_PASSWORD)


@pytest.fixture
def phone(banks):
    return Client()


@pytest.fixture
def pc(banks):
    return Client()


def open_copy(phone):
    receiver = pycopy.create_receiver()
    response = phone.post(BASE + "open/", {"receiver_public_key": b64(receiver.public_key)})
    assert response.status_code == 200, response.content
    return receiver, response.json()


def find(pc, **fields):
    return pc.post(BASE + "find/", fields)


def seal_and_upload(pc, found, files, token=None):
    sender_pub, ciphertext = pycopy.seal_for_receiver(
        receiver_public_key=unb64(found["receiver_public_key"]),
        token=found["token"],
        certificate_der=files[0],
        key_file=files[1],
    )
    response = pc.post(
        BASE + "upload/", {"token": token or found["token"], "sender_public_key": b64(sender_pub), "ciphertext": b64(ciphertext)}
    )
    return sender_pub, ciphertext, response


def assert_refused(response, status: int, reason: CopyRefusal):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == reason.value
    assert body["error"] == str(reason.label)
    assert any("\uac00" <= ch <= "\ud7a3" for ch in body["error"])  # a Korean message


# --- The whole copy ---------------------------------------------------------------------------


def test_copy_from_pc_to_phone_relays_only_ciphertext_and_deletes_it(phone, pc, files, holder):
    receiver, opened = open_copy(phone)
    assert len(opened["number"]) == 8 and opened["number"].isdigit()
    assert 170 <= opened["expires_in"] <= 180
    assert opened["link"] == f"http://testserver/nuri/certificates/copy/send/#t={opened['token']}"
    assert opened["qr_svg"].startswith("<svg")
    status = phone.post(BASE + "status/", {"token": opened["token"]}).json()
    assert status["state"] == "waiting" and "sender_public_key" not in status

    # The PC types the number shown on the phone (with the space the phone shows).
    found = find(pc, number=f"{opened['number'][:4]} {opened['number'][4:]}").json()
    assert found["token"] == opened["token"]
    assert unb64(found["receiver_public_key"]) == receiver.public_key
    sender_pub, ciphertext, response = seal_and_upload(pc, found, files)
    assert response.status_code == 200 and response.json() == {"state": "uploaded"}

    # SECURITY: the relay holds neither the certificate nor the key file, nor any long piece of them.
    stored = bytes(CopySession.objects.get(token=opened["token"]).ciphertext)
    assert stored == ciphertext
    for secret in files:
        for start in range(0, len(secret) - 16, 8):
            assert secret[start : start + 16] not in stored

    # The phone sees the sender's key, shows the same code as the PC, and downloads once.
    status = phone.post(BASE + "status/", {"token": opened["token"]}).json()
    assert status["state"] == "uploaded"
    assert unb64(status["sender_public_key"]) == sender_pub
    assert pycopy.confirmation_code(receiver.public_key, unb64(status["sender_public_key"])) == pycopy.confirmation_code(
        unb64(found["receiver_public_key"]), sender_pub
    )
    assert pc.post(BASE + "sent-status/", {"token": opened["token"]}).json() == {"state": "uploaded"}
    downloaded = phone.post(BASE + "download/", {"token": opened["token"]})
    assert downloaded.status_code == 200
    body = downloaded.json()
    certificate_der, key_file = pycopy.open_from_sender(
        receiver=receiver,
        sender_public_key=unb64(body["sender_public_key"]),
        token=opened["token"],
        ciphertext=unb64(body["ciphertext"]),
    )
    assert (certificate_der, key_file) == files
    # The copied key is still the password-encrypted file, and opens with the password.
    assert npki.decrypt_key_file(key_file, CERT_PASSWORD)[1] == holder.r

    # Emptied in the same statement that marked it downloaded; a second download fails.
    copy = CopySession.objects.get(token=opened["token"])
    assert copy.downloaded_at is not None and bytes(copy.ciphertext) == b""
    assert_refused(phone.post(BASE + "download/", {"token": opened["token"]}), 410, CopyRefusal.ALREADY_RECEIVED)
    assert pc.post(BASE + "sent-status/", {"token": opened["token"]}).json() == {"state": "downloaded"}

    # Audit rows for each step, without key material.
    actions = list(
        AuditEvent.objects.filter(action__startswith="certificate_copy").order_by("sequence").values_list("action", flat=True)
    )
    assert actions == ["certificate_copy_opened", "certificate_copy_uploaded", "certificate_copy_downloaded"]
    for event in AuditEvent.objects.filter(action__startswith="certificate_copy"):
        text = repr(event.detail)
        assert opened["token"] not in text and opened["number"] not in text
        assert set(event.detail) <= {"copy_session", "size"}


def test_the_qr_link_token_finds_the_session(phone, pc, files):
    _receiver, opened = open_copy(phone)
    response = find(pc, token=opened["token"])
    assert response.status_code == 200 and response.json()["token"] == opened["token"]


def test_pages_render_without_login(phone, pc):
    receive = phone.get(BASE + "receive/")
    send = pc.get(BASE + "send/")
    assert receive.status_code == send.status_code == 200
    assert "인증서 가져오기" in receive.content.decode() and "인증서 내보내기" in send.content.decode()
    assert 'data-open-url="/nuri/certificates/copy/open/"' in receive.content.decode()
    assert "data-certwin" in send.content.decode()  # the 인증서 선택창


# --- Refusals ---------------------------------------------------------------------------------


def test_download_from_another_browser_session_is_refused(phone, pc, files):
    _receiver, opened = open_copy(phone)
    seal_and_upload(pc, find(pc, number=opened["number"]).json(), files)
    # SECURITY: the sender (or anyone holding the token) cannot take the blob.
    assert_refused(pc.post(BASE + "download/", {"token": opened["token"]}), 403, CopyRefusal.WRONG_SESSION)
    assert_refused(Client().post(BASE + "status/", {"token": opened["token"]}), 403, CopyRefusal.WRONG_SESSION)
    assert_refused(pc.post(BASE + "cancel/", {"token": opened["token"]}), 403, CopyRefusal.WRONG_SESSION)
    copy = CopySession.objects.get(token=opened["token"])
    assert copy.downloaded_at is None and bytes(copy.ciphertext) != b""
    assert phone.post(BASE + "download/", {"token": opened["token"]}).status_code == 200


def test_download_at_another_bank_is_refused(phone, pc, files):
    _receiver, opened = open_copy(phone)
    seal_and_upload(pc, find(pc, number=opened["number"]).json(), files)
    assert_refused(phone.post("/garam/certificates/copy/download/", {"token": opened["token"]}), 404, CopyRefusal.NOT_FOUND)
    garam_pc = Client()
    assert_refused(garam_pc.post("/garam/certificates/copy/find/", {"number": opened["number"]}), 404, CopyRefusal.NOT_FOUND)


def test_second_upload_is_refused_and_keeps_the_first(phone, pc, files):
    _receiver, opened = open_copy(phone)
    found = find(pc, number=opened["number"]).json()
    _pub, first, _response = seal_and_upload(pc, found, files)
    _pub, _second, response = seal_and_upload(pc, found, (b"other certificate", b"other key"))
    assert_refused(response, 409, CopyRefusal.ALREADY_SENT)
    assert bytes(CopySession.objects.get(token=opened["token"]).ciphertext) == first
    # Nor can the used number be looked up again.
    assert_refused(find(Client(), number=opened["number"]), 409, CopyRefusal.ALREADY_SENT)


def test_download_before_upload_is_refused(phone):
    _receiver, opened = open_copy(phone)
    assert_refused(phone.post(BASE + "download/", {"token": opened["token"]}), 409, CopyRefusal.NOT_YET_SENT)


def test_expired_session_is_refused_and_its_ciphertext_deleted(phone, pc, files):
    _receiver, opened = open_copy(phone)
    seal_and_upload(pc, find(pc, number=opened["number"]).json(), files)
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=181), tick=False):
        assert_refused(phone.post(BASE + "download/", {"token": opened["token"]}), 410, CopyRefusal.EXPIRED)
        copy = CopySession.objects.get(token=opened["token"])
        assert bytes(copy.ciphertext) == b"" and copy.downloaded_at is None
        assert_refused(phone.post(BASE + "status/", {"token": opened["token"]}), 410, CopyRefusal.EXPIRED)
        assert_refused(find(Client(), number=opened["number"]), 410, CopyRefusal.EXPIRED)
        # The next copy anyone opens purges the expired session entirely.
        open_copy(Client())
        assert not CopySession.objects.filter(token=opened["token"]).exists()


def test_upload_after_expiry_is_refused(phone, pc, files):
    _receiver, opened = open_copy(phone)
    found = find(pc, number=opened["number"]).json()
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=181), tick=False):
        _pub, _ct, response = seal_and_upload(pc, found, files)
        assert_refused(response, 410, CopyRefusal.EXPIRED)
    assert CopySession.objects.get(token=opened["token"]).uploaded_at is None


def test_purge_command_deletes_expired_sessions(phone):
    _receiver, opened = open_copy(phone)
    call_command("purge_copy_sessions")
    assert CopySession.objects.filter(token=opened["token"]).exists()
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=181), tick=False):
        call_command("purge_copy_sessions")
    assert not CopySession.objects.exists()


def test_receiver_can_refuse_and_nothing_is_kept(phone, pc, files):
    _receiver, opened = open_copy(phone)
    seal_and_upload(pc, find(pc, number=opened["number"]).json(), files)
    assert phone.post(BASE + "cancel/", {"token": opened["token"]}).json() == {"state": "cancelled"}
    copy = CopySession.objects.get(token=opened["token"])
    assert copy.cancelled_at is not None and bytes(copy.ciphertext) == b""
    assert_refused(phone.post(BASE + "download/", {"token": opened["token"]}), 410, CopyRefusal.CANCELLED)
    assert_refused(pc.post(BASE + "sent-status/", {"token": opened["token"]}), 410, CopyRefusal.CANCELLED)
    assert AuditEvent.objects.filter(action="certificate_copy_cancelled").count() == 1


def test_sender_status_only_for_the_session_that_found_it(phone, pc, files):
    _receiver, opened = open_copy(phone)
    assert_refused(pc.post(BASE + "sent-status/", {"token": opened["token"]}), 403, CopyRefusal.WRONG_SESSION)


def off_curve_point(valid: bytes) -> bytes:
    return valid[:-1] + bytes([valid[-1] ^ 1])


@pytest.mark.parametrize(
    "mangle",
    [
        lambda pub: pub[:64],  # too short
        lambda pub: pub + b"\x00",  # too long
        lambda pub: b"\x02" + pub[1:33],  # compressed form
        lambda pub: b"\x05" + pub[1:],  # wrong prefix
        off_curve_point,  # not on the curve
        lambda pub: b"\x04" + bytes(64),  # (0, 0)
    ],
)
def test_malformed_receiver_public_key_is_refused(phone, mangle):
    receiver = pycopy.create_receiver()
    response = phone.post(BASE + "open/", {"receiver_public_key": b64(mangle(receiver.public_key))})
    assert_refused(response, 400, CopyRefusal.BAD_PUBLIC_KEY)
    assert not CopySession.objects.exists()


def test_receiver_public_key_must_be_base64(phone):
    assert_refused(phone.post(BASE + "open/", {"receiver_public_key": "not base64!"}), 400, CopyRefusal.BAD_PUBLIC_KEY)
    assert_refused(phone.post(BASE + "open/", {}), 400, CopyRefusal.BAD_PUBLIC_KEY)


def test_malformed_sender_public_key_is_refused(phone, pc, files):
    _receiver, opened = open_copy(phone)
    found = find(pc, number=opened["number"]).json()
    sender = pycopy.create_receiver().public_key
    response = pc.post(
        BASE + "upload/",
        {"token": found["token"], "sender_public_key": b64(off_curve_point(sender)), "ciphertext": b64(bytes(100))},
    )
    assert_refused(response, 400, CopyRefusal.BAD_PUBLIC_KEY)
    assert CopySession.objects.get(token=opened["token"]).uploaded_at is None


@pytest.mark.parametrize("size", [0, 27, 64 * 1024 + 1, 100 * 1024])
def test_ciphertext_outside_the_aes_gcm_shape_or_cap_is_refused(phone, pc, size):
    _receiver, opened = open_copy(phone)
    found = find(pc, number=opened["number"]).json()
    sender = pycopy.create_receiver().public_key
    response = pc.post(
        BASE + "upload/", {"token": found["token"], "sender_public_key": b64(sender), "ciphertext": b64(bytes(size))}
    )
    assert_refused(response, 400, CopyRefusal.BAD_CIPHERTEXT)
    assert CopySession.objects.get(token=opened["token"]).uploaded_at is None


@pytest.mark.parametrize("size", [28, 64 * 1024])
def test_ciphertext_at_the_bounds_is_accepted(phone, pc, size):
    _receiver, opened = open_copy(phone)
    found = find(pc, number=opened["number"]).json()
    sender = pycopy.create_receiver().public_key
    response = pc.post(
        BASE + "upload/", {"token": found["token"], "sender_public_key": b64(sender), "ciphertext": b64(bytes(size))}
    )
    assert response.status_code == 200


@pytest.mark.parametrize("number", ["1234", "123456789", "abcd efgh", "١٢٣٤٥٦٧٨", ""])
def test_malformed_number_is_refused(pc, banks, number):
    assert_refused(find(pc, number=number), 400, CopyRefusal.BAD_NUMBER)


def test_upload_with_unknown_token_is_refused(pc, banks):
    sender = pycopy.create_receiver().public_key
    response = pc.post(BASE + "upload/", {"token": "x" * 43, "sender_public_key": b64(sender), "ciphertext": b64(bytes(64))})
    assert_refused(response, 404, CopyRefusal.NOT_FOUND)


def test_wrong_numbers_are_throttled_per_browser_session(phone, pc, settings):
    _receiver, opened = open_copy(phone)
    wrong = f"{(int(opened['number']) + 1) % 10**8:08d}"
    for _ in range(settings.CERTBANK_COPY_LOOKUP_MAX_FAILURES):
        assert_refused(find(pc, number=wrong), 404, CopyRefusal.NOT_FOUND)
    # SECURITY: now even the right number waits, so guessing cannot go on.
    assert_refused(find(pc, number=opened["number"]), 429, CopyRefusal.THROTTLED)
    assert_refused(find(pc, token=opened["token"]), 429, CopyRefusal.THROTTLED)
    assert AuditEvent.objects.filter(action="certificate_copy_lookup_locked").count() == 1
    # Another browser session is not affected; this one may try again after the wait.
    assert find(Client(), number=opened["number"]).status_code == 200
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=settings.CERTBANK_COPY_LOOKUP_WAIT_SECONDS + 1)):
        assert find(pc, number=opened["number"]).status_code == 200


def test_wrong_tokens_count_as_wrong_lookups(pc, banks, settings):
    for _ in range(settings.CERTBANK_COPY_LOOKUP_MAX_FAILURES):
        assert_refused(find(pc, token="no-such-token"), 404, CopyRefusal.NOT_FOUND)
    assert_refused(find(pc, number="12345678"), 429, CopyRefusal.THROTTLED)


def test_a_right_number_resets_the_count(phone, pc, settings):
    _receiver, opened = open_copy(phone)
    wrong = f"{(int(opened['number']) + 1) % 10**8:08d}"
    for _ in range(settings.CERTBANK_COPY_LOOKUP_MAX_FAILURES - 1):
        find(pc, number=wrong)
    assert find(pc, number=opened["number"]).status_code == 200
    assert_refused(find(pc, number=wrong), 404, CopyRefusal.NOT_FOUND)


# --- Services directly ------------------------------------------------------------------------


def test_concurrent_style_double_download_has_one_winner(nuri, files):
    receiver = pycopy.create_receiver()
    copy = services.copy_session_open(bank=nuri, session_key="phone", receiver_public_key=receiver.public_key)
    sender_pub, ciphertext = pycopy.seal_for_receiver(
        receiver_public_key=receiver.public_key, token=copy.token, certificate_der=files[0], key_file=files[1]
    )
    services.copy_upload(bank=nuri, token=copy.token, sender_public_key=sender_pub, ciphertext=ciphertext)
    # Someone marks it downloaded between our read and our UPDATE: the conditional UPDATE loses.
    stale = CopySession.objects.get(pk=copy.pk)
    CopySession.objects.filter(pk=copy.pk).update(downloaded_at=timezone.now(), ciphertext=b"")
    assert stale.downloaded_at is None
    with pytest.raises(CopyRefused) as refused:
        services.copy_download(bank=nuri, token=copy.token, session_key="phone")
    assert refused.value.reason == CopyRefusal.ALREADY_RECEIVED


def test_session_is_bound_to_a_digest_of_the_session_key(nuri):
    receiver = pycopy.create_receiver()
    copy = services.copy_session_open(bank=nuri, session_key="phone-session", receiver_public_key=receiver.public_key)
    assert copy.receiver_session_digest == copy_session_digest("phone-session")
    assert "phone-session" not in copy.receiver_session_digest
    assert bytes(copy.receiver_public_key) == receiver.public_key


def test_numbers_are_unique_among_sessions(nuri):
    keys = [pycopy.create_receiver().public_key for _ in range(30)]
    numbers = {
        services.copy_session_open(bank=nuri, session_key=f"s{i}", receiver_public_key=k).number for i, k in enumerate(keys)
    }
    assert len(numbers) == 30
