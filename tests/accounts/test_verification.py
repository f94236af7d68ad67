"""Step-up grants (accounts.verification): what a grant's steps accept, and
what they do not (found by the review of issue 11)."""

import pytest
from django.utils import timezone

from accounts.exceptions import SmsCodeExpired, VerificationRequired
from accounts.models import PhoneDevice, VerificationGrant
from accounts.services import sms_code_send
from accounts.verification import grant_open, grant_otp_verify, grant_sms_send, grant_sms_verify
from flows import stepup
from tests.verification import PIN, SESSION, Purpose, totp_now


def opened(customer, purpose=Purpose.ISSUE, session_key=SESSION):
    """A grant past 본인확인 (logged out), its SMS step next."""
    account = customer.deposit_accounts.get()
    return stepup.stepup_start_logged_out(
        purpose=purpose,
        bank=customer.bank,
        session_key=session_key,
        name=customer.name,
        rrn=customer.decrypted_rrn(),
        account_number=account.number,
        pin=PIN,
    )


def phone_code(customer) -> str:
    return PhoneDevice.objects.get(user=customer).token


def test_an_sms_code_sent_for_one_verification_completes_no_other(customer):
    """A code sent for a harmless-looking purpose (a device) cannot complete an issuance in another session."""
    device_grant = opened(customer, Purpose.CLOUD_DEVICE, session_key="victim")
    issue_grant = opened(customer, Purpose.ISSUE, session_key="attacker")
    grant_sms_send(grant=device_grant)
    with pytest.raises(SmsCodeExpired):
        grant_sms_verify(grant=issue_grant, code=phone_code(customer))
    issue_grant.refresh_from_db()
    assert issue_grant.sms_at is None
    grant_sms_verify(grant=device_grant, code=phone_code(customer))  # still good where it was sent


def test_a_transfers_sms_code_completes_no_verification(customer):
    grant = opened(customer)
    sms_code_send(customer=customer, reason="이체 추가 인증", bind="transfer")
    with pytest.raises(SmsCodeExpired):
        grant_sms_verify(grant=grant, code=phone_code(customer))


def test_the_steps_go_in_order_the_otp_before_the_sms_code(customer, totp_code):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=customer, name="OTP", confirmed=True)
    grant = opened(customer)
    with pytest.raises(VerificationRequired):
        grant_sms_send(grant=grant)  # the OTP comes first
    grant_otp_verify(grant=grant, code=totp_now(device))
    grant_sms_send(grant=grant)
    grant_sms_verify(grant=grant, code=phone_code(customer))
    with pytest.raises(VerificationRequired):
        grant_sms_send(grant=grant)  # nothing left to do


def test_reopening_a_grant_in_the_same_instant_is_no_500(customer):
    """The earlier grant ends; expires_at > created_at holds even when the clock has not moved."""
    first = opened(customer)
    VerificationGrant.objects.filter(pk=first.pk).update(created_at=timezone.now() + timezone.timedelta(seconds=5))
    second = grant_open(purpose=Purpose.ISSUE, customer=customer, bank=customer.bank, session_key=SESSION, factors=["identity"])
    first.refresh_from_db()
    assert first.expires_at > first.created_at and second.pk != first.pk


def test_a_deactivated_customer_cannot_reset_a_password_by_login_id(customer):
    customer.is_active = False
    customer.save(update_fields=["is_active"])
    account = customer.deposit_accounts.get()
    with pytest.raises(Exception) as refused:
        stepup.stepup_start_by_login_id(
            purpose=Purpose.UNLOCK,
            bank=customer.bank,
            session_key=SESSION,
            login_id=customer.login_id,
            rrn=customer.decrypted_rrn(),
            account_number=account.number,
            pin=PIN,
        )
    assert refused.value.code == "identity_mismatch"
