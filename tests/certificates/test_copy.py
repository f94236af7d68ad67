"""인증서 복사 (certificates/services/copy.py and its endpoints): a 공동인증서 goes from
one device to another through the bank, end-to-end encrypted, in protocol v2 order:
the receiver commits to its key, the sender joins with its key, the receiver reveals,
both compare the codes, and only then does the sender seal and upload. The devices
here are Django test clients speaking the protocol with the Python client
(certificates/client/copy.py), the same commitment and sealing the browsers use."""

import base64
import datetime

import pytest
import time_machine
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from certificates import services
from certificates.client import copy as pycopy
from certificates.client import npki
from certificates.exceptions import CopyRefusal, CopyRefused
from certificates.models import CopyClientCounter, CopySession
from certificates.services.copy import copy_session_digest

CERT_PASSWORD = "Cert#pass2026"
BASE = "/nuri/certificates/copy/"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


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


def stored(opened) -> CopySession:
    return CopySession.objects.get(token=opened["token"])


def open_copy(phone):
    receiver = pycopy.create_receiver()
    response = phone.post(BASE + "open/", {"receiver_commitment": b64(receiver.commitment)})
    assert response.status_code == 200, response.content
    return receiver, response.json()


def find(pc, **fields):
    return pc.post(BASE + "find/", fields)


def join(pc, token, sender=None):
    sender = sender or pycopy.create_sender()
    return sender, pc.post(BASE + "join/", {"token": token, "sender_public_key": b64(sender.public_key)})


def reveal(phone, token, public_key):
    return phone.post(BASE + "reveal/", {"token": token, "receiver_public_key": b64(public_key)})


def upload(pc, token, ciphertext):
    return pc.post(BASE + "upload/", {"token": token, "ciphertext": b64(ciphertext)})


def to_reveal(phone, pc):
    """Open, find by number, join, reveal: both sides could now show the code."""
    receiver, opened = open_copy(phone)
    found = find(pc, number=opened["number"]).json()
    sender, response = join(pc, found["token"])
    assert response.status_code == 200, response.content
    assert reveal(phone, opened["token"], receiver.public_key).status_code == 200
    return receiver, opened, sender, found


def seal_and_upload(pc, sender, found, files):
    """What the PC does once the person confirmed the codes: check R against C, seal, upload."""
    status = pc.post(BASE + "sent-status/", {"token": found["token"]}).json()
    ciphertext = pycopy.seal_for_receiver(
        sender=sender,
        receiver_public_key=unb64(status["receiver_public_key"]),
        receiver_commitment=unb64(found["receiver_commitment"]),
        token=found["token"],
        certificate_der=files[0],
        key_file=files[1],
    )
    return ciphertext, upload(pc, found["token"], ciphertext)


def assert_refused(response, status: int, reason: CopyRefusal):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == reason.value
    assert body["error"] == str(reason.label)
    assert any("\uac00" <= ch <= "\ud7a3" for ch in body["error"])  # a Korean message


def wrong_number(opened) -> str:
    return f"{(int(opened['number']) + 1) % 10**8:08d}"


# --- The whole copy ---------------------------------------------------------------------------


