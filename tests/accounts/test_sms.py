"""SMS codes on the customer's phone (accounts.models.PhoneDevice, accounts.services.sms_code_*)."""

import datetime

import pytest
import time_machine
from django.db import transaction

from accounts import models as accounts_models
from accounts.exceptions import SmsCodeExhausted, SmsCodeExpired, SmsCodeInvalid, SmsCooldown, SmsSendThrottled
from accounts.models import PhoneDevice
from accounts.services import sms_code_send, sms_code_verify
from audit.models import AuditEvent
from core.models import SmsMessage, Throttle
from core.sms import sms_send

START = datetime.datetime(2026, 11, 22, 3, 0, tzinfo=datetime.UTC)


@pytest.fixture
def clock():
    """Frozen time that the test moves on with clock.shift(seconds)."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def send(customer, django_capture_on_commit_callbacks, sms_code):
    """Send a code to the customer and return it as read from the outbox."""

    def send_code():
        with django_capture_on_commit_callbacks(execute=True):
            sms_code_send(bind="test", customer=customer, reason="테스트")
        return sms_code()

    return send_code


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def device_of(customer) -> PhoneDevice:
    return PhoneDevice.objects.get(user=customer)


def test_code_is_six_digits_sent_to_the_registered_phone(customer, clock, send):
    code = send()
    device = device_of(customer)
    message = SmsMessage.objects.get()
    assert len(code) == 6 and code.isdigit()
    assert device.token == code
    assert device.number == message.phone == customer.phone
    assert "[누리은행]" in message.body
    assert "3분" in message.body
    assert device.valid_until == START + datetime.timedelta(seconds=180)
    assert AuditEvent.objects.filter(action="sms_sent", customer=customer).count() == 1


def test_right_code_is_accepted(customer, clock, send):
    code = send()
    clock.shift(10)
    sms_code_verify(bind="test", customer=customer, code=code)
    device = device_of(customer)
    assert device.token is None
    assert device.throttling_failure_count == 0


def test_code_with_surrounding_spaces_is_accepted(customer, clock, send):
    code = send()
    sms_code_verify(bind="test", customer=customer, code=f" {code} ")


def test_code_is_accepted_until_it_expires(customer, clock, send, settings):
    assert settings.CERTBANK_SMS_CODE_VALID_SECONDS == 180
    code = send()
    clock.shift(179)
    sms_code_verify(bind="test", customer=customer, code=code)


def test_code_expires_after_the_valid_seconds(customer, clock, send):
    code = send()
    clock.shift(180)
    with pytest.raises(SmsCodeExpired):
        sms_code_verify(bind="test", customer=customer, code=code)
    assert device_of(customer).throttling_failure_count == 0  # an expired code is not a guess


def test_code_is_single_use(customer, clock, send):
    code = send()
    sms_code_verify(bind="test", customer=customer, code=code)
    with pytest.raises(SmsCodeExpired):
        sms_code_verify(bind="test", customer=customer, code=code)


def test_verifying_without_a_code_sent_is_refused(customer):
    with pytest.raises(SmsCodeExpired):
        sms_code_verify(bind="test", customer=customer, code="123456")


def test_wrong_code_is_refused_counted_and_audited(customer, clock, send):
    code = send()
    with pytest.raises(SmsCodeInvalid):
        sms_code_verify(bind="test", customer=customer, code=wrong(code))
    device = device_of(customer)
    assert device.throttling_failure_count == 1
    assert device.token == code  # still usable
    event = AuditEvent.objects.get(action="sms_failed")
    assert event.detail == {"failures": 1}
    assert code not in str(event.detail)


def test_one_wrong_code_then_the_right_one_succeeds_at_once(customer, clock, send):
    """A bank's counter: a mistyped code is followed by the right one, with no wait."""
    code = send()
    with pytest.raises(SmsCodeInvalid) as excinfo:
        sms_code_verify(bind="test", customer=customer, code=wrong(code))
    assert excinfo.value.left == 4
    assert "4회 더 틀리면" in str(excinfo.value.message)
    sms_code_verify(bind="test", customer=customer, code=code)  # same instant
    assert device_of(customer).throttling_failure_count == 0


def test_code_is_discarded_after_the_maximum_wrong_codes(customer, clock, send, settings):
    assert settings.CERTBANK_SMS_MAX_FAILURES == 5
    code = send()
    for left in (4, 3, 2, 1):
        with pytest.raises(SmsCodeInvalid) as excinfo:
            sms_code_verify(bind="test", customer=customer, code=wrong(code))
        assert excinfo.value.left == left
    with pytest.raises(SmsCodeExhausted) as excinfo:  # the fifth wrong code discards it
        sms_code_verify(bind="test", customer=customer, code=wrong(code))
    assert "다시 받아 주세요" in str(excinfo.value.message)
    assert device_of(customer).token is None
    with pytest.raises(SmsCodeExpired):
        sms_code_verify(bind="test", customer=customer, code=code)
    assert AuditEvent.objects.filter(action="sms_failed").count() == 5


