"""Banks, deposit accounts, account PINs and the ledger.

Money moves only through `ledger_post`, over accounts that `accounts_lock`
has locked with SELECT ... FOR UPDATE in primary-key order (so two opposite
movements cannot deadlock), balances changed with F() expressions, and two
ledger rows per movement; `ledger_move` does both for one movement. The sum
of a customer account's entries always equals its balance.
"""

import datetime
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, Case, F, Q, Value, When
from django.utils import timezone

from audit.models import Action, AuditEvent
from audit.services import audit_append, audit_event, audit_record
from banking import accountnumbers
from banking.exceptions import (
    AccountPinInvalid,
    AccountPinLocked,
    InsufficientFunds,
    InvalidAmount,
)
from banking.models import DepositAccount, LedgerEntry
from core.boundary import hold, service
from core.crypto import digests_match, keyed_digest
from core.errors import DomainError
from core.models import Bank

PIN_PURPOSE = "account-pin"
DEMAND_DEPOSIT_NAME = "입출금 자유예금"
FEE_INCOME_NAME = "타행이체 수수료 수입"


def bank_ensure(*, code: str, slug: str, name_ko: str, name_en: str, colour: str, account_grouping: str) -> Bank:
    """Create or update a bank and its internal ledger accounts (idempotent)."""
    with transaction.atomic():
        bank, _created = Bank.objects.update_or_create(
            code=code,
            defaults={
                "slug": slug,
                "name_ko": name_ko,
                "name_en": name_en,
                "colour": colour,
                "account_grouping": account_grouping,
            },
        )
        bank_internal_account(bank=bank)
        bank_fee_account(bank=bank)
    return bank


def _ledger_account_number(*, bank: Bank, serial: int) -> str:
    return accountnumbers.make(bank.code, accountnumbers.PRODUCT_INTERNAL, serial)


def _bank_ledger_account(*, bank: Bank, serial: int, product_name: str) -> DepositAccount:
    number = _ledger_account_number(bank=bank, serial=serial)
    account, _created = DepositAccount.objects.get_or_create(
        number=number,
        defaults={"bank": bank, "kind": DepositAccount.Kind.INTERNAL, "product_name": product_name},
    )
    return account


def bank_internal_account(*, bank: Bank) -> DepositAccount:
    """The bank's operating account (본점 운영계정): it pays the welcome deposits."""
    return _bank_ledger_account(bank=bank, serial=accountnumbers.SERIAL_OPERATING, product_name="본점 운영계정")


def bank_fee_account(*, bank: Bank) -> DepositAccount:
    """The bank's fee income account: 타행이체 fees land here, apart from the
    operating account, so the fees earned can be read off one balance."""
    return _bank_ledger_account(bank=bank, serial=accountnumbers.SERIAL_FEE_INCOME, product_name=FEE_INCOME_NAME)


def _pin_digest(number: str, pin: str) -> str:
    return keyed_digest(f"{number}:{pin}", purpose=PIN_PURPOSE)


def account_open(*, bank: Bank, owner, pin: str, product_name: str = DEMAND_DEPOSIT_NAME, request=None) -> DepositAccount:
    """Open a demand-deposit account with a fresh random number."""
    for _attempt in range(20):
        number = accountnumbers.make(bank.code, accountnumbers.PRODUCT_DEMAND_DEPOSIT, accountnumbers.random_serial())
        try:
            with transaction.atomic():
                account = DepositAccount.objects.create(
                    bank=bank,
                    owner=owner,
                    number=number,
                    product_name=product_name,
                    pin_digest=_pin_digest(number, pin),
                )
                audit_record(action=Action.ACCOUNT_OPENED, customer=owner, bank=bank, request=request, account=number)
                return account
        except IntegrityError:
            continue  # the random number was taken: draw again
    raise RuntimeError("could not draw a free account number")


