"""타행/타기관 인증서 등록: a certificate issued through 누리은행 (901) registered
at 가람은행 (902) by the same person, proven by R and the VID."""

import base64
import os
import re

import pytest

from audit.models import AuditEvent
from certificates import services
from certificates.challenges import certificate_login, challenge_create, transfer_signature_verify
from certificates.exceptions import CertificateRefused, Refusal
from certificates.models import CertificateRegistration, Challenge
from core.models import SmsMessage
from tests.certificates.conftest import SESSION, b64, sign
from tests.conftest import PASSWORD


@pytest.fixture
def gildong(make_customer):
    """The same person as 홍길동 of 누리은행, as a 가람은행 customer."""
    return make_customer(bank_code="902", login_id="gildong")


def register(holder, customer, *, r=None, key=None):
    challenge = challenge_create(purpose=Challenge.Purpose.REGISTER, bank=customer.bank, session_key=SESSION, customer=customer)
    return services.certificate_register_at_bank(
        customer=customer,
        bank=customer.bank,
        session_key=SESSION,
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


# --- Through HTTP, with the extra SMS check ----------------------------------------------------------


@pytest.fixture
def garam_client(client, holder, gildong):
    assert client.post("/garam/login/", {"login_id": "gildong", "password": PASSWORD}).status_code == 302
    return client


def test_registration_challenge_needs_the_sms_check(garam_client):
    response = garam_client.post("/garam/certificates/challenge/", {"purpose": "register"})
    assert response.status_code == 403
    assert response.json()["code"] == "not_verified"


def test_registration_over_http_after_the_sms_check(garam_client, holder, gildong, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        garam_client.post("/garam/certificates/register/", {"action": "send"})
    code = re.search(r"\[(\d{6})\]", SmsMessage.objects.filter(body__contains="타행/타기관").first().body).group(1)
    assert garam_client.post("/garam/certificates/register/", {"action": "verify", "code": code}).status_code == 302
    challenge = garam_client.post("/garam/certificates/challenge/", {"purpose": "register"}).json()
    response = garam_client.post(
        "/garam/certificates/register/complete/",
        {
            "challenge": challenge["challenge"],
            "certificate": b64(holder.der),
            "signature": b64(sign(holder.key, base64.b64decode(challenge["to_sign"]))),
            "r": b64(holder.r),
        },
    )
    assert response.status_code == 200, response.content
    page = garam_client.get("/garam/certificates/register/").content.decode()
    assert holder.certificate.serial in page
    # Unregister through the page.
    garam_client.post(f"/garam/certificates/{holder.certificate.serial}/unregister/")
    assert not CertificateRegistration.objects.filter(bank=gildong.bank).exists()


def test_issuing_bank_registration_cannot_be_removed_as_a_cross_bank_one(holder):
    from certificates.exceptions import InvalidTransition

    with pytest.raises(InvalidTransition):
        services.certificate_unregister_at_bank(
            customer=holder.customer, bank=holder.customer.bank, certificate=holder.certificate
        )


@pytest.mark.django_db(transaction=True)
def test_two_registrations_at_once_register_once_and_refuse_the_other(test_ca, make_customer, rsa_keys):
    import threading

    from tests.certificates.conftest import issue_for

    holder = issue_for(make_customer(), rsa_keys[0])
    gildong = make_customer(bank_code="902", login_id="gildong")
    outcomes, barrier = [], threading.Barrier(2)

    def attempt():
        from django.db import connection

        challenge = challenge_create(purpose=Challenge.Purpose.REGISTER, bank=gildong.bank, session_key=SESSION, customer=gildong)
        barrier.wait()
        try:
            services.certificate_register_at_bank(
                customer=gildong,
                bank=gildong.bank,
                session_key=SESSION,
                token=challenge.token,
                certificate_der=holder.der,
                signature=sign(holder.key, bytes(challenge.to_sign)),
                r=holder.r,
            )
            outcomes.append("registered")
        except CertificateRefused as exc:
            outcomes.append(exc.reason)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == sorted(["registered", Refusal.ALREADY_REGISTERED])
    assert CertificateRegistration.objects.filter(bank=gildong.bank).count() == 1
    assert AuditEvent.objects.filter(action="certificate_refused", detail__reason="already_registered").count() == 1
