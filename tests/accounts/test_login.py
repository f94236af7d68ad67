"""Password login, lockout, logout and unlocking (accounts.services, accounts.views, flows.stepup, flows.unlock)."""

import datetime
import re

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client

from accounts import services
from accounts.exceptions import IdentityLocked, IdentityMismatch, InvalidCredentials, LoginLocked, VerificationRequired
from accounts.models import Customer, VerificationGrant
from audit.models import AuditEvent
from banking.exceptions import AccountPinInvalid, AccountPinLocked
from banking.models import DepositAccount
from core.models import SmsMessage, Throttle
from flows import stepup, unlock
from tests.conftest import PASSWORD, PIN
from tests.verification import SESSION, Purpose, verified

GENERIC = "아이디 또는 비밀번호가 올바르지 않습니다."
LOCKED = "비밀번호를 5회 연속 잘못 입력하여 로그인이 잠겼습니다."
NEW_PASSWORD = "Nuri!Reset2026"


def login(client, login_id="hong", password=PASSWORD, bank="nuri", **extra):
    return client.post(f"/{bank}/login/", {"login_id": login_id, "password": password, **extra})


def logged_in_as(client):
    return client.session.get(SESSION_KEY)


def error_text(response) -> str:
    """The form's error block of a page (what the person is told)."""
    body = response.content.decode()
    match = re.search(r'<div class="form-errors".*?</div>', body, re.S)
    assert match, body[:3000]
    return match.group(0)


def actions(customer=None, **filters):
    rows = AuditEvent.objects.filter(**filters)
    if customer is not None:
        rows = rows.filter(customer=customer)
    return list(rows.order_by("id").values_list("action", flat=True))


@pytest.fixture
def locked_customer(client, customer):
    for _ in range(5):
        login(client, password="wrong-password")
    customer.refresh_from_db()
    assert customer.login_locked
    return customer


@pytest.fixture
def account(customer):
    return customer.deposit_accounts.get()


# --- Logging in ------------------------------------------------------------------------------


def test_customer_logs_in_with_login_id_and_password(client, customer):
    response = login(client)
    assert response.status_code == 302
    assert response["Location"] == "/nuri/accounts/"
    assert logged_in_as(client) == str(customer.pk)
    assert actions(customer, action__startswith="login") == ["login_succeeded"]


def test_login_id_is_matched_in_lower_case_as_sign_up_stores_it(client, customer):
    response = login(client, login_id=" Hong ")
    assert response.status_code == 302
    assert logged_in_as(client) == str(customer.pk)


def test_wrong_password_shows_the_tries_left(client, customer):
    response = login(client, password="wrong-password")
    body = response.content.decode()
    assert response.status_code == 200
    assert "4회 더 틀리면 로그인이 잠깁니다" in body
    assert logged_in_as(client) is None
    customer.refresh_from_db()
    assert customer.failed_login_count == 1
    assert customer.login_locked_at is None

    response = login(client, password="wrong-again")
    assert "3회 더 틀리면" in response.content.decode()


def test_five_wrong_passwords_in_a_row_lock_the_login(client, customer):
    for tries_left in (4, 3, 2, 1):
        assert f"{tries_left}회 더 틀리면" in login(client, password="wrong-password").content.decode()
    response = login(client, password="wrong-password")
    assert response.status_code == 200
    assert LOCKED in response.content.decode()
    customer.refresh_from_db()
    assert customer.failed_login_count == 5
    assert customer.login_locked_at is not None
    assert actions(customer, action__startswith="login") == ["login_failed"] * 5 + ["login_locked"]
    assert [row.detail["failures"] for row in AuditEvent.objects.filter(action="login_failed").order_by("id")] == [1, 2, 3, 4, 5]


def test_locked_login_refuses_even_the_right_password(client, locked_customer):
    response = login(client)
    assert response.status_code == 200
    assert LOCKED in response.content.decode()
    assert logged_in_as(client) is None
    assert actions(locked_customer)[-1] == "login_failed"
    assert AuditEvent.objects.filter(action="login_succeeded").count() == 0


def test_right_password_resets_the_count_of_wrong_ones(client, customer):
    for _ in range(4):
        login(client, password="wrong-password")
    assert login(client).status_code == 302
    customer.refresh_from_db()
    assert customer.failed_login_count == 0
    client.post("/nuri/logout/")
    login(client, password="wrong-password")
    customer.refresh_from_db()
    assert customer.failed_login_count == 1
    assert customer.login_locked_at is None


