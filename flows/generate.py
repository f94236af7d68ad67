"""A large bank for measuring (issue 13): `manage.py generate_data` builds
100,000 customers with an account each and 1,000,000 ledger rows in
minutes, so that history, overview and CSV can be timed at the size a real
branch network reaches.

What it builds keeps the invariants the torture checker holds:
- every movement is two ledger rows, debit and credit of one amount;
- every customer account opens with a deposit paid by its bank's data-load
  account (an internal account of its own, so money is conserved), and
  never goes below zero (the database refuses it too);
- customer-to-customer movements are completed 당행 transfers, between
  generated customers of one bank (no fee account is touched);
- every balance equals the sum of its ledger and each row's balance_after
  is the running balance, in time order: it touches no account that existed
  before, whose history would then need rewriting. One query at the end
  checks the balances (the command fails otherwise).

It is the bank's own bulk load: no signatures (the transfers carry none, as
transfer() allows only for the bank's own movements), no audit row per
movement (one row records the load). The first `deep` customers take part
in `deep_share` of the transfers, so their histories are long (what a
history page is measured on); given `password`, they can log in with it
(the others cannot log in). Its movements end before today (Asia/Seoul), so
no one's daily limit is used.
"""

import datetime
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import BigIntegerField, Case, F, Sum, When
from django.utils import timezone

from accounts.models import Customer
from audit.models import Action
from audit.services import audit_record
from banking import accountnumbers
from banking.models import DepositAccount, LedgerEntry, Transfer
from banking.services import DEMAND_DEPOSIT_NAME, SEOUL, mask_name
from flows.demo import seed_banks

LOGIN_PREFIX = "gen"
FAMILY = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = [
    "민준",
    "서연",
    "도윤",
    "지우",
    "하준",
    "서윤",
    "시우",
    "지민",
    "주원",
    "하은",
    "지호",
    "수아",
    "예준",
    "지유",
    "현우",
    "채원",
]
BATCH = 10_000


@dataclass
class Summary:
    customers: int
    accounts: int
    ledger_rows: int
    transfers: int
    balances_checked: int
    deep_login_ids: list[str]


@dataclass
class _Account:
    pk: int
    bank_id: int
    owner_id: int | None
    name: str
    kind: str
    balance: int
    login_id: str = ""


