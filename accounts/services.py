"""Customer rules: SMS codes, password login and its lock, OTP, the staff
console's login and edits. (Sign-up, 본인확인 and unlocking need banking too:
they are flows, in flows/; step-up grants are accounts.verification.)

Every public function is a service (core.boundary): a refusal rolls back
what the call did, and the counters it kept (wrong passwords, wrong codes)
are written afterwards, so a failed request cannot roll its own count back.
Counters that guard a guessable secret are held (core.boundary.hold) so
that parallel guesses are each counted before the next is tried.
"""

from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.exceptions import (
    InvalidCredentials,
    LoginLocked,
    OtpCodeInvalid,
    OtpThrottled,
    SmsCodeExhausted,
    SmsCodeExpired,
    SmsCodeInvalid,
    SmsCooldown,
    SmsSendThrottled,
)
from accounts.models import Customer, PhoneDevice
from audit.models import Action
from audit.services import audit_record
from core.boundary import audited, hold, hold_key, service
from core.clients import request_network
from core.errors import DomainError
from core.models import Bank
from core.notify import notify_customer
from core.privacy import typed_shape
from core.sms import sms_send
from core.throttle import Policy, throttle_check, throttle_clear, throttle_failure, throttle_wait

T = TypeVar("T")

# --- SMS codes -----------------------------------------------------------------


def _sms_send_policy() -> Policy:
    # Codes a customer may ask for before each next one waits (a guesser gets
    # CERTBANK_SMS_MAX_FAILURES tries per code, so this bounds the guesses an hour).
    # Each code sent counts once it is sent: CERTBANK_SMS_SENDS_FREE go out, the next waits.
    return Policy("sms_send", free=settings.CERTBANK_SMS_SENDS_FREE - 1, first_wait=300, max_wait=3600, forget_after=3600)


@service
def sms_code_send(*, customer: Customer, reason: str, bind: str, request=None) -> None:
    """Send a fresh 6-digit code to the customer's registered phone, for what
    `bind` names (a grant, "signup", "transfer"): sms_code_verify accepts it
    only for the same. A new code replaces the previous one."""
    device, _created = PhoneDevice.objects.get_or_create(user=customer, defaults={"name": "휴대폰", "number": customer.phone})
    device = hold(PhoneDevice.objects.filter(pk=device.pk))[0]
    if device.number != customer.phone:
        device.number = customer.phone
    allowed, info = device.generate_is_allowed()
    if not allowed:
        wait = (info["next_generation_at"] - timezone.now()).total_seconds()
        raise SmsCooldown(max(1, int(wait) + 1))
    throttle_check(_sms_send_policy(), str(customer.pk), error=SmsSendThrottled)
    device.generate_token(valid_secs=settings.CERTBANK_SMS_CODE_VALID_SECONDS, commit=False)
    device.bound_to = bind[:64]
    device.throttle_reset(commit=False)
    device.cooldown_set(commit=False)
    device.save()
    throttle_failure(_sms_send_policy(), str(customer.pk))
    bank_name = customer.bank.name_ko if customer.bank_id else "Certbank"
    minutes = settings.CERTBANK_SMS_CODE_VALID_SECONDS // 60
    sms_send(
        phone=device.number,
        body=(
            f"[{bank_name}] {reason} 인증번호 [{device.token}]를 {minutes}분 안에 입력해 주세요. 타인에게 절대 알려주지 마세요."
        ),
    )
    audit_record(action=Action.SMS_SENT, customer=customer, bank=customer.bank, request=request, reason=reason)


def _sms_wrong(device_pk: int, customer: Customer, request):
    """The kept write of a wrong SMS code: count it; the last allowed one discards the code."""

    def write(error: DomainError) -> DomainError:
        PhoneDevice.objects.filter(pk=device_pk).update(throttling_failure_count=F("throttling_failure_count") + 1)
        device = PhoneDevice.objects.get(pk=device_pk)
        audit_record(
            action=Action.SMS_FAILED,
            customer=customer,
            bank=customer.bank,
            request=request,
            failures=device.throttling_failure_count,
        )
        left = settings.CERTBANK_SMS_MAX_FAILURES - device.throttling_failure_count
        if left <= 0:
            # SECURITY: a discarded code cannot be guessed any further.
            PhoneDevice.objects.filter(pk=device_pk).update(token=None)
            return SmsCodeExhausted()
        return SmsCodeInvalid(left=left)

    return write


