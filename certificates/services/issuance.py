"""발급·재발급: a 공동인증서 or a 금융인증서 for a key made in the browser.

Each issuance consumes the person's verification (accounts.verification,
purpose ISSUE: 본인확인 with the account PIN, the OTP code if enrolled, and
SMS), in the same transaction as the certificate it allows: the verified
identity decides which customer it is, whether they started logged in or
not, and one verification gives one certificate, however many completions
race with it. The holder is locked before the CA signs, and the previous
certificate in any non-final state is revoked as the new one is stored
(certificates.services.records).
"""

from dataclasses import dataclass

from accounts.verification import Purpose, grant_consume
from audit.models import Action
from audit.services import audit_record
from certificates import vid
from certificates.challenges import challenge_consume, possession_verify, refuse
from certificates.exceptions import Refusal
from certificates.models import Certificate, Challenge
from certificates.services.cloud import (
    CloudSetup,
    cloud_device_add,
    cloud_key_check,
    cloud_key_store,
    cloud_notify,
    cloud_pin_weak_check,
)
from certificates.services.profiles import profile_of
from certificates.services.records import (
    REISSUE_REVOCATION,
    ReissueReason,
    ca_issue_for,
    certificate_notify,
    certificate_record,
    holder_lock,
)
from core.boundary import service


def _verified(*, grant: str, kind: str, bank, session_key: str, request):
    """Consume the ISSUE verification made for this kind; its customer and reason."""
    verification = grant_consume(
        token=grant, purpose=Purpose.ISSUE, session_key=session_key, bank=bank, detail={"kind": kind}, request=request
    )
    reason = verification.detail.get("reason") or ReissueReason.NEW
    if reason not in ReissueReason.values:
        reason = ReissueReason.NEW
    return verification.customer, reason


@dataclass(frozen=True)
class NewKey:
    """What the browser sends for a new certificate: the issuance challenge's
    token, the new public key, its signature over the challenge, and R."""

    token: str
    public_key_spki: bytes
    signature: bytes
    r: bytes


def _proof(*, customer, bank, session_key: str, key: NewKey, request):
    """The new key's proof of possession over this customer's issuance challenge, and R for the VID."""
    challenge = challenge_consume(
        token=key.token, purpose=Challenge.Purpose.ISSUE, bank=bank, session_key=session_key, request=request
    )
    # SECURITY: the challenge was made for this verified person.
    if challenge.customer_id != customer.pk:
        refuse(Refusal.WRONG_SESSION, bank=bank, customer=customer, request=request)
    if len(key.r) != vid.R_LENGTH:
        refuse(Refusal.BAD_RANDOM, bank=bank, customer=customer, request=request)
    possession_verify(
        public_key_spki=key.public_key_spki, signature=key.signature, challenge=challenge, bank=bank, request=request
    )


def _verified_with_proof(*, grant: str, kind: str, bank, session_key: str, key: NewKey, request):
    """The verification consumed, then the new key's proof: the customer and the reason."""
    customer, reason = _verified(grant=grant, kind=kind, bank=bank, session_key=session_key, request=request)
    _proof(customer=customer, bank=bank, session_key=session_key, key=key, request=request)
    return customer, reason


def _sign_and_record(*, customer, bank, key: NewKey, kind: str, reason: str, request) -> Certificate:
    holder_lock(customer=customer, kind=kind)
    issued = ca_issue_for(
        customer=customer, bank=bank, public_key_spki=key.public_key_spki, r=key.r, kind=profile_of(kind).ca_kind
    )
    if issued is None:
        refuse(Refusal.BAD_PUBLIC_KEY, bank=bank, customer=customer, request=request)
    return certificate_record(
        issued=issued,
        customer=customer,
        bank=bank,
        replaced_reason=REISSUE_REVOCATION[ReissueReason(reason)],
        kind=kind,
        request=request,
    )


def _announce(*, certificate: Certificate, customer, bank, reason: str, request) -> None:
    audit_record(
        action=Action.CERTIFICATE_ISSUED,
        customer=customer,
        bank=bank,
        request=request,
        serial=certificate.serial,
        kind=certificate.kind,
        reason=reason,
    )
    profile = profile_of(certificate.kind)
    title = profile.issued if reason == ReissueReason.NEW else profile.reissued
    certificate_notify(customer, bank, title, certificate)


@service
def certificate_issue_joint(
    *,
    grant: str,
    bank,
    session_key: str,
    token: str,
    public_key_spki: bytes,
    signature: bytes,
    r: bytes,
    request=None,
) -> Certificate:
    """Issue (or reissue) a 공동인증서 for a key pair made in the browser.

    The browser proves possession of the new key by signing the issuance
    challenge and sends R, from which the VID in the certificate is
    computed with the verified person's RRN (KCAC.TS.SIVID).
    """
    key = NewKey(token=token, public_key_spki=public_key_spki, signature=signature, r=r)
    customer, reason = _verified_with_proof(
        grant=grant, kind=Certificate.Kind.JOINT, bank=bank, session_key=session_key, key=key, request=request
    )
    certificate = _sign_and_record(
        customer=customer, bank=bank, key=key, kind=Certificate.Kind.JOINT, reason=reason, request=request
    )
    _announce(certificate=certificate, customer=customer, bank=bank, reason=reason, request=request)
    return certificate


@service
def certificate_issue_financial(
    *,
    grant: str,
    bank,
    session_key: str,
    token: str,
    public_key_spki: bytes,
    signature: bytes,
    r: bytes,
    verifier: bytes,
    wrapped_key: bytes,
    setup: CloudSetup,
    device_token: str,
    user_agent: str = "",
    request=None,
) -> Certificate:
    """Issue (or reissue) a 금융인증서 for a key made and wrapped in the browser.

    The verification also registers this browser as a device. Any 금융인증서
    of the person not yet revoked is superseded (a locked one is unlocked
    this way: DESIGN.md §1 "unlock = reissue").
    """
    key = NewKey(token=token, public_key_spki=public_key_spki, signature=signature, r=r)
    customer, reason = _verified_with_proof(
        grant=grant, kind=Certificate.Kind.FINANCIAL, bank=bank, session_key=session_key, key=key, request=request
    )
    cloud_key_check(verifier=verifier, wrapped_key=wrapped_key, bank=bank, customer=customer, request=request)
    cloud_pin_weak_check(verifier=verifier, setup=setup, customer=customer, bank=bank, request=request)
    # The verification just made registers this browser (refused first when 5 are registered).
    device, device_created = cloud_device_add(
        customer=customer, bank=bank, device_token=device_token, user_agent=user_agent, request=request
    )
    certificate = _sign_and_record(
        customer=customer, bank=bank, key=key, kind=Certificate.Kind.FINANCIAL, reason=reason, request=request
    )
    cloud_key_store(certificate=certificate, setup=setup, verifier=verifier, wrapped_key=wrapped_key)
    _announce(certificate=certificate, customer=customer, bank=bank, reason=reason, request=request)
    if device_created:
        cloud_notify(customer, bank, "금융인증서 이용기기가 등록되었습니다", f"기기: {device.label}.")
    return certificate
