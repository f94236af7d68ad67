"""Logging out an idle session after 10 minutes (bank.middleware.IdleTimeoutMiddleware)."""

import datetime

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from tests.conftest import PASSWORD

START = datetime.datetime(2026, 11, 22, 3, 0, tzinfo=datetime.UTC)


@pytest.fixture
def clock(db):
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def session_client(clock, client, customer):
    """A customer logged in at START (the clock fixture keeps time frozen)."""
    assert client.post("/nuri/login/", {"login_id": "hong", "password": PASSWORD}).status_code == 302
    return client


def test_idle_timeout_is_ten_minutes(settings):
    assert settings.CERTBANK_IDLE_TIMEOUT == 600


def test_session_idle_for_599_seconds_is_renewed(session_client, clock):
    clock.shift(599)
    assert session_client.get("/nuri/accounts/").status_code == 200
    clock.shift(599)  # counted from the last request, not from the login
    assert session_client.get("/nuri/accounts/").status_code == 200
    assert session_client.session.get(SESSION_KEY) is not None


def test_session_idle_for_601_seconds_is_logged_out(session_client, clock, customer):
    clock.shift(601)
    response = session_client.get("/nuri/accounts/")
    assert response.status_code == 302
    assert response["Location"] == "/nuri/"
    assert session_client.session.get(SESSION_KEY) is None
    event = AuditEvent.objects.get(action="session_expired")
    assert event.customer == customer
    followed = session_client.get(response["Location"])
    assert followed.status_code == 200
    assert "10분 동안 사용하지 않아 자동으로 로그아웃되었습니다" in followed.content.decode()
    assert session_client.get("/nuri/accounts/").status_code == 302  # the login is gone for good


def test_expired_session_cannot_post_either(session_client, clock, customer):
    clock.shift(601)
    response = session_client.post("/nuri/session/extend/")
    assert response.status_code == 302
    assert session_client.session.get(SESSION_KEY) is None


def test_extending_the_session_restarts_the_countdown(session_client, clock):
    clock.shift(300)
    response = session_client.post("/nuri/session/extend/")
    assert response.status_code == 200
    assert response.json() == {"seconds_left": 600, "logged_in": True}
    clock.shift(599)
    assert session_client.get("/nuri/accounts/").status_code == 200


def test_extend_by_get_is_not_allowed(session_client):
    assert session_client.get("/nuri/session/extend/").status_code == 405


def test_extend_without_a_login_says_so(client, banks):
    response = client.post("/nuri/session/extend/")
    assert response.status_code == 401
    # The timer script reads logged_in; the message is the Korean refusal every JSON answer carries (tests/fuzz).
    assert response.json() == {
        "seconds_left": 0,
        "logged_in": False,
        "error": "로그인이 필요합니다. 다시 로그인해 주세요.",
        "code": "login_required",
    }


def test_page_tells_the_countdown_script_the_seconds_left(session_client, clock):
    clock.shift(100)
    body = session_client.get("/nuri/accounts/").content.decode()
    assert 'data-idle-seconds="600"' in body
    assert 'data-idle-extend-url="/nuri/session/extend/"' in body


def test_anonymous_visitors_are_not_timed(client, banks, clock):
    assert client.get("/nuri/").status_code == 200
    clock.shift(3600)
    assert client.get("/nuri/").status_code == 200
    assert not AuditEvent.objects.filter(action="session_expired").exists()


def _session_writes(client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return sum(1 for q in queries if "django_session" in q["sql"] and q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT")))


def test_the_idle_stamp_is_rewritten_only_once_it_is_half_a_minute_old(session_client, clock):
    clock.shift(31)
    assert _session_writes(session_client, "/nuri/accounts/") == 1  # the stamp had aged: renewed
    clock.shift(10)
    assert _session_writes(session_client, "/nuri/accounts/") == 0  # a page 10 s later saves nothing
    clock.shift(19)
    assert _session_writes(session_client, "/nuri/accounts/") == 0
    clock.shift(1)
    assert _session_writes(session_client, "/nuri/accounts/") == 1  # 30 s after the stamp


def test_idleness_counts_from_the_stamp_so_a_logout_comes_early_never_late(session_client, clock):
    clock.shift(40)
    assert session_client.get("/nuri/accounts/").status_code == 200  # stamped at 40 s
    clock.shift(20)
    assert session_client.get("/nuri/accounts/").status_code == 200  # 60 s: not stamped
    clock.shift(581)  # 601 s after the stamp, 581 s after the last request
    assert session_client.get("/nuri/accounts/").status_code == 302
    assert session_client.session.get(SESSION_KEY) is None
