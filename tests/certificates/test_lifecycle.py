"""Lifecycle: renewal window and renewal, reissue reasons, customer suspend /
restore / revoke, expiry notices sent exactly once, and the management pages."""

import datetime
import os

import pytest
import time_machine
from django.core.management import call_command
from django.db import IntegrityError, transaction

from accounts.exceptions import VerificationRequired
from audit.models import AuditEvent
from certificates import services
from certificates.challenges import challenge_create
from certificates.exceptions import CertificateRefused, InvalidTransition, Refusal
from certificates.models import Certificate, Challenge, ExpiryNotice
from core.models import SmsMessage
from tests.certificates.conftest import SESSION, issue_for, sign, spki
from tests.concurrency import at_once
from tests.conftest import PASSWORD, PIN
from tests.verification import Purpose, sms_code_of, verified, web_verify

DAY = datetime.timedelta(days=1)


def at(moment):
    return time_machine.travel(moment, tick=False)


# --- The renewal window -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before_expiry", "allowed"),
    [
        (31 * DAY, False),
        (30 * DAY + datetime.timedelta(seconds=1), False),
        (30 * DAY, True),
        (DAY, True),
        (datetime.timedelta(seconds=1), True),
        (datetime.timedelta(0), False),
        (-DAY, False),
    ],
)
def test_renewal_window_opens_30_days_before_expiry_and_closes_at_expiry(holder, before_expiry, allowed):
    moment = holder.certificate.not_after - before_expiry
    assert (services.renewal_refusal(holder.certificate, now=moment) is None) is allowed


def test_revoked_or_suspended_certificates_are_not_renewed(holder):
    moment = holder.certificate.not_after - 5 * DAY
    services.certificate_status_change(certificate=holder.certificate, to="suspended")
    holder.certificate.refresh_from_db()
    assert "효력정지" in services.renewal_refusal(holder.certificate, now=moment)
    services.certificate_status_change(certificate=holder.certificate, to="revoked")
    holder.certificate.refresh_from_db()
    assert "폐기" in services.renewal_refusal(holder.certificate, now=moment)


# --- Renewal ---------------------------------------------------------------------------------------------


def renew(holder, new_key, *, old_key=None, new_signer=None, der=None, customer=None):
    customer = customer or holder.customer
    challenge = challenge_create(purpose=Challenge.Purpose.RENEW, bank=customer.bank, session_key=SESSION, customer=customer)
    data = bytes(challenge.to_sign)
    return services.certificate_renew(
        customer=customer,
        bank=customer.bank,
        session_key=SESSION,
        token=challenge.token,
        certificate_der=der or holder.der,
        signature=sign(old_key or holder.key, data),
        public_key_spki=spki(new_key),
        new_signature=sign(new_signer or new_key, data),
        r=os.urandom(20),
    )


@pytest.mark.django_db(transaction=True)
def test_two_renewals_at_once_renew_once_and_refuse_the_other(test_ca, make_customer, rsa_keys):
    holder = issue_for(make_customer(), rsa_keys[0])
    customer = holder.customer
    new_keys = (rsa_keys[1], rsa_keys[2])

    def work(i):
        challenge = challenge_create(purpose=Challenge.Purpose.RENEW, bank=customer.bank, session_key=SESSION, customer=customer)
        data = bytes(challenge.to_sign)
        return services.certificate_renew(
            customer=customer,
            bank=customer.bank,
            session_key=SESSION,
            token=challenge.token,
            certificate_der=holder.der,
            signature=sign(holder.key, data),
            public_key_spki=spki(new_keys[i]),
            new_signature=sign(new_keys[i], data),
            r=os.urandom(20),
        )

    # The clock is moved once for the whole process (time_machine is not per thread).
    with at(holder.certificate.not_after - 10 * DAY):
        outcomes = at_once(2, work)
    assert outcomes.errors == []
    # The other is refused at the lock (ALREADY_RENEWED) or, when it starts
    # after the first committed, at the certificate check (SUPERSEDED).
    assert len(outcomes.results) == 1 and len(outcomes.refusals) == 1
    assert outcomes.codes[0] in (Refusal.ALREADY_RENEWED, Refusal.SUPERSEDED)
    assert Certificate.objects.filter(status="valid").count() == 1
    assert AuditEvent.objects.filter(action="certificate_renewed").count() == 1


