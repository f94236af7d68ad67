"""The staff console at /staff/: Django admin behind password and TOTP (bank.admin_site, */admin.py)."""

import datetime
import re

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.test import Client

from accounts.models import Customer
from audit.models import AuditEvent
from banking.models import DepositAccount, LedgerEntry
from core.models import Throttle
from flows import demo
from tests.conftest import PASSWORD

# Django admin's Korean "Please enter the correct username and password for a staff account".
STAFF_GENERIC = "비밀번호를 입력해주세요"


def staff_login(client, device, *, username=demo.STAFF_USERNAME, password=demo.STAFF_PASSWORD, token=None):
    data = {"username": username, "password": password, "next": "/staff/"}
    if device is not None:
        data["otp_device"] = device.persistent_id
    if token is not None:
        data["otp_token"] = token
    return client.post("/staff/login/", data)


def wrong_token(token: str) -> str:
    return f"{(int(token) + 500_000) % 1_000_000:06d}"


@pytest.fixture
def younghee(make_customer):
    return make_customer(login_id="younghee", name="김영희", rrn="920315-2345674", phone="01023456789")


# --- Logging in -------------------------------------------------------------------------------


def test_console_needs_a_login(client, staff):
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login/")


def test_staff_password_without_otp_token_is_refused(client, staff):
    user, device = staff
    response = staff_login(client, device)
    assert response.status_code == 200
    assert client.session.get(SESSION_KEY) is None
    assert client.get("/staff/").status_code == 302


def test_staff_password_with_a_wrong_otp_token_is_refused(client, staff, totp_code):
    user, device = staff
    response = staff_login(client, device, token=wrong_token(totp_code(device)))
    assert response.status_code == 200
    assert client.get("/staff/").status_code == 302


def test_staff_with_password_and_the_current_otp_token_gets_in(client, staff, totp_code):
    user, device = staff
    response = staff_login(client, device, token=totp_code(device))
    assert response.status_code == 302
    assert client.session.get(SESSION_KEY) == str(user.pk)
    assert client.get("/staff/").status_code == 200


def test_otp_token_cannot_be_replayed(client, staff, totp_code):
    user, device = staff
    with time_machine.travel(datetime.datetime(2026, 11, 22, 3, 0, 1, tzinfo=datetime.UTC), tick=False):
        token = totp_code(device)
        assert staff_login(client, device, token=token).status_code == 302
        client.post("/staff/logout/")
        response = staff_login(client, device, token=token)
    assert response.status_code == 200
    assert client.get("/staff/").status_code == 302


def staff_strikes(scope="staff_login", key=f"127.0.0.1|{demo.STAFF_USERNAME}") -> int:
    """Refused staff logins counted by core.throttle (the test client is 127.0.0.1)."""
    row = Throttle.objects.filter(scope=scope, key=key).first()
    return row.failures if row is not None else 0


def test_staff_wrong_password_with_the_right_token_is_refused(client, staff, totp_code):
    user, device = staff
    response = staff_login(client, device, password="wrong-password", token=totp_code(device))
    assert response.status_code == 200
    assert client.session.get(SESSION_KEY) is None
    assert staff_strikes() == 1
    assert staff_strikes("staff_login_network", "127.0.0.1") == 1
    user.refresh_from_db()
    assert user.failed_login_count == 0  # staff are counted per network and name, never on their record
    assert user.login_locked_at is None


def test_wrong_staff_logins_beyond_the_free_five_make_the_next_try_wait_and_never_lock(client, staff, totp_code):
    user, device = staff
    with time_machine.travel(datetime.datetime(2026, 11, 22, 3, 0, 1, tzinfo=datetime.UTC), tick=False) as clock:
        # A wrong password and a wrong code are one kind of failure, with one answer.
        for n in range(5):
            if n % 2:
                response = staff_login(client, device, token=wrong_token(totp_code(device)))
            else:
                response = staff_login(client, device, password="wrong-password", token=totp_code(device))
            body = response.content.decode()
            assert STAFF_GENERIC in body and "후에 다시 시도해 주세요" not in body
        response = staff_login(client, device, password="wrong-password", token=totp_code(device))  # the 6th
        assert "30초 후에 다시 시도해 주세요" in response.content.decode()
        assert staff_strikes() == 6

        # While waiting, even the right password and code are refused, with how long; not counted.
        response = staff_login(client, device, token=totp_code(device))
        assert response.status_code == 200
        assert "30초 후에 다시 시도해 주세요" in response.content.decode()
        assert client.session.get(SESSION_KEY) is None
        assert staff_strikes() == 6
        clock.shift(29)
        assert "1초 후에 다시 시도해 주세요" in staff_login(client, device, token=totp_code(device)).content.decode()

        clock.shift(1)
        response = staff_login(client, device, password="wrong-password", token=totp_code(device))
        assert "60초 후에 다시 시도해 주세요" in response.content.decode()  # each further failure doubles the wait

        clock.shift(60)
        response = staff_login(client, device, token=totp_code(device))
        assert response.status_code == 302
        assert client.session.get(SESSION_KEY) == str(user.pk)
        assert client.get("/staff/").status_code == 200
    assert staff_strikes() == 0  # a success forgets the name's failures
    user.refresh_from_db()
    assert user.failed_login_count == 0
    assert user.login_locked_at is None
    assert not user.login_locked
    assert AuditEvent.objects.filter(action="login_failed", detail__staff=True).count() == 7


