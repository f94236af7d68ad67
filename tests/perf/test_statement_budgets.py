"""Statement budgets (issue 13): how many SQL statements each hot request
may run, after-commit work (sealing the audit rows) included. Each budget is
what the optimised code needs, written down so that a regression fails here;
raise one only with a reason in the commit message.

Counts, not timings: `make bench` measures time."""

import contextlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from banking.models import Transfer
from tests.banking.test_transfer_views import approve, fill, review
from tests.certificates.test_certificate_login import get_challenge, login
from tests.conftest import PASSWORD

# Committed for real, so the after-commit seal of the audit rows runs, and is counted, where it does in production.
pytestmark = pytest.mark.django_db(transaction=True)

# request -> most statements it may run: the count on PostgreSQL (the larger of the two
# databases) on 2026-12-07, after-commit sealing of the audit rows included (5-8 of each).
BUDGETS = {
    "password login": 20,  # PBKDF2 check, lock counters, the session INSERTed once, last_login, audit
    "certificate challenge": 3,  # the visitor's session INSERTed once, the challenge
    "certificate login": 22,  # one service transaction (challenge, certificate, throttles, audit), session once
    "overview": 4,
    "history": 6,  # a keyset page: bounded count, the page, no OFFSET
    "transfer form": 19,
    "transfer review": 11,
    # one transaction: the customer locked once, each rule read once, one UPDATE for the balances,
    # one INSERT each for the ledger rows and the audit rows
    "transfer signed POST": 28,
    "receipt": 6,
}


@pytest.fixture
def budget():
    @contextlib.contextmanager
    def within(name: str):
        with CaptureQueriesContext(connection) as queries:
            yield
        statements = "\n".join(q["sql"][:200] for q in queries.captured_queries)
        assert len(queries) <= BUDGETS[name], f"{name}: {len(queries)} statements, budget {BUDGETS[name]}:\n{statements}"

    return within


def test_password_login(client, customer, budget):
    client.get("/nuri/login/")
    with budget("password login"):
        response = client.post("/nuri/login/", {"login_id": "hong", "password": PASSWORD})
    assert response.status_code == 302


def test_certificate_login(client, holder, budget):
    with budget("certificate challenge"):
        token, to_sign = get_challenge(client)
    with budget("certificate login"):
        response = login(client, holder.der, holder.key, token=token, to_sign=to_sign)
    assert response.status_code == 200, response.content


def test_overview_and_history(logged_in_client, customer, budget):
    number = customer.deposit_accounts.get().number
    logged_in_client.get("/nuri/accounts/")
    with budget("overview"):
        assert logged_in_client.get("/nuri/accounts/").status_code == 200
    with budget("history"):
        assert logged_in_client.get(f"/nuri/accounts/{number}/").status_code == 200


def test_transfer(logged_in_client, holder, chulsoo, budget):
    to_account = chulsoo.deposit_accounts.get()
    logged_in_client.get("/nuri/transfer/")
    with budget("transfer form"):
        assert fill(logged_in_client, to_account).status_code == 302
    with budget("transfer review"):
        token, to_sign, _html = review(logged_in_client)
    with budget("transfer signed POST"):
        response = approve(logged_in_client, holder, token, to_sign)
    assert response.status_code == 200, response.content
    with budget("receipt"):
        assert logged_in_client.get(f"/nuri/transfer/{Transfer.objects.get().reference}/").status_code == 200


def _session_writes(queries) -> list[str]:
    return [q["sql"][:40] for q in queries.captured_queries if "django_session" in q["sql"] and "SELECT" not in q["sql"][:10]]


def test_a_login_writes_its_session_row_once_and_drops_the_old_one_in_one_statement(client, customer):
    client.post("/nuri/certificates/challenge/", {"purpose": "login"})  # a visitor's session exists
    with CaptureQueriesContext(connection) as queries:
        assert client.post("/nuri/login/", {"login_id": "hong", "password": PASSWORD}).status_code == 302
    writes = _session_writes(queries)
    assert [w.split()[0] for w in writes] == ["DELETE", "INSERT"], writes
    assert "BEGIN" not in [q["sql"] for q in queries.captured_queries][-4:]  # the session statements are not wrapped


def test_a_visitors_first_challenge_inserts_its_session_once(client, banks):
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/nuri/certificates/challenge/", {"purpose": "login"})
    assert response.status_code == 200
    assert [w.split()[0] for w in _session_writes(queries)] == ["INSERT"]
    # The key the challenge is bound to is the one the browser got.
    key = client.cookies["sessionid"].value
    from django.contrib.sessions.models import Session

    assert Session.objects.filter(session_key=key).exists()


def test_a_changed_session_is_written_in_one_statement_outside_a_transaction(logged_in_client, chulsoo):
    logged_in_client.get("/nuri/transfer/")
    with CaptureQueriesContext(connection) as queries:
        assert fill(logged_in_client, chulsoo.deposit_accounts.get()).status_code == 302  # keeps the draft in the session
    sql = [q["sql"] for q in queries.captured_queries]
    at = [i for i, statement in enumerate(sql) if statement.startswith('UPDATE "django_session"')]
    assert len(at) == 1, sql
    # Not wrapped in BEGIN ... COMMIT of its own: the request's last statement, alone.
    assert at[0] == len(sql) - 1 and sql[at[0] - 1] != "BEGIN", sql[at[0] - 2 :]


def _writes_outside_one_transaction(queries) -> list[str]:
    """The writes of a request that are not in its first transaction, the audit sealer's aside."""
    sql = [q["sql"] for q in queries.captured_queries]
    begin, commit = sql.index("BEGIN"), sql.index("COMMIT")
    writes = [(i, s) for i, s in enumerate(sql) if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]
    return [s[:80] for i, s in writes if not begin < i < commit and '"audit_' not in s]


@pytest.mark.parametrize("kind", ["password", "certificate"])
def test_a_login_commits_once_with_its_session_row_and_last_login(kind, client, customer, holder):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's driver opens and commits transactions without statements the ORM logs")
    if kind == "password":
        client.get("/nuri/login/")
        with CaptureQueriesContext(connection) as queries:
            assert client.post("/nuri/login/", {"login_id": "hong", "password": PASSWORD}).status_code == 302
    else:
        token, to_sign = get_challenge(client)
        with CaptureQueriesContext(connection) as queries:
            assert login(client, holder.der, holder.key, token=token, to_sign=to_sign).status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    assert sql.count("COMMIT") == 2, sql  # the login, then the audit sealer's
    assert _writes_outside_one_transaction(queries) == []
    first = sql[sql.index("BEGIN") : sql.index("COMMIT")]
    assert any(s.startswith('INSERT INTO "django_session"') for s in first)
    assert any(s.startswith('UPDATE "accounts_customer" SET "last_login"') for s in first)
