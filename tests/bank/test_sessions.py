"""Saving the session at the end of a request (bank.sessions): a database fault
is a logged 500, not Django's unlogged 400 "session deleted concurrently"
(found by the torture test: a statement timeout while the session was saved
showed "잘못된 요청" and left nothing in the log)."""

import datetime
import logging

import pytest
from django.contrib.sessions.models import Session
from django.db import OperationalError
from django.utils import timezone

from bank.sessions import SessionStore


@pytest.fixture
def session_save_fails(monkeypatch):
    def fail_with(error):
        def write(self, *, must_create):
            raise error

        monkeypatch.setattr(SessionStore, "_write", write)

    return fail_with


@pytest.fixture
def stamp_aged(time_machine):
    """Half a minute on: the next logged-in request rewrites the idle stamp, so saves the session."""
    time_machine.move_to(timezone.now() + datetime.timedelta(seconds=31))


def test_a_database_fault_while_saving_the_session_is_a_logged_500(
    logged_in_client, session_save_fails, settings, caplog, stamp_aged
):
    settings.DEBUG = False
    logged_in_client.raise_request_exception = False
    session_save_fails(OperationalError("canceling statement due to statement timeout"))
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = logged_in_client.get("/nuri/accounts/")
    assert response.status_code == 500
    assert "canceling statement due to statement timeout" in caplog.text  # the traceback is in the log
    assert response["X-Request-ID"] in response.content.decode()


def test_a_session_deleted_in_a_concurrent_request_is_still_a_400(logged_in_client, settings, stamp_aged, monkeypatch):
    settings.DEBUG = False
    logged_in_client.raise_request_exception = False
    # Logged out in another tab between this request's read of the row and its write.
    load = SessionStore.load

    def load_then_lose(self):
        data = load(self)
        Session.objects.filter(session_key=self.session_key).delete()
        return data

    monkeypatch.setattr(SessionStore, "load", load_then_lose)
    assert logged_in_client.get("/nuri/accounts/").status_code == 400
