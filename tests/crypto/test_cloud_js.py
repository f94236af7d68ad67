"""static/js/crypto/cloud.js in Chromium against certificates/client/cloud.py:
the PIN verifier is PBKDF2-HMAC-SHA256, a blob wrapped in either language
opens in the other, nothing but the right PIN *and* server secret opens it,
the unwrapped key signs, R survives, a PIN change re-wraps, and both sides
refuse the same weak PINs."""

import hashlib
import os
import random

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from certificates.client import cloud

pytestmark = pytest.mark.browser

FAST = 1000  # iterations in tests (production: 100,000, timed below)
PIN = "482915"


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def material():
    return {"server_secret": os.urandom(32), "wrap_salt": os.urandom(16), "iterations": FAST}


@pytest.fixture
def r():
    return os.urandom(20)


def pkcs8_of(key) -> bytes:
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def js_wrap(js, pkcs8: bytes, r: bytes, pin: str, material: dict) -> bytes:
    result = js(
        """async ([pkcs8, r, pin, secret, salt, iterations]) => {
            const { wrapKey } = await import("/js/crypto/cloud.js");
            const privateKeyPkcs8 = fromHex(pkcs8);
            const blob = await wrapKey({
                privateKeyPkcs8, r: fromHex(r), pin,
                serverSecret: fromHex(secret), wrapSalt: fromHex(salt), iterations,
            });
            return { blob: toHex(blob), callerBytesKept: toHex(privateKeyPkcs8) === pkcs8 };
        }""",
        [pkcs8.hex(), r.hex(), pin, material["server_secret"].hex(), material["wrap_salt"].hex(), material["iterations"]],
    )
    assert result["callerBytesKept"], "wrapKey must not wipe the caller's PKCS#8"
    return bytes.fromhex(result["blob"])


def js_unwrap_and_sign(js, blob: bytes, pin: str, material: dict, message: str = "이체 100,000원") -> dict:
    """{r, signature, extractable, algorithm, usages} or {error, message}."""
    return js(
        """async ([blob, pin, secret, salt, iterations, message]) => {
            const { unwrapKey, CloudKeyError } = await import("/js/crypto/cloud.js");
            const { sign } = await import("/js/crypto/signer.js");
            try {
                const { signingKey, r } = await unwrapKey({
                    blob: fromHex(blob), pin,
                    serverSecret: fromHex(secret), wrapSalt: fromHex(salt), iterations,
                });
                return {
                    r: toHex(r),
                    signature: toHex(await sign(signingKey, message)),
                    extractable: signingKey.extractable,
                    algorithm: signingKey.algorithm.name + "/" + signingKey.algorithm.hash.name,
                    usages: signingKey.usages,
                };
            } catch (error) {
                return { error: error.name, message: error.message, isCloudKeyError: error instanceof CloudKeyError };
            }
        }""",
        [blob.hex(), pin, material["server_secret"].hex(), material["wrap_salt"].hex(), material["iterations"], message],
    )


def assert_refused(result):
    assert result.get("error") == "CloudKeyError", result
    assert result["isCloudKeyError"]
    assert result["message"] == "금융인증서를 열 수 없습니다. PIN 또는 인증서 정보가 올바르지 않습니다."


def verify(key, signature_hex: str, message: str = "이체 100,000원") -> None:
    key.public_key().verify(bytes.fromhex(signature_hex), message.encode(), padding.PKCS1v15(), hashes.SHA256())


# ------------------------------------------------------------------ verifier


def test_pin_verifier_matches_hashlib_pbkdf2(js):
    salt = os.urandom(16)
    verifier = js(
        """async ([pin, salt, iterations]) => {
            const { pinVerifier } = await import("/js/crypto/cloud.js");
            return toHex(await pinVerifier(pin, { verifierSalt: fromHex(salt), iterations }));
        }""",
        [PIN, salt.hex(), FAST],
    )
    assert bytes.fromhex(verifier) == hashlib.pbkdf2_hmac("sha256", PIN.encode(), salt, FAST, 32)
    assert bytes.fromhex(verifier) == cloud.pin_verifier(PIN, salt, FAST)


