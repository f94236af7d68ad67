"""Personal certificates (공동인증서, 금융인증서): the RFC 5280 profile of DESIGN.md §1."""

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID
from django.conf import settings

from certificates import vid as vid_rules
from certificates.ca.hierarchy import add_years, aki_of, hierarchy_current, signature_hash

KIND_JOINT = "joint"
KIND_FINANCIAL = "financial"
KINDS = (KIND_JOINT, KIND_FINANCIAL)

# Demo policy arc: 2.25.<UUID as integer> (ITU-T X.667 / RFC 4122 §"UUID
# OIDs"), generated once for Certbank, so it can never collide with a real
# accredited-CA policy (those live under 1.2.410.200004.5).
POLICY_ARC = "2.25.215435328224649650932476748069735174964"
POLICY_OIDS = {
    KIND_JOINT: x509.ObjectIdentifier(f"{POLICY_ARC}.1.1"),  # 개인 은행·보험용 공동인증서
    KIND_FINANCIAL: x509.ObjectIdentifier(f"{POLICY_ARC}.1.2"),  # 금융인증서
}
POLICY_NOTICE = "이 인증서는 Certbank 데모용입니다"

NPKI_IDENTIFY_DATA = x509.ObjectIdentifier(vid_rules.NPKI_IDENTIFY_DATA_OID)

# Subject OU telling the kind, as in real NPKI DNs (ou=personal4IB: personal,
# for internet banking).
_KIND_OU = {KIND_JOINT: "personal4IB", KIND_FINANCIAL: "personalF"}
KIND_YEARS = {KIND_JOINT: 1, KIND_FINANCIAL: 3}


def validity_end(kind: str, start: dt.datetime) -> dt.datetime:
    """When a certificate of `kind` valid from `start` expires (DESIGN.md §1:
    공동인증서 1 year, 금융인증서 3 years). A renewal passes the old expiry."""
    return add_years(start, KIND_YEARS[kind])


_SERIAL_DIGITS = re.compile(r"[0-9]{1,20}")
_BASE_URL = re.compile(r"https?://[^\s/]+(/[^\s]*)?")


@dataclass(frozen=True)
class CaAddresses:
    """The addresses a certificate carries (certificatePolicies CPS qualifier,
    AIA, CRLDistributionPoints), all under the public base URL."""

    cps: str
    ocsp: str
    ca_issuers: str
    crl: str


def ca_addresses(base_url: str) -> CaAddresses:
    """The addresses written into certificates for `base_url` (CERTBANK_PUBLIC_URL).

    The CPS is a page for people, at the public (HTTPS in production) address.
    OCSP, the CA certificate and the CRL are plain http (RFC 5280 §4.2.1.13,
    §4.2.2.1 and §8; RFC 6960 Appendix A; RFC 5019 §5): their answers are
    signed, so TLS adds nothing, and a client checking the status of the very
    certificate a TLS server presents must not need TLS to do it. The server
    keeps those paths out of the HTTPS redirect (SECURE_REDIRECT_EXEMPT).
    """
    if not _BASE_URL.fullmatch(base_url or ""):
        raise ValueError("base_url must be an absolute http(s) URL")
    base_url = base_url.rstrip("/")
    plain = "http://" + base_url.split("://", 1)[1]
    return CaAddresses(
        cps=f"{base_url}/ca/cps",
        ocsp=f"{plain}/ca/ocsp",
        ca_issuers=f"{plain}/ca/issuing.der",
        crl=f"{plain}/ca/crl/issuing.crl",
    )


def certificate_issue(
    *,
    public_key_der: bytes,
    bank,
    real_name: str,
    vid: bytes,
    kind: str,
    serial_digits: str,
    not_before: dt.datetime,
    base_url: str,
    not_after: dt.datetime | None = None,
) -> x509.Certificate:
    """Sign a personal certificate (공동인증서 or 금융인증서) for an SPKI.

    `public_key_der` is the SubjectPublicKeyInfo the browser sent; `vid` comes
    from `certificates.vid.vid_compute`; `serial_digits` is the customer's
    serial part of the CN. Raises ValueError for anything we must not sign.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown certificate kind {kind!r}")
    # SECURITY: the key comes from the client; refuse anything that is not
    # RSA of at least the configured size (DESIGN.md §1: RSA-2048).
    try:
        public_key = serialization.load_der_public_key(bytes(public_key_der))
    except (ValueError, TypeError):
        raise ValueError("public key is not a valid DER SubjectPublicKeyInfo")
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ValueError("only RSA public keys are accepted")
    if public_key.key_size < settings.CERTBANK_MIN_RSA_BITS:
        raise ValueError(f"RSA key of {public_key.key_size} bits is below the minimum of {settings.CERTBANK_MIN_RSA_BITS}")
    if not _SERIAL_DIGITS.fullmatch(serial_digits or ""):
        raise ValueError("serial digits must be 1 to 20 ASCII digits")
    if not real_name or real_name != real_name.strip() or any(char in real_name for char in '(),=+\\"<>;#'):
        raise ValueError("real name is empty or contains characters reserved in the subject DN")
    if not_before.tzinfo is None:
        raise ValueError("not_before must be timezone-aware")
    addresses = ca_addresses(base_url)

    hierarchy = hierarchy_current()
    not_before = not_before.astimezone(dt.UTC).replace(microsecond=0)
    # Renewal passes not_after (one year from the old expiry, DESIGN.md §1).
    not_after = validity_end(kind, not_before) if not_after is None else not_after.astimezone(dt.UTC)
    if not_after > hierarchy.issuing.not_valid_after_utc:
        raise ValueError("the certificate would outlive the issuing CA")

    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "KR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CertbankCA"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, _KIND_OU[kind]),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, bank.slug.upper()),
            # Demo form of the NPKI CN: 이름()0 + bank code + serial digits.
            x509.NameAttribute(NameOID.COMMON_NAME, f"{real_name}()0{bank.code}{serial_digits}"),
        ]
    )
    policy = x509.PolicyInformation(
        POLICY_OIDS[kind],
        [addresses.cps, x509.UserNotice(notice_reference=None, explicit_text=POLICY_NOTICE)],
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(hierarchy.issuing.subject)
        .public_key(public_key)
        # DESIGN.md §3: 128 random bits; RFC 5280 §4.1.2.2 allows up to 20 octets.
        .serial_number(_random_serial())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # nonRepudiation (RFC 5280 §4.2.1.3)
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.CertificatePolicies([policy]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([x509.OtherName(NPKI_IDENTIFY_DATA, vid_rules.identify_data_der(real_name, vid))]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(addresses.ocsp)),
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(addresses.ca_issuers)
                    ),
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[x509.UniformResourceIdentifier(addresses.crl)],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            critical=False,
        )
        .add_extension(aki_of(hierarchy.issuing), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    return builder.sign(hierarchy.issuing_key, signature_hash())


def _random_serial() -> int:
    while True:
        serial = secrets.randbits(128)
        if serial:  # RFC 5280 §4.1.2.2: positive
            return serial


@dataclass(frozen=True)
class CertificateFacts:
    serial: str  # lower-case hex
    fingerprint: str  # SHA-256 of the DER, hex
    subject: str  # RFC 4514
    not_before: dt.datetime
    not_after: dt.datetime
    der: bytes


def certificate_facts(certificate: x509.Certificate) -> CertificateFacts:
    """What the records keep of a certificate this CA signed."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    return CertificateFacts(
        serial=format(certificate.serial_number, "x"),
        fingerprint=certificate.fingerprint(hashes.SHA256()).hex(),
        subject=certificate.subject.rfc4514_string(),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        der=der,
    )