def test_copy_from_pc_to_phone_commits_reveals_compares_and_only_then_relays_ciphertext(phone, pc, files, holder):
    # 1. The phone opens with a commitment to its key, not the key.
    receiver, opened = open_copy(phone)
    assert len(opened["number"]) == 8 and opened["number"].isdigit()
    assert 170 <= opened["expires_in"] <= 180
    assert opened["link"] == (
        f"http://testserver/nuri/certificates/copy/send/#t={opened['token']}&c={b64url(receiver.commitment)}"
    )
    assert opened["qr_svg"].startswith("<svg")
    copy = stored(opened)
    assert bytes(copy.receiver_commitment) == receiver.commitment
    assert bytes(copy.receiver_public_key) == b""
    status = phone.post(BASE + "status/", {"token": opened["token"]}).json()
    assert status["state"] == "waiting" and "sender_public_key" not in status

    # 2. The PC types the number shown on the phone (with the space the phone shows) and gets C.
    found = find(pc, number=f"{opened['number'][:4]} {opened['number'][4:]}").json()
    assert found["token"] == opened["token"]
    assert unb64(found["receiver_commitment"]) == receiver.commitment
    assert "receiver_public_key" not in found
    sender, response = join(pc, found["token"])
    assert response.status_code == 200 and response.json()["state"] == "joined"
    sent = pc.post(BASE + "sent-status/", {"token": found["token"]}).json()
    assert sent["state"] == "joined" and "receiver_public_key" not in sent

    # 3. The phone gets S, and only now reveals R.
    status = phone.post(BASE + "status/", {"token": opened["token"]}).json()
    assert status["state"] == "joined"
    assert unb64(status["sender_public_key"]) == sender.public_key
    response = reveal(phone, opened["token"], receiver.public_key)
    assert response.status_code == 200 and response.json()["state"] == "revealed"
    phone_code = pycopy.confirmation_code(receiver.public_key, unb64(status["sender_public_key"]))

    # 4. The PC gets R, checks it against C, shows the same code.
    sent = pc.post(BASE + "sent-status/", {"token": found["token"]}).json()
    assert sent["state"] == "revealed"
    receiver_pub = unb64(sent["receiver_public_key"])
    assert pycopy.commitment_matches(unb64(found["receiver_commitment"]), receiver_pub)
    assert pycopy.confirmation_code(receiver_pub, sender.public_key) == phone_code

    # SECURITY: until the person confirmed on the PC, nothing was relayed.
    copy = stored(opened)
    assert bytes(copy.ciphertext) == b"" and copy.uploaded_at is None

    # The person confirmed: seal and upload.
    ciphertext, response = seal_and_upload(pc, sender, found, files)
    assert response.status_code == 200 and response.json() == {"state": "uploaded"}

    # SECURITY: the relay holds neither the certificate nor the key file, nor any long piece of them.
    relayed = bytes(stored(opened).ciphertext)
    assert relayed == ciphertext
    for secret in files:
        for start in range(0, len(secret) - 16, 8):
            assert secret[start : start + 16] not in relayed

    # 5. The phone downloads once and opens it.
    assert phone.post(BASE + "status/", {"token": opened["token"]}).json()["state"] == "uploaded"
    assert pc.post(BASE + "sent-status/", {"token": found["token"]}).json()["state"] == "uploaded"
    downloaded = phone.post(BASE + "download/", {"token": opened["token"]})
    assert downloaded.status_code == 200
    body = downloaded.json()
    assert unb64(body["sender_public_key"]) == sender.public_key
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
    copy = stored(opened)
    assert copy.downloaded_at is not None and bytes(copy.ciphertext) == b""
    assert_refused(phone.post(BASE + "download/", {"token": opened["token"]}), 410, CopyRefusal.ALREADY_RECEIVED)
    assert pc.post(BASE + "sent-status/", {"token": found["token"]}).json()["state"] == "downloaded"

    # Audit rows for each step, without key material.
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
    for event in AuditEvent.objects.filter(action__startswith="certificate_copy"):
        text = repr(event.detail)
        assert opened["token"] not in text and opened["number"] not in text
        assert set(event.detail) <= {"copy_session", "size"}


def test_the_qr_link_token_finds_the_session_and_its_commitment(phone, pc):
    receiver, opened = open_copy(phone)
    fragment = opened["link"].split("#", 1)[1]
    fields = dict(part.split("=", 1) for part in fragment.split("&"))
    response = find(pc, token=fields["t"])
    assert response.status_code == 200 and response.json()["token"] == opened["token"]
    # What the sending page compares: the server's C and the fragment's c.
    assert unb64(response.json()["receiver_commitment"]) == base64.urlsafe_b64decode(fields["c"] + "=")
    assert base64.urlsafe_b64decode(fields["c"] + "=") == receiver.commitment


def test_pages_render_without_login(phone, pc):
    receive = phone.get(BASE + "receive/")
    send = pc.get(BASE + "send/")
    assert receive.status_code == send.status_code == 200
    assert "인증서 가져오기" in receive.content.decode() and "인증서 내보내기" in send.content.decode()
    assert 'data-open-url="/nuri/certificates/copy/open/"' in receive.content.decode()
    assert 'data-reveal-url="/nuri/certificates/copy/reveal/"' in receive.content.decode()
    assert 'data-join-url="/nuri/certificates/copy/join/"' in send.content.decode()
    assert 'data-cancel-url="/nuri/certificates/copy/cancel/"' in send.content.decode()
    assert "data-certwin" in send.content.decode()  # the 인증서 선택창


# --- Attacks on the order of steps ------------------------------------------------------------