def test_pin_verifier_refuses_malformed_input(js):
    errors = js(
        """async () => {
            const { pinVerifier } = await import("/js/crypto/cloud.js");
            const salt = new Uint8Array(16);
            const cases = [
                ["12345", salt, 1000], ["1234567", salt, 1000], ["12a456", salt, 1000], [123456, salt, 1000],
                ["123456", new Uint8Array(15), 1000], ["123456", salt, 0], ["123456", salt, 1.5],
            ];
            const out = [];
            for (const [pin, verifierSalt, iterations] of cases) {
                try { await pinVerifier(pin, { verifierSalt, iterations }); out.push("accepted"); }
                catch (error) { out.push(error.name); }
            }
            return out;
        }"""
    )
    assert errors == ["TypeError"] * 4 + ["RangeError"] * 3


# ------------------------------------------------------------------ interop


def test_blob_wrapped_in_js_opens_in_python(js, key, material, r):
    blob = js_wrap(js, pkcs8_of(key), r, PIN, material)
    assert blob[0] == 0x01
    opened, opened_r = cloud.unwrap_key(blob, PIN, **material)
    assert opened.private_numbers() == key.private_numbers()
    assert opened_r == r


def test_blob_wrapped_in_python_opens_in_js_and_signs(js, key, material, r):
    blob = cloud.wrap_key(key, r, PIN, **material)
    result = js_unwrap_and_sign(js, blob, PIN, material)
    assert result.get("r") == r.hex(), result
    verify(key, result["signature"])
    assert result["extractable"] is False
    assert result["algorithm"] == "RSASSA-PKCS1-v1_5/SHA-256"
    assert result["usages"] == ["sign"]


def test_blob_wrapped_in_js_opens_in_js(js, key, material, r):
    blob = js_wrap(js, pkcs8_of(key), r, PIN, material)
    result = js_unwrap_and_sign(js, blob, PIN, material, "로그인 챌린지")
    assert result.get("r") == r.hex(), result
    verify(key, result["signature"], "로그인 챌린지")


def test_wrap_accepts_the_pkcs8_webcrypto_exports(js):
    """The issuance flow wraps what signer.generateKeyPair() exported."""
    result = js(
        """async () => {
            const { generateKeyPair, randomR, sign } = await import("/js/crypto/signer.js");
            const cloud = await import("/js/crypto/cloud.js");
            const { privateKeyPkcs8, publicKeySpki } = await generateKeyPair();
            const args = { pin: "730461", serverSecret: crypto.getRandomValues(new Uint8Array(32)),
                           wrapSalt: cloud.randomSalt(), iterations: 1000 };
            const r = randomR();
            const blob = await cloud.wrapKey({ privateKeyPkcs8, r, ...args });
            const opened = await cloud.unwrapKey({ blob, ...args });
            const verifyKey = await crypto.subtle.importKey("spki", publicKeySpki,
                { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["verify"]);
            const data = new TextEncoder().encode("hello");
            const ok = await crypto.subtle.verify("RSASSA-PKCS1-v1_5", verifyKey, await sign(opened.signingKey, data), data);
            return { ok, sameR: toHex(opened.r) === toHex(r), saltLength: args.wrapSalt.length };
        }"""
    )
    assert result == {"ok": True, "sameR": True, "saltLength": 16}


# ------------------------------------------------------------------ refusals


def test_wrong_pin_is_refused(js, key, material, r):
    blob = cloud.wrap_key(key, r, PIN, **material)
    assert_refused(js_unwrap_and_sign(js, blob, "482916", material))


