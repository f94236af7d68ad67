"""The device cookie is given only when this browser is registered as a
device (issue 12 §3), never on anonymous pages or static files; crafted
values are never looked up and are dropped."""

import pytest

from accounts.device import DEVICE_COOKIE, device_digest
from accounts.models import DesignatedDevice
from tests.verification import web_verify_by_sms

pytestmark = pytest.mark.django_db

DESIGNATE = "/nuri/devices/designate/"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),
        ("/nuri/", 200),
        ("/nuri/login/", 200),
        ("/nuri/signup/", 200),
        ("/nuri/certificates/guide/", 200),
        ("/ca/", 200),
        ("/ca/cps", 200),
        ("/nobank/", 404),
        ("/nuri/accounts/", 302),
    ],
)
def test_anonymous_pages_set_no_device_cookie(client, banks, test_ca, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert DEVICE_COOKIE not in response.cookies


def test_static_files_set_no_device_cookie(live_server):
    import urllib.request

    with urllib.request.urlopen(f"{live_server.url}/static/css/site.css") as response:
        assert response.status == 200
        assert not any(DEVICE_COOKIE in value for value in response.headers.get_all("Set-Cookie") or [])


def test_the_ca_endpoints_set_no_device_cookie(client, test_ca):
    assert DEVICE_COOKIE not in client.get("/ca/crl/issuing.crl").cookies
    assert DEVICE_COOKIE not in client.post("/ca/ocsp", b"junk", content_type="application/ocsp-request").cookies


def test_logged_in_pages_set_no_device_cookie(logged_in_client):
    for path in ("/nuri/accounts/", "/nuri/devices/", "/nuri/certificates/"):
        response = logged_in_client.get(path)
        assert response.status_code == 200, path
        assert DEVICE_COOKIE not in response.cookies, path
    assert DEVICE_COOKIE not in logged_in_client.cookies


def test_the_cloud_window_recognises_no_device_without_giving_one(client, banks, test_ca):
    response = client.get("/nuri/certificates/cloud/")
    assert response.status_code == 200
    assert response.json()["registered"] is False
    assert DEVICE_COOKIE not in response.cookies


def test_designating_this_browser_gives_it_an_httponly_device_cookie(
    logged_in_client, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = web_verify_by_sms(logged_in_client, DESIGNATE, customer, detail={"name": "집 PC"})
    morsel = response.cookies[DEVICE_COOKIE]
    assert len(morsel.value) == 43
    assert morsel["httponly"]
    assert morsel["samesite"] == "Lax"
    assert int(morsel["max-age"]) == 2 * 365 * 24 * 60 * 60
    assert DesignatedDevice.objects.get(customer=customer).token_digest == device_digest(morsel.value)
    # Known from now on: the next pages recognise it and set nothing.
    page = logged_in_client.get("/nuri/devices/")
    assert DEVICE_COOKIE not in page.cookies
    assert "지금 쓰는 단말기" in page.content.decode()


def test_a_refused_designation_gives_no_device_cookie(logged_in_client, customer):
    for n in range(5):
        DesignatedDevice.objects.create(customer=customer, token_digest=device_digest(f"{n:043d}"), name=f"PC {n}")
    response = web_verify_by_sms(logged_in_client, DESIGNATE, customer, detail={"name": "6번째"})
    assert response["Location"] == "/nuri/devices/"
    assert DesignatedDevice.objects.filter(customer=customer).count() == 5
    assert DEVICE_COOKIE not in response.cookies
    assert DEVICE_COOKIE not in logged_in_client.cookies


def test_a_known_device_cookie_is_kept_when_a_flow_needs_the_device(
    logged_in_client, customer, django_capture_on_commit_callbacks
):
    token = "K" * 43
    logged_in_client.cookies[DEVICE_COOKIE] = token
    with django_capture_on_commit_callbacks(execute=True):
        response = web_verify_by_sms(logged_in_client, DESIGNATE, customer, detail={"name": "집 PC"})
    assert DEVICE_COOKIE not in response.cookies
    assert DesignatedDevice.objects.get(customer=customer).token_digest == device_digest(token)


@pytest.mark.parametrize("crafted", ["short", "x" * 43 + ";", "x" * 43 + "\n", "<script>" * 6, "a" * 200])
def test_a_crafted_device_cookie_is_dropped_and_recognises_nothing(client, banks, crafted):
    client.cookies[DEVICE_COOKIE] = crafted
    response = client.get("/")
    morsel = response.cookies[DEVICE_COOKIE]
    assert morsel.value == ""  # deleted, never echoed
    assert int(morsel["max-age"]) == 0


@pytest.mark.parametrize("crafted", ["short", "<script>" * 6])
def test_a_flow_replaces_a_crafted_device_cookie(logged_in_client, customer, crafted, django_capture_on_commit_callbacks):
    logged_in_client.cookies[DEVICE_COOKIE] = crafted
    with django_capture_on_commit_callbacks(execute=True):
        response = web_verify_by_sms(logged_in_client, DESIGNATE, customer, detail={"name": "집 PC"})
    token = response.cookies[DEVICE_COOKIE].value
    assert token != crafted and len(token) == 43
    assert DesignatedDevice.objects.get(customer=customer).token_digest == device_digest(token)


def test_device_digest_is_not_the_token():
    token = "A" * 43
    assert token not in device_digest(token)
    assert device_digest(token) == device_digest(token)
    assert device_digest(token) != device_digest("B" * 43)
