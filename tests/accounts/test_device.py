"""Every browser gets a device token cookie; crafted values are replaced."""

import pytest

from accounts.device import DEVICE_COOKIE, device_digest

pytestmark = pytest.mark.django_db


def test_first_visit_sets_an_httponly_device_cookie(client):
    response = client.get("/")
    morsel = response.cookies[DEVICE_COOKIE]
    assert len(morsel.value) == 43
    assert morsel["httponly"]
    assert morsel["samesite"] == "Lax"


def test_known_device_cookie_is_kept(client):
    first = client.get("/").cookies[DEVICE_COOKIE].value
    response = client.get("/")
    assert DEVICE_COOKIE not in response.cookies
    assert client.cookies[DEVICE_COOKIE].value == first


@pytest.mark.parametrize("crafted", ["", "short", "x" * 43 + ";", "<script>" * 6, "a" * 200])
def test_crafted_device_cookie_is_replaced(client, crafted):
    client.cookies[DEVICE_COOKIE] = crafted
    response = client.get("/")
    assert response.cookies[DEVICE_COOKIE].value != crafted
    assert len(response.cookies[DEVICE_COOKIE].value) == 43


def test_device_digest_is_not_the_token():
    token = "A" * 43
    assert token not in device_digest(token)
    assert device_digest(token) == device_digest(token)
    assert device_digest(token) != device_digest("B" * 43)