def test_wrong_server_secret_is_refused(js, key, material, r):
    blob = js_wrap(js, pkcs8_of(key), r, PIN, material)
    assert_refused(js_unwrap_and_sign(js, blob, PIN, {**material, "server_secret": os.urandom(32)}))
    with pytest.raises(cloud.CloudKeyError):
        cloud.unwrap_key(blob, PIN, **{**material, "server_secret": os.urandom(32)})


def test_pin_alone_or_secret_alone_are_not_enough(js, key, material, r):
    """Without the secret (a database dump), every guessed PIN fails; with
    the secret, every other PIN fails."""
    blob = js_wrap(js, pkcs8_of(key), r, PIN, material)
    for guess in ("000000", "123456", "482914", "482915"):
        with pytest.raises(cloud.CloudKeyError):
            cloud.unwrap_key(blob, guess, **{**material, "server_secret": bytes(32)})
    for guess in ("000000", "123456", "482914"):
        with pytest.raises(cloud.CloudKeyError):
            cloud.unwrap_key(blob, guess, **material)


@pytest.mark.parametrize("where", [1, 12, 13, 100, -16, -1])
def test_flipped_byte_is_refused(js, key, material, r, where):
    blob = bytearray(js_wrap(js, pkcs8_of(key), r, PIN, material))
    blob[where] ^= 0x80
    assert_refused(js_unwrap_and_sign(js, bytes(blob), PIN, material))
    with pytest.raises(cloud.CloudKeyError):
        cloud.unwrap_key(bytes(blob), PIN, **material)


@pytest.mark.parametrize("version", [0x00, 0x02])
def test_wrong_version_byte_is_refused(js, key, material, r, version):
    blob = bytes([version]) + cloud.wrap_key(key, r, PIN, **material)[1:]
    assert_refused(js_unwrap_and_sign(js, blob, PIN, material))


@pytest.mark.parametrize("blob", [b"", b"\x01", bytes.fromhex("01") + bytes(28)])
def test_truncated_blob_is_refused(js, material, blob):
    assert_refused(js_unwrap_and_sign(js, blob, PIN, material))


def test_authenticated_blob_without_r_is_refused(js, key, material):
    blob = cloud._seal(pkcs8_of(key), PIN, material["server_secret"], material["wrap_salt"], FAST)
    assert_refused(js_unwrap_and_sign(js, blob, PIN, material))


# ------------------------------------------------------------------ PIN change


def test_rewrap_opens_with_the_new_pin_only(js, key, material, r):
    blob = cloud.wrap_key(key, r, PIN, **material)
    new_salt = os.urandom(16)
    new_blob = bytes.fromhex(
        js(
            """async ([blob, secret, salt, newSalt, iterations]) => {
                const { rewrapKey } = await import("/js/crypto/cloud.js");
                return toHex(await rewrapKey({
                    blob: fromHex(blob), oldPin: "482915", newPin: "730461", serverSecret: fromHex(secret),
                    wrapSalt: fromHex(salt), newWrapSalt: fromHex(newSalt), iterations,
                }));
            }""",
            [blob.hex(), material["server_secret"].hex(), material["wrap_salt"].hex(), new_salt.hex(), FAST],
        )
    )
    new_material = {**material, "wrap_salt": new_salt}
    opened, opened_r = cloud.unwrap_key(new_blob, "730461", **new_material)
    assert opened.private_numbers() == key.private_numbers() and opened_r == r
    with pytest.raises(cloud.CloudKeyError):
        cloud.unwrap_key(new_blob, PIN, **new_material)
    assert_refused(js_unwrap_and_sign(js, new_blob, PIN, new_material))
    result = js_unwrap_and_sign(js, new_blob, "730461", new_material)
    verify(key, result["signature"])


