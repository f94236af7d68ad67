"""금융인증서 (cloud certificate): issuance, the PIN count and lock, devices,
PIN change, automatic renewal, and use for login and at another bank.

The browser's part (deriving the verifier, wrapping the key) is played here
by hashlib and opaque bytes of the right shape: the server never opens the
wrapped key, so nothing it does may depend on its content.
(test_cloud_dump.py wraps real keys with the Python client.)
"""

import base64
import datetime
import os
import threading

import pytest
import time_machine
from cryptography import x509
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import Action, AuditEvent
from certificates import ca, services
from certificates.challenges import challenge_create
from certificates.exceptions import CertificateRefused, Refusal
from certificates.login import certificate_login
from certificates.models import Certificate, Challenge, CloudDevice, CloudKey
from certificates.verify import pin_verifier_for
from core.models import SmsMessage
from tests.certificates.conftest import SESSION, b64, sign, spki
from tests.concurrency import at_once
from tests.conftest import PIN
from tests.verification import Purpose, sms_code_of, verified, web_verify, web_verify_by_sms

PIN_OK = "482916"
DEVICE = "D" * 43
OTHER_DEVICE = "E" * 43


def wrapped() -> bytes:
    """A stand-in for the browser's AES-GCM blob: version 1, IV, ciphertext, tag."""
    return b"\x01" + os.urandom(12 + 1250 + 16)


def verifier(pin: str, setup) -> bytes:
    return pin_verifier_for(pin, salt=setup.verifier_salt, iterations=setup.iterations)


def issue_cloud(customer, key, *, pin=PIN_OK, device=DEVICE, r=None, reason="new"):
    setup = services.cloud_setup_new()
    grant = verified(customer, Purpose.ISSUE, session_key=SESSION, detail={"kind": "financial", "reason": reason})
    challenge = challenge_create(purpose=Challenge.Purpose.ISSUE, bank=customer.bank, session_key=SESSION, customer=customer)
    certificate = services.certificate_issue_financial(
        grant=grant,
        bank=customer.bank,
        session_key=SESSION,
        token=challenge.token,
        public_key_spki=spki(key),
        signature=sign(key, bytes(challenge.to_sign)),
        r=r or os.urandom(20),
        verifier=verifier(pin, setup),
        wrapped_key=wrapped(),
        setup=setup,
        device_token=device,
        user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/156.0 Safari/537.36",
    )
    certificate.setup = setup  # for the test's own checks
    return certificate


def pin_verifier(certificate, pin):
    key = CloudKey.objects.get(certificate=certificate)
    return pin_verifier_for(pin, salt=bytes(key.verifier_salt), iterations=key.iterations)


def unlock(certificate, pin, *, device=DEVICE):
    return services.cloud_key_unlock(
        serial=certificate.serial, verifier=pin_verifier(certificate, pin), device_token=device, bank=certificate.issuing_bank
    )


@pytest.fixture
def cloud(test_ca, customer, rsa_keys, django_capture_on_commit_callbacks):
    """홍길동 of 누리은행 with a 금융인증서, on device DEVICE."""
    with django_capture_on_commit_callbacks(execute=True):
        return issue_cloud(customer, rsa_keys[1])


# --- Issuance --------------------------------------------------------------------------------


def test_cloud_certificate_has_its_own_profile_and_three_years(cloud):
    leaf = x509.load_der_x509_certificate(bytes(cloud.der))
    ous = [a.value for a in leaf.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATIONAL_UNIT_NAME)]
    assert "personalF" in ous and "personal4IB" not in ous
    policies = leaf.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier for p in policies] == [x509.ObjectIdentifier(f"{ca.POLICY_ARC}.1.2")]
    assert cloud.kind == Certificate.Kind.FINANCIAL
    assert datetime.timedelta(days=365 * 3) <= cloud.not_after - cloud.not_before <= datetime.timedelta(days=366 * 3)


def test_issuance_stores_the_key_sealed_and_registers_the_device(cloud, customer):
    key = CloudKey.objects.get(certificate=cloud)
    # The server secret is not stored as it is; the PIN is stored only as a keyed digest.
    assert cloud.setup.server_secret not in key.sealed_secret.encode()
    assert b64(cloud.setup.server_secret) not in key.sealed_secret
    assert verifier(PIN_OK, cloud.setup).hex() != key.verifier_digest
    device = CloudDevice.objects.get(person_index=customer.rrn_index)
    assert device.label == "Chrome · Windows"
    assert DEVICE not in device.device_digest
    assert any("금융인증서가 발급되었습니다" in message.subject for message in mail.outbox)
    assert SmsMessage.objects.filter(phone=customer.phone, body__contains="금융인증서 이용기기가 등록되었습니다").exists()


