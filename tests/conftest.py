"""Fixtures shared by every test: the demo banks and ready customers."""

import pytest

from accounts import rrn as rrn_rules
from accounts.services import customer_create_verified
from banking import demo

PASSWORD = "Certbank!2026"
PIN = "1234"


@pytest.fixture
def banks(db):
    """The three demo banks by code: {"901": nuri, "902": garam, "903": daon}."""
    return demo.seed_banks()


@pytest.fixture
def nuri(banks):
    return banks["901"]


@pytest.fixture
def garam(banks):
    return banks["902"]


@pytest.fixture
def make_customer(banks):
    """Create a finished customer with one account holding `deposit` won."""

    def make(
        bank_code="901",
        login_id="hong",
        name="홍길동",
        rrn="900101-1234568",
        phone="01012345678",
        email="hong@example.com",
        deposit=1_000_000,
    ):
        return customer_create_verified(
            bank=banks[bank_code],
            login_id=login_id,
            password=PASSWORD,
            name=name,
            rrn=rrn_rules.parse(rrn),
            phone=phone,
            email=email,
            pin=PIN,
            deposit=deposit,
        )

    return make


@pytest.fixture
def customer(make_customer):
    """홍길동, customer of 누리은행 (901) with 1,000,000원."""
    return make_customer()


@pytest.fixture
def logged_in_client(client, customer):
    response = client.post("/nuri/login/", {"login_id": "hong", "password": PASSWORD})
    assert response.status_code == 302
    return client
