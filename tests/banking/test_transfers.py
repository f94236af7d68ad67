"""banking.services.transfer: the one function that moves a customer's money."""

import datetime

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from banking.exceptions import (
    DailyLimitExceeded,
    EvidenceRequired,
    InsufficientFunds,
    InvalidAmount,
    RecipientNotFound,
    SameAccount,
    TransferLimitExceeded,
    WithdrawalAccountInvalid,
)
from banking.models import DepositAccount, LedgerEntry, Transfer
from banking.services import (
    bank_fee_account,
    bank_internal_account,
    customer_hold,
    mask_name,
    recipient_lookup,
    transfer,
    transfer_preflight,
    transfer_requirements,
    transferred_today,
)

# These tests move money without a signature, as the bank's own code may,
# saying so explicitly (the signed path is tests/banking/test_transfer_signed.py).
UNSIGNED = "test"


def balance(account) -> int:
    return DepositAccount.objects.get(pk=account.pk).balance


def snapshot():
    return (
        sorted(DepositAccount.objects.values_list("pk", "balance")),
        LedgerEntry.objects.count(),
        Transfer.objects.count(),
    )


def send(customer, to, amount, **kw):
    kw.setdefault("unsigned_reason", UNSIGNED)
    return transfer(
        customer=customer, from_account=customer.deposit_accounts.get(), to_account=to.deposit_accounts.get(), amount=amount, **kw
    )


def test_same_bank_transfer_moves_money_without_fee_as_two_ledger_rows(customer, younghee):
    record = send(customer, younghee, 300_000, memo_mine="점심값", memo_theirs="홍길동")
    assert (record.amount, record.fee, record.recipient_name) == (300_000, 0, "김*희")
    assert balance(customer.deposit_accounts.get()) == 700_000
    assert balance(younghee.deposit_accounts.get()) == 800_000
    legs = LedgerEntry.objects.filter(movement=record.movement)
    assert sorted((e.direction, e.amount, e.counterparty, e.description) for e in legs) == [
        ("credit", 300_000, "홍길동", "당행이체"),
        ("debit", 300_000, "점심값", "당행이체"),
    ]
    assert AuditEvent.objects.filter(action="transfer_completed", detail__reference=str(record.reference)).count() == 1


def test_other_bank_transfer_credits_the_recipient_and_pays_the_fee_to_the_sending_bank(customer, chulsoo, nuri, settings):
    settings.CERTBANK_TRANSFER_FEE_OTHER_BANK = 500
    fee_account = bank_fee_account(bank=nuri)
    operating = bank_internal_account(bank=nuri)
    operating_before = balance(operating)
    record = send(customer, chulsoo, 50_000)
    assert (record.fee, record.to_bank.code) == (500, "903")
    assert balance(customer.deposit_accounts.get()) == 1_000_000 - 50_500
    assert balance(chulsoo.deposit_accounts.get()) == 50_000
    # The fee is income in its own account, not mixed with the operating
    # account that pays the welcome deposits.
    assert balance(fee_account) == 500
    assert balance(operating) == operating_before
    assert list(fee_account.entries.values_list("description", "amount")) == [("타행이체 수수료", 500)]
    debit_rows = customer.deposit_accounts.get().entries.filter(direction="debit")
    assert sorted(debit_rows.values_list("description", "amount")) == [("타행이체", 50_000), ("타행이체 수수료", 500)]


def test_overdraft_including_the_fee_is_refused_with_the_amounts_and_changes_nothing(customer, chulsoo):
    before = snapshot()
    with pytest.raises(InsufficientFunds) as refused:
        send(customer, chulsoo, 1_000_000)  # 1,000,000 + 500 fee > 1,000,000
    assert "1,000,500원" in refused.value.message and "1,000,000원" in refused.value.message
    assert snapshot() == before


@pytest.mark.parametrize("amount", [0, -1, 1.5, True, "100", None, 100.0])
def test_amount_that_is_not_a_positive_integer_is_refused(customer, younghee, amount):
    before = snapshot()
    with pytest.raises(InvalidAmount):
        send(customer, younghee, amount)
    assert snapshot() == before


def test_transfer_without_evidence_or_an_explicit_unsigned_reason_is_refused(customer, younghee):
    # SECURITY: forgetting the signature is not a way to pay; only a caller
    # that says why (seeding, the benchmark) moves money unsigned.
    before = snapshot()
    for reason in ("", "   "):
        with pytest.raises(EvidenceRequired) as refused:
            transfer(
                customer=customer,
                from_account=customer.deposit_accounts.get(),
                to_account=younghee.deposit_accounts.get(),
                amount=1_000,
                unsigned_reason=reason,
            )
        assert "전자서명" in refused.value.message
    assert snapshot() == before
    record = send(customer, younghee, 1_000, unsigned_reason="seed")
    assert record.signed is False
    event = AuditEvent.objects.get(action="transfer_completed")
    assert event.detail["signed"] is False and event.detail["unsigned_reason"] == "seed"


