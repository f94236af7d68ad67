"""Strike counters hold exactly under parallel guesses (core.boundary.hold),
on SQLite and PostgreSQL: of N wrong guesses at once, exactly the limit are
checked and counted, the rest find the lock (or the discarded code)."""

import pytest

from accounts import services as account_services
from accounts.models import Customer, PhoneDevice
from banking.models import DepositAccount
from banking.services import account_pin_verify
from tests.concurrency import at_once

pytestmark = pytest.mark.django_db(transaction=True)

GUESSERS = 8


def test_parallel_wrong_passwords_lock_at_exactly_five(customer):
    outcomes = at_once(
        GUESSERS, lambda i: account_services.password_login(bank=customer.bank, login_id="hong", password=f"wrong-{i}")
    )
    assert outcomes.errors == [] and outcomes.results == []
    customer.refresh_from_db()
    assert customer.failed_login_count == 5 and customer.login_locked
    # Four "tries left" answers, the fifth locks, the rest are refused at the lock without a check.
    assert outcomes.codes.count("invalid_credentials") == 4
    assert outcomes.codes.count("login_locked") == GUESSERS - 4


def test_parallel_wrong_account_pins_lock_at_exactly_five(customer):
    account = DepositAccount.objects.get(owner=customer)
    outcomes = at_once(GUESSERS, lambda i: account_pin_verify(account=account, pin=f"{9000 + i}"))
    assert outcomes.errors == []
    account.refresh_from_db()
    assert account.pin_failed_count == 5 and account.pin_locked_at is not None
    assert outcomes.codes.count("account_pin_invalid") == 4
    assert outcomes.codes.count("account_pin_locked") == GUESSERS - 4


def test_parallel_wrong_sms_codes_discard_the_code_after_exactly_five(customer):
    account_services.sms_code_send(bind="test", customer=customer, reason="테스트")
    right = PhoneDevice.objects.get(user=customer).token
    wrong = [f"{(int(right) + 1 + i) % 1_000_000:06d}" for i in range(GUESSERS)]
    outcomes = at_once(GUESSERS, lambda i: account_services.sms_code_verify(bind="test", customer=customer, code=wrong[i]))
    assert outcomes.errors == []
    device = PhoneDevice.objects.get(user=customer)
    assert device.throttling_failure_count == 5 and device.token is None
    assert outcomes.codes.count("sms_code_invalid") == 4
    assert outcomes.codes.count("sms_code_exhausted") == 1
    assert outcomes.codes.count("sms_code_expired") == GUESSERS - 5  # no code left to guess
    assert Customer.objects.get(pk=customer.pk).failed_login_count == 0
