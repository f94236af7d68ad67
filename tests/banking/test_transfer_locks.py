"""Row locks that serialize a customer's transfers must not deadlock with the
audit log (found by the torture test, tools/torture: a certificate login and
a logout on one device, while a transfer of the same customer ran on
another, ended in 500s with "deadlock detected").

The cycle it had on PostgreSQL: any audited request for customer X held the
audit chain head until it committed, and at COMMIT its audit row's deferred
foreign-key check took FOR KEY SHARE on X's row. A signed transfer of X
held X's row FOR UPDATE, which conflicts with FOR KEY SHARE, and then queued
for the audit chain head. The transfer needs X's row only to run one
transfer of X at a time, never to change its key: FOR NO KEY UPDATE does
that and lets rows that merely reference X be committed. Since audit rows
are sealed after commit (issue 13), no request waits for the chain head at
all: the transfer now commits while the other transaction is still open.
"""

import threading

import pytest
from django.db import connection, transaction

from audit.models import Action, AuditEvent
from audit.services import audit_chain_verify, audit_record
from banking.models import Transfer
from flows.transfers import transfer_challenge_create
from tests.banking.test_transfer_signed import draft_for, submit
from tests.certificates.conftest import SESSION


@pytest.mark.django_db(transaction=True)
def test_a_transfer_and_an_audited_event_of_the_same_customer_both_commit(holder, chulsoo):
    if connection.vendor != "postgresql":
        pytest.skip("row-lock modes are PostgreSQL's; SQLite serializes every writer")
    draft = draft_for(holder, chulsoo.deposit_accounts.get())
    challenge = transfer_challenge_create(customer=holder.customer, bank=holder.customer.bank, session_key=SESSION, draft=draft)
    head_held, paid = threading.Event(), threading.Event()
    errors, results = [], []

    def elsewhere():
        # The same customer's login on another device: its audit row written,
        # its transaction kept open until the transfer below has committed.
        try:
            with transaction.atomic():
                audit_record(action=Action.LOGIN_SUCCEEDED, customer=holder.customer, bank=holder.customer.bank)
                head_held.set()
                assert paid.wait(20), "the transfer waited for the open transaction"
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(f"audited event: {exc!r}")
        finally:
            connection.close()

    def pay():
        try:
            head_held.wait(10)
            results.append(submit(holder, draft, challenge=challenge))
            paid.set()
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(f"transfer: {exc!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=elsewhere), threading.Thread(target=pay)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(results) == 1 and results[0][1] is False
    assert Transfer.objects.count() == 1
    assert AuditEvent.objects.filter(action="login_succeeded", customer=holder.customer).count() == 1
    assert audit_chain_verify()[0]
