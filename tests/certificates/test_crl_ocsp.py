"""Revocation status: the CRL (RFC 5280 §5) and the OCSP responder (RFC 6960),
checked with cryptography and with the real openssl CLI."""

import base64
import datetime as dt
import subprocess
import urllib.parse
from io import StringIO

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID
from django.core.management import call_command

from certificates import ca, services
from certificates.models import CrlPublication
from tests.certificates.conftest import issue_for

OPENSSL = "/usr/bin/openssl"
OTHER_CUSTOMERS = {
    "kim": {"login_id": "kim", "name": "김누리", "rrn": "950505-1234561", "phone": "01055501234"},
    "younghee": {"login_id": "younghee", "name": "김영희", "rrn": "920315-2345674", "phone": "01023456789"},
}


# --- helpers --------------------------------------------------------------------


@pytest.fixture
def holders(test_ca, make_customer, rsa_keys):
    """Three customers of 누리은행, each with one 공동인증서: {"hong", "kim", "younghee"}."""
    result = {"hong": issue_for(make_customer(), rsa_keys[0])}
    for index, (name, fields) in enumerate(OTHER_CUSTOMERS.items(), start=1):
        result[name] = issue_for(make_customer(**fields), rsa_keys[index])
    return result


def change(holder, to, reason=""):
    holder.certificate = services.certificate_status_change(certificate=holder.certificate, to=to, reason=reason)
    return holder.certificate


def serial_of(holder) -> int:
    return int(holder.certificate.serial, 16)


def x509_of(holder) -> x509.Certificate:
    return x509.load_der_x509_certificate(holder.der)


def pem_file(path, *certificates) -> str:
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates))
    return str(path)


def openssl(*args) -> subprocess.CompletedProcess:
    return subprocess.run([OPENSSL, *map(str, args)], capture_output=True, text=True, timeout=30)


def ocsp_request(certificate: x509.Certificate, issuer: x509.Certificate, algorithm=None, nonce: bytes | None = None) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, algorithm or hashes.SHA1())
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def post_ocsp(client, der: bytes):
    response = client.post("/ca/ocsp", data=der, content_type="application/ocsp-request")
    assert response.status_code == 200  # RFC 6960 A.1: OCSP errors travel in a 200 too
    assert response["Content-Type"] == "application/ocsp-response"
    return ocsp.load_der_ocsp_response(response.content)


def assert_signed_by_issuing_ca(answer: ocsp.OCSPResponse) -> None:
    issuing = ca.ca_issuing_certificate()
    issuing.public_key().verify(answer.signature, answer.tbs_response_bytes, padding.PKCS1v15(), answer.signature_hash_algorithm)
    ski = issuing.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert answer.responder_key_hash == ski
    assert answer.certificates == []  # the CA signs itself: no responder certificate to send


# --- CRL --------------------------------------------------------------------------


def test_crl_lists_revoked_and_suspended_certificates_with_reasons_and_dates(holders):
    revoked = change(holders["hong"], "revoked", "key_compromise")
    suspended = change(holders["kim"], "suspended")

    publication = ca.crl_publish()

    crl = x509.load_der_x509_crl(bytes(publication.der))
    issuing = ca.ca_issuing_certificate()
    assert crl.is_signature_valid(issuing.public_key())
    assert crl.issuer == issuing.subject
    assert publication.entries == len(crl) == 2
    entry = crl.get_revoked_certificate_by_serial_number(serial_of(holders["hong"]))
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise
    assert entry.revocation_date_utc == revoked.revoked_at.replace(microsecond=0)
    entry = crl.get_revoked_certificate_by_serial_number(serial_of(holders["kim"]))
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.certificate_hold
    assert entry.revocation_date_utc == suspended.status_changed_at.replace(microsecond=0)
    assert crl.get_revoked_certificate_by_serial_number(serial_of(holders["younghee"])) is None
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == publication.number
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == issuing.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert crl.last_update_utc == publication.this_update
    assert crl.next_update_utc - crl.last_update_utc == dt.timedelta(hours=24)


