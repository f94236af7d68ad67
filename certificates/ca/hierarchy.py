"""The CA hierarchy: a self-signed root and one issuing CA, created on first
use under an exclusive file lock, keys encrypted at rest, loaded once per process."""

import datetime as dt
import fcntl
import functools
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

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


def signature_hash() -> hashes.HashAlgorithm:
    name = getattr(settings, "CERTBANK_CA_SIGNATURE_HASH", "sha256")
    try:
        return _HASHES[name]()
    except KeyError:
        raise ImproperlyConfigured(f"CERTBANK_CA_SIGNATURE_HASH must be one of {sorted(_HASHES)}, not {name!r}.")


# --- creation ----------------------------------------------------------------


def add_years(moment: dt.datetime, years: int) -> dt.datetime:
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
        .not_valid_after(add_years(now, ROOT_YEARS))
        # RFC 5280 §4.2.1.9: CA certificates MUST mark basicConstraints critical.
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, signature_hash())
    )
    _write_private(folder / _ROOT_KEY, _key_pem(key))
    _write_public(folder / _ROOT_CERT, certificate.public_bytes(serialization.Encoding.PEM))
    return key, certificate


def _create_issuing(folder: Path, root_key: rsa.RSAPrivateKey, root: x509.Certificate, now: dt.datetime) -> None:
    key = _new_key()
    not_after = min(add_years(now, ISSUING_YEARS), root.not_valid_after_utc)
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
        .add_extension(aki_of(root), critical=False)
        .sign(root_key, signature_hash())
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


def aki_of(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
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


def hierarchy_current() -> _Hierarchy:
    return _hierarchy(_ca_dir().resolve())


def ca_reset_cache() -> None:
    """Forget the loaded hierarchy (tests point DATA_DIR elsewhere)."""
    _hierarchy.cache_clear()


# --- public API --------------------------------------------------------------


def ca_root_certificate() -> x509.Certificate:
    return hierarchy_current().root


def ca_issuing_certificate() -> x509.Certificate:
    return hierarchy_current().issuing


def ca_certificate_bytes(which: str, encoding: str) -> bytes:
    """The root or issuing CA certificate as "der" or "pem" bytes (for downloads)."""
    certificates = {"root": ca_root_certificate, "issuing": ca_issuing_certificate}
    encodings = {"der": serialization.Encoding.DER, "pem": serialization.Encoding.PEM}
    if which not in certificates or encoding not in encodings:
        raise ValueError(f"unknown CA certificate {which!r}/{encoding!r}")
    return certificates[which]().public_bytes(encodings[encoding])