@service
def sms_code_verify(*, customer: Customer, code: str, bind: str, request=None) -> None:
    """Check an SMS code: single use, within its 3 minutes, at most
    CERTBANK_SMS_MAX_FAILURES wrong tries. No wait between tries.

    SECURITY: the device row is held, so two requests carrying the same code
    cannot both pass and parallel guesses are each counted before the next.
    """
    held = hold(PhoneDevice.objects.filter(user=customer))
    now = timezone.now()
    # SECURITY: a code sent for another flow (another grant or session, sign-up,
    # a transfer) completes nothing here: the purpose the SMS named holds.
    if not held or not held[0].code_usable(now) or held[0].bound_to != bind:
        raise SmsCodeExpired()  # not a guess: nothing counted
    device = held[0]
    if not device.code_matches(code.strip()):
        raise SmsCodeInvalid().keep(_sms_wrong(device.pk, customer, request))
    PhoneDevice.objects.filter(pk=device.pk).update(token=None, valid_until=now, throttling_failure_count=0)
    throttle_clear(_sms_send_policy(), key=str(customer.pk))


# --- Password login ----------------------------------------------------------------


def password_check_dummy(password: str) -> None:
    # Same work for an unknown ID as for a known one: no timing oracle.
    make_password(password)


def _password_wrong(customer_pk: int, request):
    """The kept write of a wrong password: count it; the 5th in a row locks the login."""

    def write(error: DomainError) -> DomainError:
        Customer.objects.filter(pk=customer_pk).update(failed_login_count=F("failed_login_count") + 1)
        customer = Customer.objects.select_related("bank").get(pk=customer_pk)
        audit_record(
            action=Action.LOGIN_FAILED,
            customer=customer,
            bank=customer.bank,
            request=request,
            failures=customer.failed_login_count,
        )
        if customer.failed_login_count < settings.CERTBANK_LOGIN_MAX_FAILURES:
            return InvalidCredentials(settings.CERTBANK_LOGIN_MAX_FAILURES - customer.failed_login_count)
        if Customer.objects.filter(pk=customer_pk, login_locked_at__isnull=True).update(login_locked_at=timezone.now()):
            audit_record(action=Action.LOGIN_LOCKED, customer=customer, bank=customer.bank, request=request)
        return LoginLocked()

    return write


@service
def password_login(*, bank: Bank, login_id: str, password: str, request=None) -> Customer:
    """The customer whose ID and password these are, or a refusal.

    Five wrong passwords in a row lock the login (the customer unlocks it by
    본인확인, flows.unlock, or at the bank). SECURITY: the customer row is
    held, so parallel guesses are each counted and none is tried after the
    fifth; a locked login is refused before the password is even checked.
    """
    found = Customer.objects.filter(bank=bank, login_id=login_id, signup_completed_at__isnull=False).first()
    if found is None or not found.is_active:
        password_check_dummy(password)
        raise InvalidCredentials().keep(
            # SECURITY: an ID that matched nothing is often a password typed in the wrong field: its shape only.
            audited(action=Action.LOGIN_FAILED, bank=bank, request=request, typed=typed_shape(login_id), known=False)
        )
    customer = hold(Customer.objects.select_related("bank").filter(pk=found.pk))[0]
    if customer.login_locked:
        password_check_dummy(password)
        raise LoginLocked().keep(audited(action=Action.LOGIN_FAILED, customer=customer, bank=bank, request=request, locked=True))
    if not customer.check_password(password):
        raise InvalidCredentials().keep(_password_wrong(customer.pk, request))
    if customer.failed_login_count:
        Customer.objects.filter(pk=customer.pk).update(failed_login_count=0)
        customer.failed_login_count = 0
    audit_record(action=Action.LOGIN_SUCCEEDED, customer=customer, bank=customer.bank, request=request)
    return customer


# --- The staff console's login ------------------------------------------------------


def _staff_policies() -> tuple[Policy, Policy]:
    # SECURITY: back-off, never a lock: staff usernames are easy to guess, and
    # a lock anyone can trigger would shut the bank's own staff out. One
    # network gets a few tries per name, and a few dozen in all, before waiting.
    per_name = Policy("staff_login", free=5, first_wait=30, max_wait=900, forget_after=3600)
    per_network = Policy("staff_login_network", free=20, first_wait=30, max_wait=900, forget_after=3600)
    return per_name, per_network


def _staff_keys(username: str, request) -> tuple[str, str]:
    network = request_network(request)
    return f"{network}|{username[:150]}", network


