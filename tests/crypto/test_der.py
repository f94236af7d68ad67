"""static/js/crypto/der.js in Chromium: structures built in JS against an
independent Python DER encoder and `cryptography`, and the other way round
(certificates and PKCS#8 keys from `cryptography` read in JS)."""

import datetime as dt
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

pytestmark = pytest.mark.browser

PBES2 = "1.2.840.113549.1.5.13"
PBKDF2 = "1.2.840.113549.1.5.12"
SEED_CBC = "1.2.410.200004.1.4"
RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
NPKI_RANDOM_NUM = "1.2.410.200004.10.1.1.3"
HONG_CN = "홍길동()0019010000001"


# --- an independent, minimal DER encoder (not shared with the JS) ---------


def p_tlv(identifier: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        body = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(body)]) + body
    return bytes([identifier]) + length + content


def p_seq(*parts: bytes) -> bytes:
    return p_tlv(0x30, b"".join(parts))


def p_set(*parts: bytes) -> bytes:
    return p_tlv(0x31, b"".join(sorted(parts)))


def p_int(n: int) -> bytes:
    return p_tlv(0x02, n.to_bytes(n.bit_length() // 8 + 1, "big", signed=True))


def p_oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    out = b""
    for sub in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [sub & 0x7F]
        sub >>= 7
        while sub:
            chunk.insert(0, 0x80 | (sub & 0x7F))
            sub >>= 7
        out += bytes(chunk)
    return p_tlv(0x06, out)


def p_octets(data: bytes) -> bytes:
    return p_tlv(0x04, data)


def p_bits(data: bytes) -> bytes:
    return p_tlv(0x03, b"\x00" + data)


def p_null() -> bytes:
    return p_tlv(0x05, b"")


def p_ctx(n: int, content: bytes, constructed: bool = True) -> bytes:
    return p_tlv(0x80 | (0x20 if constructed else 0) | n, content)


def js_call(js, body: str, arg=None):
    """Run `body` with `D` bound to der.js and `arg` in scope."""
    return js(f'async (arg) => {{ const D = await import("/js/crypto/der.js"); {body} }}', arg)


# --- fixtures from cryptography --------------------------------------------


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def serial_number():
    # 128 bits with the high bit set: DER needs a leading 0x00.
    return (1 << 127) | int.from_bytes(os.urandom(16)) >> 1


@pytest.fixture(scope="module")
def certificate(rsa_key, serial_number):
    ca_key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "KR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Certbank Demo"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Certbank Demo CA"),
        ]
    )
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "KR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certbank"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "personal4IB"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "NURI"),
            x509.NameAttribute(NameOID.COMMON_NAME, HONG_CN),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(rsa_key.public_key())
        .serial_number(serial_number)
        .not_valid_before(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
        # After 2049: RFC 5280 wants GeneralizedTime there.
        .not_valid_after(dt.datetime(2051, 6, 30, 23, 59, 59, tzinfo=dt.UTC))
        .sign(ca_key, hashes.SHA256())
    )


# --- integers and OIDs --------------------------------------------------------

INTEGER_CASES = [
    (0, "020100"),
    (127, "02017f"),
    (128, "02020080"),
    (255, "020200ff"),
    (256, "02020100"),
    (600000, "02030927c0"),
    (2**63, "0209008000000000000000"),
]


@pytest.mark.parametrize(("value", "expected"), INTEGER_CASES)
def test_integer_encoding_edge_cases(js, value, expected):
    assert p_int(value).hex() == expected
    result = js_call(
        js,
        """const [text, expected] = arg;
        const fromBigInt = toHex(D.encode(D.int(BigInt(text))));
        const small = Number(text) <= Number.MAX_SAFE_INTEGER;
        return {
            fromBigInt,
            fromNumber: small ? toHex(D.encode(D.int(Number(text)))) : fromBigInt,
            read: D.readInteger(D.decode(fromHex(expected))).toString(),
        };""",
        [str(value), expected],
    )
    assert result == {"fromBigInt": expected, "fromNumber": expected, "read": str(value)}


