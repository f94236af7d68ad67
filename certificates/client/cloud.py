"""금융인증서 (cloud certificate) keys for Python clients and tests.

The independent implementation of static/js/crypto/cloud.js (DESIGN.md
"Cloud certificate"); tests/crypto/test_cloud_js.py checks that each opens
what the other wraps. The server never runs this with a real PIN: it only
stores the verifier, the salts and the blob, and releases the secret after a
correct verifier. Server tests and the database-dump test use it as the
customer's browser would.

    verifier  = PBKDF2-HMAC-SHA256(UTF-8 PIN, verifier_salt, iterations, 32)
    pin_key   = PBKDF2-HMAC-SHA256(UTF-8 PIN, wrap_salt, iterations, 32)
    wrap_key  = HKDF-SHA256(pin_key || server_secret, salt=wrap_salt,
                            info=b"certbank cloud key wrap v1")  (AES-256-GCM)
    blob      = 0x01 || iv(12) || AES-GCM(wrap_key, iv, plaintext,
                                          aad=b"certbank cloud key v1")
    plaintext = PKCS#8 PrivateKeyInfo with R as the NPKI attribute
                1.2.410.200004.10.1.1.3 (as in signPri.key; npki.py)
"""

from __future__ import annotations

import datetime as dt
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from certificates.client.npki import private_key_info_with_r, split_private_key_info

__all__ = [
    "BLOB_VERSION",
    "R_LENGTH",
    "SALT_LENGTH",
    "SECRET_LENGTH",
    "WEAK_PIN_MESSAGES",
    "CloudKeyError",
    "check_pin",
    "is_weak_pin",
    "pin_verifier",
    "random_salt",
    "rewrap_key",
    "unwrap_key",
    "wrap_key",
]

BLOB_VERSION = 0x01
SALT_LENGTH = 16
SECRET_LENGTH = 32
R_LENGTH = 20
MAX_ITERATIONS = 10_000_000
IV_LENGTH = 12
TAG_LENGTH = 16
WRAP_INFO = b"certbank cloud key wrap v1"
BLOB_AAD = b"certbank cloud key v1"

WEAK_PIN_MESSAGES = {
    "format": "PIN은 숫자 6자리로 입력해 주세요.",
    "same": "같은 숫자만 반복한 PIN은 사용할 수 없습니다.",
    "sequence": "연속된 숫자(예: 123456, 987654)는 PIN으로 사용할 수 없습니다.",
    "pattern": "반복되는 숫자 묶음(예: 112233, 121212, 123123)은 PIN으로 사용할 수 없습니다.",
    "birth-date": "생년월일은 PIN으로 사용할 수 없습니다.",
}

_PIN_RE = re.compile(r"[0-9]{6}")


class CloudKeyError(ValueError):
    """The blob does not open: wrong PIN or server secret, tampered, or an unknown version."""

    def __init__(self, message: str = "금융인증서를 열 수 없습니다. PIN 또는 인증서 정보가 올바르지 않습니다.") -> None:
        super().__init__(message)


# ------------------------------------------------------------------ PIN rules


def _birth_date_digits(birth_date: dt.date | str | None) -> str | None:
    if birth_date is None or birth_date == "":
        return None
    if isinstance(birth_date, dt.date):
        return birth_date.strftime("%y%m%d")
    digits = re.sub(r"[^0-9]", "", str(birth_date))
    if len(digits) == 8:
        return digits[2:]
    return digits if len(digits) == 6 else None


def check_pin(pin: str, birth_date: dt.date | str | None = None) -> str | None:
    """Why a new PIN is refused, as a code ("format", "same", "sequence",
    "pattern", "birth-date"), or None. The rules of cloud.js checkPin()."""
    if not isinstance(pin, str) or not _PIN_RE.fullmatch(pin):
        return "format"
    d = [int(c) for c in pin]
    if len(set(d)) == 1:
        return "same"
    for step in (1, 9):
        if all(d[i] == (d[i - 1] + step) % 10 for i in range(1, 6)):
            return "sequence"
    halves = pin[:3] == pin[3:]
    pairs = d[0] == d[1] and d[2] == d[3] and d[4] == d[5]
    repeated_pair = pin == pin[:2] * 3
    if halves or pairs or repeated_pair:
        return "pattern"
    if _birth_date_digits(birth_date) == pin:
        return "birth-date"
    return None


def is_weak_pin(pin: str, birth_date: dt.date | str | None = None) -> str | None:
    """The Korean reason a new PIN is refused, or None."""
    code = check_pin(pin, birth_date)
    return WEAK_PIN_MESSAGES[code] if code else None


# ------------------------------------------------------------------ helpers


