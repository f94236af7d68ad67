"""A request id for every request: in the log line of anything logged while
it runs (a 500's traceback included), in the X-Request-ID response header,
and on the error page, so a customer can quote it and staff can find it."""

import contextvars
import logging
import secrets

_CURRENT = contextvars.ContextVar("certbank_request_id", default="-")


def request_id_new() -> str:
    return secrets.token_hex(6)


def request_id_enter(request_id: str):
    return _CURRENT.set(request_id)


def request_id_leave(token) -> None:
    _CURRENT.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every log record (LOGGING's formatter prints it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _CURRENT.get()
        return True