def test_crl_number_grows_with_each_publication(test_ca, db):
    numbers = [ca.crl_publish().number for _ in range(3)]
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]
    latest = x509.load_der_x509_crl(bytes(CrlPublication.objects.get(number=numbers[-1]).der))
    assert latest.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == numbers[-1]


def test_unspecified_reason_is_left_out_of_the_entry(holders):
    # RFC 5280 §5.3.1: reasonCode SHOULD be absent rather than unspecified.
    change(holders["hong"], "revoked", "unspecified")
    crl = x509.load_der_x509_crl(bytes(ca.crl_publish().der))
    entry = crl.get_revoked_certificate_by_serial_number(serial_of(holders["hong"]))
    with pytest.raises(x509.ExtensionNotFound):
        entry.extensions.get_extension_for_class(x509.CRLReason)


def test_restored_certificate_leaves_the_crl(holders):
    change(holders["kim"], "suspended")
    assert ca.crl_publish().entries == 1
    change(holders["kim"], "valid")
    assert ca.crl_publish().entries == 0


def test_expired_revoked_certificate_stays_on_one_crl_after_expiry_then_leaves(holders):
    # RFC 5280 §3.3: not removed before it appeared on one CRL issued after expiry.
    change(holders["hong"], "revoked", "superseded")
    not_after = holders["hong"].certificate.not_after
    ca.crl_publish()
    after_expiry = ca.crl_publish(now=not_after + dt.timedelta(days=1))
    assert after_expiry.entries == 1
    assert ca.crl_publish(now=not_after + dt.timedelta(days=2)).entries == 0


def test_crl_verifies_and_reads_with_openssl(holders, tmp_path):
    change(holders["hong"], "revoked", "key_compromise")
    change(holders["kim"], "suspended")
    publication = ca.crl_publish()
    crl_path = tmp_path / "crl.der"
    crl_path.write_bytes(bytes(publication.der))
    chain = pem_file(tmp_path / "chain.pem", ca.ca_root_certificate(), ca.ca_issuing_certificate())

    verified = openssl("crl", "-inform", "DER", "-in", crl_path, "-CAfile", chain, "-noout")
    assert verified.returncode == 0, verified.stderr
    assert "verify OK" in verified.stderr

    text = openssl("crl", "-inform", "DER", "-in", crl_path, "-text", "-noout")
    assert text.returncode == 0, text.stderr
    assert "Key Compromise" in text.stdout
    assert "Certificate Hold" in text.stdout
    assert f"X509v3 CRL Number: \n                {publication.number}\n" in text.stdout
    assert f"Serial Number: {holders['hong'].certificate.serial.upper():0>32}" in text.stdout


def test_crl_is_served_at_the_address_written_into_certificates(holders, client):
    change(holders["hong"], "revoked", "key_compromise")
    distribution = x509_of(holders["hong"]).extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    address = urllib.parse.urlsplit(distribution[0].full_name[0].value).path
    assert address == "/ca/crl/issuing.crl"

    response = client.get(address)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pkix-crl"
    max_age = int(response["Cache-Control"].split("max-age=")[1].split(",")[0])
    assert 23 * 3600 < max_age <= 24 * 3600
    crl = x509.load_der_x509_crl(response.content)
    assert crl.get_revoked_certificate_by_serial_number(serial_of(holders["hong"])) is not None
    assert response.content == bytes(CrlPublication.objects.order_by("-number").first().der)


def test_current_crl_is_reused_while_fresh_and_replaced_when_due(test_ca, db):
    start = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    first = ca.crl_publish(now=start)
    assert ca.crl_current(now=start + dt.timedelta(hours=22)) == first
    # Within the last hour before nextUpdate a new CRL is published.
    second = ca.crl_current(now=start + dt.timedelta(hours=23, minutes=1))
    assert second.number == first.number + 1


