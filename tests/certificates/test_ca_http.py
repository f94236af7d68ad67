"""The CA's public addresses as certificates carry them (issue 12 §3):

- the CPS URI of every certificate answers 200 with the CPS summary (policy,
  validity, key protection, revocation);
- AIA (OCSP, caIssuers) and the CRL distribution point are plain http, and a
  production-settings server answers them over plain http while every page
  redirects to https: `openssl ocsp` reports good, then revoked, and
  `openssl crl` reads the CRL fetched from the certificate's own address.
"""

import base64
import re
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import AuthorityInformationAccessOID

from certificates.models import Certificate
from tests.certificates.test_cloud import issue_cloud

OPENSSL = "/usr/bin/openssl"
CPS_SECTIONS = ("인증서 정책", "유효기간", "키 보호", "폐기")


def addresses(certificate: x509.Certificate) -> dict[str, str]:
    aia = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    (point,) = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    (policy,) = certificate.extensions.get_extension_for_class(x509.CertificatePolicies).value
    by_method = {item.access_method: item.access_location.value for item in aia}
    return {
        "ocsp": by_method[AuthorityInformationAccessOID.OCSP],
        "ca_issuers": by_method[AuthorityInformationAccessOID.CA_ISSUERS],
        "crl": point.full_name[0].value,
        "cps": next(qualifier for qualifier in policy.policy_qualifiers if isinstance(qualifier, str)),
    }


def assert_cps_page(html: str):
    for section in CPS_SECTIONS:
        assert section in html, section
    assert "2.25.215435328224649650932476748069735174964.1.1" in html  # the 공동인증서 policy OID
    assert "/ca/crl/issuing.crl" in html and "/ca/ocsp" in html


# --- Every issued certificate's CPS URI ---------------------------------------------------------


@pytest.mark.django_db
def test_the_cps_uri_of_every_issued_certificate_answers_with_the_cps_summary(
    client, holder, rsa_keys, make_customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        issue_cloud(make_customer(bank_code="902", login_id="gildong"), rsa_keys[1])
    issued = list(Certificate.objects.all())
    assert {certificate.kind for certificate in issued} == {"joint", "financial"}
    for record in issued:
        cps = addresses(x509.load_der_x509_certificate(bytes(record.der)))["cps"]
        response = client.get(urllib.parse.urlsplit(cps).path)
        assert response.status_code == 200, cps
        assert response["Content-Type"].startswith("text/html")
        assert_cps_page(response.content.decode())


def test_the_cps_page_is_public_and_in_korean(client, db, test_ca):
    response = client.get("/ca/cps")
    assert response.status_code == 200
    assert response["Content-Language"] == "ko"
    assert "인증업무준칙" in response.content.decode()


# --- A production-settings server over plain http ------------------------------------------------


@pytest.fixture(scope="module")
def demo_leaf(production) -> x509.Certificate:
    """홍길동's demo 공동인증서 that seed_demo issued on the production server."""
    (path,) = (production.data_dir / "demo-npki").rglob("signCert.der")
    return x509.load_der_x509_certificate(path.read_bytes())


@pytest.fixture(scope="module")
def pem_files(production, demo_leaf, tmp_path_factory) -> dict[str, Path]:
    """leaf.pem, and the CA certificates as a relying party gets them: over
    plain http, the issuing CA from the leaf's own caIssuers address."""
    folder = tmp_path_factory.mktemp("openssl")
    with urllib.request.urlopen(addresses(demo_leaf)["ca_issuers"], timeout=30) as response:  # noqa: S310 - http by design
        issuing = x509.load_der_x509_certificate(response.read())
    root = production.fetch("GET", "/ca/root.pem")
    assert root.status == 200
    files = {"leaf": folder / "leaf.pem", "issuing": folder / "issuing.pem", "root": folder / "root.pem"}
    files["leaf"].write_bytes(demo_leaf.public_bytes(serialization.Encoding.PEM))
    files["issuing"].write_bytes(issuing.public_bytes(serialization.Encoding.PEM))
    files["root"].write_bytes(root.body)
    return files


@pytest.mark.slow
def test_certificates_carry_http_status_addresses_under_an_https_public_url(production, demo_leaf):
    found = addresses(demo_leaf)
    assert found == {
        "ocsp": f"{production.http_url}/ca/ocsp",
        "ca_issuers": f"{production.http_url}/ca/issuing.der",
        "crl": f"{production.http_url}/ca/crl/issuing.crl",
        "cps": f"{production.public_url}/ca/cps",  # a page for people: https like every page
    }


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/", "/nuri/", "/nuri/login/", "/ca/", "/ca/cps", "/staff/login/", "/ca/ocspx"])
def test_pages_redirect_plain_http_to_https(production, path):
    answer = production.fetch("GET", path)
    assert answer.status == 301
    assert answer.header("Location") == f"{production.public_url}{path}"
    assert answer.set_cookies() == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/ca/crl/issuing.crl", "application/pkix-crl"),
        ("/ca/issuing.der", "application/pkix-cert"),
        ("/ca/root.der", "application/pkix-cert"),
        ("/ca/issuing.pem", "application/x-pem-file"),
        ("/ca/root.pem", "application/x-pem-file"),
    ],
)
def test_status_files_answer_over_plain_http_without_cookies(production, path, content_type):
    answer = production.fetch("GET", path)
    assert answer.status == 200
    assert answer.header("Content-Type") == content_type
    assert answer.set_cookies() == []  # secure-only cookies could not be set over http anyway
    assert answer.header("Strict-Transport-Security") is None  # HSTS is an https header


