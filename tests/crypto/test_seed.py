"""static/js/crypto/seed.js: SEED (RFC 4269) and SEED-CBC/PKCS#7 in Chromium,
checked against the RFC's test vectors and against `cryptography`'s SEED."""

import random

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import SEED
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, modes

pytestmark = pytest.mark.browser

# RFC 4269 "The SEED Encryption Algorithm", Appendix B (B.1 to B.4):
# (key, plaintext, ciphertext).
RFC4269_VECTORS = [
    ("00000000000000000000000000000000", "000102030405060708090A0B0C0D0E0F", "5EBAC6E0054E166819AFF1CC6D346CDB"),
    ("000102030405060708090A0B0C0D0E0F", "00000000000000000000000000000000", "C11F22F20140505084483597E4370F43"),
    ("4706480851E61BE85D74BFB3FD956185", "83A2F8A288641FB9A4E9A5CC2F131C7D", "EE54D13EBCAE706D226BC3142CD40D4A"),
    ("28DBC3BC49FFD87DCFA509B11D422BE7", "B41E6BE2EBA84A148E2EED84593C5EC7", "9B9B7BFCD1813CB95D0B3618F40F5122"),
]

PADDING_ERROR = "SEED-CBC: invalid padding"


def py_cbc_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(SEED(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def py_cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    decryptor = Cipher(SEED(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def py_ecb_encrypt_block(key: bytes, block: bytes) -> bytes:
    encryptor = Cipher(SEED(key), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


@pytest.mark.parametrize(("key", "plaintext", "ciphertext"), RFC4269_VECTORS, ids=["B.1", "B.2", "B.3", "B.4"])
def test_rfc4269_test_vectors(js, key, plaintext, ciphertext):
    # The vectors themselves, confirmed by an independent implementation.
    assert py_ecb_encrypt_block(bytes.fromhex(key), bytes.fromhex(plaintext)).hex() == ciphertext.lower()

    result = js(
        """async ([key, plaintext, ciphertext]) => {
            const { seedEncryptBlock, seedDecryptBlock } = await import("/js/crypto/seed.js");
            return {
                encrypted: toHex(seedEncryptBlock(fromHex(key), fromHex(plaintext))),
                decrypted: toHex(seedDecryptBlock(fromHex(key), fromHex(ciphertext))),
            };
        }""",
        [key.lower(), plaintext.lower(), ciphertext.lower()],
    )
    assert result == {"encrypted": ciphertext.lower(), "decrypted": plaintext.lower()}


@pytest.fixture(scope="module")
def random_cases():
    rng = random.Random(4269)
    lengths = [0, 1, 15, 16, 17, 31, 32, 33, 100] + [rng.randrange(0, 101) for _ in range(41)]
    cases = []
    for length in lengths:
        key, iv, plaintext = rng.randbytes(16), rng.randbytes(16), rng.randbytes(length)
        cases.append(
            {
                "key": key.hex(),
                "iv": iv.hex(),
                "plaintext": plaintext.hex(),
                "ciphertext": py_cbc_encrypt(key, iv, plaintext).hex(),
            }
        )
    return cases


def test_cbc_random_cases_match_cryptography(js, random_cases):
    assert len(random_cases) == 50
    results = js(
        """async (cases) => {
            const { seedCbcEncrypt, seedCbcDecrypt } = await import("/js/crypto/seed.js");
            return cases.map(({ key, iv, plaintext, ciphertext }) => ({
                encrypted: toHex(seedCbcEncrypt(fromHex(key), fromHex(iv), fromHex(plaintext))),
                decrypted: toHex(seedCbcDecrypt(fromHex(key), fromHex(iv), fromHex(ciphertext))),
            }));
        }""",
        random_cases,
    )
    for case, result in zip(random_cases, results, strict=True):
        # JS encryption is byte-for-byte Python's; JS decrypts Python's ciphertext.
        assert result["encrypted"] == case["ciphertext"], case
        assert result["decrypted"] == case["plaintext"], case
        # And Python decrypts JS's ciphertext.
        key, iv = bytes.fromhex(case["key"]), bytes.fromhex(case["iv"])
        assert py_cbc_decrypt(key, iv, bytes.fromhex(result["encrypted"])).hex() == case["plaintext"]
        # PKCS#7 always pads: 1..16 bytes.
        assert len(result["encrypted"]) // 2 == (len(case["plaintext"]) // 2 // 16 + 1) * 16


def test_seed_cipher_object_reuses_its_key_schedule(js):
    result = js(
        """async () => {
            const S = await import("/js/crypto/seed.js");
            const key = fromHex("4706480851e61be85d74bfb3fd956185");
            const iv = fromHex("000102030405060708090a0b0c0d0e0f");
            const cipher = new S.SeedCipher(key);
            const message = new TextEncoder().encode("홍길동 signPri.key 시험 ".repeat(20));
            const ct = cipher.cbcEncrypt(iv, message);
            return {
                sameAsFunction: toHex(ct) === toHex(S.seedCbcEncrypt(key, iv, message)),
                roundTrip: new TextDecoder().decode(cipher.cbcDecrypt(iv, ct)),
                block: toHex(cipher.encryptBlock(fromHex("83a2f8a288641fb9a4e9a5cc2f131c7d"))),
                arrayBufferInput: toHex(S.seedCbcDecrypt(key.buffer, iv.buffer, ct.buffer)) === toHex(message),
                noGlobals: ["SS0", "S1", "KC", "G", "SeedCipher"].filter((name) => name in globalThis),
            };
        }"""
    )
    assert result == {
        "sameAsFunction": True,
        "roundTrip": "홍길동 signPri.key 시험 " * 20,
        "block": "ee54d13ebcae706d226bc3142cd40d4a",
        "arrayBufferInput": True,
        "noGlobals": [],
    }


def test_wrong_key_fails_with_the_padding_error(js):
    key = bytes.fromhex("28dbc3bc49ffd87dcfa509b11d422be7")
    wrong_key = bytes.fromhex("28dbc3bc49ffd87dcfa509b11d422be6")
    iv = bytes(range(16))
    plaintext = b"0\x82\x04\xbe\x02\x01\x000\r\x06\t*\x86H\x86\xf7\r\x01\x01\x01\x05\x00" * 3
    ciphertext = py_cbc_encrypt(key, iv, plaintext)
    # Precondition, checked independently: this wrong key gives bad padding.
    with pytest.raises(ValueError):
        py_cbc_decrypt(wrong_key, iv, ciphertext)

    result = js(
        """async ([key, iv, ciphertext]) => {
            const { seedCbcDecrypt } = await import("/js/crypto/seed.js");
            try {
                return { plaintext: toHex(seedCbcDecrypt(fromHex(key), fromHex(iv), fromHex(ciphertext))) };
            } catch (error) {
                return { error: error.message, isError: error instanceof Error };
            }
        }""",
        [wrong_key.hex(), iv.hex(), ciphertext.hex()],
    )
    assert result["isError"] is True
    assert result["error"].startswith(PADDING_ERROR), result


def test_tampered_padding_is_rejected(js):
    key, iv = bytes(16), bytes(16)
    # One-block messages whose plaintext ends in each kind of bad padding.
    bad_endings = {
        "zero": b"A" * 15 + b"\x00",
        "too big": b"A" * 15 + b"\x11",
        "inconsistent": b"A" * 13 + b"\x03\x02\x03",
    }
    ciphertexts = {}
    for name, block in bad_endings.items():
        encryptor = Cipher(SEED(key), modes.CBC(iv)).encryptor()
        ciphertexts[name] = (encryptor.update(block) + encryptor.finalize()).hex()

    result = js(
        """async (ciphertexts) => {
            const { seedCbcDecrypt } = await import("/js/crypto/seed.js");
            const zero = new Uint8Array(16);
            const out = {};
            for (const [name, ct] of Object.entries(ciphertexts)) {
                try { seedCbcDecrypt(zero, zero, fromHex(ct)); out[name] = "no error"; }
                catch (error) { out[name] = error.message; }
            }
            return out;
        }""",
        ciphertexts,
    )
    for name, message in result.items():
        assert message.startswith(PADDING_ERROR), (name, message)


def test_bad_sizes_are_clear_errors(js):
    result = js(
        """async () => {
            const S = await import("/js/crypto/seed.js");
            const attempt = (fn) => { try { fn(); return "no error"; } catch (error) { return error.message; } };
            const b16 = new Uint8Array(16);
            return {
                shortKey: attempt(() => S.seedEncryptBlock(new Uint8Array(15), b16)),
                longBlock: attempt(() => S.seedDecryptBlock(b16, new Uint8Array(17))),
                badIv: attempt(() => S.seedCbcEncrypt(b16, new Uint8Array(8), b16)),
                partialBlock: attempt(() => S.seedCbcDecrypt(b16, b16, new Uint8Array(17))),
                empty: attempt(() => S.seedCbcDecrypt(b16, b16, new Uint8Array(0))),
                notBytes: attempt(() => S.seedCbcEncrypt("0123456789abcdef", b16, b16)),
            };
        }"""
    )
    assert result == {
        "shortKey": "SEED: key must be 16 bytes, got 15",
        "longBlock": "SEED: block must be 16 bytes, got 17",
        "badIv": "SEED: IV must be 16 bytes, got 8",
        "partialBlock": "SEED-CBC: ciphertext length 17 is not a positive multiple of 16 bytes",
        "empty": "SEED-CBC: ciphertext length 0 is not a positive multiple of 16 bytes",
        "notBytes": "SEED: key must be a Uint8Array or an ArrayBuffer",
    }
