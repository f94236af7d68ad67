"""타행/타기관 인증서 등록: a certificate issued through 누리은행 (901) registered
at 가람은행 (902) by the same person, proven by R and the VID."""

import base64
import os
import re

import pytest

from accounts.exceptions import VerificationRequired
from audit.models import AuditEvent
from certificates import services
from certificates.challenges import challenge_create, transfer_signature_verify
from certificates.exceptions import CertificateRefused, Refusal
from certificates.login import certificate_login
from certificates.models import CertificateRegistration, Challenge
from core.models import SmsMessage
from tests.certificates.conftest import SESSION, b64, sign
from tests.concurrency import at_once
from tests.conftest import PASSWORD
from tests.verification import Purpose, verified, web_verify, web_verify_by_sms


@pytest.fixture
def gildong(make_customer):
    """The same person as 홍길동 of 누리은행, as a 가람은행 customer."""
    return make_customer(bank_code="902", login_id="gildong")


def register(holder, customer, *, r=None, key=None, grant=None, session_key=SESSION):
    """Register `holder`'s certificate for `customer`: their REGISTER verification, then the signed challenge."""
    grant = grant or verified(customer, Purpose.REGISTER, session_key=session_key)
    challenge = challenge_create(
        purpose=Challenge.Purpose.REGISTER, bank=customer.bank, session_key=session_key, customer=customer
    )
    return services.certificate_register_at_bank(
        grant=grant,
        bank=customer.bank,
        session_key=session_key,
        token=challenge.token,
        certificate_der=holder.der,
        signature=sign(key or holder.key, bytes(challenge.to_sign)),
        r=holder.r if r is None else r,
    )


def login_at(holder, bank):
    challenge = challenge_create(purpose=Challenge.Purpose.LOGIN, bank=bank, session_key=SESSION)
    return certificate_login(
        bank=bank,
        session_key=SESSION,
        token=challenge.token,
        certificate_der=holder.der,
        signature=sign(holder.key, bytes(challenge.to_sign)),
    )


def test_registration_makes_the_certificate_work_at_the_other_bank(holder, gildong, django_capture_on_commit_callbacks):
    with pytest.raises(CertificateRefused) as refused:
        login_at(holder, gildong.bank)
    assert refused.value.reason == Refusal.NOT_REGISTERED
    with django_capture_on_commit_callbacks(execute=True):
        registration = register(holder, gildong)
    assert registration.customer == gildong
    assert login_at(holder, gildong.bank) == gildong
    assert AuditEvent.objects.filter(action="certificate_registered", customer=gildong).exists()
    assert SmsMessage.objects.filter(body__contains="타행/타기관 인증서가 등록되었습니다").exists()


def test_a_certificate_of_another_person_is_refused(holder, make_customer):
    younghee = make_customer(bank_code="902", login_id="younghee", name="김영희", rrn="920315-2345674", phone="01023456789")
    with pytest.raises(CertificateRefused) as refused:
        register(holder, younghee)
    assert refused.value.reason == Refusal.NOT_SAME_PERSON
    assert not CertificateRegistration.objects.filter(bank=younghee.bank).exists()


def test_a_guessed_r_is_refused(holder, gildong):
    with pytest.raises(CertificateRefused) as refused:
        register(holder, gildong, r=os.urandom(20))
    assert refused.value.reason == Refusal.NOT_SAME_PERSON


def test_a_signature_by_another_key_is_refused(holder, gildong, rsa_keys):
    with pytest.raises(CertificateRefused) as refused:
        register(holder, gildong, key=rsa_keys[2])
    assert refused.value.reason == Refusal.BAD_SIGNATURE


def test_a_revoked_certificate_cannot_be_registered(holder, gildong):
    services.certificate_status_change(certificate=holder.certificate, to="revoked", reason="key_compromise")
    with pytest.raises(CertificateRefused) as refused:
        register(holder, gildong)
    assert refused.value.reason == Refusal.REVOKED


def test_registering_twice_is_refused(holder, gildong):
    register(holder, gildong)
    with pytest.raises(CertificateRefused) as refused:
        register(holder, gildong)
    assert refused.value.reason == Refusal.ALREADY_REGISTERED


def test_removing_a_registration_takes_effect_at_once(holder, gildong):
    register(holder, gildong)
    services.certificate_unregister_at_bank(customer=gildong, bank=gildong.bank, certificate=holder.certificate)
    with pytest.raises(CertificateRefused) as refused:
        login_at(holder, gildong.bank)
    assert refused.value.reason == Refusal.NOT_REGISTERED
    assert AuditEvent.objects.filter(action="certificate_unregistered").exists()


def sign_transfer_at(holder, customer):
    challenge = challenge_create(
        purpose=Challenge.Purpose.TRANSFER, bank=customer.bank, session_key=SESSION, customer=customer, text="계좌이체 테스트"
    )
    return transfer_signature_verify(
        bank=customer.bank,
        customer=customer,
        session_key=SESSION,
        token=challenge.token,
        certificate_der=holder.der,
        signature=sign(holder.key, bytes(challenge.to_sign)),
    )