def test_new_code_after_a_discarded_one_works(customer, clock, send):
    code = send()
    for _ in range(5):
        with pytest.raises((SmsCodeInvalid, SmsCodeExhausted)):
            sms_code_verify(bind="test", customer=customer, code=wrong(code))
    clock.shift(1)
    fresh = send()
    sms_code_verify(bind="test", customer=customer, code=fresh)


def test_codes_asked_for_beyond_the_free_sends_wait_and_say_how_long(customer, clock, send, settings):
    """CERTBANK_SMS_SENDS_FREE codes go out; the next one waits 5 minutes,
    doubling. The wait is answered before anything is sent."""
    settings.CERTBANK_SMS_SENDS_FREE = 3
    for _ in range(3):
        send()
        clock.shift(1)  # django-otp refuses a new code in the same instant (cooldown "> 0 s")
    assert SmsMessage.objects.count() == 3
    with pytest.raises(SmsSendThrottled) as excinfo:
        sms_code_send(bind="test", customer=customer, reason="테스트")
    assert excinfo.value.code == "sms_send_throttled"
    assert excinfo.value.status == 429
    assert excinfo.value.retry_after == 299  # 300 s from the 3rd code, asked 1 s later
    assert "5분 후에" in str(excinfo.value.message)
    assert SmsMessage.objects.count() == 3  # refused: no code sent, none counted
    clock.shift(299)
    send()  # the wait is over
    clock.shift(1)
    with pytest.raises(SmsSendThrottled) as excinfo:  # and the next wait is twice as long
        sms_code_send(bind="test", customer=customer, reason="테스트")
    assert excinfo.value.retry_after == 599
    assert "10분 후에" in str(excinfo.value.message)
    assert Throttle.objects.get(scope="sms_send", key=str(customer.pk)).failures == 4


def test_a_right_code_forgets_the_sends(customer, clock, send, settings):
    settings.CERTBANK_SMS_SENDS_FREE = 2
    send()
    clock.shift(1)
    code = send()
    sms_code_verify(bind="test", customer=customer, code=code)
    assert not Throttle.objects.filter(scope="sms_send", key=str(customer.pk)).exists()
    # Counted afresh: two more codes go out (without the success, the 3rd code of the hour would wait 5 minutes).
    for _ in range(2):
        clock.shift(1)
        send()
    assert SmsMessage.objects.count() == 4


def test_resending_replaces_the_previous_code(customer, clock, send):
    first = send()
    clock.shift(1)
    second = send()
    if first == second:
        pytest.skip("the same random code twice (one in a million)")
    with pytest.raises(SmsCodeInvalid):
        sms_code_verify(bind="test", customer=customer, code=first)
    clock.shift(1)
    sms_code_verify(bind="test", customer=customer, code=second)


def test_resend_within_the_cooldown_is_refused(customer, clock, send, settings):
    settings.CERTBANK_SMS_RESEND_COOLDOWN = 30
    send()
    clock.shift(10)
    with pytest.raises(SmsCooldown) as excinfo:
        sms_code_send(bind="test", customer=customer, reason="테스트")
    # A new code is allowed once *more than* 30 s have passed: in whole seconds, 21 more.
    assert excinfo.value.seconds == 21
    assert "21초 후에" in str(excinfo.value.message)
    clock.shift(20)
    with pytest.raises(SmsCooldown) as excinfo:
        sms_code_send(bind="test", customer=customer, reason="테스트")
    assert excinfo.value.seconds == 1
    clock.shift(1)
    send()
    assert SmsMessage.objects.count() == 2


def test_code_is_compared_in_constant_time(customer, clock, send, monkeypatch):
    calls = []
    real = accounts_models.constant_time_compare

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(accounts_models, "constant_time_compare", spy)
    code = send()
    with pytest.raises(SmsCodeInvalid):
        sms_code_verify(bind="test", customer=customer, code=wrong(code))
    clock.shift(1)
    sms_code_verify(bind="test", customer=customer, code=code)
    assert calls == [(wrong(code), code), (code, code)]


def test_sms_is_not_sent_when_the_transaction_rolls_back(customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                sms_send(phone=customer.phone, body="rolled back")
                raise RuntimeError
        except RuntimeError:
            pass
    assert SmsMessage.objects.count() == 0


def test_sms_goes_out_only_when_the_transaction_commits(customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sms_send(phone=customer.phone, body="hello")
    assert SmsMessage.objects.count() == 0
    assert len(callbacks) == 1
    callbacks[0]()
    assert SmsMessage.objects.get().body == "hello"


def test_sms_gateway_is_chosen_by_setting(customer, settings, django_capture_on_commit_callbacks):
    sent = []

    class Recorder:
        def send(self, phone, body):
            sent.append((phone, body))

    settings.CERTBANK_SMS_GATEWAY = f"{__name__}.Recorder"
    globals()["Recorder"] = Recorder
    try:
        with django_capture_on_commit_callbacks(execute=True):
            sms_send(phone="01099998888", body="via recorder")
    finally:
        del globals()["Recorder"]
    assert sent == [("01099998888", "via recorder")]
    assert SmsMessage.objects.count() == 0
