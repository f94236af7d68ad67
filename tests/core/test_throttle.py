"""core.throttle: back-off counted per key in the database, never a lock."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from core.errors import Throttled
from core.models import Throttle
from core.throttle import Policy, throttle_check, throttle_clear, throttle_failure, throttle_wait, throttles_purge

POLICY = Policy("test", free=3, first_wait=2, max_wait=60, forget_after=600)


def test_the_first_failures_are_free_then_each_doubles_the_wait():
    assert [POLICY.wait_after(n) for n in range(1, 10)] == [0, 0, 0, 2, 4, 8, 16, 32, 60]


@pytest.mark.django_db
def test_a_key_waits_after_its_free_failures_and_is_told_how_long():
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            throttle_failure(POLICY, "a")
            throttle_check(POLICY, "a")  # still free
        throttle_failure(POLICY, "a")
        assert throttle_wait(POLICY, "a") == 2
        with pytest.raises(Throttled) as refused:
            throttle_check(POLICY, "a")
        assert refused.value.retry_after == 2 and "2초" in refused.value.message
        # Another key is not affected.
        throttle_check(POLICY, "b")
    with time_machine.travel(start + datetime.timedelta(seconds=3), tick=False):
        throttle_check(POLICY, "a")


@pytest.mark.django_db
def test_a_key_left_alone_starts_again_and_clear_forgets_it():
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            throttle_failure(POLICY, "a")
    with time_machine.travel(start + datetime.timedelta(seconds=601), tick=False):
        assert throttle_failure(POLICY, "a") == 1
    throttle_clear(POLICY, key="a")
    assert not Throttle.objects.exists()


@pytest.mark.django_db
def test_old_rows_are_purged():
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        throttle_failure(POLICY, "old")
    with time_machine.travel(start + datetime.timedelta(days=2), tick=False):
        throttle_failure(POLICY, "new")
        assert throttles_purge() == 1
    assert list(Throttle.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.django_db(transaction=True)
def test_parallel_failures_are_each_counted():
    from tests.concurrency import at_once

    outcomes = at_once(8, lambda i: throttle_failure(POLICY, "k"))
    assert outcomes.errors == []
    assert sorted(outcomes.results) == list(range(1, 9))
    assert Throttle.objects.get(key="k").failures == 8
