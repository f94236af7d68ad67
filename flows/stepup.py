"""Step-up verification across apps: 본인확인 (the RRN on record, one of the
customer's own accounts and its PIN)."""

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.exceptions import IdentityLocked, IdentityMismatch
from accounts.models import Customer
from audit.models import Action
from audit.services import audit_record
from banking import accountnumbers
from banking.models import DepositAccount
from banking.services import account_pin_verify


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