def test_the_server_refuses_exactly_the_browsers_repeats_and_runs():
    """The server's list is the browser's "same" and "sequence" rules, 9 → 0 included."""
    from certificates.client.cloud import check_pin

    # Both rules mean "every digit is the one before plus a fixed step (mod 10)",
    # so the 100 PINs of a first digit and a step hold every PIN they refuse.
    constant_steps = {"".join(str((first + step * i) % 10) for i in range(6)) for first in range(10) for step in range(10)}
    browser = {pin for pin in constant_steps if check_pin(pin) in ("same", "sequence")}
    assert set(services.WEAK_PINS) == browser and len(browser) == 30


@pytest.mark.parametrize("weak", ["000000", "999999", "123456", "654321", "345678", "900101", "890123", "109876"])
def test_weak_pins_are_refused_although_the_server_never_sees_them(test_ca, customer, rsa_keys, weak):
    with pytest.raises(CertificateRefused) as refused:
        issue_cloud(customer, rsa_keys[1], pin=weak)
    assert refused.value.reason == Refusal.WEAK_PIN
    assert not Certificate.objects.filter(kind="financial").exists()


@pytest.mark.parametrize(
    "blob, verifier_bytes",
    [
        (b"\x02" + b"\x5a" * 1300, None),  # unknown version
        (b"\x01" + b"\x5a" * 100, None),  # too short to hold a key
        (b"\x01" + b"\x5a" * 9000, None),  # too long
        (None, b"\x5a" * 16),  # verifier of the wrong length
    ],
)
def test_malformed_cloud_key_material_is_refused(test_ca, customer, rsa_keys, blob, verifier_bytes):
    key = rsa_keys[1]
    setup = services.cloud_setup_new()
    challenge = challenge_create(purpose=Challenge.Purpose.ISSUE, bank=customer.bank, session_key=SESSION, customer=customer)
    grant = verified(customer, Purpose.ISSUE, detail={"kind": "financial", "reason": "new"})
    with pytest.raises(CertificateRefused) as refused:
        services.certificate_issue_financial(
            grant=grant,
            bank=customer.bank,
            session_key=SESSION,
            token=challenge.token,
            public_key_spki=spki(key),
            signature=sign(key, bytes(challenge.to_sign)),
            r=os.urandom(20),
            verifier=verifier_bytes or verifier(PIN_OK, setup),
            wrapped_key=blob or wrapped(),
            setup=setup,
            device_token=DEVICE,
        )
    assert refused.value.reason == Refusal.BAD_CLOUD_KEY
    assert not CloudKey.objects.exists() and not Certificate.objects.exists()


def test_a_person_has_one_cloud_certificate_and_reissue_supersedes(cloud, customer, rsa_keys):
    second = issue_cloud(customer, rsa_keys[2], reason="forgotten_password")
    cloud.refresh_from_db()
    assert cloud.status == "revoked" and cloud.revocation_reason == "superseded"
    assert second.status == "valid"


def test_a_joint_verification_does_not_issue_a_financial_certificate(test_ca, customer, rsa_keys):
    from accounts.exceptions import VerificationRequired

    key, setup = rsa_keys[1], services.cloud_setup_new()
    grant = verified(customer, Purpose.ISSUE, detail={"kind": "joint", "reason": "new"})
    challenge = challenge_create(purpose=Challenge.Purpose.ISSUE, bank=customer.bank, session_key=SESSION, customer=customer)
    with pytest.raises(VerificationRequired):
        services.certificate_issue_financial(
            grant=grant,
            bank=customer.bank,
            session_key=SESSION,
            token=challenge.token,
            public_key_spki=spki(key),
            signature=sign(key, bytes(challenge.to_sign)),
            r=os.urandom(20),
            verifier=verifier(PIN_OK, setup),
            wrapped_key=wrapped(),
            setup=setup,
            device_token=DEVICE,
        )
    assert not Certificate.objects.exists()


def _copy_of(certificate, **changes):
    """A second 금융인증서 row for the same person (what a bug or a race could write)."""
    fields = {
        name: getattr(certificate, name)
        for name in ("kind", "holder", "person_index", "issuing_bank", "subject", "der", "not_before", "not_after", "status")
    }
    # A serial and a fingerprint of its own, so that only the one-live-certificate rule can refuse it.
    fields.update(serial=os.urandom(16).hex(), fingerprint=os.urandom(32).hex())
    fields.update(changes)
    return Certificate.objects.create(**fields)


def test_the_database_allows_one_live_financial_certificate_per_person(cloud, customer, make_customer, banks):
    for status in ("valid", "suspended"):
        with pytest.raises(IntegrityError), transaction.atomic():
            _copy_of(cloud, status=status)
    # Per person, not per customer row: the same person at another bank is no way round it.
    gildong = make_customer(bank_code="902", login_id="gildong")
    assert gildong.rrn_index == customer.rrn_index
    with pytest.raises(IntegrityError), transaction.atomic():
        _copy_of(cloud, holder=gildong, issuing_bank=banks["902"])
    # A revoked one is history, and may be any number.
    for _ in range(2):
        _copy_of(cloud, status="revoked", revoked_at=cloud.not_before)
    assert Certificate.objects.filter(kind="financial").exclude(status="revoked").count() == 1


