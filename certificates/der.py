"""The few DER encoders Certbank writes by hand (X.690), shared by the VID
(certificates.vid) and the customer-side key files (certificates.client.npki).

`cryptography` parses and builds certificates but has no generic DER
encoder; these cover exactly the fixed structures needed. Both users test
their output against independent encoders (pyasn1, openssl, pypinksign).
"""

SEQUENCE = 0x30
SET = 0x31
INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
OID = 0x06
UTF8_STRING = 0x0C
PRINTABLE_STRING = 0x13
CONTEXT_0_CONSTRUCTED = 0xA0


def length(n: int) -> bytes:
    # X.690 §8.1.3 / §10.1: short form below 128, else the minimal long form.
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + length(len(content)) + content


def seq(*parts: bytes) -> bytes:
    return tlv(SEQUENCE, b"".join(parts))


def integer(n: int) -> bytes:
    # Two's complement, minimal: a leading 0x00 keeps a high bit positive.
    return tlv(INTEGER, n.to_bytes(n.bit_length() // 8 + 1, "big", signed=True))


def oid_content(dotted: str) -> bytes:
    # X.690 §8.19: first two arcs as 40*a + b, then base-128 with the high bit
    # on every byte but the last of each arc.
    arcs = [int(part) for part in dotted.split(".")]
    out = bytearray()
    for number in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [number & 0x7F]
        number >>= 7
        while number:
            chunk.append(0x80 | (number & 0x7F))
            number >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def oid(dotted: str) -> bytes:
    return tlv(OID, oid_content(dotted))


def octets(data: bytes) -> bytes:
    return tlv(OCTET_STRING, data)