def test_renewal_gives_a_new_key_valid_one_year_from_the_old_expiry(holder, rsa_keys, django_capture_on_commit_callbacks):
    old = holder.certificate
    with at(old.not_after - 10 * DAY), django_capture_on_commit_callbacks(execute=True):
        new = renew(holder, rsa_keys[1])
    old.refresh_from_db()
    assert old.status == "revoked" and old.revocation_reason == "superseded"
    assert new.status == "valid"
    assert new.not_after == old.not_after.replace(year=old.not_after.year + 1)
    assert set(new.registrations.values_list("bank__code", flat=True)) == {"901"}
    assert AuditEvent.objects.filter(action="certificate_renewed", detail__previous=old.serial).exists()
    assert SmsMessage.objects.filter(body__contains="인증서가 갱신되었습니다").exists()


def test_renewal_outside_the_window_is_refused(holder, rsa_keys):
    with at(holder.certificate.not_after - 31 * DAY), pytest.raises(CertificateRefused) as refused:
        renew(holder, rsa_keys[1])
    assert refused.value.reason == Refusal.RENEWAL_TOO_EARLY
    assert Certificate.objects.count() == 1


def test_renewal_after_expiry_is_refused(holder, rsa_keys):
    with at(holder.certificate.not_after + DAY), pytest.raises(CertificateRefused) as refused:
        renew(holder, rsa_keys[1])
    assert refused.value.reason == Refusal.EXPIRED


def test_renewal_must_be_signed_with_the_current_key(holder, rsa_keys):
    with at(holder.certificate.not_after - 5 * DAY), pytest.raises(CertificateRefused) as refused:
        renew(holder, rsa_keys[1], old_key=rsa_keys[2])
    assert refused.value.reason == Refusal.BAD_SIGNATURE
    holder.certificate.refresh_from_db()
    assert holder.certificate.status == "valid"


def test_renewal_must_prove_possession_of_the_new_key(holder, rsa_keys):
    with at(holder.certificate.not_after - 5 * DAY), pytest.raises(CertificateRefused) as refused:
        renew(holder, rsa_keys[1], new_signer=rsa_keys[2])
    assert refused.value.reason == Refusal.BAD_SIGNATURE


def test_someone_else_cannot_renew_my_certificate(holder, rsa_keys, make_customer):
    other = make_customer(login_id="younghee", name="김영희", rrn="920315-2345674", phone="01023456789")
    with at(holder.certificate.not_after - 5 * DAY), pytest.raises(CertificateRefused) as refused:
        renew(holder, rsa_keys[1], customer=other)
    assert refused.value.reason == Refusal.NOT_OWNER


# --- Reissue and status changes by the customer ----------------------------------------------------------------


def test_reissue_after_loss_revokes_the_old_certificate_as_key_compromise(holder, rsa_keys):
    new = issue_for(holder.customer, rsa_keys[1], reason=services.ReissueReason.LOST).certificate
    holder.certificate.refresh_from_db()
    assert holder.certificate.status == "revoked" and holder.certificate.revocation_reason == "key_compromise"
    assert list(Certificate.objects.current().filter(holder=holder.customer)) == [new]


def test_reissue_for_a_forgotten_password_supersedes(holder, rsa_keys):
    issue_for(holder.customer, rsa_keys[1], reason=services.ReissueReason.FORGOTTEN_PASSWORD)
    holder.certificate.refresh_from_db()
    assert holder.certificate.status == "revoked" and holder.certificate.revocation_reason == "superseded"


def status_change(purpose, customer, serial, *, grant=None, session_key=SESSION):
    """폐기 or 효력회복 by the holder: their verification for this certificate, then the service that consumes it."""
    grant = grant or verified(customer, purpose, session_key=session_key, detail={"serial": serial})
    service = {
        Purpose.REVOKE: services.certificate_revoke_by_customer,
        Purpose.RESTORE: services.certificate_restore_by_customer,
    }[purpose]
    return service(grant=grant, bank=customer.bank, session_key=session_key, serial=serial)


