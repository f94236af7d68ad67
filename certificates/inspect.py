"""What a certificate says, as display strings for the staff console.

Display only: this parses the DER the records hold so a person can read
it. It verifies nothing (no chain, no signature, no status); decisions
about a certificate go through certificates.challenges.certificate_check.
"""

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.utils import timezone

from certificates.vid import NPKI_IDENTIFY_DATA_OID

# RFC 5280 §4.2.1.3 KeyUsage bits, in the order the RFC lists them.
_KEY_USAGE = [
    ("digital_signature", "전자서명(digitalSignature)"),
    ("content_commitment", "부인방지(nonRepudiation)"),
    ("key_encipherment", "키 암호화(keyEncipherment)"),
    ("data_encipherment", "데이터 암호화(dataEncipherment)"),
    ("key_agreement", "키 합의(keyAgreement)"),
    ("key_cert_sign", "인증서 서명(keyCertSign)"),
    ("crl_sign", "CRL 서명(cRLSign)"),
]


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")


def _public_key(certificate: x509.Certificate) -> str:
    key = certificate.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}비트"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}"
    return type(key).__name__


def _key_usage(certificate: x509.Certificate) -> str:
    try:
        extension = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    except x509.ExtensionNotFound:
        return "없음"
    usage = extension.value
    names = [label for attribute, label in _KEY_USAGE if getattr(usage, attribute)]
    return ", ".join(names) + (" (critical)" if extension.critical else "")


def _policies(certificate: x509.Certificate) -> str:
    try:
        policies = certificate.extensions.get_extension_for_class(x509.CertificatePolicies).value
    except x509.ExtensionNotFound:
        return "없음"
    lines = []
    for policy in policies:
        parts = [policy.policy_identifier.dotted_string]
        for qualifier in policy.policy_qualifiers or []:
            if isinstance(qualifier, str):
                parts.append(f"CPS {qualifier}")
            elif qualifier.explicit_text:
                parts.append(f"“{qualifier.explicit_text}”")
        lines.append("\n".join(parts))
    return "\n".join(lines)


def _vid_present(certificate: x509.Certificate) -> str:
    # SECURITY: only whether the VID is there; the VID itself is a digest of
    # the holder's RRN (KCAC.TS.SIVID) and is never shown.
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "없음"
    wanted = x509.ObjectIdentifier(NPKI_IDENTIFY_DATA_OID)
    if any(name.type_id == wanted for name in names.get_values_for_type(x509.OtherName)):
        return "있음 (본인확인 식별정보 VID)"
    return "없음"


def certificate_inspect(der: bytes) -> dict[str, str]:
    """Label → display string for each field shown on the console's detail page.

    Raises ValueError when the bytes are not a DER certificate.
    """
    certificate = x509.load_der_x509_certificate(bytes(der))
    octets = certificate.fingerprint(hashes.SHA256()).hex(":").upper()
    # Two lines of 16 octets, as certificate viewers show it (fits the page).
    fingerprint = octets[:47] + "\n" + octets[48:]
    return {
        "주체 (Subject)": certificate.subject.rfc4514_string(),
        "발급자 (Issuer)": certificate.issuer.rfc4514_string(),
        "일련번호": format(certificate.serial_number, "x"),
        "유효기간": f"{_when(certificate.not_valid_before_utc)} ~ {_when(certificate.not_valid_after_utc)}",
        "공개키": _public_key(certificate),
        "키 용도 (Key Usage)": _key_usage(certificate),
        "인증서 정책": _policies(certificate),
        "주체 대체 이름 VID": _vid_present(certificate),
        "SHA-256 지문": fingerprint,
    }
