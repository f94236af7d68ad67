"""The service boundary: one transaction per service call, and what must
outlive a refusal written after the rest has rolled back.

    @service
    def account_pin_verify(*, account, pin, request=None) -> None:
        account = hold(DepositAccount.objects.filter(pk=account.pk))[0]
        if not pin_matches(account, pin):
            raise AccountPinInvalid().keep(count_wrong_pin(account, request))

A service runs inside `transaction.atomic()`, its own work in a savepoint.
When it raises a DomainError, that savepoint rolls back (nothing the
service did stays), then the writes the error kept (`DomainError.keep`: a
strike counter, the refusal's audit row) are made in the same outer
transaction, which commits, and the error is raised. A kept write may name
a better error to raise (the strike that locks says "잠겼습니다").

A service called by another service joins the caller's call: its refusal
rolls back only its own savepoint and hands its kept writes to the
outermost service, which makes them whether the caller lets the refusal go
on or handles it. A service called inside some other transaction.atomic()
(the staff console wraps its forms in one) makes its kept writes in that
transaction: they last as long as it does.

`hold(queryset)` locks the rows of a counter that guards a guessable secret
(a PIN, a password) until the outermost call has made its kept writes, so
that requests racing on one counter see every earlier failure before they
try: on SQLite the outer transaction holds the database's write lock across
the savepoint's rollback; on PostgreSQL the rolled-back savepoint would
release the row lock, so hold() also takes a session-level advisory lock,
released when the call ends.
"""

import contextlib
import functools
import hashlib
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from audit.services import audit_record
from core.errors import DomainError, KeptWrite


@dataclass
class _Call:
    # (the error a write was kept for, the write)
    kept: list[tuple[DomainError, KeptWrite]] = field(default_factory=list)
    # Writes to make when the outermost call ends in a refusal (a single-use token stays used).
    on_refusal: list[Callable[[], None]] = field(default_factory=list)
    advisory_keys: list[int] = field(default_factory=list)


_CURRENT: ContextVar[_Call | None] = ContextVar("certbank_service_call", default=None)


def service(function: Callable) -> Callable:
    """Run `function` as a service (the module docstring)."""

    @functools.wraps(function)
    def boundary(*args, **kwargs):
        call = _CURRENT.get()
        if call is not None:
            return _nested(call, function, args, kwargs)
        return _outermost(function, args, kwargs)

    boundary.is_service = True
    return boundary


def _take_kept(call: _Call, error: DomainError) -> None:
    # Moved off the error, so that each write is made once however many
    # boundaries the error passes on its way out.
    call.kept.extend((error, write) for write in error.kept)
    error.kept = []


def _nested(call: _Call, function: Callable, args, kwargs) -> Any:
    try:
        with transaction.atomic():
            return function(*args, **kwargs)
    except DomainError as error:
        _take_kept(call, error)
        raise


def _outermost(function: Callable, args, kwargs) -> Any:
    with service_call():
        return function(*args, **kwargs)


@contextlib.contextmanager
def service_call(*, savepoint: bool = True):
    """The outermost service call as a block: the services called in it join
    one call and one transaction, and whatever else the block does (a login's
    session row and last_login) commits with them. A refusal rolls the block
    back, the kept writes are made, the transaction commits and the refusal is
    raised out of the block; hold() locks last until that commit. Inside a
    service call already, the block simply joins it.

    savepoint=False: the block's own writes are not rolled back by a refusal.
    Only for a block in which refusals come from services (each rolls its own
    savepoint back) and nothing is written before them: it saves a SAVEPOINT
    and its RELEASE."""
    if _CURRENT.get() is not None:
        yield
        return
    call = _Call()
    token = _CURRENT.set(call)
    error: DomainError | None = None
    replacement = None
    try:
        with transaction.atomic():
            try:
                if savepoint:
                    with transaction.atomic():
                        yield
                else:
                    yield
            except DomainError as refused:
                error = refused
                _take_kept(call, refused)
            # The block's own writes are gone if it was refused; these stay.
            if error is not None:
                for write in call.on_refusal:
                    write()
            for origin, write in call.kept:
                better = write(origin)
                if better is not None and origin is error:
                    replacement = better
    finally:
        _CURRENT.reset(token)
        _release_advisory_locks(call)
    if error is not None:
        raise replacement or error


def keep_on_refusal(write: Callable[[], None]) -> None:
    """Make `write` again after a refusal has rolled the call back: for what
    must stay done whatever happens next (a single-use challenge consumed).
    Outside a service the write has committed already and this does nothing."""
    call = _CURRENT.get()
    if call is not None:
        call.on_refusal.append(write)


def in_service() -> bool:
    return _CURRENT.get() is not None


def hold(queryset) -> list:
    """SELECT ... FOR UPDATE the rows, held until the outermost service call
    has made its kept writes (the module docstring). Call it before the
    service writes anything."""
    call = _CURRENT.get()
    if call is None:
        raise RuntimeError("hold() is for code running inside a @service")
    if connection.vendor == "postgresql":
        table = queryset.model._meta.db_table
        _advisory_lock(call, {_advisory_key(table, pk) for pk in queryset.values_list("pk", flat=True)})
    # of=self: a select_related nullable join (a customer's bank) cannot be locked on PostgreSQL, nor needs to be.
    # no_key: FOR NO KEY UPDATE excludes the other holders but not the foreign-key
    # checks of rows that merely reference the held one (an audit row naming the
    # customer, committed under the audit chain head): FOR UPDATE deadlocked there.
    return list(queryset.select_for_update(of=("self",), no_key=True).order_by("pk"))


def hold_key(name: str) -> None:
    """Like hold(), for a counter that may have no row yet (a back-off keyed
    by client network): requests holding the same `name` take turns until
    the outermost service call has made its kept writes, so parallel tries
    each see the failures before them. A session-level advisory lock on
    PostgreSQL; SQLite's IMMEDIATE transaction already serialises the call.
    Outside a service, in a transaction.atomic() block that counts its
    failures before it ends: the turn lasts until that transaction ends."""
    call = _CURRENT.get()
    if call is None and not connection.in_atomic_block:
        raise RuntimeError("hold_key() is for code running inside a @service or transaction.atomic()")
    if connection.vendor != "postgresql":
        return
    key = _advisory_key("key", name)
    if call is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
        return
    _advisory_lock(call, {key})


def _advisory_lock(call: _Call, keys: set[int]) -> None:
    """Session-level advisory locks on `keys` not yet held by this call (in a
    fixed order), released by _release_advisory_locks when the call ends."""
    with connection.cursor() as cursor:
        for key in sorted(keys - set(call.advisory_keys)):
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
            call.advisory_keys.append(key)


def _advisory_key(table: str, pk) -> int:
    digest = hashlib.sha256(f"certbank-hold:{table}:{pk}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _release_advisory_locks(call: _Call) -> None:
    if not call.advisory_keys:
        return
    with connection.cursor() as cursor:
        for key in reversed(call.advisory_keys):
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    call.advisory_keys.clear()


def audited(**fields) -> KeptWrite:
    """A kept write that records the refusal in the audit log:
    `raise SomethingRefused().keep(audited(action=..., customer=..., ...))`."""

    def write(error: DomainError) -> None:
        audit_record(**fields)

    return write
