"""The ledger (banking.services.ledger_move) and money in templates (banking.templatetags.money)."""

import uuid

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, Sum
from django.template import Context, Template

from audit.models import AuditEvent
from banking.exceptions import InsufficientFunds, InvalidAmount
from banking.models import DepositAccount, LedgerEntry
from banking.money import korean_number
from banking.services import bank_internal_account, ledger_move
from banking.templatetags.money import won, won_amount, won_korean


@pytest.fixture
def hong(customer):
    return customer.deposit_accounts.get()


@pytest.fixture
def younghee(make_customer):
    return make_customer(
        login_id="younghee", name="김영희", rrn="920315-2345674", phone="01023456789", deposit=500_000
    ).deposit_accounts.get()


@pytest.fixture
def nuri_internal(nuri):
    return bank_internal_account(bank=nuri)


def move(debit, credit, amount):
    return ledger_move(debit_account=debit, credit_account=credit, amount=amount, description="테스트")


def balance(account) -> int:
    return DepositAccount.objects.get(pk=account.pk).balance


def snapshot():
    return (
        sorted(DepositAccount.objects.values_list("pk", "balance")),
        LedgerEntry.objects.count(),
        AuditEvent.objects.filter(action="money_moved").count(),
    )


def assert_ledger_adds_up():
    """Each customer balance is its credits minus its debits; all money sums to zero."""
    for account in DepositAccount.objects.all():
        credits = account.entries.filter(direction="credit").aggregate(s=Sum("amount"))["s"] or 0
        debits = account.entries.filter(direction="debit").aggregate(s=Sum("amount"))["s"] or 0
        assert account.balance == credits - debits, account
        latest = account.entries.order_by("-created_at", "-id").first()
        if latest is not None:
            assert latest.balance_after == account.balance, account
        if account.kind == DepositAccount.Kind.CUSTOMER:
            assert account.balance >= 0
    # Money is only moved, never made: the banks' internal accounts carry the other side.
    assert DepositAccount.objects.aggregate(s=Sum("balance"))["s"] == 0


def test_welcome_deposit_is_two_entries_paid_by_the_bank(hong, nuri_internal):
    assert hong.balance == 1_000_000
    assert balance(nuri_internal) == -1_000_000
    entries = LedgerEntry.objects.order_by("direction")
    assert [(e.account_id, e.direction, e.amount) for e in entries] == [
        (hong.pk, "credit", 1_000_000),
        (nuri_internal.pk, "debit", 1_000_000),
    ]
    assert_ledger_adds_up()


def test_a_movement_is_one_debit_and_one_credit_with_a_shared_id(hong, younghee):
    movement = move(hong, younghee, 300_000)
    legs = LedgerEntry.objects.filter(movement=movement)
    assert isinstance(movement, uuid.UUID)
    assert sorted((e.account_id, e.direction, e.amount, e.balance_after) for e in legs) == sorted(
        [(hong.pk, "debit", 300_000, 700_000), (younghee.pk, "credit", 300_000, 800_000)]
    )
    assert balance(hong) == 700_000
    assert balance(younghee) == 800_000
    audit = AuditEvent.objects.get(action="money_moved", detail__movement=str(movement))
    assert audit.detail["amount"] == 300_000


def test_balances_equal_the_sum_of_their_entries_after_many_movements(hong, younghee, nuri_internal, garam, make_customer):
    gildong = make_customer(bank_code="902", login_id="gildong", deposit=0).deposit_accounts.get()
    garam_internal = bank_internal_account(bank=garam)
    move(hong, younghee, 300_000)
    move(younghee, hong, 50_000)
    move(nuri_internal, hong, 1_000)  # a refund paid by the bank
    move(hong, nuri_internal, 500)  # a fee
    move(younghee, gildong, 123_456)  # across banks
    move(gildong, garam_internal, 3_456)
    with pytest.raises(InsufficientFunds):
        move(hong, younghee, balance(hong) + 1)
    with pytest.raises(InsufficientFunds):
        move(gildong, hong, 120_001)
    for bad in (0, -5, 1.5, True, "100", None, 10**6 + 0.0):
        with pytest.raises(InvalidAmount):
            move(hong, younghee, bad)
    move(gildong, hong, 120_000)  # the whole balance is allowed

    assert balance(hong) == 1_000_000 - 300_000 + 50_000 + 1_000 - 500 + 120_000
    assert balance(younghee) == 500_000 + 300_000 - 50_000 - 123_456
    assert balance(gildong) == 0
    assert LedgerEntry.objects.count() == 2 * (2 + 7)  # two welcome deposits (gildong got none) and seven movements
    assert_ledger_adds_up()


