"""Non-face-to-face sign-up (비대면 계좌개설): accounts.views.signup_* and flows.signup.customer_signup_*."""

import datetime

import pytest
import time_machine
from django.core import mail

from accounts import rrn as rrn_rules
from accounts.models import Customer, PhoneDevice
from audit.models import AuditEvent
from banking.models import DepositAccount, LedgerEntry
from core.models import SmsMessage
from tests.conftest import PASSWORD, PIN

# 12:00 in Seoul on 22 November 2026.
NOW = datetime.datetime(2026, 11, 22, 3, 0, tzinfo=datetime.UTC)
PHONE = "01023456789"


@pytest.fixture
def clock(db):
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def signup_data(**overrides):
    data = {
        "name": "김영희",
        "rrn": "920315-2345674",
        "phone": "010-2345-6789",
        "email": "younghee@example.com",
        "login_id": "younghee",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "agree": "on",
    }
    data.update(overrides)
    return data


def rrn_born(day: datetime.date, gender: str = "4") -> str:
    first_twelve = f"{day:%y%m%d}{gender}12345"
    return f"{first_twelve[:6]}-{first_twelve[6:]}{rrn_rules.check_digit(first_twelve)}"


def everything():
    """What a refused sign-up must not have created."""
    return {
        "customers": Customer.objects.count(),
        "accounts": DepositAccount.objects.count(),
        "entries": LedgerEntry.objects.count(),
        "sms": SmsMessage.objects.count(),
        "audit": AuditEvent.objects.count(),
        "mail": len(mail.outbox),
    }


@pytest.fixture
def start(client, banks, django_capture_on_commit_callbacks):
    """POST the first step; return the response."""

    def post(bank="nuri", **overrides):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(f"/{bank}/signup/", signup_data(**overrides))

    return post


@pytest.fixture
def verify(client, django_capture_on_commit_callbacks):
    def post(code, pin1=PIN, pin2=PIN, bank="nuri"):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(f"/{bank}/signup/verify/", {"code": code, "pin1": pin1, "pin2": pin2})

    return post


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# --- The whole way through -----------------------------------------------------------------------


