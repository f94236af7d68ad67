"""Many threads transfer money at once, through banking.services.transfer.

Each thread has its own database connection, as a web worker would (the
test settings put SQLite in a file so that threads share it; CI runs the
same test on PostgreSQL). Afterwards no money was made or lost: the total
is unchanged except the fees, which sit in the banks' fee income accounts; no
customer balance is negative; every balance equals the sum of its ledger
rows; and there is exactly one Transfer per successful call.
"""

import random
import threading

import pytest
from django.db import connection
from django.db.models import Sum

from audit.models import AuditEvent
from banking.exceptions import DailyLimitExceeded, InsufficientFunds, TransferLimitExceeded
from banking.models import DepositAccount, LedgerEntry, Transfer
from banking.services import bank_fee_account, transfer
from core.errors import DomainError
from tests.banking.conftest import rrn

ACCOUNTS_PER_BANK = 4


THREADS = 8
TRANSFERS_PER_THREAD = 25


# Each bank's customers start with these balances: the small ones make
# overdraft attempts frequent, the large one reaches the (low) daily limit.
DEPOSITS = [0, 30_000, 80_000, 500_000]
AMOUNTS = [1, 999, 10_000, 25_000, 60_000, 90_000, 200_000]
# (per transfer, per day) for both grades during the test: 200,000원 is over
# the per-transfer limit, a few 60,000~90,000원 transfers reach the daily one.
LIMITS = (100_000, 150_000)
EXPECTED_REFUSALS = (InsufficientFunds, DailyLimitExceeded, TransferLimitExceeded)


@pytest.mark.django_db(transaction=True)
def test_concurrent_random_transfers_keep_the_books_exact(make_customer, banks, settings):
    """Random 당행/타행 transfers in eight threads, some refused for the balance,
    the per-transfer or the daily limit: the books stay exact."""
    settings.CERTBANK_TRANSFER_FEE_OTHER_BANK = 500
    settings.CERTBANK_TRANSFER_LIMITS = {"otp": LIMITS, "basic": LIMITS}
    customers = []
    for b, code in enumerate(("901", "902", "903")):
        for n in range(ACCOUNTS_PER_BANK):
            customers.append(
                make_customer(
                    bank_code=code,
                    login_id=f"c{code}{n}",
                    name=f"고객{n}",
                    rrn=rrn(b * 100 + n),
                    phone="",
                    email="",
                    deposit=DEPOSITS[n % len(DEPOSITS)],
                )
            )
    accounts = {c.pk: c.deposit_accounts.get() for c in customers}
    customer_ids = [a.pk for a in accounts.values()]
    fee_ids = [bank_fee_account(bank=b).pk for b in banks.values()]

    def customer_total():
        return DepositAccount.objects.filter(pk__in=customer_ids).aggregate(s=Sum("balance"))["s"]

    def fee_total():
        return DepositAccount.objects.filter(pk__in=fee_ids).aggregate(s=Sum("balance"))["s"]

    total_before, fees_before = customer_total(), fee_total()
    barrier = threading.Barrier(THREADS)
    successes, refusals, errors = [], [], []

    def work(seed):
        rng = random.Random(seed)
        try:
            barrier.wait()
            for _ in range(TRANSFERS_PER_THREAD):
                sender, receiver = rng.sample(customers, 2)
                try:
                    record = transfer(
                        customer=sender,
                        from_account=accounts[sender.pk],
                        to_account=accounts[receiver.pk],
                        amount=rng.choice(AMOUNTS),
                        unsigned_reason="test",
                    )
                    successes.append(record.pk)
                except EXPECTED_REFUSALS as exc:
                    refusals.append(next(kind for kind in EXPECTED_REFUSALS if isinstance(exc, kind)))
        except Exception as exc:  # reported below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert successes, "some transfers should pay"
    for kind in EXPECTED_REFUSALS:
        assert kind in refusals, f"the mix should contain {kind.__name__} refusals"
    assert len(successes) + len(refusals) == THREADS * TRANSFERS_PER_THREAD
    # 1. One Transfer per successful call, none for a refused one.
    assert Transfer.objects.count() == len(successes)
    assert sorted(Transfer.objects.values_list("pk", flat=True)) == sorted(successes)
    # 2. No money made or lost: the customers lost exactly the fees, and the
    # fees are in the banks' fee income accounts.
    fees = Transfer.objects.aggregate(s=Sum("fee"))["s"] or 0
    assert fees > 0
    assert fee_total() - fees_before == fees
    assert customer_total() == total_before - fees
    # 3. No customer balance below zero; 4. every balance is the sum of its entries.
    for account in DepositAccount.objects.all():
        credits = account.entries.filter(direction="credit").aggregate(s=Sum("amount"))["s"] or 0
        debits = account.entries.filter(direction="debit").aggregate(s=Sum("amount"))["s"] or 0
        assert account.balance == credits - debits, account
        if account.kind == DepositAccount.Kind.CUSTOMER:
            assert account.balance >= 0, account
    # No customer paid more than the daily limit.
    for customer in customers:
        sent = Transfer.objects.filter(customer=customer).aggregate(s=Sum("amount"))["s"] or 0
        assert sent <= LIMITS[1], customer
    # Every transfer is two ledger rows, plus two for its fee.
    transfers = Transfer.objects.count()
    with_fee = Transfer.objects.filter(fee__gt=0).count()
    assert LedgerEntry.objects.exclude(description="신규가입 축하금").count() == 2 * transfers + 2 * with_fee
    assert DepositAccount.objects.aggregate(s=Sum("balance"))["s"] == 0


