"""Customer rules: sign-up, password login and lockout, SMS codes, identity
verification, OTP enrolment and unlocking.

Failure counters (passwords, SMS codes, identity checks) are saved in their
own short transaction and the error is raised after it commits, so a failed
request cannot roll its own counter back (as django_otp.forms.clean_otp).
"""

import datetime

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.models import VerifyNotAllowed
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.device import device_digest
from accounts.exceptions import (
    AlreadyCustomer,
    DeviceAlreadyDesignated,
    DeviceLimitReached,
    IdentityLocked,
    IdentityMismatch,
    InvalidCredentials,
    LoginIdTaken,
    LoginLocked,
    OtpCodeInvalid,
    OtpThrottled,
    SignupExpired,
    SmsCodeExpired,
    SmsCodeInvalid,
    SmsCodeThrottled,
    SmsCooldown,
)
from accounts.models import Customer, DesignatedDevice, PhoneDevice
from accounts.rrn import RRN
from audit.models import Action
from audit.services import audit_record
from banking import accountnumbers
from banking.models import DepositAccount
from banking.services import account_open, account_pin_verify, welcome_deposit
from certificates.services import certificate_login_unlock
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


# --- Sign-up ---------------------------------------------------------------------


def _stale_pending(bank: Bank) -> Q:
    cutoff = timezone.now() - datetime.timedelta(seconds=settings.CERTBANK_SIGNUP_PENDING_SECONDS)
    return Q(bank=bank, signup_completed_at__isnull=True, date_joined__lt=cutoff)


def _application_abandon(customer: Customer) -> None:
    """Free an unfinished application's login ID and RRN for a new application.

    The row cannot be deleted: its audit rows point at it (on_delete=PROTECT)
    and are kept. It keeps no RRN, and with no RRN index it can never be
    completed (see customer_signup_complete).
    """
    PhoneDevice.objects.filter(user=customer).delete()
    Customer.objects.filter(pk=customer.pk).update(
        username=f"~{customer.pk}", login_id=f"~{customer.pk}", rrn_ciphertext="", rrn_index="", rrn_masked=""
    )


def customer_signup_start(
    *,
    bank: Bank,
    name: str,
    rrn: RRN,
    phone: str,
    email: str,
    login_id: str,
    password: str,
    request=None,
) -> Customer:
    """Record an application (inactive until the phone is verified) and send the code."""
    with transaction.atomic():
        probe = Customer(bank=bank)
        probe.set_rrn(rrn.digits)
        # Abandoned applications older than the pending window free their ID.
        stale = Customer.objects.filter(_stale_pending(bank)).filter(Q(login_id=login_id) | Q(rrn_index=probe.rrn_index))
        for abandoned in stale:
            _application_abandon(abandoned)
        same_person = Customer.objects.filter(bank=bank, rrn_index=probe.rrn_index).first()
        if same_person is not None:
            if same_person.signup_completed_at is not None:
                raise AlreadyCustomer()
            _application_abandon(same_person)  # a fresh application replaces the unfinished one
        if Customer.objects.filter(bank=bank, login_id=login_id).exists():
            raise LoginIdTaken()
        customer = Customer(
            username=Customer.username_for(bank, login_id),
            bank=bank,
            login_id=login_id,
            name=name,
            phone=phone,
            email=email,
            is_active=False,
        )
        customer.set_rrn(rrn.digits)
        customer.set_password(password)
        customer.save()
        audit_record(action=Action.SIGNUP_STARTED, customer=customer, bank=bank, request=request)
        sms_code_send(customer=customer, reason="계좌개설", request=request)
    return customer


def customer_signup_complete(*, customer: Customer, code: str, pin: str, request=None) -> DepositAccount:
    """Verify the phone, activate the customer and open the first account."""
    if customer.signup_completed_at is not None:
        raise AlreadyCustomer()
    cutoff = timezone.now() - datetime.timedelta(seconds=settings.CERTBANK_SIGNUP_PENDING_SECONDS)
    # An application replaced by a newer one has no RRN index (_application_abandon).
    if not customer.rrn_index or customer.date_joined < cutoff:
        raise SignupExpired()
    sms_code_verify(customer=customer, code=code, request=request)
    with transaction.atomic():
        customer.is_active = True
        customer.signup_completed_at = timezone.now()
        customer.save(update_fields=["is_active", "signup_completed_at"])
        account = account_open(bank=customer.bank, owner=customer, pin=pin, request=request)
        if settings.CERTBANK_WELCOME_DEPOSIT > 0:
            welcome_deposit(account=account, amount=settings.CERTBANK_WELCOME_DEPOSIT, request=request)
        audit_record(action=Action.SIGNUP_COMPLETED, customer=customer, bank=customer.bank, request=request)
        notify_customer(
            customer=customer,
            subject=_("가입을 환영합니다"),
            body=_("%(name)s님, 가입을 환영합니다. 계좌번호 %(number)s")
            % {
                "name": customer.name,
                "number": account.display_number,
            },
        )
    return account


