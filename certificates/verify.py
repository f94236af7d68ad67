"""Pure verification: certificates, signatures, VIDs, PIN verifiers and the
인증서 복사 commitment. No database and no audit here: each check answers
(a Refusal reason, a bool, a value); certificates.challenges turns answers
into audited refusals and reads our records, certificates.login applies the
login policy.
"""

import base64
import datetime
import hashlib
import hmac

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from django.conf import settings

from certificates import ca, vid
from certificates.exceptions import Refusal
from core.crypto import digests_match, keyed_digest


def session_digest(session_key: str) -> str:
    return hashlib.sha256(f"certbank-challenge:{session_key}".encode()).hexdigest()


# --- Certificates ---------------------------------------------------------------------------


def leaf_load(der: bytes) -> x509.Certificate | None:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        return None


def leaf_serial(leaf: x509.Certificate) -> str:
    return format(leaf.serial_number, "x")


def leaf_refusal(leaf: x509.Certificate, *, now: datetime.datetime) -> Refusal | None:
    """Why this certificate is not acceptable on its own (chain to our root,
    key, usage, dates), or None. Whether we issued it and its status are
    our records' business (certificates.challenges.certificate_check)."""
    # Outside its validity, a certificate our issuing CA key signed is
    # refused for its dates. Its chain cannot be verified at any time inside
    # the leaf's validity when that lies before the current CA certificate's
    # notBefore (a CA certificate re-issued for the same key, a CA set up
    # after a restore): building the chain would call it "unknown CA".
    if not leaf.not_valid_before_utc <= now < leaf.not_valid_after_utc:
        if not _signed_by_issuing_ca(leaf):
            return Refusal.UNKNOWN_CA
        return Refusal.NOT_YET_VALID if now < leaf.not_valid_before_utc else Refusal.EXPIRED
    # Chain to the demo root, now. The verifier fixes its validation time
    # when built, so it is built per check.
    verifier = PolicyBuilder().store(Store([ca.ca_root_certificate()])).time(now).build_client_verifier()
    try:
        verifier.verify(leaf, [ca.ca_issuing_certificate()])
    except (VerificationError, ValueError, UnsupportedAlgorithm):
        return Refusal.UNKNOWN_CA
    # SECURITY: the verifier checks neither key size nor key usage (NOTES.md).
    public_key = leaf.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey) or public_key.key_size < settings.CERTBANK_MIN_RSA_BITS:
        return Refusal.WEAK_KEY
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is None or not usage.digital_signature:
        return Refusal.WRONG_KEY_USAGE
    return None


def _signed_by_issuing_ca(leaf: x509.Certificate) -> bool:
    """Whether our issuing CA's name and key issued this certificate: RFC 5280
    §6.1.3 (a)(1) and (a)(4), the signature and the issuer name, at no time."""
    try:
        leaf.verify_directly_issued_by(ca.ca_issuing_certificate())
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def new_public_key(public_key_spki: bytes) -> rsa.RSAPublicKey | None:
    """A new key for a certificate (issuance, renewal): RSA of at least the minimum size, or None."""
    try:
        public_key = serialization.load_der_public_key(public_key_spki)
    except (ValueError, UnsupportedAlgorithm):
        return None
    if not isinstance(public_key, rsa.RSAPublicKey) or public_key.key_size < settings.CERTBANK_MIN_RSA_BITS:
        return None
    return public_key


# --- Signatures -----------------------------------------------------------------------------


def signature_scheme_of(public_key, signature: bytes, data: bytes) -> str | None:
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


def signature_valid(public_key, signature: bytes, data: bytes) -> bool:
    return signature_scheme_of(public_key, signature, data) is not None


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


# --- Stored signatures (receipts, the staff console) ---------------------------------------


def signature_scheme(*, certificate_der: bytes, signature: bytes, data: bytes) -> str | None:
    """Which accepted scheme ("pkcs1v15" or "pss") a stored signature uses, or
    None when it does not verify (receipts and the staff console check again)."""
    return signature_scheme_of(x509.load_der_x509_certificate(certificate_der).public_key(), signature, data)


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
