"""Challenges, and checking a presented certificate and signature against
them and our records (DESIGN.md §3 "Challenge-response"); the pure checks
are certificates.verify, the login policy certificates.login.

A challenge is 32 random bytes inside a human-readable text, bound to a
bank, a purpose and the asking session, valid about two minutes, consumed
by a conditional UPDATE so that exactly one request can use it. The server
verifies the signature over the bytes it stored, never over bytes a client
sends back. Every refusal has its own reason (exceptions.Refusal), a Korean
message and an audit row that survives the failed request (`refuse`).
"""

import datetime
import hmac
import secrets

from cryptography import x509
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import Action
from certificates import verify
from certificates.exceptions import CertificateRefused, Refusal
from certificates.models import Certificate, CertificateRegistration, Challenge, CloudKey
from core.boundary import audited, in_service, keep_on_refusal

_KST = datetime.timezone(datetime.timedelta(hours=9), "KST")


def refuse(reason: Refusal, *, bank=None, customer=None, request=None, message: str | None = None, **detail):
    """Raise the refusal (with `message` instead of the reason's own text
    when given), its audit row kept: inside a service (core.boundary) the row
    is written after the service's work has rolled back, so it survives the
    refusal; outside one (a function no service wraps), in its own transaction."""
    error = CertificateRefused(reason, message)
    write = audited(
        action=Action.CERTIFICATE_REFUSED, bank=bank, customer=customer, request=request, reason=reason.value, **detail
    )
    if in_service():
        raise error.keep(write)
    with transaction.atomic():
        write(error)
    raise error


# --- Challenges ------------------------------------------------------------------------------


def _challenge_text(*, purpose: str, bank, customer, token: str, now: datetime.datetime, kind: str) -> str:
    # The customer reads this in the window before signing: name the kind they are using.
    kind_name = "금융인증서" if kind == Certificate.Kind.FINANCIAL else "공동인증서"
    title = {
        Challenge.Purpose.LOGIN: "인증서 로그인",
        Challenge.Purpose.ISSUE: f"{kind_name} 발급 요청",
        Challenge.Purpose.RENEW: f"{kind_name} 갱신 요청",
        Challenge.Purpose.REGISTER: "타행/타기관 인증서 등록 요청",
        Challenge.Purpose.TRANSFER: "계좌이체",
    }[purpose]
    lines = [f"[Certbank] {bank.name_ko} {title}"]
    if customer is not None:
        lines.append(f"고객: {customer.name}")
    lines += [f"요청 일시: {now.astimezone(_KST):%Y-%m-%d %H:%M:%S} (KST)", f"요청 번호: {token}"]
    return "\n".join(lines)


def signed_text(*, text: str, token: str) -> str:
    """What a customer signs for a caller-given text (a transfer's review
    text): that text verbatim, then the challenge's random request number."""
    return f"{text}\n요청 번호: {token}"


def challenge_create(
    *, purpose: str, bank, session_key: str, customer=None, text: str | None = None, kind: str = Certificate.Kind.JOINT
) -> Challenge:
    """A fresh challenge. With `text` (what you see is what you sign: a
    transfer's review text), that text is the signed bytes, followed by
    the request number; otherwise a standard text for the purpose."""
    now = timezone.now()
    token = secrets.token_urlsafe(32)  # 32 random bytes
    if text is None:
        text = _challenge_text(purpose=purpose, bank=bank, customer=customer, token=token, now=now, kind=kind)
    else:
        text = signed_text(text=text, token=token)
    return Challenge.objects.create(
        token=token,
        purpose=purpose,
        bank=bank,
        session_digest=verify.session_digest(session_key),
        customer=customer,
        to_sign=text.encode("utf-8"),
        created_at=now,
        expires_at=now + datetime.timedelta(seconds=settings.CERTBANK_CHALLENGE_SECONDS),
    )


def challenge_consume(
    *, token: str, purpose: str, bank, session_key: str, held: Challenge | None = None, request=None
) -> Challenge:
    """Use a challenge once; refuse a replay, an expired one, another session's,
    another purpose's or another bank's. `held`: the caller has just read
    (and locked) the row with this token, which is then not read again."""
    if held is not None and held.token == token:
        challenge = held
    else:
        challenge = Challenge.objects.filter(token=token).first() if token and len(token) <= 64 else None
    if challenge is None:
        refuse(Refusal.CHALLENGE_UNKNOWN, bank=bank, request=request)
    if challenge.consumed_at is not None:  # answered already (the UPDATE below decides races)
        refuse(Refusal.CHALLENGE_REPLAYED, bank=bank, request=request)
    # SECURITY: a challenge fetched by one browser session cannot be answered
    # from another, nor for another purpose or bank; nor used up by them (these
    # fields never change, so they are checked before the single-use UPDATE):
    # a stranger holding the token cannot spend the holder's one signature.
    if not hmac.compare_digest(challenge.session_digest, verify.session_digest(session_key or "")):
        refuse(Refusal.WRONG_SESSION, bank=bank, request=request)
    if challenge.purpose != purpose:
        refuse(Refusal.WRONG_PURPOSE, bank=bank, request=request, purpose=challenge.purpose)
    if challenge.bank_id != bank.id:
        refuse(Refusal.WRONG_BANK, bank=bank, request=request)
    now = timezone.now()
    # SECURITY: single use. Of concurrent requests carrying the same token,
    # exactly one UPDATE matches `consumed_at IS NULL`.
    won = Challenge.objects.filter(pk=challenge.pk, consumed_at__isnull=True).update(consumed_at=now)
    if not won:
        refuse(Refusal.CHALLENGE_REPLAYED, bank=bank, request=request)
    # ...and used it stays, also when the request it came with is refused and rolled back:
    # a challenge gets one signature, right or wrong.
    keep_on_refusal(lambda: Challenge.objects.filter(pk=challenge.pk, consumed_at__isnull=True).update(consumed_at=now))
    if challenge.expires_at <= now:
        refuse(Refusal.CHALLENGE_EXPIRED, bank=bank, request=request)
    return challenge


