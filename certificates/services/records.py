"""What every certificate operation shares: the status state machine, the
record of what the CA signed (replacing the holder's previous certificate),
the CA call and the notice to the holder.

DESIGN.md §2, held here and by the database (the partial unique constraints
on Certificate): a customer has at most one 공동인증서 not yet revoked per
issuing bank, and a person one 금융인증서. Issuance, reissue and renewal lock
the holder (`holder_lock`), then `certificate_record` revokes every previous
certificate in a non-final state (valid or suspended, expired or not) in the
same transaction as the new one is stored.
"""

import secrets

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.models import Customer
from audit.models import Action
from audit.services import audit_record
from certificates import ca, vid
from certificates.challenges import refuse
from certificates.exceptions import InvalidTransition, Refusal
from certificates.models import Certificate, CertificateRegistration
from certificates.services.profiles import profile_of
from core.notify import notify_customer

S = Certificate.Status
R = Certificate.RevocationReason
NON_FINAL = (S.VALID, S.SUSPENDED)

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


class ReissueReason(models.TextChoices):
    """Why a customer asks for a new certificate (재발급), and what it means for the old one."""

    NEW = "new", gettext_lazy("신규 발급")
    LOST = "lost", gettext_lazy("분실")
    FORGOTTEN_PASSWORD = "forgotten_password", gettext_lazy("비밀번호·PIN 분실, 금융인증서 잠김")
    DELETED = "deleted", gettext_lazy("인증서 삭제")


# RFC 5280 reason for the certificate a reissue replaces: a lost key may be in
# someone else's hands (keyCompromise); otherwise it is merely superseded.
REISSUE_REVOCATION = {
    ReissueReason.LOST: R.KEY_COMPROMISE,
    ReissueReason.FORGOTTEN_PASSWORD: R.SUPERSEDED,
    ReissueReason.DELETED: R.SUPERSEDED,
    ReissueReason.NEW: R.SUPERSEDED,
}


def holder_lock(*, customer, kind: str) -> None:
    """Inside the operation's transaction, before the CA signs: serialise
    issuance for this holder. A 금융인증서 is the person's across banks, so
    every customer row of the person is locked (in primary-key order)."""
    if profile_of(kind).one_per == "person":
        list(
            Customer.objects.select_for_update(no_key=True).filter(rrn_index=customer.rrn_index).order_by("pk").values_list("pk")
        )
    else:
        list(Customer.objects.select_for_update(no_key=True).filter(pk=customer.pk).values_list("pk"))


def certificates_replaced_by(*, customer, bank, kind: str):
    """The certificates a new one of `kind` for this holder replaces: every
    one in a non-final state (valid or suspended, expired or not)."""
    live = Certificate.objects.filter(kind=kind, status__in=NON_FINAL)
    if profile_of(kind).one_per == "person":
        return live.filter(person_index=customer.rrn_index)
    return live.filter(holder=customer, issuing_bank=bank)


def certificate_record(
    *, issued, customer, bank, replaced_reason: str, registrations=(), kind: str = Certificate.Kind.JOINT, request=None
) -> Certificate:
    """Keep what the CA signed, register it, and revoke what it replaces
    (certificates_replaced_by), inside the caller's transaction after
    holder_lock. A suspended certificate is revoked too: it can never be
    restored beside its replacement.

    SECURITY: if code ever forgets the rule, the database's partial unique
    constraints refuse the second live certificate; that is a refusal here
    (ALREADY_ISSUED), never a 500 and never two usable certificates.
    """
    facts = ca.certificate_facts(issued)
    previous = list(certificates_replaced_by(customer=customer, bank=bank, kind=kind).select_for_update().order_by("pk"))
    replaced = [old.serial for old in previous]
    for old in previous:
        certificate_status_change(certificate=old, to=S.REVOKED, reason=replaced_reason, request=request)
    try:
        with transaction.atomic():
            certificate = _certificate_create(facts=facts, customer=customer, bank=bank, kind=kind)
    except IntegrityError:
        refuse(Refusal.ALREADY_ISSUED, bank=bank, customer=customer, request=request)
    CertificateRegistration.objects.create(certificate=certificate, bank=bank, customer=customer)
    for registration in registrations:
        if registration.bank_id != bank.id:
            CertificateRegistration.objects.create(
                certificate=certificate, bank=registration.bank, customer=registration.customer
            )
    certificate.replaced_serials = replaced  # for the caller's answer only, not stored
    return certificate


def _certificate_create(*, facts, customer, bank, kind: str) -> Certificate:
    return Certificate.objects.create(
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


def certificate_notify(customer, bank, title: str, certificate: Certificate, extra: str = "") -> None:
    moment = timezone.localtime(timezone.now())
    notify_customer(
        customer=customer,
        subject=title,
        body=(
            f"{title}. {bank.name_ko} {moment:%Y-%m-%d %H:%M} 일련번호 {certificate.serial}.{extra} "
            "본인이 하지 않았다면 즉시 고객센터로 연락해 주세요."
        ),
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