def customer_create_verified(
    *, bank: Bank, login_id: str, password: str, name: str, rrn: RRN, phone: str, email: str, pin: str, deposit: int
) -> Customer:
    """Create a finished customer directly (demo seeding and tests)."""
    with transaction.atomic():
        customer = Customer(
            username=Customer.username_for(bank, login_id),
            bank=bank,
            login_id=login_id,
            name=name,
            phone=phone,
            email=email,
            signup_completed_at=timezone.now(),
        )
        customer.set_rrn(rrn.digits)
        customer.set_password(password)
        customer.save()
        account = account_open(bank=bank, owner=customer, pin=pin)
        if deposit:
            welcome_deposit(account=account, amount=deposit)
    return customer


# --- Password login ----------------------------------------------------------------


def _dummy_password_check(password: str) -> None:
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
        _dummy_password_check(password)
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


# --- Identity verification (본인확인) ---------------------------------------------------


def identity_verify(*, customer: Customer, rrn: str, account_number: str, pin: str, request=None) -> DepositAccount:
    """RRN matching the record plus one of the customer's accounts and its PIN.

    The SMS code is the second step (sms_code_send / sms_code_verify).
    """
    if customer.identity_locked_at is not None:
        raise IdentityLocked()
    number = accountnumbers.normalise(account_number)
    account = (
        DepositAccount.objects.filter(owner=customer, bank=customer.bank, number=number).first()
        if accountnumbers.is_valid(number)
        else None
    )
    # SECURITY: one message for a wrong RRN or a foreign account, so the form
    # does not tell an impostor which half was right.
    if account is None or not customer.rrn_matches(rrn.replace("-", "").strip()):
        _identity_failed(customer=customer, request=request)
    account_pin_verify(account=account, pin=pin, request=request)
    with transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(identity_failed_count=0)
        audit_record(action=Action.IDENTITY_VERIFIED, customer=customer, bank=customer.bank, request=request)
    return account


def _identity_failed(*, customer: Customer, request=None):
    with transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(identity_failed_count=F("identity_failed_count") + 1)
        customer.refresh_from_db(fields=["identity_failed_count"])
        locked = customer.identity_failed_count >= settings.CERTBANK_IDENTITY_MAX_FAILURES
        if locked:
            customer.identity_locked_at = timezone.now()
            customer.save(update_fields=["identity_locked_at"])
        audit_record(
            action=Action.IDENTITY_FAILED,
            customer=customer,
            bank=customer.bank,
            request=request,
            failures=customer.identity_failed_count,
        )
    raise IdentityLocked() if locked else IdentityMismatch()


# --- Unlocking a login / resetting the password ------------------------------------------


def login_unlock_start(*, bank: Bank, login_id: str, rrn: str, account_number: str, pin: str, request=None) -> Customer:
    customer = Customer.objects.filter(bank=bank, login_id=login_id, signup_completed_at__isnull=False).first()
    if customer is None:
        audit_record(action=Action.IDENTITY_FAILED, bank=bank, request=request, login_id=login_id[:20], known=False)
        raise IdentityMismatch()
    identity_verify(customer=customer, rrn=rrn, account_number=account_number, pin=pin, request=request)
    sms_code_send(customer=customer, reason="비밀번호 재설정", request=request)
    return customer


def login_unlock_complete(*, customer: Customer, code: str, new_password: str, request=None) -> None:
    sms_code_verify(customer=customer, code=code, request=request)
    with transaction.atomic():
        customer.set_password(new_password)
        customer.failed_login_count = 0
        customer.login_locked_at = None
        customer.save(update_fields=["password", "failed_login_count", "login_locked_at"])
        audit_record(action=Action.PASSWORD_RESET, customer=customer, bank=customer.bank, request=request)
        audit_record(action=Action.LOGIN_UNLOCKED, customer=customer, bank=customer.bank, request=request)
        # Identity verified: certificate logins locked at this bank open again too.
        certificate_login_unlock(customer=customer, bank=customer.bank, request=request)
        notify_customer(
            customer=customer,
            subject=_("비밀번호가 재설정되었습니다"),
            body=_("인터넷뱅킹 비밀번호가 재설정되었습니다. 본인이 아니면 즉시 고객센터로 연락해 주세요."),
        )


def staff_unlock(*, customer: Customer, staff: Customer, request=None) -> None:
    """Staff clear the login, identity and account-PIN locks of a customer."""
    with transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(
            failed_login_count=0, login_locked_at=None, identity_failed_count=0, identity_locked_at=None
        )
        DepositAccount.objects.filter(owner=customer).update(pin_failed_count=0, pin_locked_at=None)
        certificate_login_unlock(customer=customer, bank=customer.bank, actor=staff, request=request)
        audit_record(action=Action.STAFF_UNLOCKED_LOGIN, customer=customer, bank=customer.bank, actor=staff, request=request)


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
