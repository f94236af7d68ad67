"""The demo certification authority: the only code that signs.

One hierarchy trusted by every demo bank: a self-signed root and one issuing
CA for both certificate kinds (공동인증서, 금융인증서). The keys live in
DATA_DIR/ca/ as encrypted PKCS#8 PEM (passphrase: CERTBANK_CA_PASSPHRASE),
the certificates as PEM beside them. They are created on first use, under an
exclusive file lock so that concurrent processes create exactly one
hierarchy, and loaded once per process.

Profiles follow RFC 5280 and the demo subject form of DESIGN.md §1. The
issuing CA also signs the status of what it issued: full CRLs (RFC 5280 §5)
and OCSP responses (RFC 6960), both read from the Certificate records.
"""

import datetime as dt
import fcntl
import functools
import os
import re
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction

from certificates import vid as vid_rules
from certificates.models import Certificate, CrlPublication

KIND_JOINT = "joint"
KIND_FINANCIAL = "financial"
KINDS = (KIND_JOINT, KIND_FINANCIAL)

# Demo policy arc: 2.25.<UUID as integer> (ITU-T X.667 / RFC 4122 §"UUID
# OIDs"), generated once for Certbank, so it can never collide with a real
# accredited-CA policy (those live under 1.2.410.200004.5).
POLICY_ARC = "2.25.215435328224649650932476748069735174964"
POLICY_OIDS = {
    KIND_JOINT: x509.ObjectIdentifier(f"{POLICY_ARC}.1.1"),  # 개인 은행·보험용 공동인증서
    KIND_FINANCIAL: x509.ObjectIdentifier(f"{POLICY_ARC}.1.2"),  # 금융인증서
}
POLICY_NOTICE = "이 인증서는 Certbank 데모용입니다"

NPKI_IDENTIFY_DATA = x509.ObjectIdentifier(vid_rules.NPKI_IDENTIFY_DATA_OID)

# Subject OU telling the kind, as in real NPKI DNs (ou=personal4IB: personal,
# for internet banking).
_KIND_OU = {KIND_JOINT: "personal4IB", KIND_FINANCIAL: "personalF"}
_KIND_YEARS = {KIND_JOINT: 1, KIND_FINANCIAL: 3}

ROOT_SUBJECT = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "KR"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Certbank"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Certbank Demo Root CA"),
    ]
)
ISSUING_SUBJECT = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "KR"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CertbankCA"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "AccreditedCA"),
        x509.NameAttribute(NameOID.COMMON_NAME, "CertbankCA Class 1"),
    ]
)
ROOT_YEARS = 20
ISSUING_YEARS = 10

_ROOT_KEY = "root.key.pem"
_ROOT_CERT = "root.pem"
_ISSUING_KEY = "issuing.key.pem"
_ISSUING_CERT = "issuing.pem"
_LOCK = ".lock"

_HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


@dataclass(frozen=True)
class _Hierarchy:
    root: x509.Certificate
    issuing: x509.Certificate
    issuing_key: rsa.RSAPrivateKey


# --- settings ----------------------------------------------------------------


def _ca_dir() -> Path:
    return Path(settings.DATA_DIR) / "ca"


def _passphrase() -> bytes:
    value = getattr(settings, "CERTBANK_CA_PASSPHRASE", "")
    if not value:
        raise ImproperlyConfigured("Set CERTBANK_CA_PASSPHRASE to protect the CA keys.")
    return value.encode("utf-8")


def _signature_hash() -> hashes.HashAlgorithm:
    name = getattr(settings, "CERTBANK_CA_SIGNATURE_HASH", "sha256")
    try:
        return _HASHES[name]()
    except KeyError:
        raise ImproperlyConfigured(f"CERTBANK_CA_SIGNATURE_HASH must be one of {sorted(_HASHES)}, not {name!r}.")


# --- creation ----------------------------------------------------------------


def _add_years(moment: dt.datetime, years: int) -> dt.datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February into a common year
        return moment.replace(year=moment.year + years, day=28)


def _write_private(path: Path, data: bytes) -> None:
    # Write beside, then rename: a crash never leaves half a file behind, and
    # the file is 0600 from its first byte.
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _write_public(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=settings.CERTBANK_CA_KEY_BITS)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    # SECURITY: CA keys never touch the disk in clear (PKCS#8, RFC 5958,
    # encrypted with the library's best available PBES2 scheme).
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(_passphrase()),
    )


