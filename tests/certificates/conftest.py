"""Fixtures for certificate tests: one CA per test session, and customers who
hold a 공동인증서 issued through the same service path a browser uses."""

import base64
import datetime
import os
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from certificates import services
from certificates.challenges import challenge_create
from certificates.models import Certificate, Challenge
from tests.verification import Purpose, verified

SESSION = "test-session-key-0001"


@pytest.fixture(scope="session")
def rsa_keys():
    """A few RSA-2048 keys generated once (key generation is the slow part)."""
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)]


def spki(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def sign(key, data: bytes) -> bytes:
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


@dataclass
class Holder:
    customer: object
    certificate: Certificate
    key: rsa.RSAPrivateKey
    r: bytes

    @property
    def der(self) -> bytes:
        return bytes(self.certificate.der)


def issue_for(customer, key, *, session_key=SESSION, r=None, reason="new", grant=None) -> Holder:
    """Issue a 공동인증서 as the browser would: verification, challenge, proof of possession, R."""
    r = r or os.urandom(20)
    grant = grant or verified(customer, Purpose.ISSUE, session_key=session_key, detail={"kind": "joint", "reason": reason})
    challenge = challenge_create(purpose=Challenge.Purpose.ISSUE, bank=customer.bank, session_key=session_key, customer=customer)
    certificate = services.certificate_issue_joint(
        grant=grant,
        bank=customer.bank,
        session_key=session_key,
        token=challenge.token,
        public_key_spki=spki(key),
        signature=sign(key, bytes(challenge.to_sign)),
        r=r,
    )
    return Holder(customer=customer, certificate=certificate, key=key, r=r)


@pytest.fixture
def holder(test_ca, customer, rsa_keys, django_capture_on_commit_callbacks):
    """홍길동 of 누리은행 with a freshly issued 공동인증서."""
    with django_capture_on_commit_callbacks(execute=True):
        return issue_for(customer, rsa_keys[0])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def utc(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=datetime.UTC)