def at_once(count: int, work) -> tuple[list, list, list]:
    """Run work(i) in `count` threads released together by a barrier, each
    with its own database connection (as web workers): (results, refusals, errors)."""
    barrier = threading.Barrier(count)
    results, refusals, errors = [], [], []

    def run(i):
        try:
            barrier.wait()
            results.append(work(i))
        except DomainError as exc:
            refusals.append(exc)
        except Exception as exc:  # reported by the caller
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, refusals, errors


def signed_draft(holder, to_account, amount):
    from django.utils import timezone

    from banking.services import TransferDraft

    return TransferDraft(
        from_account_id=holder.customer.deposit_accounts.get().pk,
        to_bank_code=to_account.bank.code,
        to_number=to_account.number,
        amount=amount,
        memo_mine="",
        memo_theirs="",
        at=timezone.now(),
    )


@pytest.mark.django_db(transaction=True)
def test_parallel_transfers_of_one_customer_never_exceed_the_daily_limit(make_customer, settings):
    """One customer, four accounts (so no account lock serializes them), eight
    60,000원 transfers at once against a 250,000원 daily limit: the customer
    row lock in transfer() lets four pay and refuses the rest."""
    from banking.services import account_open, transfer_limits, transferred_today, welcome_deposit

    settings.CERTBANK_TRANSFER_LIMITS = {"otp": (100_000, 250_000), "basic": (100_000, 250_000)}
    sender = make_customer(deposit=200_000)
    sources = [sender.deposit_accounts.get()]
    for _ in range(3):
        account = account_open(bank=sender.bank, owner=sender, pin="1234")
        welcome_deposit(account=account, amount=200_000)
        sources.append(account)
    # A different recipient each, so no shared account lock either.
    recipients = [
        make_customer(
            login_id=f"to{n}", name=f"수취인{n}", rrn=rrn(500 + n), phone="", email="", deposit=0
        ).deposit_accounts.get()
        for n in range(THREADS)
    ]

    def pay(i):
        return transfer(
            customer=sender,
            from_account=sources[i % len(sources)],
            to_account=recipients[i],
            amount=60_000,
            unsigned_reason="test",
        ).pk

    results, refusals, errors = at_once(THREADS, pay)

    assert errors == []
    _once, day = transfer_limits(customer=sender)
    assert transferred_today(customer=sender) <= day
    assert len(results) == day // 60_000 == 4 and Transfer.objects.count() == 4
    assert [type(exc) for exc in refusals] == [DailyLimitExceeded] * (THREADS - 4)
    assert sum(DepositAccount.objects.filter(pk__in=[a.pk for a in recipients]).values_list("balance", flat=True)) == 240_000