def random_salt() -> bytes:
    return os.urandom(SALT_LENGTH)


def _check_pin_format(pin: str) -> None:
    if not isinstance(pin, str) or not _PIN_RE.fullmatch(pin):
        raise ValueError("the PIN must be 6 ASCII digits")


def _check(*, pin: str, salt: bytes, iterations: int, server_secret: bytes | None = None) -> None:
    _check_pin_format(pin)
    if not isinstance(iterations, int) or not 1 <= iterations <= MAX_ITERATIONS:
        raise ValueError(f"iterations must be between 1 and {MAX_ITERATIONS}")
    if len(salt) != SALT_LENGTH:
        raise ValueError(f"the salt must be {SALT_LENGTH} bytes")
    if server_secret is not None and len(server_secret) != SECRET_LENGTH:
        raise ValueError(f"the server secret must be {SECRET_LENGTH} bytes")


def _pbkdf2(pin: str, salt: bytes, iterations: int) -> bytes:
    return PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=bytes(salt), iterations=iterations).derive(pin.encode("utf-8"))


def _aead(pin: str, server_secret: bytes, wrap_salt: bytes, iterations: int) -> AESGCM:
    _check(pin=pin, salt=wrap_salt, iterations=iterations, server_secret=server_secret)
    pin_key = _pbkdf2(pin, wrap_salt, iterations)
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=bytes(wrap_salt), info=WRAP_INFO).derive(pin_key + bytes(server_secret))
    return AESGCM(key)


def _seal(plaintext: bytes, pin: str, server_secret: bytes, wrap_salt: bytes, iterations: int) -> bytes:
    aead = _aead(pin, server_secret, wrap_salt, iterations)
    iv = os.urandom(IV_LENGTH)
    return bytes([BLOB_VERSION]) + iv + aead.encrypt(iv, plaintext, BLOB_AAD)


def _open(blob: bytes, pin: str, server_secret: bytes, wrap_salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    """(plain PKCS#8 without attributes, R) from a blob, or CloudKeyError."""
    aead = _aead(pin, server_secret, wrap_salt, iterations)
    blob = bytes(blob)
    if len(blob) < 1 + IV_LENGTH + TAG_LENGTH + 1 or blob[0] != BLOB_VERSION:
        raise CloudKeyError()
    try:
        plaintext = aead.decrypt(blob[1 : 1 + IV_LENGTH], blob[1 + IV_LENGTH :], BLOB_AAD)
    except InvalidTag:
        raise CloudKeyError() from None
    try:
        pkcs8, r = split_private_key_info(plaintext)
    except ValueError:
        raise CloudKeyError() from None
    if r is None or len(r) != R_LENGTH:
        raise CloudKeyError()
    return pkcs8, r


# ------------------------------------------------------------------ API


def pin_verifier(pin: str, verifier_salt: bytes, iterations: int) -> bytes:
    """What the browser sends to prove the PIN (32 bytes)."""
    _check(pin=pin, salt=verifier_salt, iterations=iterations)
    return _pbkdf2(pin, verifier_salt, iterations)


def wrap_key(
    private_key: rsa.RSAPrivateKey,
    r: bytes,
    pin: str,
    server_secret: bytes,
    wrap_salt: bytes,
    iterations: int,
) -> bytes:
    """The blob the server stores for `private_key` and R."""
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise TypeError("private_key must be an RSA private key")
    if len(r) != R_LENGTH:
        raise ValueError(f"R must be {R_LENGTH} bytes")
    return _seal(private_key_info_with_r(private_key, r), pin, server_secret, wrap_salt, iterations)


def unwrap_key(
    blob: bytes,
    pin: str,
    server_secret: bytes,
    wrap_salt: bytes,
    iterations: int,
) -> tuple[rsa.RSAPrivateKey, bytes]:
    """(private key, R) from a blob. Raises CloudKeyError when it does not open."""
    pkcs8, r = _open(blob, pin, server_secret, wrap_salt, iterations)
    private_key = serialization.load_der_private_key(pkcs8, password=None)
    if not isinstance(private_key, rsa.RSAPrivateKey):  # pragma: no cover - split_private_key_info allows RSA only
        raise CloudKeyError()
    return private_key, r


def rewrap_key(
    blob: bytes,
    old_pin: str,
    new_pin: str,
    server_secret: bytes,
    wrap_salt: bytes,
    new_wrap_salt: bytes,
    iterations: int,
) -> bytes:
    """The same key and R under a new PIN and wrap salt (PIN change)."""
    private_key, r = unwrap_key(blob, old_pin, server_secret, wrap_salt, iterations)
    return wrap_key(private_key, r, new_pin, server_secret, new_wrap_salt, iterations)