def generate(
    *,
    customers: int,
    ledger_rows: int,
    seed: int = 13,
    deep: int = 0,
    deep_share: float = 0.2,
    password: str = "",
    days: int = 90,
    progress: Callable[[str], None] = lambda _line: None,
) -> Summary:
    """Build the bank (the module docstring)."""
    if customers < 2 * 3 or ledger_rows < 2 * customers or not 0 <= deep <= customers:
        raise ValueError("at least 6 customers, 2 ledger rows per customer for the opening deposits, deep <= customers")
    rng = random.Random(seed)  # noqa: S311 - a workload, not a secret
    banks = list(seed_banks().values())
    # Before today in Seoul, spread evenly over `days`.
    end = timezone.now().astimezone(SEOUL).replace(hour=0, minute=0, second=0, microsecond=0) - datetime.timedelta(minutes=1)
    start = end - datetime.timedelta(days=days)
    with transaction.atomic():
        funds = {bank.pk: _data_load_account(bank) for bank in banks}
        first = Customer.objects.filter(login_id__startswith=LOGIN_PREFIX).count()
        made = _customers_and_accounts(
            banks=banks, count=customers, first=first, when=start, rng=rng, deep=deep, password=password, progress=progress
        )
        accounts = list(made.values())
        writer = _Writer(progress=progress)
        step = (end - start) / (ledger_rows // 2 + 1)
        clock = [start]

        def tick() -> datetime.datetime:
            clock[0] += step
            return clock[0]

        for account in accounts:
            writer.move(funds[account.bank_id], account, rng.randrange(500_000, 30_000_000, 10_000), "신규 입금", tick())
        by_bank: dict[int, list[_Account]] = {}
        for account in accounts:
            by_bank.setdefault(account.bank_id, []).append(account)
        deep_ones = accounts[:deep]
        while writer.rows < ledger_rows:
            sender = rng.choice(deep_ones) if deep_ones and rng.random() < deep_share else rng.choice(accounts)
            same_bank = by_bank[sender.bank_id]
            recipient = rng.choice(deep_ones) if deep_ones and rng.random() < deep_share / 2 else rng.choice(same_bank)
            amount = rng.choice((5_000, 10_000, 23_000, 50_000, 120_000, 300_000, 1_250_000))
            if recipient is sender or recipient.bank_id != sender.bank_id or sender.balance < amount:
                continue
            at = tick()
            movement = writer.move(sender, recipient, amount, "당행이체", at)
            writer.transfer(sender, recipient, amount, movement, at)
        writer.flush()
        _balances_write([*accounts, *funds.values()])
        checked = _balances_check([a.pk for a in (*accounts, *funds.values())])
        audit_record(
            action=Action.DATA_GENERATED,
            customers=len(made),
            ledger_rows=writer.rows,
            transfers=writer.transfers,
            seed=seed,
        )
    return Summary(len(made), len(made), writer.rows, writer.transfers, checked, [a.login_id for a in deep_ones])


def _data_load_account(bank) -> "_Account":
    """The bank's internal account that pays the generated opening deposits (made once)."""
    number = accountnumbers.make(bank.code, accountnumbers.PRODUCT_INTERNAL, accountnumbers.SERIAL_DATA_LOAD)
    account, _created = DepositAccount.objects.select_for_update().get_or_create(
        number=number, defaults={"bank": bank, "kind": DepositAccount.Kind.INTERNAL, "product_name": "측정용 데이터 자금"}
    )
    return _Account(account.pk, bank.pk, None, bank.name_ko, account.kind, account.balance)


def _customers_and_accounts(
    *, banks, count: int, first: int, when, rng, deep: int, password: str, progress
) -> dict[int, "_Account"]:
    unusable = make_password(None)
    usable = make_password(password) if password else unusable  # hashed once, shared by the deep customers
    taken = set(DepositAccount.objects.filter(bank__in=banks).values_list("number", flat=True))
    made: dict[int, _Account] = {}
    for offset in range(0, count, BATCH):
        people = []
        for index in range(first + offset, first + min(offset + BATCH, count)):
            bank = banks[index % len(banks)]
            login_id = f"{LOGIN_PREFIX}{index:07d}"
            people.append(
                Customer(
                    username=f"{bank.code}:{login_id}",
                    bank=bank,
                    login_id=login_id,
                    name=rng.choice(FAMILY) + rng.choice(GIVEN),
                    password=usable if index - first < deep else unusable,
                    date_joined=when,
                    signup_completed_at=when,
                )
            )
        Customer.objects.bulk_create(people)
        if any(person.pk is None for person in people):  # a database that does not return new keys
            by_name = dict(Customer.objects.filter(username__in=[p.username for p in people]).values_list("username", "pk"))
            for person in people:
                person.pk = by_name[person.username]
        accounts = []
        for person in people:
            while True:
                number = accountnumbers.make(
                    person.bank.code, accountnumbers.PRODUCT_DEMAND_DEPOSIT, accountnumbers.random_serial()
                )
                if number not in taken:
                    taken.add(number)
                    break
            accounts.append(
                DepositAccount(bank=person.bank, owner=person, number=number, product_name=DEMAND_DEPOSIT_NAME, opened_at=when)
            )
        DepositAccount.objects.bulk_create(accounts)
        if any(account.pk is None for account in accounts):
            by_number = dict(DepositAccount.objects.filter(number__in=[a.number for a in accounts]).values_list("number", "pk"))
            for account in accounts:
                account.pk = by_number[account.number]
        for person, account in zip(people, accounts, strict=True):
            made[account.pk] = _Account(
                account.pk, person.bank_id, person.pk, person.name, DepositAccount.Kind.CUSTOMER, 0, person.login_id
            )
        progress(f"  {len(made):,} customers with accounts")
    return made


LEDGER_COLUMNS = ("account_id", "movement", "direction", "amount", "balance_after", "description", "counterparty", "created_at")
TRANSFER_COLUMNS = (
    "reference",
    "customer_id",
    "from_account_id",
    "to_account_id",
    "to_bank_id",
    "amount",
    "fee",
    "memo_mine",
    "memo_theirs",
    "recipient_name",
    "status",
    "movement",
    "created_at",
    "signed_bytes",
    "signature",
    "signature_scheme",
)


class _Writer:
    """Ledger and transfer rows as tuples, written BATCH at a time: by COPY on
    PostgreSQL (the ORM's model instances cost more than the rows), by
    bulk_create elsewhere."""

    def __init__(self, *, progress):
        self.progress = progress
        self.entries: list[tuple] = []
        self.pending: list[tuple] = []
        self.rows = 0
        self.transfers = 0
        self._report = 100_000

    def move(self, debit: _Account, credit: _Account, amount: int, description: str, at):
        movement = uuid.uuid4()
        debit.balance -= amount
        credit.balance += amount
        if debit.kind == DepositAccount.Kind.CUSTOMER and debit.balance < 0:
            raise AssertionError("a generated movement overdrew a customer account")
        self.entries.append((debit.pk, movement, "debit", amount, debit.balance, description, credit.name, at))
        self.entries.append((credit.pk, movement, "credit", amount, credit.balance, description, debit.name, at))
        self.rows += 2
        if len(self.entries) >= BATCH:
            self.flush()
        return movement

    def transfer(self, sender: _Account, recipient: _Account, amount: int, movement, at):
        reference = uuid.uuid4()
        name = mask_name(recipient.name)
        row = (reference, sender.owner_id, sender.pk, recipient.pk, recipient.bank_id, amount, 0, "", "", name)
        self.pending.append((*row, Transfer.Status.COMPLETED.value, movement, at, b"", b"", ""))
        self.transfers += 1

    def flush(self):
        _insert(LedgerEntry, LEDGER_COLUMNS, self.entries)
        _insert(Transfer, TRANSFER_COLUMNS, self.pending)
        self.entries, self.pending = [], []
        if self.rows >= self._report:
            self.progress(f"  {self.rows:,} ledger rows, {self.transfers:,} transfers")
            self._report += 100_000


def _insert(model, columns: tuple[str, ...], rows: list[tuple]) -> None:
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**dict(zip(columns, row, strict=True))) for row in rows])
        return
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _balances_write(accounts: list[_Account]) -> None:
    for offset in range(0, len(accounts), 1_000):
        chunk = accounts[offset : offset + 1_000]
        DepositAccount.objects.filter(pk__in=[a.pk for a in chunk]).update(
            balance=Case(*[When(pk=a.pk, then=a.balance) for a in chunk], output_field=BigIntegerField())
        )


def _balances_check(pks: list[int]) -> int:
    """How many of these accounts were checked; raises unless each balance equals its ledger."""
    signed = Case(When(direction=LedgerEntry.Direction.CREDIT, then=F("amount")), default=-F("amount"))
    wrong = 0
    for offset in range(0, len(pks), 20_000):
        chunk = pks[offset : offset + 20_000]
        sums = dict(
            LedgerEntry.objects.filter(account_id__in=chunk)
            .values("account_id")
            .annotate(total=Sum(signed))
            .values_list("account_id", "total")
        )
        for pk, balance in DepositAccount.objects.filter(pk__in=chunk).values_list("pk", "balance"):
            wrong += balance != (sums.get(pk) or 0)
    if wrong:
        raise AssertionError(f"{wrong} generated accounts' balances differ from their ledgers")
    return len(pks)