def test_current_crl_is_replaced_after_a_status_change(holders):
    first = ca.crl_current()
    assert ca.crl_current() == first
    change(holders["younghee"], "suspended")
    second = ca.crl_current()
    assert second.number == first.number + 1 and second.entries == 1


def test_publish_crl_command_prints_number_and_entries(holders):
    change(holders["hong"], "revoked", "cessation_of_operation")
    out = StringIO()
    call_command("publish_crl", stdout=out)
    publication = CrlPublication.objects.order_by("-number").first()
    assert f"CRL #{publication.number}: 1 entries" in out.getvalue()


# --- OCSP (cryptography client) -----------------------------------------------------


@pytest.mark.parametrize("algorithm", [hashes.SHA1(), hashes.SHA256()], ids=["sha1", "sha256"])
def test_ocsp_answers_good_for_a_valid_certificate(holders, client, algorithm):
    nonce = b"0123456789abcdef"
    answer = post_ocsp(client, ocsp_request(x509_of(holders["hong"]), ca.ca_issuing_certificate(), algorithm, nonce))

    assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert answer.serial_number == serial_of(holders["hong"])
    assert isinstance(answer.hash_algorithm, type(algorithm))
    assert answer.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == nonce
    assert answer.next_update_utc - answer.this_update_utc == dt.timedelta(hours=1)
    assert_signed_by_issuing_ca(answer)


def test_ocsp_reports_revocation_and_hold_at_once(holders, client):
    issuing = ca.ca_issuing_certificate()
    revoked = change(holders["hong"], "revoked", "key_compromise")
    suspended = change(holders["kim"], "suspended")

    answer = post_ocsp(client, ocsp_request(x509_of(holders["hong"]), issuing))
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason == x509.ReasonFlags.key_compromise
    assert answer.revocation_time_utc == revoked.revoked_at.replace(microsecond=0)

    answer = post_ocsp(client, ocsp_request(x509_of(holders["kim"]), issuing))
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason == x509.ReasonFlags.certificate_hold
    assert answer.revocation_time_utc == suspended.status_changed_at.replace(microsecond=0)
    assert "nonce" not in str(answer.extensions).lower()  # no nonce asked, none sent


def test_ocsp_get_form_accepts_standard_and_url_safe_base64(holders, client):
    der = ocsp_request(x509_of(holders["hong"]), ca.ca_issuing_certificate(), hashes.SHA256(), nonce=b"\xfb\xff" * 8)
    standard = urllib.parse.quote(base64.b64encode(der).decode(), safe="")
    url_safe = base64.urlsafe_b64encode(der).decode().rstrip("=")
    for encoded in (standard, url_safe):
        response = client.get(f"/ca/ocsp/{encoded}")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/ocsp-response"
        assert "max-age=60" in response["Cache-Control"]
        answer = ocsp.load_der_ocsp_response(response.content)
        assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
        assert answer.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"\xfb\xff" * 8


def test_ocsp_answers_unknown_for_a_serial_it_never_issued(holders, client):
    # Our issuer's CertID hashes (as cryptography computes them), another serial.
    ours = ocsp.load_der_ocsp_request(ocsp_request(x509_of(holders["hong"]), ca.ca_issuing_certificate()))
    der = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(ours.issuer_name_hash, ours.issuer_key_hash, 0xC0FFEE, hashes.SHA1())
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    answer = post_ocsp(client, der)
    assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.certificate_status == ocsp.OCSPCertStatus.UNKNOWN
    assert answer.serial_number == 0xC0FFEE
    assert_signed_by_issuing_ca(answer)


def _foreign_ca() -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CertbankCA Class 1")])  # same name, other key
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


def test_ocsp_refuses_requests_for_another_issuer(holders, client):
    user = x509_of(holders["hong"])
    for issuer in (_foreign_ca(), ca.ca_root_certificate()):
        answer = post_ocsp(client, ocsp_request(user, issuer))
        assert answer.response_status == ocsp.OCSPResponseStatus.UNAUTHORIZED
    # The issuing CA's own certificate is the root's to answer for, not ours.
    answer = post_ocsp(client, ocsp_request(ca.ca_issuing_certificate(), ca.ca_root_certificate()))
    assert answer.response_status == ocsp.OCSPResponseStatus.UNAUTHORIZED


