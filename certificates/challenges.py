"""Challenges and signature verification: the only code that checks a
customer's certificate or signature (DESIGN.md §3 "Challenge-response").

A challenge is 32 random bytes inside a human-readable text, bound to a
bank, a purpose and the asking session, valid about two minutes, consumed
by a conditional UPDATE so that exactly one request can use it. The server
verifies the signature over the bytes it stored, never over bytes a client
sends back. Every refusal has its own reason (exceptions.Refusal), a Korean
message and an audit row, written before the error is raised so that it
survives the failed request.
"""

import base64
import datetime
import hashlib
import hmac
import secrets

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.models import Action
from audit.services import audit_record
from certificates import ca, vid
from certificates.exceptions import CertificateRefused, Refusal
from certificates.models import Certificate, CertificateLoginLock, CertificateRegistration, Challenge, CloudKey
from core.crypto import digests_match, keyed_digest

_KST = datetime.timezone(datetime.timedelta(hours=9), "KST")


def session_digest(session_key: str) -> str:
    return hashlib.sha256(f"certbank-challenge:{session_key}".encode()).hexdigest()


def refuse(reason: Refusal, *, bank=None, customer=None, request=None, message: str | None = None, **detail):
    """Audit a refusal in its own transaction, then raise it (with `message`
    instead of the reason's own text when given)."""
    with transaction.atomic():
        audit_record(
            action=Action.CERTIFICATE_REFUSED, bank=bank, customer=customer, request=request, reason=reason.value, **detail
        )
    raise CertificateRefused(reason, message)


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
        session_digest=session_digest(session_key),
        customer=customer,
        to_sign=text.encode("utf-8"),
        created_at=now,
        expires_at=now + datetime.timedelta(seconds=settings.CERTBANK_CHALLENGE_SECONDS),
    )


def challenge_consume(*, token: str, purpose: str, bank, session_key: str, request=None) -> Challenge:
    """Use a challenge once; refuse a replay, an expired one, another session's,
    another purpose's or another bank's."""
    challenge = Challenge.objects.filter(token=token).first() if token and len(token) <= 64 else None
    if challenge is None:
        refuse(Refusal.CHALLENGE_UNKNOWN, bank=bank, request=request)
    now = timezone.now()
    # SECURITY: single use. Of concurrent requests carrying the same token,
    # exactly one UPDATE matches `consumed_at IS NULL`.
    won = Challenge.objects.filter(pk=challenge.pk, consumed_at__isnull=True).update(consumed_at=now)
    if not won:
        refuse(Refusal.CHALLENGE_REPLAYED, bank=bank, request=request)
    if challenge.expires_at <= now:
        refuse(Refusal.CHALLENGE_EXPIRED, bank=bank, request=request)
    # SECURITY: a challenge fetched by one browser session cannot be answered from another.
    if not hmac.compare_digest(challenge.session_digest, session_digest(session_key or "")):
        refuse(Refusal.WRONG_SESSION, bank=bank, request=request)
    if challenge.purpose != purpose:
        refuse(Refusal.WRONG_PURPOSE, bank=bank, request=request, purpose=challenge.purpose)
    if challenge.bank_id != bank.id:
        refuse(Refusal.WRONG_BANK, bank=bank, request=request)
    return challenge


# --- Certificates and signatures --------------------------------------------------------------