def test_128_bit_serial_with_high_bit_gets_a_leading_zero(js, serial_number):
    magnitude = serial_number.to_bytes(16, "big")
    assert magnitude[0] & 0x80
    expected = p_int(serial_number).hex()
    assert expected.startswith("021100" + magnitude[:1].hex())
    result = js_call(
        js,
        """const [text, magnitude] = arg;
        const der = D.encode(D.int(BigInt(text)));
        return {
            fromBigInt: toHex(der),
            fromBytes: toHex(D.encode(D.int(fromHex(magnitude)))),
            fromPaddedBytes: toHex(D.encode(D.int(fromHex("0000" + magnitude)))),
            read: D.readInteger(D.decode(der)).toString(),
            magnitude: toHex(D.readIntegerBytes(D.decode(der))),
        };""",
        [str(serial_number), magnitude.hex()],
    )
    assert result == {
        "fromBigInt": expected,
        "fromBytes": expected,
        "fromPaddedBytes": expected,
        "read": str(serial_number),
        "magnitude": magnitude.hex(),
    }


def test_oids_match_the_python_encoder(js):
    oids = [PBES2, PBKDF2, SEED_CBC, RSA_ENCRYPTION, NPKI_RANDOM_NUM, "2.5.4.3", "0.9.2342.19200300.100.1.25", "2.999.1"]
    assert p_oid(PBES2).hex() == "06092a864886f70d01050d"
    result = js_call(
        js,
        """return arg.map((text) => {
            const der = D.encode(D.oid(text));
            return [toHex(der), D.oidToString(D.decode(der)), D.oidToString(D.decode(der).value)];
        });""",
        oids,
    )
    assert result == [[p_oid(o).hex(), o, o] for o in oids]


# --- structures built in JS, checked in Python -----------------------------


def test_encrypted_private_key_info_matches_python(js):
    salt, iv, ciphertext = os.urandom(8), os.urandom(16), os.urandom(1232)
    expected = p_seq(
        p_seq(
            p_oid(PBES2),
            p_seq(
                p_seq(p_oid(PBKDF2), p_seq(p_octets(salt), p_int(600000))),
                p_seq(p_oid(SEED_CBC), p_octets(iv)),
            ),
        ),
        p_octets(ciphertext),
    )
    result = js_call(
        js,
        """const [salt, iv, ciphertext, expected] = arg;
        const built = D.seq(
            D.seq(
                D.oid("1.2.840.113549.1.5.13"),
                D.seq(
                    D.seq(D.oid("1.2.840.113549.1.5.12"), D.seq(D.octets(fromHex(salt)), D.int(600000))),
                    D.seq(D.oid("1.2.410.200004.1.4"), D.octets(fromHex(iv))),
                ),
            ),
            D.octets(fromHex(ciphertext)),
        );
        // And read Python's bytes back.
        const root = D.decode(fromHex(expected));
        const [algorithm, data] = root.children;
        const [kdf, scheme] = algorithm.children[1].children;
        const [saltNode, countNode] = kdf.children[1].children;
        return {
            built: toHex(D.encode(built)),
            reencoded: toHex(D.encode(root)),
            algorithm: D.oidToString(algorithm.children[0]),
            kdf: D.oidToString(kdf.children[0]),
            salt: toHex(saltNode.value),
            iterations: Number(D.readInteger(countNode)),
            scheme: D.oidToString(scheme.children[0]),
            iv: toHex(scheme.children[1].value),
            ciphertextLength: data.value.length,
            headerLength: root.headerLength,
        };""",
        [salt.hex(), iv.hex(), ciphertext.hex(), expected.hex()],
    )
    assert result == {
        "built": expected.hex(),
        "reencoded": expected.hex(),
        "algorithm": PBES2,
        "kdf": PBKDF2,
        "salt": salt.hex(),
        "iterations": 600000,
        "scheme": SEED_CBC,
        "iv": iv.hex(),
        "ciphertextLength": 1232,
        "headerLength": 4,
    }


