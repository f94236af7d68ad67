"""A database dump alone cannot unlock a 금융인증서 key (DESIGN.md "Cloud certificate").

The key is wrapped by the client (certificates/client/cloud.py, the same
construction as static/js/crypto/cloud.js) and stored through the real
issuance service. The test then takes only what the database holds and
shows that it opens neither with nor without a guessed PIN, nor with the
right PIN, unless the server-held secret (sealed under a key that is not in
the database) is used as well.
"""

import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.db import connection

from certificates import services
from certificates.challenges import challenge_create
from certificates.client import cloud as client
from certificates.models import Challenge, CloudKey
from tests.certificates.conftest import SESSION, sign, spki
from tests.verification import Purpose, verified

PIN = "482916"
DEVICE = "D" * 43


@pytest.fixture
def issued(test_ca, customer, rsa_keys):
    key, r = rsa_keys[1], os.urandom(20)
    setup = services.cloud_setup_new()
    grant = verified(customer, Purpose.ISSUE, session_key=SESSION, detail={"kind": "financial"})
    challenge = challenge_create(purpose=Challenge.Purpose.ISSUE, bank=customer.bank, session_key=SESSION, customer=customer)
    certificate = services.certificate_issue_financial(
        grant=grant,
        bank=customer.bank,
        session_key=SESSION,
        token=challenge.token,
        public_key_spki=spki(key),
        signature=sign(key, bytes(challenge.to_sign)),
        r=r,
        verifier=client.pin_verifier(PIN, setup.verifier_salt, setup.iterations),
        wrapped_key=client.wrap_key(key, r, PIN, setup.server_secret, setup.wrap_salt, setup.iterations),
        setup=setup,
        device_token=DEVICE,
    )
    return certificate, key, r


def dump(certificate) -> dict:
    """The cloud key's row as a database dump shows it (raw SQL, no model code)."""
    table = CloudKey._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT wrapped_key, wrap_salt, verifier_salt, verifier_digest, sealed_secret, iterations "
            f"FROM {table} WHERE certificate_id = %s",
            [certificate.pk],
        )
        row = cursor.fetchone()
    names = ["wrapped_key", "wrap_salt", "verifier_salt", "verifier_digest", "sealed_secret", "iterations"]
    return {name: bytes(value) if isinstance(value, memoryview) else value for name, value in zip(names, row, strict=True)}


def opens(row, pin, secret) -> bool:
    try:
        client.unwrap_key(row["wrapped_key"], pin, secret, row["wrap_salt"], row["iterations"])
    except client.CloudKeyError:
        return False
    return True


def test_the_dump_holds_no_usable_secret_and_no_pin(issued):
    certificate, key, _r = issued
    row = dump(certificate)
    # Everything a dump offers in place of the server secret fails, even with the right PIN.
    candidates = [
        bytes(32),
        row["sealed_secret"].encode()[:32],
        row["verifier_digest"].encode()[:32],
        bytes.fromhex(row["verifier_digest"]),
        row["verifier_salt"] * 2,
        row["wrap_salt"] * 2,
    ]
    for secret in candidates:
        assert not opens(row, PIN, secret)
    # No guessed PIN opens it without the secret either (a sample including the right one).
    for guess in ["000000", "123456", "482915", PIN, "999999", "900101"]:
        assert not opens(row, guess, bytes(32))
    # The stored PIN digest is keyed: the PIN's plain verifier is not in the dump,
    # so the dump offers nothing to test PIN guesses against.
    plain = client.pin_verifier(PIN, row["verifier_salt"], row["iterations"])
    assert plain.hex() != row["verifier_digest"]
    assert plain.hex() not in str(row)


def test_with_the_server_secret_only_the_right_pin_opens_it(issued):
    certificate, key, r = issued
    row = dump(certificate)
    # What only the running server can do: unseal the secret with its own key.
    secret = services.cloud_key_unlock(
        serial=certificate.serial,
        verifier=client.pin_verifier(PIN, row["verifier_salt"], row["iterations"]),
        device_token=DEVICE,
        bank=certificate.issuing_bank,
    ).server_secret
    assert not opens(row, "482915", secret)
    private_key, recovered_r = client.unwrap_key(row["wrapped_key"], PIN, secret, row["wrap_salt"], row["iterations"])
    assert recovered_r == r
    message = b"proof"
    signature = private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    key.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