def test_reissue_while_suspended_revokes_the_suspended_cloud_certificate(cloud, customer, rsa_keys):
    services.certificate_suspend_by_customer(customer=customer, certificate=cloud)
    reissued = issue_cloud(customer, rsa_keys[2], pin="202611", reason="forgotten_password")
    cloud.refresh_from_db()
    assert cloud.status == "revoked" and cloud.revocation_reason == "superseded"
    assert list(Certificate.objects.filter(kind="financial").exclude(status="revoked")) == [reissued]


# --- PIN: unlock, count, lock ----------------------------------------------------------------


def test_right_pin_releases_the_key_material(cloud):
    release = unlock(cloud, PIN_OK)
    assert release.server_secret == cloud.setup.server_secret
    assert release.wrapped_key == bytes(CloudKey.objects.get(certificate=cloud).wrapped_key)
    assert release.wrap_salt == cloud.setup.wrap_salt
    assert not release.renewal_due
    assert AuditEvent.objects.filter(action=Action.CLOUD_KEY_RELEASED).count() == 1


def test_wrong_pins_are_counted_and_five_lock_the_certificate(cloud, django_capture_on_commit_callbacks):
    for attempt in range(1, 5):
        with pytest.raises(CertificateRefused) as refused:
            unlock(cloud, "111112")
        assert refused.value.reason == Refusal.WRONG_PIN
        assert f"({attempt}/5회 오류" in refused.value.message
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(CertificateRefused) as refused:
        unlock(cloud, "111112")
    assert refused.value.reason == Refusal.CLOUD_LOCKED
    # Locked: the right PIN no longer opens it.
    with pytest.raises(CertificateRefused) as refused:
        unlock(cloud, PIN_OK)
    assert refused.value.reason == Refusal.CLOUD_LOCKED
    key = CloudKey.objects.get(certificate=cloud)
    assert key.failed_pins == 5 and key.locked
    assert AuditEvent.objects.filter(action=Action.CLOUD_LOCKED).count() == 1
    assert "금융인증서가 잠겼습니다" in mail.outbox[-1].subject


def test_a_right_pin_resets_the_count(cloud):
    for _ in range(3):
        with pytest.raises(CertificateRefused):
            unlock(cloud, "111112")
    unlock(cloud, PIN_OK)
    assert CloudKey.objects.get(certificate=cloud).failed_pins == 0


def test_only_reissue_unlocks_a_locked_certificate(cloud, customer, rsa_keys):
    for _ in range(5):
        with pytest.raises(CertificateRefused):
            unlock(cloud, "111112")
    reissued = issue_cloud(customer, rsa_keys[2], pin="202611", reason="forgotten_password")
    assert unlock(reissued, "202611").certificate == reissued
    with pytest.raises(CertificateRefused) as refused:
        unlock(cloud, PIN_OK)
    assert refused.value.reason == Refusal.SUPERSEDED  # replaced by the reissue: the answer points at its successor


def test_a_locked_certificate_cannot_sign_even_with_a_key_unwrapped_before(cloud, customer, rsa_keys):
    """A browser that opened the key before the lock still holds it: the server refuses its signatures."""
    for _ in range(5):
        with pytest.raises(CertificateRefused):
            unlock(cloud, "111112")
    challenge = challenge_create(purpose=Challenge.Purpose.LOGIN, bank=customer.bank, session_key=SESSION)
    with pytest.raises(CertificateRefused) as refused:
        certificate_login(
            bank=customer.bank,
            session_key=SESSION,
            token=challenge.token,
            certificate_der=bytes(cloud.der),
            signature=sign(rsa_keys[1], bytes(challenge.to_sign)),
        )
    assert refused.value.reason == Refusal.CLOUD_LOCKED
    with time_machine.travel(cloud.not_after - datetime.timedelta(days=5), tick=False):
        with pytest.raises(CertificateRefused) as refused:
            services.cloud_renew_prepare(serial=cloud.serial, device_token=DEVICE, bank=cloud.issuing_bank, session_key=SESSION)
    assert refused.value.reason == Refusal.CLOUD_LOCKED


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_pins_are_each_counted_and_lock_at_exactly_five(test_ca, make_customer, rsa_keys):
    customer = make_customer()
    certificate = issue_cloud(customer, rsa_keys[1])
    wrong = pin_verifier(certificate, "111112")
    results = []
    barrier = threading.Barrier(8)

    def attempt():
        from django.db import connection

        barrier.wait()
        try:
            services.cloud_key_unlock(
                serial=certificate.serial, verifier=wrong, device_token=DEVICE, bank=certificate.issuing_bank
            )
            results.append("opened")
        except CertificateRefused as exc:
            results.append(exc.reason)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    key = CloudKey.objects.get(certificate=certificate)
    assert key.failed_pins == 5 and key.locked
    assert results.count(Refusal.WRONG_PIN) == 4
    assert results.count(Refusal.CLOUD_LOCKED) == 4  # the fifth wrong one, then three after the lock
    assert AuditEvent.objects.filter(action=Action.CLOUD_PIN_FAILED).count() == 5