def test_a_reveal_that_does_not_match_the_commitment_is_refused_and_ends_the_copy(phone, pc, files):
    receiver, opened = open_copy(phone)
    found = find(pc, number=opened["number"]).json()
    sender, _response = join(pc, found["token"])
    # SECURITY: a valid P-256 point, but not the committed one (a relay's or an attacker's key).
    attacker = pycopy.create_receiver()
    assert_refused(reveal(phone, opened["token"], attacker.public_key), 400, CopyRefusal.COMMITMENT_MISMATCH)
    copy = stored(opened)
    assert bytes(copy.receiver_public_key) == b"" and copy.revealed_at is None
    assert copy.cancelled_at is not None
    assert AuditEvent.objects.filter(action="certificate_copy_reveal_refused").count() == 1
    # The copy is over for both sides: not even the right key reveals now, and nothing can be sent.
    assert_refused(reveal(phone, opened["token"], receiver.public_key), 410, CopyRefusal.CANCELLED)
    assert_refused(pc.post(BASE + "sent-status/", {"token": found["token"]}), 410, CopyRefusal.CANCELLED)
    assert_refused(upload(pc, found["token"], bytes(100)), 410, CopyRefusal.CANCELLED)
    assert bytes(stored(opened).ciphertext) == b""


def test_a_reveal_before_any_sender_joined_is_refused(phone):
    receiver, opened = open_copy(phone)
    # SECURITY: R before S would let a relay pick S' knowing R (grinding the code).
    assert_refused(reveal(phone, opened["token"], receiver.public_key), 409, CopyRefusal.NOT_YET_JOINED)
    copy = stored(opened)
    assert bytes(copy.receiver_public_key) == b"" and copy.revealed_at is None and copy.cancelled_at is None


def test_a_second_reveal_is_refused(phone, pc):
    receiver, opened, _sender, _found = to_reveal(phone, pc)
    assert_refused(reveal(phone, opened["token"], receiver.public_key), 409, CopyRefusal.ALREADY_REVEALED)


def test_a_reveal_from_another_browser_session_is_refused(phone, pc):
    receiver, opened = open_copy(phone)
    found = find(pc, number=opened["number"]).json()
    join(pc, found["token"])
    # The sender (or anyone holding the token) cannot reveal a key for the receiver.
    assert_refused(reveal(pc, opened["token"], receiver.public_key), 403, CopyRefusal.WRONG_SESSION)
    assert_refused(reveal(Client(), opened["token"], receiver.public_key), 403, CopyRefusal.WRONG_SESSION)
    assert stored(opened).revealed_at is None


def test_a_second_join_is_refused_and_keeps_the_first(phone, pc):
    _receiver, opened = open_copy(phone)
    found = find(pc, number=opened["number"]).json()
    first, _response = join(pc, found["token"])
    # Another browser that has the token (from the QR, say), and the first one again.
    intruder = Client()
    _other, response = join(intruder, found["token"])
    assert_refused(response, 409, CopyRefusal.ALREADY_JOINED)
    _other, response = join(pc, found["token"])
    assert_refused(response, 409, CopyRefusal.ALREADY_JOINED)
    copy = stored(opened)
    assert bytes(copy.sender_public_key) == first.public_key
    assert copy.sender_session_digest == copy_session_digest(pc.session.session_key)
    # Nor can the joined number be looked up again.
    assert_refused(find(Client(), number=opened["number"]), 409, CopyRefusal.ALREADY_JOINED)
    assert AuditEvent.objects.filter(action="certificate_copy_joined").count() == 1


def test_reading_the_reveal_uploading_or_cancelling_from_another_browser_session_is_refused(phone, pc):
    _receiver, opened, _sender, found = to_reveal(phone, pc)
    # A browser that found the same number earlier (before the join) but did not join.
    for other in (Client(), phone):
        # SECURITY: only the joined sender's session reads R; the receiver may not use sender endpoints either.
        assert_refused(other.post(BASE + "sent-status/", {"token": found["token"]}), 403, CopyRefusal.WRONG_SESSION)
        assert_refused(upload(other, found["token"], bytes(100)), 403, CopyRefusal.WRONG_SESSION)
    assert_refused(Client().post(BASE + "cancel/", {"token": found["token"]}), 403, CopyRefusal.WRONG_SESSION)
    copy = stored(opened)
    assert copy.uploaded_at is None and bytes(copy.ciphertext) == b"" and copy.cancelled_at is None