def _pin_wrong(account_pk: int, request):
    """The kept write of a wrong account PIN: count it; the 5th in a row locks the PIN."""

    def write(error: DomainError) -> DomainError:
        DepositAccount.objects.filter(pk=account_pk).update(pin_failed_count=F("pin_failed_count") + 1)
        account = DepositAccount.objects.select_related("owner", "bank").get(pk=account_pk)
        locks = account.pin_failed_count >= settings.CERTBANK_PIN_MAX_FAILURES
        if locks:
            DepositAccount.objects.filter(pk=account_pk, pin_locked_at__isnull=True).update(pin_locked_at=timezone.now())
        audit_record(
            action=Action.ACCOUNT_PIN_LOCKED if locks else Action.ACCOUNT_PIN_FAILED,
            customer=account.owner,
            bank=account.bank,
            request=request,
            account=account.number,
            failures=account.pin_failed_count,
        )
        if locks:
            return AccountPinLocked()
        return AccountPinInvalid(settings.CERTBANK_PIN_MAX_FAILURES - account.pin_failed_count)

    return write


@service
def account_pin_verify(*, account: DepositAccount, pin: str, request=None) -> None:
    """Check an account's 4-digit PIN; 5 wrong in a row lock it.

    SECURITY: 10,000 PINs: the account row is held, so parallel guesses are
    each counted and none is tried after the fifth; the count is kept although
    the request is refused (core.boundary).
    """
    locked = hold(DepositAccount.objects.filter(pk=account.pk))[0]
    if locked.pin_locked_at is not None:
        raise AccountPinLocked()
    if not digests_match(locked.pin_digest, _pin_digest(locked.number, pin)):
        raise AccountPinInvalid().keep(_pin_wrong(locked.pk, request))
    if locked.pin_failed_count:
        DepositAccount.objects.filter(pk=locked.pk).update(pin_failed_count=0)


def account_pin_matches(*, account: DepositAccount, pin: str) -> bool:
    """Whether `pin` is the account's PIN, counting nothing: for checks that
    keep their own count (a logged-out 본인확인 backs off instead of locking,
    flows.stepup). A locked PIN matches nothing."""
    return account.pin_locked_at is None and digests_match(account.pin_digest, _pin_digest(account.number, pin))


def account_pin_unlock(*, account: DepositAccount) -> None:
    DepositAccount.objects.filter(pk=account.pk).update(pin_failed_count=0, pin_locked_at=None)


@dataclass(frozen=True)
class Leg:
    """One movement: `amount` won from `debit` to `credit`, two ledger rows."""

    debit: DepositAccount
    credit: DepositAccount
    amount: int
    description: str
    debit_counterparty: str = ""
    credit_counterparty: str = ""


def accounts_lock(*, pks: list[int], fee_bank: Bank | None = None) -> tuple[dict[int, DepositAccount], DepositAccount | None]:
    """Lock the accounts `pks` (and `fee_bank`'s fee income account) in
    primary-key order, in one statement, in the caller's transaction.
    Returns them by primary key, with their bank and owner, and the fee account.

    FOR NO KEY UPDATE: excludes the other movements, not the foreign-key
    checks of rows that merely reference these (an audit row of the owner, a
    favourite naming the account), which may commit meanwhile."""
    fee_number = _ledger_account_number(bank=fee_bank, serial=accountnumbers.SERIAL_FEE_INCOME) if fee_bank else None
    wanted = Q(pk__in=pks)
    if fee_number:
        wanted |= Q(number=fee_number)
    rows = DepositAccount.objects.select_for_update(of=("self",), no_key=True).select_related("bank", "owner")
    locked = {a.pk: a for a in rows.filter(wanted).order_by("pk")}
    fee_account = next((a for a in locked.values() if a.number == fee_number), None) if fee_number else None
    if fee_bank is not None and fee_account is None:
        # A bank from before fee accounts existed: create it (bank_ensure does for every bank now), then lock it.
        fee_account = rows.get(pk=bank_fee_account(bank=fee_bank).pk)
        locked[fee_account.pk] = fee_account
    return locked, fee_account


