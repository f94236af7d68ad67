"""Certificate login: every refusal is crafted here, has its own Korean
message and code, writes an audit row, and is never a 500."""

import datetime
import threading

import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.contrib.auth import SESSION_KEY
from django.test import Client

from audit.models import AuditEvent
from certificates import ca, services
from certificates.challenges import challenge_consume, challenge_create
from certificates.exceptions import CertificateRefused, Refusal
from certificates.models import Certificate, Challenge
from certificates.verify import session_digest
from tests.certificates.conftest import b64, sign

LOGIN_URL = "/nuri/login/certificate/"


def get_challenge(client, bank="nuri", purpose="login"):
    response = client.post(f"/{bank}/certificates/challenge/", {"purpose": purpose})
    assert response.status_code == 200, response.content
    data = response.json()
    return data["challenge"], __import__("base64").b64decode(data["to_sign"])


def login(client, certificate_der, key, *, token=None, to_sign=None, bank="nuri", signature=None):
    if token is None:
        token, to_sign = get_challenge(client, bank=bank)
    signature = signature if signature is not None else sign(key, to_sign)
    return client.post(
        f"/{bank}/login/certificate/", {"challenge": token, "certificate": b64(certificate_der), "signature": b64(signature)}
    )


def assert_refused(response, reason: Refusal):
    assert response.status_code in (400, 403), response.content
    data = response.json()
    assert data["code"] == reason.value
    assert data["error"] == str(reason.label)
    assert AuditEvent.objects.filter(action="certificate_refused", detail__reason=reason.value).exists()


def forge(holder, *, key=None, key_usage=None, issuer_key=None, issuer_name=None, record=True):
    """A certificate signed with our issuing CA key (or another key) outside the
    issuance service; with `record`, also entered in our records."""
    hierarchy = ca.hierarchy_current()
    key = key or holder.key
    usage = key_usage or x509.KeyUsage(True, True, False, False, False, False, False, False, False)
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name.from_rfc4514_string(holder.certificate.subject))
        .issuer_name(issuer_name or hierarchy.issuing.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.OtherName(ca.NPKI_IDENTIFY_DATA, b"\x30\x00")]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(hierarchy.issuing.public_key()), critical=False)
        .sign(issuer_key or hierarchy.issuing_key, hashes.SHA256())
    )
    if record:
        # One live 공동인증서 per holder and bank (the database holds it): the forged one replaces the holder's.
        Certificate.objects.filter(pk=holder.certificate.pk).update(
            status="revoked", revoked_at=now, revocation_reason="superseded"
        )
        facts = ca.certificate_facts(certificate)
        record_row = Certificate.objects.create(
            serial=facts.serial,
            kind="joint",
            holder=holder.customer,
            person_index=holder.customer.rrn_index,
            issuing_bank=holder.customer.bank,
            subject=facts.subject,
            der=facts.der,
            fingerprint=facts.fingerprint,
            not_before=facts.not_before,
            not_after=facts.not_after,
        )
        record_row.registrations.create(bank=holder.customer.bank, customer=holder.customer)
    return certificate.public_bytes(serialization.Encoding.DER)


# --- Success ---------------------------------------------------------------------------------------


def test_certificate_login_logs_the_customer_in_and_rotates_the_session(client, holder):
    token, to_sign = get_challenge(client)
    before = client.session.session_key
    response = login(client, holder.der, holder.key, token=token, to_sign=to_sign)
    assert response.status_code == 200
    assert response.json()["redirect"] == "/nuri/accounts/"
    assert client.session[SESSION_KEY] == str(holder.customer.pk)
    assert client.session.session_key != before
    assert client.get("/nuri/accounts/").status_code == 200
    assert AuditEvent.objects.filter(action="certificate_login_succeeded", customer=holder.customer).count() == 1


def test_challenge_text_is_human_readable_and_names_the_bank(client, banks):
    token, to_sign = get_challenge(client)
    text = to_sign.decode("utf-8")
    assert text.startswith("[Certbank] 누리은행 인증서 로그인")
    assert token in text


def test_rsa_pss_signature_is_accepted_too(client, holder):
    token, to_sign = get_challenge(client)
    pss = holder.key.sign(
        to_sign, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH), hashes.SHA256()
    )
    assert login(client, holder.der, holder.key, token=token, signature=pss).status_code == 200


# --- Refusals about the challenge -------------------------------------------------------------------


def test_signature_over_other_bytes_is_refused(client, holder):
    token, _ = get_challenge(client)
    response = login(client, holder.der, holder.key, token=token, signature=sign(holder.key, b"something else"))
    assert_refused(response, Refusal.BAD_SIGNATURE)
    assert SESSION_KEY not in client.session


def test_replayed_challenge_is_refused(client, holder):
    token, to_sign = get_challenge(client)
    signature = sign(holder.key, to_sign)
    assert login(client, holder.der, holder.key, token=token, signature=signature).status_code == 200
    client.post("/nuri/logout/")
    assert_refused(login(client, holder.der, holder.key, token=token, signature=signature), Refusal.CHALLENGE_REPLAYED)


