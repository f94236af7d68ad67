"""Certificate lifecycle: 공동인증서 issuance, the status state machine,
renewal, expiry notices, login locks and registration at other banks."""

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.verification import Purpose, grant_consume
from audit.models import Action
from audit.services import audit_record
from certificates import vid
from certificates.challenges import (
    certificate_check,
    challenge_consume,
    challenge_create,
    refuse,
    signature_verify,
)
from certificates.exceptions import InvalidTransition, Refusal
from certificates.models import Certificate, CertificateRegistration, Challenge, ExpiryNotice
from certificates.services.records import (
    certificate_notify,
    certificate_status_change,
)
from certificates.verify import certificate_vid as certificate_vid_of
from core.boundary import service
from core.notify import notify_customer

S = Certificate.Status
R = Certificate.RevocationReason


def certificate_issue_challenge(*, customer, bank, session_key: str, kind: str = Certificate.Kind.JOINT) -> Challenge:
    return challenge_create(purpose=Challenge.Purpose.ISSUE, bank=bank, session_key=session_key, customer=customer, kind=kind)


# What the holder is told when bank staff change a certificate's status.
_STAFF_NOTICES = {
    S.SUSPENDED: "은행에서 인증서 효력을 정지했습니다",
    S.VALID: "은행에서 인증서 효력을 회복했습니다",
    S.REVOKED: "은행에서 인증서를 폐기했습니다",
}


def certificate_status_change_by_staff(
    *, certificate: Certificate, to: str, actor, reason: str = "", request=None
) -> Certificate:
    """효력정지 / 효력회복 / 폐기 in the staff console; the holder is told at once."""
    changed = certificate_status_change(certificate=certificate, to=to, reason=reason, actor=actor, request=request)
    certificate_notify(changed.holder, changed.issuing_bank, _STAFF_NOTICES[to], changed)
    return changed


def certificate_suspend_by_customer(*, customer, certificate: Certificate, request=None) -> Certificate:
    """효력정지 by the holder (logged in): quick, reversible, takes effect at once."""
    changed = certificate_status_change(certificate=certificate, to=S.SUSPENDED, request=request)
    certificate_notify(customer, customer.bank, "인증서 효력이 정지되었습니다", changed)
    return changed


def _status_verified(*, grant: str, purpose: str, bank, session_key: str, serial: str, request) -> tuple[object, Certificate]:
    """Consume the holder's verification for this status change of this
    certificate (본인확인, OTP if enrolled, SMS), and lock the certificate."""
    verification = grant_consume(
        token=grant, purpose=purpose, session_key=session_key, bank=bank, detail={"serial": serial}, request=request
    )
    customer = verification.customer
    # SECURITY: only the person's own certificate (of any bank), by serial.
    certificate = Certificate.objects.filter(serial=serial, person_index=customer.rrn_index).first()
    if certificate is None:
        raise InvalidTransition()
    return customer, certificate


@service
def certificate_restore_by_customer(*, grant: str, bank, session_key: str, serial: str, request=None) -> Certificate:
    """효력회복 by the holder, consuming their verification (RESTORE)."""
    customer, certificate = _status_verified(
        grant=grant, purpose=Purpose.RESTORE, bank=bank, session_key=session_key, serial=serial, request=request
    )
    changed = certificate_status_change(certificate=certificate, to=S.VALID, request=request)
    certificate_notify(customer, customer.bank, "인증서 효력이 회복되었습니다", changed)
    return changed


@service
def certificate_revoke_by_customer(*, grant: str, bank, session_key: str, serial: str, request=None) -> Certificate:
    """폐기 (분실 신고) by the holder, consuming their verification (REVOKE): keyCompromise, final."""
    customer, certificate = _status_verified(
        grant=grant, purpose=Purpose.REVOKE, bank=bank, session_key=session_key, serial=serial, request=request
    )
    changed = certificate_status_change(certificate=certificate, to=S.REVOKED, reason=R.KEY_COMPROMISE, request=request)
    certificate_notify(customer, customer.bank, "인증서가 폐기되었습니다", changed, " 폐기한 인증서는 다시 쓸 수 없습니다.")
    return changed


EXPIRY_NOTICE_DAYS = (30, 7, 1)


def _expiry_notice_text(certificate: Certificate, now: datetime.datetime) -> str:
    expiry = f"{timezone.localtime(certificate.not_after):%Y-%m-%d}"
    left = max((certificate.not_after - now).days, 0)
    if certificate.kind == Certificate.Kind.FINANCIAL:
        # DESIGN.md §1: a 금융인증서 used in its last 30 days renews itself.
        action = "만료 전에 한 번 이용하시면(로그인·이체 등) 자동으로 3년 갱신됩니다."
        kind = "금융인증서"
    else:
        action = f"{certificate.issuing_bank.name_ko} 인증센터에서 갱신해 주세요. 만료 후에는 재발급만 가능합니다."
        kind = "공동인증서"
    return f"{kind}가 {expiry}에 만료됩니다(약 {left}일 남음). {action} 일련번호 {certificate.serial}"