def test_a_registered_certificate_signs_at_the_other_bank_until_the_registration_is_removed(holder, gildong):
    with pytest.raises(CertificateRefused) as refused:
        sign_transfer_at(holder, gildong)
    assert refused.value.reason == Refusal.NOT_REGISTERED
    register(holder, gildong)
    _challenge, record = sign_transfer_at(holder, gildong)
    assert record == holder.certificate
    services.certificate_unregister_at_bank(customer=gildong, bank=gildong.bank, certificate=holder.certificate)
    with pytest.raises(CertificateRefused) as refused:
        sign_transfer_at(holder, gildong)
    assert refused.value.reason == Refusal.NOT_REGISTERED
    assert refused.value.message == "이 인증서는 타행/타기관 인증서 등록 후 이용할 수 있습니다."


def test_registrations_show_in_certificate_management_and_the_staff_console(holder, gildong, staff_client):
    from django.test import Client

    register(holder, gildong)
    client = Client()
    assert client.post("/nuri/login/", {"login_id": "hong", "password": PASSWORD}).status_code == 302
    row = re.search(
        rf'<tr data-testid="certificate-row" data-serial="{holder.certificate.serial}">(.*?)</tr>',
        client.get("/nuri/certificates/").content.decode(),
        re.S,
    ).group(1)
    assert "누리은행, 가람은행" in row or "가람은행, 누리은행" in row
    listed = staff_client.get("/staff/certificates/certificateregistration/?q=gildong").content.decode()
    assert holder.certificate.serial in listed and "가람은행" in listed


# --- The verification it consumes --------------------------------------------------------------------


def test_registration_needs_a_finished_verification(holder, gildong):
    with pytest.raises(VerificationRequired) as refused:
        register(holder, gildong, grant="no-such-grant")
    assert refused.value.code == "not_verified"
    assert not CertificateRegistration.objects.filter(bank=gildong.bank).exists()


def test_one_verification_registers_once(holder, gildong):
    grant = verified(gildong, Purpose.REGISTER)
    register(holder, gildong, grant=grant)
    services.certificate_unregister_at_bank(customer=gildong, bank=gildong.bank, certificate=holder.certificate)
    with pytest.raises(VerificationRequired):
        register(holder, gildong, grant=grant)
    assert not CertificateRegistration.objects.filter(bank=gildong.bank).exists()


def test_a_refused_registration_does_not_use_up_the_verification(holder, gildong):
    grant = verified(gildong, Purpose.REGISTER)
    with pytest.raises(CertificateRefused):
        register(holder, gildong, grant=grant, r=os.urandom(20))
    assert register(holder, gildong, grant=grant).customer == gildong


def test_the_verification_of_another_session_or_purpose_does_not_register(holder, gildong):
    with pytest.raises(VerificationRequired):
        register(holder, gildong, grant=verified(gildong, Purpose.REGISTER, session_key="another-session-key-01"))
    with pytest.raises(VerificationRequired):
        register(holder, gildong, grant=verified(gildong, Purpose.CLOUD_DEVICE))
    assert not CertificateRegistration.objects.filter(bank=gildong.bank).exists()


def test_a_challenge_made_out_to_someone_else_is_refused(holder, gildong, make_customer):
    """The verified person registers; a challenge made for another customer of the bank does not do."""
    younghee = make_customer(bank_code="902", login_id="younghee", name="김영희", rrn="920315-2345674", phone="01023456789")
    grant = verified(gildong, Purpose.REGISTER)
    challenge = challenge_create(purpose=Challenge.Purpose.REGISTER, bank=gildong.bank, session_key=SESSION, customer=younghee)
    with pytest.raises(CertificateRefused) as refused:
        services.certificate_register_at_bank(
            grant=grant,
            bank=gildong.bank,
            session_key=SESSION,
            token=challenge.token,
            certificate_der=holder.der,
            signature=sign(holder.key, bytes(challenge.to_sign)),
            r=holder.r,
        )
    assert refused.value.reason == Refusal.WRONG_SESSION
    assert not CertificateRegistration.objects.filter(bank=gildong.bank).exists()


# --- Through HTTP, with the extra SMS check ----------------------------------------------------------


@pytest.fixture
def garam_client(client, holder, gildong):
    assert client.post("/garam/login/", {"login_id": "gildong", "password": PASSWORD}).status_code == 302
    return client


def test_registration_challenge_needs_the_sms_check(garam_client):
    response = garam_client.post("/garam/certificates/challenge/", {"purpose": "register"})
    assert response.status_code == 403
    assert response.json()["code"] == "not_verified"


def registration_challenge(client, bank_slug="garam"):
    return client.post(f"/{bank_slug}/certificates/challenge/", {"purpose": "register"})


def complete_over_http(client, holder, challenge=None, bank_slug="garam"):
    challenge = challenge or registration_challenge(client, bank_slug).json()
    return client.post(
        f"/{bank_slug}/certificates/register/complete/",
        {
            "challenge": challenge["challenge"],
            "certificate": b64(holder.der),
            "signature": b64(sign(holder.key, base64.b64decode(challenge["to_sign"]))),
            "r": b64(holder.r),
        },
    )


