"""공동인증서 issuance: identity verification, proof of possession, the VID,
superseding, notices; and the status state machine."""

import base64
import datetime
import os
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core import mail

from audit.models import AuditEvent
from certificates import services, vid
from certificates.exceptions import InvalidTransition
from certificates.models import Certificate
from core.models import SmsMessage
from tests.certificates.conftest import b64, sign, spki
from tests.conftest import PIN
from tests.verification import web_verify


def account_number(customer):
    return customer.deposit_accounts.get().number


def verify_identity(client, customer, capture, *, otp=None, logged_in=True):
    response = web_verify(client, "/nuri/certificates/issue/", customer, otp=otp, logged_in=logged_in)
    assert response["Location"] == "/nuri/certificates/issue/keys/"


def request_certificate(client, key, *, r=None, public_key=None, signer=None):
    response = client.post("/nuri/certificates/challenge/", {"purpose": "issue"})
    assert response.status_code == 200, response.content
    to_sign = base64.b64decode(response.json()["to_sign"])
    return client.post(
        "/nuri/certificates/issue/complete/",
        {
            "challenge": response.json()["challenge"],
            "public_key": b64(public_key or spki(key)),
            "signature": b64(sign(signer or key, to_sign)),
            "r": b64(r if r is not None else os.urandom(20)),
        },
    )


@pytest.fixture
def verified_client(test_ca, logged_in_client, customer, django_capture_on_commit_callbacks):
    verify_identity(logged_in_client, customer, django_capture_on_commit_callbacks)
    return logged_in_client


def test_customer_gets_a_certificate_bound_to_their_rrn(verified_client, customer, rsa_keys, django_capture_on_commit_callbacks):
    r = os.urandom(20)
    assert verified_client.get("/nuri/certificates/issue/keys/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = request_certificate(verified_client, rsa_keys[0], r=r)
    assert response.status_code == 200, response.content
    data = response.json()
    certificate = x509.load_der_x509_certificate(base64.b64decode(data["certificate"]))
    record = Certificate.objects.get(serial=data["serial"])
    assert record.holder == customer and record.status == "valid"
    assert record.registrations.get().bank == customer.bank
    cn = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    assert re.fullmatch(r"홍길동\(\)0901\d{10}", cn)
    # The VID in the certificate is SHA256(SHA256(RRN, R)): R and the RRN prove the holder.
    other_name = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value[0]
    real_name, cert_vid = vid.identify_data_parse(other_name.value)
    assert real_name == "홍길동"
    assert vid.vid_matches(cert_vid, "9001011234568", r)
    assert not vid.vid_matches(cert_vid, "9203152345674", r)
    # A fraudulent issuance would be noticed: SMS and e-mail name bank and serial.
    notice = SmsMessage.objects.filter(phone=customer.phone, body__contains="인증서가 발급되었습니다").get()
    assert "누리은행" in notice.body and data["serial"] in notice.body
    assert any(data["serial"] in message.body for message in mail.outbox)
    assert AuditEvent.objects.filter(action="certificate_issued", customer=customer).count() == 1


def test_identity_verification_is_good_for_one_issuance(verified_client, rsa_keys):
    assert request_certificate(verified_client, rsa_keys[0]).status_code == 200
    response = verified_client.post("/nuri/certificates/challenge/", {"purpose": "issue"})
    assert response.status_code == 403
    assert response.json()["code"] == "not_verified"


def test_issuance_challenge_needs_identity_verification(test_ca, logged_in_client):
    response = logged_in_client.post("/nuri/certificates/challenge/", {"purpose": "issue"})
    assert response.status_code == 403
    assert response.json()["code"] == "not_verified"
    assert logged_in_client.get("/nuri/certificates/issue/keys/").status_code == 302


def test_issuance_without_a_verification_is_refused(test_ca, client, banks, rsa_keys):
    response = client.post("/nuri/certificates/issue/complete/", {})
    assert response.status_code == 400  # nothing to read
    response = client.post("/nuri/certificates/challenge/", {"purpose": "issue"})
    assert response.status_code == 403 and response.json()["code"] == "not_verified"


def test_issuance_from_the_login_page_without_logging_in(test_ca, client, customer, rsa_keys, django_capture_on_commit_callbacks):
    """인증서 발급/재발급 for someone with no way to log in: the verified identity decides who it is."""
    assert client.get("/nuri/certificates/issue/").status_code == 200
    verify_identity(client, customer, django_capture_on_commit_callbacks, logged_in=False)
    assert client.get("/nuri/certificates/issue/keys/").status_code == 200
    response = request_certificate(client, rsa_keys[0])
    assert response.status_code == 200, response.content
    assert Certificate.objects.get(serial=response.json()["serial"]).holder == customer
    assert "_auth_user_id" not in client.session  # issuing does not log anyone in


def test_logged_out_identity_with_another_persons_name_is_refused_and_not_counted(test_ca, client, customer, make_customer):
    other = make_customer(login_id="kim", name="김철수", rrn="920315-2345674", phone="01099998888")
    data = {
        "step": "identity",
        "name": other.name,  # someone else's name with hong's RRN and account
        "rrn": customer.decrypted_rrn(),
        "account_number": account_number(customer),
        "pin": PIN,
    }
    response = client.post("/nuri/certificates/issue/", data)
    assert response.status_code == 403
    assert "일치하지 않습니다" in response.content.decode()
    customer.refresh_from_db()
    assert customer.identity_failed_count == 0  # an outsider cannot lock the customer's 본인확인
    assert not SmsMessage.objects.filter(body__contains="인증서 발급").exists()


def test_request_signed_with_another_key_is_refused_and_issues_nothing(verified_client, rsa_keys):
    response = request_certificate(verified_client, rsa_keys[0], signer=rsa_keys[1])
    assert response.status_code == 403
    assert response.json()["code"] == "bad_signature"
    assert not Certificate.objects.exists()


def test_r_of_the_wrong_length_is_refused(verified_client, rsa_keys):
    response = request_certificate(verified_client, rsa_keys[0], r=os.urandom(19))
    assert response.json()["code"] == "bad_random"
    assert not Certificate.objects.exists()


def test_weak_key_is_refused(verified_client):
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    response = request_certificate(verified_client, small)
    assert response.json()["code"] == "bad_public_key"
    assert not Certificate.objects.exists()


def test_wrong_account_pin_is_refused_before_any_sms(test_ca, logged_in_client, customer):
    data = {"step": "identity", "rrn": "900101-1234568", "account_number": account_number(customer), "pin": "0000"}
    response = logged_in_client.post("/nuri/certificates/issue/", data)
    assert response.status_code == 403
    assert "계좌 비밀번호가 올바르지 않습니다" in response.content.decode()
    assert not SmsMessage.objects.filter(body__contains="인증서 발급").exists()


def test_wrong_rrn_is_refused(test_ca, logged_in_client, customer):
    data = {"step": "identity", "rrn": "920315-2345674", "account_number": account_number(customer), "pin": PIN}
    response = logged_in_client.post("/nuri/certificates/issue/", data)
    assert "일치하지 않습니다" in response.content.decode()


def test_otp_holder_must_give_the_otp_code(test_ca, logged_in_client, customer, totp_code):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=customer, name="OTP", confirmed=True)
    data = {"step": "identity", "rrn": "900101-1234568", "account_number": account_number(customer), "pin": PIN}
    response = logged_in_client.post("/nuri/certificates/issue/", data)
    assert response.status_code == 302
    page = logged_in_client.get("/nuri/certificates/issue/").content.decode()
    assert 'value="otp"' in page and "OTP 앱에 표시된" in page
    assert not SmsMessage.objects.filter(body__contains="인증서 발급").exists()  # no SMS before the OTP
    assert logged_in_client.get("/nuri/certificates/issue/keys/").status_code == 302  # not verified yet
    wrong = f"{(int(totp_code(device)) + 1) % 1_000_000:06d}"
    response = logged_in_client.post("/nuri/certificates/issue/", {"step": "otp", "code": wrong})
    assert response.status_code == 403
    assert "OTP 인증번호가 올바르지 않습니다" in response.content.decode()
    # A mistyped code followed by the right one passes at once.
    response = logged_in_client.post("/nuri/certificates/issue/", {"step": "otp", "code": totp_code(device)})
    assert response.status_code == 302
    assert 'value="sms"' in logged_in_client.get("/nuri/certificates/issue/").content.decode()


