"""인증서 복사 for Python clients: the same commitment and sealing as static/js/crypto/copy.js
(protocol v2, certificates/services/copy.py: commit, reveal, compare, then seal).

    commitment = SHA-256(b"certbank-copy-commit-v1" || 0x00 || receiverPub)   (32 bytes)
    key = HKDF-SHA256(ikm = ECDH-P256(sender, receiver), salt = UTF-8(token),
                      info = b"certbank copy v1" || receiverPub || senderPub, length 32)
    blob = IV(12) || AES-256-GCM(key, IV, plaintext, aad = UTF-8(token))
    plaintext = 0x01 || u32 len || certificateDer || u32 len || keyFile
    confirmation code = SHA-256(receiverPub || senderPub)[0:4] big-endian mod 10^6, 6 digits

Public keys are raw uncompressed P-256 points (65 bytes). The key file is
carried as is (still encrypted under the certificate password). The sender
makes its key pair before it learns the receiver's key, and seals only for a
receiver key that matches the commitment it saw first.
"""

import hashlib
import hmac
import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INFO_LABEL = b"certbank copy v1"
COMMIT_PREFIX = b"certbank-copy-commit-v1\x00"
VERSION = 1


class CopyDecryptError(ValueError):
    """The blob does not open (tampered, wrong token, not for this receiver)."""


class CommitmentMismatch(ValueError):
    """The receiver key is not the one the session was opened with a commitment to."""


@dataclass
class KeyPair:
    private_key: ec.EllipticCurvePrivateKey
    public_key: bytes

    @property
    def commitment(self) -> bytes:
        return commitment(self.public_key)


# The two sides hold the same kind of key pair.
Receiver = Sender = KeyPair


def raw_public(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def create_receiver() -> KeyPair:
    key = ec.generate_private_key(ec.SECP256R1())
    return KeyPair(private_key=key, public_key=raw_public(key))


def create_sender() -> KeyPair:
    return create_receiver()


def commitment(public_key: bytes) -> bytes:
    return hashlib.sha256(COMMIT_PREFIX + bytes(public_key)).digest()


def commitment_matches(expected: bytes, public_key: bytes) -> bool:
    return hmac.compare_digest(bytes(expected), commitment(public_key))


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


def seal_for_receiver(
    *,
    sender: KeyPair,
    receiver_public_key: bytes,
    receiver_commitment: bytes,
    token: str,
    certificate_der: bytes,
    key_file: bytes,
) -> bytes:
    """The ciphertext for the receiver, sealed with the sender's key pair
    (whose public key the receiver already has). CommitmentMismatch when the
    receiver key is not the committed one: nothing is sealed then."""
    if not commitment_matches(receiver_commitment, receiver_public_key):
        raise CommitmentMismatch("the receiver key does not match its commitment")
    key = _aes_key(
        sender.private_key, receiver_public_key, token=token, receiver_pub=receiver_public_key, sender_pub=sender.public_key
    )
    iv = os.urandom(12)
    return iv + AESGCM(key).encrypt(iv, pack(certificate_der, key_file), token.encode())


def open_from_sender(*, receiver: KeyPair, sender_public_key: bytes, token: str, ciphertext: bytes) -> tuple[bytes, bytes]:
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