def _fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def certificate_check(*, certificate_der: bytes, bank, request=None, now=None) -> tuple[x509.Certificate, Certificate]:
    """The presented certificate, checked: chain, key, usage, dates, ours, status."""
    now = now or timezone.now()
    try:
        leaf = x509.load_der_x509_certificate(certificate_der)
    except ValueError:
        refuse(Refusal.MALFORMED_CERTIFICATE, bank=bank, request=request)
    serial = format(leaf.serial_number, "x")
    # Chain to the demo root. The verifier fixes its validation time when
    # built, so it is built per request; inside the leaf's own validity, so
    # that "unknown CA" and "expired" stay distinct answers.
    check_time = min(max(now, leaf.not_valid_before_utc), leaf.not_valid_after_utc)
    verifier = PolicyBuilder().store(Store([ca.ca_root_certificate()])).time(check_time).build_client_verifier()
    try:
        verifier.verify(leaf, [ca.ca_issuing_certificate()])
    except (VerificationError, ValueError, UnsupportedAlgorithm):
        refuse(Refusal.UNKNOWN_CA, bank=bank, request=request, serial=serial)
    # SECURITY: the verifier checks neither key size nor key usage (NOTES.md).
    public_key = leaf.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey) or public_key.key_size < settings.CERTBANK_MIN_RSA_BITS:
        refuse(Refusal.WEAK_KEY, bank=bank, request=request, serial=serial)
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is None or not usage.digital_signature:
        refuse(Refusal.WRONG_KEY_USAGE, bank=bank, request=request, serial=serial)
    if now < leaf.not_valid_before_utc:
        refuse(Refusal.NOT_YET_VALID, bank=bank, request=request, serial=serial)
    if now >= leaf.not_valid_after_utc:
        refuse(Refusal.EXPIRED, bank=bank, request=request, serial=serial)
    # SECURITY: a certificate our CA key signed but our records do not hold
    # (or hold with other bytes) is not one we issued.
    record = Certificate.objects.filter(serial=serial, fingerprint=_fingerprint(certificate_der)).first()
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


def _signature_scheme(public_key, signature: bytes, data: bytes) -> str | None:
    """The accepted scheme a valid signature uses, or None: RSASSA-PKCS1-v1_5/SHA-256
    (what NPKI tools and WebCrypto make) and, where enabled, RSASSA-PSS/SHA-256
    for the stronger profile."""
    schemes = {
        "pkcs1v15": padding.PKCS1v15(),
        "pss": padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO),
    }
    for name in settings.CERTBANK_SIGNATURE_SCHEMES:
        try:
            public_key.verify(signature, data, schemes[name], hashes.SHA256())
            return name
        except InvalidSignature:
            continue
    return None


def _signature_valid(public_key, signature: bytes, data: bytes) -> bool:
    return _signature_scheme(public_key, signature, data) is not None


def signature_verify(*, leaf: x509.Certificate, signature: bytes, challenge: Challenge, bank, request=None) -> None:
    """The holder of `leaf` signed exactly the challenge's stored bytes."""
    if not _signature_valid(leaf.public_key(), signature, bytes(challenge.to_sign)):
        refuse(Refusal.BAD_SIGNATURE, bank=bank, request=request, customer=challenge.customer)


def certificate_vid(leaf: x509.Certificate) -> bytes | None:
    """The VID in the subjectAltName otherName npkiIdentifyData, or None."""
    try:
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for name in names:
        if isinstance(name, x509.OtherName) and name.type_id.dotted_string == vid.NPKI_IDENTIFY_DATA_OID:
            try:
                return vid.identify_data_parse(name.value)[1]
            except ValueError:
                return None
    return None


def possession_verify(*, public_key_spki: bytes, signature: bytes, challenge: Challenge, bank, request=None) -> None:
    """Proof of possession at issuance: the new key signed the challenge."""
    try:
        public_key = serialization.load_der_public_key(public_key_spki)
    except (ValueError, UnsupportedAlgorithm):
        refuse(Refusal.BAD_PUBLIC_KEY, bank=bank, request=request, customer=challenge.customer)
    if not isinstance(public_key, rsa.RSAPublicKey) or public_key.key_size < settings.CERTBANK_MIN_RSA_BITS:
        refuse(Refusal.BAD_PUBLIC_KEY, bank=bank, request=request, customer=challenge.customer)
    if not _signature_valid(public_key, signature, bytes(challenge.to_sign)):
        refuse(Refusal.BAD_SIGNATURE, bank=bank, request=request, customer=challenge.customer)


# --- Certificate login ------------------------------------------------------------------------


