"""Evidence of a signed transfer as a CMS SignedData (`.p7s`, RFC 5652) that
anyone can check with `openssl cms -verify` (DESIGN.md §3 "Signature form",
"Receipts").

No signing happens here: the customer's browser made the signature (raw
RSASSA-PKCS1-v1_5, or RSASSA-PSS in the stronger profile, over SHA-256 of
the signed bytes) and certificates.challenges verified it. A SignerInfo
without signed attributes (RFC 5652 §5.4: the signature is then over the
content itself) carries exactly that signature, so the server can wrap it
with the signed bytes, the customer's certificate and the issuing CA
certificate. A PSS SignerInfo names its parameters (RFC 4056 §3), the salt
length among them, which verify.pss_salt_length recovers from the
signature. Hand-built DER with certificates.der.
"""

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certificates import ca, der, verify

OID_SIGNED_DATA = "1.2.840.113549.1.7.2"  # RFC 5652 §5.1
OID_DATA = "1.2.840.113549.1.7.1"  # RFC 5652 §4
OID_SHA256 = "2.16.840.1.101.3.4.2.1"  # RFC 5754 §2.2
OID_RSA_ENCRYPTION = "1.2.840.113549.1.1.1"  # RFC 3370 §3.2: rsaEncryption for PKCS#1 v1.5 SignerInfos
OID_RSASSA_PSS = "1.2.840.113549.1.1.10"  # RFC 4055 §3.1, RFC 4056 §3
OID_MGF1 = "1.2.840.113549.1.1.8"  # RFC 4055 §2.2
SET = 0x31
NULL = b"\x05\x00"


def _set_of(*parts: bytes) -> bytes:
    # X.690 §11.6: DER sorts the encodings of a SET OF.
    return der.tlv(SET, b"".join(sorted(parts)))


class EvidenceUnavailable(Exception):
    """The stored signature does not verify under its scheme: no .p7s for it."""


def _pss_algorithm(salt_length: int) -> bytes:
    """AlgorithmIdentifier{id-RSASSA-PSS, RSASSA-PSS-params} for SHA-256 and
    MGF1-SHA-256 (RFC 4055 §3.1; explicit tags; sha256Identifier with NULL
    parameters as in RFC 4055's module and as OpenSSL writes it; the trailer
    field keeps its default)."""
    sha256_null = der.seq(der.oid(OID_SHA256), NULL)
    params = der.seq(
        der.tlv(0xA0, sha256_null),  # hashAlgorithm [0]
        der.tlv(0xA1, der.seq(der.oid(OID_MGF1), sha256_null)),  # maskGenAlgorithm [1]
        der.tlv(0xA2, der.integer(salt_length)),  # saltLength [2]
    )
    return der.seq(der.oid(OID_RSASSA_PSS), params)


def signed_data(*, content: bytes, signature: bytes, certificate_der: bytes, scheme: str = "pkcs1v15") -> bytes:
    """ContentInfo{SignedData} with the content encapsulated, the signer's
    certificate and its issuing CA certificate, and one SignerInfo (version 1,
    issuerAndSerialNumber, SHA-256, no signed attributes) whose signature
    algorithm is rsaEncryption for "pkcs1v15" or RSASSA-PSS with the salt
    length of this signature for "pss"."""
    if scheme == "pkcs1v15":
        signature_algorithm = der.seq(der.oid(OID_RSA_ENCRYPTION), NULL)
    elif scheme == "pss":
        salt_length = verify.pss_salt_length(certificate_der=certificate_der, signature=signature, data=content)
        if salt_length is None:
            raise EvidenceUnavailable("the signature does not verify as RSASSA-PSS/SHA-256")
        signature_algorithm = _pss_algorithm(salt_length)
    else:
        raise EvidenceUnavailable(f"no SignerInfo for the scheme {scheme!r}")
    leaf = x509.load_der_x509_certificate(certificate_der)
    issuing = ca.ca_issuing_certificate().public_bytes(serialization.Encoding.DER)
    sha256 = der.seq(der.oid(OID_SHA256))
    signer_info = der.seq(
        der.integer(1),
        der.seq(leaf.issuer.public_bytes(), der.integer(leaf.serial_number)),
        sha256,
        signature_algorithm,
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