def test_overdraft_is_refused_and_changes_nothing(hong, younghee):
    before = snapshot()
    with pytest.raises(InsufficientFunds):
        move(hong, younghee, 1_000_001)
    assert snapshot() == before


@pytest.mark.parametrize("amount", [0, -5, 1.5, True, False, "100", None, 100.0])
def test_amount_that_is_not_a_positive_integer_is_refused_and_changes_nothing(hong, younghee, amount):
    before = snapshot()
    with pytest.raises(InvalidAmount):
        move(hong, younghee, amount)
    assert snapshot() == before


def test_moving_money_from_an_account_to_itself_is_refused(hong):
    before = snapshot()
    with pytest.raises(InvalidAmount):
        move(hong, hong, 1_000)
    assert snapshot() == before


def test_stale_balance_in_memory_does_not_allow_an_overdraft(hong, younghee):
    # The check reads the locked row, not the caller's copy of the account.
    stale = DepositAccount.objects.get(pk=hong.pk)
    move(hong, younghee, 900_000)
    assert stale.balance == 1_000_000
    with pytest.raises(InsufficientFunds):
        move(stale, younghee, 200_000)
    assert balance(hong) == 100_000
    assert_ledger_adds_up()


def test_internal_account_may_run_negative(nuri_internal, hong):
    move(nuri_internal, hong, 5_000_000)
    assert balance(nuri_internal) == -6_000_000
    assert_ledger_adds_up()


def test_account_with_entries_cannot_be_deleted(hong):
    with pytest.raises(ProtectedError), transaction.atomic():
        hong.delete()
    assert DepositAccount.objects.filter(pk=hong.pk).exists()
    assert hong.entries.count() == 1


def test_customer_with_an_account_cannot_be_deleted(customer):
    with pytest.raises(ProtectedError), transaction.atomic():
        customer.delete()
    assert type(customer).objects.filter(pk=customer.pk).exists()


def test_database_refuses_a_negative_customer_balance(hong):
    with pytest.raises(IntegrityError), transaction.atomic():
        DepositAccount.objects.filter(pk=hong.pk).update(balance=-1)
    assert balance(hong) == 1_000_000


def test_database_allows_a_negative_internal_balance(nuri_internal):
    DepositAccount.objects.filter(pk=nuri_internal.pk).update(balance=-1)
    assert balance(nuri_internal) == -1


@pytest.mark.parametrize("amount", [0, -1])
def test_database_refuses_a_ledger_entry_without_a_positive_amount(hong, amount):
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            account=hong, movement=uuid.uuid4(), direction="credit", amount=amount, balance_after=0, description="x"
        )


def test_database_refuses_a_customer_account_without_an_owner(nuri):
    with pytest.raises(IntegrityError), transaction.atomic():
        DepositAccount.objects.create(bank=nuri, number="9011000000000", product_name="x", kind="customer")


# --- Money in templates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [(1234567, "1,234,567원"), (0, "0원"), (999, "999원"), (-5000, "-5,000원"), ("1000", "1,000원"), (None, ""), ("", "")],
)
def test_won_prints_thousands_separators_and_the_won_sign(value, shown):
    assert won(value) == shown


def test_won_reads_as_krw_on_english_pages():
    from django.utils import translation

    with translation.override("en"):
        assert won(1234567) == "KRW 1,234,567"


def test_won_amount_prints_the_number_only():
    assert won_amount(1234567) == "1,234,567"
    assert won_amount(None) == ""


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (1_000_000, "일백만원"),
        (30_500, "삼만오백원"),
        (100_000_000, "일억원"),
        (10, "일십원"),
        (10_000, "일만원"),
        (100_010_000, "일억일만원"),
        (1_234_567, "일백이십삼만사천오백육십칠원"),
        (123_456_789, "일억이천삼백사십오만육천칠백팔십구원"),
        (1_000_000_000_000, "일조원"),
        (0, "영원"),
        (None, ""),
    ],
)
def test_won_korean_writes_amounts_as_on_a_bank_slip(value, words):
    assert won_korean(value) == words


def test_korean_number_of_a_negative_amount_says_minus():
    assert korean_number(-30_500) == "마이너스 삼만오백"


def test_money_filters_work_in_templates():
    rendered = Template("{% load money %}{{ n|won }} ({{ n|won_korean }})").render(Context({"n": 1_000_000}))
    assert rendered == "1,000,000원 (일백만원)"