def _login_failed(*, record: Certificate, bank, customer, request, reason: Refusal):
    """Count a failed login of this certificate at this bank; 5 in a row lock it."""
    with transaction.atomic():
        lock, _created = CertificateLoginLock.objects.select_for_update().get_or_create(certificate=record, bank=bank)
        CertificateLoginLock.objects.filter(pk=lock.pk).update(failed_count=F("failed_count") + 1)
        lock.refresh_from_db()
        if lock.failed_count >= settings.CERTBANK_CERT_LOGIN_MAX_FAILURES and lock.locked_at is None:
            lock.locked_at = timezone.now()
            lock.save(update_fields=["locked_at"])
            audit_record(
                action=Action.CERTIFICATE_LOGIN_LOCKED, bank=bank, customer=customer, request=request, serial=record.serial
            )
    refuse(reason, bank=bank, customer=customer, request=request, serial=record.serial, failures=lock.failed_count)


def certificate_login(*, bank, session_key: str, token: str, certificate_der: bytes, signature: bytes, request=None):
    """The customer of `bank` who signed this login challenge, or a refusal."""
    challenge = challenge_consume(
        token=token, purpose=Challenge.Purpose.LOGIN, bank=bank, session_key=session_key, request=request
    )
    leaf, record = certificate_check(certificate_der=certificate_der, bank=bank, request=request)
    registration = CertificateRegistration.objects.select_related("customer").filter(certificate=record, bank=bank).first()
    if registration is None:
        refuse(Refusal.NOT_REGISTERED, bank=bank, request=request, serial=record.serial)
    customer = registration.customer
    lock = CertificateLoginLock.objects.filter(certificate=record, bank=bank).first()
    # SECURITY: a locked certificate is refused before its signature is even
    # checked, so guessing cannot go on behind the lock.
    if lock is not None and lock.locked_at is not None:
        refuse(Refusal.LOGIN_LOCKED, bank=bank, customer=customer, request=request, serial=record.serial)
    if not _signature_valid(leaf.public_key(), signature, bytes(challenge.to_sign)):
        _login_failed(record=record, bank=bank, customer=customer, request=request, reason=Refusal.BAD_SIGNATURE)
    if not customer.is_active or customer.signup_completed_at is None:
        refuse(Refusal.CUSTOMER_INACTIVE, bank=bank, customer=customer, request=request, serial=record.serial)
    with transaction.atomic():
        CertificateLoginLock.objects.filter(certificate=record, bank=bank).update(failed_count=0)
        audit_record(
            action=Action.CERTIFICATE_LOGIN_SUCCEEDED, bank=bank, customer=customer, request=request, serial=record.serial
        )
    return customer


# --- 금융인증서 PIN verifiers ------------------------------------------------------------------
#
# The browser proves the PIN with verifier = PBKDF2-HMAC-SHA256(PIN, verifier
# salt, iterations, 32 bytes) (static/js/crypto/cloud.js); the PIN itself never
# leaves the device. The server keeps only a keyed digest of the verifier,
# bound to the certificate's serial.

CLOUD_VERIFIER_LENGTH = 32


def pin_verifier_digest(verifier: bytes, *, serial: str) -> str:
    return keyed_digest(base64.b64encode(verifier).decode("ascii"), purpose=f"cloud-pin-verifier:{serial}")


def pin_verifier_matches(verifier: bytes, *, serial: str, digest: str) -> bool:
    return digests_match(pin_verifier_digest(verifier, serial=serial), digest)


def pin_verifier_for(pin: str, *, salt: bytes, iterations: int) -> bytes:
    """The verifier of a known PIN: used only to recognise weak PINs."""
    return hashlib.pbkdf2_hmac("sha256", pin.encode("ascii"), salt, iterations, CLOUD_VERIFIER_LENGTH)


def pin_is_one_of(verifier: bytes, pins, *, salt: bytes, iterations: int) -> bool:
    """Whether the PIN behind `verifier` is one of `pins` (the weak ones).

    The server cannot see the PIN, but it can derive the verifier of each
    forbidden PIN with the same salt and compare (DESIGN.md §1: no 000000-style
    repeats or 123456-style runs).
    """
    found = False
    for pin in pins:
        found |= hmac.compare_digest(pin_verifier_for(pin, salt=salt, iterations=iterations), verifier)
    return found


# --- Transfer signatures ----------------------------------------------------------------------


