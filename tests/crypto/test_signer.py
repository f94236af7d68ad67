"""static/js/crypto/signer.js in Chromium: RSA-2048 key generation, a
non-extractable signing key, signatures that `cryptography` and the server's
PKCS#1 v1.5/SHA-256 check accept, and the whole key-file path (generate →
signPri.key → open → import → sign)."""

import os

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from certificates.client import npki

pytestmark = pytest.mark.browser

PASSWORD = "Certbank#2025pw"


def verify(spki: bytes, signature: bytes, message: bytes) -> None:
    public_key = serialization.load_der_public_key(spki)
    public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())


def test_generate_key_pair_and_sign(js):
    message = "이체 확인: 홍길동 → 김철수 1,000,000원".encode()
    result = js(
        """async (message) => {
            const { generateKeyPair, sign } = await import("/js/crypto/signer.js");
            const t0 = performance.now();
            const pair = await generateKeyPair();
            const generateMs = performance.now() - t0;
            const t1 = performance.now();
            const signature = await sign(pair.signingKey, fromHex(message));
            const signMs = performance.now() - t1;
            let exportError = null;
            try { await crypto.subtle.exportKey("pkcs8", pair.signingKey); } catch (error) { exportError = error.name; }
            return {
                pkcs8: toHex(pair.privateKeyPkcs8),
                spki: toHex(pair.publicKeySpki),
                signature: toHex(signature),
                isUint8: pair.privateKeyPkcs8 instanceof Uint8Array && pair.publicKeySpki instanceof Uint8Array
                    && signature instanceof Uint8Array,
                extractable: pair.signingKey.extractable,
                type: pair.signingKey.type,
                usages: pair.signingKey.usages,
                algorithm: { name: pair.signingKey.algorithm.name, hash: pair.signingKey.algorithm.hash.name,
                             modulusLength: pair.signingKey.algorithm.modulusLength,
                             publicExponent: toHex(pair.signingKey.algorithm.publicExponent) },
                exportError, generateMs, signMs,
            };
        }""",
        message.hex(),
    )
    print(f"\nChromium: RSA-2048 generateKeyPair {result['generateMs']:.0f} ms, sign {result['signMs']:.1f} ms")
    assert result["isUint8"] is True
    assert result["extractable"] is False
    assert result["exportError"] == "InvalidAccessError"
    assert result["type"] == "private"
    assert result["usages"] == ["sign"]
    assert result["algorithm"] == {
        "name": "RSASSA-PKCS1-v1_5",
        "hash": "SHA-256",
        "modulusLength": 2048,
        "publicExponent": "010001",
    }
    public_key = serialization.load_der_public_key(bytes.fromhex(result["spki"]))
    assert isinstance(public_key, rsa.RSAPublicKey)
    assert public_key.key_size == 2048
    assert public_key.public_numbers().e == 65537
    private_key = serialization.load_der_private_key(bytes.fromhex(result["pkcs8"]), password=None)
    assert private_key.public_key().public_numbers() == public_key.public_numbers()
    verify(bytes.fromhex(result["spki"]), bytes.fromhex(result["signature"]), message)
    # PKCS#1 v1.5 is deterministic: Python's signature over the same bytes is identical.
    assert private_key.sign(message, padding.PKCS1v15(), hashes.SHA256()).hex() == result["signature"]


def test_modulus_length_option(js):
    result = js(
        """async () => {
            const { generateKeyPair } = await import("/js/crypto/signer.js");
            const pair = await generateKeyPair({ modulusLength: 3072 });
            return toHex(pair.publicKeySpki);
        }"""
    )
    assert serialization.load_der_public_key(bytes.fromhex(result)).key_size == 3072


def test_random_r(js):
    result = js(
        """async () => {
            const { randomR, R_LENGTH } = await import("/js/crypto/signer.js");
            const a = randomR(), b = randomR();
            return { R_LENGTH, a: toHex(a), b: toHex(b), isUint8: a instanceof Uint8Array };
        }"""
    )
    assert result["R_LENGTH"] == 20
    assert len(bytes.fromhex(result["a"])) == 20
    assert result["a"] != result["b"]
    assert result["isUint8"] is True