def test_unknown_login_id_gets_the_generic_message_without_a_count_of_tries(client, customer):
    response = login(client, login_id="nobody")
    body = response.content.decode()
    assert response.status_code == 200
    assert GENERIC in body
    assert "회 더 틀리면" not in body
    event = AuditEvent.objects.get(action="login_failed")
    assert event.customer is None
    assert event.detail["known"] is False
    assert event.detail["typed"]["length"] == 6 and event.detail["typed"]["classes"] == "a"
    assert "nobody" not in str(event.detail)


def test_a_password_typed_into_the_id_field_is_not_kept_anywhere(client, customer, caplog):
    """The audit row keeps the typed text's shape and a keyed digest, never the text."""
    login(client, login_id=PASSWORD, password="whatever")
    login(client, login_id=PASSWORD, password="again")
    events = list(AuditEvent.objects.filter(action="login_failed"))
    assert len(events) == 2
    assert all(PASSWORD.lower() not in str(event.detail).lower() for event in events)
    assert events[0].detail["typed"]["digest"] == events[1].detail["typed"]["digest"]  # the same text tried again shows
    assert PASSWORD not in caplog.text


def test_login_id_of_another_bank_is_unknown_here(client, customer, garam):
    response = login(client, bank="garam")
    assert response.status_code == 200
    assert GENERIC in response.content.decode()
    assert logged_in_as(client) is None
    customer.refresh_from_db()
    assert customer.failed_login_count == 0


def test_unfinished_sign_up_cannot_log_in(client, customer):
    Customer.objects.filter(pk=customer.pk).update(signup_completed_at=None)
    response = login(client)
    assert response.status_code == 200
    assert GENERIC in response.content.decode()
    assert logged_in_as(client) is None


def test_deactivated_customer_cannot_log_in(client, customer):
    Customer.objects.filter(pk=customer.pk).update(is_active=False)
    response = login(client)
    assert response.status_code == 200
    assert GENERIC in response.content.decode()
    assert logged_in_as(client) is None


def test_login_rotates_the_session_key(client, customer):
    session = client.session
    session["visited"] = True
    session.save()
    before = session.session_key
    assert login(client).status_code == 302
    after = client.cookies["sessionid"].value
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    assert client.session["visited"] is True  # the data moves to the new key


def test_login_follows_a_next_address_on_this_site(client, customer):
    response = login(client, next="/nuri/otp/")
    assert response["Location"] == "/nuri/otp/"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "https:///evil.example"])
def test_login_ignores_a_next_address_on_another_site(client, customer, target):
    response = login(client, next=target)
    assert response["Location"] == "/nuri/accounts/"


def test_password_login_service_raises_domain_errors(nuri, customer):
    with pytest.raises(InvalidCredentials) as excinfo:
        services.password_login(bank=nuri, login_id="hong", password="wrong")
    assert excinfo.value.remaining == 4
    with pytest.raises(InvalidCredentials) as excinfo:
        services.password_login(bank=nuri, login_id="nobody", password="wrong")
    assert excinfo.value.remaining is None
    Customer.objects.filter(pk=customer.pk).update(login_locked_at="2026-01-01T00:00:00Z")
    with pytest.raises(LoginLocked):
        services.password_login(bank=nuri, login_id="hong", password=PASSWORD)


# --- Logging out ------------------------------------------------------------------------------


def test_logout_by_get_is_not_allowed(logged_in_client, customer):
    response = logged_in_client.get("/nuri/logout/")
    assert response.status_code == 405
    assert logged_in_as(logged_in_client) == str(customer.pk)