def test_the_sms_step_shows_the_codes_time_left(test_ca, logged_in_client, customer):
    data = {"step": "identity", "rrn": "900101-1234568", "account_number": account_number(customer), "pin": PIN}
    assert logged_in_client.post("/nuri/certificates/issue/", data).status_code == 302
    page = logged_in_client.get("/nuri/certificates/issue/").content.decode()
    until = re.search(r'data-countdown-until="([^"]+)"', page).group(1)
    left = datetime.datetime.fromisoformat(until) - datetime.datetime.now(datetime.UTC)
    assert datetime.timedelta(seconds=170) < left <= datetime.timedelta(seconds=180)


def test_a_new_certificate_supersedes_the_old_one(verified_client, customer, rsa_keys, django_capture_on_commit_callbacks):
    first = request_certificate(verified_client, rsa_keys[0]).json()["serial"]
    verify_identity(verified_client, customer, django_capture_on_commit_callbacks)
    second = request_certificate(verified_client, rsa_keys[1]).json()["serial"]
    old, new = Certificate.objects.get(serial=first), Certificate.objects.get(serial=second)
    assert old.status == "revoked" and old.revocation_reason == "superseded" and old.revoked_at is not None
    assert new.status == "valid"
    assert Certificate.objects.current().filter(holder=customer).count() == 1


# --- The status state machine ---------------------------------------------------------------------

ALLOWED = {("valid", "suspended"), ("valid", "revoked"), ("suspended", "valid"), ("suspended", "revoked")}
STATES = ["valid", "suspended", "revoked"]


@pytest.mark.parametrize("start", STATES)
@pytest.mark.parametrize("to", STATES)
def test_status_transitions_follow_the_table(holder, start, to):
    certificate = holder.certificate
    Certificate.objects.filter(pk=certificate.pk).update(
        status=start, revoked_at=certificate.created_at if start == "revoked" else None
    )
    certificate.refresh_from_db()
    if (start, to) in ALLOWED:
        changed = services.certificate_status_change(certificate=certificate, to=to, reason="key_compromise")
        assert changed.status == to
        assert AuditEvent.objects.filter(action="certificate_status_changed", detail__status=to).exists()
    else:
        with pytest.raises(InvalidTransition):
            services.certificate_status_change(certificate=certificate, to=to)
        certificate.refresh_from_db()
        assert certificate.status == start