def test_one_network_trying_many_staff_names_waits_after_twenty(client, staff, totp_code):
    user, device = staff
    with time_machine.travel(datetime.datetime(2026, 11, 22, 3, 0, 1, tzinfo=datetime.UTC), tick=False):
        for n in range(21):
            response = staff_login(client, None, username=f"guess{n}", password="wrong-password")
            assert response.status_code == 200
        assert "30초 후에 다시 시도해 주세요" in response.content.decode()
        assert staff_strikes("staff_login_network", "127.0.0.1") == 21
        assert staff_strikes() == 0  # no failure for this name yet
        response = staff_login(client, device, token=totp_code(device))
        assert "30초 후에 다시 시도해 주세요" in response.content.decode()
        assert client.session.get(SESSION_KEY) is None
        # Another network is not held up.
        other = Client(REMOTE_ADDR="198.51.100.20")
        assert staff_login(other, device, token=totp_code(device)).status_code == 302


@pytest.mark.parametrize("username", ["901:hong", "hong"])
def test_customer_cannot_log_in_to_the_console_and_its_count_is_untouched(client, staff, customer, username):
    response = staff_login(client, None, username=username, password=PASSWORD, token="123456")
    assert response.status_code == 200
    assert client.session.get(SESSION_KEY) is None
    customer.refresh_from_db()
    assert customer.failed_login_count == 0
    assert customer.login_locked_at is None
    assert not AuditEvent.objects.filter(customer=customer, action__startswith="login").exists()


def test_customer_session_does_not_open_the_console(logged_in_client, staff):
    response = logged_in_client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login/")


def test_staff_cannot_log_in_at_a_bank(client, staff):
    response = client.post("/nuri/login/", {"login_id": demo.STAFF_USERNAME, "password": demo.STAFF_PASSWORD})
    assert response.status_code == 200
    assert client.session.get(SESSION_KEY) is None


def test_idle_staff_session_is_sent_to_the_staff_login(staff, totp_code, client):
    user, device = staff
    with time_machine.travel(datetime.datetime(2026, 11, 22, 3, 0, 1, tzinfo=datetime.UTC), tick=False) as clock:
        staff_login(client, device, token=totp_code(device))
        assert client.get("/staff/").status_code == 200
        clock.shift(601)
        response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"] == "/staff/login/"
    assert client.session.get(SESSION_KEY) is None


# --- Working in the console ------------------------------------------------------------------------


