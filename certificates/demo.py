"""The demo customer's ready 공동인증서, in a known folder with a known password.

Issued through the same service a browser uses (issuance challenge, proof of
possession, R); the key pair is made here on the customer's side by the
Python client, exactly as the browser would, and written as NPKI key files.
"""

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

from certificates import services
from certificates.challenges import challenge_create
from certificates.client import npki
from certificates.client.protocol import sign_pkcs1
from certificates.models import Certificate, Challenge

DEMO_CERT_PASSWORD = "Gildong#2026!"
DEMO_CERT_LOGIN = ("901", "hong")


def demo_npki_root() -> Path:
    return Path(settings.DATA_DIR) / "demo-npki"


def seed_demo_certificate(customer, *, grant: str, session_key: str) -> tuple[Certificate, Path]:
    """Idempotent: reuse a valid certificate whose key files are on disk;
    else issue one, consuming `grant` (the customer's ISSUE verification,
    made by flows.demo through the same steps a person takes)."""
    root = demo_npki_root()
    current = demo_certificate_current(customer)
    if current is not None:
        return current, root / npki.npki_folder_path(bytes(current.der))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    r = os.urandom(20)
    challenge = challenge_create(purpose=Challenge.Purpose.ISSUE, bank=customer.bank, session_key=session_key, customer=customer)
    certificate = services.certificate_issue_joint(
        grant=grant,
        bank=customer.bank,
        session_key=session_key,
        token=challenge.token,
        public_key_spki=npki.public_key_spki(key),
        signature=sign_pkcs1(key, bytes(challenge.to_sign)),
        r=r,
    )
    folder = root / npki.npki_folder_path(bytes(certificate.der))
    npki.save_key_pair(folder, bytes(certificate.der), npki.encrypt_key_file(key, r, DEMO_CERT_PASSWORD))
    return certificate, folder


def demo_certificate_current(customer) -> Certificate | None:
    """The customer's valid 공동인증서 whose key files are on disk, if any."""
    current = Certificate.objects.current().filter(holder=customer, kind=Certificate.Kind.JOINT).first()
    if current is not None and (demo_npki_root() / npki.npki_folder_path(bytes(current.der)) / "signPri.key").exists():
        return current
    return None