def test_unknown_challenge_is_refused(client, holder):
    assert_refused(login(client, holder.der, holder.key, token="no-such-challenge", to_sign=b"x"), Refusal.CHALLENGE_UNKNOWN)


def test_expired_challenge_is_refused(client, holder):
    token, to_sign = get_challenge(client)
    with time_machine.travel(datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=121), tick=False):
        assert_refused(login(client, holder.der, holder.key, token=token, to_sign=to_sign), Refusal.CHALLENGE_EXPIRED)


def test_challenge_of_another_session_is_refused(client, holder):
    token, to_sign = get_challenge(client)
    thief = Client()
    thief.get("/nuri/")
    assert_refused(login(thief, holder.der, holder.key, token=token, to_sign=to_sign), Refusal.WRONG_SESSION)


def test_challenge_made_for_another_purpose_is_refused(client, holder):
    client.get("/nuri/")
    client.session.save()
    challenge = challenge_create(
        purpose=Challenge.Purpose.ISSUE, bank=holder.customer.bank, session_key=client.session.session_key
    )
    response = login(client, holder.der, holder.key, token=challenge.token, to_sign=bytes(challenge.to_sign))
    assert_refused(response, Refusal.WRONG_PURPOSE)


def test_challenge_of_another_bank_is_refused(client, holder):
    token, to_sign = get_challenge(client, bank="garam")
    assert_refused(login(client, holder.der, holder.key, token=token, to_sign=to_sign), Refusal.WRONG_BANK)


# --- Refusals about the certificate -------------------------------------------------------------------


def test_certificate_of_an_unknown_ca_is_refused(client, holder):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = forge(holder, issuer_key=stranger, record=False)
    assert_refused(login(client, der, holder.key), Refusal.UNKNOWN_CA)


def test_certificate_signed_by_our_key_but_not_in_our_records_is_refused(client, holder):
    der = forge(holder, record=False)
    assert_refused(login(client, der, holder.key), Refusal.NOT_ISSUED_BY_US)


def test_garbage_certificate_is_refused(client, holder):
    assert_refused(login(client, b"\x30\x03\x02\x01\x00", holder.key), Refusal.MALFORMED_CERTIFICATE)


def test_non_base64_fields_are_a_clear_400(client, holder):
    token, _ = get_challenge(client)
    response = client.post(LOGIN_URL, {"challenge": token, "certificate": "not base64!!", "signature": "AAAA"})
    assert response.status_code == 400
    assert response.json()["code"] == Refusal.MALFORMED_REQUEST.value


def test_expired_certificate_is_refused(client, holder):
    later = holder.certificate.not_after + datetime.timedelta(days=1)
    with time_machine.travel(later, tick=False):
        assert_refused(login(client, holder.der, holder.key), Refusal.EXPIRED)


def test_not_yet_valid_certificate_is_refused(client, holder):
    earlier = holder.certificate.not_before - datetime.timedelta(days=1)
    with time_machine.travel(earlier, tick=False):
        assert_refused(login(client, holder.der, holder.key), Refusal.NOT_YET_VALID)


def test_revoked_certificate_is_refused_at_once(client, holder):
    services.certificate_status_change(certificate=holder.certificate, to="revoked", reason="key_compromise")
    assert_refused(login(client, holder.der, holder.key), Refusal.REVOKED)


def test_suspended_certificate_is_refused_and_works_again_after_restore(client, holder):
    services.certificate_status_change(certificate=holder.certificate, to="suspended")
    assert_refused(login(client, holder.der, holder.key), Refusal.SUSPENDED)
    services.certificate_status_change(certificate=holder.certificate, to="valid")
    assert login(client, holder.der, holder.key).status_code == 200


def test_certificate_not_registered_at_this_bank_is_refused_with_the_registration_message(client, holder, make_customer):
    make_customer(bank_code="902", login_id="gildong")  # the same person is a 가람은행 customer
    response = login(client, holder.der, holder.key, bank="garam")
    assert_refused(response, Refusal.NOT_REGISTERED)
    assert response.json()["error"] == "이 인증서는 타행/타기관 인증서 등록 후 이용할 수 있습니다."


def test_rsa_key_below_2048_bits_is_refused(client, holder):
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    der = forge(holder, key=small)
    assert_refused(login(client, der, small), Refusal.WEAK_KEY)


def test_certificate_without_digital_signature_usage_is_refused(client, holder):
    encipherment_only = x509.KeyUsage(False, False, True, False, False, False, False, False, False)
    der = forge(holder, key_usage=encipherment_only)
    assert_refused(login(client, der, holder.key), Refusal.WRONG_KEY_USAGE)


# --- Lockout -------------------------------------------------------------------------------------------


def attacker(ip="203.0.113.7") -> Client:
    """A client on another network (REMOTE_ADDR) than the test client's."""
    return Client(REMOTE_ADDR=ip)


def bad_attempts(client, holder, count, *, wrong_key):
    """`count` logins with the holder's public certificate and another key."""
    statuses = []
    for _ in range(count):
        statuses.append(login(client, holder.der, wrong_key).status_code)
    return statuses