def test_pkcs8_private_key_info_from_cryptography(js, rsa_key):
    der = rsa_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    numbers = rsa_key.private_numbers()
    result = js_call(
        js,
        """const root = D.decode(fromHex(arg));
        const [version, algorithm, privateKey] = root.children;
        const { oid, parameters } = D.readAlgorithmIdentifier(algorithm);
        const rsaKey = D.decode(privateKey.value).children;
        return {
            version: Number(D.readInteger(version)),
            algorithm: oid,
            parametersNull: parameters.tag === D.TAG.NULL && parameters.value.length === 0,
            privateKeyTag: privateKey.tag,
            rsaVersion: Number(D.readInteger(rsaKey[0])),
            modulus: toHex(D.readIntegerBytes(rsaKey[1])),
            publicExponent: D.readInteger(rsaKey[2]).toString(),
            privateExponent: D.readInteger(rsaKey[3]).toString(),
            fields: rsaKey.length,
            reencoded: toHex(D.encode(root)) === arg,
        };""",
        der.hex(),
    )
    assert result == {
        "version": 0,
        "algorithm": RSA_ENCRYPTION,
        "parametersNull": True,
        "privateKeyTag": 4,
        "rsaVersion": 0,
        "modulus": numbers.public_numbers.n.to_bytes(256, "big").hex(),
        "publicExponent": "65537",
        "privateExponent": str(numbers.d),
        "fields": 9,
        "reencoded": True,
    }


def test_pkcs8_with_npki_random_attribute_built_in_js(js, rsa_key):
    """PrivateKeyInfo with attributes [0] IMPLICIT SET OF Attribute carrying
    the NPKI random value R, as signPri.key holds it once decrypted."""
    der = rsa_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    random_r = os.urandom(20)
    inner_key = inner_rsa_private_key(der)
    expected = p_seq(
        p_int(0),
        p_seq(p_oid(RSA_ENCRYPTION), p_null()),
        p_octets(inner_key),
        p_ctx(0, p_seq(p_oid(NPKI_RANDOM_NUM), p_set(p_bits(random_r)))),
    )
    result = js_call(
        js,
        """const [pkcs8, r] = arg;
        const [version, algorithm, privateKey] = D.decode(fromHex(pkcs8)).children;
        const attribute = D.seq(D.oid("1.2.410.200004.10.1.1.3"), D.set(D.bitString(fromHex(r))));
        const built = D.encode(D.seq(version, algorithm, D.octets(privateKey.value), D.contextTag(0, D.set(attribute).children)));
        const [, , , attributes] = D.decode(built).children;
        const [type, values] = attributes.children[0].children;
        return {
            built: toHex(built),
            attributesTag: [attributes.tagClass, attributes.tag, attributes.constructed],
            type: D.oidToString(type),
            r: toHex(D.readBitString(values.children[0]).bytes),
        };""",
        [der.hex(), random_r.hex()],
    )
    assert result == {
        "built": expected.hex(),
        "attributesTag": ["context", 0, True],
        "type": NPKI_RANDOM_NUM,
        "r": random_r.hex(),
    }
    # OpenSSL (through cryptography) reads the attribute-carrying key.
    loaded = serialization.load_der_private_key(bytes.fromhex(result["built"]), password=None)
    assert loaded.private_numbers() == rsa_key.private_numbers()


