"""Brute force under parallel attack (issue 12 §5).

Each secret a guesser could try is guarded by a counter. Here 50 guesses
arrive at once, each on its own thread and database connection as web
workers would send them (tests.concurrency.at_once), through the real
service seams. A spy counts the guesses whose secret was actually compared
(it calls the real comparison through): that number must be the configured
limit exactly, never one more, whatever the interleaving. In the second
variant the right answer arrives late, after the limit was reached while
wrong guesses are still queued: it must be refused like them, and it is
refused again afterwards.

| secret | seam | limit |
|---|---|---|
| login password | accounts.services.password_login (and POST /<bank>/login/) | CERTBANK_LOGIN_MAX_FAILURES, then locked |
| account PIN, logged in | flows.stepup.stepup_start (본인확인) | CERTBANK_PIN_MAX_FAILURES, then locked |
| account PIN, logged out | flows.stepup.stepup_start_logged_out | 4 free + 1 per account, then back-off; never locked |
| 본인확인, logged out | the same, wrong identities from one network | 5 free + 1 per network, then back-off |
| staff console | POST /staff/login/ (password and OTP code) | 5 free + 1 per network and name, then back-off |
| 인증서 복사 number | POST /<bank>/certificates/copy/find/ | CERTBANK_COPY_CLIENT_MAX_FAILURES per network and window |
| 금융인증서 PIN | certificates.services.cloud_key_unlock | CERTBANK_CLOUD_MAX_PIN_FAILURES, then locked |
| SMS code | accounts.verification.grant_sms_verify | CERTBANK_SMS_MAX_FAILURES, then the code is discarded |
| OTP code | accounts.verification.grant_otp_verify | 3 free + 1, then back-off |

The account PIN is never locked from a logged-out page (README "Who can
lock what"): anyone who knows a name, an RRN and an account number could
otherwise lock the customer out. A back-off (core.throttle.Policy) lets `free` failures through without
waiting; the next failure is still compared and starts the wait. So
"free + 1" guesses are compared before the first refusal unseen.

These run on SQLite (its IMMEDIATE transactions queue every writer) and on
PostgreSQL (row locks and the advisory locks of core.boundary.hold), with
DATABASE_URL set as in CI.
"""

import base64
import datetime
import time

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services as account_services
from accounts.exceptions import LoginLocked
from accounts.models import Customer, PhoneDevice, VerificationGrant
from accounts.verification import grant_otp_verify, grant_sms_send, grant_sms_verify
from audit.models import AuditEvent
from banking.models import DepositAccount
from banking.services import ledger
from certificates import services as certificate_services
from certificates.client import copy as pycopy
from certificates.exceptions import CertificateRefused, Refusal
from certificates.models import CloudKey, CopyClientCounter
from certificates.services import copy as copy_services
from core.errors import DomainError
from core.models import Throttle
from flows import demo, stepup
from tests.certificates.conftest import SESSION
from tests.certificates.test_cloud import DEVICE, issue_cloud
from tests.certificates.test_cloud import PIN_OK as CLOUD_PIN
from tests.certificates.test_cloud import pin_verifier as cloud_verifier
from tests.concurrency import at_once
from tests.conftest import PASSWORD, PIN, totp_now
from tests.verification import Purpose

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

GUESSERS = 50
RIGHT = GUESSERS - 1  # the thread that carries the right answer, in the second variant
VARIANTS = pytest.mark.parametrize("right_late", [False, True], ids=["wrong-only", "right-late"])


def wait_until(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.005)


def _identify(customer, account, *, session_key: str = SESSION, pin: str = PIN):
    """본인확인 while logged in (before issuing a certificate): the customer's RRN and account, and `pin`."""
    return stepup.stepup_start(
        purpose=Purpose.ISSUE,
        customer=customer,
        session_key=session_key,
        rrn=customer.decrypted_rrn(),
        account_number=account.number,
        pin=pin,
    )


def _identify_logged_out(customer, account, *, session_key: str, rrn: str | None = None, pin: str = PIN):
    """본인확인 from the login page: the customer's name, `rrn` (else the customer's), account, and `pin`."""
    return stepup.stepup_start_logged_out(
        purpose=Purpose.ISSUE,
        bank=customer.bank,
        session_key=session_key,
        name=customer.name,
        rrn=rrn or customer.decrypted_rrn(),
        account_number=account.number,
        pin=pin,
    )


