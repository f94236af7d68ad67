"""Certificates in the staff console: filters, the parsed certificate, and the
staff actions of each role (창구 직원 / 보안 책임자), each audited with the
staff member as actor. (Nothing locks a certificate login, so there is no
staff unlock: certificates.login.)"""

import datetime
import re

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Customer
from audit.models import AuditEvent
from certificates.apps import SECURITY_OFFICER_GROUP, STAFF_ROLES, TELLER_GROUP
from certificates.challenges import certificate_check
from certificates.exceptions import CertificateRefused, Refusal
from certificates.models import Certificate
from certificates.services import certificate_status_change
from core.models import SmsMessage
from flows import demo
from tests.certificates.conftest import issue_for
from tests.worlds import staff_log_in

CHANGELIST = "/staff/certificates/certificate/"


def change_page(certificate) -> str:
    return f"{CHANGELIST}{certificate.pk}/change/"


def console_login(username: str, password: str, device) -> Client:
    return staff_log_in(Client(), username=username, password=password, device=device)


@pytest.fixture
def roles(db):
    """{"teller": (member, device), "officer": (member, device)} from the demo seed."""
    return {role.username: pair for role, pair in zip(demo.STAFF_ROLES, demo.seed_staff_roles(), strict=True)}


def _client_for(roles, username):
    role = next(r for r in demo.STAFF_ROLES if r.username == username)
    return console_login(username, role.password, roles[username][1])


@pytest.fixture
def teller_client(roles):
    return _client_for(roles, "teller")


@pytest.fixture
def officer_client(roles):
    return _client_for(roles, "officer")


def act(client, action: str, *certificates, **extra):
    data = {"action": action, "_selected_action": [c.pk for c in certificates], "index": 0, **extra}
    return client.post(CHANGELIST, data, follow=True)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def status_events(certificate):
    return AuditEvent.objects.filter(action="certificate_status_changed", detail__serial=certificate.serial)


# --- Roles ----------------------------------------------------------------------------------------


def test_roles_are_groups_with_their_permissions(db):
    def codenames(name):
        return set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))

    views = {
        "view_certificate",
        "view_certificateregistration",
        "view_clouddevice",
        "view_customer",
        "view_depositaccount",
        "view_ledgerentry",
        "view_transfer",
        "view_auditevent",
    }
    assert codenames(TELLER_GROUP) == views | {"suspend_certificate"}
    assert codenames(SECURITY_OFFICER_GROUP) == views | {"suspend_certificate", "revoke_certificate", "change_customer"}
    assert set(STAFF_ROLES) == {TELLER_GROUP, SECURITY_OFFICER_GROUP}


def test_seed_demo_creates_the_teller_and_the_officer_once(db, test_ca, capsys):
    call_command("seed_demo")
    call_command("seed_demo")  # idempotent
    output = capsys.readouterr().out
    for username, group in [("teller", TELLER_GROUP), ("officer", SECURITY_OFFICER_GROUP)]:
        member = Customer.objects.get(username=username)
        assert member.is_staff and not member.is_superuser
        assert list(member.groups.values_list("name", flat=True)) == [group]
        assert TOTPDevice.objects.filter(user=member, confirmed=True).count() == 1
        assert f"ID {username}" in output
    assert output.count("otpauth://totp/") >= 3  # staff, teller, officer
    assert Customer.objects.get(username=demo.STAFF_USERNAME).is_superuser


# --- Lists and filters -------------------------------------------------------------------------------


@pytest.fixture
def younghee_holder(test_ca, make_customer, rsa_keys, django_capture_on_commit_callbacks):
    younghee = make_customer(login_id="younghee", name="김영희", rrn="920315-2345674", phone="01023456789")
    with django_capture_on_commit_callbacks(execute=True):
        return issue_for(younghee, rsa_keys[1])


def _expire_in(certificate, days):
    # Arranging test data: a certificate issued earlier, now close to its end.
    Certificate.objects.filter(pk=certificate.pk).update(
        not_before=timezone.now() - datetime.timedelta(days=400), not_after=timezone.now() + datetime.timedelta(days=days)
    )


def test_changelist_shows_holder_status_and_days_left(teller_client, holder):
    body = teller_client.get(CHANGELIST).content.decode()
    assert holder.certificate.serial in body
    assert "홍길동" in body
    assert "유효" in body
    assert "일 남음" in body
    # The holder column says what it is, in Korean, and sorts by name.
    header = re.search(r'<th scope="col" class="([^"]*column-holder_name[^"]*)">(.*?)</th>', body, re.S)
    assert "sortable" in header.group(1) and "고객" in header.group(2)


