"""The service boundary (core.boundary): a refusal rolls back the service's
own writes and keeps what it must (strike counters, audit rows), nested
services hand their kept writes to the outermost, and hold() keeps a
counter exact under parallel guesses on both databases."""

import pytest
from django.db.models import F

from audit.models import Action, AuditEvent
from banking.models import DepositAccount
from banking.services import bank_internal_account
from core.boundary import audited, hold, in_service, keep_on_refusal, service
from core.errors import DomainError, Throttled
from core.models import SmsMessage
from tests.concurrency import at_once


class Wrong(DomainError):
    status = 403


class Locked(DomainError):
    status = 403


def business_write(body="business"):
    SmsMessage.objects.create(phone="01000000000", body=body)


def kept_write(body="kept"):
    def write(error):
        SmsMessage.objects.create(phone="01000000000", body=body)

    return write


def bodies():
    return sorted(SmsMessage.objects.values_list("body", flat=True))


@service
def refusing():
    business_write()
    raise Wrong().keep(kept_write())


@service
def succeeding():
    business_write("ok")
    return "done"


def test_a_refusal_rolls_back_the_service_and_keeps_its_kept_writes(db):
    with pytest.raises(Wrong):
        refusing()
    assert bodies() == ["kept"]


def test_a_service_that_succeeds_commits_and_returns(db):
    assert succeeding() == "done"
    assert bodies() == ["ok"]


def test_a_kept_write_can_name_the_error_to_raise(db):
    @service
    def strike_that_locks():
        raise Wrong().keep(lambda error: Locked())

    with pytest.raises(Locked):
        strike_that_locks()


def test_the_refusals_audit_row_survives(db, banks):
    @service
    def refuse_with_audit():
        business_write()
        raise Wrong().keep(audited(action=Action.LOGIN_FAILED, bank=banks["901"], reason="test"))

    with pytest.raises(Wrong):
        refuse_with_audit()
    assert bodies() == []
    event = AuditEvent.objects.get()
    assert event.action == Action.LOGIN_FAILED and event.detail == {"reason": "test"}


def test_a_nested_refusal_keeps_its_writes_once_at_the_outermost(db):
    @service
    def outer():
        business_write("outer")
        refusing()

    with pytest.raises(Wrong):
        outer()
    assert bodies() == ["kept"]


def test_a_nested_refusal_the_caller_handles_still_keeps_its_writes(db):
    @service
    def outer():
        business_write("outer")
        try:
            refusing()
        except Wrong:
            return "handled"

    assert outer() == "handled"
    # The inner service's own write rolled back with its savepoint; the
    # outer one's committed; the inner refusal's kept write was made.
    assert bodies() == ["kept", "outer"]


def test_a_replacement_applies_only_to_the_error_it_was_kept_for(db):
    @service
    def inner():
        raise Wrong().keep(lambda error: Locked())

    @service
    def outer():
        try:
            inner()
        except Wrong:
            raise DomainError("다른 거절") from None

    with pytest.raises(DomainError) as refused:
        outer()
    assert type(refused.value) is DomainError


def test_a_bug_rolls_everything_back_and_keeps_nothing(db):
    @service
    def broken():
        business_write()
        try:
            refusing()
        except Wrong:
            pass
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        broken()
    assert bodies() == []


def test_in_service_and_hold_outside_a_service(db):
    assert not in_service()
    with pytest.raises(RuntimeError):
        hold(SmsMessage.objects.all())


def test_throttled_says_how_long_to_wait():
    assert "30초" in Throttled(30).message
    assert "3분" in Throttled(150).message
    assert Throttled(30).status == 429 and Throttled(30).retry_after == 30


def test_a_refusal_is_always_a_4xx():
    with pytest.raises(ValueError):
        DomainError(status=500)


LIMIT = 3
GUESSERS = 8


@service
def guess(account_pk, evaluated):
    """A guarded secret: refused when locked, else one evaluation that fails."""
    account = hold(DepositAccount.objects.filter(pk=account_pk))[0]
    if account.pin_failed_count >= LIMIT:
        raise Locked()
    evaluated.append(1)

    def strike(error):
        DepositAccount.objects.filter(pk=account_pk).update(pin_failed_count=F("pin_failed_count") + 1)

    raise Wrong().keep(strike)


@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_against_a_held_counter_are_exactly_limited(banks):
    """Eight requests guess at once: exactly LIMIT are evaluated, the rest
    find the counter at its limit. Without hold()'s lock lasting through
    the kept write, a request waiting on the row reads it before the
    previous one's strike lands and gets a free guess (PostgreSQL)."""
    account = bank_internal_account(bank=banks["901"])
    evaluated = []
    outcomes = at_once(GUESSERS, lambda i: guess(account.pk, evaluated))
    assert outcomes.errors == []
    assert len(evaluated) == LIMIT
    assert outcomes.codes == ["locked"] * (GUESSERS - LIMIT) + ["wrong"] * LIMIT
    assert DepositAccount.objects.get(pk=account.pk).pin_failed_count == LIMIT


def test_what_must_stay_done_is_redone_after_a_refusal_and_only_then(db):
    @service
    def consume_then(refuse: bool):
        business_write("consumed")  # e.g. a single-use token marked used
        keep_on_refusal(lambda: business_write("consumed"))
        business_write("work")
        if refuse:
            raise Wrong()

    with pytest.raises(Wrong):
        consume_then(True)
    assert bodies() == ["consumed"]  # the work rolled back, the consumption stays
    SmsMessage.objects.all().delete()
    consume_then(False)
    assert bodies() == ["consumed", "work"]  # a success does not repeat it