class Race:
    """GUESSERS attempts at once; with `right_late`, the last thread waits
    until `limit` guesses were compared, then sends the right answer."""

    def __init__(self, *, checked, limit: int, right_late: bool):
        self.checked = checked
        self.limit = limit
        self.right_late = right_late
        self.right_outcome = None
        self.started = time.monotonic()

    def run(self, attempt):
        def work(i):
            right = self.right_late and i == RIGHT
            if right:
                wait_until(lambda: self.checked.count >= self.limit)
            try:
                result = attempt(i, right)
            except DomainError as refusal:
                if right:
                    self.right_outcome = refusal
                raise
            if right:
                self.right_outcome = result
            return result

        outcomes = at_once(GUESSERS, work)
        self.seconds = time.monotonic() - self.started
        print(
            f"\n[{connection.vendor}] {GUESSERS} parallel guesses: {self.checked.count} compared "
            f"(limit {self.limit}), {sorted(set(outcomes.codes))}, {self.seconds:.2f} s"
        )
        assert outcomes.errors == []
        return outcomes

    def assert_right_refused(self, code: str) -> None:
        if self.right_late:
            assert isinstance(self.right_outcome, DomainError), self.right_outcome
            assert self.right_outcome.code == code


# --- Login password -------------------------------------------------------------------------------


@VARIANTS
def test_login_password_lock_compares_exactly_the_limit_of_50_parallel_guesses(customer, spy, right_late):
    limit = settings.CERTBANK_LOGIN_MAX_FAILURES
    race = Race(checked=spy(Customer, "check_password"), limit=limit, right_late=right_late)

    def attempt(i, right):
        return account_services.password_login(
            bank=customer.bank, login_id="hong", password=PASSWORD if right else f"wrong-password-{i}"
        )

    outcomes = race.run(attempt)
    assert race.checked.count == limit
    assert outcomes.results == []
    assert outcomes.codes.count("invalid_credentials") == limit - 1
    assert outcomes.codes.count("login_locked") == GUESSERS - limit + 1
    race.assert_right_refused("login_locked")
    customer.refresh_from_db()
    assert customer.failed_login_count == limit and customer.login_locked
    with pytest.raises(LoginLocked):
        account_services.password_login(bank=customer.bank, login_id="hong", password=PASSWORD)
    assert race.checked.count == limit  # refused at the lock, never compared


@VARIANTS
def test_login_page_lock_holds_under_50_parallel_browsers(customer, spy, right_late):
    """The same over HTTP: 50 browsers post the login form at once."""
    limit = settings.CERTBANK_LOGIN_MAX_FAILURES
    race = Race(checked=spy(Customer, "check_password"), limit=limit, right_late=right_late)
    browsers = [Client(REMOTE_ADDR=f"198.51.100.{i + 1}") for i in range(GUESSERS)]
    statuses = {}

    def attempt(i, right):
        password = PASSWORD if right else f"wrong-password-{i}"
        response = browsers[i].post("/nuri/login/", {"login_id": "hong", "password": password})
        statuses[i] = (response.status_code, "_auth_user_id" in browsers[i].session)
        return response.status_code

    race.run(attempt)
    assert race.checked.count == limit
    assert all(code == 200 and not logged_in for code, logged_in in statuses.values())  # the form again, nobody in
    customer.refresh_from_db()
    assert customer.failed_login_count == limit and customer.login_locked
    if right_late:
        assert statuses[RIGHT] == (200, False)
    late = Client().post("/nuri/login/", {"login_id": "hong", "password": PASSWORD})
    assert late.status_code == 200 and "잠겼" in late.content.decode()


# --- Account PIN (출금계좌 비밀번호) -------------------------------------------------------------------


@VARIANTS
def test_account_pin_lock_of_a_logged_in_verification_compares_exactly_the_limit(customer, spy, right_late):
    """본인확인 while logged in (e.g. before issuing a certificate): the RRN and
    account are right, the PIN is guessed; the 5-strike lock applies here."""
    limit = settings.CERTBANK_PIN_MAX_FAILURES
    account = DepositAccount.objects.get(owner=customer)
    race = Race(checked=spy(ledger, "digests_match"), limit=limit, right_late=right_late)

    def attempt(i, right):
        return _identify(customer, account, session_key=f"guesser-{i}", pin=PIN if right else f"{9000 + i:04d}")

    outcomes = race.run(attempt)
    assert race.checked.count == limit
    assert outcomes.results == []
    assert outcomes.codes.count("account_pin_invalid") == limit - 1
    assert outcomes.codes.count("account_pin_locked") == GUESSERS - limit + 1
    race.assert_right_refused("account_pin_locked")
    account.refresh_from_db()
    assert account.pin_failed_count == limit and account.pin_locked
    assert not VerificationGrant.objects.exists()
    with pytest.raises(DomainError) as refused:
        _identify(customer, account, session_key="after")
    assert refused.value.code == "account_pin_locked"


