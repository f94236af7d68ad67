"""Every refusal path keeps its audit row (core.boundary): the service's own
work rolls back, the row recording the refusal (and any strike it counts)
commits. Run with real commits (transaction=True), as a web request runs,
on SQLite and PostgreSQL; each case also checks that the refused request
changed nothing else."""

import os

import pytest

from accounts import services as account_services
from accounts.models import Customer, PhoneDevice, VerificationGrant
from audit.models import Action, AuditEvent
from banking.models import DepositAccount
from certificates import services
from certificates.challenges import challenge_create
from certificates.login import certificate_login
from certificates.models import Certificate, Challenge, CloudDevice
from core.errors import DomainError
from flows import stepup
from tests.certificates.conftest import issue_for, sign, spki
from tests.verification import SESSION, Purpose, verified

pytestmark = pytest.mark.django_db(transaction=True)


def refused(call) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value


def rows(action, **detail) -> int:
    return AuditEvent.objects.filter(action=action, **{f"detail__{k}": v for k, v in detail.items()}).count()


def test_a_wrong_password(customer):
    error = refused(lambda: account_services.password_login(bank=customer.bank, login_id="hong", password="wrong"))
    assert error.code == "invalid_credentials"
    assert rows(Action.LOGIN_FAILED) == 1
    assert Customer.objects.get(pk=customer.pk).failed_login_count == 1


def test_a_wrong_sms_code(customer):
    account_services.sms_code_send(bind="test", customer=customer, reason="테스트")
    right = PhoneDevice.objects.get(user=customer).token
    refused(lambda: account_services.sms_code_verify(bind="test", customer=customer, code=f"{(int(right) + 1) % 1_000_000:06d}"))
    assert rows(Action.SMS_FAILED) == 1
    assert PhoneDevice.objects.get(user=customer).throttling_failure_count == 1


def test_a_wrong_account_pin_in_a_logged_out_identity_check(customer):
    account = DepositAccount.objects.get(owner=customer)
    error = refused(
        lambda: stepup.stepup_start_logged_out(
            purpose=Purpose.ISSUE,
            bank=customer.bank,
            session_key=SESSION,
            name=customer.name,
            rrn=customer.decrypted_rrn(),
            account_number=account.number,
            pin="0000",
        )
    )
    assert error.code == "identity_mismatch"  # the same answer as any other wrong part
    assert rows(Action.IDENTITY_FAILED, pin=True) == 1
    assert DepositAccount.objects.get(owner=customer).pin_failed_count == 0  # a back-off, not the PIN's lock
    assert not VerificationGrant.objects.exists()  # no grant was opened


def test_a_logged_out_identity_that_matches_nobody(customer):
    refused(
        lambda: stepup.stepup_start_logged_out(
            purpose=Purpose.ISSUE,
            bank=customer.bank,
            session_key=SESSION,
            name="홍길동",
            rrn="9203152345674",
            account_number=DepositAccount.objects.get(owner=customer).number,
            pin="1234",
        )
    )
    assert rows(Action.IDENTITY_FAILED, logged_out=True) == 1
    assert not VerificationGrant.objects.exists()


def test_an_issuance_with_a_bad_proof_of_possession(test_ca, customer, rsa_keys):
    grant = verified(customer, Purpose.ISSUE, detail={"kind": "joint"})
    challenge = challenge_create(purpose=Challenge.Purpose.ISSUE, bank=customer.bank, session_key=SESSION, customer=customer)
    error = refused(
        lambda: services.certificate_issue_joint(
            grant=grant,
            bank=customer.bank,
            session_key=SESSION,
            token=challenge.token,
            public_key_spki=spki(rsa_keys[0]),
            signature=sign(rsa_keys[1], bytes(challenge.to_sign)),
            r=os.urandom(20),
        )
    )
    assert error.code == "bad_signature"
    assert rows(Action.CERTIFICATE_REFUSED, reason="bad_signature") == 1
    assert not Certificate.objects.exists()
    # The verification was not used by an issuance that did not happen.
    assert VerificationGrant.objects.get(token=grant).consumed_at is None


def test_a_bad_login_signature(test_ca, customer, rsa_keys):
    holder = issue_for(customer, rsa_keys[0])
    challenge = challenge_create(purpose=Challenge.Purpose.LOGIN, bank=customer.bank, session_key=SESSION)
    refused(
        lambda: certificate_login(
            bank=customer.bank,
            session_key=SESSION,
            token=challenge.token,
            certificate_der=holder.der,
            signature=sign(rsa_keys[1], bytes(challenge.to_sign)),
        )
    )
    assert rows(Action.CERTIFICATE_REFUSED, reason="bad_signature") == 1
    assert rows(Action.CERTIFICATE_LOGIN_SUCCEEDED) == 0


def test_a_restore_of_a_valid_certificate(test_ca, customer, rsa_keys):
    holder = issue_for(customer, rsa_keys[0])
    grant = verified(customer, Purpose.RESTORE, session_key="restore", detail={"serial": holder.certificate.serial})
    error = refused(
        lambda: services.certificate_restore_by_customer(
            grant=grant, bank=customer.bank, session_key="restore", serial=holder.certificate.serial
        )
    )
    assert error.code == "invalid_transition"
    assert VerificationGrant.objects.get(token=grant).consumed_at is None


def test_a_cloud_device_over_the_limit(test_ca, customer, settings):
    settings.CERTBANK_CLOUD_MAX_DEVICES = 1
    grants = [verified(customer, Purpose.CLOUD_DEVICE, session_key=f"device-{n}") for n in range(2)]
    services.cloud_device_register(grant=grants[0], bank=customer.bank, session_key="device-0", device_token="A" * 43)
    error = refused(
        lambda: services.cloud_device_register(grant=grants[1], bank=customer.bank, session_key="device-1", device_token="B" * 43)
    )
    assert error.code == "device_limit"
    assert rows(Action.CERTIFICATE_REFUSED, reason="device_limit") == 1
    assert CloudDevice.objects.count() == 1


def test_removing_someone_elses_cloud_device(test_ca, customer, make_customer):
    other = make_customer(login_id="kim", name="김철수", rrn="920315-2345674", phone="01099998888")
    grant = verified(customer, Purpose.CLOUD_DEVICE)
    device = services.cloud_device_register(grant=grant, bank=customer.bank, session_key=SESSION, device_token="A" * 43)
    refused(lambda: services.cloud_device_remove(customer=other, bank=other.bank, device_id=device.pk))
    assert rows(Action.CERTIFICATE_REFUSED, reason="device_not_registered") == 1
    assert CloudDevice.objects.filter(pk=device.pk).exists()


def test_a_registration_of_another_persons_certificate(test_ca, customer, make_customer, rsa_keys):
    holder = issue_for(customer, rsa_keys[0])
    other = make_customer(bank_code="902", login_id="kim", name="김철수", rrn="920315-2345674", phone="01099998888")
    grant = verified(other, Purpose.REGISTER, session_key="register")
    challenge = challenge_create(purpose=Challenge.Purpose.REGISTER, bank=other.bank, session_key="register", customer=other)
    error = refused(
        lambda: services.certificate_register_at_bank(
            grant=grant,
            bank=other.bank,
            session_key="register",
            token=challenge.token,
            certificate_der=holder.der,
            signature=sign(rsa_keys[0], bytes(challenge.to_sign)),
            r=holder.r,
        )
    )
    assert error.code == "not_same_person"
    assert rows(Action.CERTIFICATE_REFUSED, reason="not_same_person") == 1
    assert holder.certificate.registrations.count() == 1