def inner_rsa_private_key(pkcs8: bytes) -> bytes:
    """The RSAPrivateKey inside a PKCS#8 PrivateKeyInfo, by hand."""
    prefix = p_int(0) + p_seq(p_oid(RSA_ENCRYPTION), p_null())
    body_start = 4 if pkcs8[1] == 0x82 else 2
    assert pkcs8[body_start : body_start + len(prefix)] == prefix
    at = body_start + len(prefix)
    assert pkcs8[at] == 0x04 and pkcs8[at + 1] == 0x82
    length = int.from_bytes(pkcs8[at + 2 : at + 4])
    return pkcs8[at + 4 : at + 4 + length]


def test_subject_public_key_info_built_in_js(js, rsa_key):
    spki = rsa_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    public = rsa_key.public_key().public_numbers()
    result = js_call(
        js,
        """const [n, e] = arg;
        const rsaPublicKey = D.encode(D.seq(D.int(fromHex(n)), D.int(Number(e))));
        const built = D.encode(D.seq(D.seq(D.oid("1.2.840.113549.1.1.1"), D.nullValue()), D.bitString(rsaPublicKey)));
        const read = D.readSubjectPublicKeyInfo(D.decode(built));
        return { built: toHex(built), algorithm: read.algorithm, publicKey: toHex(read.publicKey) === toHex(rsaPublicKey) };""",
        [public.n.to_bytes(256, "big").hex(), str(public.e)],
    )
    assert result == {"built": spki.hex(), "algorithm": RSA_ENCRYPTION, "publicKey": True}
    assert serialization.load_der_public_key(bytes.fromhex(result["built"])).public_numbers() == public


def test_set_sorting_strings_and_context_tags_match_python(js):
    result = js_call(
        js,
        """return {
            set: toHex(D.encode(D.set(D.int(256), D.octets(new Uint8Array([1])), D.int(1), D.nullValue()))),
            explicit: toHex(D.encode(D.contextTag(0, D.int(2)))),
            implicitPrimitive: toHex(D.encode(D.contextTag(1, D.octets(fromHex("cafe")), { constructed: false }))),
            implicitBytes: toHex(D.encode(D.contextTag(2, fromHex("beef"), { constructed: false }))),
            printable: toHex(D.encode(D.printable("KR"))),
            utf8: toHex(D.encode(D.utf8("홍길동"))),
            nullValue: toHex(D.encode(D.nullValue())),
            bits: toHex(D.encode(D.bitString(fromHex("80"), 7))),
        };""",
    )
    assert result == {
        "set": p_set(p_int(256), p_octets(b"\x01"), p_int(1), p_null()).hex(),
        "explicit": p_ctx(0, p_int(2)).hex(),
        "implicitPrimitive": p_ctx(1, b"\xca\xfe", constructed=False).hex(),
        "implicitBytes": p_ctx(2, b"\xbe\xef", constructed=False).hex(),
        "printable": p_tlv(0x13, b"KR").hex(),
        "utf8": p_tlv(0x0C, "홍길동".encode()).hex(),
        "nullValue": "0500",
        "bits": "03020780",
    }


# --- an X.509 certificate from cryptography, read in JS ---------------------