def test_customer_suspends_restores_and_revokes(holder, django_capture_on_commit_callbacks):
    customer, certificate = holder.customer, holder.certificate
    with django_capture_on_commit_callbacks(execute=True):
        services.certificate_suspend_by_customer(customer=customer, certificate=certificate)
        status_change(Purpose.RESTORE, customer, certificate.serial)
        status_change(Purpose.REVOKE, customer, certificate.serial)
    certificate.refresh_from_db()
    assert certificate.status == "revoked" and certificate.revocation_reason == "key_compromise"
    bodies = list(SmsMessage.objects.values_list("body", flat=True))
    for notice in ("효력이 정지되었습니다", "효력이 회복되었습니다", "폐기되었습니다"):
        assert any(notice in body for body in bodies)
    with pytest.raises(InvalidTransition):
        status_change(Purpose.RESTORE, customer, certificate.serial)


def test_restoring_needs_a_verification_used_once(holder):
    customer, serial = holder.customer, holder.certificate.serial
    services.certificate_suspend_by_customer(customer=customer, certificate=holder.certificate)
    with pytest.raises(VerificationRequired):
        status_change(Purpose.RESTORE, customer, serial, grant="no-such-grant")
    grant = verified(customer, Purpose.RESTORE, detail={"serial": serial})
    status_change(Purpose.RESTORE, customer, serial, grant=grant)
    services.certificate_suspend_by_customer(customer=customer, certificate=holder.certificate)
    with pytest.raises(VerificationRequired):
        status_change(Purpose.RESTORE, customer, serial, grant=grant)
    holder.certificate.refresh_from_db()
    assert holder.certificate.status == "suspended"


def test_a_restore_verification_for_one_certificate_does_not_restore_another(holder, rsa_keys):
    """The verification names the certificate (its serial); it is not a pass for any of the person's certificates."""
    from tests.certificates.test_cloud import issue_cloud

    customer = holder.customer
    joint, financial = holder.certificate, issue_cloud(customer, rsa_keys[1])
    for certificate in (joint, financial):
        services.certificate_suspend_by_customer(customer=customer, certificate=certificate)
    for_joint = verified(customer, Purpose.RESTORE, detail={"serial": joint.serial})
    with pytest.raises(VerificationRequired) as refused:
        status_change(Purpose.RESTORE, customer, financial.serial, grant=for_joint)
    assert refused.value.code == "not_verified"
    financial.refresh_from_db()
    assert financial.status == "suspended"
    # Nor is a verification for revoking one a verification for restoring it.
    for_revoking = verified(customer, Purpose.REVOKE, detail={"serial": financial.serial})
    with pytest.raises(VerificationRequired):
        status_change(Purpose.RESTORE, customer, financial.serial, grant=for_revoking)
    financial.refresh_from_db()
    assert financial.status == "suspended"
    # The refused attempt did not use it up: it still restores the certificate it names.
    assert status_change(Purpose.RESTORE, customer, joint.serial, grant=for_joint).status == "valid"


def test_someone_elses_verification_cannot_change_my_certificate(holder, make_customer):
    other = make_customer(login_id="younghee", name="김영희", rrn="920315-2345674", phone="01023456789")
    theirs = verified(other, Purpose.REVOKE, detail={"serial": holder.certificate.serial})
    with pytest.raises(InvalidTransition):
        status_change(Purpose.REVOKE, other, holder.certificate.serial, grant=theirs)
    holder.certificate.refresh_from_db()
    assert holder.certificate.status == "valid"


def test_reissue_while_suspended_revokes_the_suspended_certificate_for_good(holder, rsa_keys):
    customer, old = holder.customer, holder.certificate
    services.certificate_suspend_by_customer(customer=customer, certificate=old)
    new = issue_for(customer, rsa_keys[1], reason=services.ReissueReason.LOST).certificate
    old.refresh_from_db()
    assert old.status == "revoked" and old.revocation_reason == "key_compromise"
    assert new.replaced_serials == [old.serial]
    # It can never come back beside its replacement, even with a fresh verification.
    with pytest.raises(InvalidTransition):
        status_change(Purpose.RESTORE, customer, old.serial)
    old.refresh_from_db()
    assert old.status == "revoked"
    assert list(Certificate.objects.exclude(status="revoked").filter(holder=customer)) == [new]