def test_unregistered_device_gets_nothing(cloud):
    with pytest.raises(CertificateRefused) as refused:
        unlock(cloud, PIN_OK, device=OTHER_DEVICE)
    assert refused.value.reason == Refusal.DEVICE_NOT_REGISTERED
    assert CloudKey.objects.get(certificate=cloud).failed_pins == 0


def test_revoked_or_suspended_cloud_certificate_is_refused(cloud):
    services.certificate_status_change(certificate=cloud, to="suspended")
    with pytest.raises(CertificateRefused) as refused:
        unlock(cloud, PIN_OK)
    assert refused.value.reason == Refusal.SUSPENDED


def test_a_joint_certificate_is_not_in_the_cloud(holder):
    with pytest.raises(CertificateRefused) as refused:
        services.cloud_key_unlock(
            serial=holder.certificate.serial, verifier=os.urandom(32), device_token=DEVICE, bank=holder.customer.bank
        )
    assert refused.value.reason == Refusal.NOT_CLOUD_CERTIFICATE


# --- PIN change ------------------------------------------------------------------------------


def change_pin(certificate, old, new, *, device=DEVICE):
    key = CloudKey.objects.get(certificate=certificate)
    salt = os.urandom(16)
    return services.cloud_pin_change(
        serial=certificate.serial,
        verifier=pin_verifier(certificate, old),
        new_verifier=pin_verifier_for(new, salt=salt, iterations=key.iterations),
        new_verifier_salt=salt,
        new_wrap_salt=os.urandom(16),
        wrapped_key=wrapped(),
        device_token=device,
        bank=certificate.issuing_bank,
    )


def test_pin_change_needs_the_old_pin_and_then_only_the_new_one_works(cloud):
    with pytest.raises(CertificateRefused) as refused:
        change_pin(cloud, "111112", "730519")
    assert refused.value.reason == Refusal.WRONG_PIN
    assert CloudKey.objects.get(certificate=cloud).failed_pins == 1
    change_pin(cloud, PIN_OK, "730519")
    assert unlock(cloud, "730519").certificate == cloud
    with pytest.raises(CertificateRefused):
        unlock(cloud, PIN_OK)


def test_pin_change_to_a_weak_pin_is_refused(cloud):
    before = bytes(CloudKey.objects.get(certificate=cloud).wrapped_key)
    with pytest.raises(CertificateRefused) as refused:
        change_pin(cloud, PIN_OK, "111111")
    assert refused.value.reason == Refusal.WEAK_PIN
    assert bytes(CloudKey.objects.get(certificate=cloud).wrapped_key) == before


# --- Devices ---------------------------------------------------------------------------------


def register_device(customer, device_token, *, grant=None, session_key=SESSION):
    """이용기기 등록: the person's CLOUD_DEVICE verification, consumed by the registration."""
    grant = grant or verified(customer, Purpose.CLOUD_DEVICE, session_key=session_key)
    return services.cloud_device_register(grant=grant, bank=customer.bank, session_key=session_key, device_token=device_token)


def test_at_most_five_devices_and_removal_takes_effect_at_once(cloud, customer):
    for n in range(4):
        register_device(customer, f"{n}" * 43)
    assert services.cloud_devices(person_index=customer.rrn_index).count() == 5
    with pytest.raises(CertificateRefused) as refused:
        register_device(customer, OTHER_DEVICE)
    assert refused.value.reason == Refusal.DEVICE_LIMIT
    # Registering an already registered device is not a new one.
    register_device(customer, DEVICE)
    assert services.cloud_devices(person_index=customer.rrn_index).count() == 5
    current = services.cloud_device_current(person_index=customer.rrn_index, device_token=DEVICE)
    services.cloud_device_remove(customer=customer, bank=customer.bank, device_id=current.pk)
    with pytest.raises(CertificateRefused) as refused:
        unlock(cloud, PIN_OK)
    assert refused.value.reason == Refusal.DEVICE_NOT_REGISTERED


def test_registering_a_device_needs_a_verification_used_once(cloud, customer):
    from accounts.exceptions import VerificationRequired

    with pytest.raises(VerificationRequired):
        register_device(customer, OTHER_DEVICE, grant="no-such-grant")
    # A verification for another purpose is not one for a device.
    with pytest.raises(VerificationRequired):
        register_device(customer, OTHER_DEVICE, grant=verified(customer, Purpose.REGISTER))
    grant = verified(customer, Purpose.CLOUD_DEVICE)
    register_device(customer, OTHER_DEVICE, grant=grant)
    with pytest.raises(VerificationRequired):
        register_device(customer, "F" * 43, grant=grant)
    assert services.cloud_device_current(person_index=customer.rrn_index, device_token="F" * 43) is None


