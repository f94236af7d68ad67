"""Status of what the issuing CA issued: full CRLs (RFC 5280 §5) and OCSP
responses (RFC 6960), both read from the Certificate records."""

import datetime as dt

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from django.conf import settings
from django.db import IntegrityError, transaction

from certificates.ca.hierarchy import aki_of, hierarchy_current, signature_hash
from certificates.models import Certificate, CrlPublication

# --- revocation status: CRL (RFC 5280 §5) and OCSP (RFC 6960) ------------------

# Certificate.RevocationReason → RFC 5280 §5.3.1 CRLReason. "unspecified"
# maps to None: the reasonCode extension "SHOULD be absent instead of using
# the unspecified (0) reasonCode value" (RFC 5280 §5.3.1).
_REASON_FLAGS = {
    Certificate.RevocationReason.UNSPECIFIED: None,
    Certificate.RevocationReason.KEY_COMPROMISE: x509.ReasonFlags.key_compromise,
    Certificate.RevocationReason.SUPERSEDED: x509.ReasonFlags.superseded,
    Certificate.RevocationReason.CESSATION_OF_OPERATION: x509.ReasonFlags.cessation_of_operation,
    Certificate.RevocationReason.CERTIFICATE_HOLD: x509.ReasonFlags.certificate_hold,
}
# A fresh CRL is published this long before the current one's nextUpdate, so
# that a relying party never fetches one about to go stale.
CRL_REFRESH_MARGIN = dt.timedelta(hours=1)
_CRL_NUMBER_ATTEMPTS = 3
OCSP_VALIDITY = dt.timedelta(hours=1)
# The hash algorithms a CertID may use (RFC 6960 §4.1.1 uses SHA-1; RFC 5019
# clients and openssl may use SHA-256). cryptography answers these.
_OCSP_HASHES = (hashes.SHA1, hashes.SHA224, hashes.SHA256, hashes.SHA384, hashes.SHA512)
# RFC 8954 §2.1: a nonce longer than 32 octets is refused as malformedRequest.
_OCSP_NONCE_MAX = 32


def _utc_now(now: dt.datetime | None) -> dt.datetime:
    # GeneralizedTime/UTCTime in CRLs and OCSP carry whole seconds (RFC 5280
    # §4.1.2.5): store exactly what the signed structure says.
    moment = now or dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def _status_entry(certificate: Certificate) -> tuple[dt.datetime, x509.ReasonFlags | None]:
    """When and why a revoked or suspended certificate stopped being good.

    A suspension (효력정지) is RFC 5280's certificateHold: listed on the CRL
    and "revoked" in OCSP (RFC 6960 §2.2), removable when restored.
    """
    if certificate.status == Certificate.Status.SUSPENDED:
        return certificate.status_changed_at or certificate.created_at, x509.ReasonFlags.certificate_hold
    return certificate.revoked_at, _REASON_FLAGS.get(certificate.revocation_reason)


def crl_publish(*, now: dt.datetime | None = None) -> CrlPublication:
    """Sign and record a full CRL of the issuing CA (RFC 5280 §5).

    Lists every revoked certificate and every suspended one (certificateHold).
    An entry leaves the list only after it appeared on one CRL issued after
    the certificate expired (RFC 5280 §3.3), so a certificate is kept while
    its not_after is at or after the previous CRL's thisUpdate.
    """
    now = _utc_now(now)
    next_update = now + dt.timedelta(hours=settings.CERTBANK_CRL_VALIDITY_HOURS)
    hierarchy = hierarchy_current()
    for attempt in range(_CRL_NUMBER_ATTEMPTS):
        try:
            with transaction.atomic():
                # RFC 5280 §5.2.3: the cRLNumber increases monotonically. Lock
                # the latest row; when there is none yet (nothing to lock) or
                # the database ignores the lock, the unique number makes a
                # concurrent publisher fail and retry with the next number.
                latest = CrlPublication.objects.select_for_update().order_by("-number").first()
                number = latest.number + 1 if latest else 1
                listed = Certificate.objects.filter(status__in=[Certificate.Status.REVOKED, Certificate.Status.SUSPENDED]).only(
                    "serial", "status", "revocation_reason", "revoked_at", "status_changed_at", "created_at"
                )
                if latest is not None:
                    listed = listed.filter(not_after__gte=latest.this_update)
                builder = (
                    x509.CertificateRevocationListBuilder()
                    .issuer_name(hierarchy.issuing.subject)
                    .last_update(now)
                    .next_update(next_update)
                    .add_extension(x509.CRLNumber(number), critical=False)
                    # RFC 5280 §5.2.1: conforming CAs MUST include the AKI in CRLs.
                    .add_extension(aki_of(hierarchy.issuing), critical=False)
                )
                entries = 0
                for certificate in listed.order_by("pk"):
                    revoked_at, reason = _status_entry(certificate)
                    entry = (
                        x509.RevokedCertificateBuilder()
                        .serial_number(int(certificate.serial, 16))
                        .revocation_date(revoked_at.astimezone(dt.UTC).replace(microsecond=0))
                    )
                    if reason is not None:
                        # RFC 5280 §5.3.1: reasonCode is a non-critical entry extension.
                        entry = entry.add_extension(x509.CRLReason(reason), critical=False)
                    builder = builder.add_revoked_certificate(entry.build())
                    entries += 1
                crl = builder.sign(hierarchy.issuing_key, signature_hash())
                return CrlPublication.objects.create(
                    number=number,
                    this_update=now,
                    next_update=next_update,
                    der=crl.public_bytes(serialization.Encoding.DER),
                    entries=entries,
                )
        except IntegrityError:
            if attempt == _CRL_NUMBER_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def crl_current(*, now: dt.datetime | None = None) -> CrlPublication:
    """The CRL to serve: the latest publication while it is fresh, else a new one.

    "Fresh" means more than CRL_REFRESH_MARGIN before its nextUpdate and no
    certificate changed status since it was signed, so a revocation or a
    suspension shows on the next fetch. Cron runs `publish_crl` as well, so
    a CRL is issued on schedule even when nobody fetches it.
    """
    now = _utc_now(now)
    latest = CrlPublication.objects.order_by("-number").first()
    if (
        latest is not None
        and now < latest.next_update - CRL_REFRESH_MARGIN
        and not Certificate.objects.filter(status_changed_at__gt=latest.this_update).exists()
    ):
        return latest
    return crl_publish(now=now)