def test_sign_up_opens_an_account_with_the_welcome_deposit(client, start, verify, sms_code, settings):
    assert client.get("/nuri/signup/").status_code == 200
    response = start()
    assert response.status_code == 302
    assert response["Location"] == "/nuri/signup/verify/"
    pending = Customer.objects.get(login_id="younghee")
    assert not pending.is_active
    assert pending.signup_completed_at is None
    assert pending.username == "901:younghee"
    assert pending.phone == PHONE
    assert client.get("/nuri/signup/verify/").status_code == 200

    response = verify(sms_code(PHONE))
    assert response.status_code == 200
    customer = Customer.objects.get(login_id="younghee")
    assert customer.is_active
    assert customer.signup_completed_at is not None
    account = DepositAccount.objects.get(owner=customer)
    assert account.bank.code == "901"
    assert account.balance == settings.CERTBANK_WELCOME_DEPOSIT == 1_000_000
    assert account.display_number in response.content.decode()
    entries = LedgerEntry.objects.filter(movement=account.entries.get().movement)
    assert sorted((e.direction, e.amount) for e in entries) == [("credit", 1_000_000), ("debit", 1_000_000)]
    assert list(
        AuditEvent.objects.filter(customer=customer, action__in=["signup_started", "signup_completed", "account_opened"])
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["signup_started", "account_opened", "signup_completed"]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["younghee@example.com"]
    assert mail.outbox[0].subject == "[누리은행] 가입을 환영합니다"
    assert account.display_number in mail.outbox[0].body
    assert "signup_customer" not in client.session


def test_new_customer_logs_in_with_the_password_chosen_at_sign_up(client, start, verify, sms_code):
    start()
    verify(sms_code(PHONE))
    response = client.post("/nuri/login/", {"login_id": "younghee", "password": PASSWORD})
    assert response.status_code == 302


def test_new_account_pin_is_the_one_chosen_at_sign_up(start, verify, sms_code):
    from banking.services import account_pin_verify

    start()
    verify(sms_code(PHONE), pin1="4321", pin2="4321")
    account_pin_verify(account=DepositAccount.objects.get(owner__login_id="younghee"), pin="4321")


def test_login_id_is_stored_in_lower_case(start):
    start(login_id="YoungHee")
    assert Customer.objects.filter(login_id="younghee").exists()


def test_same_person_may_sign_up_at_another_bank(customer, start, verify, sms_code):
    response = start(bank="garam", name="홍길동", rrn="900101-1234568", phone="010-1234-5678", login_id="hong")
    assert response.status_code == 302
    verify(sms_code("01012345678"), bank="garam")
    at_garam = Customer.objects.get(bank__code="902", login_id="hong")
    assert at_garam.signup_completed_at is not None
    assert at_garam.rrn_index == customer.rrn_index
    assert at_garam.bank != customer.bank
    assert DepositAccount.objects.get(owner=at_garam).number.startswith("902")


def test_resend_sends_a_new_code(client, start, sms_code, django_capture_on_commit_callbacks):
    start()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/nuri/signup/verify/", {"resend": "1"})
    assert response.status_code == 302
    assert SmsMessage.objects.filter(phone=PHONE).count() == 2
    assert PhoneDevice.objects.get(user__login_id="younghee").token == sms_code(PHONE)


def test_new_application_replaces_an_unfinished_one_of_the_same_person(start):
    start(login_id="younghee")
    first = Customer.objects.get(login_id="younghee")
    assert start(login_id="younghee2").status_code == 302
    current = Customer.objects.get(rrn_index=first.rrn_index)
    assert current.login_id == "younghee2"
    # The first application keeps its audit rows but no longer its ID, RRN or code.
    first.refresh_from_db()
    assert first.login_id != "younghee"
    assert first.rrn_ciphertext == first.rrn_index == ""
    assert not PhoneDevice.objects.filter(user=first).exists()
    assert AuditEvent.objects.filter(customer=first, action="signup_started").exists()


def test_replaced_application_cannot_be_completed(client, start, verify, sms_code):
    start(login_id="younghee")
    first = Customer.objects.get(login_id="younghee")
    first_code = sms_code(PHONE)
    start(login_id="younghee2")
    session = client.session
    session["signup_customer"] = first.pk  # an old tab of the first application
    session.save()
    response = verify(first_code)
    assert response.status_code == 200
    first.refresh_from_db()
    assert first.signup_completed_at is None
    assert not DepositAccount.objects.filter(owner=first).exists()


def test_same_person_may_apply_again_after_a_refused_code(start, verify, sms_code):
    start()
    verify(wrong(sms_code(PHONE)))
    assert start().status_code == 302
    verify(sms_code(PHONE))
    assert Customer.objects.get(login_id="younghee").is_active


def test_abandoned_application_frees_its_login_id_after_the_pending_window(clock, start, settings):
    start()
    clock.shift(settings.CERTBANK_SIGNUP_PENDING_SECONDS + 1)
    response = start(name="박민수", rrn="850720-1456782", phone="010-3456-7890")
    assert response.status_code == 302
    assert Customer.objects.get(login_id="younghee").name == "박민수"


def test_unfinished_application_holds_its_login_id_within_the_pending_window(clock, start, settings):
    start()
    clock.shift(settings.CERTBANK_SIGNUP_PENDING_SECONDS - 1)
    before = everything()
    response = start(name="박민수", rrn="850720-1456782", phone="010-3456-7890")
    assert response.status_code == 200
    assert "이미 사용 중인 아이디입니다" in response.content.decode()
    assert everything() == before


# --- Refusals at the first step: 200, a Korean message, nothing created ------------------------------


def assert_refused(response, message, before):
    assert response.status_code == 200
    assert message in response.content.decode()
    assert everything() == before
    assert "signup_customer" not in response.wsgi_request.session


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rrn": "920315-2345675"}, "주민등록번호가 올바르지 않습니다"),
        ({"rrn": "920230-2345674"}, "주민등록번호를 정확히 입력해 주세요"),
        ({"rrn": "9203152"}, "주민등록번호를 정확히 입력해 주세요"),
        ({"rrn": "920315-23456745555"}, "최대 14"),
        ({"phone": "02-123-4567"}, "휴대폰 번호를 정확히 입력해 주세요"),
        ({"name": "<script>"}, "이름은 한글 또는 영문으로 2자 이상"),
        ({"login_id": "1abc"}, "아이디는 영문 소문자로 시작하는"),
        ({"login_id": "ab"}, "아이디는 영문 소문자로 시작하는"),
        ({"password2": "Different!2026"}, "비밀번호가 서로 다릅니다"),
        ({"agree": ""}, "약관에 동의해 주세요"),
    ],
)
def test_malformed_application_is_refused(start, overrides, message):
    before = everything()
    assert_refused(start(**overrides), message, before)