@pytest.mark.parametrize(
    "body",
    [b"", b"garbage", b"\x30\x03\x02\x01\x01", b"\x30" * 5000],
    ids=["empty", "garbage", "wrong-der", "deep-junk"],
)
def test_ocsp_answers_junk_with_malformed_request(test_ca, db, client, body):
    answer = post_ocsp(client, body)
    assert answer.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_ocsp_refuses_oversized_bodies_and_bad_base64(holders, client):
    assert post_ocsp(client, b"\x00" * (10 * 1024 + 1)).response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    for junk in ("%%%", "not*base64", "QUJD", "A" * 20000):
        response = client.get(f"/ca/ocsp/{junk}")
        assert response.status_code == 200
        assert ocsp.load_der_ocsp_response(response.content).response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_ocsp_refuses_an_over_long_nonce(holders, client):
    # RFC 8954 §2.1: nonces longer than 32 octets are malformedRequest.
    der = ocsp_request(x509_of(holders["hong"]), ca.ca_issuing_certificate(), nonce=b"n" * 33)
    assert post_ocsp(client, der).response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_ocsp_needs_no_csrf_token(holders):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    answer = post_ocsp(strict, ocsp_request(x509_of(holders["hong"]), ca.ca_issuing_certificate()))
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD


def test_ca_index_links_the_crl_and_the_ocsp_responder(test_ca, db, client):
    page = client.get("/ca/").content.decode()
    assert 'href="/ca/crl/issuing.crl"' in page
    assert "/ca/ocsp" in page


# --- OCSP with the real openssl, over HTTP ------------------------------------------


def openssl_ocsp(live_server, tmp_path, holder, *extra) -> str:
    """`openssl ocsp` as a relying party runs it: stdout (the status) checked for trust and nonce."""
    user = pem_file(tmp_path / "user.pem", x509_of(holder))
    issuing = pem_file(tmp_path / "issuing.pem", ca.ca_issuing_certificate())
    root = pem_file(tmp_path / "root.pem", ca.ca_root_certificate())
    result = openssl("ocsp", "-issuer", issuing, "-cert", user, "-url", f"{live_server.url}/ca/ocsp", "-CAfile", root, *extra)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # The issuing CA signed the response itself; openssl accepts it under the root.
    assert "Response verify OK" in output
    # openssl sends a nonce by default and warns when it is missing or differs.
    assert "WARNING: no nonce in response" not in output
    assert "Nonce Verify error" not in output
    return result.stdout


@pytest.mark.django_db(transaction=True)
def test_openssl_ocsp_follows_status_changes_without_lag(test_ca, live_server, make_customer, rsa_keys, tmp_path):
    holder = issue_for(make_customer(), rsa_keys[0])
    access = x509_of(holder).extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert urllib.parse.urlsplit(access[0].access_location.value).path == "/ca/ocsp"  # where openssl would look

    out = openssl_ocsp(live_server, tmp_path, holder, "-resp_text")
    assert "user.pem: good" in out
    assert "Responder Id: " in out and "OCSP Nonce:" in out  # CA is the responder, by key hash; nonce echoed

    change(holder, "suspended")
    out = openssl_ocsp(live_server, tmp_path, holder)
    assert "user.pem: revoked" in out and "Reason: certificateHold" in out and "Revocation Time:" in out

    change(holder, "valid")
    assert "user.pem: good" in openssl_ocsp(live_server, tmp_path, holder)

    revoked = change(holder, "revoked", "key_compromise")
    out = openssl_ocsp(live_server, tmp_path, holder)
    assert "user.pem: revoked" in out and "Reason: keyCompromise" in out
    assert f"Revocation Time: {revoked.revoked_at:%b %e %H:%M:%S %Y} GMT" in out
