"""VID (KISA KCAC.TS.SIVID) and the npkiIdentifyData otherName value."""

import hashlib

import pytest

from certificates import vid

RRN = "9001011234568"
R = bytes(range(1, 21))


def _hand_vid(rrn: str, r: bytes) -> bytes:
    # SEQUENCE (0x30) of 15 + 23 = 38 (0x26) bytes:
    #   PrintableString (0x13), 13 (0x0d) bytes of digits
    #   BIT STRING (0x03), 21 (0x15) bytes: 0 unused bits, then R
    hash_input = bytearray([0x30, 0x26, 0x13, 0x0D])
    hash_input += rrn.encode("ascii")
    hash_input += bytes([0x03, 0x15, 0x00])
    hash_input += r
    assert len(hash_input) == 2 + 0x26
    return hashlib.sha256(hashlib.sha256(bytes(hash_input)).digest()).digest()


def test_vid_matches_an_independent_computation():
    assert vid.vid_compute(RRN, R) == _hand_vid(RRN, R)
    other_r = bytes(20)
    assert vid.vid_compute(RRN, other_r) == _hand_vid(RRN, other_r)
    assert vid.vid_compute(RRN, R) != vid.vid_compute("9001012234567", R)


@pytest.mark.parametrize("length", [0, 19, 21, 32])
def test_r_must_be_twenty_bytes(length):
    with pytest.raises(ValueError, match="20 bytes"):
        vid.vid_compute(RRN, bytes(length))


@pytest.mark.parametrize("rrn", ["900101-1234568", "900101123456", "90010112345678", "９００１０１１２３４５６８", ""])
def test_rrn_must_be_thirteen_ascii_digits(rrn):
    with pytest.raises(ValueError):
        vid.vid_compute(rrn, R)


def test_vid_matches_is_true_only_for_the_right_rrn_and_r():
    value = vid.vid_compute(RRN, R)
    assert vid.vid_matches(value, RRN, R)
    assert not vid.vid_matches(value, RRN, bytes(20))
    assert not vid.vid_matches(value, "9001012234567", R)
    assert not vid.vid_matches(value, RRN, R[:19])  # bad R is False, not an error
    assert not vid.vid_matches(value[:31], RRN, R)


def _hand_identify_data(name: str, value: bytes, *, parameters: bytes = b"", copies: int = 1) -> bytes:
    # Written out byte by byte with explicit (short-form) lengths.
    name_bytes = name.encode("utf-8")
    sha256_oid = bytes([0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01])  # 11 bytes
    vid_oid = bytes([0x06, 0x0A, 0x2A, 0x83, 0x1A, 0x8C, 0x9A, 0x44, 0x0A, 0x01, 0x01, 0x01])  # 12 bytes
    hash_alg = bytes([0x30, 11 + len(parameters)]) + sha256_oid + parameters
    virtual_id = bytes([0xA0, 2 + len(value), 0x04, len(value)]) + value
    vid_seq = bytes([0x30, len(hash_alg) + len(virtual_id)]) + hash_alg + virtual_id
    user_info = bytes([0x30, 12 + len(vid_seq)]) + vid_oid + vid_seq
    user_infos = bytes([0x30, copies * len(user_info)]) + user_info * copies
    real_name = bytes([0x0C, len(name_bytes)]) + name_bytes
    body = real_name + user_infos
    return bytes([0x30, len(body)]) + body


def test_identify_data_der_matches_hand_encoding_and_round_trips():
    value = vid.vid_compute(RRN, R)
    der = vid.identify_data_der("홍길동", value)
    assert der == _hand_identify_data("홍길동", value)
    assert vid.identify_data_parse(der) == ("홍길동", value)


def test_identify_data_round_trips_a_long_name():
    name = "가" * 100  # 300 bytes of UTF-8: long-form lengths
    value = bytes(range(32))
    assert vid.identify_data_parse(vid.identify_data_der(name, value)) == (name, value)


def test_identify_data_der_refuses_bad_input():
    with pytest.raises(ValueError):
        vid.identify_data_der("", bytes(32))
    with pytest.raises(ValueError):
        vid.identify_data_der("홍길동", bytes(31))


