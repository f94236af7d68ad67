"""The demo certification authority: the only code that signs.

One hierarchy trusted by every demo bank: a self-signed root and one issuing
CA for both certificate kinds (공동인증서, 금융인증서). The keys live in
DATA_DIR/ca/ as encrypted PKCS#8 PEM (passphrase: CERTBANK_CA_PASSPHRASE),
the certificates as PEM beside them. They are created on first use, under an
exclusive file lock so that concurrent processes create exactly one
hierarchy, and loaded once per process.

Profiles follow RFC 5280 and the demo subject form of DESIGN.md §1.
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
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from certificates import vid as vid_rules

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
