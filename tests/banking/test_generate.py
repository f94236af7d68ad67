"""manage.py generate_data (flows/generate.py): a large bank for measuring,
built in bulk but keeping every invariant the torture checker holds."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from accounts.models import Customer
from audit.models import AuditEvent
from banking.models import DepositAccount, LedgerEntry, Transfer
from banking.services import SEOUL
from flows.generate import generate

pytestmark = pytest.mark.django_db


def ledger_sum(account_id) -> int:
    rows = LedgerEntry.objects.filter(account_id=account_id)
    credit = rows.filter(direction="credit").aggregate(s=Sum("amount"))["s"] or 0
    debit = rows.filter(direction="debit").aggregate(s=Sum("amount"))["s"] or 0
    return credit - debit


def test_the_generated_bank_keeps_the_invariants(customer, banks):
    before = snapshot_of(customer)
    last_before = LedgerEntry.objects.order_by("-id").values_list("id", flat=True).first()
    summary = generate(customers=40, ledger_rows=600, deep=2, deep_share=0.3, password="deep-password-1")
    assert (summary.customers, summary.accounts) == (40, 40)
    assert summary.ledger_rows >= 600 and LedgerEntry.objects.filter(id__gt=last_before).count() == summary.ledger_rows
    assert Transfer.objects.count() == summary.transfers > 100
    # Every balance equals its ledger, each row's balance_after is the running balance in time
    # order, no customer account is below zero, and money is conserved.
    for account in DepositAccount.objects.all():
        running = 0
        for entry in account.entries.order_by("created_at", "id"):
            running += entry.amount if entry.direction == "credit" else -entry.amount
            assert entry.balance_after == running, account.number
        assert account.balance == running, account.number
        assert account.kind == "internal" or account.balance >= 0
    assert DepositAccount.objects.aggregate(s=Sum("balance"))["s"] == 0  # the banks' own accounts paid every deposit
    # Each movement is a debit and a credit of one amount; each transfer's movement is in the ledger, within one bank.
    movements = LedgerEntry.objects.values("movement").annotate(n=Count("id"), d=Count("id", filter=Q(direction="debit")))
    assert all((m["n"], m["d"]) == (2, 1) for m in movements)
    assert not Transfer.objects.exclude(movement__in=LedgerEntry.objects.values("movement")).exists()
    assert not Transfer.objects.exclude(to_bank=F("from_account__bank")).exists()
    # The deep customers have long histories and can log in; the others cannot.
    deep = Customer.objects.filter(login_id__in=summary.deep_login_ids)
    assert len(summary.deep_login_ids) == 2 == deep.count()
    assert all(c.check_password("deep-password-1") for c in deep)
    assert all(LedgerEntry.objects.filter(account__owner=c).count() > 40 for c in deep)
    assert (
        not Customer.objects.filter(login_id__startswith="gen")
        .exclude(pk__in=deep)
        .filter(password__startswith="pbkdf2")
        .exists()
    )
    # Nothing dated today (no daily limit used), nothing that existed before touched, one audit row.
    midnight = timezone.now().astimezone(SEOUL).replace(hour=0, minute=0, second=0, microsecond=0)
    assert not LedgerEntry.objects.filter(id__gt=last_before, created_at__gte=midnight).exists()
    assert snapshot_of(customer) == before
    assert AuditEvent.objects.filter(action="data_generated", detail__ledger_rows=summary.ledger_rows).count() == 1


def snapshot_of(customer):
    return sorted(DepositAccount.objects.filter(pk__lte=customer.deposit_accounts.get().pk).values_list("pk", "balance"))


def test_the_command_runs_twice_with_new_customers_and_says_what_it_made(banks):
    out = io.StringIO()
    call_command("generate_data", "--customers", "6", "--ledger-rows", "40", "--deep", "1", stdout=out)
    call_command("generate_data", "--customers", "6", "--ledger-rows", "40", "--deep", "0", stdout=out)
    with pytest.raises(CommandError, match="deep"):
        call_command("generate_data", "--customers", "6", "--ledger-rows", "40", "--deep", "7", stdout=out)
    assert "balances equal ledgers" in out.getvalue() and "deep histories: gen0000000" in out.getvalue()
    assert DepositAccount.objects.filter(kind="customer").count() == 12
    for account in DepositAccount.objects.all():
        assert account.balance == ledger_sum(account.pk)


def test_impossible_sizes_are_refused_and_nothing_is_made(banks):
    for sizes in (
        {"customers": 4, "ledger_rows": 20},
        {"customers": 10, "ledger_rows": 10},
        {"customers": 10, "ledger_rows": 40, "deep": 11},
    ):
        with pytest.raises(ValueError):
            generate(**sizes)
    assert not LedgerEntry.objects.exists()
    assert not DepositAccount.objects.filter(kind="customer").exists()