def test_each_bank_has_an_operating_and_a_fee_income_account_created_once(banks):
    from flows import demo

    for bank in banks.values():
        operating, fees = bank_internal_account(bank=bank), bank_fee_account(bank=bank)
        assert operating.pk != fees.pk and operating.kind == fees.kind == DepositAccount.Kind.INTERNAL
        assert (operating.product_name, fees.product_name) == ("본점 운영계정", "타행이체 수수료 수입")
        assert fees.number.startswith(bank.code + "99")
    demo.seed_banks()  # idempotent
    assert DepositAccount.objects.filter(kind=DepositAccount.Kind.INTERNAL).count() == 2 * len(banks)


def test_transfer_to_the_same_account_is_refused(customer):
    account = customer.deposit_accounts.get()
    with pytest.raises(SameAccount):
        transfer(customer=customer, from_account=account, to_account=account, amount=1, unsigned_reason=UNSIGNED)


def test_withdrawing_from_someone_elses_account_is_refused(customer, younghee):
    # SECURITY: a crafted from_account (younghee's) cannot be debited by 홍길동.
    before = snapshot()
    with pytest.raises(WithdrawalAccountInvalid):
        transfer(
            customer=customer,
            from_account=younghee.deposit_accounts.get(),
            to_account=customer.deposit_accounts.get(),
            amount=1_000,
            unsigned_reason=UNSIGNED,
        )
    assert snapshot() == before


def test_paying_into_a_banks_internal_account_is_refused(customer, nuri):
    with pytest.raises(RecipientNotFound):
        transfer(
            customer=customer,
            from_account=customer.deposit_accounts.get(),
            to_account=bank_internal_account(bank=nuri),
            amount=1,
            unsigned_reason=UNSIGNED,
        )
    for internal in (bank_internal_account(bank=nuri), bank_fee_account(bank=nuri)):
        with pytest.raises(RecipientNotFound):
            recipient_lookup(bank=nuri, number=internal.number)


def test_recipient_lookup_finds_the_account_by_bank_and_number_and_refuses_others(younghee, nuri, garam):
    account = younghee.deposit_accounts.get()
    assert recipient_lookup(bank=nuri, number=account.display_number) == account
    with pytest.raises(RecipientNotFound):
        recipient_lookup(bank=garam, number=account.number)  # right number, wrong bank
    with pytest.raises(RecipientNotFound):
        recipient_lookup(bank=nuri, number="9011099999999")
    with pytest.raises(RecipientNotFound):
        recipient_lookup(bank=nuri, number="")


@pytest.mark.parametrize(("name", "masked"), [("홍길동", "홍*동"), ("이철", "이*"), ("남궁민수", "남**수"), ("김", "*")])
def test_recipient_name_is_masked(name, masked):
    assert mask_name(name) == masked


def test_per_transfer_limit_without_otp_is_the_lower_grade(rich_customer, younghee):
    before = snapshot()
    with pytest.raises(TransferLimitExceeded) as refused:
        send(rich_customer, younghee, 10_000_001)
    assert refused.value.message == "1회 이체한도를 초과했습니다. 한 번에 10,000,000원까지 이체할 수 있습니다."
    assert snapshot() == before
    send(rich_customer, younghee, 10_000_000)


def test_daily_limit_says_how_much_is_left_today(rich_customer, younghee):
    for _ in range(4):
        send(rich_customer, younghee, 10_000_000)
    send(rich_customer, younghee, 7_000_000)
    before = snapshot()
    with pytest.raises(DailyLimitExceeded) as refused:
        send(rich_customer, younghee, 3_000_001)
    assert refused.value.message == "1일 이체한도를 초과했습니다. 오늘 남은 한도는 3,000,000원입니다."
    assert snapshot() == before
    send(rich_customer, younghee, 3_000_000)
    assert transferred_today(customer=rich_customer) == 50_000_000


def test_otp_holders_have_the_higher_grade(rich_customer, younghee):
    TOTPDevice.objects.create(user=rich_customer, name="OTP", confirmed=True)
    send(rich_customer, younghee, 100_000_000)
    with pytest.raises(TransferLimitExceeded) as refused:
        send(rich_customer, younghee, 100_000_001)
    assert "100,000,000원" in refused.value.message