def _account_backoff_failures(account) -> int:
    row = Throttle.objects.filter(scope="account_pin_logged_out", key=str(account.pk)).first()
    return row.failures if row else 0


@VARIANTS
def test_logged_out_verification_backs_off_the_account_pin_exactly_and_never_locks_it(customer, spy, right_late):
    """Logged out (issuance from the login page), name, RRN and account are
    right and the PIN is guessed: 4 free failures and the 5th that starts the
    wait are compared; the account PIN is deliberately not locked (anyone who
    knows name, RRN and account number could otherwise lock the customer out)."""
    free = stepup._account_policy().free
    account = DepositAccount.objects.get(owner=customer)
    race = Race(checked=spy(ledger, "digests_match"), limit=free + 1, right_late=right_late)

    def attempt(i, right):
        return _identify_logged_out(customer, account, session_key=f"guesser-{i}", pin=PIN if right else f"{9000 + i:04d}")

    outcomes = race.run(attempt)
    assert race.checked.count == free + 1
    assert outcomes.results == []
    assert outcomes.codes.count("identity_mismatch") == free + 1
    assert outcomes.codes.count("identity_throttled") == GUESSERS - free - 1
    race.assert_right_refused("identity_throttled")
    assert _account_backoff_failures(account) == free + 1
    account.refresh_from_db()
    assert account.pin_failed_count == 0 and not account.pin_locked
    assert not VerificationGrant.objects.exists()


# --- 금융인증서 PIN ---------------------------------------------------------------------------------


@pytest.fixture
def cloud_certificate(test_ca, customer, rsa_keys, django_capture_on_commit_callbacks):
    """홍길동's 금융인증서 (PIN CLOUD_PIN), issued through the service a browser uses, on DEVICE."""
    with django_capture_on_commit_callbacks(execute=True):
        return issue_cloud(customer, rsa_keys[2], device=DEVICE)


@VARIANTS
def test_cloud_pin_lock_compares_exactly_the_limit_of_50_parallel_guesses(cloud_certificate, spy, right_late):
    limit = settings.CERTBANK_CLOUD_MAX_PIN_FAILURES
    right = cloud_verifier(cloud_certificate, CLOUD_PIN)
    wrong = [cloud_verifier(cloud_certificate, f"{100000 + 7919 * i:06d}") for i in range(GUESSERS)]
    race = Race(checked=spy(certificate_services.cloud, "pin_verifier_matches"), limit=limit, right_late=right_late)

    def attempt(i, is_right):
        return certificate_services.cloud_key_unlock(
            serial=cloud_certificate.serial,
            verifier=right if is_right else wrong[i],
            device_token=DEVICE,
            bank=cloud_certificate.issuing_bank,
        )

    outcomes = race.run(attempt)
    assert race.checked.count == limit
    assert outcomes.results == []
    assert outcomes.codes.count(Refusal.WRONG_PIN.value) == limit - 1
    assert outcomes.codes.count(Refusal.CLOUD_LOCKED.value) == GUESSERS - limit + 1
    race.assert_right_refused(Refusal.CLOUD_LOCKED.value)
    key = CloudKey.objects.get(certificate=cloud_certificate)
    assert key.failed_pins == limit and key.locked_at is not None
    with pytest.raises(CertificateRefused) as refused:
        attempt(0, True)
    assert refused.value.reason == Refusal.CLOUD_LOCKED
    assert race.checked.count == limit


# --- SMS code -------------------------------------------------------------------------------------