def _copy_of(certificate, **changes):
    """A second row for the same holder, bank and kind (what a bug or a race could write)."""
    fields = {
        name: getattr(certificate, name)
        for name in ("kind", "holder", "person_index", "issuing_bank", "subject", "der", "not_before", "not_after", "status")
    }
    # A serial and a fingerprint of its own, so that only the one-live-certificate rule can refuse it.
    fields.update(serial=os.urandom(16).hex(), fingerprint=os.urandom(32).hex())
    fields.update(changes)
    return Certificate.objects.create(**fields)


def test_the_database_allows_one_live_joint_certificate_per_holder_and_bank(holder):
    for status in ("valid", "suspended"):
        with pytest.raises(IntegrityError), transaction.atomic():
            _copy_of(holder.certificate, status=status)
    # A revoked one is history, and may be any number.
    for _ in range(2):
        _copy_of(holder.certificate, status="revoked", revoked_at=holder.certificate.not_before)
    # Suspended, the holder's certificate still counts as live.
    services.certificate_suspend_by_customer(customer=holder.customer, certificate=holder.certificate)
    holder.certificate.refresh_from_db()
    with pytest.raises(IntegrityError), transaction.atomic():
        _copy_of(holder.certificate, status="valid")
    assert Certificate.objects.filter(holder=holder.customer).exclude(status="revoked").count() == 1


def test_if_the_code_forgot_the_rule_the_database_refuses_a_second_live_certificate(holder, rsa_keys, monkeypatch):
    """The constraint is the safety net: a refusal with its audit row, never a 500 and never two live certificates."""
    from certificates.services import records

    monkeypatch.setattr(records, "certificates_replaced_by", lambda **kwargs: Certificate.objects.none())
    with pytest.raises(CertificateRefused) as refused:
        issue_for(holder.customer, rsa_keys[1])
    assert refused.value.reason == Refusal.ALREADY_ISSUED
    assert list(Certificate.objects.filter(holder=holder.customer)) == [holder.certificate]
    assert AuditEvent.objects.filter(action="certificate_refused", detail__reason="already_issued").exists()


def test_the_same_person_may_hold_one_joint_certificate_at_each_bank(holder, make_customer, rsa_keys):
    gildong = make_customer(bank_code="902", login_id="gildong")
    at_garam = issue_for(gildong, rsa_keys[1]).certificate
    holder.certificate.refresh_from_db()
    assert holder.certificate.status == "valid" and at_garam.status == "valid"


# --- Expiry notices ------------------------------------------------------------------------------------------------


def test_expiry_notices_go_out_30_7_and_1_days_before_each_exactly_once(holder, django_capture_on_commit_callbacks):
    expiry = holder.certificate.not_after
    sent = []
    for moment in [
        expiry - 40 * DAY,
        expiry - 29 * DAY,
        expiry - 29 * DAY,
        expiry - 6 * DAY,
        expiry - 6 * DAY,
        expiry - datetime.timedelta(hours=20),
        expiry - datetime.timedelta(hours=2),
    ]:
        with at(moment), django_capture_on_commit_callbacks(execute=True):
            sent.append(services.expiry_notices_send())
    assert sent == [0, 1, 0, 1, 0, 1, 0]
    assert sorted(ExpiryNotice.objects.values_list("days_before", flat=True)) == [1, 7, 30]
    assert SmsMessage.objects.filter(body__contains="만료됩니다").count() == 3


def test_expiry_notice_tells_each_kind_what_to_do(holder, rsa_keys, django_capture_on_commit_callbacks):
    from tests.certificates.test_cloud import issue_cloud

    cloud = issue_cloud(holder.customer, rsa_keys[1])
    with at(holder.certificate.not_after - 5 * DAY), django_capture_on_commit_callbacks(execute=True):
        services.expiry_notices_send()
    with at(cloud.not_after - 5 * DAY), django_capture_on_commit_callbacks(execute=True):
        services.expiry_notices_send()
    notices = SmsMessage.objects.filter(body__contains="만료됩니다")
    joint = notices.get(body__contains=holder.certificate.serial).body
    financial = notices.get(body__contains=cloud.serial).body
    assert "공동인증서가" in joint and "인증센터에서 갱신해 주세요" in joint
    assert "금융인증서가" in financial and "자동으로 3년 갱신됩니다" in financial and "공동인증서" not in financial