def test_import_signing_key_with_and_without_attributes(js):
    """importSigningKey strips PKCS#8 attributes (the NPKI R), so both forms
    import whatever the browser thinks of attributes (Chromium 156 accepts
    them in a raw importKey; the test prints it)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    r = os.urandom(20)
    plain = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    # The same PKCS#8 with the R attribute, as it is inside signPri.key.
    with_r = npki._tlv(0x30, npki._decode(plain).value + npki._random_attribute(r))
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    result = js(
        """async ([plain, withR]) => {
            const { importSigningKey, sign } = await import("/js/crypto/signer.js");
            let rawImportWithAttributes;
            try {
                const algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
                await crypto.subtle.importKey("pkcs8", fromHex(withR), algorithm, false, ["sign"]);
                rawImportWithAttributes = "accepted";
            } catch (error) {
                rawImportWithAttributes = error.name;
            }
            const out = { rawImportWithAttributes };
            for (const [name, pkcs8] of [["plain", plain], ["withR", withR]]) {
                const key = await importSigningKey(fromHex(pkcs8));
                const signature = toHex(await sign(key, new TextEncoder().encode("login")));
                out[name] = { extractable: key.extractable, signature };
            }
            return out;
        }""",
        [plain.hex(), with_r.hex()],
    )
    print(f"\nChromium importKey('pkcs8') of a PrivateKeyInfo with attributes: {result['rawImportWithAttributes']}")
    for name in ("plain", "withR"):
        assert result[name]["extractable"] is False
        verify(spki, bytes.fromhex(result[name]["signature"]), b"login")


def test_generate_store_open_sign_round_trip(js):
    """The issuance path: generate, write signPri.key with R, open it again,
    import and sign; Python opens the same file and checks the signature."""
    result = js(
        """async (password) => {
            const { generateKeyPair, randomR, importSigningKey, sign } = await import("/js/crypto/signer.js");
            const { encryptKeyFile, decryptKeyFile } = await import("/js/crypto/npki.js");
            const pair = await generateKeyPair();
            const r = randomR();
            const file = await encryptKeyFile({ privateKeyPkcs8: pair.privateKeyPkcs8, r, password, iterations: 2048 });
            const opened = await decryptKeyFile(file, password);
            const key = await importSigningKey(opened.privateKeyPkcs8);
            const message = new TextEncoder().encode("challenge-123");
            return {
                file: toHex(file), r: toHex(r), openedR: toHex(opened.r), spki: toHex(pair.publicKeySpki),
                samePkcs8: toHex(opened.privateKeyPkcs8) === toHex(pair.privateKeyPkcs8),
                signature: toHex(await sign(key, message)),
            };
        }""",
        PASSWORD,
    )
    assert result["samePkcs8"] is True
    assert result["openedR"] == result["r"]
    verify(bytes.fromhex(result["spki"]), bytes.fromhex(result["signature"]), b"challenge-123")
    private_key, r = npki.decrypt_key_file(bytes.fromhex(result["file"]), PASSWORD)
    assert r.hex() == result["r"]
    spki = private_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert spki.hex() == result["spki"]


def test_sign_accepts_array_buffer_and_strings(js):
    result = js(
        """async () => {
            const { generateKeyPair, sign } = await import("/js/crypto/signer.js");
            const pair = await generateKeyPair();
            const bytes = new TextEncoder().encode("같은 메시지");
            return {
                spki: toHex(pair.publicKeySpki),
                fromBuffer: toHex(await sign(pair.signingKey, bytes.buffer)),
                fromString: toHex(await sign(pair.signingKey, "같은 메시지")),
            };
        }"""
    )
    assert result["fromBuffer"] == result["fromString"]
    verify(bytes.fromhex(result["spki"]), bytes.fromhex(result["fromBuffer"]), "같은 메시지".encode())
