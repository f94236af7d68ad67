"""Identity binding of Korean personal certificates (VID, KISA KCAC.TS.SIVID).

A certificate does not carry the holder's resident registration number
(RRN). It carries a *virtual ID*: a double SHA-256 over the RRN and a random
number R that stays with the private key (PKCS#8 attribute
1.2.410.200004.10.1.1.3). Whoever receives R from the holder can recompute
the VID and so learn "this certificate belongs to the person with RRN X";
nobody else can reverse it.

Pure functions, no Django. `cryptography` has no generic DER encoder, so the
few fixed structures are written (and read back, strictly) by hand below.

ASN.1 (KCAC.TS.SIVID, as read by real relying-party software; see the note
at `identify_data_der`):

    npkiIdentifyData OBJECT IDENTIFIER ::= { 1 2 410 200004 10 1 1 }
    id-VID           OBJECT IDENTIFIER ::= { npkiIdentifyData 1 }
    id-randomNum     OBJECT IDENTIFIER ::= { npkiIdentifyData 3 }  -- R in PKCS#8

    IdentifyData ::= SEQUENCE {            -- otherName value, type npkiIdentifyData
        realName   UTF8String,
        userInfos  SEQUENCE OF AttributeTypeAndValue }   -- { id-VID, VID }
    VID ::= SEQUENCE {
        hashAlg    AlgorithmIdentifier,    -- sha256
        virtualID  [0] EXPLICIT OCTET STRING }
    VIDHashInput ::= SEQUENCE {            -- hashed twice to give virtualID
        idn        PrintableString,        -- RRN, 13 digits, no hyphen
        randomNum  BIT STRING }            -- R, 20 bytes
"""

import hashlib
import hmac

from certificates.der import oid_content as _oid_content
from certificates.der import tlv as _tlv

NPKI_IDENTIFY_DATA_OID = "1.2.410.200004.10.1.1"
VID_OID = "1.2.410.200004.10.1.1.1"
RANDOM_NUM_OID = "1.2.410.200004.10.1.1.3"
SHA256_OID = "2.16.840.1.101.3.4.2.1"

R_LENGTH = 20
VID_LENGTH = 32

# Universal tags (X.690 §8).
_BIT_STRING = 0x03
_OCTET_STRING = 0x04
_NULL = 0x05
_OID = 0x06
_UTF8_STRING = 0x0C
_PRINTABLE_STRING = 0x13
_SEQUENCE = 0x30
_CONTEXT_0_CONSTRUCTED = 0xA0


# --- DER writing -------------------------------------------------------------


def _sha256_algorithm_identifier() -> bytes:
    # SEQUENCE { algorithm sha256 } with the parameters absent: RFC 5754 §2
    # says SHA-2 AlgorithmIdentifiers SHOULD be generated with absent
    # parameters (and MUST be accepted with NULL too, see the parser).
    return _tlv(_SEQUENCE, _tlv(_OID, _oid_content(SHA256_OID)))


# --- DER reading (strict) ----------------------------------------------------