def test_a_browser_that_only_found_the_number_cannot_follow_the_copy(phone, pc):
    _receiver, opened = open_copy(phone)
    found = find(pc, number=opened["number"]).json()
    assert_refused(pc.post(BASE + "sent-status/", {"token": found["token"]}), 403, CopyRefusal.WRONG_SESSION)
    assert_refused(pc.post(BASE + "cancel/", {"token": found["token"]}), 403, CopyRefusal.WRONG_SESSION)


def test_an_upload_before_the_reveal_is_refused_and_nothing_is_stored(phone, pc):
    _receiver, opened = open_copy(phone)
    found = find(pc, number=opened["number"]).json()
    join(pc, found["token"])
    # SECURITY: a blob sealed before the reveal would be for a key nobody compared.
    assert_refused(upload(pc, found["token"], bytes(100)), 409, CopyRefusal.NOT_YET_REVEALED)
    copy = stored(opened)
    assert copy.uploaded_at is None and bytes(copy.ciphertext) == b""
    assert_refused(phone.post(BASE + "download/", {"token": opened["token"]}), 409, CopyRefusal.NOT_YET_SENT)


def test_an_upload_before_the_join_is_refused(phone, pc):
    _receiver, opened = open_copy(phone)
    find(pc, number=opened["number"])
    assert_refused(upload(pc, opened["token"], bytes(100)), 403, CopyRefusal.WRONG_SESSION)
    assert bytes(stored(opened).ciphertext) == b""


def test_the_sender_refuses_to_seal_for_a_receiver_key_the_relay_swapped(phone, pc, files):
    """A relay that skips its own commitment check and hands the sender a key of its
    choice: the sender's own check (client side) refuses, and nothing is sealed."""
    _receiver, opened, sender, found = to_reveal(phone, pc)
    relay_key = pycopy.create_receiver()
    CopySession.objects.filter(pk=stored(opened).pk).update(receiver_public_key=relay_key.public_key)
    status = pc.post(BASE + "sent-status/", {"token": found["token"]}).json()
    assert unb64(status["receiver_public_key"]) == relay_key.public_key
    with pytest.raises(pycopy.CommitmentMismatch):
        pycopy.seal_for_receiver(
            sender=sender,
            receiver_public_key=relay_key.public_key,
            receiver_commitment=unb64(found["receiver_commitment"]),
            token=found["token"],
            certificate_der=files[0],
            key_file=files[1],
        )


def test_the_sender_cancels_when_the_codes_differ_and_nothing_is_sent(phone, pc):
    _receiver, opened, _sender, found = to_reveal(phone, pc)
    assert pc.post(BASE + "cancel/", {"token": found["token"]}).json() == {"state": "cancelled"}
    copy = stored(opened)
    assert copy.cancelled_at is not None and copy.uploaded_at is None and bytes(copy.ciphertext) == b""
    assert_refused(phone.post(BASE + "status/", {"token": opened["token"]}), 410, CopyRefusal.CANCELLED)
    assert_refused(upload(pc, found["token"], bytes(100)), 410, CopyRefusal.CANCELLED)
    event = AuditEvent.objects.get(action="certificate_copy_cancelled")
    assert event.detail == {"copy_session": copy.pk, "by": "sender"}


def test_the_receiver_can_refuse_and_nothing_is_kept(phone, pc, files):
    _receiver, opened, sender, found = to_reveal(phone, pc)
    seal_and_upload(pc, sender, found, files)
    assert phone.post(BASE + "cancel/", {"token": opened["token"]}).json() == {"state": "cancelled"}
    copy = stored(opened)
    assert copy.cancelled_at is not None and bytes(copy.ciphertext) == b""
    assert_refused(phone.post(BASE + "download/", {"token": opened["token"]}), 410, CopyRefusal.CANCELLED)
    assert_refused(pc.post(BASE + "sent-status/", {"token": found["token"]}), 410, CopyRefusal.CANCELLED)
    event = AuditEvent.objects.get(action="certificate_copy_cancelled")
    assert event.detail == {"copy_session": copy.pk, "by": "receiver"}


# --- Other refusals ---------------------------------------------------------------------------


def test_download_from_another_browser_session_is_refused(phone, pc, files):
    _receiver, opened, sender, found = to_reveal(phone, pc)
    seal_and_upload(pc, sender, found, files)
    # SECURITY: the sender (or anyone holding the token) cannot take the blob.
    assert_refused(pc.post(BASE + "download/", {"token": opened["token"]}), 403, CopyRefusal.WRONG_SESSION)
    assert_refused(Client().post(BASE + "status/", {"token": opened["token"]}), 403, CopyRefusal.WRONG_SESSION)
    copy = stored(opened)
    assert copy.downloaded_at is None and bytes(copy.ciphertext) != b""
    assert phone.post(BASE + "download/", {"token": opened["token"]}).status_code == 200