@pytest.mark.slow
@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_the_crl_and_ocsp_also_answer_over_https_for_hsts_upgraded_browsers(production, https):
    crl = production.fetch("GET", "/ca/crl/issuing.crl", https=https)
    assert crl.status == 200
    ocsp = production.fetch("POST", "/ca/ocsp", https=https, body=b"junk", headers={"Content-Type": "application/ocsp-request"})
    assert ocsp.status == 200 and ocsp.header("Content-Type") == "application/ocsp-response"
    assert ocsp.body == bytes.fromhex("30030a0101")  # malformedRequest, RFC 6960 §4.2.1
    assert ocsp.set_cookies() == [] and crl.set_cookies() == []
    assert (crl.header("Strict-Transport-Security") is not None) is https


def openssl(*args, check=True) -> str:
    result = subprocess.run([OPENSSL, *map(str, args)], capture_output=True, text=True, timeout=60, check=False)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def ocsp_status(files, url) -> str:
    return openssl(
        "ocsp", "-issuer", files["issuing"], "-cert", files["leaf"], "-url", url, "-CAfile", files["root"], "-resp_text"
    )


def fetch_crl(demo_leaf, folder: Path) -> str:
    """The CRL from the address in the certificate, over plain http, read by openssl."""
    url = addresses(demo_leaf)["crl"]
    assert url.startswith("http://")
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - http by design
        assert response.status == 200 and response.url == url  # no redirect
        (folder / "issuing.crl").write_bytes(response.read())
    return openssl("crl", "-inform", "DER", "-in", folder / "issuing.crl", "-CAfile", folder / "issuing.pem", "-noout", "-text")


def crl_serials(text: str) -> set[int]:
    return {int(found, 16) for found in re.findall(r"Serial Number: ([0-9A-Fa-f]+)", text)}


@pytest.mark.slow
def test_openssl_reports_good_then_revoked_over_plain_http(production, demo_leaf, pem_files):
    serial = format(demo_leaf.serial_number, "x")
    ocsp_url = addresses(demo_leaf)["ocsp"]
    assert ocsp_url.startswith("http://")

    answer = ocsp_status(pem_files, ocsp_url)
    assert "Response verify OK" in answer
    assert f"{pem_files['leaf']}: good" in answer
    crl = fetch_crl(demo_leaf, pem_files["leaf"].parent)
    assert "verify OK" in crl
    assert demo_leaf.serial_number not in crl_serials(crl)

    production.shell(
        "from certificates import services; from certificates.models import Certificate; "
        f"services.certificate_status_change(certificate=Certificate.objects.get(serial='{serial}'), "
        "to='revoked', reason='key_compromise')"
    )

    answer = ocsp_status(pem_files, ocsp_url)
    assert "Response verify OK" in answer
    assert f"{pem_files['leaf']}: revoked" in answer
    assert "Reason: keyCompromise" in answer
    crl = fetch_crl(demo_leaf, pem_files["leaf"].parent)
    assert "verify OK" in crl
    assert demo_leaf.serial_number in crl_serials(crl)
    assert "Key Compromise" in crl

    # The GET form of RFC 6960 Appendix A.1 over plain http too.
    request_der = openssl_request(pem_files)
    encoded = urllib.parse.quote(base64.b64encode(request_der).decode(), safe="")
    get = production.fetch("GET", f"/ca/ocsp/{encoded}")
    assert get.status == 200 and get.header("Content-Type") == "application/ocsp-response"
    assert len(get.body) > 100  # a signed answer, not an error status


def openssl_request(files) -> bytes:
    path = files["leaf"].parent / "request.der"
    openssl("ocsp", "-issuer", files["issuing"], "-cert", files["leaf"], "-no_nonce", "-reqout", path)
    return path.read_bytes()