def expiry_notices_send(*, now=None) -> int:
    """SMS and e-mail 30, 7 and 1 days before expiry, each at most once.

    Safe to run every hour: an ExpiryNotice row (unique per certificate and
    step) is written in the same transaction as the notice. A run that finds
    a certificate already inside a smaller step sends only that step and
    marks the larger ones done, so nobody gets three notices at once.
    """
    now = now or timezone.now()
    sent = 0
    horizon = now + datetime.timedelta(days=max(EXPIRY_NOTICE_DAYS))
    candidates = (
        Certificate.objects.current(now).filter(not_after__lte=horizon).select_related("holder", "holder__bank", "issuing_bank")
    )
    for certificate in candidates:
        due = [days for days in EXPIRY_NOTICE_DAYS if now >= certificate.not_after - datetime.timedelta(days=days)]
        done = set(certificate.expiry_notices.values_list("days_before", flat=True))
        if not due or min(due) in done:
            continue
        with transaction.atomic():
            locked = Certificate.objects.select_for_update().get(pk=certificate.pk)
            if locked.expiry_notices.filter(days_before=min(due)).exists():
                continue  # another run got here first
            for days in due:
                ExpiryNotice.objects.get_or_create(certificate=locked, days_before=days)
            notify_customer(customer=certificate.holder, subject="인증서 만료 안내", body=_expiry_notice_text(certificate, now))
            audit_record(
                action=Action.CERTIFICATE_EXPIRY_NOTICE,
                customer=certificate.holder,
                bank=certificate.issuing_bank,
                serial=certificate.serial,
                days_before=min(due),
            )
            sent += 1
    return sent


@service
def certificate_register_at_bank(
    *, grant: str, bank, session_key: str, token: str, certificate_der: bytes, signature: bytes, r: bytes, request=None
) -> CertificateRegistration:
    """타행/타기관 인증서 등록: make a certificate issued through another bank usable here.

    It consumes the person's verification (REGISTER: 본인확인 and SMS when
    logged out, the login and SMS when logged in), whose customer it is. The certificate must chain to
    our CA and be valid; its holder signs the registration challenge; and R
    (from the key file) with this customer's RRN must reproduce the VID in
    the certificate (KCAC.TS.SIVID): that, not the name, proves it is the
    same person.
    """
    customer = grant_consume(token=grant, purpose=Purpose.REGISTER, session_key=session_key, bank=bank, request=request).customer
    challenge = challenge_consume(
        token=token, purpose=Challenge.Purpose.REGISTER, bank=bank, session_key=session_key, request=request
    )
    if challenge.customer_id != customer.pk:
        refuse(Refusal.WRONG_SESSION, bank=bank, customer=customer, request=request)
    leaf, record = certificate_check(certificate_der=certificate_der, bank=bank, request=request)
    signature_verify(leaf=leaf, signature=signature, challenge=challenge, bank=bank, request=request)
    # SECURITY: the identity binding. A certificate of another person (or a
    # guessed R) cannot reproduce the VID with this customer's RRN.
    certificate_vid = certificate_vid_of(leaf)
    if certificate_vid is None or len(r) != vid.R_LENGTH or not vid.vid_matches(certificate_vid, customer.decrypted_rrn(), r):
        refuse(Refusal.NOT_SAME_PERSON, bank=bank, customer=customer, request=request, serial=record.serial)
    if CertificateRegistration.objects.filter(certificate=record, bank=bank).exists():
        refuse(Refusal.ALREADY_REGISTERED, bank=bank, customer=customer, request=request, serial=record.serial)
    try:
        with transaction.atomic():
            registration = CertificateRegistration.objects.create(certificate=record, bank=bank, customer=customer)
            audit_record(
                action=Action.CERTIFICATE_REGISTERED, customer=customer, bank=bank, request=request, serial=record.serial
            )
            certificate_notify(customer, bank, "타행/타기관 인증서가 등록되었습니다", record)
    except IntegrityError:
        # SECURITY: two registrations at once both pass the check above; the
        # unique constraint lets one in and this one is refused (not a 500).
        refuse(Refusal.ALREADY_REGISTERED, bank=bank, customer=customer, request=request, serial=record.serial)
    return registration


def certificate_unregister_at_bank(*, customer, bank, certificate: Certificate, request=None) -> None:
    """Remove a registration made at this bank; takes effect at the next request.

    The issuing bank's own registration is the certificate itself and is
    ended by revocation, not here.
    """
    with transaction.atomic():
        registration = (
            CertificateRegistration.objects.select_for_update()
            .filter(certificate=certificate, bank=bank, customer=customer)
            .exclude(certificate__issuing_bank=bank)
            .first()
        )
        if registration is None:
            raise InvalidTransition()
        registration.delete()
        audit_record(
            action=Action.CERTIFICATE_UNREGISTERED, customer=customer, bank=bank, request=request, serial=certificate.serial
        )
        certificate_notify(customer, bank, "타행/타기관 인증서 등록이 해제되었습니다", certificate)
