"""Certificate invariants under concurrency, on SQLite and PostgreSQL (CI runs
both): one verification gives one certificate, and a customer never holds two
live (valid or suspended) 공동인증서 at one bank, nor a person two 금융인증서,
however requests race."""

import os

import pytest

from certificates import services
from certificates.challenges import challenge_create
from certificates.exceptions import InvalidTransition
from certificates.models import Certificate, Challenge
from tests.certificates.conftest import issue_for, sign, spki
from tests.concurrency import at_once
from tests.verification import Purpose, verified

pytestmark = pytest.mark.django_db(transaction=True)

SESSION = "race-session"


def complete_issuance(customer, key, *, grant, session_key=SESSION):
    """One browser's issuance completion: its own challenge, signed, with R."""
    challenge = challenge_create(purpose=Challenge.Purpose.ISSUE, bank=customer.bank, session_key=session_key, customer=customer)
    return services.certificate_issue_joint(
        grant=grant,
        bank=customer.bank,
        session_key=session_key,
        token=challenge.token,
        public_key_spki=spki(key),
        signature=sign(key, bytes(challenge.to_sign)),
        r=os.urandom(20),
    )


def live(customer):
    return Certificate.objects.filter(holder=customer, status__in=["valid", "suspended"])


def test_concurrent_completions_from_one_verification_issue_exactly_one_certificate(test_ca, customer, rsa_keys):
    grant = verified(customer, Purpose.ISSUE, session_key=SESSION, detail={"kind": "joint", "reason": "new"})
    outcomes = at_once(6, lambda i: complete_issuance(customer, rsa_keys[i % 3], grant=grant).serial)
    assert outcomes.errors == []
    assert len(outcomes.results) == 1
    assert outcomes.codes == ["not_verified"] * 5
    assert all("본인확인" in str(refusal.message) for refusal in outcomes.refusals)
    assert Certificate.objects.count() == 1 and live(customer).count() == 1


def test_two_reissues_at_once_leave_one_valid_certificate(test_ca, customer, rsa_keys):
    first = issue_for(customer, rsa_keys[0]).certificate
    grants = [
        verified(customer, Purpose.ISSUE, session_key=f"{SESSION}-{i}", detail={"kind": "joint", "reason": "lost"})
        for i in range(2)
    ]
    outcomes = at_once(
        2, lambda i: complete_issuance(customer, rsa_keys[i + 1], grant=grants[i], session_key=f"{SESSION}-{i}").serial
    )
    assert outcomes.errors == []
    assert live(customer).count() == 1
    first.refresh_from_db()
    assert first.status == "revoked" and first.revocation_reason == "key_compromise"
    # Whichever finished last holds the one valid certificate; any other is revoked.
    assert Certificate.objects.filter(holder=customer, status="valid").count() == 1


def test_a_restore_racing_a_reissue_never_leaves_two_usable_certificates(test_ca, customer, rsa_keys):
    """The reported key (suspended) and its replacement can never both be usable."""
    old = issue_for(customer, rsa_keys[0]).certificate
    services.certificate_suspend_by_customer(customer=customer, certificate=old)
    restore_grant = verified(customer, Purpose.RESTORE, session_key="restore", detail={"serial": old.serial})
    issue_grant = verified(customer, Purpose.ISSUE, session_key="reissue", detail={"kind": "joint", "reason": "lost"})

    def race(i):
        if i == 0:
            return services.certificate_restore_by_customer(
                grant=restore_grant, bank=customer.bank, session_key="restore", serial=old.serial
            ).serial
        return complete_issuance(customer, rsa_keys[1], grant=issue_grant, session_key="reissue").serial

    outcomes = at_once(2, race)
    assert outcomes.errors == []
    assert all(isinstance(refusal, InvalidTransition) for refusal in outcomes.refusals)
    old.refresh_from_db()
    assert old.status == "revoked"  # restored first and then revoked by the reissue, or never restored
    assert live(customer).count() == 1
    assert live(customer).get().serial != old.serial