@pytest.mark.django_db(transaction=True)
def test_parallel_signed_transfers_cannot_pass_the_daily_sms_threshold_together(holder, make_customer, settings):
    """Four signed 60,000원 transfers at once from an undesignated device, with
    the extra SMS check due from 100,000원 a day: one pays, the others are
    asked for the SMS code (the check and the payment share one customer lock)."""
    from banking.exceptions import ExtraAuthRequired
    from flows.transfers import transfer_challenge_create, transfer_signed
    from tests.certificates.conftest import SESSION, sign

    settings.CERTBANK_TRANSFER_SMS_DAILY_THRESHOLD = 100_000
    to = make_customer(
        login_id="younghee", name="김영희", rrn="920315-2345674", phone="01023456789", deposit=0
    ).deposit_accounts.get()
    draft = signed_draft(holder, to, 60_000)
    bank = holder.customer.bank
    signed = []
    for _ in range(4):
        challenge = transfer_challenge_create(customer=holder.customer, bank=bank, session_key=SESSION, draft=draft)
        signed.append((challenge.token, sign(holder.key, bytes(challenge.to_sign))))

    def pay(i):
        token, signature = signed[i]
        record, _replayed = transfer_signed(
            customer=holder.customer,
            bank=bank,
            draft=draft,
            session_key=SESSION,
            token=token,
            certificate_der=holder.der,
            signature=signature,
            device_token="",
        )
        return record.pk

    results, refusals, errors = at_once(4, pay)

    assert errors == []
    assert len(results) == 1 and Transfer.objects.count() == 1
    assert [type(exc) for exc in refusals] == [ExtraAuthRequired] * 3
    assert DepositAccount.objects.get(pk=to.pk).balance == 60_000


@pytest.mark.django_db(transaction=True)
def test_the_same_signed_challenge_submitted_at_once_pays_once(holder, make_customer):
    """A double click, or a replay racing the original: one transfer, one
    debit, and every request gets that same transfer back (none is refused)."""
    from flows.transfers import transfer_challenge_create, transfer_signed
    from tests.certificates.conftest import SESSION, sign

    to = make_customer(
        bank_code="903", login_id="chulsoo", name="이철수", rrn="850720-1456782", phone="01034567890", deposit=0
    ).deposit_accounts.get()
    source = holder.customer.deposit_accounts.get()
    balance_before = source.balance
    draft = signed_draft(holder, to, 10_000)
    challenge = transfer_challenge_create(customer=holder.customer, bank=holder.customer.bank, session_key=SESSION, draft=draft)
    signature = sign(holder.key, bytes(challenge.to_sign))

    def submit(_i):
        record, replayed = transfer_signed(
            customer=holder.customer,
            bank=holder.customer.bank,
            draft=draft,
            session_key=SESSION,
            token=challenge.token,
            certificate_der=holder.der,
            signature=signature,
        )
        return record.pk, replayed

    results, refusals, errors = at_once(8, submit)

    assert errors == [] and refusals == []
    assert Transfer.objects.count() == 1
    first = Transfer.objects.get()
    assert sorted(results) == [(first.pk, False)] + [(first.pk, True)] * 7
    assert DepositAccount.objects.get(pk=to.pk).balance == 10_000
    assert DepositAccount.objects.get(pk=source.pk).balance == balance_before - 10_000 - first.fee
    assert source.entries.filter(direction="debit", description="타행이체").count() == 1
    assert AuditEvent.objects.filter(action="transfer_replayed", detail__reference=str(first.reference)).count() == 7