@VARIANTS
def test_sms_code_is_discarded_after_exactly_the_limit_of_50_parallel_guesses(customer, spy, right_late):
    """The SMS step of a verification: the code is guessed."""
    limit = settings.CERTBANK_SMS_MAX_FAILURES
    grant = _identify(customer, DepositAccount.objects.get(owner=customer))
    grant_sms_send(grant=grant)
    code = PhoneDevice.objects.get(user=customer).token
    wrong = [f"{(int(code) + 1 + i) % 1_000_000:06d}" for i in range(GUESSERS)]
    race = Race(checked=spy(PhoneDevice, "code_matches"), limit=limit, right_late=right_late)

    def attempt(i, right):
        # Each request reads the grant afresh, as a web worker would.
        return grant_sms_verify(grant=VerificationGrant.objects.get(pk=grant.pk), code=code if right else wrong[i])

    outcomes = race.run(attempt)
    assert race.checked.count == limit
    assert outcomes.results == []
    assert outcomes.codes.count("sms_code_invalid") == limit - 1
    assert outcomes.codes.count("sms_code_exhausted") == 1
    assert outcomes.codes.count("sms_code_expired") == GUESSERS - limit  # no code left to guess
    race.assert_right_refused("sms_code_expired")
    device = PhoneDevice.objects.get(user=customer)
    assert device.throttling_failure_count == limit and device.token is None
    grant.refresh_from_db()
    assert grant.sms_at is None
    with pytest.raises(DomainError) as refused:
        grant_sms_verify(grant=grant, code=code)
    assert refused.value.code == "sms_code_expired"
    assert race.checked.count == limit


# --- OTP code -------------------------------------------------------------------------------------


