"""The demo CA: creation, storage, and the personal certificate profile."""

import datetime as dt
import os
import stat
import subprocess
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.verification import PolicyBuilder, Store

from certificates import ca, vid

PASSPHRASE = "test-ca-passphrase"
RRN = "9001011234568"
R = bytes(range(1, 21))
BASE_URL = "https://bank.example"


@pytest.fixture
def ca_dir(settings, tmp_path):
    """An empty DATA_DIR for the CA; 2048-bit CA keys to keep tests quick."""
    settings.DATA_DIR = tmp_path
    settings.CERTBANK_CA_PASSPHRASE = PASSPHRASE
    settings.CERTBANK_CA_KEY_BITS = 2048
    ca.ca_reset_cache()
    yield tmp_path / "ca"
    ca.ca_reset_cache()


def _spki(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="module")
def client_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _issue(bank, key, *, kind="joint", not_before=None, serial_digits="1234567890"):
    return ca.certificate_issue(
        public_key_der=_spki(key),
        bank=bank,
        real_name="홍길동",
        vid=vid.vid_compute(RRN, R),
        kind=kind,
        serial_digits=serial_digits,
        not_before=not_before or dt.datetime.now(dt.UTC),
        base_url=BASE_URL,
    )


def test_ca_is_created_once_and_reused(ca_dir):
    root = ca.ca_root_certificate()
    issuing = ca.ca_issuing_certificate()
    files = {name: (ca_dir / name).read_bytes() for name in ("root.pem", "root.key.pem", "issuing.pem", "issuing.key.pem")}

    ca.ca_reset_cache()
    assert ca.ca_root_certificate() == root
    assert ca.ca_issuing_certificate() == issuing
    assert {name: (ca_dir / name).read_bytes() for name in files} == files


def test_hierarchy_profile(ca_dir):
    root = ca.ca_root_certificate()
    issuing = ca.ca_issuing_certificate()
    assert root.subject.rfc4514_string() == "CN=Certbank Demo Root CA,O=Certbank,C=KR"
    assert issuing.subject.rfc4514_string() == "CN=CertbankCA Class 1,OU=AccreditedCA,O=CertbankCA,C=KR"
    assert issuing.issuer == root.subject
    root_bc = root.extensions.get_extension_for_class(x509.BasicConstraints)
    assert root_bc.critical and root_bc.value.ca
    issuing_bc = issuing.extensions.get_extension_for_class(x509.BasicConstraints)
    assert issuing_bc.critical and issuing_bc.value.ca and issuing_bc.value.path_length == 0
    for certificate in (root, issuing):
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
        assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    aki = issuing.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert (root.not_valid_after_utc - root.not_valid_before_utc).days in (7304, 7305)
    assert (issuing.not_valid_after_utc - issuing.not_valid_before_utc).days in (3652, 3653)