def test_logout_by_post_ends_the_session(logged_in_client, customer):
    old_key = logged_in_client.session.session_key
    response = logged_in_client.post("/nuri/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/nuri/"
    assert logged_in_as(logged_in_client) is None
    assert not Session.objects.filter(session_key=old_key).exists()
    assert actions(customer)[-1] == "logout"
    assert logged_in_client.get("/nuri/accounts/").status_code == 302


# --- Unlocking: 본인확인 by login ID, then the SMS code, then a new password ----------------------

WRONG_IDENTITY = "입력하신 정보가 고객 정보와 일치하지 않습니다."
OTHER_RRN = "920315-2345674"


def unlock_start(client, account, *, login_id="hong", rrn="900101-1234568", pin=PIN, number=None):
    """The identity step of the step-up page (logged out, by login ID)."""
    return client.post(
        "/nuri/unlock/",
        {"step": "identity", "login_id": login_id, "rrn": rrn, "account_number": number or account.display_number, "pin": pin},
    )


def unlock_sms(client, code):
    return client.post("/nuri/unlock/", {"step": "sms", "code": code})


def identity_strikes() -> int:
    """Wrong identities counted against this client's network (the test client is 127.0.0.1)."""
    row = Throttle.objects.filter(scope="identity_network", key="127.0.0.1").first()
    return row.failures if row is not None else 0


def unlock_grant(client):
    token = client.session.get("grant:unlock")
    return VerificationGrant.objects.filter(token=token).first() if token else None


@pytest.fixture
def clock():
    with time_machine.travel(datetime.datetime(2026, 11, 22, 3, 0, tzinfo=datetime.UTC), tick=False) as traveller:
        yield traveller


def test_locked_customer_unlocks_with_identity_sms_code_and_a_new_password(
    client, locked_customer, account, django_capture_on_commit_callbacks, sms_code
):
    page = client.get("/nuri/unlock/").content.decode()
    assert 'name="login_id"' in page and 'name="name"' not in page  # logged out, by login ID
    with django_capture_on_commit_callbacks(execute=True):
        response = unlock_start(client, account)
    assert response.status_code == 302
    assert response["Location"] == "/nuri/unlock/"
    # The SMS step begins with a code sent to the registered phone, unasked.
    assert "비밀번호 재설정" in SmsMessage.objects.get(phone=locked_customer.phone).body
    assert 'name="step" value="sms"' in client.get("/nuri/unlock/").content.decode()
    assert client.get("/nuri/unlock/verify/")["Location"] == "/nuri/unlock/"  # no new password before the SMS code

    response = unlock_sms(client, sms_code())
    assert response.status_code == 302
    assert response["Location"] == "/nuri/unlock/verify/"
    form = client.get("/nuri/unlock/verify/").content.decode()
    assert 'name="password1"' in form and 'name="password2"' in form
    assert 'name="code"' not in form  # the code was the step-up page's

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/nuri/unlock/verify/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/nuri/login/"
    locked_customer.refresh_from_db()
    assert locked_customer.login_locked_at is None
    assert locked_customer.failed_login_count == 0
    grant = VerificationGrant.objects.get(customer=locked_customer, purpose=VerificationGrant.Purpose.UNLOCK)
    assert grant.consumed_at is not None
    assert actions(locked_customer)[-6:] == [
        "identity_verified",
        "verification_started",
        "sms_sent",
        "verification_used",
        "password_reset",
        "login_unlocked",
    ]
    assert any("비밀번호가 재설정되었습니다" in m.subject for m in mail.outbox)
    assert client.get("/nuri/unlock/verify/")["Location"] == "/nuri/unlock/"  # used once

    assert login(client, password=PASSWORD).status_code == 200  # the old password is gone
    assert login(client, password=NEW_PASSWORD).status_code == 302


def test_unlock_with_a_wrong_sms_code_leaves_the_login_locked(
    client, locked_customer, account, django_capture_on_commit_callbacks, sms_code
):
    with django_capture_on_commit_callbacks(execute=True):
        unlock_start(client, account)
    wrong = "000000" if sms_code() != "000000" else "111111"
    response = unlock_sms(client, wrong)
    assert response.status_code == 403
    assert "인증번호가 올바르지 않습니다" in response.content.decode()
    assert unlock_grant(client).sms_at is None
    # The new-password page stays shut, and posting to it changes nothing.
    response = client.post("/nuri/unlock/verify/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response["Location"] == "/nuri/unlock/"
    locked_customer.refresh_from_db()
    assert locked_customer.login_locked
    assert locked_customer.check_password(PASSWORD)


def test_unlock_verify_page_without_identity_check_sends_back_to_the_start(client, customer):
    response = client.get("/nuri/unlock/verify/")
    assert response.status_code == 302
    assert response["Location"] == "/nuri/unlock/"
    response = client.post("/nuri/unlock/verify/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response["Location"] == "/nuri/unlock/"
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD)


def test_login_unlock_complete_consumes_a_finished_unlock_grant_once(locked_customer):
    token = verified(locked_customer, Purpose.UNLOCK, logged_in=False)
    with pytest.raises(VerificationRequired):  # another browser's session
        unlock.login_unlock_complete(
            grant=token, bank=locked_customer.bank, session_key="another-session", new_password=NEW_PASSWORD
        )
    with pytest.raises(VerificationRequired):  # a grant of another purpose
        unlock.login_unlock_complete(
            grant=verified(locked_customer, Purpose.DESIGNATE),
            bank=locked_customer.bank,
            session_key=SESSION,
            new_password=NEW_PASSWORD,
        )
    unlock.login_unlock_complete(grant=token, bank=locked_customer.bank, session_key=SESSION, new_password=NEW_PASSWORD)
    locked_customer.refresh_from_db()
    assert not locked_customer.login_locked
    assert locked_customer.check_password(NEW_PASSWORD)
    with pytest.raises(VerificationRequired) as excinfo:
        unlock.login_unlock_complete(grant=token, bank=locked_customer.bank, session_key=SESSION, new_password="Another!Pass2026")
    assert "이미 사용한 본인확인" in str(excinfo.value.message)
    locked_customer.refresh_from_db()
    assert locked_customer.check_password(NEW_PASSWORD)


def test_unlock_grant_without_the_sms_code_unlocks_nothing(locked_customer, account):
    grant = stepup.stepup_start_by_login_id(
        purpose=Purpose.UNLOCK,
        bank=locked_customer.bank,
        session_key=SESSION,
        login_id="hong",
        rrn="900101-1234568",
        account_number=account.number,
        pin=PIN,
    )
    with pytest.raises(VerificationRequired):
        unlock.login_unlock_complete(grant=grant.token, bank=locked_customer.bank, session_key=SESSION, new_password=NEW_PASSWORD)
    locked_customer.refresh_from_db()
    assert locked_customer.login_locked


def test_unlock_with_a_wrong_rrn_is_refused_and_counted_against_the_network(client, customer, account):
    response = unlock_start(client, account, rrn=OTHER_RRN)
    assert response.status_code == 403
    assert WRONG_IDENTITY in response.content.decode()
    customer.refresh_from_db()
    assert customer.identity_failed_count == 0  # SECURITY: nobody can lock a customer out by naming them
    assert customer.identity_locked_at is None
    assert identity_strikes() == 1
    assert SmsMessage.objects.count() == 0
    assert "grant:unlock" not in client.session
    assert not VerificationGrant.objects.exists()
    event = AuditEvent.objects.get(action="identity_failed")
    assert event.customer == customer and event.detail["logged_out"] is True


def test_unlock_with_someone_elses_account_gets_the_same_message_as_a_wrong_rrn(client, customer, account, make_customer):
    other = make_customer(login_id="younghee", name="김영희", rrn=OTHER_RRN, phone="01023456789")
    wrong_rrn = unlock_start(client, account, rrn=OTHER_RRN)
    someone_elses = unlock_start(client, None, number=other.deposit_accounts.get().display_number)
    assert someone_elses.status_code == wrong_rrn.status_code == 403
    assert WRONG_IDENTITY in someone_elses.content.decode()
    assert error_text(someone_elses) == error_text(wrong_rrn)
    customer.refresh_from_db()
    other.refresh_from_db()
    assert customer.identity_failed_count == other.identity_failed_count == 0
    assert other.deposit_accounts.get().pin_failed_count == 0  # the PIN of a foreign account is never tried
    assert identity_strikes() == 2


def test_unlock_for_an_unknown_login_id_gets_the_same_message(client, customer, account):
    wrong_rrn = unlock_start(client, account, rrn=OTHER_RRN)
    unknown = unlock_start(client, account, login_id="nobody")
    assert unknown.status_code == 403
    assert error_text(unknown) == error_text(wrong_rrn)
    assert WRONG_IDENTITY in unknown.content.decode()
    assert identity_strikes() == 2
    assert SmsMessage.objects.count() == 0
    customer.refresh_from_db()
    assert customer.identity_failed_count == 0


def test_wrong_identities_from_one_network_wait_after_five_and_never_lock_the_customer(client, customer, account, clock):
    for strikes in range(1, 6):
        response = unlock_start(client, account, rrn=OTHER_RRN)
        assert response.status_code == 403 and WRONG_IDENTITY in response.content.decode()
        assert identity_strikes() == strikes
    response = unlock_start(client, account, login_id="nobody")  # the 6th: still the same answer, the next waits 30 s
    assert response.status_code == 403 and WRONG_IDENTITY in response.content.decode()

    response = unlock_start(client, account)  # even the right details wait
    assert response.status_code == 429
    assert "30초 후에 다시 시도해 주세요" in response.content.decode()
    assert identity_strikes() == 6  # waiting is not counted
    assert SmsMessage.objects.count() == 0
    customer.refresh_from_db()
    assert customer.identity_failed_count == 0 and customer.identity_locked_at is None
    assert DepositAccount.objects.get(pk=account.pk).pin_failed_count == 0

    other = Client(REMOTE_ADDR="203.0.113.7")  # another network is not held up
    assert unlock_start(other, account, rrn=OTHER_RRN).status_code == 403

    clock.shift(30)
    assert unlock_start(client, account).status_code == 302
    assert unlock_grant(client).customer == customer


def test_logged_out_wrong_account_pins_back_off_and_never_lock_the_pin(client, customer, account):
    """Someone who knows the login ID (or name), the RRN and an account number
    must not be able to lock the customer's PIN, and so every self-service
    step-up: logged out, wrong PINs back off per account and answer like any
    other wrong part (nothing confirms which parts were right)."""
    for _ in range(5):
        response = unlock_start(client, account, pin="9999")
        assert response.status_code == 403
        assert WRONG_IDENTITY in response.content.decode()
    response = unlock_start(client, account)  # even the right PIN waits now
    assert response.status_code == 429
    assert "30초 후에 다시 시도해 주세요" in response.content.decode()
    account.refresh_from_db()
    assert account.pin_failed_count == 0 and account.pin_locked_at is None
    customer.refresh_from_db()
    assert customer.identity_failed_count == 0
    assert actions(customer, action="identity_failed") == ["identity_failed"] * 5
    # From another network, after the wait, the customer goes on.
    with time_machine.travel(datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=31), tick=False):
        other = Client(REMOTE_ADDR="198.51.100.20")
        assert unlock_start(other, account).status_code == 302


def test_five_failed_logged_in_identity_checks_lock_identity_verification(customer, account):
    """Logged in, the session says who: wrong 본인확인 counts against the customer."""

    def start(rrn="900101-1234568"):
        return stepup.stepup_start(
            purpose=Purpose.ISSUE, customer=customer, session_key=SESSION, rrn=rrn, account_number=account.number, pin=PIN
        )

    for count in range(1, 5):
        with pytest.raises(IdentityMismatch):
            start(rrn=OTHER_RRN)
        customer.refresh_from_db()
        assert customer.identity_failed_count == count
        assert customer.identity_locked_at is None
    with pytest.raises(IdentityLocked) as excinfo:
        start(rrn=OTHER_RRN)
    assert "본인확인에 5회 연속 실패하여 잠겼습니다" in str(excinfo.value.message)
    customer.refresh_from_db()
    assert customer.identity_locked_at is not None
    assert actions(customer, action="identity_failed") == ["identity_failed"] * 5

    with pytest.raises(IdentityLocked):
        start()  # now with the right details
    assert not VerificationGrant.objects.exists()
    assert not Throttle.objects.filter(scope="identity_network").exists()  # logged in: nothing on the network


def test_a_right_logged_in_identity_check_resets_the_count(customer, account):
    with pytest.raises(IdentityMismatch):
        stepup.identity_verify(customer=customer, rrn=OTHER_RRN, account_number=account.number, pin=PIN)
    stepup.identity_verify(customer=customer, rrn="900101-1234568", account_number=account.number, pin=PIN)
    customer.refresh_from_db()
    assert customer.identity_failed_count == 0


def test_wrong_pin_is_counted_per_account(customer, make_customer, account):
    other = make_customer(login_id="younghee", name="김영희", rrn="920315-2345674", phone="01023456789")
    other_account = other.deposit_accounts.get()
    from banking.services import account_pin_verify

    with pytest.raises(AccountPinInvalid):
        account_pin_verify(account=account, pin="9999")
    account.refresh_from_db()
    other_account.refresh_from_db()
    assert account.pin_failed_count == 1
    assert other_account.pin_failed_count == 0


def test_right_pin_resets_the_count_of_wrong_ones(account):
    from banking.services import account_pin_verify

    for _ in range(4):
        with pytest.raises(AccountPinInvalid):
            account_pin_verify(account=account, pin="0000")
    account_pin_verify(account=account, pin=PIN)
    account.refresh_from_db()
    assert account.pin_failed_count == 0
    assert account.pin_locked_at is None


def test_failure_counters_are_saved_although_the_service_raises(customer, account):
    # Each counter is committed in its own block before the error leaves the
    # service; raising inside that block would roll the count back.
    with pytest.raises(IdentityMismatch):
        stepup.identity_verify(customer=customer, rrn="920315-2345674", account_number=account.number, pin=PIN)
    with pytest.raises(AccountPinInvalid):
        stepup.identity_verify(customer=customer, rrn="900101-1234568", account_number=account.number, pin="9999")
    with pytest.raises(InvalidCredentials):
        services.password_login(bank=customer.bank, login_id="hong", password="wrong")
    fresh = Customer.objects.get(pk=customer.pk)
    assert fresh.identity_failed_count == 1
    assert fresh.failed_login_count == 1
    assert DepositAccount.objects.get(pk=account.pk).pin_failed_count == 1


def test_identity_lock_is_checked_before_anything_else(customer, account):
    Customer.objects.filter(pk=customer.pk).update(identity_locked_at="2026-01-01T00:00:00Z")
    customer.refresh_from_db()
    with pytest.raises(IdentityLocked):
        stepup.identity_verify(customer=customer, rrn="900101-1234568", account_number=account.number, pin=PIN)
    assert DepositAccount.objects.get(pk=account.pk).pin_failed_count == 0


def test_account_pin_lock_raises_account_pin_locked(account):
    from banking.services import account_pin_verify

    for _ in range(4):
        with pytest.raises(AccountPinInvalid):
            account_pin_verify(account=account, pin="0000")
    with pytest.raises(AccountPinLocked):
        account_pin_verify(account=account, pin="0000")
    with pytest.raises(AccountPinLocked):
        account_pin_verify(account=account, pin=PIN)


# --- Staff unlock ---------------------------------------------------------------------------------


def test_staff_unlock_clears_every_lock_and_names_the_staff_member(locked_customer, account, staff):
    staff_member, _device = staff
    Customer.objects.filter(pk=locked_customer.pk).update(identity_failed_count=5, identity_locked_at="2026-01-01T00:00:00Z")
    DepositAccount.objects.filter(pk=account.pk).update(pin_failed_count=5, pin_locked_at="2026-01-01T00:00:00Z")

    unlock.staff_unlock(customer=locked_customer, staff=staff_member)

    locked_customer.refresh_from_db()
    account.refresh_from_db()
    assert locked_customer.login_locked_at is None
    assert locked_customer.failed_login_count == 0
    assert locked_customer.identity_locked_at is None
    assert locked_customer.identity_failed_count == 0
    assert account.pin_locked_at is None
    assert account.pin_failed_count == 0
    event = AuditEvent.objects.get(action="staff_unlocked_login")
    assert event.customer == locked_customer
    assert event.actor == staff_member
    assert event.bank == locked_customer.bank


def test_customer_logs_in_again_after_staff_unlock(client, locked_customer, staff):
    unlock.staff_unlock(customer=locked_customer, staff=staff[0])
    assert login(client).status_code == 302


def test_the_backends_user_can_authenticate_is_honoured_on_every_request(logged_in_client, customer):
    """A customer deactivated (or a sign-up undone) after logging in is logged out at their next request."""
    assert logged_in_client.get("/nuri/accounts/").status_code == 200
    Customer.objects.filter(pk=customer.pk).update(is_active=False)
    response = logged_in_client.get("/nuri/accounts/")
    assert response.status_code == 302 and "/nuri/login/" in response["Location"]


def test_a_staff_user_cannot_use_the_customer_backends(client, staff):
    from accounts.backends import BankPasswordBackend
    from certificates.backends import CertificateBackend

    user, _device = staff
    assert not BankPasswordBackend().user_can_authenticate(user)  # no finished sign-up at a bank
    assert not CertificateBackend().user_can_authenticate(user)