# --- Certificates and signatures --------------------------------------------------------------


def certificate_check(*, certificate_der: bytes, bank, request=None, now=None) -> tuple[x509.Certificate, Certificate]:
    """The presented certificate, checked: on its own (verify.leaf_refusal:
    chain, key, usage, dates), then against our records (issued by us, with
    these bytes; its status now)."""
    now = now or timezone.now()
    leaf = verify.leaf_load(certificate_der)
    if leaf is None:
        refuse(Refusal.MALFORMED_CERTIFICATE, bank=bank, request=request)
    serial = verify.leaf_serial(leaf)
    refusal = verify.leaf_refusal(leaf, now=now)
    if refusal is not None:
        refuse(refusal, bank=bank, request=request, serial=serial)
    # SECURITY: a certificate our CA key signed but our records do not hold
    # (or hold with other bytes) is not one we issued.
    record = Certificate.objects.filter(serial=serial, fingerprint=verify.fingerprint(certificate_der)).first()
    if record is None:
        refuse(Refusal.NOT_ISSUED_BY_US, bank=bank, request=request, serial=serial)
    # Read from the database on every request: a revocation or suspension
    # takes effect at once, with no cache to lag behind.
    if record.status == Certificate.Status.REVOKED:
        # A certificate renewed or reissued is not "lost": point at its successor.
        superseded = record.revocation_reason == Certificate.RevocationReason.SUPERSEDED
        refuse(Refusal.SUPERSEDED if superseded else Refusal.REVOKED, bank=bank, request=request, serial=serial)
    if record.status == Certificate.Status.SUSPENDED:
        refuse(Refusal.SUSPENDED, bank=bank, request=request, serial=serial)
    # SECURITY: a 금융인증서 locked by 5 wrong PINs is unusable everywhere until it
    # is reissued, also by a browser that still holds a key it unwrapped before.
    locked = CloudKey.objects.filter(certificate=record, locked_at__isnull=False)
    if record.kind == Certificate.Kind.FINANCIAL and locked.exists():
        refuse(Refusal.CLOUD_LOCKED, bank=bank, request=request, serial=serial)
    return leaf, record


def signature_verify(*, leaf: x509.Certificate, signature: bytes, challenge: Challenge, bank, request=None) -> None:
    """The holder of `leaf` signed exactly the challenge's stored bytes."""
    if not verify.signature_valid(leaf.public_key(), signature, bytes(challenge.to_sign)):
        refuse(Refusal.BAD_SIGNATURE, bank=bank, request=request, customer=challenge.customer)


def possession_verify(*, public_key_spki: bytes, signature: bytes, challenge: Challenge, bank, request=None) -> None:
    """Proof of possession at issuance: the new key signed the challenge."""
    public_key = verify.new_public_key(public_key_spki)
    if public_key is None:
        refuse(Refusal.BAD_PUBLIC_KEY, bank=bank, request=request, customer=challenge.customer)
    if not verify.signature_valid(public_key, signature, bytes(challenge.to_sign)):
        refuse(Refusal.BAD_SIGNATURE, bank=bank, request=request, customer=challenge.customer)


# --- Transfer signatures ----------------------------------------------------------------------


def transfer_signature_verify(
    *,
    bank,
    customer,
    session_key: str,
    token: str,
    certificate_der: bytes,
    signature: bytes,
    held: Challenge | None = None,
    request=None,
) -> tuple[Challenge, Certificate]:
    """The logged-in `customer` signed this transfer challenge's stored text
    with their own certificate, registered at `bank`, valid now.

    Consumes the challenge (single use). Returns the challenge and the
    signer's certificate record; any failure is an audited refusal.
    """
    challenge = challenge_consume(
        token=token, purpose=Challenge.Purpose.TRANSFER, bank=bank, session_key=session_key, held=held, request=request
    )
    # SECURITY: the challenge was made for this customer's review page, not
    # for someone who used the same browser session before.
    if challenge.customer_id != customer.pk:
        refuse(Refusal.WRONG_SESSION, bank=bank, customer=customer, request=request)
    leaf, record = certificate_check(certificate_der=certificate_der, bank=bank, request=request)
    # SECURITY: only a certificate registered at this bank for THIS customer
    # approves this customer's transfer; any other valid certificate,
    # including another customer's of the same bank, is refused.
    registration = CertificateRegistration.objects.filter(certificate=record, bank=bank).first()
    if registration is None:
        refuse(Refusal.NOT_REGISTERED, bank=bank, customer=customer, request=request, serial=record.serial)
    if registration.customer_id != customer.pk:
        refuse(Refusal.NOT_OWNER, bank=bank, customer=customer, request=request, serial=record.serial)
    # SECURITY: over the bytes the server stored, never bytes the client sends.
    if not verify.signature_valid(leaf.public_key(), signature, bytes(challenge.to_sign)):
        refuse(Refusal.BAD_SIGNATURE, bank=bank, customer=customer, request=request, serial=record.serial)
    return challenge, record
