"""Certificate lifecycle: 공동인증서 issuance, the status state machine,
renewal, expiry notices, login locks and registration at other banks."""

import datetime
import secrets
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.models import Action
from audit.services import audit_record
from certificates import ca, vid
from certificates.challenges import (
    certificate_check,
    challenge_consume,
    challenge_create,
    possession_verify,
    refuse,
    signature_verify,
)
from certificates.challenges import (
    certificate_vid as certificate_vid_of,
)
from certificates.exceptions import InvalidTransition, Refusal
from certificates.models import Certificate, CertificateLoginLock, CertificateRegistration, Challenge, ExpiryNotice
from core.notify import notify_customer

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
            raise InvalidTransition()
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
        # RFC 5280 §5: relying parties see the change in a fresh CRL at once
        # (OCSP reads the database and needs nothing).
        transaction.on_commit(ca.crl_publish)
    return locked


def certificate_issue_challenge(*, customer, bank, session_key: str, kind: str = Certificate.Kind.JOINT) -> Challenge:
    return challenge_create(purpose=Challenge.Purpose.ISSUE, bank=bank, session_key=session_key, customer=customer, kind=kind)


class ReissueReason(models.TextChoices):
    """Why a customer asks for a new certificate (재발급), and what it means for the old one."""

    NEW = "new", gettext_lazy("신규 발급")
    LOST = "lost", gettext_lazy("분실")
    FORGOTTEN_PASSWORD = "forgotten_password", gettext_lazy("비밀번호·PIN 분실, 금융인증서 잠김")
    DELETED = "deleted", gettext_lazy("인증서 삭제")


# RFC 5280 reason for the certificate a reissue replaces: a lost key may be in
# someone else's hands (keyCompromise); otherwise it is merely superseded.
_REISSUE_REVOCATION = {
    ReissueReason.LOST: R.KEY_COMPROMISE,
    ReissueReason.FORGOTTEN_PASSWORD: R.SUPERSEDED,
    ReissueReason.DELETED: R.SUPERSEDED,
    ReissueReason.NEW: R.SUPERSEDED,
}

RENEWAL_WINDOW = datetime.timedelta(days=30)


