"""비대면 계좌개설: sign-up with SMS verification, which opens the first deposit
account (accounts + banking), and the direct creation of a finished customer
that demo seeding and tests use."""

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.exceptions import AlreadyCustomer, LoginIdTaken, SignupExpired
from accounts.models import Customer, PhoneDevice
from accounts.rrn import RRN
from accounts.services import sms_code_send, sms_code_verify
from audit.models import Action
from audit.services import audit_record
from banking.models import DepositAccount
from banking.services import account_open, welcome_deposit
from core.models import Bank
from core.notify import notify_customer

# What a sign-up's SMS code is bound to (accounts.services.sms_code_send).
SMS_BIND = "signup"


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
        sms_code_send(customer=customer, reason="계좌개설", bind=SMS_BIND, request=request)
    return customer


def customer_signup_complete(*, customer: Customer, code: str, pin: str, request=None) -> DepositAccount:
    """Verify the phone, activate the customer and open the first account."""
    if customer.signup_completed_at is not None:
        raise AlreadyCustomer()
    cutoff = timezone.now() - datetime.timedelta(seconds=settings.CERTBANK_SIGNUP_PENDING_SECONDS)
    # An application replaced by a newer one has no RRN index (_application_abandon).
    if not customer.rrn_index or customer.date_joined < cutoff:
        raise SignupExpired()
    sms_code_verify(customer=customer, code=code, bind=SMS_BIND, request=request)
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