def test_a_refusal_at_the_device_limit_is_audited_and_keeps_the_verification(cloud, customer):
    for n in range(4):
        register_device(customer, f"{n}" * 43)
    grant = verified(customer, Purpose.CLOUD_DEVICE)
    with pytest.raises(CertificateRefused) as refused:
        register_device(customer, OTHER_DEVICE, grant=grant)
    assert refused.value.reason == Refusal.DEVICE_LIMIT
    # The service rolled back its own work, but its refusal's audit row stays.
    event = AuditEvent.objects.get(action=Action.CERTIFICATE_REFUSED, detail__reason="device_limit")
    assert event.customer == customer
    assert services.cloud_device_current(person_index=customer.rrn_index, device_token=OTHER_DEVICE) is None
    # ...and the verification was not used up by a registration that did not happen.
    services.cloud_device_remove(customer=customer, bank=customer.bank, device_id=CloudDevice.objects.order_by("pk").first().pk)
    assert register_device(customer, OTHER_DEVICE, grant=grant) is not None


def test_a_customer_cannot_remove_another_persons_device(cloud, make_customer):
    other = make_customer(login_id="younghee", name="김영희", rrn="920315-2345674", phone="01099998888")
    device = CloudDevice.objects.get()
    with pytest.raises(CertificateRefused) as refused:
        services.cloud_device_remove(customer=other, bank=other.bank, device_id=device.pk)
    assert refused.value.reason == Refusal.DEVICE_NOT_REGISTERED
    assert CloudDevice.objects.filter(pk=device.pk).exists()
    # The attempt is on record, naming who tried.
    event = AuditEvent.objects.get(action=Action.CERTIFICATE_REFUSED, detail__reason="device_not_registered")
    assert event.customer == other
    assert not AuditEvent.objects.filter(action=Action.CLOUD_DEVICE_REMOVED).exists()


@pytest.mark.django_db(transaction=True)
def test_registrations_at_once_stop_at_five_devices(test_ca, make_customer, rsa_keys):
    customer = make_customer()
    issue_cloud(customer, rsa_keys[1])  # device 1 of 5
    sessions = [f"{SESSION}-{n}" for n in range(6)]
    grants = [verified(customer, Purpose.CLOUD_DEVICE, session_key=session) for session in sessions]

    def work(i):
        return services.cloud_device_register(
            grant=grants[i], bank=customer.bank, session_key=sessions[i], device_token=f"{i}" * 43
        )

    outcomes = at_once(6, work)
    assert outcomes.errors == []
    assert len(outcomes.results) == 4 and outcomes.codes == [Refusal.DEVICE_LIMIT] * 2
    assert services.cloud_devices(person_index=customer.rrn_index).count() == 5


def test_a_device_registered_through_one_bank_reaches_the_cloud_from_another(cloud, banks):
    release = services.cloud_key_unlock(
        serial=cloud.serial, verifier=pin_verifier(cloud, PIN_OK), device_token=DEVICE, bank=banks["902"]
    )
    assert release.certificate == cloud


# --- Use: login and other banks --------------------------------------------------------------


def test_cloud_certificate_logs_in_like_a_joint_one(cloud, customer, rsa_keys):
    challenge = challenge_create(purpose=Challenge.Purpose.LOGIN, bank=customer.bank, session_key=SESSION)
    who = certificate_login(
        bank=customer.bank,
        session_key=SESSION,
        token=challenge.token,
        certificate_der=bytes(cloud.der),
        signature=sign(rsa_keys[1], bytes(challenge.to_sign)),
    )
    assert who == customer


def test_cloud_certificate_registers_at_another_bank(test_ca, customer, make_customer, rsa_keys):
    r = os.urandom(20)
    certificate = issue_cloud(customer, rsa_keys[1], r=r)
    gildong = make_customer(bank_code="902", login_id="gildong")
    grant = verified(gildong, Purpose.REGISTER)
    challenge = challenge_create(purpose=Challenge.Purpose.REGISTER, bank=gildong.bank, session_key=SESSION, customer=gildong)
    services.certificate_register_at_bank(
        grant=grant,
        bank=gildong.bank,
        session_key=SESSION,
        token=challenge.token,
        certificate_der=bytes(certificate.der),
        signature=sign(rsa_keys[1], bytes(challenge.to_sign)),
        r=r,
    )
    assert certificate.registrations.filter(bank=gildong.bank, customer=gildong).exists()


# --- Automatic renewal -----------------------------------------------------------------------


def renew(certificate, old_key, new_key, *, device=DEVICE, pin=PIN_OK, old_pin=PIN_OK):
    challenge, setup = services.cloud_renew_prepare(
        serial=certificate.serial, device_token=device, bank=certificate.issuing_bank, session_key=SESSION
    )
    to_sign = bytes(challenge.to_sign)
    return services.certificate_renew_financial(
        bank=certificate.issuing_bank,
        session_key=SESSION,
        token=challenge.token,
        certificate_der=bytes(certificate.der),
        signature=sign(old_key, to_sign),
        public_key_spki=spki(new_key),
        new_signature=sign(new_key, to_sign),
        r=os.urandom(20),
        old_verifier=pin_verifier(certificate, old_pin),
        verifier=verifier(pin, setup),
        wrapped_key=wrapped(),
        setup=setup,
        device_token=device,
    )


