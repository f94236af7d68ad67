"""One test for each class of failure the fuzzer (tests/fuzz/test_endpoints.py)
or the outside tester found: a 500, or a refusal without a Korean message.
Each fails without its fix; run them on SQLite and on PostgreSQL (NUL bytes
are a PostgreSQL error, not an SQLite one)."""

import base64
import re

import pytest
from django.conf import settings
from django.test import Client

from tests.fuzz.strategies import ocsp_request

pytestmark = pytest.mark.django_db

REQUIRED = "필수 항목입니다"  # Django's Korean "This field is required."


# --- The staff login with a field left out (bank.admin_site.StaffLoginForm) -----------------------


@pytest.mark.parametrize(
    "data",
    [{}, {"username": "staff"}, {"password": "Staff!Certbank2026"}, {"username": "", "password": ""}, {"otp_token": "123456"}],
    ids=["nothing", "no-password", "no-username", "both-empty", "only-a-code"],
)
def test_staff_login_with_a_field_left_out_says_which_and_logs_nobody_in(client, staff, data):
    response = client.post("/staff/login/", data)
    assert response.status_code == 200
    assert REQUIRED in response.content.decode()
    assert client.get("/staff/").status_code == 302


# --- An address that takes POST only, asked with GET (bank.middleware.EmptyRefusalMiddleware) --------


@pytest.mark.parametrize(
    "path", ["/nuri/logout/", "/nuri/session/extend/", "/nuri/transfer/recipient/", "/nuri/devices/1/release/", "/ca/ocsp"]
)
def test_a_method_an_address_does_not_take_is_a_405_with_a_korean_page(client, banks, path):
    response = client.get(path)
    assert response.status_code == 405
    assert "POST" in response["Allow"]
    assert "허용되지 않는 요청입니다" in response.content.decode()


def test_a_script_asking_in_json_gets_the_405_message_in_json(client, banks):
    response = client.get("/nuri/session/extend/", HTTP_ACCEPT="application/json")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "허용되지 않는 요청입니다" in response.json()["error"]


def test_head_keeps_its_empty_body(client, banks):
    assert client.head("/nuri/logout/").content == b""


def test_the_405_page_of_a_new_browser_carries_a_working_csrf_token(banks):
    """The refusal page's footer has the language switch form: the token in it
    must come with its cookie, or the switch is refused by CSRF."""
    browser = Client(enforce_csrf_checks=True)
    response = browser.get("/nuri/logout/")
    assert response.status_code == 405
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode()).group(1)
    assert settings.CSRF_COOKIE_NAME in response.cookies
    switched = browser.post("/i18n/setlang/", {"language": "en", "next": "/nuri/", "csrfmiddlewaretoken": token})
    assert switched.status_code == 302


# --- NUL bytes where a token is expected (the tester's PostgreSQL 500s) ----------------------------


@pytest.mark.parametrize(
    "path, data",
    [
        ("/nuri/login/certificate/", {"challenge": "abc\x00def", "certificate": "MA==", "signature": "AA=="}),
        ("/nuri/certificates/register/complete/", {"challenge": "\x00", "certificate": "MA==", "signature": "AA==", "r": "AA=="}),
        ("/nuri/certificates/copy/status/", {"token": "tok\x00en"}),
        ("/nuri/certificates/copy/find/", {"token": "\x00", "number": "1234\x005678"}),
        ("/nuri/certificates/copy/join/", {"token": "\x00", "sender_public_key": "BA=="}),
        ("/nuri/certificates/cloud/unlock/", {"serial": "ab\x00cd", "verifier": "AA=="}),
    ],
)
def test_nul_bytes_in_tokens_are_refused_in_korean_before_any_query(client, banks, path, data):
    response = client.post(path, data)
    assert 400 <= response.status_code < 500
    assert response.json()["error"]


def test_a_session_cookie_with_a_nul_byte_is_a_fresh_session(banks):
    client = Client()
    client.cookies["sessionid"] = "abcdefgh\x00ijklmnop"
    assert client.get("/nuri/").status_code == 200


# --- OCSP for a serial no certificate can have (certificates/ca/, certificates/ca_views.py) ---------


def _answer_of(response):
    from cryptography.x509 import ocsp

    assert response.status_code == 200
    assert response["Content-Type"] == "application/ocsp-response"
    return ocsp.load_der_ocsp_response(response.content)


def _issuer_hashes():
    from tests.fuzz.world import _issuer_hashes

    return _issuer_hashes()


@pytest.mark.parametrize("serial", [-5, 0, 2**400], ids=["negative", "zero", "huge"])
def test_ocsp_for_a_serial_no_certificate_has_is_answered_unknown_not_a_500(client, test_ca, banks, serial):
    from cryptography.x509 import ocsp

    der = ocsp_request([serial], *_issuer_hashes())
    for response in (
        client.post("/ca/ocsp", der, content_type="application/ocsp-request"),
        client.get("/ca/ocsp/" + base64.urlsafe_b64encode(der).decode().rstrip("=")),
    ):
        answer = _answer_of(response)
        assert answer.response_status in (ocsp.OCSPResponseStatus.SUCCESSFUL, ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        if answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL:
            assert answer.certificate_status == ocsp.OCSPCertStatus.UNKNOWN


# --- A staff search longer than any name or number (bank.admin_site.StaffSite.admin_view) -----------


@pytest.mark.parametrize(
    "path", ["/staff/banking/depositaccount/?q=", "/staff/accounts/customer/?q=", "/staff/autocomplete/?app_label=x&term="]
)
def test_a_staff_search_longer_than_200_characters_is_refused_in_korean(staff_client, path):
    response = staff_client.get(path + "A" * 60_000)
    assert response.status_code == 400
    assert "검색어는 200자까지 입력할 수 있습니다" in response.content.decode()


def test_a_staff_search_of_200_characters_still_searches(staff_client):
    response = staff_client.get("/staff/banking/depositaccount/?q=" + "9" * 200)
    assert response.status_code == 200


def test_ocsp_with_several_requests_in_one_is_malformed_not_a_500(client, test_ca, banks):
    from cryptography.x509 import ocsp

    der = ocsp_request([1, 2], *_issuer_hashes())
    for response in (
        client.post("/ca/ocsp", der, content_type="application/ocsp-request"),
        client.get("/ca/ocsp/" + base64.urlsafe_b64encode(der).decode().rstrip("=")),
    ):
        assert _answer_of(response).response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


# --- A change-list action on rows that are not keys (bank.admin_site.SelectionGuard) ----------------


@pytest.mark.parametrize("selected", ["", "action", "1x", "\x00"])
def test_an_action_on_a_selection_that_is_no_key_is_refused_with_a_message(staff_client, customer, selected):
    from certificates.models import Certificate

    statuses = list(Certificate.objects.values_list("pk", "status"))
    response = staff_client.post(
        "/staff/certificates/certificate/",
        {"action": "suspend_certificates", "index": "0", "_selected_action": selected},
        follow=True,
    )
    assert response.status_code == 200
    assert "선택한 항목을 찾을 수 없습니다" in response.content.decode()
    assert list(Certificate.objects.values_list("pk", "status")) == statuses


def test_every_model_of_the_staff_console_has_the_selection_guard():
    from bank.admin_site import SelectionGuard, staff_site

    assert all(isinstance(model_admin, SelectionGuard) for model_admin in staff_site._registry.values())
