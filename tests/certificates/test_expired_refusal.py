"""An expired certificate is refused as expired (만료), also when it predates
the current CA certificate (issue 12 §3). The chain used to be built at a
time inside the leaf's validity; when the CA certificate was not yet valid
then, the answer was "신뢰할 수 없는 기관" (unknown CA)."""

import datetime

import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from certificates import ca
from certificates.exceptions import Refusal
from tests.certificates.conftest import issue_for
from tests.certificates.test_certificate_login import assert_refused, login
from tests.conftest import TEST_CA_PASSPHRASE, ca_in

pytestmark = pytest.mark.django_db

NOW = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
ISSUED = NOW - datetime.timedelta(days=400)  # a 1-year 공동인증서 from then expired 35 days ago


@pytest.fixture
def fresh_ca(settings, tmp_path):
    """A CA of this test's own: the test re-issues its CA certificate."""
    with ca_in(settings, tmp_path):
        yield tmp_path / "ca"


def recertify_issuing_ca(folder, *, not_before: datetime.datetime) -> x509.Certificate:
    """The issuing CA's certificate renewed by the root for the same key and
    name, valid from `not_before` (what a CA does when its certificate nears
    its end): everything it signed still verifies against the new one."""
    old = x509.load_pem_x509_certificate((folder / "issuing.pem").read_bytes())
    root = x509.load_pem_x509_certificate((folder / "root.pem").read_bytes())
    root_key = serialization.load_pem_private_key((folder / "root.key.pem").read_bytes(), password=TEST_CA_PASSPHRASE.encode())
    builder = (
        x509.CertificateBuilder()
        .subject_name(old.subject)
        .issuer_name(root.subject)
        .public_key(old.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(root.not_valid_after_utc)
    )
    for extension in old.extensions:
        builder = builder.add_extension(extension.value, critical=extension.critical)
    renewed = builder.sign(root_key, hashes.SHA256())
    (folder / "issuing.pem").write_bytes(renewed.public_bytes(serialization.Encoding.PEM))
    ca.ca_reset_cache()
    return renewed


def assert_refused_as_expired(response):
    assert_refused(response, Refusal.EXPIRED)
    assert "만료" in response.json()["error"]


def test_an_expired_certificate_that_predates_the_renewed_ca_certificate_is_refused_as_expired(
    client, fresh_ca, customer, rsa_keys, django_capture_on_commit_callbacks
):
    with time_machine.travel(ISSUED, tick=False), django_capture_on_commit_callbacks(execute=True):
        holder = issue_for(customer, rsa_keys[0])  # the CA is created now too, valid from ISSUED
    renewed = recertify_issuing_ca(fresh_ca, not_before=NOW - datetime.timedelta(days=1))
    assert renewed.not_valid_before_utc > holder.certificate.not_after  # no moment when both were valid
    assert_refused_as_expired(login(client, holder.der, holder.key))


def test_an_expired_certificate_older_than_the_ca_itself_is_refused_as_expired(
    client, fresh_ca, customer, rsa_keys, django_capture_on_commit_callbacks
):
    assert ca.ca_issuing_certificate().not_valid_before_utc >= NOW  # the CA is set up today (say after a restore)
    with time_machine.travel(ISSUED, tick=False), django_capture_on_commit_callbacks(execute=True):
        holder = issue_for(customer, rsa_keys[0])
    assert holder.certificate.not_after < ca.ca_issuing_certificate().not_valid_before_utc
    assert_refused_as_expired(login(client, holder.der, holder.key))


def test_the_same_certificate_inside_its_validity_still_logs_in_under_the_renewed_ca_certificate(
    client, fresh_ca, customer, rsa_keys, django_capture_on_commit_callbacks
):
    issued = NOW - datetime.timedelta(days=100)
    with time_machine.travel(issued, tick=False), django_capture_on_commit_callbacks(execute=True):
        holder = issue_for(customer, rsa_keys[0])
    recertify_issuing_ca(fresh_ca, not_before=NOW - datetime.timedelta(days=1))
    response = login(client, holder.der, holder.key)
    assert response.status_code == 200, response.content


def test_an_expired_certificate_from_another_key_is_still_an_unknown_ca(client, fresh_ca, customer, rsa_keys):
    ca.ca_issuing_certificate()
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "홍길동()09010000000001")]))
        .issuer_name(ca.ISSUING_SUBJECT)  # our issuing CA's name, another key
        .public_key(rsa_keys[1].public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(ISSUED)
        .not_valid_after(ISSUED + datetime.timedelta(days=365))
        .sign(impostor, hashes.SHA256())
    )
    der = leaf.public_bytes(serialization.Encoding.DER)
    assert_refused(login(client, der, rsa_keys[1]), Refusal.UNKNOWN_CA)