def test_renewal_is_not_offered_before_the_last_thirty_days(cloud, rsa_keys):
    with pytest.raises(CertificateRefused) as refused:
        renew(cloud, rsa_keys[1], rsa_keys[2])
    assert refused.value.reason == Refusal.RENEWAL_TOO_EARLY


def test_used_in_its_last_thirty_days_it_renews_itself(
    cloud, customer, rsa_keys, make_customer, django_capture_on_commit_callbacks
):
    gildong = make_customer(bank_code="902", login_id="gildong")
    # Registrations carry over to the renewed certificate (made directly here; registration has its own tests).
    cloud.registrations.create(bank=gildong.bank, customer=gildong)
    with time_machine.travel(cloud.not_after - datetime.timedelta(days=20), tick=False):
        assert unlock(cloud, PIN_OK).renewal_due
        with django_capture_on_commit_callbacks(execute=True):
            renewed = renew(cloud, rsa_keys[1], rsa_keys[2])
    cloud.refresh_from_db()
    assert cloud.status == "revoked" and cloud.revocation_reason == "superseded"
    assert renewed.kind == "financial"
    assert renewed.not_after.date() == cloud.not_after.replace(year=cloud.not_after.year + 3).date()
    assert set(renewed.registrations.values_list("bank__code", flat=True)) == {"901", "902"}
    assert CloudKey.objects.filter(certificate=renewed).exists()
    assert "자동 갱신" in mail.outbox[-1].subject


def test_renewal_challenge_names_the_financial_certificate(cloud):
    with time_machine.travel(cloud.not_after - datetime.timedelta(days=5), tick=False):
        challenge, _setup = services.cloud_renew_prepare(
            serial=cloud.serial, device_token=DEVICE, bank=cloud.issuing_bank, session_key=SESSION
        )
    assert "금융인증서 갱신 요청" in bytes(challenge.to_sign).decode()


def test_renewal_to_a_weak_pin_is_refused(cloud, rsa_keys):
    with time_machine.travel(cloud.not_after - datetime.timedelta(days=5), tick=False):
        with pytest.raises(CertificateRefused) as refused:
            renew(cloud, rsa_keys[1], rsa_keys[2], pin="111111")
    assert refused.value.reason == Refusal.WEAK_PIN
    cloud.refresh_from_db()
    assert cloud.status == "valid"


def test_renewal_needs_the_current_pin_and_counts_a_wrong_one(cloud, rsa_keys):
    """Holding the unwrapped key is not enough to rewrap it under a PIN of one's choosing."""
    with time_machine.travel(cloud.not_after - datetime.timedelta(days=5), tick=False):
        with pytest.raises(CertificateRefused) as refused:
            renew(cloud, rsa_keys[1], rsa_keys[2], pin="202611", old_pin="111112")
    assert refused.value.reason == Refusal.WRONG_PIN
    assert CloudKey.objects.get(certificate=cloud).failed_pins == 1
    cloud.refresh_from_db()
    assert cloud.status == "valid" and Certificate.objects.filter(kind="financial").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_renewals_at_once_renew_once_and_refuse_the_other(test_ca, make_customer, rsa_keys):
    customer = make_customer()
    certificate = issue_cloud(customer, rsa_keys[1])
    new_keys = (rsa_keys[2], rsa_keys[0])

    def work(i):
        challenge, setup = services.cloud_renew_prepare(
            serial=certificate.serial, device_token=DEVICE, bank=certificate.issuing_bank, session_key=SESSION
        )
        to_sign = bytes(challenge.to_sign)
        return services.certificate_renew_financial(
            bank=certificate.issuing_bank,
            session_key=SESSION,
            token=challenge.token,
            certificate_der=bytes(certificate.der),
            signature=sign(rsa_keys[1], to_sign),
            public_key_spki=spki(new_keys[i]),
            new_signature=sign(new_keys[i], to_sign),
            r=os.urandom(20),
            old_verifier=pin_verifier(certificate, PIN_OK),
            verifier=verifier(PIN_OK, setup),
            wrapped_key=wrapped(),
            setup=setup,
            device_token=DEVICE,
        )

    # The clock is moved once for the whole process (time_machine is not per thread).
    with time_machine.travel(certificate.not_after - datetime.timedelta(days=5), tick=False):
        outcomes = at_once(2, work)
    assert outcomes.errors == []
    # The other is refused at the lock (ALREADY_RENEWED) or, when it starts
    # after the first committed, at the certificate check (SUPERSEDED).
    assert len(outcomes.results) == 1 and len(outcomes.refusals) == 1
    assert outcomes.codes[0] in (Refusal.ALREADY_RENEWED, Refusal.SUPERSEDED)
    # One new certificate, and the old one superseded once.
    assert Certificate.objects.filter(kind="financial", status="valid").count() == 1
    assert AuditEvent.objects.filter(action=Action.CERTIFICATE_RENEWED).count() == 1


