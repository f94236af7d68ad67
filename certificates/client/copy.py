"""인증서 복사 for Python clients: the same sealing as static/js/crypto/copy.js.

    key = HKDF-SHA256(ikm = ECDH-P256(sender, receiver), salt = UTF-8(token),
                      info = b"certbank copy v1" || receiverPub || senderPub, length 32)
    blob = IV(12) || AES-256-GCM(key, IV, plaintext, aad = UTF-8(token))
    plaintext = 0x01 || u32 len || certificateDer || u32 len || keyFile
    confirmation code = SHA-256(receiverPub || senderPub)[0:4] big-endian mod 10^6, 6 digits

Public keys are raw uncompressed P-256 points (65 bytes). The key file is
carried as is (still encrypted under the certificate password).
"""

import hashlib
import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INFO_LABEL = b"certbank copy v1"
VERSION = 1


class CopyDecryptError(ValueError):
    """The blob does not open (tampered, wrong token, not for this receiver)."""


@dataclass
class Receiver:
    private_key: ec.EllipticCurvePrivateKey
    public_key: bytes


def raw_public(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def create_receiver() -> Receiver:
    key = ec.generate_private_key(ec.SECP256R1())
    return Receiver(private_key=key, public_key=raw_public(key))


def _aes_key(private_key, peer_raw: bytes, *, token: str, receiver_pub: bytes, sender_pub: bytes) -> bytes:
    peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), peer_raw)
    shared = private_key.exchange(ec.ECDH(), peer)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=token.encode(), info=INFO_LABEL + receiver_pub + sender_pub).derive(
        shared
    )


def pack(certificate_der: bytes, key_file: bytes) -> bytes:
    return (
        bytes([VERSION]) + struct.pack(">I", len(certificate_der)) + certificate_der + struct.pack(">I", len(key_file)) + key_file
    )


def unpack(plain: bytes) -> tuple[bytes, bytes]:
    if len(plain) < 9 or plain[0] != VERSION:
        raise CopyDecryptError("bad version")
    (cert_len,) = struct.unpack(">I", plain[1:5])
    key_at = 5 + cert_len
    if key_at + 4 > len(plain):
        raise CopyDecryptError("truncated")
    (key_len,) = struct.unpack(">I", plain[key_at : key_at + 4])
    if key_at + 4 + key_len != len(plain):
        raise CopyDecryptError("bad length")
    return plain[5:key_at], plain[key_at + 4 :]


def seal_for_receiver(*, receiver_public_key: bytes, token: str, certificate_der: bytes, key_file: bytes) -> tuple[bytes, bytes]:
    """(sender_public_key, ciphertext)."""
    sender = ec.generate_private_key(ec.SECP256R1())
    sender_pub = raw_public(sender)
    key = _aes_key(sender, receiver_public_key, token=token, receiver_pub=receiver_public_key, sender_pub=sender_pub)
    iv = os.urandom(12)
    return sender_pub, iv + AESGCM(key).encrypt(iv, pack(certificate_der, key_file), token.encode())


def open_from_sender(*, receiver: Receiver, sender_public_key: bytes, token: str, ciphertext: bytes) -> tuple[bytes, bytes]:
    """(certificate_der, key_file), or CopyDecryptError."""
    if len(ciphertext) < 28:
        raise CopyDecryptError("too short")
    key = _aes_key(
        receiver.private_key, sender_public_key, token=token, receiver_pub=receiver.public_key, sender_pub=sender_public_key
    )
    try:
        plain = AESGCM(key).decrypt(ciphertext[:12], ciphertext[12:], token.encode())
    except InvalidTag:
        raise CopyDecryptError("tag") from None
    return unpack(plain)


def confirmation_code(receiver_public_key: bytes, sender_public_key: bytes) -> str:
    digest = hashlib.sha256(receiver_public_key + sender_public_key).digest()
    return f"{int.from_bytes(digest[:4], 'big') % 1_000_000:06d}"
