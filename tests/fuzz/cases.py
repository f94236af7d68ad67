"""Running one fuzz case and judging the answer.

Every case runs in a savepoint that is rolled back afterwards, so cases are
independent (a throttle, a logout or a deletion by one case is not the next
case's world); a case may repeat its request to reach the normal throttles.

What each answer must be:

1. Never a 5xx (and no exception out of the view).
2. A refusal carries a clear Korean message. A refusal is a 4xx, a redirect
   to a login page, or a page re-rendered with form errors or an error
   message. The message is the JSON answer's "error" (or "message"), a
   text/plain body, or for HTML the page title, heading, form errors or
   alert. Redirects carry no body and are accepted as refusals as they are.
   Two documented exceptions: HEAD answers have no body (RFC 9110 §9.3.2),
   and OCSP answers are DER OCSPResponses, errors included, with HTTP 200
   (RFC 6960 Appendix A.1), which have no room for a message.
3. A refusal changes nothing: the row count of every table (except
   REFUSAL_MAY_WRITE below), every balance, and every certificate's status
   are the same before and after.
4. Whatever the answer, a fuzz case never moves money (no request here can
   carry a valid signature): balances, ledger entries and transfers never
   change. And a customer (or a logged-out visitor) never changes another
   person's rows: per person, the rows that point at them (favourites,
   designated and cloud devices, certificates, registrations, grants, ...)
   and their certificates' statuses stay as they were.
"""

import json
import os
import re
import traceback
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import unquote, unquote_to_bytes

from django.apps import apps
from django.contrib import messages
from django.db import connection, models, transaction
from django.urls import Resolver404

from tests.fuzz import world as W
from tests.fuzz.strategies import Case

# Tables a refusal may legitimately write, and why (the rest must not change):
REFUSAL_MAY_WRITE = {
    # Refusals of security events are audited in the same transaction (core.boundary kept writes).
    "audit.AuditEvent": "refusals are audited (core.boundary.audited)",
    "audit.AuditChainHead": "the audit chain's head moves with each audit row",
    # Failure counters are what a refusal is for.
    "core.Throttle": "back-off counters of refused attempts (core.throttle)",
    "certificates.CopyClientCounter": "인증서 복사: wrong numbers and opened sessions per network",
    "banking.RecipientLookupLimit": "수취인 조회: failed lookups per customer",
    # Anonymous refusals may start a session (e.g. 인증서 복사 keeps its per-browser wrong-number count).
    "sessions.Session": "a refusal may save the browser session it counts in",
}

HANGUL = re.compile("[\uac00-\ud7a3]")
# Where a page says what went wrong: form errors, error notes and alerts that are shown (not
# the hidden containers a page's script fills), and its title and heading.
_ERROR_TAG = re.compile(
    r"<[a-z0-9]+\b[^>]*class=\"[^\"]*\b(?:errorlist|form-errors|field__error|errornote|flash--error)\b[^\"]*\"[^>]*>"
)
_HEADING_TAG = re.compile(r"<(?:title|h1)\b[^>]*>")
_TAG = re.compile(r"<[^>]*>")


def _text_after(html: str, end: int) -> str:
    return " ".join(_TAG.sub(" ", html[end : end + 400]).split())


def error_texts(html: str) -> list[str]:
    """The visible error messages of a page."""
    return [_text_after(html, m.end()) for m in _ERROR_TAG.finditer(html) if not re.search(r"\shidden[\s>=]", m.group())]


# --- State -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    counts: dict
    balances: tuple
    statuses: tuple  # (certificate pk, holder pk, status)
    owned: dict  # customer pk -> {model label: rows pointing at them}


def _models():
    return [m for m in apps.get_models() if not m._meta.proxy and m._meta.managed]


def _owner_columns():
    """(model label, table, column) for each foreign key to the customer model
    (the audit log aside: it records attempts against a person, which is its job)."""
    from django.contrib.auth import get_user_model

    customer = get_user_model()
    out = []
    for model in _models():
        if model._meta.label in REFUSAL_MAY_WRITE:
            continue
        for f in model._meta.concrete_fields:
            if isinstance(f, models.ForeignKey) and f.related_model is customer:
                out.append((model._meta.label, model._meta.db_table, f.column))
    return out


_COUNT_SQL = None
_OWNED_SQL = None