def test_a_late_first_run_sends_one_notice_not_three(holder, django_capture_on_commit_callbacks):
    with at(holder.certificate.not_after - 5 * DAY), django_capture_on_commit_callbacks(execute=True):
        assert services.expiry_notices_send() == 1
    assert sorted(ExpiryNotice.objects.values_list("days_before", flat=True)) == [7, 30]


def test_revoked_certificates_get_no_expiry_notice(holder):
    services.certificate_status_change(certificate=holder.certificate, to="revoked")
    with at(holder.certificate.not_after - 5 * DAY):
        assert services.expiry_notices_send() == 0


def test_notify_command_is_idempotent(holder, capsys):
    with at(holder.certificate.not_after - 5 * DAY):
        call_command("notify_expiring_certificates")
        call_command("notify_expiring_certificates")
    out = capsys.readouterr().out
    assert "만료 안내 1건 발송" in out and "만료 안내 0건 발송" in out


# --- Pages ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def holder_client(client, holder):
    assert client.post("/nuri/login/", {"login_id": "hong", "password": PASSWORD}).status_code == 302
    return client


def test_manage_page_lists_my_certificates_with_status_and_days_left(holder_client, holder):
    body = holder_client.get("/nuri/certificates/").content.decode()
    assert holder.certificate.serial in body
    assert "유효" in body and "누리은행" in body


def test_detail_page_explains_why_renewal_is_not_yet_possible(holder_client, holder):
    body = holder_client.get(f"/nuri/certificates/{holder.certificate.serial}/").content.decode()
    assert "갱신은 만료 30일 전부터 할 수 있습니다" in body
    assert holder.certificate.fingerprint in body


def test_certificate_download_is_the_public_certificate_only(holder_client, holder):
    response = holder_client.get(f"/nuri/certificates/{holder.certificate.serial}/signCert.der")
    assert response.content == holder.der
    assert response["Content-Type"] == "application/pkix-cert"