@pytest.mark.parametrize(
    ("value", "shown", "hidden"),
    [("7", "soon", "later"), ("30", "soon", "expired"), ("expired", "expired", "soon")],
)
def test_expiring_soon_filter(teller_client, holder, younghee_holder, value, shown, hidden):
    _expire_in(holder.certificate, 5)
    _expire_in(younghee_holder.certificate, -1)
    serials = {"soon": holder.certificate.serial, "expired": younghee_holder.certificate.serial}
    if hidden == "later":
        _expire_in(younghee_holder.certificate, 20)
        serials["later"] = younghee_holder.certificate.serial
    body = teller_client.get(CHANGELIST, {"expiry": value}).content.decode()
    assert serials[shown] in body
    assert serials[hidden] not in body


def test_status_filter(teller_client, holder, younghee_holder):
    certificate_status_change(certificate=holder.certificate, to=Certificate.Status.SUSPENDED)
    body = teller_client.get(CHANGELIST, {"status__exact": "suspended"}).content.decode()
    assert holder.certificate.serial in body
    assert younghee_holder.certificate.serial not in body


def test_search_by_holder_login_id(teller_client, holder, younghee_holder):
    body = teller_client.get(CHANGELIST, {"q": "younghee"}).content.decode()
    assert younghee_holder.certificate.serial in body
    assert holder.certificate.serial not in body


def test_registrations_are_listed(teller_client, holder):
    body = teller_client.get("/staff/certificates/certificateregistration/").content.decode()
    assert holder.certificate.serial in body


# --- Detail page -------------------------------------------------------------------------------------


def test_detail_shows_the_parsed_certificate(teller_client, holder):
    body = teller_client.get(change_page(holder.certificate)).content.decode()
    octets = bytes.fromhex(holder.certificate.fingerprint).hex(":").upper()
    assert "인증서 내용" in body
    assert "CN=CertbankCA Class 1" in body  # issuer
    assert "CN=홍길동()0901" in body  # subject
    assert "RSA 2048비트" in body
    assert "전자서명(digitalSignature)" in body and "부인방지(nonRepudiation)" in body
    assert "2.25.215435328224649650932476748069735174964.1.1" in body  # 공동인증서 policy
    assert "있음 (본인확인 식별정보 VID)" in body
    assert f"{octets[:47]}<br>{octets[48:]}" in body  # SHA-256, 16 octets a line
    assert "누리은행" in body  # the registration inline


def test_certificates_cannot_be_added_changed_or_deleted(officer_client, holder):
    certificate = holder.certificate
    assert officer_client.get(f"{CHANGELIST}add/").status_code == 403
    assert officer_client.post(change_page(certificate), {"status": "revoked"}).status_code == 403
    assert officer_client.post(f"{CHANGELIST}{certificate.pk}/delete/", {"post": "yes"}).status_code == 403
    certificate.refresh_from_db()
    assert certificate.status == Certificate.Status.VALID


# --- Teller ------------------------------------------------------------------------------------------


def test_teller_suspends_and_restores_and_each_is_audited_with_the_teller(
    teller_client, roles, holder, django_capture_on_commit_callbacks
):
    teller = roles["teller"][0]
    certificate = holder.certificate

    with django_capture_on_commit_callbacks(execute=True):
        response = act(teller_client, "suspend_certificates", certificate)
    certificate.refresh_from_db()
    assert certificate.status == Certificate.Status.SUSPENDED
    assert any("효력을 정지했습니다" in m for m in messages_of(response))

    with django_capture_on_commit_callbacks(execute=True):
        response = act(teller_client, "restore_certificates", certificate)
    certificate.refresh_from_db()
    assert certificate.status == Certificate.Status.VALID
    assert any("효력을 회복했습니다" in m for m in messages_of(response))

    events = list(status_events(certificate).order_by("id"))
    assert [(e.detail["previous"], e.detail["status"]) for e in events][-2:] == [("valid", "suspended"), ("suspended", "valid")]
    # The holder hears of both at once.
    texts = list(SmsMessage.objects.filter(phone=holder.customer.phone).values_list("body", flat=True))
    assert any("은행에서 인증서 효력을 정지했습니다" in t and certificate.serial in t for t in texts)
    assert any("은행에서 인증서 효력을 회복했습니다" in t for t in texts)
    assert all(e.actor == teller for e in events[-2:])


