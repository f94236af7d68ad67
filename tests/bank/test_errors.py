"""A 500 is visible: its traceback is logged with a request id, DEBUG or not,
and the page shows that id for the customer to quote. SMS codes are not."""

import logging
import re

import pytest
from django.test import Client

from core.models import SmsMessage


@pytest.fixture
def failing_client(client, settings):
    settings.DEBUG = False
    client.raise_request_exception = False
    return client


@pytest.mark.urls("tests.bank.urls_failing")
def test_a_500_logs_its_traceback_and_shows_the_same_request_id(failing_client, banks, caplog):
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = failing_client.get("/test-failure/")
    assert response.status_code == 500
    request_id = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{12}", request_id)
    assert f"오류 번호: <strong data-request-id>{request_id}</strong>" in response.content.decode()
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert "boom in a view" in caplog.text  # the traceback
    assert record.request_id == request_id


def test_every_response_carries_its_request_id(client, banks):
    first, second = client.get("/nuri/"), client.get("/nuri/")
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_the_sms_log_masks_the_code_and_the_demo_phone_still_shows_it(customer, caplog, django_capture_on_commit_callbacks):
    from accounts.services import sms_code_send

    with caplog.at_level(logging.INFO, logger="certbank.sms"), django_capture_on_commit_callbacks(execute=True):
        sms_code_send(customer=customer, reason="테스트", bind="test")
    code = re.search(r"\[(\d{6})\]", SmsMessage.objects.get().body).group(1)
    assert code not in caplog.text
    assert "[******]" in caplog.text


def test_what_is_one_persons_is_never_stored_by_a_cache(logged_in_client, banks, test_ca):
    page = logged_in_client.get("/nuri/accounts/")
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    # Logged out (a browser of its own: logged_in_client is pytest-django's client).
    anonymous = Client()
    answer = anonymous.post("/nuri/certificates/challenge/", {"purpose": "login"})
    assert answer["Content-Type"].startswith("application/json") and "no-store" in answer["Cache-Control"]
    # What is public keeps its own caching: the bank's brand colours, the CA certificate relying parties fetch.
    assert "no-store" not in anonymous.get("/brand/nuri.css")["Cache-Control"]
    public_ca = anonymous.get("/ca/issuing.der")
    assert public_ca.status_code == 200 and "no-store" not in public_ca.get("Cache-Control", "")