def staff_login_wait(*, username: str, request=None) -> int:
    """Seconds this network must wait before trying `username` again (0: it may)."""
    per_name, per_network = _staff_policies()
    name_key, network_key = _staff_keys(username, request)
    return max(throttle_wait(per_name, name_key), throttle_wait(per_network, network_key))


@service
def staff_login_turn(*, attempt: Callable[[], T], request=None) -> T:
    """Run one staff login try (`attempt`: the console's wait check, password
    and code check, and count) as this network's turn (core.boundary.hold_key),
    so that parallel tries each see the failures counted before them.
    `attempt` returns its refusal rather than raising it: the count commits."""
    hold_key(f"staff_login:{request_network(request)}")
    return attempt()


@service
def staff_login_failed(*, username: str, user: Customer | None = None, request=None) -> int:
    """Count a refused staff login (a wrong password or code: one answer for
    both); returns the seconds the next try must wait."""
    per_name, per_network = _staff_policies()
    name_key, network_key = _staff_keys(username, request)
    throttle_failure(per_name, name_key)
    throttle_failure(per_network, network_key)
    audit_record(action=Action.LOGIN_FAILED, customer=user, request=request, staff=True, known=user is not None)
    return staff_login_wait(username=username, request=request)


@service
def staff_login_succeeded(*, user: Customer, request=None) -> None:
    per_name, _per_network = _staff_policies()
    throttle_clear(per_name, key=_staff_keys(user.username, request)[0])
    audit_record(action=Action.LOGIN_SUCCEEDED, customer=user, request=request, staff=True)


@service
def staff_customer_update(*, customer: Customer, changed: list[str], staff: Customer, request=None) -> None:
    """Save a staff member's edit of a customer record, with an audit row.

    The phone number is a second factor, so a change also notifies the
    customer (on the old number too) as banks do.
    """
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


# --- OTP (TOTP) -----------------------------------------------------------------------


def _otp_policy() -> Policy:
    # A mistyped code and the right one at once pass; from the fourth wrong
    # code in a row each try waits, 2 s, then 4, 8 ... up to 15 minutes.
    return Policy("otp", free=3, first_wait=2, max_wait=900, forget_after=3600)


def otp_device(*, customer: Customer) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=customer, confirmed=True).first()


def _otp_wrong(customer: Customer, request, **detail):
    def write(error: DomainError) -> DomainError:
        throttle_failure(_otp_policy(), str(customer.pk))
        audit_record(action=Action.OTP_FAILED, customer=customer, bank=customer.bank, request=request, **detail)
        wait = throttle_wait(_otp_policy(), str(customer.pk))
        return OtpCodeInvalid(wait=wait)

    return write


def _otp_check(*, customer: Customer, device: TOTPDevice, code: str, request, **detail) -> None:
    # SECURITY: the device row is held, so parallel guesses each see the count before trying (core.boundary.hold).
    device = hold(TOTPDevice.objects.filter(pk=device.pk))[0]
    throttle_check(_otp_policy(), str(customer.pk), error=OtpThrottled)
    if not device.verify_token((code or "").strip()):
        raise OtpCodeInvalid().keep(_otp_wrong(customer, request, **detail))
    throttle_clear(_otp_policy(), key=str(customer.pk))


@service
def otp_verify(*, customer: Customer, code: str, request=None) -> None:
    """Check the customer's OTP code (nothing to check without an OTP).
    django-otp refuses a code already used (its last time step is saved)."""
    device = otp_device(customer=customer)
    if device is not None:
        _otp_check(customer=customer, device=device, code=code, request=request)


def otp_enrolment_start(*, customer: Customer) -> TOTPDevice:
    """The pending (unconfirmed) TOTP device, created on first call."""
    device = TOTPDevice.objects.filter(user=customer, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=customer, name="OTP", confirmed=False)
    return device


@service
def otp_enrolment_confirm(*, customer: Customer, code: str, request=None) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=customer, confirmed=False).first()
    if device is None:
        raise OtpCodeInvalid()
    _otp_check(customer=customer, device=device, code=code, request=request, enrolment=True)
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


def sms_code_valid_until(*, customer: Customer, bind: str):
    """When the customer's current SMS code for `bind` stops working (for the
    step's countdown), or None when there is no usable code for it."""
    device = PhoneDevice.objects.filter(user=customer).only("token", "valid_until", "bound_to").first()
    if device is None or device.bound_to != bind or not device.code_usable(timezone.now()):
        return None
    return device.valid_until