def _read(data: bytes, pos: int, expected_tag: int) -> tuple[bytes, int]:
    """Read one TLV with `expected_tag` at `pos`; return (content, next pos).

    Strict DER: definite, minimal lengths; anything else is a ValueError.
    """
    if pos + 2 > len(data):
        raise ValueError("truncated DER")
    if data[pos] != expected_tag:
        raise ValueError(f"expected tag 0x{expected_tag:02x}, found 0x{data[pos]:02x}")
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        # SECURITY: 0x80 (indefinite) and over-long lengths are BER, not DER.
        if count == 0 or count > 4 or pos + count > len(data) or data[pos] == 0:
            raise ValueError("non-DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        if length < 0x80:
            raise ValueError("non-minimal DER length")
        pos += count
    end = pos + length
    if end > len(data):
        raise ValueError("truncated DER")
    return data[pos:end], end


def _read_only(data: bytes, expected_tag: int) -> bytes:
    content, end = _read(data, 0, expected_tag)
    if end != len(data):
        raise ValueError("trailing bytes after DER value")
    return content


# --- VID ---------------------------------------------------------------------


def _check_rrn_digits(rrn_digits: str) -> None:
    if not (isinstance(rrn_digits, str) and len(rrn_digits) == 13 and rrn_digits.isascii() and rrn_digits.isdigit()):
        raise ValueError("RRN must be exactly 13 ASCII digits, without hyphen")


def vid_compute(rrn_digits: str, r: bytes) -> bytes:
    """VID = SHA256(SHA256(DER(SEQUENCE { idn PrintableString, randomNum BIT STRING }))).

    KCAC.TS.SIVID: the hash is applied twice; R is 20 random bytes (160 bits)
    and the BIT STRING has 0 unused bits.
    """
    _check_rrn_digits(rrn_digits)
    if not isinstance(r, bytes | bytearray) or len(r) != R_LENGTH:
        raise ValueError(f"R must be exactly {R_LENGTH} bytes")
    hash_input = _tlv(
        _SEQUENCE,
        _tlv(_PRINTABLE_STRING, rrn_digits.encode("ascii"))
        # BIT STRING content: the leading octet counts unused bits (X.690 §8.6.2).
        + _tlv(_BIT_STRING, b"\x00" + bytes(r)),
    )
    return hashlib.sha256(hashlib.sha256(hash_input).digest()).digest()


def vid_matches(cert_vid: bytes, rrn_digits: str, r: bytes) -> bool:
    """True when `cert_vid` is the VID of this RRN and R (constant-time compare)."""
    try:
        expected = vid_compute(rrn_digits, r)
    except ValueError:
        return False
    # SECURITY: constant-time, so a client probing R or RRNs learns nothing
    # from timing.
    return hmac.compare_digest(expected, bytes(cert_vid))


# --- IdentifyData (subjectAltName otherName value) ---------------------------


def identify_data_der(real_name: str, vid: bytes) -> bytes:
    """DER of the otherName value for npkiIdentifyData (1.2.410.200004.10.1.1).

    The KISA specification itself (KCAC.TS.SIVID) is not publicly mirrored in
    any source we could search. The structure follows the VID parser of a
    relying party that reads real Korean NPKI certificates: Samsung Pass SDK
    `com.samsung.android.authfw.pass.sdk.util.CertificateUtil` (getVidClass,
    getUserInfo and the inner class `Vid`, as decompiled in public Samsung
    firmware dumps). It reads the otherName value as SEQUENCE { UTF8String,
    SEQUENCE OF AttributeTypeAndValue }, picks the entry typed
    npkiIdentifyData.1, and reads VID as SEQUENCE { AlgorithmIdentifier,
    [0] EXPLICIT OCTET STRING }. Note that the tag [0] is on virtualID, not on
    hashAlg. We write hashAlg with absent parameters (RFC 5754 §2).
    """
    if not isinstance(real_name, str) or not real_name or real_name != real_name.strip():
        raise ValueError("real name must be a non-empty string without surrounding spaces")
    if not isinstance(vid, bytes | bytearray) or len(vid) != VID_LENGTH:
        raise ValueError(f"VID must be exactly {VID_LENGTH} bytes")
    vid_value = _tlv(
        _SEQUENCE,
        _sha256_algorithm_identifier() + _tlv(_CONTEXT_0_CONSTRUCTED, _tlv(_OCTET_STRING, bytes(vid))),
    )
    user_info = _tlv(_SEQUENCE, _tlv(_OID, _oid_content(VID_OID)) + vid_value)
    return _tlv(
        _SEQUENCE,
        _tlv(_UTF8_STRING, real_name.encode("utf-8")) + _tlv(_SEQUENCE, user_info),
    )


def identify_data_parse(der: bytes) -> tuple[str, bytes]:
    """Parse what `identify_data_der` writes; return (real_name, vid).

    Strict: exactly one userInfo, typed id-VID; hashAlg sha256 with absent or
    NULL parameters (both allowed by RFC 5754 §2); a 32-byte virtualID; DER
    lengths; no trailing bytes at any level. Anything else is a ValueError.
    """
    # SECURITY: the value comes from a certificate a client presented; every
    # length and tag is checked before use.
    body = _read_only(bytes(der), _SEQUENCE)
    name_bytes, pos = _read(body, 0, _UTF8_STRING)
    user_infos, pos = _read(body, pos, _SEQUENCE)
    if pos != len(body):
        raise ValueError("unexpected element after userInfos")
    try:
        real_name = name_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("realName is not valid UTF-8")
    if not real_name:
        raise ValueError("realName is empty")

    user_info = _read_only(user_infos, _SEQUENCE)  # exactly one entry
    oid, pos = _read(user_info, 0, _OID)
    if oid != _oid_content(VID_OID):
        raise ValueError("userInfo is not id-VID")
    vid_value = _read_only(user_info[pos:], _SEQUENCE)

    algorithm, pos = _read(vid_value, 0, _SEQUENCE)
    algorithm_oid, algorithm_pos = _read(algorithm, 0, _OID)
    if algorithm_oid != _oid_content(SHA256_OID):
        raise ValueError("VID hash algorithm is not SHA-256")
    parameters = algorithm[algorithm_pos:]
    if parameters not in (b"", bytes([_NULL, 0x00])):
        raise ValueError("unexpected SHA-256 parameters")
    wrapped = _read_only(vid_value[pos:], _CONTEXT_0_CONSTRUCTED)
    vid = _read_only(wrapped, _OCTET_STRING)
    if len(vid) != VID_LENGTH:
        raise ValueError(f"virtualID must be {VID_LENGTH} bytes")
    return real_name, vid
