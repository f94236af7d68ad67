"""Customer rules: SMS codes, password login and lockout, OTP enrolment and
checks, designated devices, staff edits. (Sign-up, identity verification and
unlocking need banking and certificates too: they are flows, in flows/.)

Failure counters (passwords, SMS codes, identity checks) are saved in their
own short transaction and the error is raised after it commits, so a failed
request cannot roll its own counter back (as django_otp.forms.clean_otp).
"""

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.models import VerifyNotAllowed
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.device import device_digest
from accounts.exceptions import (
    DeviceAlreadyDesignated,
    DeviceLimitReached,
    InvalidCredentials,
    LoginLocked,
    OtpCodeInvalid,
    OtpThrottled,
    SmsCodeExpired,
    SmsCodeInvalid,
    SmsCodeThrottled,
    SmsCooldown,
)
from accounts.models import Customer, DesignatedDevice, PhoneDevice
from audit.models import Action
from audit.services import audit_record
from core.models import Bank
from core.notify import notify_customer
from core.sms import sms_send

# --- SMS codes -----------------------------------------------------------------


def sms_code_send(*, customer: Customer, reason: str, request=None) -> None:
    """Send a fresh 6-digit code to the customer's registered phone."""
    with transaction.atomic():
        device, _created = PhoneDevice.objects.select_for_update().get_or_create(
            user=customer, defaults={"name": "휴대폰", "number": customer.phone}
        )
        if device.number != customer.phone:
            device.number = customer.phone
        allowed, info = device.generate_is_allowed()
        if not allowed:
            wait = (info["next_generation_at"] - timezone.now()).total_seconds()
            raise SmsCooldown(max(1, int(wait) + 1))
        device.generate_token(valid_secs=settings.CERTBANK_SMS_CODE_VALID_SECONDS, commit=False)
        device.throttle_reset(commit=False)
        device.cooldown_set(commit=False)
        device.save()
        bank_name = customer.bank.name_ko if customer.bank_id else "Certbank"
        minutes = settings.CERTBANK_SMS_CODE_VALID_SECONDS // 60
        sms_send(
            phone=device.number,
            body=(
                f"[{bank_name}] {reason} 인증번호 [{device.token}]를 {minutes}분 안에 입력해 주세요. "
                "타인에게 절대 알려주지 마세요."
            ),
        )
        audit_record(action=Action.SMS_SENT, customer=customer, bank=customer.bank, request=request, reason=reason)


def sms_code_verify(*, customer: Customer, code: str, request=None) -> None:
    """Check an SMS code; raises on failure after saving the failure count.

    The device row is locked, so two requests carrying the same code cannot
    both be accepted and parallel guesses cannot pass the failure limit.
    """
    error = None
    with transaction.atomic():
        device = PhoneDevice.objects.select_for_update().filter(user=customer).first()
        if device is None or not device.token or device.valid_until is None or device.valid_until <= timezone.now():
            error = SmsCodeExpired()
        else:
            allowed, info = device.verify_is_allowed()
            if not allowed and info and info.get("reason") == VerifyNotAllowed.N_FAILED_ATTEMPTS:
                error = SmsCodeThrottled()
            elif not device.verify_token(code.strip()):
                audit_record(
                    action=Action.SMS_FAILED,
                    customer=customer,
                    bank=customer.bank,
                    request=request,
                    failures=device.throttling_failure_count,
                )
                error = SmsCodeExpired() if device.token is None else SmsCodeInvalid()
    # Raised after the commit: the failure count must survive the refusal.
    if error is not None:
        raise error


# --- Password login ----------------------------------------------------------------


def password_check_dummy(password: str) -> None:
    # Same work for an unknown ID as for a known one: no timing oracle.
    make_password(password)


def login_attempt_failed(*, customer: Customer, request=None) -> None:
    """Count one wrong password; the 5th in a row locks the login."""
    with transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(failed_login_count=F("failed_login_count") + 1)
        customer.refresh_from_db(fields=["failed_login_count", "login_locked_at"])
        audit_record(
            action=Action.LOGIN_FAILED,
            customer=customer,
            bank=customer.bank,
            request=request,
            failures=customer.failed_login_count,
        )
        if customer.failed_login_count >= settings.CERTBANK_LOGIN_MAX_FAILURES and customer.login_locked_at is None:
            customer.login_locked_at = timezone.now()
            customer.save(update_fields=["login_locked_at"])
            audit_record(action=Action.LOGIN_LOCKED, customer=customer, bank=customer.bank, request=request)


def login_attempt_succeeded(*, customer: Customer, request=None) -> None:
    with transaction.atomic():
        if customer.failed_login_count:
            Customer.objects.filter(pk=customer.pk).update(failed_login_count=0)
            customer.failed_login_count = 0
        audit_record(action=Action.LOGIN_SUCCEEDED, customer=customer, bank=customer.bank, request=request)


def password_login(*, bank: Bank, login_id: str, password: str, request=None) -> Customer:
    """Return the customer whose ID and password these are, or raise."""
    customer = (
        Customer.objects.select_related("bank").filter(bank=bank, login_id=login_id, signup_completed_at__isnull=False).first()
    )
    if customer is None or not customer.is_active:
        password_check_dummy(password)
        audit_record(action=Action.LOGIN_FAILED, bank=bank, request=request, login_id=login_id[:20], known=False)
        raise InvalidCredentials()
    # SECURITY: a locked login is refused before the password is even checked,
    # so guessing cannot continue behind the lock.
    if customer.login_locked:
        audit_record(action=Action.LOGIN_FAILED, customer=customer, bank=bank, request=request, locked=True)
        raise LoginLocked()
    if not customer.check_password(password):
        login_attempt_failed(customer=customer, request=request)
        if customer.login_locked:
            raise LoginLocked()
        raise InvalidCredentials(settings.CERTBANK_LOGIN_MAX_FAILURES - customer.failed_login_count)
    login_attempt_succeeded(customer=customer, request=request)
    return customer


