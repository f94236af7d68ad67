"""Independent NPKI tools accept what Certbank issues (no browser).

A certificate is issued through the service path the browser uses, its
signPri.key written by certificates.client.npki (byte-compatible with the
browser's npki.js, see tests/crypto/test_npki.py). Then:

- the real `openssl pkcs8` opens the key file and finds the certified key;
- pypinksign 0.5.4, a client Certbank did not write, opens the key file,
  recovers R (which with the customer's RRN gives the certificate's VID) and
  logs in over real HTTP against a live server with its own signature.

`pinksign_login` and `assert_vid_binds` are also used by the browser tests on
the files Chromium downloaded.
"""

import base64
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pypinksign import PinkSign

from audit.models import AuditEvent
from certificates import vid
from certificates.client.npki import encrypt_key_file
from certificates.client.protocol import Answer, CertbankClient
from tests.certificates.conftest import issue_for

pytestmark = pytest.mark.django_db(transaction=True)

KEY_PASSWORD = "Cert#pass2026"
RRN_DIGITS = "9001011234568"  # tests.conftest make_customer's 900101-1234568


def pinksign_open(certificate_der: bytes, key_file: bytes, password: str) -> PinkSign:
    """pypinksign's view of a signCert.der + signPri.key pair."""
    # pypinksign needs the certificate first, then the key with a bytes password.
    signer = PinkSign(pubkey_data=certificate_der)
    signer.load_prikey(prikey_data=key_file, prikey_password=password.encode())
    return signer


def pinksign_r(signer: PinkSign) -> bytes:
    """R as pypinksign recovered it from the PKCS#8 attribute (a pyasn1 BIT STRING)."""
    raw = signer._rand_num
    return raw.asOctets() if hasattr(raw, "asOctets") else bytes(raw)


def pinksign_login(base_url: str, signer: PinkSign, certificate_der: bytes) -> tuple[CertbankClient, Answer]:
    """A fresh HTTP session logs in at 누리은행 with a signature made by pypinksign."""
    client = CertbankClient(base_url, "nuri")
    token, to_sign = client.challenge("login")
    signature = signer.sign(to_sign)  # RSASSA-PKCS1-v1_5 with SHA-256, pypinksign's default
    answer = client.post(
        "login/certificate/",
        {
            "challenge": token,
            "certificate": base64.b64encode(certificate_der).decode("ascii"),
            "signature": base64.b64encode(signature).decode("ascii"),
        },
    )
    return client, answer


def assert_vid_binds(certificate_der: bytes, r: bytes, rrn_digits: str = RRN_DIGITS, name: str = "홍길동") -> None:
    """The certificate's VID is SHA256(SHA256(RRN, R)) for this R and RRN, and no other RRN."""
    certificate = x509.load_der_x509_certificate(certificate_der)
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    (other_name,) = san.get_values_for_type(x509.OtherName)
    assert other_name.type_id.dotted_string == vid.NPKI_IDENTIFY_DATA_OID
    real_name, cert_vid = vid.identify_data_parse(other_name.value)
    assert real_name == name
    assert vid.vid_matches(cert_vid, rrn_digits, r)
    assert not vid.vid_matches(cert_vid, "9203152345674", r)


def assert_logged_in(client: CertbankClient, answer: Answer) -> None:
    assert answer.status == 200, answer.text[:500]
    assert answer.json() == {"redirect": "/nuri/accounts/"}
    accounts = client.get("accounts/")
    assert accounts.status == 200
    assert accounts.url.endswith("/nuri/accounts/"), accounts.url  # not sent to the login page
    assert "1,000,000원" in accounts.text


@pytest.fixture
def issued(test_ca, live_server, make_customer, rsa_keys):
    """홍길동's certificate and the signPri.key a browser would have written (600,000 iterations)."""
    holder = issue_for(make_customer(), rsa_keys[0])
    return holder, encrypt_key_file(holder.key, holder.r, KEY_PASSWORD)


def openssl_pkcs8(path, password: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            "openssl", "pkcs8", "-inform", "DER", "-in", str(path), "-passin", f"pass:{password}",
            "-provider", "legacy", "-provider", "default", "-outform", "DER",
        ],
        capture_output=True,
        check=False,
    )  # fmt: skip


def test_openssl_opens_the_key_file_as_the_certified_key(issued, tmp_path):
    holder, key_file = issued
    path = tmp_path / "signPri.key"
    path.write_bytes(key_file)

    result = openssl_pkcs8(path, KEY_PASSWORD)
    assert result.returncode == 0, result.stderr.decode()
    opened = serialization.load_der_private_key(result.stdout, password=None)
    certified = x509.load_der_x509_certificate(holder.der).public_key()
    assert opened.public_key().public_numbers() == certified.public_numbers()

    wrong = openssl_pkcs8(path, KEY_PASSWORD + "x")
    assert wrong.returncode != 0


def test_pypinksign_recovers_r_and_logs_in_over_http(issued, live_server):
    holder, key_file = issued
    signer = pinksign_open(holder.der, key_file, KEY_PASSWORD)

    # R travels with the key; with the RRN it reproduces the VID in the certificate.
    r = pinksign_r(signer)
    assert r == holder.r
    assert_vid_binds(holder.der, r)

    client, answer = pinksign_login(live_server.url, signer, holder.der)
    assert_logged_in(client, answer)
    assert AuditEvent.objects.filter(action="certificate_login_succeeded", customer=holder.customer).count() == 1


def test_a_pypinksign_signature_for_another_certificate_is_refused(issued, live_server, rsa_keys, make_customer):
    """The server checks the signature against the presented certificate, whoever made it."""
    holder, _ = issued
    other = issue_for(make_customer(login_id="kim", name="김누리", rrn="950505-1234561", phone="01055501234"), rsa_keys[1])
    # Kim's key signs, but Hong's certificate is presented.
    signer = pinksign_open(other.der, encrypt_key_file(other.key, other.r, KEY_PASSWORD, iterations=2048), KEY_PASSWORD)
    client, answer = pinksign_login(live_server.url, signer, holder.der)
    assert answer.status == 403
    assert answer.json()["code"] == "bad_signature"
    assert client.get("accounts/").url.endswith("/nuri/login/?next=%2Fnuri%2Faccounts%2F")