def snapshot() -> Snapshot:
    global _COUNT_SQL, _OWNED_SQL
    from banking.models import DepositAccount
    from certificates.models import Certificate

    q = connection.ops.quote_name
    all_models = _models()
    if _COUNT_SQL is None:
        _COUNT_SQL = " UNION ALL ".join(f"SELECT {i}, COUNT(*) FROM {q(m._meta.db_table)}" for i, m in enumerate(all_models))
        owner = _owner_columns()
        _OWNED_SQL = (
            " UNION ALL ".join(
                f"SELECT {i}, {q(column)}, COUNT(*) FROM {q(table)} WHERE {q(column)} IS NOT NULL GROUP BY {q(column)}"
                for i, (_label, table, column) in enumerate(owner)
            ),
            owner,
        )
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_SQL)
        counts = {all_models[i]._meta.label: n for i, n in cursor.fetchall()}
        sql, owner = _OWNED_SQL
        cursor.execute(sql)
        owned: dict = {}
        for i, customer_pk, n in cursor.fetchall():
            owned.setdefault(customer_pk, {})[owner[i][0]] = n
    balances = tuple(DepositAccount.objects.order_by("pk").values_list("pk", "balance"))
    statuses = tuple(Certificate.objects.order_by("pk").values_list("pk", "holder_id", "status"))
    return Snapshot(counts, balances, statuses, owned)


def _diff(before: dict, after: dict, keys=None) -> dict:
    keys = keys if keys is not None else set(before) | set(after)
    return {k: (before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)}


# --- Judging an answer --------------------------------------------------------------------------


def _queued_errors(response) -> list[str]:
    storage = getattr(response.wsgi_request, "_messages", None)
    queued = getattr(storage, "_queued_messages", []) or []
    return [str(m.message) for m in queued if m.level >= messages.ERROR]


def message_of(response) -> str:
    """The Korean message a refusal shows, or '' (see the module docstring)."""
    content_type = response.get("Content-Type", "")
    if content_type.startswith("application/json"):
        try:
            data = json.loads(response.content)
        except ValueError:
            return ""
        if isinstance(data, dict):
            text = str(data.get("error") or data.get("message") or "")
            return text if HANGUL.search(text) else ""
        return ""
    text = response.content.decode("utf-8", "replace")
    if content_type.startswith("text/html"):
        headings = [_text_after(text, m.end())[:120] for m in _HEADING_TAG.finditer(text)]
        found = " ".join(headings + error_texts(text) + _queued_errors(response))
        return found if HANGUL.search(found) else ""
    return text if HANGUL.search(text) else ""


def is_refusal(response) -> bool:
    status = response.status_code
    if 400 <= status < 500:
        return True
    if 300 <= status < 400:
        return "/login/" in response.get("Location", "") or bool(_queued_errors(response))
    if status == 200 and response.get("Content-Type", "").startswith("text/html"):
        return bool(error_texts(response.content.decode("utf-8", "replace"))) or bool(_queued_errors(response))
    return False


class Stats:
    """Cases and answers per endpoint, for `make fuzz`'s table."""

    def __init__(self):
        self.by_status = Counter()  # (route, status) -> requests
        self.cases = Counter()  # route -> cases
        self.reached = Counter()  # route -> requests its view answered
        self.refusal_writes = Counter()  # table of REFUSAL_MAY_WRITE -> refusals that wrote it

    def record(self, route: str, response):
        status = response.status_code if response is not None else 500
        self.by_status[(route, status)] += 1
        try:  # the test client resolves lazily: a path that matches nothing raises here
            reached = response is not None and response.resolver_match.route == route
        except Resolver404:
            reached = False
        if reached:
            self.reached[route] += 1


STATS = Stats()


def _send(client, case: Case):
    for name, value in case.cookies.items():
        client.cookies[name] = value.encode("utf-8", "surrogatepass").decode("latin-1")
    kwargs = dict(case.headers)
    if case.content_type is not None:
        kwargs["content_type"] = case.content_type
    return client.generic(case.method, case.path, case.body, **kwargs)


_LOG = os.environ.get("FUZZ_LOG")  # a file to append one line per request to (for looking into a run)


def _log(route: str, case: Case, response) -> None:
    if not _LOG:
        return
    status = response.status_code if response is not None else 500
    with open(_LOG, "a", encoding="utf-8") as out:
        line = {"route": route, "actor": case.actor, "method": case.method, "path": case.path[:300], "status": status}
        line["body"] = case.body[:200].decode("latin-1")
        line["answer"] = response.content[:300].decode("utf-8", "replace") if response is not None else ""
        out.write(json.dumps(line, ensure_ascii=False) + "\n")