def test_daily_limit_restarts_at_midnight_in_seoul(rich_customer, younghee):
    # 23:50 KST on 1 May is 14:50 UTC; 00:10 KST on 2 May is 15:10 UTC.
    with time_machine.travel(datetime.datetime(2026, 5, 1, 14, 50, tzinfo=datetime.UTC), tick=False):
        for _ in range(5):
            send(rich_customer, younghee, 10_000_000)
        with pytest.raises(DailyLimitExceeded):
            send(rich_customer, younghee, 1)
    with time_machine.travel(datetime.datetime(2026, 5, 1, 15, 10, tzinfo=datetime.UTC), tick=False):
        assert transferred_today(customer=rich_customer) == 0
        send(rich_customer, younghee, 10_000_000)


def test_preflight_refuses_what_the_transfer_would_refuse_without_moving_money(rich_customer, younghee, customer):
    before = snapshot()
    with pytest.raises(TransferLimitExceeded):
        transfer_preflight(
            customer=rich_customer,
            from_account=rich_customer.deposit_accounts.get(),
            to_account=younghee.deposit_accounts.get(),
            amount=10_000_001,
        )
    with pytest.raises(WithdrawalAccountInvalid):
        transfer_preflight(
            customer=customer,
            from_account=younghee.deposit_accounts.get(),
            to_account=customer.deposit_accounts.get(),
            amount=1,
        )
    assert snapshot() == before


def test_otp_and_extra_sms_requirements(customer, rich_customer, settings):
    settings.CERTBANK_TRANSFER_OTP_THRESHOLD = 1_000_000
    settings.CERTBANK_TRANSFER_SMS_DAILY_THRESHOLD = 3_000_000
    assert transfer_requirements(customer=customer, amount=2_000_000, device_token="x").otp is False  # no OTP device
    TOTPDevice.objects.create(user=rich_customer, name="OTP", confirmed=True)
    assert transfer_requirements(customer=rich_customer, amount=1_000_000, device_token="x").otp is False
    assert transfer_requirements(customer=rich_customer, amount=1_000_001, device_token="x").otp is True
    assert transfer_requirements(customer=rich_customer, amount=2_999_999, device_token="x").sms is False
    assert transfer_requirements(customer=rich_customer, amount=3_000_000, device_token="x").sms is True


def test_database_refuses_a_transfer_row_without_a_positive_amount_or_with_a_negative_fee(customer, younghee):
    record = send(customer, younghee, 1_000)
    for field, value in (("amount", 0), ("fee", -1)):
        with pytest.raises(IntegrityError), transaction.atomic():
            Transfer.objects.filter(pk=record.pk).update(**{field: value})


def test_money_is_conserved(customer, younghee, chulsoo):
    send(customer, younghee, 10_000)
    send(younghee, chulsoo, 20_000)
    send(chulsoo, customer, 5_000)
    assert DepositAccount.objects.aggregate(s=Sum("balance"))["s"] == 0


def test_a_transfer_under_the_callers_hold_reads_each_rule_once(customer, younghee):
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        hold = customer_hold(customer=customer)
        assert hold.requirements(amount=1_000, device_token="").otp is False
        send(customer, younghee, 1_000, hold=hold)
    sql = [q["sql"] for q in queries.captured_queries]
    assert sum('SUM("banking_transfer"."amount")' in s for s in sql) == 1, sql
    assert sum("otp_totp_totpdevice" in s for s in sql) == 1, sql
    assert sum(s.startswith('SELECT "accounts_customer"') for s in sql) == 1, sql  # the customer is locked once
    assert hold.today == 1_000  # what the hold's rules see next includes this transfer
    assert balance(younghee.deposit_accounts.get()) == 501_000


def test_a_hold_of_another_customer_is_refused_and_moves_nothing(customer, younghee):
    before = snapshot()
    with transaction.atomic():
        hold = customer_hold(customer=younghee)
        with pytest.raises(transaction.TransactionManagementError):
            send(customer, younghee, 1_000, hold=hold)
    assert snapshot() == before


def test_a_hold_from_a_rolled_back_savepoint_is_refused(customer, younghee):
    before = snapshot()
    with transaction.atomic():
        try:
            with transaction.atomic():
                hold = customer_hold(customer=customer)
                raise RuntimeError("the savepoint, and the lock taken in it, are rolled back")
        except RuntimeError:
            pass
        with pytest.raises(transaction.TransactionManagementError):
            send(customer, younghee, 1_000, hold=hold)
    assert snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_a_hold_is_refused_once_its_transaction_has_ended_and_needs_one(customer, younghee):
    with pytest.raises(transaction.TransactionManagementError):
        customer_hold(customer=customer)  # no transaction: a lock that would end at once
    with transaction.atomic():
        hold = customer_hold(customer=customer)
    before = snapshot()
    with transaction.atomic(), pytest.raises(transaction.TransactionManagementError):
        send(customer, younghee, 1_000, hold=hold)
    assert snapshot() == before