def staff_customer_update(*, customer: Customer, changed: list[str], staff: Customer, request=None) -> None:
    """Save a staff member's edit of a customer record, with an audit row.

    The phone number is a second factor, so a change also notifies the
    customer (on the old number too) as banks do.
    """
    with transaction.atomic():
        old_phone = Customer.objects.filter(pk=customer.pk).values_list("phone", flat=True).first()
        customer.save()
        audit_record(
            action=Action.STAFF_EDITED_CUSTOMER,
            customer=customer,
            bank=customer.bank,
            actor=staff,
            request=request,
            fields=sorted(changed),
        )
        if "phone" in changed and old_phone:
            PhoneDevice.objects.filter(user=customer).update(number=customer.phone, token=None)
            sms_send(
                phone=old_phone,
                body=f"[{customer.bank.name_ko}] 등록된 휴대폰 번호가 변경되었습니다. 본인이 아니면 즉시 연락해 주세요.",
            )


# --- OTP (TOTP) enrolment -----------------------------------------------------------------


def otp_device(*, customer: Customer) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=customer, confirmed=True).first()


def otp_verify(*, customer: Customer, code: str, request=None) -> None:
    """Check the customer's OTP code (no-op for a customer without OTP).

    The device saves its own throttle and last-used step, outside any outer
    transaction, so a wrong code still counts.
    """
    device = otp_device(customer=customer)
    if device is None:
        return
    allowed, _info = device.verify_is_allowed()
    if not allowed:
        raise OtpThrottled()
    if not device.verify_token((code or "").strip()):
        audit_record(action=Action.OTP_FAILED, customer=customer, bank=customer.bank, request=request)
        raise OtpCodeInvalid()


def otp_enrolment_start(*, customer: Customer) -> TOTPDevice:
    """The pending (unconfirmed) TOTP device, created on first call."""
    device = TOTPDevice.objects.filter(user=customer, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=customer, name="OTP", confirmed=False)
    return device


def otp_enrolment_confirm(*, customer: Customer, code: str, request=None) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=customer, confirmed=False).first()
    if device is None:
        raise OtpCodeInvalid()
    allowed, _info = device.verify_is_allowed()
    if not allowed:
        raise OtpThrottled()
    if not device.verify_token(code.strip()):
        audit_record(action=Action.OTP_FAILED, customer=customer, bank=customer.bank, request=request, enrolment=True)
        raise OtpCodeInvalid()
    with transaction.atomic():
        TOTPDevice.objects.filter(user=customer).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit_record(action=Action.OTP_ENROLLED, customer=customer, bank=customer.bank, request=request)
        notify_customer(
            customer=customer,
            subject=_("OTP가 등록되었습니다"),
            body=_("OTP가 등록되었습니다. 본인이 아니면 즉시 고객센터로 연락해 주세요."),
        )
    return device


# --- 단말기 지정 (designated devices) ----------------------------------------------------------


def designated_devices(*, customer: Customer):
    return DesignatedDevice.objects.filter(customer=customer)


def device_designate(*, customer: Customer, device_token: str, name: str, code: str, request=None) -> DesignatedDevice:
    """Designate this browser after the SMS code (at most CERTBANK_DESIGNATED_DEVICES_MAX)."""
    digest = device_digest(device_token)
    if DesignatedDevice.objects.filter(customer=customer, token_digest=digest).exists():
        raise DeviceAlreadyDesignated()
    limit = settings.CERTBANK_DESIGNATED_DEVICES_MAX
    if DesignatedDevice.objects.filter(customer=customer).count() >= limit:
        raise DeviceLimitReached(limit)
    sms_code_verify(customer=customer, code=code, request=request)
    with transaction.atomic():
        # The customer row serialises two designations racing for the last slot.
        Customer.objects.select_for_update().get(pk=customer.pk)
        if DesignatedDevice.objects.filter(customer=customer).count() >= limit:
            raise DeviceLimitReached(limit)
        device, created = DesignatedDevice.objects.get_or_create(
            customer=customer, token_digest=digest, defaults={"name": (name or "").strip()[:40] or _("이 단말기")}
        )
        if not created:
            raise DeviceAlreadyDesignated()
        audit_record(action=Action.DEVICE_DESIGNATED, customer=customer, bank=customer.bank, request=request, device=device.pk)
        notify_customer(
            customer=customer,
            subject=_("단말기가 지정되었습니다"),
            body=_("이체용 단말기 '%(name)s'이(가) 지정되었습니다. 본인이 아니면 즉시 은행에 신고하세요.")
            % {"name": device.name},
        )
    return device


def device_release(*, customer: Customer, pk: int, request=None) -> bool:
    # SECURITY: scoped to the customer: another customer's device id does nothing.
    with transaction.atomic():
        deleted, _rows = DesignatedDevice.objects.filter(customer=customer, pk=pk).delete()
        if deleted:
            audit_record(action=Action.DEVICE_RELEASED, customer=customer, bank=customer.bank, request=request, device=pk)
    return bool(deleted)
