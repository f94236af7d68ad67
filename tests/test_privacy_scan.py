"""The privacy scan itself (tests/privacy.py): it notes the secrets the tests
use, and it finds them where they must not be."""

import logging

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from accounts.models import PhoneDevice
from accounts.services import sms_code_send
from tests import privacy
from tests.conftest import PASSWORD


def test_a_long_secret_is_found_anywhere_and_a_digit_string_never_inside_longer_digits():
    registry = privacy.Registry()
    registry.add("password", "Horse!battery9")
    registry.add("SMS code", "482913")
    assert registry.hits("log", "login failed for password Horse!battery9 today")
    assert registry.hits("log", "code=482913.")
    assert not registry.hits("log", "amount 14829130 won")
    assert not registry.hits("log", "nothing secret here")


def test_a_short_secret_is_only_found_beside_a_field_name():
    registry = privacy.Registry()
    registry.add("account PIN", "1234")
    assert not registry.hits("page", "account 901-1234-567890")
    assert registry.hits("audit row", "{'pin': '1234'}")
    assert registry.hits("log", "비밀번호=1234")


def test_a_hit_names_the_kind_and_place_never_the_secret():
    registry = privacy.Registry()
    registry.add("RRN", "9001011234568")
    [hit] = registry.hits("log", "rrn 9001011234568 refused")
    assert hit.startswith("RRN (13 chars) in log")
    assert "9001011234568" not in hit


def test_a_new_customers_rrn_and_password_are_noted(customer):
    assert privacy.REGISTRY.secrets.get("9001011234568") == "RRN"
    assert privacy.REGISTRY.secrets.get("900101-1234568") == "RRN"
    assert privacy.REGISTRY.secrets.get(PASSWORD) == "password"


def test_a_sent_sms_code_is_noted(customer):
    sms_code_send(customer=customer, reason="테스트", bind="test")
    code = PhoneDevice.objects.get(user=customer).token
    assert privacy.REGISTRY.secrets.get(code) == "SMS code"


def test_a_generated_private_key_is_noted():
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    hits = privacy.scan([("log", pem)])
    assert hits and all("private key" in hit for hit in hits)


def test_a_secret_logged_by_the_app_is_caught_from_the_log_capture(customer):
    logging.getLogger("certbank.test").info("customer typed %s", PASSWORD)
    try:
        assert privacy.scan([("log", text) for text in privacy.CAPTURE.texts])
    finally:
        privacy.CAPTURE.texts.clear()  # planted here; the teardown scan must not fail this test


@pytest.mark.parametrize("status", [400, 500])
def test_a_secret_in_an_error_response_is_caught(status, customer):
    from django.core.handlers.base import BaseHandler
    from django.http import HttpResponse
    from django.test import RequestFactory

    class Handler(BaseHandler):
        def __init__(self):
            self._middleware_chain = lambda request: HttpResponse(f"bad input {PASSWORD}", status=status)

    Handler().get_response(RequestFactory().get("/x"))
    try:
        assert privacy.scan(list(privacy.RESPONSES))
    finally:
        privacy.RESPONSES.clear()


def test_every_logged_record_is_captured_once_also_from_a_logger_that_does_not_propagate():
    isolated = logging.getLogger("certbank.test.isolated")
    isolated.propagate = False
    try:
        isolated.warning("from a logger that does not propagate")
        logging.getLogger("certbank.test").warning("from a logger that propagates")
        texts = privacy.CAPTURE.texts
        assert texts.count("certbank.test.isolated: from a logger that does not propagate") == 1
        assert texts.count("certbank.test: from a logger that propagates") == 1
    finally:
        isolated.propagate = True
        privacy.CAPTURE.texts.clear()


def test_the_public_list_of_forbidden_pins_is_no_secret(customer):
    from certificates.client.cloud import pin_verifier
    from certificates.services.cloud import WEAK_PINS

    pin_verifier("000000", b"s" * 16, 1000)  # what the weak-PIN check derives
    pin_verifier("482916", b"s" * 16, 1000)  # a customer's chosen PIN
    assert "000000" in WEAK_PINS and "000000" not in privacy.REGISTRY.secrets
    assert privacy.REGISTRY.secrets.get("482916") == "금융인증서 PIN"