@pytest.mark.parametrize("password", ["short1!", "password123", "9384756102", "younghee2026"])
def test_weak_password_is_refused(start, password):
    before = everything()
    response = start(password1=password, password2=password)
    assert response.status_code == 200
    assert response.context["form"].errors["password1"]
    assert "비밀번호" in response.content.decode()
    assert everything() == before


def test_applicant_under_fourteen_is_refused(clock, start):
    before = everything()
    response = start(rrn=rrn_born(datetime.date(2012, 11, 23)))
    assert_refused(response, "만 14세 이상만 비대면으로 계좌를 개설할 수 있습니다", before)


def test_applicant_turning_fourteen_today_is_accepted(clock, start):
    response = start(rrn=rrn_born(datetime.date(2012, 11, 22)))
    assert response.status_code == 302


def test_applicant_born_after_october_2020_is_too_young_even_with_a_valid_new_style_number(clock, start):
    before = everything()
    response = start(rrn="210505-4987650")
    assert_refused(response, "만 14세 이상만", before)


def test_login_id_taken_at_the_same_bank_is_refused(customer, start):
    before = everything()
    response = start(login_id="hong")
    assert_refused(response, "이미 사용 중인 아이디입니다", before)


def test_login_id_taken_at_another_bank_is_free_here(make_customer, start):
    make_customer(bank_code="902", login_id="younghee", name="김영희", rrn="920315-2345674", phone=PHONE)
    assert start(bank="nuri").status_code == 302


def test_same_person_signing_up_twice_at_the_same_bank_is_refused(customer, start):
    before = everything()
    response = start(name="홍길동", rrn="900101-1234568", phone="010-1234-5678", login_id="hong2")
    assert_refused(response, "이미 이 은행의 고객입니다", before)


def test_unknown_bank_has_no_sign_up(client, banks):
    assert client.get("/nobank/signup/").status_code == 404


# --- Refusals at the second step: the applicant stays inactive with no account ------------------------


def assert_still_pending():
    customer = Customer.objects.get(login_id="younghee")
    assert not customer.is_active
    assert customer.signup_completed_at is None
    assert not DepositAccount.objects.filter(owner=customer).exists()
    assert not AuditEvent.objects.filter(action="signup_completed").exists()
    assert mail.outbox == []


def test_wrong_sms_code_is_refused(start, verify, sms_code):
    start()
    response = verify(wrong(sms_code(PHONE)))
    assert response.status_code == 200
    assert "인증번호가 올바르지 않습니다" in response.content.decode()
    assert_still_pending()
    assert AuditEvent.objects.filter(action="sms_failed").count() == 1


def test_mismatched_pins_are_refused_without_using_the_code(start, verify, sms_code):
    start()
    code = sms_code(PHONE)
    response = verify(code, pin1="1234", pin2="4321")
    assert response.status_code == 200
    assert "계좌 비밀번호가 서로 다릅니다" in response.content.decode()
    assert_still_pending()
    assert PhoneDevice.objects.get(user__login_id="younghee").token == code


@pytest.mark.parametrize(("code", "pin"), [("12345", PIN), ("abcdef", PIN), ("123456", "12345"), ("123456", "12a4")])
def test_malformed_code_or_pin_is_refused(start, verify, code, pin):
    start()
    response = verify(code, pin1=pin, pin2=pin)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert_still_pending()


def test_code_sent_more_than_three_minutes_ago_is_refused(clock, start, verify, sms_code):
    start()
    code = sms_code(PHONE)
    clock.shift(180)
    response = verify(code)
    assert response.status_code == 200
    assert "인증번호가 만료되었거나 사용할 수 없습니다" in response.content.decode()
    assert_still_pending()


def test_application_older_than_the_pending_window_cannot_be_completed(clock, start, verify, sms_code, settings, client):
    start()
    code = sms_code(PHONE)
    clock.shift(settings.CERTBANK_SIGNUP_PENDING_SECONDS + 1)
    response = verify(code)
    assert response.status_code == 200
    assert "가입 신청 시간이 지났습니다" in response.content.decode()
    assert_still_pending()


def test_verify_page_without_an_application_sends_back_to_the_first_step(client, banks):
    response = client.get("/nuri/signup/verify/")
    assert response.status_code == 302
    assert response["Location"] == "/nuri/signup/"


def test_application_started_at_one_bank_cannot_be_finished_at_another(client, start, sms_code):
    start()
    response = client.post("/garam/signup/verify/", {"code": sms_code(PHONE), "pin1": PIN, "pin2": PIN})
    assert response.status_code == 302
    assert response["Location"] == "/garam/signup/"
    assert_still_pending()
