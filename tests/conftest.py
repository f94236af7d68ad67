"""Fixtures shared by every test: the demo banks and ready customers."""

import os
from contextlib import contextmanager

import pytest

from accounts import rrn as rrn_rules
from flows import demo
from flows.signup import customer_create_verified

# Every test runs under the privacy scan (tests/privacy.py).
pytest_plugins = ["tests.privacy"]

PASSWORD = "Certbank!2026"


def _stop_without_chromium(nodeids) -> None:
    """Without Chromium, stop before the first test with one line, not one error per browser test."""
    from tests.chromium import CHROMIUM

    if any(nodeid.startswith("tests/browser/") for nodeid in nodeids) and not os.access(CHROMIUM, os.X_OK):
        pytest.exit(
            f"{CHROMIUM} is missing: install Debian's chromium and fonts-noto-cjk (tools/browser_deps.sh), "
            'or leave the browser tests out with -m "not browser"',
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


def pytest_collection_finish(session):
    if not hasattr(session.config, "workerinput"):  # xdist workers: the controller decides
        _stop_without_chromium(item.nodeid for item in session.items)


def pytest_xdist_node_collection_finished(node, ids):
    _stop_without_chromium(ids)


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


# --- Added for the foundation tests -------------------------------------------


@pytest.fixture
def sms_code(db):
    """Read the 6-digit code of the newest SMS to a phone from the demo outbox.

    SMS leave with transaction.on_commit: wrap the request that sends one in
    `django_capture_on_commit_callbacks(execute=True)` first.
    """
    import re

    from core.models import SmsMessage

    def read(phone="01012345678"):
        message = SmsMessage.objects.filter(phone=phone).first()
        assert message is not None, f"no SMS to {phone}"
        match = re.search(r"\[(\d{6})\]", message.body)
        assert match, message.body
        return match.group(1)

    return read


@pytest.fixture
def staff(banks):
    """The demo staff member and their confirmed TOTP device: (staff, device)."""
    return demo.seed_staff()


def totp_now(device) -> str:
    """The code a TOTP app shows for `device` right now (honours time_machine)."""
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture
def staff_client(client, staff):
    """A client logged in to /staff/ with password and TOTP."""
    user, device = staff
    response = client.post(
        "/staff/login/",
        {
            "username": demo.STAFF_USERNAME,
            "password": demo.STAFF_PASSWORD,
            "otp_device": device.persistent_id,
            "otp_token": totp_now(device),
            "next": "/staff/",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return client


@pytest.fixture
def totp_code():
    """`totp_code(device)`: the code a TOTP app shows for the device right now."""
    return totp_now


# --- The certificate authority ----------------------------------------------------


@pytest.fixture(scope="session")
def _ca_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("ca-data")


TEST_CA_PASSPHRASE = "test-ca-passphrase"


@contextmanager
def ca_in(settings, folder):
    """The CA kept under `folder` (created there on first use) with the tests'
    passphrase and 2048-bit CA keys, for speed; the cached CA is forgotten on
    the way in and out."""
    from certificates import ca

    settings.DATA_DIR = folder
    settings.CERTBANK_CA_PASSPHRASE = TEST_CA_PASSPHRASE
    settings.CERTBANK_CA_KEY_BITS = 2048
    ca.ca_reset_cache()
    try:
        yield
    finally:
        ca.ca_reset_cache()


@pytest.fixture
def test_ca(settings, _ca_folder):
    """A CA shared by the tests of one session."""
    with ca_in(settings, _ca_folder):
        yield


@pytest.fixture(scope="session")
def production(tmp_path_factory):
    """A production-settings server under gunicorn (tests/production_server.py),
    one per test process: starting one takes ~20 s (migrate, collectstatic,
    seed_demo), so the modules that need it share it; their tests are slow."""
    from tests import production_server

    server = production_server.start(tmp_path_factory.mktemp("production"))
    yield server
    production_server.stop(server)


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the site's default language (Korean): a request in
    English by an earlier test leaves its language active in the thread."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)