def test_customer_search_by_masked_rrn(staff_client, customer, younghee):
    response = staff_client.get("/staff/accounts/customer/", {"q": "900101-1"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "홍길동" in body
    assert "김영희" not in body
    assert "900101-1******" in body


def test_customer_page_never_shows_the_rrn_or_its_ciphertext(staff_client, customer):
    body = staff_client.get(f"/staff/accounts/customer/{customer.pk}/change/").content.decode()
    assert "900101-1******" in body
    assert "9001011234568" not in body
    assert customer.rrn_ciphertext not in body
    assert customer.rrn_index not in body


def test_customers_cannot_be_added_or_deleted_in_the_console(staff_client, customer):
    assert staff_client.get("/staff/accounts/customer/add/").status_code == 403
    assert staff_client.post(f"/staff/accounts/customer/{customer.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_ledger_entries_are_read_only(staff_client, customer):
    entry = LedgerEntry.objects.get(account__owner=customer)
    assert staff_client.get("/staff/banking/ledgerentry/").status_code == 200
    assert staff_client.get("/staff/banking/ledgerentry/add/").status_code == 403
    response = staff_client.post(
        f"/staff/banking/ledgerentry/{entry.pk}/change/", {"amount": 999_999_999, "balance_after": 999_999_999}
    )
    assert response.status_code == 403
    assert staff_client.post(f"/staff/banking/ledgerentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    fresh = LedgerEntry.objects.get(pk=entry.pk)
    assert (fresh.amount, fresh.balance_after) == (entry.amount, entry.balance_after)


def test_account_balances_cannot_be_edited_in_the_console(staff_client, customer):
    account = customer.deposit_accounts.get()
    assert staff_client.get("/staff/banking/depositaccount/add/").status_code == 403
    response = staff_client.post(f"/staff/banking/depositaccount/{account.pk}/change/", {"balance": 999_999_999})
    assert response.status_code == 403
    assert DepositAccount.objects.get(pk=account.pk).balance == 1_000_000


def test_account_page_does_not_show_the_pin_digest(staff_client, customer):
    account = customer.deposit_accounts.get()
    body = staff_client.get(f"/staff/banking/depositaccount/{account.pk}/change/").content.decode()
    assert account.pin_digest not in body


def test_audit_events_are_read_only(staff_client, customer):
    event = AuditEvent.objects.filter(customer=customer).first()
    assert staff_client.get("/staff/audit/auditevent/").status_code == 200
    assert staff_client.get("/staff/audit/auditevent/add/").status_code == 403
    response = staff_client.post(f"/staff/audit/auditevent/{event.pk}/change/", {"action": "logout"})
    assert response.status_code == 403
    assert staff_client.post(f"/staff/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action == event.action


def test_unlock_action_clears_a_locked_customer_and_names_the_staff_member(staff, staff_client, customer):
    staff_member, _device = staff
    client = Client()  # the customer's own browser
    for _ in range(5):
        client.post("/nuri/login/", {"login_id": "hong", "password": "wrong-password"})
    DepositAccount.objects.filter(owner=customer).update(pin_failed_count=5, pin_locked_at="2026-01-01T00:00:00Z")
    customer.refresh_from_db()
    assert customer.login_locked

    response = staff_client.post(
        "/staff/accounts/customer/", {"action": "unlock_logins", "_selected_action": [customer.pk], "index": 0}
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.login_locked_at is None
    assert customer.failed_login_count == 0
    assert not DepositAccount.objects.get(owner=customer).pin_locked
    event = AuditEvent.objects.get(action="staff_unlocked_login")
    assert event.customer == customer
    assert event.actor == staff_member
    assert client.post("/nuri/login/", {"login_id": "hong", "password": PASSWORD}).status_code == 302


# --- One answer for any failure; success only after both factors ------------------------------


def _login_errors(response) -> list[str]:
    """What the login page tells the person: Django admin's error notes."""
    return re.findall(r'<p class="errornote">\s*(.*?)\s*</p>', response.content.decode(), re.S)


def test_wrong_otp_and_wrong_password_get_the_same_answer(client, staff, totp_code):
    user, device = staff
    code = totp_code(device)
    right_password_wrong_code = _login_errors(staff_login(client, device, token=wrong_token(code)))
    wrong_password_right_code = _login_errors(staff_login(Client(), device, password="wrong-password", token=code))
    # SECURITY: no message tells a password guesser that the password was right.
    assert right_password_wrong_code == wrong_password_right_code
    assert len(right_password_wrong_code) == 1 and STAFF_GENERIC in right_password_wrong_code[0]
    assert "Invalid token" not in right_password_wrong_code[0]
    assert "인증번호" not in right_password_wrong_code[0]


def test_right_password_with_wrong_otp_counts_as_a_failed_login(client, staff, totp_code):
    user, device = staff
    response = staff_login(client, device, token=wrong_token(totp_code(device)))
    assert STAFF_GENERIC in response.content.decode()
    assert staff_strikes() == 1
    event = AuditEvent.objects.get(action="login_failed")
    assert event.customer == user and event.detail["staff"] is True
    assert not AuditEvent.objects.filter(customer=user, action="login_succeeded").exists()
    user.refresh_from_db()
    assert user.failed_login_count == 0


def test_staff_login_success_is_audited_only_after_the_otp(client, staff, totp_code):
    user, device = staff
    assert staff_login(client, device, token=totp_code(device)).status_code == 302
    assert AuditEvent.objects.filter(customer=user, action="login_succeeded").count() == 1


def test_staff_get_in_with_password_and_code_without_picking_a_device(client, staff, totp_code):
    # The login page shows no device list before the first try; one step must do.
    user, device = staff
    response = staff_login(client, None, token=totp_code(device))
    assert response.status_code == 302
    assert client.get("/staff/").status_code == 200


def test_staff_cannot_use_another_staff_members_device(client, staff, totp_code):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user, device = staff
    other = Customer.objects.create_superuser("staff2", "Other!Staff2026x", name="다른 직원")
    other_device = TOTPDevice.objects.create(user=other, name="OTP", confirmed=True)
    response = staff_login(client, other_device, token=totp_code(other_device))
    assert response.status_code == 200
    assert client.get("/staff/").status_code == 302
