"""Back-off for failures that anyone can cause (a bad signature, a wrong
identity from a logged-out page, a wrong OTP code): counted per key in the
database, never a lock.

A policy lets `free` failures through; each failure after them makes the key
wait, `first_wait` seconds the first time and twice as long each time after,
up to `max_wait`. A key left alone for `forget_after` seconds starts again
from nothing. While a key waits, `throttle_check` raises Throttled with the
seconds left (a 429 with Retry-After, and a message that says how long).

Failures are counted by `throttle_failure`, normally as a kept write of the
refusal (core.boundary), so the count survives the refused request.
"""

import datetime
import math
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import Throttled
from core.models import Throttle


@dataclass(frozen=True)
class Policy:
    scope: str
    free: int
    first_wait: int  # seconds
    max_wait: int
    forget_after: int

    def wait_after(self, failures: int) -> int:
        """Seconds a key waits after its `failures`-th failure in a row."""
        if failures <= self.free:
            return 0
        return min(self.first_wait * 2 ** (failures - self.free - 1), self.max_wait)


def throttle_wait(policy: Policy, key: str, *, now: datetime.datetime | None = None) -> int:
    """Seconds `key` must still wait (0: it may try)."""
    now = now or timezone.now()
    until = Throttle.objects.filter(scope=policy.scope, key=key).values_list("blocked_until", flat=True).first()
    if until is None or until <= now:
        return 0
    return math.ceil((until - now).total_seconds())


def throttle_check(policy: Policy, key: str, *, error: type[Throttled] = Throttled) -> None:
    """Raise `error` (Throttled or a subclass, whose `message_for(seconds)`
    says how long, when it has one) while `key` waits."""
    wait = throttle_wait(policy, key)
    if wait:
        message_for = getattr(error, "message_for", None)
        raise error(wait, message_for(wait) if message_for else None)


def throttle_failure(policy: Policy, key: str, *, now: datetime.datetime | None = None) -> int:
    """Count one failure of `key`; returns its failures in a row."""
    now = now or timezone.now()
    with transaction.atomic():
        row = Throttle.objects.select_for_update().filter(scope=policy.scope, key=key).first()
        if row is None:
            try:
                with transaction.atomic():
                    row = Throttle.objects.create(scope=policy.scope, key=key, failures=0, last_failure_at=now)
            except IntegrityError:  # another worker made it first: count on its row
                row = Throttle.objects.select_for_update().get(scope=policy.scope, key=key)
        if (now - row.last_failure_at).total_seconds() > policy.forget_after:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        wait = policy.wait_after(row.failures)
        row.blocked_until = now + datetime.timedelta(seconds=wait) if wait else None
        row.save(update_fields=["failures", "last_failure_at", "blocked_until"])
        return row.failures


def throttle_clear(*policies: Policy, key: str) -> None:
    """Forget the failures counted for `key` under each policy (one DELETE)."""
    Throttle.objects.filter(scope__in=[policy.scope for policy in policies], key=key).delete()


def throttles_purge(*, now: datetime.datetime | None = None, older_than: int = 24 * 3600) -> int:
    """Delete rows nobody failed on for a day (longer than any policy remembers)."""
    now = now or timezone.now()
    deleted, _ = Throttle.objects.filter(last_failure_at__lt=now - datetime.timedelta(seconds=older_than)).delete()
    return deleted