def _issuer_hashes(issuing: x509.Certificate, algorithm: hashes.HashAlgorithm) -> tuple[bytes, bytes]:
    """CertID issuerNameHash and issuerKeyHash of our issuing CA (RFC 6960 §4.1.1).

    The name hash covers the DER of the issuer's subject; the key hash covers
    the subjectPublicKey BIT STRING value, which for RSA is the PKCS#1
    RSAPublicKey (RFC 3279 §2.3.1).
    """
    name = hashes.Hash(algorithm)
    name.update(issuing.subject.public_bytes())
    key = hashes.Hash(algorithm)
    key.update(issuing.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1))
    return name.finalize(), key.finalize()


def _ocsp_unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    # RFC 6960 §2.3: error responses are not signed and carry no responseBytes.
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(serialization.Encoding.DER)


def ocsp_malformed_response() -> bytes:
    """The OCSP answer to a request that cannot be parsed (RFC 6960 §2.3)."""
    return _ocsp_unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)


def ocsp_respond(request_der: bytes, *, now: dt.datetime | None = None) -> bytes:
    """Answer a DER OCSPRequest with a DER OCSPResponse (RFC 6960).

    The issuing CA signs the responses itself (RFC 6960 §4.2.2.2), so no
    delegated responder certificate is needed or sent. The status is read
    from the database on every request: a revocation shows at once.
    """
    now = _utc_now(now)
    hierarchy = hierarchy_current()
    # SECURITY: the body is whatever the network sent. Anything that does not
    # parse (including several requests in one, which we do not answer:
    # cryptography raises NotImplementedError) is malformedRequest, never an
    # exception. So is a negative serial: RFC 5280 §4.1.2.2 makes serials
    # positive, and a CertID echoing one cannot be encoded in the answer.
    try:
        request = ocsp.load_der_ocsp_request(bytes(request_der))
        name_hash, key_hash, serial = request.issuer_name_hash, request.issuer_key_hash, request.serial_number
        nonce = _ocsp_nonce(request)
    except (ValueError, TypeError, NotImplementedError):
        return ocsp_malformed_response()
    if serial < 0:
        return ocsp_malformed_response()
    if nonce is not None and not 1 <= len(nonce) <= _OCSP_NONCE_MAX:
        return ocsp_malformed_response()
    try:
        algorithm = request.hash_algorithm
    except UnsupportedAlgorithm:
        algorithm = None
    # SECURITY: answer only for certificates of our issuing CA. A CertID that
    # names another issuer (or a hash we cannot compute) is not ours to
    # vouch for: unauthorized (RFC 6960 §2.3).
    if not isinstance(algorithm, _OCSP_HASHES) or (name_hash, key_hash) != _issuer_hashes(hierarchy.issuing, algorithm):
        return _ocsp_unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)

    revocation_time, revocation_reason = None, None
    certificate = (
        Certificate.objects.filter(serial=format(serial, "x"))
        .only("status", "revocation_reason", "revoked_at", "status_changed_at", "created_at")
        .first()
    )
    if certificate is None:
        # RFC 6960 §2.2: "unknown" — the responder does not know this serial.
        cert_status = ocsp.OCSPCertStatus.UNKNOWN
    elif certificate.status == Certificate.Status.VALID:
        # RFC 6960 §2.2: "good" says only that the certificate is not revoked;
        # an expired certificate stays good (expiry is the client's check).
        cert_status = ocsp.OCSPCertStatus.GOOD
    else:
        cert_status = ocsp.OCSPCertStatus.REVOKED
        revoked_at, revocation_reason = _status_entry(certificate)
        revocation_time = revoked_at.astimezone(dt.UTC).replace(microsecond=0)

    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response_by_hash(
            issuer_name_hash=name_hash,
            issuer_key_hash=key_hash,
            serial_number=serial,
            algorithm=algorithm,
            cert_status=cert_status,
            this_update=now,
            next_update=now + OCSP_VALIDITY,
            revocation_time=revocation_time,
            revocation_reason=revocation_reason,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, hierarchy.issuing)
    )
    if nonce is not None:
        # RFC 8954 §2.1 / RFC 6960 §4.4.1: echo the client's nonce unchanged.
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.sign(hierarchy.issuing_key, signature_hash()).public_bytes(serialization.Encoding.DER)


def _ocsp_nonce(request: ocsp.OCSPRequest) -> bytes | None:
    try:
        return request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        return None