def _record_certificate(
    *, issued, customer, bank, replaced_reason: str, registrations=(), kind: str = Certificate.Kind.JOINT, request=None
) -> Certificate:
    """Keep what the CA signed, register it, and revoke what it replaces.

    A customer has at most one valid 공동인증서 per bank: every current
    공동인증서 of this customer issued through this bank is revoked. A person
    has one 금융인증서 in the cloud, whichever bank issued it: every current
    금융인증서 of the person is revoked.
    """
    facts = ca.certificate_facts(issued)
    if kind == Certificate.Kind.FINANCIAL:
        previous = Certificate.objects.current().filter(person_index=customer.rrn_index, kind=kind)
    else:
        previous = Certificate.objects.current().filter(holder=customer, issuing_bank=bank, kind=kind)
    replaced = [old.serial for old in previous]
    for old in previous:
        certificate_status_change(certificate=old, to=S.REVOKED, reason=replaced_reason, request=request)
    certificate = Certificate.objects.create(
        serial=facts.serial,
        kind=kind,
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
    for registration in registrations:
        if registration.bank_id != bank.id:
            CertificateRegistration.objects.create(
                certificate=certificate, bank=registration.bank, customer=registration.customer
            )
    certificate.replaced_serials = replaced  # for the caller's answer only, not stored
    return certificate


def _notify(customer, bank, title: str, certificate: Certificate, extra: str = "") -> None:
    moment = timezone.localtime(timezone.now())
    notify_customer(
        customer=customer,
        subject=title,
        body=(
            f"{title}. {bank.name_ko} {moment:%Y-%m-%d %H:%M} 일련번호 {certificate.serial}.{extra} "
            "본인이 하지 않았다면 즉시 고객센터로 연락해 주세요."
        ),
    )


def certificate_issue_joint(
    *,
    customer,
    bank,
    session_key: str,
    token: str,
    public_key_spki: bytes,
    signature: bytes,
    r: bytes,
    reason: str = ReissueReason.NEW,
    request=None,
) -> Certificate:
    """Issue (or reissue) a 공동인증서 for a key pair made in the customer's browser.

    The caller has verified the customer's identity (RRN, account PIN, OTP
    if enrolled, SMS). The browser proves possession of the new key by
    signing the issuance challenge and sends R, from which the VID in the
    certificate is computed with the customer's RRN (KCAC.TS.SIVID). Any
    valid 공동인증서 of this customer at this bank is revoked, for the
    reissue reason's RFC 5280 reason.
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
    issued = ca_issue_for(customer=customer, bank=bank, public_key_spki=public_key_spki, r=r, kind=ca.KIND_JOINT)
    if issued is None:
        refuse(Refusal.BAD_PUBLIC_KEY, bank=bank, customer=customer, request=request)
    with transaction.atomic():
        certificate = _record_certificate(
            issued=issued,
            customer=customer,
            bank=bank,
            replaced_reason=_REISSUE_REVOCATION[ReissueReason(reason)],
            request=request,
        )
        audit_record(
            action=Action.CERTIFICATE_ISSUED,
            customer=customer,
            bank=bank,
            request=request,
            serial=certificate.serial,
            reason=reason,
        )
        title = "인증서가 발급되었습니다" if reason == ReissueReason.NEW else "인증서가 재발급되었습니다"
        _notify(customer, bank, title, certificate)
    return certificate


def renewal_refusal(certificate: Certificate, now=None) -> str | None:
    """Why this certificate cannot be renewed now, in Korean; None when it can.

    DESIGN.md §1: from 30 days before expiry until expiry; after expiry only
    reissue. A revoked or suspended certificate is not renewed either.
    """
    now = now or timezone.now()
    if certificate.kind == Certificate.Kind.FINANCIAL:
        return _("금융인증서는 만료 30일 전부터 사용할 때 자동으로 갱신됩니다.")
    if certificate.status == S.REVOKED:
        return _("폐기된 인증서는 갱신할 수 없습니다. 재발급 받아 주세요.")
    if certificate.status == S.SUSPENDED:
        return _("효력정지된 인증서는 갱신할 수 없습니다. 효력회복 후 갱신해 주세요.")
    if now >= certificate.not_after:
        return _("만료된 인증서는 갱신할 수 없습니다. 재발급 받아 주세요.")
    opens = certificate.not_after - RENEWAL_WINDOW
    if now < opens:
        return _("갱신은 만료 30일 전부터 할 수 있습니다. %(date)s부터 갱신할 수 있습니다.") % {
            "date": timezone.localtime(opens).strftime("%Y-%m-%d")
        }
    return None


def certificate_renew(
    *,
    customer,
    bank,
    session_key: str,
    token: str,
    certificate_der: bytes,
    signature: bytes,
    public_key_spki: bytes,
    new_signature: bytes,
    r: bytes,
    request=None,
) -> Certificate:
    """갱신: a new key pair, the request signed with the current key (and the
    new one); valid one year from the old expiry; the old one superseded."""
    challenge = challenge_consume(
        token=token, purpose=Challenge.Purpose.RENEW, bank=bank, session_key=session_key, request=request
    )
    if challenge.customer_id != customer.pk:
        refuse(Refusal.WRONG_SESSION, bank=bank, customer=customer, request=request)
    leaf, record = certificate_check(certificate_der=certificate_der, bank=bank, request=request)
    # SECURITY: only the holder renews, with a certificate registered here for them.
    registrations = list(record.registrations.select_related("bank", "customer"))
    if not any(reg.bank_id == bank.id and reg.customer_id == customer.pk for reg in registrations):
        refuse(Refusal.NOT_OWNER, bank=bank, customer=customer, request=request, serial=record.serial)
    if renewal_refusal(record) is not None:
        refuse(Refusal.RENEWAL_TOO_EARLY, bank=bank, customer=customer, request=request, serial=record.serial)
    signature_verify(leaf=leaf, signature=signature, challenge=challenge, bank=bank, request=request)
    if len(r) != vid.R_LENGTH:
        refuse(Refusal.BAD_RANDOM, bank=bank, customer=customer, request=request)
    possession_verify(public_key_spki=public_key_spki, signature=new_signature, challenge=challenge, bank=bank, request=request)
    return certificate_renewal_complete(
        record=record,
        customer=customer,
        bank=bank,
        issue=lambda: ca_issue_for(
            customer=customer,
            bank=record.issuing_bank,
            public_key_spki=public_key_spki,
            r=r,
            kind=ca.KIND_JOINT,
            not_after=ca.validity_end(ca.KIND_JOINT, record.not_after),
        ),
        registrations=registrations,
        notice="인증서가 갱신되었습니다",
        request=request,
    )


def ca_issue_for(*, customer, bank, public_key_spki: bytes, r: bytes, kind: str, not_after=None):
    """The CA's new certificate of `kind` for this customer's key, with the VID
    of their RRN and R; None for a key or name the CA must not sign."""
    try:
        return ca.certificate_issue(
            public_key_der=public_key_spki,
            bank=bank,
            real_name=customer.name,
            vid=vid.vid_compute(customer.decrypted_rrn(), r),
            kind=kind,
            serial_digits=f"{secrets.randbelow(10**10):010d}",
            not_before=timezone.now(),
            not_after=not_after,
            base_url=settings.CERTBANK_PUBLIC_URL,
        )
    except ValueError:
        return None


def certificate_renewal_complete(
    *,
    record: Certificate,
    customer,
    bank,
    issue: Callable[[], Any],
    registrations,
    notice: str,
    store: Callable[[Certificate], None] | None = None,
    notice_extra: Callable[[Certificate], str] = lambda certificate: "",
    request=None,
    **audit_detail,
) -> Certificate:
    """The end of a renewal (갱신, 자동 갱신), all checks made: in one
    transaction the old certificate is superseded (certificate_supersede_for_renewal),
    `issue()` has the CA sign the new one, which is recorded with the old
    one's registrations, `store(certificate)` keeps anything that goes with
    it, and the renewal is audited and told to the customer. A refusal is
    raised after the transaction, so its audit row is kept.
    """
    refusal = None
    with transaction.atomic():
        refusal = certificate_supersede_for_renewal(certificate=record, request=request)
        issued = issue() if refusal is None else None
        if refusal is None and issued is None:
            refusal = Refusal.BAD_PUBLIC_KEY
            transaction.set_rollback(True)  # the old certificate stays as it was
        if refusal is None:
            certificate = _record_certificate(
                issued=issued,
                customer=record.holder,
                bank=record.issuing_bank,
                replaced_reason=R.SUPERSEDED,
                registrations=registrations,
                kind=record.kind,
                request=request,
            )
            if store is not None:
                store(certificate)
            audit_record(
                action=Action.CERTIFICATE_RENEWED,
                customer=customer,
                bank=bank,
                request=request,
                serial=certificate.serial,
                previous=record.serial,
                **audit_detail,
            )
            _notify(customer, bank, notice, certificate, notice_extra(certificate))
    if refusal is not None:
        refuse(refusal, bank=bank, customer=customer, request=request, serial=record.serial)
    return certificate


def certificate_supersede_for_renewal(*, certificate: Certificate, request=None) -> Refusal | None:
    """Inside the renewal's transaction, before the CA signs: lock the
    certificate being renewed and supersede it if it is still valid.

    SECURITY: of two renewals of one certificate at once, the row lock lets
    one through; the other gets ALREADY_RENEWED (a clear refusal, not an
    InvalidTransition 500) and the CA signs nothing for it. The caller
    refuses outside the transaction, so the refusal's audit row is kept.
    """
    if not Certificate.objects.select_for_update().filter(pk=certificate.pk, status=S.VALID).exists():
        return Refusal.ALREADY_RENEWED
    certificate_status_change(certificate=certificate, to=S.REVOKED, reason=R.SUPERSEDED, request=request)
    return None


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
    _notify(changed.holder, changed.issuing_bank, _STAFF_NOTICES[to], changed)
    return changed


def certificate_suspend_by_customer(*, customer, certificate: Certificate, request=None) -> Certificate:
    """효력정지 by the holder (logged in): quick, reversible, takes effect at once."""
    changed = certificate_status_change(certificate=certificate, to=S.SUSPENDED, request=request)
    _notify(customer, customer.bank, "인증서 효력이 정지되었습니다", changed)
    return changed


def certificate_restore_by_customer(*, customer, certificate: Certificate, request=None) -> Certificate:
    """효력회복 by the holder, after identity verification (the caller's)."""
    changed = certificate_status_change(certificate=certificate, to=S.VALID, request=request)
    _notify(customer, customer.bank, "인증서 효력이 회복되었습니다", changed)
    return changed


def certificate_revoke_by_customer(*, customer, certificate: Certificate, request=None) -> Certificate:
    """폐기 (분실 신고) by the holder after identity verification: keyCompromise, final."""
    changed = certificate_status_change(certificate=certificate, to=S.REVOKED, reason=R.KEY_COMPROMISE, request=request)
    _notify(customer, customer.bank, "인증서가 폐기되었습니다", changed, " 폐기한 인증서는 다시 쓸 수 없습니다.")
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


def certificate_register_at_bank(
    *, customer, bank, session_key: str, token: str, certificate_der: bytes, signature: bytes, r: bytes, request=None
) -> CertificateRegistration:
    """타행/타기관 인증서 등록: make a certificate issued through another bank usable here.

    The caller has run the extra SMS check. The certificate must chain to
    our CA and be valid; its holder signs the registration challenge; and R
    (from the key file) with this customer's RRN must reproduce the VID in
    the certificate (KCAC.TS.SIVID): that, not the name, proves it is the
    same person.
    """
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
            _notify(customer, bank, "타행/타기관 인증서가 등록되었습니다", record)
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
        _notify(customer, bank, "타행/타기관 인증서 등록이 해제되었습니다", certificate)