def ledger_post(
    *, legs: list[Leg], now: datetime.datetime | None = None, audit_rows: list[AuditEvent] | None = None, request=None
) -> list[uuid.UUID]:
    """Write `legs` between accounts that the caller has locked in this
    transaction (accounts_lock) and read their balances under that lock:
    one UPDATE for every balance, one INSERT for every ledger row, and one
    for an audit row per movement, unless the caller passes `audit_rows` to
    take them and write them with its own (audit_append). Returns the
    movements' ids, in order.

    The caller has made its checks; this one remains: a customer account
    never goes below zero (nor can it: a CheckConstraint holds it too)."""
    now = now or timezone.now()
    balances = {}
    for leg in legs:
        # SECURITY: integers only (no floats, no bools), strictly positive, between two accounts.
        if type(leg.amount) is not int or leg.amount <= 0 or leg.debit.pk == leg.credit.pk:
            raise InvalidAmount()
        balances.setdefault(leg.debit.pk, leg.debit.balance)
        balances.setdefault(leg.credit.pk, leg.credit.balance)
    opening = dict(balances)
    entries, movements = [], []
    for leg in legs:
        if leg.debit.kind == DepositAccount.Kind.CUSTOMER and balances[leg.debit.pk] < leg.amount:
            raise InsufficientFunds()
        balances[leg.debit.pk] -= leg.amount
        balances[leg.credit.pk] += leg.amount
        movement = uuid.uuid4()
        movements.append(movement)
        for account, direction, counterparty in (
            (leg.debit, LedgerEntry.Direction.DEBIT, leg.debit_counterparty),
            (leg.credit, LedgerEntry.Direction.CREDIT, leg.credit_counterparty),
        ):
            entries.append(
                LedgerEntry(
                    account=account,
                    movement=movement,
                    direction=direction,
                    amount=leg.amount,
                    balance_after=balances[account.pk],
                    description=leg.description,
                    counterparty=counterparty,
                    created_at=now,
                )
            )
    # Relative to the stored balance (F), as a last guard should a caller's rows be stale.
    change = Case(*[When(pk=pk, then=Value(balances[pk] - opening[pk])) for pk in balances], output_field=BigIntegerField())
    DepositAccount.objects.filter(pk__in=list(balances)).update(balance=F("balance") + change)
    LedgerEntry.objects.bulk_create(entries)
    events = [
        audit_event(
            action=Action.MONEY_MOVED,
            customer=leg.debit.owner if leg.debit.owner_id else leg.credit.owner,
            bank=leg.credit.bank,
            request=request,
            movement=str(movement),
            debit=leg.debit.number,
            debit_bank=leg.debit.bank.code,
            credit=leg.credit.number,
            amount=leg.amount,
        )
        for leg, movement in zip(legs, movements, strict=True)
    ]
    if audit_rows is None:
        audit_append(events)
    else:
        audit_rows.extend(events)
    return movements


def ledger_move(
    *,
    debit_account: DepositAccount,
    credit_account: DepositAccount,
    amount: int,
    description: str,
    debit_counterparty: str = "",
    credit_counterparty: str = "",
    request=None,
) -> uuid.UUID:
    """Move `amount` won from one account to another as two ledger rows, in
    one transaction that locks both accounts."""
    # SECURITY: integers only (no floats, no bools), strictly positive.
    if type(amount) is not int or amount <= 0:
        raise InvalidAmount()
    if debit_account.pk == credit_account.pk:
        raise InvalidAmount()
    with transaction.atomic():
        locked, _fee = accounts_lock(pks=[debit_account.pk, credit_account.pk])
        leg = Leg(
            debit=locked[debit_account.pk],
            credit=locked[credit_account.pk],
            amount=amount,
            description=description,
            debit_counterparty=debit_counterparty,
            credit_counterparty=credit_counterparty,
        )
        return ledger_post(legs=[leg], request=request)[0]


def welcome_deposit(*, account: DepositAccount, amount: int, request=None) -> uuid.UUID:
    """The demo opening deposit (신규가입 축하금), paid by the bank."""
    return ledger_move(
        debit_account=bank_internal_account(bank=account.bank),
        credit_account=account,
        amount=amount,
        description="신규가입 축하금",
        debit_counterparty=account.owner.name,
        credit_counterparty=account.bank.name_ko,
        request=request,
    )
