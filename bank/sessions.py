"""The session store: Django's database sessions, with database faults left visible.

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

from django.contrib.sessions.backends.base import VALID_KEY_CHARS, UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import InterfaceError, OperationalError


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key):
        # SECURITY: a session key is what Django made: lower-case letters and digits.
        # Anything else in the cookie (a NUL byte, which PostgreSQL refuses in text and
        # answered with a 500) is no session, and never reaches a query (tests/fuzz).
        return super()._validate_session_key(key) and all(ch in VALID_KEY_CHARS for ch in key)

    def save(self, must_create=False):
        try:
            return super().save(must_create=must_create)
        except UpdateError as error:
            cause = error.__context__
            if isinstance(cause, OperationalError | InterfaceError):
                raise cause from None
            raise