def _create_root(folder: Path, now: dt.datetime) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = _new_key()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(ROOT_SUBJECT)
        .issuer_name(ROOT_SUBJECT)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(_add_years(now, ROOT_YEARS))
        # RFC 5280 §4.2.1.9: CA certificates MUST mark basicConstraints critical.
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, _signature_hash())
    )
    _write_private(folder / _ROOT_KEY, _key_pem(key))
    _write_public(folder / _ROOT_CERT, certificate.public_bytes(serialization.Encoding.PEM))
    return key, certificate


def _create_issuing(folder: Path, root_key: rsa.RSAPrivateKey, root: x509.Certificate, now: dt.datetime) -> None:
    key = _new_key()
    not_after = min(_add_years(now, ISSUING_YEARS), root.not_valid_after_utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(ISSUING_SUBJECT)
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(not_after)
        # pathLen 0: this CA issues only end-entity certificates.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(_aki_of(root), critical=False)
        .sign(root_key, _signature_hash())
    )
    _write_private(folder / _ISSUING_KEY, _key_pem(key))
    _write_public(folder / _ISSUING_CERT, certificate.public_bytes(serialization.Encoding.PEM))


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _aki_of(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


@contextmanager
def _exclusive_lock(folder: Path):
    fd = os.open(folder / _LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        # flock locks belong to the open file description, so this excludes
        # other processes and other threads (each opens its own) alike.
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _ensure_created(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask
    with _exclusive_lock(folder):
        root_ready = (folder / _ROOT_KEY).exists() and (folder / _ROOT_CERT).exists()
        issuing_ready = (folder / _ISSUING_KEY).exists() and (folder / _ISSUING_CERT).exists()
        if root_ready and issuing_ready:
            return
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        if root_ready:
            root_key = _load_key(folder / _ROOT_KEY)
            root = _load_certificate(folder / _ROOT_CERT)
        else:
            # A new root invalidates any issuing CA left from a broken run.
            root_key, root = _create_root(folder, now)
        _create_issuing(folder, root_key, root, now)


# --- loading -----------------------------------------------------------------


def _load_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=_passphrase())
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ImproperlyConfigured(f"{path} does not hold an RSA key.")
    return key


def _load_certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


@functools.lru_cache(maxsize=8)
def _hierarchy(folder: Path) -> _Hierarchy:
    _ensure_created(folder)
    return _Hierarchy(
        root=_load_certificate(folder / _ROOT_CERT),
        issuing=_load_certificate(folder / _ISSUING_CERT),
        issuing_key=_load_key(folder / _ISSUING_KEY),
    )


def _current() -> _Hierarchy:
    return _hierarchy(_ca_dir().resolve())


def ca_reset_cache() -> None:
    """Forget the loaded hierarchy (tests point DATA_DIR elsewhere)."""
    _hierarchy.cache_clear()


# --- public API --------------------------------------------------------------


def ca_root_certificate() -> x509.Certificate:
    return _current().root


def ca_issuing_certificate() -> x509.Certificate:
    return _current().issuing


def ca_certificate_bytes(which: str, encoding: str) -> bytes:
    """The root or issuing CA certificate as "der" or "pem" bytes (for downloads)."""
    certificates = {"root": ca_root_certificate, "issuing": ca_issuing_certificate}
    encodings = {"der": serialization.Encoding.DER, "pem": serialization.Encoding.PEM}
    if which not in certificates or encoding not in encodings:
        raise ValueError(f"unknown CA certificate {which!r}/{encoding!r}")
    return certificates[which]().public_bytes(encodings[encoding])


_SERIAL_DIGITS = re.compile(r"[0-9]{1,20}")
_BASE_URL = re.compile(r"https?://[^\s/]+(/[^\s]*)?")


def certificate_issue(
    *,
    public_key_der: bytes,
    bank,
    real_name: str,
    vid: bytes,
    kind: str,
    serial_digits: str,
    not_before: dt.datetime,
    base_url: str,
    not_after: dt.datetime | None = None,
) -> x509.Certificate:
    """Sign a personal certificate (공동인증서 or 금융인증서) for an SPKI.

    `public_key_der` is the SubjectPublicKeyInfo the browser sent; `vid` comes
    from `certificates.vid.vid_compute`; `serial_digits` is the customer's
    serial part of the CN. Raises ValueError for anything we must not sign.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown certificate kind {kind!r}")
    # SECURITY: the key comes from the client; refuse anything that is not
    # RSA of at least the configured size (DESIGN.md §1: RSA-2048).
    try:
        public_key = serialization.load_der_public_key(bytes(public_key_der))
    except (ValueError, TypeError):
        raise ValueError("public key is not a valid DER SubjectPublicKeyInfo")
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ValueError("only RSA public keys are accepted")
    if public_key.key_size < settings.CERTBANK_MIN_RSA_BITS:
        raise ValueError(f"RSA key of {public_key.key_size} bits is below the minimum of {settings.CERTBANK_MIN_RSA_BITS}")
    if not _SERIAL_DIGITS.fullmatch(serial_digits or ""):
        raise ValueError("serial digits must be 1 to 20 ASCII digits")
    if not real_name or real_name != real_name.strip() or any(char in real_name for char in '(),=+\\"<>;#'):
        raise ValueError("real name is empty or contains characters reserved in the subject DN")
    if not_before.tzinfo is None:
        raise ValueError("not_before must be timezone-aware")
    if not _BASE_URL.fullmatch(base_url or ""):
        raise ValueError("base_url must be an absolute http(s) URL")
    base_url = base_url.rstrip("/")

    hierarchy = _current()
    not_before = not_before.astimezone(dt.UTC).replace(microsecond=0)
    # Renewal passes not_after (one year from the old expiry, DESIGN.md §1).
    not_after = _add_years(not_before, _KIND_YEARS[kind]) if not_after is None else not_after.astimezone(dt.UTC)
    if not_after > hierarchy.issuing.not_valid_after_utc:
        raise ValueError("the certificate would outlive the issuing CA")

    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "KR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CertbankCA"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, _KIND_OU[kind]),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, bank.slug.upper()),
            # Demo form of the NPKI CN: 이름()0 + bank code + serial digits.
            x509.NameAttribute(NameOID.COMMON_NAME, f"{real_name}()0{bank.code}{serial_digits}"),
        ]
    )
    policy = x509.PolicyInformation(
        POLICY_OIDS[kind],
        [f"{base_url}/ca/cps", x509.UserNotice(notice_reference=None, explicit_text=POLICY_NOTICE)],
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(hierarchy.issuing.subject)
        .public_key(public_key)
        # DESIGN.md §3: 128 random bits; RFC 5280 §4.1.2.2 allows up to 20 octets.
        .serial_number(_random_serial())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # nonRepudiation (RFC 5280 §4.2.1.3)
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.CertificatePolicies([policy]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([x509.OtherName(NPKI_IDENTIFY_DATA, vid_rules.identify_data_der(real_name, vid))]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(f"{base_url}/ca/ocsp")
                    ),
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(f"{base_url}/ca/issuing.der")
                    ),
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[x509.UniformResourceIdentifier(f"{base_url}/ca/crl/issuing.crl")],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            critical=False,
        )
        .add_extension(_aki_of(hierarchy.issuing), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    return builder.sign(hierarchy.issuing_key, _signature_hash())


def _random_serial() -> int:
    while True:
        serial = secrets.randbits(128)
        if serial:  # RFC 5280 §4.1.2.2: positive
            return serial


@dataclass(frozen=True)
class CertificateFacts:
    serial: str  # lower-case hex
    fingerprint: str  # SHA-256 of the DER, hex
    subject: str  # RFC 4514
    not_before: dt.datetime
    not_after: dt.datetime
    der: bytes


def certificate_facts(certificate: x509.Certificate) -> CertificateFacts:
    """What the records keep of a certificate this CA signed."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    return CertificateFacts(
        serial=format(certificate.serial_number, "x"),
        fingerprint=certificate.fingerprint(hashes.SHA256()).hex(),
        subject=certificate.subject.rfc4514_string(),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        der=der,
    )


# --- revocation status: CRL (RFC 5280 §5) and OCSP (RFC 6960) ------------------

# Certificate.RevocationReason → RFC 5280 §5.3.1 CRLReason. "unspecified"
# maps to None: the reasonCode extension "SHOULD be absent instead of using
# the unspecified (0) reasonCode value" (RFC 5280 §5.3.1).
_REASON_FLAGS = {
    Certificate.RevocationReason.UNSPECIFIED: None,
    Certificate.RevocationReason.KEY_COMPROMISE: x509.ReasonFlags.key_compromise,
    Certificate.RevocationReason.SUPERSEDED: x509.ReasonFlags.superseded,
    Certificate.RevocationReason.CESSATION_OF_OPERATION: x509.ReasonFlags.cessation_of_operation,
    Certificate.RevocationReason.CERTIFICATE_HOLD: x509.ReasonFlags.certificate_hold,
}
# A fresh CRL is published this long before the current one's nextUpdate, so
# that a relying party never fetches one about to go stale.
CRL_REFRESH_MARGIN = dt.timedelta(hours=1)
_CRL_NUMBER_ATTEMPTS = 3
OCSP_VALIDITY = dt.timedelta(hours=1)
# The hash algorithms a CertID may use (RFC 6960 §4.1.1 uses SHA-1; RFC 5019
# clients and openssl may use SHA-256). cryptography answers these.
_OCSP_HASHES = (hashes.SHA1, hashes.SHA224, hashes.SHA256, hashes.SHA384, hashes.SHA512)
# RFC 8954 §2.1: a nonce longer than 32 octets is refused as malformedRequest.
_OCSP_NONCE_MAX = 32


def _utc_now(now: dt.datetime | None) -> dt.datetime:
    # GeneralizedTime/UTCTime in CRLs and OCSP carry whole seconds (RFC 5280
    # §4.1.2.5): store exactly what the signed structure says.
    moment = now or dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def _status_entry(certificate: Certificate) -> tuple[dt.datetime, x509.ReasonFlags | None]:
    """When and why a revoked or suspended certificate stopped being good.

    A suspension (효력정지) is RFC 5280's certificateHold: listed on the CRL
    and "revoked" in OCSP (RFC 6960 §2.2), removable when restored.
    """
    if certificate.status == Certificate.Status.SUSPENDED:
        return certificate.status_changed_at or certificate.created_at, x509.ReasonFlags.certificate_hold
    return certificate.revoked_at, _REASON_FLAGS.get(certificate.revocation_reason)


def crl_publish(*, now: dt.datetime | None = None) -> CrlPublication:
    """Sign and record a full CRL of the issuing CA (RFC 5280 §5).

    Lists every revoked certificate and every suspended one (certificateHold).
    An entry leaves the list only after it appeared on one CRL issued after
    the certificate expired (RFC 5280 §3.3), so a certificate is kept while
    its not_after is at or after the previous CRL's thisUpdate.
    """
    now = _utc_now(now)
    next_update = now + dt.timedelta(hours=settings.CERTBANK_CRL_VALIDITY_HOURS)
    hierarchy = _current()
    for attempt in range(_CRL_NUMBER_ATTEMPTS):
        try:
            with transaction.atomic():
                # RFC 5280 §5.2.3: the cRLNumber increases monotonically. Lock
                # the latest row; when there is none yet (nothing to lock) or
                # the database ignores the lock, the unique number makes a
                # concurrent publisher fail and retry with the next number.
                latest = CrlPublication.objects.select_for_update().order_by("-number").first()
                number = latest.number + 1 if latest else 1
                listed = Certificate.objects.filter(status__in=[Certificate.Status.REVOKED, Certificate.Status.SUSPENDED]).only(
                    "serial", "status", "revocation_reason", "revoked_at", "status_changed_at", "created_at"
                )
                if latest is not None:
                    listed = listed.filter(not_after__gte=latest.this_update)
                builder = (
                    x509.CertificateRevocationListBuilder()
                    .issuer_name(hierarchy.issuing.subject)
                    .last_update(now)
                    .next_update(next_update)
                    .add_extension(x509.CRLNumber(number), critical=False)
                    # RFC 5280 §5.2.1: conforming CAs MUST include the AKI in CRLs.
                    .add_extension(_aki_of(hierarchy.issuing), critical=False)
                )
                entries = 0
                for certificate in listed.order_by("pk"):
                    revoked_at, reason = _status_entry(certificate)
                    entry = (
                        x509.RevokedCertificateBuilder()
                        .serial_number(int(certificate.serial, 16))
                        .revocation_date(revoked_at.astimezone(dt.UTC).replace(microsecond=0))
                    )
                    if reason is not None:
                        # RFC 5280 §5.3.1: reasonCode is a non-critical entry extension.
                        entry = entry.add_extension(x509.CRLReason(reason), critical=False)
                    builder = builder.add_revoked_certificate(entry.build())
                    entries += 1
                crl = builder.sign(hierarchy.issuing_key, _signature_hash())
                return CrlPublication.objects.create(
                    number=number,
                    this_update=now,
                    next_update=next_update,
                    der=crl.public_bytes(serialization.Encoding.DER),
                    entries=entries,
                )
        except IntegrityError:
            if attempt == _CRL_NUMBER_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def crl_current(*, now: dt.datetime | None = None) -> CrlPublication:
    """The CRL to serve: the latest publication while it is fresh, else a new one.

    "Fresh" means more than CRL_REFRESH_MARGIN before its nextUpdate and no
    certificate changed status since it was signed, so a revocation or a
    suspension shows on the next fetch. Cron runs `publish_crl` as well, so
    a CRL is issued on schedule even when nobody fetches it.
    """
    now = _utc_now(now)
    latest = CrlPublication.objects.order_by("-number").first()
    if (
        latest is not None
        and now < latest.next_update - CRL_REFRESH_MARGIN
        and not Certificate.objects.filter(status_changed_at__gt=latest.this_update).exists()
    ):
        return latest
    return crl_publish(now=now)


def _issuer_hashes(issuing: x509.Certificate, algorithm: hashes.HashAlgorithm) -> tuple[bytes, bytes]:
    """CertID issuerNameHash and issuerKeyHash of our issuing CA (RFC 6960 §4.1.1).

    The name hash covers the DER of the issuer's subject; the key hash covers
    the subjectPublicKey BIT STRING value, which for RSA is the PKCS#1
    RSAPublicKey (RFC 3279 §2.3.1).
    """
    name = hashes.Hash(algorithm)
    name.update(issuing.subject.public_bytes())
    key = hashes.Hash(algorithm)
    key.update(issuing.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1))
    return name.finalize(), key.finalize()