def test_download_at_another_bank_is_refused(phone, pc, files):
    _receiver, opened, sender, found = to_reveal(phone, pc)
    seal_and_upload(pc, sender, found, files)
    assert_refused(phone.post("/garam/certificates/copy/download/", {"token": opened["token"]}), 404, CopyRefusal.NOT_FOUND)
    garam_pc = Client()
    assert_refused(garam_pc.post("/garam/certificates/copy/find/", {"number": opened["number"]}), 404, CopyRefusal.NOT_FOUND)


def test_second_upload_is_refused_and_keeps_the_first(phone, pc, files):
    _receiver, opened, sender, found = to_reveal(phone, pc)
    first, _response = seal_and_upload(pc, sender, found, files)
    _second, response = seal_and_upload(pc, sender, found, (b"other certificate", b"other key"))
    assert_refused(response, 409, CopyRefusal.ALREADY_SENT)
    assert bytes(stored(opened).ciphertext) == first


def test_download_before_upload_is_refused(phone, pc):
    _receiver, opened, _sender, _found = to_reveal(phone, pc)
    assert_refused(phone.post(BASE + "download/", {"token": opened["token"]}), 409, CopyRefusal.NOT_YET_SENT)


def test_expired_session_is_refused_and_its_ciphertext_deleted(phone, pc, files):
    _receiver, opened, sender, found = to_reveal(phone, pc)
    seal_and_upload(pc, sender, found, files)
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=181), tick=False):
        assert_refused(phone.post(BASE + "download/", {"token": opened["token"]}), 410, CopyRefusal.EXPIRED)
        copy = stored(opened)
        assert bytes(copy.ciphertext) == b"" and copy.downloaded_at is None
        assert_refused(phone.post(BASE + "status/", {"token": opened["token"]}), 410, CopyRefusal.EXPIRED)
        assert_refused(pc.post(BASE + "sent-status/", {"token": opened["token"]}), 410, CopyRefusal.EXPIRED)
        assert_refused(find(Client(), number=opened["number"]), 410, CopyRefusal.EXPIRED)
        # The next copy anyone opens purges the expired session entirely.
        open_copy(Client())
        assert not CopySession.objects.filter(token=opened["token"]).exists()


@pytest.mark.parametrize("step", ["join", "reveal", "upload"])
def test_every_step_after_expiry_is_refused(phone, pc, step):
    receiver, opened = open_copy(phone)
    found = find(pc, number=opened["number"]).json()
    sender = None
    if step != "join":
        sender, _response = join(pc, found["token"])
    if step == "upload":
        reveal(phone, opened["token"], receiver.public_key)
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=181), tick=False):
        if step == "join":
            _sender, response = join(pc, found["token"])
        elif step == "reveal":
            response = reveal(phone, opened["token"], receiver.public_key)
        else:
            response = upload(pc, found["token"], bytes(100))
        assert_refused(response, 410, CopyRefusal.EXPIRED)
    copy = stored(opened)
    assert copy.uploaded_at is None and bytes(copy.ciphertext) == b""
    assert (copy.joined_at is None) == (step == "join")
    assert (copy.revealed_at is None) == (step in ("join", "reveal"))


def test_purge_command_deletes_expired_sessions_and_old_counters(phone, settings):
    _receiver, opened = open_copy(phone)
    call_command("purge_copy_sessions")
    assert CopySession.objects.filter(token=opened["token"]).exists()
    assert CopyClientCounter.objects.filter(kind="open").exists()
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=settings.CERTBANK_COPY_CLIENT_WINDOW_SECONDS + 1)):
        call_command("purge_copy_sessions")
    assert not CopySession.objects.exists()
    assert not CopyClientCounter.objects.exists()


def off_curve_point(valid: bytes) -> bytes:
    return valid[:-1] + bytes([valid[-1] ^ 1])


BAD_POINTS = [
    lambda pub: pub[:64],  # too short
    lambda pub: pub + b"\x00",  # too long
    lambda pub: b"\x02" + pub[1:33],  # compressed form
    lambda pub: b"\x05" + pub[1:],  # wrong prefix
    off_curve_point,  # not on the curve
    lambda pub: b"\x04" + bytes(64),  # (0, 0)
]


