"""Field encryption and keyed digests: the one module that protects stored
personal data (DESIGN §2 allows this beside certificates/).

- RRNs are encrypted with AES-256-GCM under CERTBANK_FIELD_KEY; the
  associated data binds the ciphertext to its purpose, so a ciphertext
  copied into another column does not decrypt there.
- Lookups use HMAC-SHA256 under CERTBANK_INDEX_KEY: the same person is found
  across banks by the digest of the RRN, never by the plain number.
- A 4-digit account PIN has only 10,000 values; no stretching protects that
  from an offline guess. A keyed digest does: without the server key, a
  database dump says nothing about the PIN.
"""

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_VERSION = b"\x01"


def _key(name: str) -> bytes:
    value = getattr(settings, name)
    try:
        key = base64.urlsafe_b64decode(value)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{name} must be URL-safe base64.") from exc
    if len(key) != 32:
        raise ImproperlyConfigured(f"{name} must hold 32 bytes.")
    return key


def encrypt_field(plaintext: str, *, purpose: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key("CERTBANK_FIELD_KEY")).encrypt(nonce, plaintext.encode(), purpose.encode())
    return base64.urlsafe_b64encode(_VERSION + nonce + sealed).decode("ascii")


def decrypt_field(token: str, *, purpose: str) -> str:
    raw = base64.urlsafe_b64decode(token)
    if raw[:1] != _VERSION:
        raise ValueError("unknown field encryption version")
    nonce, sealed = raw[1:13], raw[13:]
    return AESGCM(_key("CERTBANK_FIELD_KEY")).decrypt(nonce, sealed, purpose.encode()).decode()


def keyed_digest(value: str, *, purpose: str) -> str:
    message = purpose.encode() + b"\x00" + value.encode()
    return hmac.new(_key("CERTBANK_INDEX_KEY"), message, hashlib.sha256).hexdigest()


def digests_match(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