def test_teller_is_not_offered_revoke(teller_client, holder):
    body = teller_client.get(CHANGELIST).content.decode()
    assert 'value="suspend_certificates"' in body
    assert 'value="revoke_certificates"' not in body


def test_teller_cannot_revoke_with_a_crafted_post(teller_client, holder):
    certificate = holder.certificate
    before = AuditEvent.objects.count()

    act(teller_client, "revoke_certificates", certificate, post="yes", reason="key_compromise")
    teller_client.post(
        CHANGELIST,
        {"action": "revoke_certificates", "_selected_action": [certificate.pk], "post": "yes", "reason": "key_compromise"},
    )

    certificate.refresh_from_db()
    assert certificate.status == Certificate.Status.VALID
    assert AuditEvent.objects.count() == before


# --- Security officer ---------------------------------------------------------------------------------


def test_officer_revokes_with_a_reason_and_certificate_login_refuses_at_once(officer_client, roles, holder):
    officer = roles["officer"][0]
    certificate = holder.certificate

    confirmation = officer_client.post(
        CHANGELIST, {"action": "revoke_certificates", "_selected_action": [certificate.pk], "index": 0}
    )
    assert confirmation.status_code == 200
    page = confirmation.content.decode()
    assert 'name="reason"' in page and "분실·유출" in page and certificate.serial in page
    certificate.refresh_from_db()
    assert certificate.status == Certificate.Status.VALID  # nothing happens before the confirmation

    response = officer_client.post(
        CHANGELIST,
        {"action": "revoke_certificates", "_selected_action": [certificate.pk], "post": "yes", "reason": "key_compromise"},
        follow=True,
    )
    assert any("폐기했습니다" in m for m in messages_of(response))
    certificate.refresh_from_db()
    assert certificate.status == Certificate.Status.REVOKED
    assert certificate.revocation_reason == Certificate.RevocationReason.KEY_COMPROMISE
    event = status_events(certificate).get(detail__status="revoked")
    assert event.actor == officer
    assert event.detail["reason"] == "key_compromise"

    with pytest.raises(CertificateRefused) as refused:
        certificate_check(certificate_der=holder.der, bank=holder.customer.bank)
    assert refused.value.reason == Refusal.REVOKED


def test_revocation_without_a_reason_asks_again(officer_client, holder):
    response = officer_client.post(
        CHANGELIST, {"action": "revoke_certificates", "_selected_action": [holder.certificate.pk], "post": "yes"}
    )
    assert response.status_code == 200
    assert "폐기 사유를 선택해 주세요." in response.content.decode()
    holder.certificate.refresh_from_db()
    assert holder.certificate.status == Certificate.Status.VALID


def test_nobody_is_offered_a_certificate_login_unlock(officer_client, holder):
    """Bad signatures never lock a certificate login, so there is nothing for staff to unlock."""
    body = officer_client.get(CHANGELIST).content.decode()
    assert 'value="revoke_certificates"' in body
    assert 'value="unlock_certificate_logins"' not in body
    before = AuditEvent.objects.count()
    act(officer_client, "unlock_certificate_logins", holder.certificate)
    assert AuditEvent.objects.count() == before


def test_a_revoked_certificate_cannot_be_restored(teller_client, roles, holder):
    certificate = certificate_status_change(certificate=holder.certificate, to=Certificate.Status.REVOKED)

    response = act(teller_client, "restore_certificates", certificate)

    assert "폐기된 인증서는 효력을 회복할 수 없습니다." in " ".join(messages_of(response))
    certificate.refresh_from_db()
    assert certificate.status == Certificate.Status.REVOKED
    assert not status_events(certificate).filter(actor=roles["teller"][0]).exists()


# --- 금융인증서 ----------------------------------------------------------------------------------------


def test_cloud_pin_state_and_devices_are_shown_without_key_material(teller_client, customer, rsa_keys):
    from certificates.models import CloudKey
    from tests.certificates.test_cloud import issue_cloud

    certificate = issue_cloud(customer, rsa_keys[1])
    CloudKey.objects.filter(certificate=certificate).update(failed_pins=3)
    key = CloudKey.objects.get(certificate=certificate)
    body = teller_client.get(change_page(certificate)).content.decode()
    assert "금융인증서 PIN 상태" in body
    assert ">3<" in body
    assert key.sealed_secret not in body and key.verifier_digest not in body
    devices = teller_client.get("/staff/certificates/clouddevice/").content.decode()
    assert "Chrome · Windows" in devices and "홍길동 (누리은행 hong)" in devices