def _ocsp_unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    # RFC 6960 §2.3: error responses are not signed and carry no responseBytes.
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(serialization.Encoding.DER)


def ocsp_malformed_response() -> bytes:
    """The OCSP answer to a request that cannot be parsed (RFC 6960 §2.3)."""
    return _ocsp_unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)


def ocsp_respond(request_der: bytes, *, now: dt.datetime | None = None) -> bytes:
    """Answer a DER OCSPRequest with a DER OCSPResponse (RFC 6960).

    The issuing CA signs the responses itself (RFC 6960 §4.2.2.2), so no
    delegated responder certificate is needed or sent. The status is read
    from the database on every request: a revocation shows at once.
    """
    now = _utc_now(now)
    hierarchy = _current()
    # SECURITY: the body is whatever the network sent. Anything that does not
    # parse (including several requests in one, which we do not answer) is
    # malformedRequest, never an exception.
    try:
        request = ocsp.load_der_ocsp_request(bytes(request_der))
        name_hash, key_hash, serial = request.issuer_name_hash, request.issuer_key_hash, request.serial_number
        nonce = _ocsp_nonce(request)
    except (ValueError, TypeError):
        return ocsp_malformed_response()
    if nonce is not None and not 1 <= len(nonce) <= _OCSP_NONCE_MAX:
        return ocsp_malformed_response()
    try:
        algorithm = request.hash_algorithm
    except UnsupportedAlgorithm:
        algorithm = None
    # SECURITY: answer only for certificates of our issuing CA. A CertID that
    # names another issuer (or a hash we cannot compute) is not ours to
    # vouch for: unauthorized (RFC 6960 §2.3).
    if not isinstance(algorithm, _OCSP_HASHES) or (name_hash, key_hash) != _issuer_hashes(hierarchy.issuing, algorithm):
        return _ocsp_unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)

    revocation_time, revocation_reason = None, None
    certificate = (
        Certificate.objects.filter(serial=format(serial, "x"))
        .only("status", "revocation_reason", "revoked_at", "status_changed_at", "created_at")
        .first()
    )
    if certificate is None:
        # RFC 6960 §2.2: "unknown" — the responder does not know this serial.
        cert_status = ocsp.OCSPCertStatus.UNKNOWN
    elif certificate.status == Certificate.Status.VALID:
        # RFC 6960 §2.2: "good" says only that the certificate is not revoked;
        # an expired certificate stays good (expiry is the client's check).
        cert_status = ocsp.OCSPCertStatus.GOOD
    else:
        cert_status = ocsp.OCSPCertStatus.REVOKED
        revoked_at, revocation_reason = _status_entry(certificate)
        revocation_time = revoked_at.astimezone(dt.UTC).replace(microsecond=0)

    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response_by_hash(
            issuer_name_hash=name_hash,
            issuer_key_hash=key_hash,
            serial_number=serial,
            algorithm=algorithm,
            cert_status=cert_status,
            this_update=now,
            next_update=now + OCSP_VALIDITY,
            revocation_time=revocation_time,
            revocation_reason=revocation_reason,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, hierarchy.issuing)
    )
    if nonce is not None:
        # RFC 8954 §2.1 / RFC 6960 §4.4.1: echo the client's nonce unchanged.
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.sign(hierarchy.issuing_key, _signature_hash()).public_bytes(serialization.Encoding.DER)


def _ocsp_nonce(request: ocsp.OCSPRequest) -> bytes | None:
    try:
        return request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        return None