def test_ca_key_size_defaults_to_3072(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.CERTBANK_CA_PASSPHRASE = PASSPHRASE
    assert settings.CERTBANK_CA_KEY_BITS == 3072
    ca.ca_reset_cache()
    try:
        assert ca.ca_root_certificate().public_key().key_size == 3072
        assert ca.ca_issuing_certificate().public_key().key_size == 3072
    finally:
        ca.ca_reset_cache()


def test_keys_are_encrypted_and_files_are_private(ca_dir):
    ca.ca_root_certificate()
    assert stat.S_IMODE(os.stat(ca_dir).st_mode) == 0o700
    for name in ("root.key.pem", "issuing.key.pem"):
        path = ca_dir / name
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        data = path.read_bytes()
        assert data.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        with pytest.raises(TypeError):
            serialization.load_pem_private_key(data, password=None)
        with pytest.raises(ValueError):
            serialization.load_pem_private_key(data, password=b"wrong")
        assert isinstance(serialization.load_pem_private_key(data, password=PASSPHRASE.encode()), rsa.RSAPrivateKey)


def test_missing_passphrase_is_refused(ca_dir, settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.CERTBANK_CA_PASSPHRASE = ""
    with pytest.raises(ImproperlyConfigured):
        ca.ca_root_certificate()


def test_concurrent_first_use_creates_one_ca(ca_dir):
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(ca.ca_root_certificate())
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 2 and results[0] == results[1]
    on_disk = x509.load_pem_x509_certificate((ca_dir / "root.pem").read_bytes())
    assert on_disk == results[0]
    issuing = x509.load_pem_x509_certificate((ca_dir / "issuing.pem").read_bytes())
    assert issuing.issuer == on_disk.subject
    issuing.verify_directly_issued_by(on_disk)


def test_issued_certificate_profile(ca_dir, nuri, client_key):
    not_before = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
    certificate = _issue(nuri, client_key, not_before=not_before)

    assert certificate.subject.rfc4514_string() == "CN=홍길동()09011234567890,OU=NURI,OU=personal4IB,O=CertbankCA,C=KR"
    assert certificate.issuer == ca.ca_issuing_certificate().subject
    assert 0 < certificate.serial_number < 2**128
    assert certificate.not_valid_before_utc == not_before
    assert certificate.not_valid_after_utc == dt.datetime(2027, 3, 1, 9, 30, tzinfo=dt.UTC)
    assert certificate.signature_hash_algorithm.name == "sha256"

    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign

    policies = certificate.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [policy.policy_identifier for policy in policies] == [ca.POLICY_OIDS["joint"]]
    qualifiers = policies[0].policy_qualifiers
    assert qualifiers[0] == f"{BASE_URL}/ca/cps"
    assert qualifiers[1].explicit_text == "이 인증서는 Certbank 데모용입니다"

    (other_name,) = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert other_name.type_id.dotted_string == "1.2.410.200004.10.1.1"
    assert vid.identify_data_parse(other_name.value) == ("홍길동", vid.vid_compute(RRN, R))

    aki = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    issuing_ski = ca.ca_issuing_certificate().extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == issuing_ski.digest
    ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(client_key.public_key())


def test_serials_are_random(ca_dir, nuri, client_key):
    serials = {_issue(nuri, client_key).serial_number for _ in range(4)}
    assert len(serials) == 4
    assert max(serial.bit_length() for serial in serials) > 100


def test_financial_certificate_is_valid_three_years(ca_dir, nuri, client_key):
    not_before = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    certificate = _issue(nuri, client_key, kind="financial", not_before=not_before)
    assert certificate.subject.rfc4514_string() == "CN=홍길동()09011234567890,OU=NURI,OU=personalF,O=CertbankCA,C=KR"
    assert certificate.not_valid_after_utc == dt.datetime(2029, 3, 1, tzinfo=dt.UTC)
    policies = certificate.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert policies[0].policy_identifier == ca.POLICY_OIDS["financial"]
    assert ca.POLICY_OIDS["joint"] != ca.POLICY_OIDS["financial"]


def test_other_bank_goes_into_dn(ca_dir, garam, client_key):
    certificate = _issue(garam, client_key, serial_digits="42")
    assert certificate.subject.rfc4514_string() == "CN=홍길동()090242,OU=GARAM,OU=personal4IB,O=CertbankCA,C=KR"


def test_chain_verifies_with_cryptography(ca_dir, nuri, client_key):
    certificate = _issue(nuri, client_key)
    verifier = (
        PolicyBuilder()
        .store(Store([ca.ca_root_certificate()]))
        .time(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
        .build_client_verifier()
    )
    verified = verifier.verify(certificate, [ca.ca_issuing_certificate()])
    assert verified.chain[0] == certificate
    assert verified.chain[-1] == ca.ca_root_certificate()


def test_chain_verifies_with_openssl(ca_dir, nuri, client_key, tmp_path):
    certificate = _issue(nuri, client_key)
    cert_path = tmp_path / "cert.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    result = subprocess.run(
        ["/usr/bin/openssl", "verify", "-CAfile", ca_dir / "root.pem", "-untrusted", ca_dir / "issuing.pem", cert_path],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(": OK")

    text = subprocess.run(
        ["/usr/bin/openssl", "x509", "-in", cert_path, "-text", "-noout"], capture_output=True, text=True, check=True
    ).stdout
    assert "Digital Signature, Non Repudiation" in text
    assert ca.POLICY_OIDS["joint"].dotted_string in text
    # Status addresses are plain http even under an https public URL (RFC 5280 §8); the CPS page is not.
    assert "OCSP - URI:http://bank.example/ca/ocsp" in text
    assert "CA Issuers - URI:http://bank.example/ca/issuing.der" in text
    assert "URI:http://bank.example/ca/crl/issuing.crl" in text
    assert f"CPS: {BASE_URL}/ca/cps" in text
    assert "sha256WithRSAEncryption" in text


def test_small_rsa_key_is_refused(ca_dir, nuri):
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ValueError, match="1024 bits"):
        _issue(nuri, small)


def test_ec_key_is_refused(ca_dir, nuri):
    with pytest.raises(ValueError, match="only RSA"):
        _issue(nuri, ec.generate_private_key(ec.SECP256R1()))


def test_garbage_key_and_bad_arguments_are_refused(ca_dir, nuri, client_key):
    with pytest.raises(ValueError):
        ca.certificate_issue(
            public_key_der=b"not a key",
            bank=nuri,
            real_name="홍길동",
            vid=bytes(32),
            kind="joint",
            serial_digits="1",
            not_before=dt.datetime.now(dt.UTC),
            base_url=BASE_URL,
        )
    with pytest.raises(ValueError, match="kind"):
        _issue(nuri, client_key, kind="corporate")
    with pytest.raises(ValueError, match="serial"):
        _issue(nuri, client_key, serial_digits="12a")
    with pytest.raises(ValueError, match="timezone"):
        _issue(nuri, client_key, not_before=dt.datetime(2026, 1, 1))


def test_download_views(ca_dir, client, db):
    root = ca.ca_root_certificate()
    issuing = ca.ca_issuing_certificate()
    expected = {
        "/ca/root.der": (root.public_bytes(serialization.Encoding.DER), "application/pkix-cert"),
        "/ca/root.pem": (root.public_bytes(serialization.Encoding.PEM), "application/x-pem-file"),
        "/ca/issuing.der": (issuing.public_bytes(serialization.Encoding.DER), "application/pkix-cert"),
        "/ca/issuing.pem": (issuing.public_bytes(serialization.Encoding.PEM), "application/x-pem-file"),
    }
    for url, (body, content_type) in expected.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.content == body
        assert response["Content-Type"] == content_type
        assert response["Content-Disposition"].startswith("attachment;")
    assert x509.load_der_x509_certificate(client.get("/ca/root.der").content) == root


def test_ca_index_page(ca_dir, client, db):
    response = client.get("/ca/")
    assert response.status_code == 200
    page = response.content.decode()
    for url in ("/ca/root.der", "/ca/root.pem", "/ca/issuing.der", "/ca/issuing.pem"):
        assert f'href="{url}"' in page
    assert client.post("/ca/root.der").status_code == 405
