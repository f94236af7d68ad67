"""NPKI key files (공동인증서 signCert.der + signPri.key) for Python clients.

The same format as static/js/crypto/npki.js (DESIGN.md §3, NOTES.md "Key
files (NPKI)"): `signPri.key` is a DER PKCS#8 EncryptedPrivateKeyInfo

    SEQUENCE {
      SEQUENCE { OID pbes2 (1.2.840.113549.1.5.13),
        SEQUENCE {
          SEQUENCE { OID pbkdf2 (1.2.840.113549.1.5.12),
                     SEQUENCE { OCTET STRING salt, INTEGER iterations } }
                     -- no keyLength, no prf: HMAC-SHA1, 16-byte key
          SEQUENCE { OID seedCBC (1.2.410.200004.1.4), OCTET STRING iv(16) } } }
      OCTET STRING SEED-CBC/PKCS#7(PrivateKeyInfo) }

where the PrivateKeyInfo carries R (the random number the VID is bound to)
as the attribute [0] IMPLICIT SET { SEQUENCE { OID 1.2.410.200004.10.1.1.3,
SET { BIT STRING R } } }, which is what pypinksign and NPKI tools read.

For reading, PBKDF2 with an explicit HMAC-SHA1/SHA-256/384/512 PRF and
AES-CBC are accepted too (key files exported by OpenSSL).

`cryptography` has no generic DER codec and runtime code must not need
pyasn1, so the small DER reader/writer below is hand-written and strict.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import SEED
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from certificates.der import integer as _int
from certificates.der import octets as _octets
from certificates.der import oid as _oid
from certificates.der import seq as _seq
from certificates.der import tlv as _tlv

__all__ = [
    "DEFAULT_ITERATIONS",
    "CERT_FILE",
    "KEY_FILE",
    "NPKI_CA_FOLDER",
    "KeyFileError",
    "KeyPair",
    "WrongPassword",
    "decrypt_key_file",
    "decrypt_private_key_info",
    "encrypt_key_file",
    "load_key_pair",
    "npki_folder_name",
    "npki_folder_path",
    "private_key_info_with_r",
    "public_key_spki",
    "save_key_pair",
    "split_private_key_info",
]

DEFAULT_ITERATIONS = 600_000
# Upper bound on the iteration count a file may ask for (a hostile file
# should not be able to pin the CPU for minutes).
MAX_ITERATIONS = 10_000_000
SALT_LENGTH = 16
CERT_FILE = "signCert.der"
KEY_FILE = "signPri.key"
NPKI_CA_FOLDER = "NPKI/CertbankCA/USER"

OID_PBES2 = "1.2.840.113549.1.5.13"
OID_PBKDF2 = "1.2.840.113549.1.5.12"
OID_SEED_CBC = "1.2.410.200004.1.4"
OID_NPKI_RANDOM = "1.2.410.200004.10.1.1.3"
OID_RSA = "1.2.840.113549.1.1.1"
PRF_HASHES = {
    "1.2.840.113549.2.7": hashes.SHA1,
    "1.2.840.113549.2.9": hashes.SHA256,
    "1.2.840.113549.2.10": hashes.SHA384,
    "1.2.840.113549.2.11": hashes.SHA512,
}
AES_CBC_KEY_SIZES = {
    "2.16.840.1.101.3.4.1.2": 16,
    "2.16.840.1.101.3.4.1.22": 24,
    "2.16.840.1.101.3.4.1.42": 32,
}

# RFC 4514 short names, as NPKI folder names use them (lower case).
DN_NAMES = {
    "2.5.4.3": "cn",
    "2.5.4.4": "sn",
    "2.5.4.5": "serialNumber",
    "2.5.4.6": "c",
    "2.5.4.7": "l",
    "2.5.4.8": "st",
    "2.5.4.9": "street",
    "2.5.4.10": "o",
    "2.5.4.11": "ou",
    "2.5.4.12": "title",
    "2.5.4.42": "givenName",
    "0.9.2342.19200300.100.1.25": "dc",
    "0.9.2342.19200300.100.1.1": "uid",
    "1.2.840.113549.1.9.1": "email",
}
# Characters no file system folder name should contain.
_UNSAFE_IN_FOLDER = set('/\\:*?"<>|') | {chr(c) for c in range(32)} | {"\x7f"}


class KeyFileError(ValueError):
    """The key file is malformed or uses an algorithm this code does not support."""


class WrongPassword(ValueError):
    """The password does not open the key file."""


@dataclass(frozen=True)
class KeyPair:
    certificate_der: bytes
    private_key: rsa.RSAPrivateKey
    r: bytes | None


# ------------------------------------------------------------------ DER


class _DerError(ValueError):
    pass


@dataclass(frozen=True)
class _Node:
    tag: int  # the whole identifier octet
    value: bytes
    raw: bytes

    @property
    def constructed(self) -> bool:
        return bool(self.tag & 0x20)

    def children(self) -> list[_Node]:
        if not self.constructed:
            raise _DerError("expected a constructed element")
        out, pos = [], 0
        while pos < len(self.value):
            node, pos = _read(self.value, pos)
            out.append(node)
        return out


def _read(data: bytes, pos: int) -> tuple[_Node, int]:
    start = pos
    if pos + 2 > len(data):
        raise _DerError("truncated element")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise _DerError("multi-byte tags are not supported")
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or first == 0xFF:
            raise _DerError("indefinite or oversized length")
        if pos + count > len(data):
            raise _DerError("truncated length")
        length = int.from_bytes(data[pos : pos + count], "big")
        if length < 0x80 or data[pos] == 0:
            raise _DerError("non-minimal length")
        pos += count
    if pos + length > len(data):
        raise _DerError("element runs past its container")
    return _Node(tag, data[pos : pos + length], data[start : pos + length]), pos + length


def _decode(data: bytes) -> _Node:
    node, end = _read(data, 0)
    if end != len(data):
        raise _DerError("trailing bytes")
    return node


def _expect(node: _Node, tag: int, what: str) -> _Node:
    if node.tag != tag:
        raise _DerError(f"{what}: unexpected tag 0x{node.tag:02x}")
    return node


def _seq_children(node: _Node, what: str) -> list[_Node]:
    return _expect(node, 0x30, what).children()


def _int_value(node: _Node, what: str) -> int:
    value = _expect(node, 0x02, what).value
    if not value or (len(value) > 1 and (value[0] == 0 and value[1] < 0x80 or value[0] == 0xFF and value[1] >= 0x80)):
        raise _DerError(f"{what}: not a DER INTEGER")
    return int.from_bytes(value, "big", signed=True)


def _oid_value(node: _Node, what: str) -> str:
    value = _expect(node, 0x06, what).value
    if not value or value[-1] & 0x80:
        raise _DerError(f"{what}: bad OBJECT IDENTIFIER")
    arcs, current, fresh = [], 0, True
    for b in value:
        if fresh and b == 0x80:
            raise _DerError(f"{what}: non-minimal OBJECT IDENTIFIER")
        current = (current << 7) | (b & 0x7F)
        fresh = not b & 0x80
        if fresh:
            arcs.append(current)
            current = 0
    first = arcs[0]
    head = [first // 40, first % 40] if first < 80 else [2, first - 80]
    return ".".join(str(a) for a in head + arcs[1:])


# ------------------------------------------------------------------ PrivateKeyInfo with R


def _random_attribute(r: bytes) -> bytes:
    """[0] IMPLICIT SET { SEQUENCE { OID random, SET { BIT STRING R } } }"""
    return _tlv(0xA0, _seq(_oid(OID_NPKI_RANDOM), _tlv(0x31, _tlv(0x03, b"\x00" + r))))


def _split_private_key_info(der: bytes) -> tuple[bytes, bytes | None]:
    """Strictly parse a PrivateKeyInfo: (plain PKCS#8 without attributes, R).

    Raises _DerError for anything that is not a well-formed RSA
    PrivateKeyInfo (after decryption, that means a wrong password).
    """
    children = _seq_children(_decode(der), "PrivateKeyInfo")
    if len(children) not in (3, 4):
        raise _DerError("PrivateKeyInfo must have 3 or 4 elements")
    version, algorithm, private_key = children[:3]
    if _int_value(version, "version") not in (0, 1):
        raise _DerError("unknown PrivateKeyInfo version")
    alg = _seq_children(algorithm, "privateKeyAlgorithm")
    if not 1 <= len(alg) <= 2:
        raise _DerError("privateKeyAlgorithm")
    algorithm_oid = _oid_value(alg[0], "privateKeyAlgorithm")
    if algorithm_oid != OID_RSA:
        # Well-formed so far, so not a wrong password: just not a key we can use.
        raise KeyFileError(f"unsupported private key algorithm {algorithm_oid} (only RSA)")
    # The RSAPrivateKey inside must itself be strict DER with 9 INTEGERs.
    rsa_fields = _seq_children(_decode(_expect(private_key, 0x04, "privateKey").value), "RSAPrivateKey")
    if len(rsa_fields) != 9 or len(alg) != 2 or alg[1].raw != b"\x05\x00":
        raise _DerError("RSAPrivateKey")
    for field in rsa_fields:
        _int_value(field, "RSAPrivateKey field")
    r = None
    if len(children) == 4:
        attributes = _expect(children[3], 0xA0, "attributes").children()
        for attribute in attributes:
            parts = _seq_children(attribute, "Attribute")
            if len(parts) != 2:
                raise _DerError("Attribute must have two elements")
            values = _expect(parts[1], 0x31, "Attribute values").children()
            if _oid_value(parts[0], "Attribute type") == OID_NPKI_RANDOM:
                if len(values) != 1:
                    raise _DerError("R attribute must have one value")
                bits = _expect(values[0], 0x03, "R").value
                if not bits or bits[0] != 0:
                    raise _DerError("R must be a whole number of octets")
                r = bits[1:]
    return _seq(version.raw, algorithm.raw, private_key.raw), r


def private_key_info_with_r(private_key: rsa.RSAPrivateKey, r: bytes | None) -> bytes:
    """The PKCS#8 PrivateKeyInfo DER a key file (or a 금융인증서 blob,
    certificates/client/cloud.py) carries: the key plus R as the NPKI
    attribute, or no attributes when `r` is None."""
    pkcs8 = private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    if r is None:
        return pkcs8
    if not r:
        raise ValueError("R must not be empty")
    return _tlv(0x30, _decode(pkcs8).value + _random_attribute(bytes(r)))


def split_private_key_info(der: bytes) -> tuple[bytes, bytes | None]:
    """(plain PKCS#8 without attributes, R or None) from a PrivateKeyInfo.

    Raises ValueError for anything that is not a well-formed RSA
    PrivateKeyInfo (KeyFileError, a ValueError too, for a non-RSA key).
    """
    return _split_private_key_info(bytes(der))


# ------------------------------------------------------------------ PBES2


def _pbkdf2(password: str, salt: bytes, iterations: int, length: int, hash_cls=hashes.SHA1) -> bytes:
    kdf = PBKDF2HMAC(algorithm=hash_cls(), length=length, salt=salt, iterations=iterations)
    return kdf.derive(password.encode("utf-8"))


def encrypt_key_file(
    private_key: rsa.RSAPrivateKey,
    r: bytes | None,
    password: str,
    iterations: int = DEFAULT_ITERATIONS,
) -> bytes:
    """signPri.key bytes for `private_key` and R under `password` (UTF-8)."""
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise TypeError("private_key must be an RSA private key")
    if not 1 <= iterations <= MAX_ITERATIONS:
        raise ValueError(f"iterations must be between 1 and {MAX_ITERATIONS}")
    pkcs8 = private_key_info_with_r(private_key, r)
    salt, iv = os.urandom(SALT_LENGTH), os.urandom(16)
    key = _pbkdf2(password, salt, iterations, 16)
    padder = sym_padding.PKCS7(128).padder()
    encryptor = Cipher(SEED(key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padder.update(pkcs8) + padder.finalize()) + encryptor.finalize()
    algorithm = _seq(
        _oid(OID_PBES2),
        _seq(
            _seq(_oid(OID_PBKDF2), _seq(_octets(salt), _int(iterations))),
            _seq(_oid(OID_SEED_CBC), _octets(iv)),
        ),
    )
    return _seq(algorithm, _octets(ciphertext))


def _parse_encrypted(data: bytes) -> dict:
    try:
        outer = _seq_children(_decode(bytes(data)), "EncryptedPrivateKeyInfo")
        if len(outer) != 2:
            raise _DerError("EncryptedPrivateKeyInfo must have two elements")
        algorithm = _seq_children(outer[0], "encryptionAlgorithm")
        ciphertext = _expect(outer[1], 0x04, "encryptedData").value
        scheme = _oid_value(algorithm[0], "encryptionAlgorithm")
        if scheme != OID_PBES2:
            raise KeyFileError(f"unsupported key file encryption {scheme} (only PBES2 {OID_PBES2})")
        if len(algorithm) != 2:
            raise _DerError("PBES2 parameters missing")
        kdf, cipher = _seq_children(algorithm[1], "PBES2-params")
        kdf_parts = _seq_children(kdf, "keyDerivationFunc")
        kdf_oid = _oid_value(kdf_parts[0], "keyDerivationFunc")
        if kdf_oid != OID_PBKDF2:
            raise KeyFileError(f"unsupported key derivation {kdf_oid} (only PBKDF2 {OID_PBKDF2})")
        if len(kdf_parts) != 2:
            raise _DerError("PBKDF2 parameters missing")
        params = _seq_children(kdf_parts[1], "PBKDF2-params")
        if len(params) < 2:
            raise _DerError("PBKDF2-params too short")
        salt = _expect(params[0], 0x04, "salt").value
        iterations = _int_value(params[1], "iterationCount")
        rest = params[2:]
        key_length = None
        if rest and rest[0].tag == 0x02:
            key_length = _int_value(rest.pop(0), "keyLength")
        prf = "1.2.840.113549.2.7"
        if rest:
            prf_parts = _seq_children(rest.pop(0), "prf")
            prf = _oid_value(prf_parts[0], "prf")
            if len(prf_parts) > 2 or (len(prf_parts) == 2 and prf_parts[1].raw != b"\x05\x00"):
                raise _DerError("prf parameters")
        if rest:
            raise _DerError("PBKDF2-params too long")
        if prf not in PRF_HASHES:
            raise KeyFileError(f"unsupported PBKDF2 PRF {prf}")
        if not 1 <= iterations <= MAX_ITERATIONS:
            raise KeyFileError(f"iteration count {iterations} out of range (1..{MAX_ITERATIONS})")
        cipher_parts = _seq_children(cipher, "encryptionScheme")
        cipher_oid = _oid_value(cipher_parts[0], "encryptionScheme")
        if cipher_oid == OID_SEED_CBC:
            size = 16
        elif cipher_oid in AES_CBC_KEY_SIZES:
            size = AES_CBC_KEY_SIZES[cipher_oid]
        else:
            raise KeyFileError(f"unsupported cipher {cipher_oid} (SEED-CBC {OID_SEED_CBC} or AES-CBC)")
        if len(cipher_parts) != 2:
            raise _DerError("cipher parameters missing")
        iv = _expect(cipher_parts[1], 0x04, "IV").value
        if len(iv) != 16:
            raise _DerError("IV must be 16 bytes")
        if key_length is not None and key_length != size:
            raise KeyFileError(f"keyLength {key_length} does not fit cipher {cipher_oid}")
        if not ciphertext or len(ciphertext) % 16:
            raise _DerError("encryptedData is not a whole number of blocks")
    except _DerError as error:
        raise KeyFileError(f"malformed key file: {error}") from None
    except (IndexError, ValueError) as error:
        if isinstance(error, KeyFileError):
            raise
        raise KeyFileError(f"malformed key file: {error}") from None
    return {
        "salt": salt,
        "iterations": iterations,
        "hash": PRF_HASHES[prf],
        "cipher": cipher_oid,
        "key_size": size,
        "iv": iv,
        "ciphertext": ciphertext,
    }


def decrypt_private_key_info(data: bytes, password: str) -> tuple[bytes, bytes | None, int]:
    """(plain PKCS#8 PrivateKeyInfo DER without attributes, R or None, iterations)."""
    info = _parse_encrypted(data)
    key = _pbkdf2(password, info["salt"], info["iterations"], info["key_size"], info["hash"])
    block = SEED(key) if info["cipher"] == OID_SEED_CBC else algorithms.AES(key)
    decryptor = Cipher(block, modes.CBC(info["iv"])).decryptor()
    padded = decryptor.update(info["ciphertext"]) + decryptor.finalize()
    try:
        unpadder = sym_padding.PKCS7(128).unpadder()
        plain = unpadder.update(padded) + unpadder.finalize()
        # Padding passes by chance about once in 256 wrong passwords: the
        # strict parse of the result catches those.
        pkcs8, r = _split_private_key_info(plain)
    except (ValueError, _DerError) as error:
        if isinstance(error, KeyFileError):
            raise
        raise WrongPassword("인증서 비밀번호가 올바르지 않습니다.") from None
    return pkcs8, r, info["iterations"]


def decrypt_key_file(data: bytes, password: str) -> tuple[rsa.RSAPrivateKey, bytes | None]:
    """The RSA private key and R from signPri.key bytes.

    Raises WrongPassword or KeyFileError.
    """
    pkcs8, r, _ = decrypt_private_key_info(data, password)
    try:
        private_key = serialization.load_der_private_key(pkcs8, password=None)
    except ValueError as error:
        raise KeyFileError(f"the private key does not load: {error}") from None
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise KeyFileError("only RSA keys are supported")
    return private_key, r


def public_key_spki(private_key: rsa.RSAPrivateKey) -> bytes:
    """The DER SubjectPublicKeyInfo of a key (what the browser sends at issuance)."""
    return private_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


# ------------------------------------------------------------------ folders


def _certificate(certificate: x509.Certificate | bytes) -> x509.Certificate:
    if isinstance(certificate, x509.Certificate):
        return certificate
    return x509.load_der_x509_certificate(bytes(certificate))


def npki_folder_name(certificate: x509.Certificate | bytes) -> str:
    """The subject DN as an NPKI folder name, e.g.
    "cn=홍길동()0019010000001,ou=NURI,ou=personal4IB,o=CertbankCA,c=KR":
    lower-case attribute names, most specific (CN) first, comma separated,
    characters unsafe in folder names replaced by "_" (as npki.js does)."""
    parts = []
    attributes = [attribute for rdn in _certificate(certificate).subject.rdns for attribute in rdn]
    for attribute in reversed(attributes):
        name = DN_NAMES.get(attribute.oid.dotted_string, attribute.oid.dotted_string).lower()
        value = attribute.value if isinstance(attribute.value, str) else attribute.value.decode("latin-1")
        value = "".join("_" if ch in _UNSAFE_IN_FOLDER else ch for ch in value)
        parts.append(f"{name}={value}")
    name = ",".join(parts)
    return "_" if name in ("", ".", "..") else name


def npki_folder_path(certificate: x509.Certificate | bytes) -> str:
    """ "NPKI/CertbankCA/USER/<subject DN>" (relative, "/"-separated)."""
    return f"{NPKI_CA_FOLDER}/{npki_folder_name(certificate)}"


def save_key_pair(folder: Path | str, certificate_der: bytes, key_file_bytes: bytes) -> Path:
    """Write signCert.der and signPri.key into `folder` (created, key file 0600)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CERT_FILE).write_bytes(bytes(certificate_der))
    key_path = folder / KEY_FILE
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(bytes(key_file_bytes))
    return folder


def load_key_pair(folder: Path | str, password: str) -> KeyPair:
    """Read signCert.der + signPri.key from `folder` and open the key.

    Raises WrongPassword, KeyFileError (also when the key does not belong to
    the certificate) or FileNotFoundError.
    """
    folder = Path(folder)
    certificate_der = (folder / CERT_FILE).read_bytes()
    private_key, r = decrypt_key_file((folder / KEY_FILE).read_bytes(), password)
    try:
        certificate = x509.load_der_x509_certificate(certificate_der)
    except ValueError as error:
        raise KeyFileError(f"{CERT_FILE} is not a DER certificate: {error}") from None
    if certificate.public_key().public_numbers() != private_key.public_key().public_numbers():
        raise KeyFileError(f"{KEY_FILE} does not belong to {CERT_FILE}")
    return KeyPair(certificate_der=certificate_der, private_key=private_key, r=r)
