"""Many threads transfer money at once, through banking.services.transfer.

Each thread has its own database connection, as a web worker would (the
test settings put SQLite in a file so that threads share it; CI runs the
same test on PostgreSQL). Afterwards no money was made or lost: the total
is unchanged except the fees, which sit in the banks' fee accounts; no
customer balance is negative; every balance equals the sum of its ledger
rows; and there is exactly one Transfer per successful call.
"""

import random
import threading

import pytest
from django.db import connection
from django.db.models import Sum

from banking.exceptions import InsufficientFunds
from banking.models import DepositAccount, LedgerEntry, Transfer
from banking.services import bank_fee_account, transfer

ACCOUNTS_PER_BANK = 4


def rrn(n: int) -> str:
    """A valid RRN for a made-up person number n (check digit per DESIGN.md §1)."""
    body = f"900101{1}{n:05d}"
    check = (11 - sum(int(d) * w for d, w in zip(body, [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5], strict=True)) % 11) % 10
    return f"{body[:6]}-{body[6:]}{check}"


THREADS = 8
TRANSFERS_PER_THREAD = 25


@pytest.mark.django_db(transaction=True)
def test_concurrent_random_transfers_keep_the_books_exact(make_customer, banks, settings):
    settings.CERTBANK_TRANSFER_FEE_OTHER_BANK = 500
    customers = []
    for b, code in enumerate(("901", "902", "903")):
        for n in range(ACCOUNTS_PER_BANK):
            # Small balances, so that overdraft attempts are frequent.
            customers.append(
                make_customer(
                    bank_code=code,
                    login_id=f"c{code}{n}",
                    name=f"고객{n}",
                    rrn=rrn(b * 100 + n),
                    phone="",
                    email="",
                    deposit=random.choice([0, 30_000, 80_000]),
                )
            )
    accounts = {c.pk: c.deposit_accounts.get() for c in customers}
    customer_ids = [a.pk for a in accounts.values()]
    fee_ids = [bank_fee_account(bank=b).pk for b in banks.values()]

    def customer_total():
        return DepositAccount.objects.filter(pk__in=customer_ids).aggregate(s=Sum("balance"))["s"]

    def fee_total():
        return DepositAccount.objects.filter(pk__in=fee_ids).aggregate(s=Sum("balance"))["s"]

    total_before = customer_total()
    barrier = threading.Barrier(THREADS)
    successes, refusals, errors = [], [], []

    def work(seed):
        rng = random.Random(seed)
        try:
            barrier.wait()
            for _ in range(TRANSFERS_PER_THREAD):
                sender, receiver = rng.sample(customers, 2)
                amount = rng.choice([1, 999, 10_000, 25_000, 60_000, 200_000])
                try:
                    record = transfer(
                        customer=sender,
                        from_account=accounts[sender.pk],
                        to_account=accounts[receiver.pk],
                        amount=amount,
                        unsigned_reason="test",
                    )
                    successes.append(record.pk)
                except InsufficientFunds:
                    refusals.append(amount)
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
    assert successes and refusals, "the mix should contain both successes and overdraft attempts"
    assert len(successes) + len(refusals) == THREADS * TRANSFERS_PER_THREAD
    assert Transfer.objects.count() == len(successes)
    assert sorted(Transfer.objects.values_list("pk", flat=True)) == sorted(successes)
    fees = Transfer.objects.aggregate(s=Sum("fee"))["s"] or 0
    assert fees == fee_total()
    assert customer_total() == total_before - fees
    for account in DepositAccount.objects.all():
        credits = account.entries.filter(direction="credit").aggregate(s=Sum("amount"))["s"] or 0
        debits = account.entries.filter(direction="debit").aggregate(s=Sum("amount"))["s"] or 0
        assert account.balance == credits - debits, account
        if account.kind == DepositAccount.Kind.CUSTOMER:
            assert account.balance >= 0, account
    # Every transfer is two ledger rows, plus two for its fee.
    transfers = Transfer.objects.count()
    with_fee = Transfer.objects.filter(fee__gt=0).count()
    assert LedgerEntry.objects.exclude(description="신규가입 축하금").count() == 2 * transfers + 2 * with_fee
    assert DepositAccount.objects.aggregate(s=Sum("balance"))["s"] == 0


@pytest.mark.django_db(transaction=True)
def test_the_same_signed_challenge_submitted_at_once_pays_once(holder, make_customer):
    """A double click, or a replay racing the original: one transfer, and
    every request that succeeds gets that same transfer back."""
    from django.utils import timezone

    from banking.services import TransferDraft, transfer_challenge_create, transfer_signed
    from certificates.exceptions import CertificateRefused
    from tests.certificates.conftest import SESSION, sign

    to = make_customer(
        bank_code="903", login_id="chulsoo", name="이철수", rrn="850720-1456782", phone="01034567890", deposit=0
    ).deposit_accounts.get()
    draft = TransferDraft(
        from_account_id=holder.customer.deposit_accounts.get().pk,
        to_bank_code="903",
        to_number=to.number,
        amount=10_000,
        memo_mine="",
        memo_theirs="",
        at=timezone.now(),
    )
    challenge = transfer_challenge_create(customer=holder.customer, bank=holder.customer.bank, session_key=SESSION, draft=draft)
    signature = sign(holder.key, bytes(challenge.to_sign))
    barrier = threading.Barrier(4)
    results, refusals, errors = [], [], []

    def submit():
        try:
            barrier.wait()
            record, _replayed = transfer_signed(
                customer=holder.customer,
                bank=holder.customer.bank,
                draft=draft,
                session_key=SESSION,
                token=challenge.token,
                certificate_der=holder.der,
                signature=signature,
            )
            results.append(record.pk)
        except CertificateRefused as exc:
            refusals.append(exc.reason)
        except Exception as exc:  # reported below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Transfer.objects.count() == 1
    assert set(results) == {Transfer.objects.get().pk}
    assert len(results) + len(refusals) == 4
    assert DepositAccount.objects.get(pk=to.pk).balance == 10_000
