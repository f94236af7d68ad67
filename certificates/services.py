"""Certificate rules: issuance, the status state machine, login locks.

Views call these; they never touch `cryptography`. Signing happens in
certificates.ca, verification in certificates.challenges.
"""

import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.notify import notify_customer
from audit.models import Action
from audit.services import audit_record
from certificates import ca, vid
from certificates.challenges import challenge_consume, challenge_create, possession_verify, refuse
from certificates.exceptions import InvalidTransition, Refusal
from certificates.models import Certificate, CertificateLoginLock, CertificateRegistration, Challenge

S = Certificate.Status
R = Certificate.RevocationReason

# The one table of allowed status changes (expiry is derived from not_after).
TRANSITIONS: dict[str, set[str]] = {
    S.VALID: {S.SUSPENDED, S.REVOKED},
    S.SUSPENDED: {S.VALID, S.REVOKED},
    S.REVOKED: set(),  # 폐기 is final
}


def certificate_status_change(*, certificate: Certificate, to: str, reason: str = "", actor=None, request=None) -> Certificate:
    """Move a certificate along TRANSITIONS, with an audit row, in one transaction."""
    with transaction.atomic():
        locked = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if to not in TRANSITIONS[locked.status]:
            raise InvalidTransition(f"{locked.status} → {to}")
        previous = locked.status
        now = timezone.now()
        locked.status = to
        locked.status_changed_at = now
        if to == S.REVOKED:
            locked.revoked_at = now
            locked.revocation_reason = reason or R.UNSPECIFIED
        elif to == S.SUSPENDED:
            locked.revocation_reason = R.CERTIFICATE_HOLD
        else:
            locked.revocation_reason = ""
        locked.save(update_fields=["status", "status_changed_at", "revoked_at", "revocation_reason"])
        audit_record(
            action=Action.CERTIFICATE_STATUS_CHANGED,
            customer=locked.holder,
            bank=locked.issuing_bank,
            actor=actor,
            request=request,
            serial=locked.serial,
            previous=previous,
            status=to,
            reason=locked.revocation_reason,
        )
    return locked


def certificate_issue_challenge(*, customer, bank, session_key: str) -> Challenge:
    return challenge_create(purpose=Challenge.Purpose.ISSUE, bank=bank, session_key=session_key, customer=customer)


def certificate_issue_joint(
    *,
    customer,
    bank,
    session_key: str,
    token: str,
    public_key_spki: bytes,
    signature: bytes,
    r: bytes,
    request=None,
) -> Certificate:
    """Issue a 공동인증서 for a key pair generated in the customer's browser.

    The caller has verified the customer's identity (RRN, account PIN, OTP
    if enrolled, SMS). The browser proves possession of the new key by
    signing the issuance challenge and sends R, from which the VID in the
    certificate is computed with the customer's RRN (KCAC.TS.SIVID). Any
    valid 공동인증서 of this customer at this bank is superseded.
    """
    challenge = challenge_consume(
        token=token, purpose=Challenge.Purpose.ISSUE, bank=bank, session_key=session_key, request=request
    )
    # SECURITY: the challenge was made for this customer's verified session.
    if challenge.customer_id != customer.pk:
        refuse(Refusal.WRONG_SESSION, bank=bank, customer=customer, request=request)
    if len(r) != vid.R_LENGTH:
        refuse(Refusal.BAD_RANDOM, bank=bank, customer=customer, request=request)
    possession_verify(public_key_spki=public_key_spki, signature=signature, challenge=challenge, bank=bank, request=request)
    try:
        issued = ca.certificate_issue(
            public_key_der=public_key_spki,
            bank=bank,
            real_name=customer.name,
            vid=vid.vid_compute(customer.decrypted_rrn(), r),
            kind=ca.KIND_JOINT,
            serial_digits=f"{secrets.randbelow(10**10):010d}",
            not_before=timezone.now(),
            base_url=settings.CERTBANK_PUBLIC_URL,
        )
    except ValueError:
        refuse(Refusal.BAD_PUBLIC_KEY, bank=bank, customer=customer, request=request)
    facts = ca.certificate_facts(issued)
    with transaction.atomic():
        previous = Certificate.objects.current().filter(holder=customer, issuing_bank=bank, kind=Certificate.Kind.JOINT)
        for old in previous:
            certificate_status_change(certificate=old, to=S.REVOKED, reason=R.SUPERSEDED, request=request)
        certificate = Certificate.objects.create(
            serial=facts.serial,
            kind=Certificate.Kind.JOINT,
            holder=customer,
            person_index=customer.rrn_index,
            issuing_bank=bank,
            subject=facts.subject,
            der=facts.der,
            fingerprint=facts.fingerprint,
            not_before=facts.not_before,
            not_after=facts.not_after,
        )
        CertificateRegistration.objects.create(certificate=certificate, bank=bank, customer=customer)
        audit_record(action=Action.CERTIFICATE_ISSUED, customer=customer, bank=bank, request=request, serial=facts.serial)
        issued_at = timezone.localtime(certificate.created_at)
        notify_customer(
            customer=customer,
            subject="인증서가 발급되었습니다",
            body=(
                f"인증서가 발급되었습니다. {bank.name_ko} {issued_at:%Y-%m-%d %H:%M} 일련번호 {facts.serial}. "
                "본인이 발급하지 않았다면 즉시 고객센터로 연락해 주세요."
            ),
        )
    return certificate


def certificate_login_unlock(*, customer, bank, actor=None, request=None) -> int:
    """Clear the certificate-login locks of a customer's certificates at a bank
    (after identity verification or by staff)."""
    with transaction.atomic():
        count = CertificateLoginLock.objects.filter(
            bank=bank, certificate__registrations__customer=customer, certificate__registrations__bank=bank
        ).update(failed_count=0, locked_at=None)
        if count:
            audit_record(action=Action.CERTIFICATE_LOGIN_UNLOCKED, customer=customer, bank=bank, actor=actor, request=request)
    return count