def test_parse_accepts_null_sha256_parameters():
    # RFC 5754 §2: SHA-2 parameters absent (what we write) or NULL.
    value = bytes(range(32))
    assert vid.identify_data_parse(_hand_identify_data("홍", value, parameters=b"\x05\x00")) == ("홍", value)


def test_parse_refuses_other_parameters():
    with pytest.raises(ValueError):
        vid.identify_data_parse(_hand_identify_data("홍", bytes(32), parameters=b"\x04\x00"))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda der: der + b"\x00",  # trailing byte
        lambda der: der[:-1],  # truncated
        lambda der: bytes([0x31]) + der[1:],  # SET instead of SEQUENCE
        lambda der: der.replace(bytes([0x0A, 0x01, 0x01, 0x01]), bytes([0x0A, 0x01, 0x01, 0x02]), 1),  # not id-VID
        lambda der: der.replace(bytes([0x04, 0x02, 0x01]), bytes([0x04, 0x02, 0x03]), 1),  # SHA-512, not SHA-256
        lambda der: der.replace(bytes([0xA0, 0x22]), bytes([0xA1, 0x22]), 1),  # wrong tag on virtualID
        lambda der: bytes([0x30, 0x81]) + der[1:],  # non-minimal long-form length
        lambda der: bytes([0x30, 0x80]) + der[2:] + b"\x00\x00",  # BER indefinite length
    ],
)
def test_parse_is_strict(mutate):
    der = vid.identify_data_der("홍길동", bytes(range(32)))
    with pytest.raises(ValueError):
        vid.identify_data_parse(mutate(der))


def test_parse_refuses_two_user_infos():
    with pytest.raises(ValueError):
        vid.identify_data_parse(_hand_identify_data("홍", bytes(32), copies=2))


def test_parse_refuses_a_short_virtual_id():
    with pytest.raises(ValueError, match="32 bytes"):
        vid.identify_data_parse(_hand_identify_data("홍", bytes(31)))


def test_parse_refuses_an_empty_name_and_bad_utf8():
    with pytest.raises(ValueError):
        vid.identify_data_parse(_hand_identify_data("", bytes(32)))
    der = bytearray(_hand_identify_data("홍", bytes(32)))
    der[4] = 0xFF  # first byte of the UTF-8 name
    with pytest.raises(ValueError, match="UTF-8"):
        vid.identify_data_parse(bytes(der))


# A fixed vector. The DER input was produced by pyasn1 (an independent
# encoder): SEQUENCE { PrintableString "9001011234568", BIT STRING 00..13 }.
KNOWN_RRN = "9001011234568"
KNOWN_R = bytes(range(20))
KNOWN_INPUT_DER = bytes.fromhex("3026130d39303031303131323334353638031500000102030405060708090a0b0c0d0e0f10111213")
KNOWN_VID = bytes.fromhex("44030642077922aef464b617b2257f74e8c37e5e982fabf7df25b414bca9f098")


def test_vid_known_vector():
    import hashlib

    assert hashlib.sha256(hashlib.sha256(KNOWN_INPUT_DER).digest()).digest() == KNOWN_VID
    assert vid.vid_compute(KNOWN_RRN, KNOWN_R) == KNOWN_VID


def test_vid_known_vector_against_pyasn1():
    import hashlib

    from pyasn1.codec.der import encoder
    from pyasn1.type import char, namedtype, univ

    class VIDHashInput(univ.Sequence):
        componentType = namedtype.NamedTypes(
            namedtype.NamedType("idn", char.PrintableString()), namedtype.NamedType("randomNum", univ.BitString())
        )

    value = VIDHashInput()
    value["idn"] = KNOWN_RRN
    value["randomNum"] = univ.BitString.fromOctetString(KNOWN_R)
    assert encoder.encode(value) == KNOWN_INPUT_DER
    assert vid.vid_compute(KNOWN_RRN, KNOWN_R) == hashlib.sha256(hashlib.sha256(encoder.encode(value)).digest()).digest()
