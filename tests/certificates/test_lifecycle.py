"""Lifecycle: renewal window and renewal, reissue reasons, customer suspend /
restore / revoke, expiry notices sent exactly once, and the management pages."""

import datetime
import os
import re

import pytest
import time_machine
from django.core.management import call_command

from audit.models import AuditEvent
from certificates import services
from certificates.challenges import challenge_create
from certificates.exceptions import CertificateRefused, InvalidTransition, Refusal
from certificates.models import Certificate, Challenge, ExpiryNotice
from core.models import SmsMessage
from tests.certificates.conftest import SESSION, issue_for, sign, spki
from tests.conftest import PASSWORD, PIN

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
    import threading

    holder = issue_for(make_customer(), rsa_keys[0])
    outcomes, barrier = [], threading.Barrier(2)

    def attempt(new_key):
        from django.db import connection

        try:
            challenge = challenge_create(
                purpose=Challenge.Purpose.RENEW, bank=holder.customer.bank, session_key=SESSION, customer=holder.customer
            )
            data = bytes(challenge.to_sign)
            barrier.wait()
            services.certificate_renew(
                customer=holder.customer,
                bank=holder.customer.bank,
                session_key=SESSION,
                token=challenge.token,
                certificate_der=holder.der,
                signature=sign(holder.key, data),
                public_key_spki=spki(new_key),
                new_signature=sign(new_key, data),
                r=os.urandom(20),
            )
            outcomes.append("renewed")
        except CertificateRefused as exc:
            outcomes.append(exc.reason)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(key,)) for key in (rsa_keys[1], rsa_keys[2])]
    # The clock is moved once for the whole process (time_machine is not per thread).
    with at(holder.certificate.not_after - 10 * DAY):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    # The other is refused at the lock (ALREADY_RENEWED) or, when it starts
    # after the first committed, at the certificate check (SUPERSEDED).
    assert len(outcomes) == 2 and "renewed" in outcomes
    assert {Refusal.ALREADY_RENEWED, Refusal.SUPERSEDED} & set(outcomes)
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
    challenge = challenge_create(
        purpose=Challenge.Purpose.ISSUE, bank=holder.customer.bank, session_key=SESSION, customer=holder.customer
    )
    new = services.certificate_issue_joint(
        customer=holder.customer,
        bank=holder.customer.bank,
        session_key=SESSION,
        token=challenge.token,
        public_key_spki=spki(rsa_keys[1]),
        signature=sign(rsa_keys[1], bytes(challenge.to_sign)),
        r=os.urandom(20),
        reason=services.ReissueReason.LOST,
    )
    holder.certificate.refresh_from_db()
    assert holder.certificate.revocation_reason == "key_compromise"
    assert list(Certificate.objects.current().filter(holder=holder.customer)) == [new]


def test_reissue_for_a_forgotten_password_supersedes(holder, rsa_keys):
    issue_for(holder.customer, rsa_keys[1])
    holder.certificate.refresh_from_db()
    assert holder.certificate.revocation_reason == "superseded"


def test_customer_suspends_restores_and_revokes(holder, django_capture_on_commit_callbacks):
    customer, certificate = holder.customer, holder.certificate
    with django_capture_on_commit_callbacks(execute=True):
        services.certificate_suspend_by_customer(customer=customer, certificate=certificate)
        services.certificate_restore_by_customer(customer=customer, certificate=certificate)
        services.certificate_revoke_by_customer(customer=customer, certificate=certificate)
    certificate.refresh_from_db()
    assert certificate.status == "revoked" and certificate.revocation_reason == "key_compromise"
    bodies = list(SmsMessage.objects.values_list("body", flat=True))
    for notice in ("효력이 정지되었습니다", "효력이 회복되었습니다", "폐기되었습니다"):
        assert any(notice in body for body in bodies)
    with pytest.raises(InvalidTransition):
        services.certificate_restore_by_customer(customer=customer, certificate=certificate)


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
    serial = holder.certificate.serial
    data = {"rrn": "900101-1234568", "account_number": holder.customer.deposit_accounts.get().number, "pin": PIN}
    with django_capture_on_commit_callbacks(execute=True):
        response = holder_client.post(f"/nuri/certificates/{serial}/revoke/", data)
    assert response.status_code == 302
    code = re.search(r"\[(\d{6})\]", SmsMessage.objects.filter(body__contains="인증서 폐기").first().body).group(1)
    holder.certificate.refresh_from_db()
    assert holder.certificate.status == "valid"  # not before the SMS code
    response = holder_client.post(f"/nuri/certificates/{serial}/revoke/verify/", {"code": code})
    assert response.status_code == 302
    holder.certificate.refresh_from_db()
    assert holder.certificate.status == "revoked" and holder.certificate.revocation_reason == "key_compromise"


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
    challenge = challenge_create(
        purpose=Challenge.Purpose.ISSUE, bank=holder.customer.bank, session_key=SESSION, customer=holder.customer
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.certificate_issue_joint(
            customer=holder.customer,
            bank=holder.customer.bank,
            session_key=SESSION,
            token=challenge.token,
            public_key_spki=spki(rsa_keys[1]),
            signature=sign(rsa_keys[1], bytes(challenge.to_sign)),
            r=os.urandom(20),
            reason=services.ReissueReason.DELETED,
        )
    assert SmsMessage.objects.filter(body__contains="인증서가 재발급되었습니다").count() == 1