def test_someone_elses_certificate_is_a_404(holder_client, holder, make_customer, rsa_keys, test_ca):
    other = make_customer(login_id="younghee", name="김영희", rrn="920315-2345674", phone="01023456789")
    theirs = issue_for(other, rsa_keys[1]).certificate
    assert holder_client.get(f"/nuri/certificates/{theirs.serial}/").status_code == 404
    assert holder_client.post(f"/nuri/certificates/{theirs.serial}/suspend/", {"confirm": "yes"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "valid"


def test_suspend_needs_confirmation_then_takes_effect(holder_client, holder):
    url = f"/nuri/certificates/{holder.certificate.serial}/suspend/"
    holder_client.post(url, {})
    holder.certificate.refresh_from_db()
    assert holder.certificate.status == "valid"
    holder_client.post(url, {"confirm": "yes"})
    holder.certificate.refresh_from_db()
    assert holder.certificate.status == "suspended"


def test_loss_report_revokes_after_identity_verification(holder_client, holder, django_capture_on_commit_callbacks):
    customer, serial = holder.customer, holder.certificate.serial
    url = f"/nuri/certificates/{serial}/revoke/"
    page = holder_client.get(url)
    assert page.status_code == 200 and serial in page.content.decode()
    identity = {
        "step": "identity",
        "rrn": customer.decrypted_rrn(),
        "account_number": customer.deposit_accounts.get().number,
        "pin": PIN,
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert holder_client.post(url, identity).status_code == 302
    assert SmsMessage.objects.filter(body__contains="인증서 폐기 인증번호").exists()
    holder.certificate.refresh_from_db()
    assert holder.certificate.status == "valid"  # not before the SMS code
    response = holder_client.post(url, {"step": "sms", "code": sms_code_of(customer)})
    assert response.status_code == 302 and response["Location"] == f"/nuri/certificates/{serial}/"
    holder.certificate.refresh_from_db()
    assert holder.certificate.status == "revoked" and holder.certificate.revocation_reason == "key_compromise"
    assert "인증서를 폐기했습니다" in holder_client.get(response["Location"]).content.decode()


def test_restore_over_http_after_identity_verification(holder_client, holder):
    serial = holder.certificate.serial
    holder_client.post(f"/nuri/certificates/{serial}/suspend/", {"confirm": "yes"})
    holder.certificate.refresh_from_db()
    assert holder.certificate.status == "suspended"
    response = web_verify(holder_client, f"/nuri/certificates/{serial}/restore/", holder.customer)
    assert response["Location"] == f"/nuri/certificates/{serial}/"
    holder.certificate.refresh_from_db()
    assert holder.certificate.status == "valid"


def test_a_verification_on_one_certificates_page_does_not_change_another(holder_client, holder, rsa_keys):
    """The page's verification names its certificate: finished on one page, it does nothing on another's."""
    from tests.certificates.test_cloud import issue_cloud

    customer, joint = holder.customer, holder.certificate
    financial = issue_cloud(customer, rsa_keys[1])
    for certificate in (joint, financial):
        services.certificate_suspend_by_customer(customer=customer, certificate=certificate)
    identity = {
        "step": "identity",
        "rrn": customer.decrypted_rrn(),
        "account_number": customer.deposit_accounts.get().number,
        "pin": PIN,
    }
    joint_url = f"/nuri/certificates/{joint.serial}/restore/"
    assert holder_client.post(joint_url, identity).status_code == 302
    code = sms_code_of(customer)
    # The SMS code of the joint certificate's verification, given on the 금융인증서's page.
    response = holder_client.post(f"/nuri/certificates/{financial.serial}/restore/", {"step": "sms", "code": code})
    assert response.status_code == 302
    financial.refresh_from_db()
    assert financial.status == "suspended"
    # On its own page the same verification finishes, and restores only the certificate it names.
    response = holder_client.post(joint_url, {"step": "sms", "code": code})
    assert response.status_code == 302 and response["Location"] == f"/nuri/certificates/{joint.serial}/"
    joint.refresh_from_db()
    financial.refresh_from_db()
    assert joint.status == "valid" and financial.status == "suspended"


def test_revoke_and_restore_pages_need_a_login(client, holder):
    response = client.get(f"/nuri/certificates/{holder.certificate.serial}/revoke/")
    assert response.status_code == 302 and response["Location"].startswith("/nuri/login/")


def test_renewal_endpoint_answers_with_the_new_certificate(holder_client, holder, rsa_keys):
    import base64

    from tests.certificates.conftest import b64

    with at(holder.certificate.not_after - 10 * DAY):
        # Months later: the old session has idled out, so log in again.
        holder_client.post("/nuri/login/", {"login_id": "hong", "password": PASSWORD})
        response = holder_client.post("/nuri/certificates/challenge/", {"purpose": "renew"})
        to_sign = base64.b64decode(response.json()["to_sign"])
        response = holder_client.post(
            "/nuri/certificates/renew/complete/",
            {
                "challenge": response.json()["challenge"],
                "certificate": b64(holder.der),
                "signature": b64(sign(holder.key, to_sign)),
                "public_key": b64(spki(rsa_keys[1])),
                "new_signature": b64(sign(rsa_keys[1], to_sign)),
                "r": b64(os.urandom(20)),
            },
        )
    assert response.status_code == 200, response.content
    new = Certificate.objects.get(serial=response.json()["serial"])
    assert new.not_after.year == holder.certificate.not_after.year + 1


def test_renewal_endpoint_refuses_a_malformed_request(holder_client, holder):
    response = holder_client.post("/nuri/certificates/renew/complete/", {"challenge": "x", "certificate": "!!"})
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_request"


def test_reissue_answer_names_the_certificate_it_replaced(holder, rsa_keys, test_ca):
    replacement = issue_for(holder.customer, rsa_keys[1]).certificate
    assert replacement.replaced_serials == [holder.certificate.serial]


def test_reissue_notice_says_reissued(holder, rsa_keys, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        issue_for(holder.customer, rsa_keys[1], reason=services.ReissueReason.DELETED)
    assert SmsMessage.objects.filter(body__contains="인증서가 재발급되었습니다").count() == 1