@pytest.mark.parametrize("commitment", [b"", bytes(31), bytes(33), bytes(65)])
def test_a_commitment_that_is_not_32_bytes_is_refused(phone, commitment):
    response = phone.post(BASE + "open/", {"receiver_commitment": b64(commitment)})
    assert_refused(response, 400, CopyRefusal.BAD_COMMITMENT)
    assert not CopySession.objects.exists()


def test_the_commitment_must_be_base64(phone, banks):
    assert_refused(phone.post(BASE + "open/", {"receiver_commitment": "not base64!"}), 400, CopyRefusal.BAD_COMMITMENT)
    assert_refused(phone.post(BASE + "open/", {}), 400, CopyRefusal.BAD_COMMITMENT)
    assert not CopySession.objects.exists()


@pytest.mark.parametrize("mangle", BAD_POINTS)
def test_malformed_sender_public_key_is_refused_at_the_join(phone, pc, mangle):
    _receiver, opened = open_copy(phone)
    found = find(pc, number=opened["number"]).json()
    sender = pycopy.create_sender()
    response = pc.post(BASE + "join/", {"token": found["token"], "sender_public_key": b64(mangle(sender.public_key))})
    assert_refused(response, 400, CopyRefusal.BAD_PUBLIC_KEY)
    assert stored(opened).joined_at is None


@pytest.mark.parametrize("mangle", BAD_POINTS)
def test_malformed_receiver_public_key_is_refused_at_the_reveal(phone, pc, mangle):
    receiver, opened = open_copy(phone)
    join(pc, find(pc, number=opened["number"]).json()["token"])
    assert_refused(reveal(phone, opened["token"], mangle(receiver.public_key)), 400, CopyRefusal.BAD_PUBLIC_KEY)
    # Malformed is refused, not taken as a mismatch: the right key still reveals.
    assert stored(opened).cancelled_at is None
    assert reveal(phone, opened["token"], receiver.public_key).status_code == 200


@pytest.mark.parametrize("size", [0, 27, 64 * 1024 + 1, 100 * 1024])
def test_ciphertext_outside_the_aes_gcm_shape_or_cap_is_refused(phone, pc, size):
    _receiver, opened, _sender, found = to_reveal(phone, pc)
    assert_refused(upload(pc, found["token"], bytes(size)), 400, CopyRefusal.BAD_CIPHERTEXT)
    assert stored(opened).uploaded_at is None


@pytest.mark.parametrize("size", [28, 64 * 1024])
def test_ciphertext_at_the_bounds_is_accepted(phone, pc, size):
    _receiver, _opened, _sender, found = to_reveal(phone, pc)
    assert upload(pc, found["token"], bytes(size)).status_code == 200


@pytest.mark.parametrize("number", ["1234", "123456789", "abcd efgh", "١٢٣٤٥٦٧٨", ""])
def test_malformed_number_is_refused(pc, banks, number):
    assert_refused(find(pc, number=number), 400, CopyRefusal.BAD_NUMBER)


@pytest.mark.parametrize("endpoint", ["status", "reveal", "download", "cancel", "join", "sent-status", "upload"])
@pytest.mark.parametrize("token", ["", "x" * 43, "x" * 65])
def test_an_unknown_token_is_a_korean_4xx_on_every_endpoint(pc, banks, endpoint, token):
    fields = {
        "token": token,
        "sender_public_key": b64(pycopy.create_sender().public_key),
        "receiver_public_key": b64(pycopy.create_receiver().public_key),
        "ciphertext": b64(bytes(64)),
    }
    assert_refused(pc.post(BASE + endpoint + "/", fields), 404, CopyRefusal.NOT_FOUND)


@pytest.mark.parametrize("endpoint", ["open", "status", "reveal", "download", "cancel", "find", "join", "sent-status", "upload"])
def test_an_empty_request_is_a_korean_4xx_on_every_endpoint(pc, banks, endpoint):
    response = pc.post(BASE + endpoint + "/", {})
    assert 400 <= response.status_code < 500
    assert any("\uac00" <= ch <= "\ud7a3" for ch in response.json()["error"])
    assert pc.get(BASE + endpoint + "/").status_code == 405


# --- Throttles --------------------------------------------------------------------------------