def test_renewal_must_be_signed_with_the_old_key(cloud, rsa_keys):
    with time_machine.travel(cloud.not_after - datetime.timedelta(days=5), tick=False):
        with pytest.raises(CertificateRefused) as refused:
            renew(cloud, rsa_keys[0], rsa_keys[2])
    assert refused.value.reason == Refusal.BAD_SIGNATURE
    cloud.refresh_from_db()
    assert cloud.status == "valid"


# --- Over HTTP -------------------------------------------------------------------------------


def verify_identity_for_cloud(client, customer):
    url = "/nuri/certificates/issue/"
    identity = {
        "step": "identity",
        "rrn": customer.decrypted_rrn(),
        "account_number": customer.deposit_accounts.get().number,
        "pin": PIN,
        "kind": "financial",
        "reason": "new",
    }
    assert client.post(url, identity).status_code == 302
    # The kind chosen with 본인확인 is kept: the SMS step already shows the 금융인증서's steps.
    sms_step = client.get(url).content.decode()
    assert 'value="sms"' in sms_step and "PIN 설정" in sms_step and "저장 위치·비밀번호" not in sms_step
    response = client.post(url, {"step": "sms", "code": sms_code_of(customer)})
    assert response.status_code == 302 and response["Location"] == "/nuri/certificates/issue/keys/"


def test_issuance_over_http(test_ca, logged_in_client, customer, rsa_keys):
    client = logged_in_client
    client.cookies["certbank_device"] = DEVICE
    verify_identity_for_cloud(client, customer)
    page = client.get("/nuri/certificates/issue/keys/")
    assert page.status_code == 200 and b"data-cloud-issue" in page.content
    prepared = client.post("/nuri/certificates/issue/cloud/prepare/").json()
    assert "금융인증서 발급 요청" in base64.b64decode(prepared["to_sign"]).decode()
    secret = base64.b64decode(prepared["server_secret"])
    assert len(secret) == 32
    salt = base64.b64decode(prepared["verifier_salt"])
    key = rsa_keys[1]
    response = client.post(
        "/nuri/certificates/issue/complete/",
        {
            "challenge": prepared["challenge"],
            "public_key": b64(spki(key)),
            "signature": b64(sign(key, base64.b64decode(prepared["to_sign"]))),
            "r": b64(os.urandom(20)),
            "verifier": b64(pin_verifier_for(PIN_OK, salt=salt, iterations=prepared["iterations"])),
            "wrapped_key": b64(wrapped()),
        },
    )
    assert response.status_code == 200, response.content
    certificate = Certificate.objects.get(serial=response.json()["serial"])
    assert certificate.kind == "financial"
    listed = client.get("/nuri/certificates/cloud/").json()
    assert listed["registered"] and [c["serial"] for c in listed["certificates"]] == [certificate.serial]
    # The secret handed out at preparation is the one the cloud keeps.
    answer = client.post(
        "/nuri/certificates/cloud/unlock/",
        {"serial": certificate.serial, "verifier": b64(pin_verifier(certificate, PIN_OK))},
    ).json()
    assert base64.b64decode(answer["server_secret"]) == secret


def test_renewal_over_http_needs_the_old_key_and_the_current_pin(cloud, client, rsa_keys):
    client.cookies["certbank_device"] = DEVICE
    with time_machine.travel(cloud.not_after - datetime.timedelta(days=5), tick=False):
        prepared = client.post("/nuri/certificates/cloud/renew/prepare/", {"serial": cloud.serial}).json()
        to_sign = base64.b64decode(prepared["to_sign"])
        salt = base64.b64decode(prepared["verifier_salt"])
        fields = {
            "challenge": prepared["challenge"],
            "certificate": b64(bytes(cloud.der)),
            "signature": b64(sign(rsa_keys[1], to_sign)),
            "public_key": b64(spki(rsa_keys[2])),
            "new_signature": b64(sign(rsa_keys[2], to_sign)),
            "r": b64(os.urandom(20)),
            "old_verifier": b64(pin_verifier(cloud, PIN_OK)),
            "verifier": b64(pin_verifier_for(PIN_OK, salt=salt, iterations=prepared["iterations"])),
            "wrapped_key": b64(wrapped()),
        }
        without_pin = {name: value for name, value in fields.items() if name != "old_verifier"}
        missing = client.post("/nuri/certificates/cloud/renew/complete/", without_pin)
        assert missing.status_code == 400 and missing.json()["code"] == "malformed_request", missing.json()
        response = client.post("/nuri/certificates/cloud/renew/complete/", fields)
    assert response.status_code == 200, response.content
    renewed = Certificate.objects.get(serial=response.json()["serial"])
    assert renewed.kind == "financial" and renewed.status == "valid"
    # The next page tells the customer, besides the SMS.
    expiry = timezone.localtime(renewed.not_after)
    assert f"금융인증서가 자동 갱신되었습니다. 새 만료일: {expiry:%Y-%m-%d}" in client.get("/nuri/").content.decode()