def test_certificate_from_cryptography_read_in_js(js, certificate, serial_number, rsa_key):
    der = certificate.public_bytes(serialization.Encoding.DER)
    result = js_call(
        js,
        """const cert = D.parseCertificate(fromHex(arg));
        const root = D.decode(fromHex(arg));
        return {
            version: cert.version,
            serial: cert.serialNumber.toString(),
            signatureAlgorithm: cert.signatureAlgorithm,
            subject: cert.subject.map(({ type, value }) => [type, value]),
            issuer: cert.issuer.map(({ type, value }) => [type, value]),
            notBefore: cert.notBefore.toISOString(),
            notAfter: cert.notAfter.toISOString(),
            spki: toHex(cert.subjectPublicKeyInfo.bytes),
            spkiAlgorithm: cert.subjectPublicKeyInfo.algorithm,
            tbs: toHex(cert.tbsBytes),
            signature: toHex(cert.signature),
            timeTags: root.children[0].children[4].children.map((n) => n.tag),
            reencoded: toHex(D.encode(root)) === arg,
        };""",
        der.hex(),
    )
    assert result == {
        "version": 3,
        "serial": str(serial_number),
        "signatureAlgorithm": "1.2.840.10045.4.3.2",  # ecdsa-with-SHA256
        "subject": [
            ["2.5.4.6", "KR"],
            ["2.5.4.10", "certbank"],
            ["2.5.4.11", "personal4IB"],
            ["2.5.4.11", "NURI"],
            ["2.5.4.3", HONG_CN],
        ],
        "issuer": [["2.5.4.6", "KR"], ["2.5.4.10", "Certbank Demo"], ["2.5.4.3", "Certbank Demo CA"]],
        "notBefore": "2026-01-02T03:04:05.000Z",
        "notAfter": "2051-06-30T23:59:59.000Z",
        "spki": rsa_key.public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        .hex(),
        "spkiAlgorithm": RSA_ENCRYPTION,
        "tbs": certificate.tbs_certificate_bytes.hex(),
        "signature": certificate.signature.hex(),
        "timeTags": [23, 24],  # UTCTime, then GeneralizedTime after 2049
        "reencoded": True,
    }


def test_times_and_strings(js):
    cases = {
        "utc2049": p_tlv(0x17, b"491231235959Z"),
        "utc1950": p_tlv(0x17, b"500101000000Z"),
        "generalizedFraction": p_tlv(0x18, b"20260102030405.25Z"),
        "bmp": p_tlv(0x1E, "홍길동".encode("utf-16-be")),
        "printable": p_tlv(0x13, b"personal4IB"),
        "utf8": p_tlv(0x0C, HONG_CN.encode()),
        "ia5": p_tlv(0x16, b"hong@example.com"),
    }
    result = js_call(
        js,
        """const out = {};
        for (const [name, hex] of Object.entries(arg)) {
            const node = D.decode(fromHex(hex));
            out[name] = name.startsWith("utc") || name.startsWith("generalized")
                ? D.readTime(node).toISOString() : D.readString(node);
        }
        return out;""",
        {name: der.hex() for name, der in cases.items()},
    )
    assert result == {
        "utc2049": "2049-12-31T23:59:59.000Z",
        "utc1950": "1950-01-01T00:00:00.000Z",
        "generalizedFraction": "2026-01-02T03:04:05.250Z",
        "bmp": "홍길동",
        "printable": "personal4IB",
        "utf8": HONG_CN,
        "ia5": "hong@example.com",
    }


# --- strictness ---------------------------------------------------------------

STRICT_DECODE_CASES = {
    "indefinite length": ("3080020100" + "0000", "indefinite length"),
    "non-minimal long form": ("308103020100", "non-minimal length"),
    "length with leading zero": ("30820003020100", "non-minimal length"),
    "truncated content": ("3005020100", "declares 5 content bytes but only 3 remain in the input (truncated?)"),
    "truncated last child": ("30050201000201", "element at offset 5 declares 1 content bytes but only 0 remain"),
    "truncated length": ("3082", "cut off"),
    "missing length": ("30", "length of the element at offset 0 is missing"),
    "trailing garbage": ("300302010000", "1 trailing byte(s) after the top-level element"),
    "child past its parent": ("30030202" + "0100", "remain in its enclosing element"),
    "multi-byte tag": ("1f810001" + "00", "multi-byte (high-number) tags are not supported"),
    "reserved length octet": ("30ff", "reserved length octet"),
    "huge length": ("30850100000000", "too large"),
    "empty input": ("", "the input is empty"),
    "non-minimal integer": ("02020001", "not minimally encoded"),
    "empty integer": ("0200", "INTEGER at offset 0 is empty"),
    "primitive sequence": ("1000", "SEQUENCE at offset 0 must use the constructed encoding"),
    "constructed octet string": ("2400", "OCTET STRING at offset 0 must use the primitive encoding"),
    "null with content": ("050100", "NULL at offset 0 must be empty"),
    "bad boolean": ("010101", "BOOLEAN"),
    "bit string unused bits": ("03020101", "non-zero unused bits"),
    "end-of-contents": ("0000", "end-of-contents"),
}