def _typed(case: Case) -> str:
    """Everything the case sent, as text, percent-decoding undone."""
    sent = [case.path, unquote(case.path), *case.headers.values(), *case.cookies.values()]
    sent += [case.body.decode("latin-1"), unquote_to_bytes(case.body).decode("utf-8", "surrogateescape")]
    sent += [unquote_to_bytes(case.body).decode("latin-1")]
    return "\n".join(sent)


@contextmanager
def _fuzz_input_is_no_secret(case: Case):
    """The privacy scan (tests/privacy.py) notes a secret where one enters the
    system: every password the test hasher encodes, every RRN parsed. What the
    fuzzer typed into a password or RRN field is junk it may also put in a
    path, which a 404 page echoes; it is no one's secret. Secrets the server
    made during the case (an SMS code, a key) were not typed, and stay noted."""
    try:
        from tests.privacy import REGISTRY
    except ImportError:  # the scan is not installed
        yield
        return
    known = set(REGISTRY.secrets)
    try:
        yield
    finally:
        typed = _typed(case)
        with REGISTRY._lock:
            for secret in set(REGISTRY.secrets) - known:
                if secret in typed:
                    del REGISTRY.secrets[secret]


def run(world: "W.World", route: str, case: Case) -> None:
    """Send the case (in a savepoint rolled back afterwards) and check every answer."""
    STATS.cases[route] += 1
    with _fuzz_input_is_no_secret(case), transaction.atomic():
        client = world.client(case.actor, enforce_csrf_checks=case.csrf)
        for attempt in range(case.repeat):
            before = snapshot()  # per attempt: a first success may change what a repeat is refused
            try:
                response = _send(client, case)
            except Exception as exc:  # the view raised: Django would have answered 500
                STATS.record(route, None)
                # Chained, so that Hypothesis tells 500s of different origins apart and reports each.
                raise AssertionError(
                    f"500 (exception in the view) for {case!r} (attempt {attempt + 1}):\n"
                    + "".join(traceback.format_exception(exc))[-6000:]
                ) from exc
            STATS.record(route, response)
            _log(route, case, response)
            _judge(world, case, response, before, attempt)
        transaction.set_rollback(True)


def _judge(world, case: Case, response, before: Snapshot, attempt: int) -> None:
    status = response.status_code
    where = f"{case!r} (attempt {attempt + 1}) answered {status}"
    body = response.content[:1500]
    assert status < 500, f"{where}: a server error\n{body!r}"
    refusal = is_refusal(response)
    exempt = case.method == "HEAD" or response.get("Content-Type", "").startswith("application/ocsp-response")
    if refusal and not (300 <= status < 400) and not exempt:
        assert message_of(response), f"{where}: a refusal without a clear Korean message\n{body!r}"
    if 300 <= status < 400 and _queued_errors(response):  # the message waits for the next page
        assert HANGUL.search(" ".join(_queued_errors(response))), f"{where}: {_queued_errors(response)}"
    after = snapshot()
    # Money never moves in a fuzz case.
    assert after.balances == before.balances, f"{where}: balances changed {_diff(dict(before.balances), dict(after.balances))}"
    for label in ("banking.LedgerEntry", "banking.Transfer"):
        assert after.counts[label] == before.counts[label], f"{where}: {label} rows changed"
    if refusal:
        changed = _diff(before.counts, after.counts, set(before.counts) - set(REFUSAL_MAY_WRITE))
        assert not changed, f"{where}: a refusal changed row counts {changed}\n{body!r}"
        assert after.statuses == before.statuses, f"{where}: a refusal changed certificate statuses"
        for label in _diff(before.counts, after.counts, set(REFUSAL_MAY_WRITE)):
            STATS.refusal_writes[label] += 1
    if case.actor in W.STAFF_ACTORS:
        return  # staff may change what their role allows (the money check above holds for them too)
    # A customer or visitor changes nobody else's rows.
    me = world.person.get(case.actor)
    others = {pk for pk, index in world.person_of_customer.items() if index != me}
    changed = {pk: _diff(before.owned.get(pk, {}), after.owned.get(pk, {})) for pk in others}
    changed = {pk: d for pk, d in changed.items() if d}
    assert not changed, f"{where}: changed another person's rows {changed}\n{body!r}"
    theirs_before = [s for s in before.statuses if s[1] in others]
    theirs_after = [s for s in after.statuses if s[1] in others]
    assert theirs_before == theirs_after, f"{where}: changed another person's certificate status"