def test_registration_over_http_after_the_sms_check(garam_client, holder, gildong, django_capture_on_commit_callbacks):
    url = "/garam/certificates/register/"
    with django_capture_on_commit_callbacks(execute=True):
        assert garam_client.post(url, {"step": "send"}).status_code == 302
    assert SmsMessage.objects.filter(body__contains="타행/타기관 인증서 등록").exists()
    # Asking for the code is not the check: no challenge yet.
    assert garam_client.post("/garam/certificates/challenge/", {"purpose": "register"}).status_code == 403
    response = web_verify_by_sms(garam_client, url, gildong)
    assert response.status_code == 200 and b"data-cert-register" in response.content
    first, second = (registration_challenge(garam_client).json() for _ in range(2))
    response = complete_over_http(garam_client, holder, first)
    assert response.status_code == 200, response.content
    assert response.json()["redirect"] == url
    assert CertificateRegistration.objects.filter(bank=gildong.bank, customer=gildong).exists()
    page = garam_client.get(url).content.decode()
    assert holder.certificate.serial in page
    # The verification was used: neither a second challenge nor a completion without a new one.
    assert registration_challenge(garam_client).json()["code"] == "not_verified"
    garam_client.post(f"/garam/certificates/{holder.certificate.serial}/unregister/")
    again = complete_over_http(garam_client, holder, second)
    assert again.status_code == 403 and again.json()["code"] == "not_verified"
    assert not CertificateRegistration.objects.filter(bank=gildong.bank).exists()


def test_registration_over_http_from_the_login_page(client, holder, gildong):
    """Logged out (no other way in at 가람은행 yet): 본인확인 with the name decides who it is."""
    url = "/garam/certificates/register/"
    assert client.get(url).status_code == 200
    response = web_verify(client, url, gildong, logged_in=False, expect_finish=False)
    assert response.status_code == 200 and b"data-cert-register" in response.content  # choose and sign
    response = complete_over_http(client, holder)
    assert response.status_code == 200, response.content
    assert response.json()["redirect"] == "/garam/login/"
    assert CertificateRegistration.objects.get(bank=gildong.bank).customer == gildong
    assert "_auth_user_id" not in client.session
    assert login_at(holder, gildong.bank) == gildong


def test_issuing_bank_registration_cannot_be_removed_as_a_cross_bank_one(holder):
    from certificates.exceptions import InvalidTransition

    with pytest.raises(InvalidTransition):
        services.certificate_unregister_at_bank(
            customer=holder.customer, bank=holder.customer.bank, certificate=holder.certificate
        )


# --- At once -----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_registrations_at_once_register_once_and_refuse_the_other(test_ca, make_customer, rsa_keys):
    from tests.certificates.conftest import issue_for

    holder = issue_for(make_customer(), rsa_keys[0])
    gildong = make_customer(bank_code="902", login_id="gildong")
    # Two browsers, each with its own finished verification and challenge.
    sessions = [f"{SESSION}-{n}" for n in range(2)]
    grants = [verified(gildong, Purpose.REGISTER, session_key=session) for session in sessions]
    challenges = [
        challenge_create(purpose=Challenge.Purpose.REGISTER, bank=gildong.bank, session_key=session, customer=gildong)
        for session in sessions
    ]

    def work(i):
        return services.certificate_register_at_bank(
            grant=grants[i],
            bank=gildong.bank,
            session_key=sessions[i],
            token=challenges[i].token,
            certificate_der=holder.der,
            signature=sign(holder.key, bytes(challenges[i].to_sign)),
            r=holder.r,
        )

    outcomes = at_once(2, work)
    assert outcomes.errors == []
    assert len(outcomes.results) == 1 and outcomes.codes == [Refusal.ALREADY_REGISTERED]
    assert CertificateRegistration.objects.filter(bank=gildong.bank).count() == 1
    assert AuditEvent.objects.filter(action="certificate_refused", detail__reason="already_registered").count() == 1


@pytest.mark.django_db(transaction=True)
def test_one_verification_sent_twice_at_once_registers_once(test_ca, make_customer, rsa_keys):
    from tests.certificates.conftest import issue_for

    holder = issue_for(make_customer(), rsa_keys[0])
    gildong = make_customer(bank_code="902", login_id="gildong")
    grant = verified(gildong, Purpose.REGISTER)
    challenges = [
        challenge_create(purpose=Challenge.Purpose.REGISTER, bank=gildong.bank, session_key=SESSION, customer=gildong)
        for _ in range(2)
    ]

    def work(i):
        return services.certificate_register_at_bank(
            grant=grant,
            bank=gildong.bank,
            session_key=SESSION,
            token=challenges[i].token,
            certificate_der=holder.der,
            signature=sign(holder.key, bytes(challenges[i].to_sign)),
            r=holder.r,
        )

    outcomes = at_once(2, work)
    assert outcomes.errors == []
    # Exactly one request gets the verification; the other is refused before anything else.
    assert len(outcomes.results) == 1 and outcomes.codes == ["not_verified"]
    assert CertificateRegistration.objects.filter(bank=gildong.bank).count() == 1