def test_wrong_numbers_are_throttled_per_browser_session(phone, pc, settings):
    _receiver, opened = open_copy(phone)
    for _ in range(settings.CERTBANK_COPY_LOOKUP_MAX_FAILURES):
        assert_refused(find(pc, number=wrong_number(opened)), 404, CopyRefusal.NOT_FOUND)
    # SECURITY: now even the right number waits, so guessing cannot go on.
    assert_refused(find(pc, number=opened["number"]), 429, CopyRefusal.THROTTLED)
    assert_refused(find(pc, token=opened["token"]), 429, CopyRefusal.THROTTLED)
    assert AuditEvent.objects.get(action="certificate_copy_lookup_locked").detail == {"scope": "session"}
    # Another browser session (below the network's limit) is not affected; this one may try again after the wait.
    assert find(Client(), number=opened["number"]).status_code == 200
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=settings.CERTBANK_COPY_LOOKUP_WAIT_SECONDS + 1)):
        assert find(pc, number=opened["number"]).status_code == 200


def test_wrong_tokens_count_as_wrong_lookups(pc, banks, settings):
    for _ in range(settings.CERTBANK_COPY_LOOKUP_MAX_FAILURES):
        assert_refused(find(pc, token="no-such-token"), 404, CopyRefusal.NOT_FOUND)
    assert_refused(find(pc, number="12345678"), 429, CopyRefusal.THROTTLED)


def test_a_right_number_resets_the_session_count(phone, pc, settings):
    _receiver, opened = open_copy(phone)
    for _ in range(settings.CERTBANK_COPY_LOOKUP_MAX_FAILURES - 1):
        find(pc, number=wrong_number(opened))
    assert find(pc, number=opened["number"]).status_code == 200
    assert_refused(find(pc, number=wrong_number(opened)), 404, CopyRefusal.NOT_FOUND)


def test_a_new_browser_session_from_the_same_network_is_still_throttled(phone, settings):
    """A guesser that drops its cookie after every try (or a second worker
    process serving it) still meets the count kept in the database."""
    settings.CERTBANK_COPY_CLIENT_MAX_FAILURES = 8
    _receiver, opened = open_copy(phone)
    for _ in range(8):
        assert_refused(find(Client(), number=wrong_number(opened)), 404, CopyRefusal.NOT_FOUND)
    # SECURITY: a fresh cookie, the right number, the same address: refused.
    assert_refused(find(Client(), number=opened["number"]), 429, CopyRefusal.NETWORK_THROTTLED)
    assert_refused(find(Client(), token=opened["token"]), 429, CopyRefusal.NETWORK_THROTTLED)
    assert AuditEvent.objects.get(action="certificate_copy_lookup_locked").detail == {"scope": "network"}
    assert CopyClientCounter.objects.get(kind="lookup_failure").client == "127.0.0.1"
    # Another network is not affected, and this one may go on after the window.
    assert find(Client(REMOTE_ADDR="203.0.113.9"), number=opened["number"]).status_code == 200
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=settings.CERTBANK_COPY_CLIENT_WINDOW_SECONDS + 1)):
        assert find(Client(), token=opened["token"]).status_code != 429


def test_a_right_number_does_not_reset_the_network_count(phone, settings):
    """Else a guesser could open a copy of its own and look it up between guesses."""
    settings.CERTBANK_COPY_CLIENT_MAX_FAILURES = 7
    _receiver, own = open_copy(phone)
    guesser = Client()
    for _ in range(2):
        for _ in range(3):
            assert_refused(find(guesser, number=wrong_number(own)), 404, CopyRefusal.NOT_FOUND)
        assert find(guesser, number=own["number"]).status_code == 200  # resets the session's count only
    assert_refused(find(guesser, number=wrong_number(own)), 404, CopyRefusal.NOT_FOUND)
    # Seven wrong numbers in the window, never five in a row: the network waits anyway.
    assert_refused(find(guesser, number=own["number"]), 429, CopyRefusal.NETWORK_THROTTLED)


def test_opening_copies_is_limited_per_network(banks, settings):
    settings.CERTBANK_COPY_CLIENT_MAX_OPENS = 3
    for _ in range(3):
        open_copy(Client())
    receiver = pycopy.create_receiver()
    for _ in range(2):
        response = Client().post(BASE + "open/", {"receiver_commitment": b64(receiver.commitment)})
        assert_refused(response, 429, CopyRefusal.OPEN_THROTTLED)
    assert CopySession.objects.count() == 3
    assert AuditEvent.objects.filter(action="certificate_copy_open_limited").count() == 1
    open_copy(Client(REMOTE_ADDR="2001:db8::1"))
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=settings.CERTBANK_COPY_CLIENT_WINDOW_SECONDS + 1)):
        open_copy(Client())


