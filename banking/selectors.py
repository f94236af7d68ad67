"""Reads for the banking pages."""

import datetime

from django.db.models import QuerySet
from django.utils import timezone

from banking.models import DepositAccount, FavouriteRecipient, LedgerEntry, Transfer


def customer_accounts(*, customer, bank) -> QuerySet[DepositAccount]:
    return DepositAccount.objects.filter(owner=customer, bank=bank, kind=DepositAccount.Kind.CUSTOMER).select_related("bank")


def account_entries(
    *,
    account: DepositAccount,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    direction: str | None = None,
) -> QuerySet[LedgerEntry]:
    """Entries newest first; dates are whole days in Asia/Seoul, inclusive."""
    entries = account.entries.all()
    tz = timezone.get_current_timezone()
    if date_from:
        entries = entries.filter(created_at__gte=datetime.datetime.combine(date_from, datetime.time.min, tz))
    if date_to:
        entries = entries.filter(
            created_at__lt=datetime.datetime.combine(date_to + datetime.timedelta(days=1), datetime.time.min, tz)
        )
    if direction in (LedgerEntry.Direction.DEBIT, LedgerEntry.Direction.CREDIT):
        entries = entries.filter(direction=direction)
    return entries.order_by("-created_at", "-id")


def favourite_recipients(*, customer) -> QuerySet[FavouriteRecipient]:
    return FavouriteRecipient.objects.filter(customer=customer).select_related("account__bank", "account__owner")


def recent_recipients(*, customer, limit: int = 5) -> list[Transfer]:
    """The latest transfer to each of the last `limit` distinct receiving accounts."""
    seen, recent = set(), []
    for record in (
        Transfer.objects.filter(customer=customer)
        .select_related("to_bank", "to_account__bank")
        .order_by("-created_at", "-id")[:50]
    ):
        if record.to_account_id in seen:
            continue
        seen.add(record.to_account_id)
        recent.append(record)
        if len(recent) == limit:
            break
    return recent


def customer_transfers(*, customer, bank) -> QuerySet[Transfer]:
    return Transfer.objects.filter(customer=customer, from_account__bank=bank).select_related("to_bank", "to_account__bank")