def test_cloud_endpoints_answer_an_unknown_device_with_nothing(cloud, client):
    client.cookies["certbank_device"] = OTHER_DEVICE
    assert client.get("/nuri/certificates/cloud/").json() == {"registered": False, "certificates": []}
    response = client.post("/nuri/certificates/cloud/unlock/", {"serial": cloud.serial, "verifier": b64(os.urandom(32))})
    assert response.status_code == 403
    assert response.json()["code"] == "device_not_registered"


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"serial": "zz", "verifier": b64(b"\x5a" * 32)},
        {"serial": "abc", "verifier": "not base64!"},
        {"serial": "abc", "verifier": b64(b"\x5a" * 200)},
    ],
)
def test_malformed_unlock_requests_are_400(cloud, client, fields):
    client.cookies["certbank_device"] = DEVICE
    response = client.post("/nuri/certificates/cloud/unlock/", fields)
    assert response.status_code == 400
    assert "요청 형식" in response.json()["error"]


def test_wrong_pin_over_http_says_how_many_tries_are_left(cloud, client):
    client.cookies["certbank_device"] = DEVICE
    response = client.post(
        "/nuri/certificates/cloud/unlock/", {"serial": cloud.serial, "verifier": b64(pin_verifier(cloud, "111112"))}
    )
    assert response.status_code == 403
    assert response.json() == {"error": "PIN이 올바르지 않습니다. (1/5회 오류, 5회 오류 시 잠깁니다.)", "code": "wrong_pin"}


DEVICES = "/nuri/certificates/cloud/devices/"
REGISTER_DEVICE = "/nuri/certificates/cloud/devices/register/"


def test_devices_page_lists_registers_by_sms_and_removes(cloud, logged_in_client, customer, django_capture_on_commit_callbacks):
    client = logged_in_client
    client.cookies["certbank_device"] = OTHER_DEVICE
    page = client.get(DEVICES)
    assert page.status_code == 200
    assert "Chrome · Windows" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = web_verify_by_sms(client, REGISTER_DEVICE, customer)
    assert response.status_code == 302 and response["Location"] == DEVICES
    assert SmsMessage.objects.filter(body__contains="금융인증서 이용기기 등록 인증번호").exists()
    assert services.cloud_device_current(person_index=customer.rrn_index, device_token=OTHER_DEVICE) is not None
    assert AuditEvent.objects.filter(action=Action.VERIFICATION_USED, detail__purpose="cloud_device").count() == 1
    first = CloudDevice.objects.order_by("pk").first()
    client.post(DEVICES, {"action": "remove", "device": first.pk})
    assert not CloudDevice.objects.filter(pk=first.pk).exists()


def test_devices_page_refuses_a_wrong_sms_code(cloud, logged_in_client, customer):
    client = logged_in_client
    client.cookies["certbank_device"] = OTHER_DEVICE
    assert client.post(REGISTER_DEVICE, {"step": "send"}).status_code == 302
    right = sms_code_of(customer)
    response = client.post(REGISTER_DEVICE, {"step": "sms", "code": "000000" if right != "000000" else "111111"})
    assert response.status_code == 403 and "인증번호가 올바르지 않습니다" in response.content.decode()
    assert services.cloud_device_current(person_index=customer.rrn_index, device_token=OTHER_DEVICE) is None


def test_a_new_browser_registers_itself_from_the_login_page(cloud, client, customer):
    """Logged out (the certificate window on a new browser): 본인확인 with the name, then SMS."""
    client.cookies["certbank_device"] = OTHER_DEVICE
    assert client.get(REGISTER_DEVICE).status_code == 200
    response = web_verify(client, REGISTER_DEVICE, customer, logged_in=False)
    assert response["Location"] == "/nuri/login/"
    assert services.cloud_device_current(person_index=customer.rrn_index, device_token=OTHER_DEVICE) is not None
    assert [c["serial"] for c in client.get("/nuri/certificates/cloud/").json()["certificates"]] == [cloud.serial]
    assert "_auth_user_id" not in client.session


def test_removing_a_device_over_http_only_removes_ones_own(cloud, logged_in_client, make_customer, rsa_keys):
    younghee = make_customer(login_id="younghee", name="김영희", rrn="920315-2345674", phone="01099998888")
    theirs = issue_cloud(younghee, rsa_keys[2], device=OTHER_DEVICE)
    device = CloudDevice.objects.get(person_index=theirs.person_index)
    response = logged_in_client.post(DEVICES, {"action": "remove", "device": device.pk})
    assert response.status_code == 302
    assert CloudDevice.objects.filter(pk=device.pk).exists()
    assert AuditEvent.objects.filter(action=Action.CERTIFICATE_REFUSED, detail__reason="device_not_registered").exists()