def test_bad_signatures_never_lock_the_holder_out(client, holder, rsa_keys, django_capture_on_commit_callbacks):
    """The certificate is public: a bad signature proves the sender lacks the key.
    After 5, and after 500, wrong-key attempts by an anonymous client, the
    holder's own signature still logs in."""
    outsider = attacker()
    with django_capture_on_commit_callbacks(execute=True):
        bad_attempts(outsider, holder, 5, wrong_key=rsa_keys[1])
    assert login(client, holder.der, holder.key).status_code == 200
    client.post("/nuri/logout/")
    with django_capture_on_commit_callbacks(execute=True):
        statuses = bad_attempts(outsider, holder, 495, wrong_key=rsa_keys[1])
    assert set(statuses) <= {403, 429}
    assert login(client, holder.der, holder.key).status_code == 200
    assert not AuditEvent.objects.filter(action="certificate_login_locked").exists()


def test_bad_signatures_are_throttled_with_a_wait_they_are_told(client, holder, rsa_keys):
    outsider = attacker()
    assert bad_attempts(outsider, holder, 5, wrong_key=rsa_keys[1]) == [403] * 5
    response = login(outsider, holder.der, rsa_keys[1])
    assert response.status_code == 429
    assert int(response["Retry-After"]) == 30
    assert "30초 후에 다시 시도해 주세요" in response.json()["error"]
    # The certificate's count holds from any network: another one waits too...
    assert login(attacker("198.51.100.9"), holder.der, rsa_keys[1]).status_code == 429
    # ...and ends: then one more bad signature doubles it.
    with time_machine.travel(datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=31), tick=False):
        assert login(outsider, holder.der, rsa_keys[1]).status_code == 403
        response = login(outsider, holder.der, rsa_keys[1])
        assert response.status_code == 429 and int(response["Retry-After"]) == 60
    refused = AuditEvent.objects.filter(action="certificate_refused", detail__reason="bad_signature")
    assert refused.count() == 6  # each bad signature checked has its audit row, although the request failed


def test_the_holder_logs_in_while_bad_signatures_wait_even_from_the_same_network(holder, rsa_keys):
    """A shared office or carrier NAT: the attacker's network is the holder's. Only bad signatures wait."""
    shared = attacker()
    bad_attempts(shared, holder, 5, wrong_key=rsa_keys[1])
    assert login(shared, holder.der, rsa_keys[1]).status_code == 429
    assert login(shared, holder.der, holder.key).status_code == 200


def test_the_holder_is_alerted_once_by_sms_when_their_certificate_draws_bad_signatures(
    holder, rsa_keys, django_capture_on_commit_callbacks
):
    from core.models import SmsMessage

    with django_capture_on_commit_callbacks(execute=True):
        for ip in ("203.0.113.7", "198.51.100.9"):  # from two networks: 10 in a row for the certificate
            bad_attempts(attacker(ip), holder, 5, wrong_key=rsa_keys[1])
    alerts = SmsMessage.objects.filter(phone=holder.customer.phone, body__contains="로그인 시도가 5회")
    assert alerts.count() == 1
    assert holder.certificate.serial in alerts.get().body
    assert AuditEvent.objects.filter(action="certificate_login_alerted", customer=holder.customer).count() == 1


def test_a_success_forgets_that_networks_failures_for_the_certificate(client, holder):
    for _ in range(4):
        token, _to_sign = get_challenge(client)
        login(client, holder.der, holder.key, token=token, signature=sign(holder.key, b"wrong"))
    assert login(client, holder.der, holder.key).status_code == 200
    client.post("/nuri/logout/")
    for _ in range(4):
        token, _to_sign = get_challenge(client)
        assert login(client, holder.der, holder.key, token=token, signature=sign(holder.key, b"wrong")).status_code == 403
    assert login(client, holder.der, holder.key).status_code == 200


# --- Single use under concurrency -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_consume_a_challenge_once(banks):
    bank = banks["901"]
    challenge = challenge_create(purpose=Challenge.Purpose.LOGIN, bank=bank, session_key="s")
    results = []
    barrier = threading.Barrier(4)

    def attempt():
        from django.db import connection

        barrier.wait()
        try:
            challenge_consume(token=challenge.token, purpose="login", bank=bank, session_key="s")
            results.append("won")
        except CertificateRefused as exc:
            results.append(exc.reason)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("won") == 1
    assert results.count(Refusal.CHALLENGE_REPLAYED) == 3


def test_session_digest_does_not_store_the_session_key():
    assert "abc" not in session_digest("abc")


def test_a_challenge_answered_with_a_bad_signature_is_used_up(client, holder, rsa_keys):
    """The refused login rolls back, but its challenge stays consumed: one signature per challenge."""
    token, to_sign = get_challenge(client)
    assert_refused(
        login(client, holder.der, holder.key, token=token, signature=sign(rsa_keys[1], to_sign)), Refusal.BAD_SIGNATURE
    )
    assert_refused(login(client, holder.der, holder.key, token=token, to_sign=to_sign), Refusal.CHALLENGE_REPLAYED)
