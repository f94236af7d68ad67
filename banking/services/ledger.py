"""Banks, deposit accounts, account PINs and the ledger.

Money moves only through `ledger_move`: one transaction, both accounts
locked with SELECT ... FOR UPDATE in primary-key order (so two opposite
movements cannot deadlock), balances changed with F() expressions, and two
ledger rows per movement. The sum of a customer account's entries always
equals its balance.
"""

import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from audit.models import Action
from audit.services import audit_record
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


def _bank_ledger_account(*, bank: Bank, serial: int, product_name: str) -> DepositAccount:
    number = accountnumbers.make(bank.code, accountnumbers.PRODUCT_INTERNAL, serial)
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
    """Move `amount` won from one account to another as two ledger rows."""
    # SECURITY: integers only (no floats, no bools), strictly positive.
    if type(amount) is not int or amount <= 0:
        raise InvalidAmount()
    if debit_account.pk == credit_account.pk:
        raise InvalidAmount()
    movement = uuid.uuid4()
    now = timezone.now()
    with transaction.atomic():
        ids = sorted([debit_account.pk, credit_account.pk])
        rows = DepositAccount.objects.select_for_update(of=("self",), no_key=True).select_related("bank", "owner")
        locked = {a.pk: a for a in rows.filter(pk__in=ids).order_by("pk")}
        debit, credit = locked[debit_account.pk], locked[credit_account.pk]
        if debit.kind == DepositAccount.Kind.CUSTOMER and debit.balance < amount:
            raise InsufficientFunds()
        DepositAccount.objects.filter(pk=debit.pk).update(balance=F("balance") - amount)
        DepositAccount.objects.filter(pk=credit.pk).update(balance=F("balance") + amount)
        LedgerEntry.objects.bulk_create(
            [
                LedgerEntry(
                    account=debit,
                    movement=movement,
                    direction=LedgerEntry.Direction.DEBIT,
                    amount=amount,
                    balance_after=debit.balance - amount,
                    description=description,
                    counterparty=debit_counterparty,
                    created_at=now,
                ),
                LedgerEntry(
                    account=credit,
                    movement=movement,
                    direction=LedgerEntry.Direction.CREDIT,
                    amount=amount,
                    balance_after=credit.balance + amount,
                    description=description,
                    counterparty=credit_counterparty,
                    created_at=now,
                ),
            ]
        )
        audit_record(
            action=Action.MONEY_MOVED,
            customer=debit.owner if debit.owner_id else credit.owner,
            bank=credit.bank,
            request=request,
            movement=str(movement),
            debit=debit.number,
            debit_bank=debit.bank.code,
            credit=credit.number,
            amount=amount,
        )
    return movement


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