# --- Services directly ------------------------------------------------------------------------


def open_service(nuri, session_key="phone"):
    receiver = pycopy.create_receiver()
    copy = services.copy_session_open(bank=nuri, session_key=session_key, receiver_commitment=receiver.commitment, client=None)
    return receiver, copy


def test_concurrent_style_double_join_has_one_winner(nuri):
    _receiver, copy = open_service(nuri)
    first, second = pycopy.create_sender(), pycopy.create_sender()
    # Someone joins between our read and our UPDATE: the conditional UPDATE loses.
    stale = CopySession.objects.get(pk=copy.pk)
    services.copy_join(bank=nuri, token=copy.token, session_key="pc", sender_public_key=first.public_key)
    assert stale.joined_at is None
    with pytest.raises(CopyRefused) as refused:
        services.copy_join(bank=nuri, token=copy.token, session_key="intruder", sender_public_key=second.public_key)
    assert refused.value.reason == CopyRefusal.ALREADY_JOINED
    assert bytes(CopySession.objects.get(pk=copy.pk).sender_public_key) == first.public_key


def test_concurrent_style_double_download_has_one_winner(nuri, files):
    receiver, copy = open_service(nuri)
    sender = pycopy.create_sender()
    services.copy_join(bank=nuri, token=copy.token, session_key="pc", sender_public_key=sender.public_key)
    services.copy_reveal(bank=nuri, token=copy.token, session_key="phone", receiver_public_key=receiver.public_key)
    ciphertext = pycopy.seal_for_receiver(
        sender=sender,
        receiver_public_key=receiver.public_key,
        receiver_commitment=receiver.commitment,
        token=copy.token,
        certificate_der=files[0],
        key_file=files[1],
    )
    services.copy_upload(bank=nuri, token=copy.token, session_key="pc", ciphertext=ciphertext)
    # Someone marks it downloaded between our read and our UPDATE: the conditional UPDATE loses.
    stale = CopySession.objects.get(pk=copy.pk)
    CopySession.objects.filter(pk=copy.pk).update(downloaded_at=timezone.now(), ciphertext=b"")
    assert stale.downloaded_at is None
    with pytest.raises(CopyRefused) as refused:
        services.copy_download(bank=nuri, token=copy.token, session_key="phone")
    assert refused.value.reason == CopyRefusal.ALREADY_RECEIVED


def test_both_sessions_are_bound_by_digests_of_their_session_keys(nuri):
    receiver, copy = open_service(nuri, session_key="phone-session")
    assert copy.receiver_session_digest == copy_session_digest("phone-session")
    assert "phone-session" not in copy.receiver_session_digest
    assert bytes(copy.receiver_commitment) == receiver.commitment
    assert bytes(copy.receiver_public_key) == b""
    sender = pycopy.create_sender()
    joined = services.copy_join(bank=nuri, token=copy.token, session_key="pc-session", sender_public_key=sender.public_key)
    assert joined.sender_session_digest == copy_session_digest("pc-session")
    assert bytes(joined.sender_public_key) == sender.public_key


def test_the_commitment_is_sha256_of_the_label_and_the_raw_point():
    import hashlib

    receiver = pycopy.create_receiver()
    expected = hashlib.sha256(b"certbank-copy-commit-v1\x00" + receiver.public_key).digest()
    assert receiver.commitment == expected == pycopy.commitment(receiver.public_key)
    from certificates.verify import copy_commitment, copy_commitment_matches

    assert copy_commitment(receiver.public_key) == expected
    assert copy_commitment_matches(expected, receiver.public_key)
    assert not copy_commitment_matches(expected, pycopy.create_receiver().public_key)


def test_the_database_refuses_steps_out_of_order(nuri):
    _receiver, copy = open_service(nuri)
    now = timezone.now()
    for fields in ({"revealed_at": now}, {"joined_at": now, "uploaded_at": now}, {"downloaded_at": now}):
        with pytest.raises(IntegrityError), transaction.atomic():
            CopySession.objects.filter(pk=copy.pk).update(**fields)


def test_numbers_are_unique_among_sessions(nuri):
    numbers = {open_service(nuri, session_key=f"s{i}")[1].number for i in range(30)}
    assert len(numbers) == 30
