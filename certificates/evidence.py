"""Evidence of a signed transfer as a CMS SignedData (`.p7s`, RFC 5652) that
anyone can check with `openssl cms -verify` (DESIGN.md §3 "Signature form",
"Receipts").

No signing happens here: the customer's browser made the signature (raw
RSASSA-PKCS1-v1_5 over SHA-256 of the signed bytes) and
certificates.challenges verified it. A SignerInfo without signed attributes
(RFC 5652 §5.4: the signature is then over the content itself) carries
exactly that signature, so the server can wrap it with the signed bytes, the
customer's certificate and the issuing CA certificate. Hand-built DER with
certificates.der.
"""

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certificates import ca, der

OID_SIGNED_DATA = "1.2.840.113549.1.7.2"  # RFC 5652 §5.1
OID_DATA = "1.2.840.113549.1.7.1"  # RFC 5652 §4
OID_SHA256 = "2.16.840.1.101.3.4.2.1"  # RFC 5754 §2.2
OID_RSA_ENCRYPTION = "1.2.840.113549.1.1.1"  # RFC 3370 §3.2: rsaEncryption for PKCS#1 v1.5 SignerInfos
SET = 0x31
NULL = b"\x05\x00"


def _set_of(*parts: bytes) -> bytes:
    # X.690 §11.6: DER sorts the encodings of a SET OF.
    return der.tlv(SET, b"".join(sorted(parts)))


def signed_data(*, content: bytes, signature: bytes, certificate_der: bytes) -> bytes:
    """ContentInfo{SignedData} with the content encapsulated, the signer's
    certificate and its issuing CA certificate, and one SignerInfo (version 1,
    issuerAndSerialNumber, SHA-256, rsaEncryption, no signed attributes)."""
    leaf = x509.load_der_x509_certificate(certificate_der)
    issuing = ca.ca_issuing_certificate().public_bytes(serialization.Encoding.DER)
    sha256 = der.seq(der.oid(OID_SHA256))
    signer_info = der.seq(
        der.integer(1),
        der.seq(leaf.issuer.public_bytes(), der.integer(leaf.serial_number)),
        sha256,
        der.seq(der.oid(OID_RSA_ENCRYPTION), NULL),
        der.octets(signature),
    )
    body = der.seq(
        der.integer(1),
        _set_of(sha256),
        der.seq(der.oid(OID_DATA), der.tlv(der.CONTEXT_0_CONSTRUCTED, der.octets(content))),
        # certificates [0] IMPLICIT CertificateSet
        der.tlv(der.CONTEXT_0_CONSTRUCTED, b"".join(sorted([certificate_der, issuing]))),
        _set_of(signer_info),
    )
    return der.seq(der.oid(OID_SIGNED_DATA), der.tlv(der.CONTEXT_0_CONSTRUCTED, body))
