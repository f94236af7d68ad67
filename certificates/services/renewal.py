"""갱신: a certificate renewed with a new key, signed with the current one.

A 공동인증서 is renewed by its holder from 30 days before expiry; a 금융인증서
renews itself when used in its last 30 days (certificates.services.cloud
checks its PIN and device, then ends here too). Either way the new one is
valid a full term from the old expiry (certificates.services.profiles), the
old one is superseded, and its registrations at other banks carry over.
"""

import datetime
from collections.abc import Callable

from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import Action
from audit.services import audit_record
from certificates import ca, vid
from certificates.challenges import certificate_check, challenge_consume, possession_verify, refuse, signature_verify
from certificates.exceptions import Refusal
from certificates.models import Certificate, Challenge
from certificates.services.profiles import profile_of
from certificates.services.records import (
    ca_issue_for,
    certificate_notify,
    certificate_record,
    certificate_status_change,
    holder_lock,
)
from core.boundary import service

S = Certificate.Status
R = Certificate.RevocationReason

RENEWAL_WINDOW = datetime.timedelta(days=30)


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


@service
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
        record=record, customer=customer, bank=bank, public_key_spki=public_key_spki, r=r, request=request
    )


def certificate_renewal_complete(
    *,
    record: Certificate,
    customer,
    bank,
    public_key_spki: bytes,
    r: bytes,
    store: Callable[..., object] | None = None,  # called with certificate=the new one
    request=None,
    **audit_detail,
) -> Certificate:
    """The end of a renewal (갱신, 자동 갱신), all checks made, inside the
    caller's service: the holder is locked, the old certificate superseded
    (refused as ALREADY_RENEWED if it is no longer valid: of two renewals at
    once, one), the CA signs the new one for the profile's term from the old
    expiry, it is recorded with the old one's registrations, `store` keeps
    what goes with it (a 금융인증서's wrapped key), and the holder is told.
    """
    profile = profile_of(record.kind)
    holder_lock(customer=record.holder, kind=record.kind)
    if not Certificate.objects.select_for_update().filter(pk=record.pk, status=S.VALID).exists():
        refuse(Refusal.ALREADY_RENEWED, bank=bank, customer=customer, request=request, serial=record.serial)
    registrations = list(record.registrations.select_related("bank", "customer"))
    certificate_status_change(certificate=record, to=S.REVOKED, reason=R.SUPERSEDED, request=request)
    issued = ca_issue_for(
        customer=record.holder,
        bank=record.issuing_bank,
        public_key_spki=public_key_spki,
        r=r,
        kind=profile.ca_kind,
        not_after=ca.validity_end(profile.ca_kind, record.not_after),
    )
    if issued is None:
        refuse(Refusal.BAD_PUBLIC_KEY, bank=bank, customer=customer, request=request, serial=record.serial)
    certificate = certificate_record(
        issued=issued,
        customer=record.holder,
        bank=record.issuing_bank,
        replaced_reason=R.SUPERSEDED,
        registrations=registrations,
        kind=record.kind,
        request=request,
    )
    if store is not None:
        store(certificate=certificate)
    audit_record(
        action=Action.CERTIFICATE_RENEWED,
        customer=customer,
        bank=bank,
        request=request,
        serial=certificate.serial,
        previous=record.serial,
        **audit_detail,
    )
    extra = f" 새 만료일 {timezone.localtime(certificate.not_after):%Y-%m-%d}." if profile.renewal_names_expiry else ""
    certificate_notify(customer, bank, profile.renewed, certificate, extra)
    return certificate