def test_strict_decoding_errors(js):
    result = js_call(
        js,
        """const out = {};
        for (const [name, hex] of Object.entries(arg)) {
            try { D.decode(fromHex(hex)); out[name] = "no error"; }
            catch (error) { out[name] = (error instanceof Error ? "" : "not an Error: ") + error.message; }
        }
        return out;""",
        {name: hex_ for name, (hex_, _) in STRICT_DECODE_CASES.items()},
    )
    for name, (_, fragment) in STRICT_DECODE_CASES.items():
        assert result[name].startswith("DER: "), (name, result[name])
        assert fragment in result[name], (name, result[name])


def test_strictness_on_a_real_certificate(js, certificate):
    der = certificate.public_bytes(serialization.Encoding.DER)
    result = js_call(
        js,
        """const attempt = (hex) => {
            try { D.parseCertificate(fromHex(hex)); return "no error"; } catch (e) { return e.message; }
        };
        return { truncated: attempt(arg.slice(0, -2)), trailing: attempt(arg + "00"), whole: attempt(arg) };""",
        der.hex(),
    )
    assert "truncated" in result["truncated"]
    assert "trailing byte" in result["trailing"]
    assert result["whole"] == "no error"


def test_reader_and_encoder_errors(js):
    result = js_call(
        js,
        """const attempt = (fn) => { try { fn(); return "no error"; } catch (e) { return e.message; } };
        return {
            oidLeading80: attempt(() => D.oidToString(fromHex("2a8001"))),
            oidUnfinished: attempt(() => D.oidToString(fromHex("2a86"))),
            oidText: attempt(() => D.oid("1")),
            oidSecondArc: attempt(() => D.oid("1.40")),
            month13: attempt(() => D.readTime(D.decode(fromHex("170d3235313330313030303030305a")))),
            feb30: attempt(() => D.readTime(D.decode(fromHex("170d3236303233303030303030305a")))),
            noSeconds: attempt(() => D.readTime(D.decode(fromHex("170b323630313031303030305a")))),
            wrongType: attempt(() => D.readInteger(D.decode(fromHex("0500")))),
            printable: attempt(() => D.printable("홍")),
            badUtf8: attempt(() => D.readString(D.decode(fromHex("0c01ff")))),
            bigTag: attempt(() => D.contextTag(31, [])),
            unsafe: attempt(() => D.int(2 ** 60)),
            notNode: attempt(() => D.seq(D.int(1), undefined)),
        };""",
    )
    assert result == {
        "oidLeading80": "DER: OBJECT IDENTIFIER has a non-minimal subidentifier (leading 0x80)",
        "oidUnfinished": "DER: OBJECT IDENTIFIER is truncated (last subidentifier unfinished)",
        "oidText": 'DER: "1" is not a dotted OID',
        "oidSecondArc": "DER: invalid OID 1.40",
        "month13": 'DER: UTCTime "251301000000Z" is not a valid date and time',
        "feb30": 'DER: UTCTime "260230000000Z" is not a valid date and time',
        "noSeconds": 'DER: UTCTime "2601010000Z" is not in DER form',
        "wrongType": "DER: expected INTEGER, got NULL",
        "printable": 'DER: "홍" is not a PrintableString',
        "badUtf8": "DER: UTF8String is not valid UTF-8",
        "bigTag": "DER: context tag [31] is not supported (0..30 only)",
        "unsafe": "DER: INTEGER 1152921504606847000 is not a safe integer (use a BigInt)",
        "notNode": "DER: SEQUENCE element 1 is not a DER node",
    }
