"""수취인 조회 (the receiving account, its masked name, the lookup limit) and 자주 쓰는 계좌."""

import datetime
import math

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import Action
from audit.services import audit_record
from banking import accountnumbers
from banking.exceptions import RecipientLookupThrottled, RecipientNotFound
from banking.models import DepositAccount, FavouriteRecipient, RecipientLookupLimit
from core.models import Bank


def mask_name(name: str) -> str:
    """수취인 조회 shows the recipient's name masked: 홍길동 → 홍*동, 이철 → 이*."""
    name = (name or "").strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def recipient_lookup(*, number: str, bank: Bank | None = None, bank_code: str = "") -> DepositAccount:
    """수취인 조회: the customer account with this number at `bank` (or at the
    bank whose code is `bank_code`, in the same query)."""
    normalised = accountnumbers.normalise(number or "")
    at_bank = {"bank": bank} if bank is not None else {"bank__code": bank_code}
    # SECURITY: only a well-formed number (13 ASCII digits, right check digit)
    # at a well-formed bank code is looked up; anything else cannot exist and
    # never reaches a query.
    well_formed = accountnumbers.is_valid(normalised) and (
        bank is not None or (isinstance(bank_code, str) and len(bank_code) == 3 and bank_code.isascii() and bank_code.isdigit())
    )
    account = (
        DepositAccount.objects.select_related("bank", "owner")
        .filter(number=normalised, kind=DepositAccount.Kind.CUSTOMER, **at_bank)
        .first()
        if well_formed
        else None
    )
    # SECURITY: internal (fee, operating) accounts are never a recipient.
    if account is None or account.owner is None or not account.owner.is_active:
        raise RecipientNotFound()
    return account


def recipient_find(*, customer, bank_code: str, number: str, request=None) -> DepositAccount:
    """수취인 조회 asked by a customer (the lookup button, the transfer form):
    recipient_lookup under a per-customer limit on failed lookups.

    SECURITY: the masked name a lookup shows is what an enumeration collects.
    After CERTBANK_TRANSFER_LOOKUP_MAX_FAILURES failures in a window of
    CERTBANK_TRANSFER_LOOKUP_WINDOW_SECONDS (from its first failure) every
    lookup is refused until the window ends; the count lives in the database
    (RecipientLookupLimit, row-locked) so all workers and sessions share it,
    and it is saved although the failing request is refused.
    """
    now = timezone.now()
    window = datetime.timedelta(seconds=settings.CERTBANK_TRANSFER_LOOKUP_WINDOW_SECONDS)
    most = settings.CERTBANK_TRANSFER_LOOKUP_MAX_FAILURES
    error = account = None
    with transaction.atomic():
        limit, _created = RecipientLookupLimit.objects.select_for_update().get_or_create(
            customer=customer, defaults={"window_started_at": now}
        )
        # A window that is over starts again at the next failure (below).
        if now >= limit.window_started_at + window:
            limit.failures = 0
        if limit.failures >= most:
            retry_after = max(1, math.ceil((limit.window_started_at + window - now).total_seconds()))
            error = RecipientLookupThrottled(retry_after=retry_after)
        else:
            try:
                account = recipient_lookup(bank_code=bank_code, number=number)
            except RecipientNotFound as exc:
                error = exc
                if limit.failures == 0:
                    limit.window_started_at = now
                limit.failures += 1
                # Only a failure writes: a found recipient leaves the row as it was.
                limit.save(update_fields=["window_started_at", "failures"])
                if limit.failures == most:
                    audit_record(
                        action=Action.RECIPIENT_LOOKUP_LOCKED,
                        customer=customer,
                        bank=customer.bank,
                        request=request,
                        failures=limit.failures,
                        until=(limit.window_started_at + window).isoformat(),
                    )
    if error is not None:
        raise error
    return account


# --- 자주 쓰는 계좌 ----------------------------------------------------------------------------------


def favourite_add(*, customer, account: DepositAccount, nickname: str = "", request=None) -> FavouriteRecipient:
    """Save a receiving account as 자주 쓰는 계좌 (once per account), audited."""
    if account.kind != DepositAccount.Kind.CUSTOMER:
        raise RecipientNotFound()
    with transaction.atomic():
        favourite, created = FavouriteRecipient.objects.get_or_create(
            customer=customer, account=account, defaults={"nickname": (nickname or "").strip()[:20]}
        )
        if created:
            audit_record(
                action=Action.FAVOURITE_ADDED,
                customer=customer,
                bank=customer.bank,
                request=request,
                favourite=favourite.pk,
                account=account.number,
                account_bank=account.bank.code,
            )
    return favourite


def favourite_remove(*, customer, pk: int, request=None) -> bool:
    """Remove one of the customer's 자주 쓰는 계좌; True when one was removed (audited)."""
    with transaction.atomic():
        # SECURITY: scoped to the customer: another customer's favourite id does nothing.
        favourite = (
            FavouriteRecipient.objects.select_for_update(of=("self",))
            .select_related("account__bank")
            .filter(customer=customer, pk=pk)
            .first()
        )
        if favourite is None:
            return False
        audit_record(
            action=Action.FAVOURITE_REMOVED,
            customer=customer,
            bank=customer.bank,
            request=request,
            favourite=favourite.pk,
            account=favourite.account.number,
            account_bank=favourite.account.bank.code,
        )
        favourite.delete()
    return True
