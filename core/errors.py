"""One base for every refusal a person can see, in every app.

A `DomainError` carries a stable `code` (what scripts and tests match), a
Korean `message` that is safe to show, and the HTTP `status` (always 4xx) a
view answers with; `retry_after` (seconds) goes with a 429. Services raise
them; views turn them into a form error, a page message or a JSON answer
(core.http). Nothing else is shown to a customer: any other exception is a
bug and a logged 500.

Writes that must outlive the refusal (a strike counter, the refusal's audit
row) are attached with `keep()` and made by the service boundary after the
service's transaction has rolled back (core.boundary).
"""

import math
import re
from collections.abc import Callable

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

# A kept write: called with the error it was kept for, after the rollback; it
# may return another error to raise instead (a strike that just locked
# something says so: "5회 틀려 잠겼습니다" rather than "1회 남았습니다").
KeptWrite = Callable[["DomainError"], "DomainError | None"]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class DomainError(Exception):
    code = "refused"
    message = _("요청을 처리할 수 없습니다.")
    status = 400

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Each subclass names itself (InvalidCredentials -> "invalid_credentials")
        # unless it chooses a code.
        if "code" not in cls.__dict__:
            cls.code = _snake(cls.__name__)

    def __init__(self, message=None, *, code: str | None = None, status: int | None = None, retry_after: int | None = None):
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        if not 400 <= self.status < 500:
            raise ValueError(f"a refusal answers with a 4xx status, not {self.status}")
        self.retry_after = retry_after
        self.kept: list[KeptWrite] = []
        super().__init__(str(self.message))

    def keep(self, write: KeptWrite) -> "DomainError":
        """Have the service boundary make `write` after the rollback. Chainable."""
        self.kept.append(write)
        return self


class Throttled(DomainError):
    """Too many attempts: wait `retry_after` seconds. The message always says how long."""

    status = 429

    def __init__(self, retry_after: int, message=None, *, code: str | None = None):
        retry_after = max(1, math.ceil(retry_after))
        super().__init__(message or wait_message(retry_after), code=code, retry_after=retry_after)


def wait_text(seconds: int) -> str:
    """How long to wait, as the end of a sentence: in seconds under two minutes, else minutes."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 120:
        return ngettext("%(n)d초 후에 다시 시도해 주세요.", "%(n)d초 후에 다시 시도해 주세요.", seconds) % {"n": seconds}
    minutes = math.ceil(seconds / 60)
    return ngettext("%(n)d분 후에 다시 시도해 주세요.", "%(n)d분 후에 다시 시도해 주세요.", minutes) % {"n": minutes}


def wait_message(seconds: int) -> str:
    """'잠시 후' is no answer: the message always says how long."""
    return _("여러 번 잘못 입력했습니다. %(wait)s") % {"wait": wait_text(seconds)}
