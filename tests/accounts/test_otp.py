"""TOTP enrolment (accounts.services.otp_enrolment_*, accounts.views.otp_view) and the demo OTP page."""

import base64
import datetime

import pytest
import time_machine
from django.core import mail
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.exceptions import OtpCodeInvalid, OtpThrottled
from audit.models import AuditEvent
from core.models import Throttle
from core.qr import qr_svg

START = datetime.datetime(2026, 11, 22, 3, 0, 5, tzinfo=datetime.UTC)


@pytest.fixture
def clock(db):
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def otp_client(clock, logged_in_client):
    return logged_in_client


def pending_device(customer) -> TOTPDevice:
    return TOTPDevice.objects.get(user=customer, confirmed=False)


def code_at(device, offset_steps=0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = datetime.datetime.now(datetime.UTC).timestamp() + offset_steps * device.step
    return f"{totp.token():06d}"


def grouped_secret(device) -> str:
    """The key as a person types it into an app: base32 in groups of four."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def a_wrong_code(device) -> str:
    """A code the device refuses: not the current one nor those of the steps it tolerates."""
    accepted = {code_at(device, offset) for offset in range(-device.tolerance - 1, device.tolerance + 2)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in accepted)


def test_enrolment_page_shows_a_qr_code_and_the_secret(otp_client, customer):
    response = otp_client.get("/nuri/otp/")
    body = response.content.decode()
    assert response.status_code == 200
    device = pending_device(customer)
    # The QR code is inline SVG of the otpauth:// address (no image request, nothing to execute).
    assert qr_svg(device.config_url).startswith("<svg")
    assert qr_svg(device.config_url) in body
    assert "<?xml" not in body
    assert grouped_secret(device) in body
    assert device.config_url.startswith("otpauth://totp/")
    assert "issuer=Certbank" in device.config_url


def test_enrolment_page_keeps_the_same_secret_until_confirmed(otp_client, customer):
    otp_client.get("/nuri/otp/")
    otp_client.get("/nuri/otp/")
    assert TOTPDevice.objects.filter(user=customer).count() == 1


def test_enrolment_page_needs_a_login(client, banks):
    response = client.get("/nuri/otp/")
    assert response.status_code == 302
    assert response["Location"].startswith("/nuri/login/")
    assert not TOTPDevice.objects.exists()


def test_wrong_code_does_not_confirm_the_device(otp_client, customer):
    otp_client.get("/nuri/otp/")
    device = pending_device(customer)
    response = otp_client.post("/nuri/otp/", {"code": a_wrong_code(device)})
    assert response.status_code == 200
    assert "OTP 인증번호가 올바르지 않습니다" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=customer, confirmed=True).exists()
    event = AuditEvent.objects.get(action="otp_failed")
    assert event.customer == customer


def test_right_code_confirms_the_device(otp_client, customer, clock, django_capture_on_commit_callbacks):
    otp_client.get("/nuri/otp/")
    device = pending_device(customer)
    with django_capture_on_commit_callbacks(execute=True):
        response = otp_client.post("/nuri/otp/", {"code": code_at(device)})
    assert response.status_code == 302
    assert response["Location"] == "/nuri/otp/"
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEvent.objects.filter(action="otp_enrolled", customer=customer).count() == 1
    assert [m.subject for m in mail.outbox] == ["[누리은행] OTP가 등록되었습니다"]
    assert services.otp_device(customer=customer) == device


def test_code_of_the_previous_step_is_accepted_for_clock_drift(otp_client, customer):
    otp_client.get("/nuri/otp/")
    device = pending_device(customer)
    assert otp_client.post("/nuri/otp/", {"code": code_at(device, -1)}).status_code == 302


def test_right_code_straight_after_a_wrong_one_is_accepted(otp_client, customer, clock):
    """A mistyped code followed at once by the right one passes: the first wrong codes cost no wait."""
    otp_client.get("/nuri/otp/")
    device = pending_device(customer)
    response = otp_client.post("/nuri/otp/", {"code": a_wrong_code(device)})
    assert "OTP 인증번호가 올바르지 않습니다" in response.content.decode()
    assert otp_client.post("/nuri/otp/", {"code": code_at(device)}).status_code == 302  # same instant
    device.refresh_from_db()
    assert device.confirmed
    assert not Throttle.objects.filter(scope="otp").exists()  # the right code forgets the wrong one


def test_page_says_how_long_to_wait_after_the_free_wrong_codes(otp_client, customer, clock):
    otp_client.get("/nuri/otp/")
    device = pending_device(customer)
    for _ in range(3):
        body = otp_client.post("/nuri/otp/", {"code": a_wrong_code(device)}).content.decode()
        assert "후에 다시 입력해 주세요" not in body
    body = otp_client.post("/nuri/otp/", {"code": a_wrong_code(device)}).content.decode()
    assert "OTP 인증번호가 올바르지 않습니다. 2초 후에 다시 입력해 주세요." in body
    body = otp_client.post("/nuri/otp/", {"code": code_at(device)}).content.decode()  # too soon, even the right code
    assert "OTP 인증번호를 여러 번 잘못 입력했습니다. 2초 후에 다시 입력해 주세요." in body
    device.refresh_from_db()
    assert not device.confirmed
    clock.shift(2)
    assert otp_client.post("/nuri/otp/", {"code": code_at(device)}).status_code == 302


def test_enrolled_customer_sees_the_device_instead_of_a_new_secret(otp_client, customer):
    otp_client.get("/nuri/otp/")
    device = pending_device(customer)
    otp_client.post("/nuri/otp/", {"code": code_at(device)})
    response = otp_client.get("/nuri/otp/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "OTP가 등록되어 있습니다" in body
    assert grouped_secret(device) not in body
    assert TOTPDevice.objects.filter(user=customer).count() == 1


def test_confirming_without_a_pending_device_is_refused(customer):
    with pytest.raises(OtpCodeInvalid):
        services.otp_enrolment_confirm(customer=customer, code="123456")


def otp_strikes(customer) -> int:
    row = Throttle.objects.filter(scope="otp", key=str(customer.pk)).first()
    return row.failures if row is not None else 0


def test_three_wrong_codes_are_free_then_each_next_try_waits_doubling_up_to_15_minutes(customer, clock):
    device = services.otp_enrolment_start(customer=customer)
    for strikes in (1, 2, 3):
        with pytest.raises(OtpCodeInvalid) as excinfo:
            services.otp_enrolment_confirm(customer=customer, code=a_wrong_code(device))
        assert excinfo.value.wait == 0
        assert otp_strikes(customer) == strikes
    with pytest.raises(OtpCodeInvalid) as excinfo:  # the 4th wrong code in a row: the next try waits 2 s
        services.otp_enrolment_confirm(customer=customer, code=a_wrong_code(device))
    assert excinfo.value.wait == 2
    assert "2초 후에" in str(excinfo.value.message)

    # While it waits, even the right code is refused, with how long, and not counted.
    with pytest.raises(OtpThrottled) as excinfo:
        services.otp_enrolment_confirm(customer=customer, code=code_at(device))
    assert excinfo.value.code == OtpThrottled.code == "otp_throttled"
    assert excinfo.value.status == 429
    assert excinfo.value.retry_after == 2
    assert "2초 후에" in str(excinfo.value.message)
    assert otp_strikes(customer) == 4
    clock.shift(1)
    with pytest.raises(OtpThrottled) as excinfo:
        services.otp_enrolment_confirm(customer=customer, code=code_at(device))
    assert excinfo.value.retry_after == 1

    # Each further wrong code doubles the wait, up to 900 s.
    waits = []
    wait = 1
    for _ in range(10):
        clock.shift(wait)
        with pytest.raises(OtpCodeInvalid) as excinfo:
            services.otp_enrolment_confirm(customer=customer, code=a_wrong_code(device))
        wait = excinfo.value.wait
        waits.append(wait)
    assert waits == [4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    device.refresh_from_db()
    assert not device.confirmed

    clock.shift(900)
    services.otp_enrolment_confirm(customer=customer, code=code_at(device))
    device.refresh_from_db()
    assert device.confirmed
    assert otp_strikes(customer) == 0


@pytest.fixture
def enrolled(customer):
    return TOTPDevice.objects.create(user=customer, name="OTP", confirmed=True)


def test_otp_verify_takes_the_right_code_after_wrong_ones_within_the_free_tries(customer, enrolled, clock):
    for _ in range(3):
        with pytest.raises(OtpCodeInvalid):
            services.otp_verify(customer=customer, code=a_wrong_code(enrolled))
    services.otp_verify(customer=customer, code=code_at(enrolled))  # same instant
    assert otp_strikes(customer) == 0
    # Forgotten: the next wrong code is the first again, not the 4th in a row.
    with pytest.raises(OtpCodeInvalid) as excinfo:
        services.otp_verify(customer=customer, code=a_wrong_code(enrolled))
    assert excinfo.value.wait == 0
    assert AuditEvent.objects.filter(action="otp_failed", customer=customer).count() == 4


def test_otp_verify_refuses_a_code_already_used(customer, enrolled, clock):
    code = code_at(enrolled)
    services.otp_verify(customer=customer, code=code)
    # django-otp keeps the last time step used: the same code twice is a wrong code.
    with pytest.raises(OtpCodeInvalid):
        services.otp_verify(customer=customer, code=code)
    assert otp_strikes(customer) == 1
    clock.shift(enrolled.step)
    services.otp_verify(customer=customer, code=code_at(enrolled))  # the next step's code


def test_otp_verify_without_an_otp_checks_nothing(customer):
    services.otp_verify(customer=customer, code="")
    assert not Throttle.objects.exists()


def test_demo_otp_page_shows_the_current_code(otp_client, customer, clock):
    otp_client.get("/nuri/otp/")
    device = pending_device(customer)
    otp_client.post("/nuri/otp/", {"code": code_at(device)})
    clock.shift(device.step)  # the next code, not the one just used
    response = otp_client.get("/nuri/demo/otp/")
    body = response.content.decode()
    assert response.status_code == 200
    assert code_at(device) in body
    assert "25초 후 새 번호로 바뀝니다" in body  # START is 5 s into a 30 s step


def test_demo_otp_page_without_a_device_offers_enrolment(otp_client):
    body = otp_client.get("/nuri/demo/otp/").content.decode()
    assert "등록된 OTP가 없습니다" in body


def test_demo_otp_page_needs_a_login(client, banks):
    response = client.get("/nuri/demo/otp/")
    assert response.status_code == 302
