"""certificates.evidence: a signed transfer's .p7s, checked by the real openssl."""

import subprocess

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from certificates import ca
from certificates.evidence import EvidenceUnavailable, signed_data
from certificates.verify import pss_salt_length
from tests.certificates.conftest import sign

TEXT = "[Certbank] 누리은행 계좌이체\n금액: 50,000원 (오만원)\n요청 번호: abc".encode()


def openssl_verify(tmp_path, p7s: bytes):
    (tmp_path / "root.pem").write_bytes(ca.ca_root_certificate().public_bytes(serialization.Encoding.PEM))
    (tmp_path / "receipt.p7s").write_bytes(p7s)
    return subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "receipt.p7s",
            "-CAfile",
            "root.pem",
            "-purpose",
            "any",
            "-out",
            "signed.txt",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )


def test_openssl_verifies_the_p7s_and_outputs_the_signed_text(holder, tmp_path):
    p7s = signed_data(content=TEXT, signature=sign(holder.key, TEXT), certificate_der=holder.der)
    result = openssl_verify(tmp_path, p7s)
    assert result.returncode == 0, result.stderr
    assert "Verification successful" in result.stderr
    assert (tmp_path / "signed.txt").read_bytes() == TEXT


def test_a_modified_amount_fails_verification(holder, tmp_path):
    forged = TEXT.replace(b"50,000", b"90,000")
    p7s = signed_data(content=forged, signature=sign(holder.key, TEXT), certificate_der=holder.der)
    result = openssl_verify(tmp_path, p7s)
    assert result.returncode != 0
    assert "Verification failure" in result.stderr or "signature failure" in result.stderr


def test_p7s_is_der_that_openssl_can_print(holder, tmp_path):
    p7s = signed_data(content=TEXT, signature=sign(holder.key, TEXT), certificate_der=holder.der)
    (tmp_path / "r.p7s").write_bytes(p7s)
    result = subprocess.run(
        ["openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", "r.p7s"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "signedData" in result.stdout or "pkcs7-signedData" in result.stdout


def sign_pss(key, data: bytes, salt_length: int) -> bytes:
    return key.sign(data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt_length), hashes.SHA256())


# 32: the digest length (what WebCrypto callers usually pass); 222: the
# maximum for RSA-2048 (OpenSSL's and cryptography's default); 0 and 20: others.
@pytest.mark.parametrize("salt_length", [32, 222, 0, 20])
def test_a_pss_signature_makes_a_p7s_openssl_verifies_and_a_modified_amount_fails(holder, tmp_path, salt_length):
    signature = sign_pss(holder.key, TEXT, salt_length)
    assert pss_salt_length(certificate_der=holder.der, signature=signature, data=TEXT) == salt_length
    p7s = signed_data(content=TEXT, signature=signature, certificate_der=holder.der, scheme="pss")
    result = openssl_verify(tmp_path, p7s)
    assert result.returncode == 0, result.stderr
    assert "Verification successful" in result.stderr
    assert (tmp_path / "signed.txt").read_bytes() == TEXT

    forged = p7s.replace(b"50,000", b"90,000")
    assert forged != p7s
    result = openssl_verify(tmp_path, forged)
    assert result.returncode != 0


def test_a_pss_signature_over_other_bytes_gives_no_p7s(holder):
    signature = sign_pss(holder.key, TEXT.replace(b"50,000", b"90,000"), 32)
    assert pss_salt_length(certificate_der=holder.der, signature=signature, data=TEXT) is None
    with pytest.raises(EvidenceUnavailable):
        signed_data(content=TEXT, signature=signature, certificate_der=holder.der, scheme="pss")
    with pytest.raises(EvidenceUnavailable):
        signed_data(content=TEXT, signature=sign(holder.key, TEXT), certificate_der=holder.der, scheme="ecdsa")