def _window_codes(device) -> set[str]:
    """The codes the device accepts now (its tolerance either side)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    now = totp.t()
    codes = set()
    for offset in range(-device.tolerance, device.tolerance + 1):
        totp.time = (now + offset) * device.step + device.t0
        codes.add(f"{totp.token():0{device.digits}d}")
    return codes


@VARIANTS
def test_otp_backs_off_after_exactly_the_free_tries_of_50_parallel_guesses(customer, spy, right_late):
    """The OTP step of a verification (the customer has an OTP): 3 failures
    pass freely, the 4th is compared and starts the 2-second wait; every
    other guess of the burst is refused unseen. (The clock stands still, so
    the wait cannot run out during the burst.)"""
    free = account_services._otp_policy().free
    with time_machine.travel(datetime.datetime(2026, 11, 22, 3, 0, 1, tzinfo=datetime.UTC), tick=False) as clock:
        device = TOTPDevice.objects.create(user=customer, name="OTP", confirmed=True)
        grant = _identify(customer, DepositAccount.objects.get(owner=customer))
        accepted = _window_codes(device)
        right_code = sorted(accepted)[0]
        wrong = [code for code in (f"{(7919 * i + 13) % 1_000_000:06d}" for i in range(GUESSERS + 10)) if code not in accepted]
        race = Race(checked=spy(TOTPDevice, "verify_token"), limit=free + 1, right_late=right_late)

        def attempt(i, right):
            return grant_otp_verify(grant=VerificationGrant.objects.get(pk=grant.pk), code=right_code if right else wrong[i])

        outcomes = race.run(attempt)
        assert race.checked.count == free + 1
        assert outcomes.results == []
        assert outcomes.codes.count("otp_code_invalid") == free + 1
        assert outcomes.codes.count("otp_throttled") == GUESSERS - free - 1
        race.assert_right_refused("otp_throttled")
        grant.refresh_from_db()
        assert grant.otp_at is None
        with pytest.raises(DomainError) as refused:
            grant_otp_verify(grant=grant, code=right_code)
        assert refused.value.code == "otp_throttled"
        assert race.checked.count == free + 1

        # A back-off, not a lock: once the wait is over, the right code passes.
        clock.shift(2)
        grant_otp_verify(grant=VerificationGrant.objects.get(pk=grant.pk), code=right_code)
    grant.refresh_from_db()
    assert grant.otp_at is not None


# --- Back-offs per client network ------------------------------------------------------------------


@VARIANTS
def test_logged_out_verification_backs_off_a_network_after_exactly_its_free_tries(customer, spy, right_late):
    """One network sends 50 logged-out 본인확인 at once, each with another
    wrong RRN for a known name and account: 5 free failures and the 6th that
    starts the wait are looked at; the rest wait. (Before flows.stepup held
    the network's turn, all 50 passed the wait check on PostgreSQL.)"""
    free = stepup._network_policy().free
    account = DepositAccount.objects.get(owner=customer)
    race = Race(checked=spy(Customer, "rrn_index_for"), limit=free + 1, right_late=right_late)

    def attempt(i, right):
        return _identify_logged_out(customer, account, session_key=f"guesser-{i}", rrn=None if right else f"900101-1{i:06d}")

    outcomes = race.run(attempt)
    assert race.checked.count == free + 1
    assert outcomes.results == []
    assert outcomes.codes.count("identity_mismatch") == free + 1
    assert outcomes.codes.count("identity_throttled") == GUESSERS - free - 1
    race.assert_right_refused("identity_throttled")
    assert Throttle.objects.get(scope="identity_network").failures == free + 1
    assert not VerificationGrant.objects.exists()


def _staff_login(client, *, password: str, code: str):
    return client.post(
        "/staff/login/", {"username": demo.STAFF_USERNAME, "password": password, "otp_token": code, "next": "/staff/"}
    )


@VARIANTS
def test_staff_login_backs_off_after_exactly_its_free_tries_of_50_parallel_guesses(staff, spy, right_late):
    """50 browsers of one network post the staff login at once: the password
    is compared for 5 free failures and the 6th that starts the wait, never
    more. (Before accounts.services.staff_login_turn, all 50 were compared.)"""
    free = account_services._staff_policies()[0].free
    user, device = staff
    with time_machine.travel(datetime.datetime(2026, 11, 22, 3, 0, 1, tzinfo=datetime.UTC), tick=False) as clock:
        code = totp_now(device)
        race = Race(checked=spy(Customer, "check_password"), limit=free + 1, right_late=right_late)
        browsers = [Client() for _ in range(GUESSERS)]
        answers = {}

        def attempt(i, right):
            response = _staff_login(browsers[i], password=demo.STAFF_PASSWORD if right else f"wrong-{i}", code=code)
            answers[i] = (response.status_code, response.content.decode())
            return response.status_code

        race.run(attempt)
        assert race.checked.count == free + 1
        assert all(status == 200 for status, _body in answers.values())  # the form again: nobody got in
        assert sum("후에 다시 시도해 주세요" in body for _status, body in answers.values()) == GUESSERS - free
        if right_late:
            assert "30초 후에 다시 시도해 주세요" in answers[RIGHT][1]
        assert Throttle.objects.get(scope="staff_login").failures == free + 1
        assert not AuditEvent.objects.filter(action="login_succeeded").exists()

        # A back-off, never a lock: after the wait the right password and code get in.
        clock.shift(30)
        late = Client()
        assert _staff_login(late, password=demo.STAFF_PASSWORD, code=code).status_code == 302
        assert late.get("/staff/").status_code == 200


@VARIANTS
def test_copy_numbers_looked_up_from_one_network_stop_at_exactly_its_limit(banks, spy, right_late):
    """인증서 복사: 50 browsers of one network (each a fresh session, so only the
    network's count holds them) type a copy number at once: exactly the
    limit of wrong numbers are looked up, the rest are refused unlooked.
    (Before the lookup held the network's turn, all 50 were looked up.)"""
    limit = settings.CERTBANK_COPY_CLIENT_MAX_FAILURES
    receiver = Client(REMOTE_ADDR="203.0.113.9")
    opened = receiver.post(
        "/nuri/certificates/copy/open/", {"receiver_commitment": base64.b64encode(pycopy.create_receiver().commitment).decode()}
    ).json()
    wrong = [f"{(int(opened['number']) + 1 + i) % 10**8:08d}" for i in range(GUESSERS)]
    race = Race(checked=spy(copy_services, "_lookup_failed"), limit=limit, right_late=right_late)
    browsers = [Client(REMOTE_ADDR="198.51.100.7") for _ in range(GUESSERS)]
    answers = {}

    def attempt(i, right):
        response = browsers[i].post("/nuri/certificates/copy/find/", {"number": opened["number"] if right else wrong[i]})
        answers[i] = response.json().get("code")
        return response.status_code

    race.run(attempt)
    assert race.checked.count == limit
    codes = sorted(answers.values())
    assert codes.count("not_found") == limit
    assert codes.count("network_throttled") == GUESSERS - limit
    if right_late:
        assert answers[RIGHT] == "network_throttled"
    counter = CopyClientCounter.objects.get(kind=CopyClientCounter.Kind.LOOKUP_FAILURE, client="198.51.100.7")
    assert counter.count == limit