def transfer_signature_verify(
    *, bank, customer, session_key: str, token: str, certificate_der: bytes, signature: bytes, request=None
) -> tuple[Challenge, Certificate]:
    """The logged-in `customer` signed this transfer challenge's stored text
    with their own certificate, registered at `bank`, valid now.

    Consumes the challenge (single use). Returns the challenge and the
    signer's certificate record; any failure is an audited refusal.
    """
    challenge = challenge_consume(
        token=token, purpose=Challenge.Purpose.TRANSFER, bank=bank, session_key=session_key, request=request
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
    # SECURITY: a certificate whose login is locked here cannot sign here either.
    lock = CertificateLoginLock.objects.filter(certificate=record, bank=bank).first()
    if lock is not None and lock.locked_at is not None:
        refuse(Refusal.LOGIN_LOCKED, bank=bank, customer=customer, request=request, serial=record.serial)
    # SECURITY: over the bytes the server stored, never bytes the client sends.
    if not _signature_valid(leaf.public_key(), signature, bytes(challenge.to_sign)):
        refuse(Refusal.BAD_SIGNATURE, bank=bank, customer=customer, request=request, serial=record.serial)
    return challenge, record


def signature_scheme(*, certificate_der: bytes, signature: bytes, data: bytes) -> str | None:
    """Which accepted scheme ("pkcs1v15" or "pss") a stored signature uses, or
    None when it does not verify (receipts and the staff console check again)."""
    return _signature_scheme(x509.load_der_x509_certificate(certificate_der).public_key(), signature, data)


def pss_salt_length(*, certificate_der: bytes, signature: bytes, data: bytes) -> int | None:
    """The salt length of a valid RSASSA-PSS/SHA-256 signature over `data`, or None.

    The server accepts any salt length (PSS.AUTO, as RFC 8017 §9.1.2 allows
    the verifier to recover it), but a CMS SignerInfo names it in its
    RSASSA-PSS-params (RFC 4055 §3.1, RFC 4056 §3) and `openssl cms -verify`
    checks that exact length. OpenSSL verifies a given length exactly, so the
    usual ones come first (the digest length, as WebCrypto callers pick; the
    maximum, as OpenSSL and `cryptography` default to), then every other.
    """
    public_key = x509.load_der_x509_certificate(certificate_der).public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        return None
    digest = hashes.SHA256.digest_size
    longest = (public_key.key_size + 6) // 8 - digest - 2  # emLen - hLen - 2 (RFC 8017 §9.1.1)
    if longest < 0:
        return None
    for length in dict.fromkeys([digest, longest, 0, *range(longest + 1)]):
        try:
            scheme = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=length)
            public_key.verify(signature, data, scheme, hashes.SHA256())
            return length
        except InvalidSignature:
            continue
    return None


# --- Device copy (인증서 복사) ----------------------------------------------------------------


def ec_public_key_valid(raw: bytes) -> bool:
    """A raw uncompressed P-256 point (SEC 1 §2.3.3: 0x04 || X || Y, 65 bytes) on the curve.

    SECURITY: a point off the curve (or the point at infinity) lets a peer
    run an invalid-curve attack on the other side's ECDH key; refuse it
    before relaying it to anyone."""
    if not isinstance(raw, bytes | bytearray) or len(raw) != 65 or raw[0] != 0x04:
        return False
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes(raw))
    except ValueError:
        return False
    return True


# What the receiving device commits to before it learns the sender's key
# (static/js/crypto/copy.js, certificates/client/copy.py compute the same).
COPY_COMMITMENT_PREFIX = b"certbank-copy-commit-v1\x00"
COPY_COMMITMENT_BYTES = 32


def copy_commitment(raw_public_key: bytes) -> bytes:
    """SHA-256("certbank-copy-commit-v1" || 0x00 || raw P-256 point): the 32-byte
    commitment a 인증서 복사 receiver opens its session with."""
    return hashlib.sha256(COPY_COMMITMENT_PREFIX + bytes(raw_public_key)).digest()


def copy_commitment_matches(commitment: bytes, raw_public_key: bytes) -> bool:
    """SECURITY: the revealed key is the one committed to (SHA-256 is
    preimage- and collision-resistant, so nobody, the receiver included, can
    reveal another key for the same commitment). Compared in constant time."""
    return hmac.compare_digest(bytes(commitment), copy_commitment(raw_public_key))
