"""The session store: Django's database sessions, written once per request,
with database faults left visible.

Written once (issue 13): Django's database store writes a new session row
at once when it makes a key (a login's cycle_key, the first challenge of a
visitor) and again when the request ends, after checking that the random
key is unused, and deletes the old row with a SELECT and a DELETE. Here a
new key is only remembered, and the one save at the end of the request
INSERTs it (a clash of two random 32-character keys, 36^32, is retried
there); the old row goes with one DELETE.

The row is written with one statement, in a transaction or not: Django
wraps even a single UPDATE in BEGIN ... COMMIT, or in a savepoint inside a
transaction. A login writes it inside its own transaction (bank.http.
login_in_one_transaction); the middleware's save at the end of that request
then finds nothing changed and writes nothing.

Django's database backend turns *any* DatabaseError while updating the
session row at the end of a request into UpdateError, which the session
middleware answers as a 400 "the session was deleted in a concurrent
request" (SessionInterrupted), logging nothing. A lost connection or a
statement or lock timeout at that moment (found by the torture test,
tools/torture) therefore showed the customer "잘못된 요청입니다" with no
trace in the log, even after a transfer in that request had committed.
Here such an error stays what it is: a server error, logged with its
traceback and request id (issue 12 §2). A session row that really is gone
(logged out in another tab) is still Django's 400.
"""

from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.utils.crypto import get_random_string


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key):
        # SECURITY: a session key is what Django made: lower-case letters and digits.
        # Anything else in the cookie (a NUL byte, which PostgreSQL refuses in text and
        # answered with a 500) is no session, and never reaches a query (tests/fuzz).
        return super()._validate_session_key(key) and all(ch in VALID_KEY_CHARS for ch in key)

    _unwritten = False  # a key made in this request, its row not INSERTed yet

    def create(self):
        """A new key, written by the save at the end of the request."""
        self._session_key = get_random_string(32, VALID_KEY_CHARS)
        self._unwritten = True
        if not hasattr(self, "_session_cache"):
            self._session_cache = {}  # nothing to load for a key no row has yet
        self.modified = True

    _written: tuple[str, bytes] | None = None  # (key, data) of this request's last write

    def save(self, must_create=False):
        if self.session_key is None:
            self.create()
        data = self.serializer().dumps(self._get_session(no_load=must_create))
        if not must_create and not self._unwritten and (self.session_key, data) == self._written:
            return  # written in this request already, unchanged since (a login writes it in its own transaction)
        if not self._unwritten:
            self._write(must_create=must_create)
        else:
            while True:
                try:
                    self._write(must_create=True)
                    break
                except CreateError:
                    self._session_key = get_random_string(32, VALID_KEY_CHARS)
            self._unwritten = False
        self._written = (self.session_key, data)

    def _write(self, *, must_create: bool) -> None:
        """Django's save in one statement, in a transaction or not (no savepoint)."""
        obj = self.create_model_instance(self._get_session(no_load=must_create))
        using = router.db_for_write(self.model, instance=obj)
        connection = connections[using]
        if must_create:
            # A key already taken inserts nothing (and leaves the caller's transaction usable).
            meta = self.model._meta
            table = connection.ops.quote_name(meta.db_table)
            names = ("session_key", "session_data", "expire_date")
            key, data, expiry = (connection.ops.quote_name(meta.get_field(name).column) for name in names)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {table} ({key}, {data}, {expiry}) VALUES (%s, %s, %s) ON CONFLICT ({key}) DO NOTHING",  # noqa: S608
                    [obj.session_key, obj.session_data, connection.ops.adapt_datetimefield_value(obj.expire_date)],
                )
                if cursor.rowcount != 1:
                    raise CreateError
            return
        # A database fault propagates as itself (the module docstring); no row is Django's UpdateError.
        written = (
            self.model.objects.using(using).filter(pk=obj.pk).update(session_data=obj.session_data, expire_date=obj.expire_date)
        )
        if not written:
            raise UpdateError

    def delete(self, session_key=None):
        session_key = session_key or self.session_key
        if session_key is not None:
            # One DELETE: the ORM's delete() wraps even a fast delete in BEGIN ... COMMIT.
            using = router.db_for_write(self.model)
            table = connections[using].ops.quote_name(self.model._meta.db_table)
            with connections[using].cursor() as cursor:
                cursor.execute(f"DELETE FROM {table} WHERE session_key = %s", [session_key])  # noqa: S608
