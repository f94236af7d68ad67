"""Row locks that serialize a customer's transfers must not deadlock with the
audit log (found by the torture test, tools/torture: a certificate login and
a logout on one device, while a transfer of the same customer ran on
another, ended in 500s with "deadlock detected").

The cycle it had on PostgreSQL: any audited request for customer X holds the
audit chain head until it commits, and at COMMIT its audit row's deferred
foreign-key check takes FOR KEY SHARE on X's row. A signed transfer of X
held X's row FOR UPDATE, which conflicts with FOR KEY SHARE, and then queued
for the audit chain head. The transfer needs X's row only to run one
transfer of X at a time, never to change its key: FOR NO KEY UPDATE does
that and lets rows that merely reference X be committed.
"""

import threading
import time

import pytest
from django.db import connection, transaction

from audit.models import Action, AuditEvent
from audit.services import audit_chain_verify, audit_record
from banking.models import Transfer
from flows.transfers import transfer_challenge_create
from tests.banking.test_transfer_signed import draft_for, submit
from tests.certificates.conftest import SESSION


def _waiting_for_a_lock(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
            row = cursor.fetchone()
            if row and row[0] == "Lock":
                return True
            time.sleep(0.02)
    return False


@pytest.mark.django_db(transaction=True)
def test_a_transfer_and_an_audited_event_of_the_same_customer_both_commit(holder, chulsoo):
    if connection.vendor != "postgresql":
        pytest.skip("row-lock modes are PostgreSQL's; SQLite serializes every writer")
    draft = draft_for(holder, chulsoo.deposit_accounts.get())
    challenge = transfer_challenge_create(customer=holder.customer, bank=holder.customer.bank, session_key=SESSION, draft=draft)
    head_held, payer = threading.Event(), {}
    errors, results = [], []

    def elsewhere():
        # The same customer's login on another device: its audit row, written
        # while the transfer below has locked the customer and queued for the
        # audit chain head; committed only then.
        try:
            with transaction.atomic():
                audit_record(action=Action.LOGIN_SUCCEEDED, customer=holder.customer, bank=holder.customer.bank)
                head_held.set()
                while "pid" not in payer:
                    time.sleep(0.01)
                assert _waiting_for_a_lock(payer["pid"]), "the transfer never queued for the audit chain head"
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(f"audited event: {exc!r}")
        finally:
            connection.close()

    def pay():
        try:
            head_held.wait(10)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                payer["pid"] = cursor.fetchone()[0]
            results.append(submit(holder, draft, challenge=challenge))
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(f"transfer: {exc!r}")
            payer.setdefault("pid", 0)
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