def test_rewrap_with_the_wrong_old_pin_is_refused(js, key, material, r):
    blob = cloud.wrap_key(key, r, PIN, **material)
    result = js(
        """async ([blob, secret, salt, iterations]) => {
            const { rewrapKey } = await import("/js/crypto/cloud.js");
            try {
                await rewrapKey({ blob: fromHex(blob), oldPin: "111112", newPin: "730461", serverSecret: fromHex(secret),
                                  wrapSalt: fromHex(salt), newWrapSalt: fromHex(salt), iterations });
                return "accepted";
            } catch (error) { return error.name; }
        }""",
        [blob.hex(), material["server_secret"].hex(), material["wrap_salt"].hex(), FAST],
    )
    assert result == "CloudKeyError"


# ------------------------------------------------------------------ weak PINs


WEAK = {
    "12345": "format",
    "1234567": "format",
    "12a456": "format",
    "１２３４５６": "format",
    "000000": "same",
    "999999": "same",
    "012345": "sequence",
    "123456": "sequence",
    "456789": "sequence",
    "987654": "sequence",
    "543210": "sequence",
    "901234": "sequence",
    "112233": "pattern",
    "332211": "pattern",
    "123123": "pattern",
    "121212": "pattern",
}


def js_check_pins(js, pins, birth_date=None):
    return js(
        """async ([pins, birthDate]) => {
            const { checkPin, isWeakPin } = await import("/js/crypto/cloud.js");
            return pins.map((pin) => [checkPin(pin, { birthDate }), isWeakPin(pin, { birthDate })]);
        }""",
        [pins, birth_date],
    )


def test_weak_pins_are_refused_with_the_same_reasons_as_python(js):
    results = js_check_pins(js, list(WEAK))
    for (pin, code), (js_code, js_message) in zip(WEAK.items(), results, strict=True):
        assert js_code == code, pin
        assert js_message == cloud.WEAK_PIN_MESSAGES[code] == cloud.is_weak_pin(pin)


def test_random_ordinary_pins_pass_and_both_sides_agree(js):
    rng = random.Random()
    pins = []
    while len(pins) < 6:
        pin = f"{rng.randrange(1_000_000):06d}"
        if cloud.check_pin(pin) is None:
            pins.append(pin)
    sample = [f"{rng.randrange(1_000_000):06d}" for _ in range(2000)] + ["112234", "123457", "135790"]
    js_results = js_check_pins(js, pins + sample)
    assert [code for code, _ in js_results[:6]] == [None] * 6, pins
    assert [code for code, _ in js_results[6:]] == [cloud.check_pin(pin) for pin in sample]


def test_birth_date_is_refused_when_given(js):
    for birth_date in ("1990-03-15", "19900315", "900315"):
        assert js_check_pins(js, ["900315", "900316"], birth_date) == [
            ["birth-date", "생년월일은 PIN으로 사용할 수 없습니다."],
            [None, None],
        ]
    assert js_check_pins(js, ["900315"]) == [[None, None]]


# ------------------------------------------------------------------ timing


def test_production_iterations_cost(js, key, r):
    """100,000 iterations: two PBKDF2 runs per unlock (verifier + pin key)."""
    material = {"server_secret": os.urandom(32), "wrap_salt": os.urandom(16), "iterations": 100_000}
    blob = cloud.wrap_key(key, r, PIN, **material)
    ms = js(
        """async ([blob, secret, salt]) => {
            const cloud = await import("/js/crypto/cloud.js");
            const t0 = performance.now();
            await cloud.pinVerifier("482915", { verifierSalt: fromHex(salt), iterations: 100000 });
            const t1 = performance.now();
            await cloud.unwrapKey({ blob: fromHex(blob), pin: "482915", serverSecret: fromHex(secret),
                                    wrapSalt: fromHex(salt), iterations: 100000 });
            return [t1 - t0, performance.now() - t1];
        }""",
        [blob.hex(), material["server_secret"].hex(), material["wrap_salt"].hex()],
    )
    print(f"\ncloud.js at 100,000 iterations: verifier {ms[0]:.0f} ms, unwrap {ms[1]:.0f} ms")
    assert ms[0] < 5000 and ms[1] < 5000
