"""Reads for the banking pages."""

import datetime
import re
from dataclasses import dataclass

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


# --- 거래내역조회: keyset pages on (created_at, id), newest first ----------------------------------

HISTORY_COUNT_CAP = 1000  # "1,000건 이상": counting stops there, however long the history
_CURSOR = re.compile(r"(\d{1,19})_(\d{1,19})")


@dataclass
class HistoryPage:
    entries: list[LedgerEntry]
    older: str | None  # cursor of the next page back in time, if there is one
    newer: str | None  # cursor of the page before it, if this is not the newest
    count: int  # entries in the whole range, up to HISTORY_COUNT_CAP + 1

    @property
    def count_capped(self) -> bool:
        return self.count > HISTORY_COUNT_CAP


def _cursor(entry: LedgerEntry) -> str:
    moment = entry.created_at - datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    return f"{moment // datetime.timedelta(microseconds=1)}_{entry.id}"


def _cursor_parse(text: str | None) -> tuple[datetime.datetime, int] | None:
    """(created_at, id) of a cursor, or None for anything that is not one (a first page)."""
    match = _CURSOR.fullmatch(text or "")
    if match is None:
        return None
    try:
        moment = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(microseconds=int(match[1]))
    except OverflowError:
        return None
    return moment, int(match[2])


def history_page(entries: QuerySet[LedgerEntry], *, older: str | None = None, newer: str | None = None, size: int) -> HistoryPage:
    """One page of `entries` (account_entries: newest first) after the `older`
    cursor or before the `newer` one, or the newest page. Each page is an
    index range scan of `size` + 1 rows whatever its depth, plus an EXISTS
    for the other side: no OFFSET, and no count of the whole history (it
    stops at HISTORY_COUNT_CAP)."""
    count = entries.order_by()[: HISTORY_COUNT_CAP + 1].count()
    after, before = _cursor_parse(older), _cursor_parse(newer)
    if before is not None:
        rows = list(_newer_than(entries, *before).reverse()[: size + 1])
        has_newer = len(rows) > size
        rows = rows[:size][::-1]
        has_older = bool(rows) and _older_than(entries, rows[-1].created_at, rows[-1].id).exists()
    else:
        rows = list((entries if after is None else _older_than(entries, *after))[: size + 1])
        has_older = len(rows) > size
        rows = rows[:size]
        has_newer = after is not None and bool(rows) and _newer_than(entries, rows[0].created_at, rows[0].id).exists()
    if not rows and (after or before):
        return history_page(entries, size=size)  # past either end (a stale or crafted cursor): the newest page
    return HistoryPage(
        entries=rows,
        older=_cursor(rows[-1]) if has_older else None,
        newer=_cursor(rows[0]) if has_newer else None,
        count=count,
    )


def _older_than(entries: QuerySet[LedgerEntry], moment: datetime.datetime, pk: int) -> QuerySet[LedgerEntry]:
    # (created_at, id) < (moment, pk), written so the (account, created_at, id) index bounds the scan.
    return entries.filter(created_at__lte=moment).exclude(created_at=moment, id__gte=pk)


def _newer_than(entries: QuerySet[LedgerEntry], moment: datetime.datetime, pk: int) -> QuerySet[LedgerEntry]:
    return entries.filter(created_at__gte=moment).exclude(created_at=moment, id__lte=pk)


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
