"""certificates/client/cloud.py alone: the 금융인증서 key blob opens only with
the right PIN *and* the server secret, refuses any change, and carries R; the
PIN verifier is plain PBKDF2-HMAC-SHA256; the weak-PIN rules. The browser
side (static/js/crypto/cloud.js) is checked against this module in
tests/crypto/test_cloud_js.py. No database, no browser."""

import datetime as dt
import hashlib
import os
import random

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from certificates.client import cloud, npki

FAST = 1000  # iterations in tests (production: 100,000)
PIN = "482915"


@pytest.fixture(scope="module")
def key(rsa_keys):
    return rsa_keys[0]


@pytest.fixture
def material():
    return {"server_secret": os.urandom(32), "wrap_salt": cloud.random_salt(), "iterations": FAST}


@pytest.fixture
def r():
    return os.urandom(20)


def public_numbers(key):
    return key.public_key().public_numbers()


def test_pin_verifier_is_pbkdf2_hmac_sha256_of_the_pin():
    salt = os.urandom(16)
    assert cloud.pin_verifier(PIN, salt, FAST) == hashlib.pbkdf2_hmac("sha256", PIN.encode(), salt, FAST, 32)
    assert cloud.pin_verifier(PIN, salt, FAST) != cloud.pin_verifier("482916", salt, FAST)


def test_wrapped_key_opens_with_the_pin_and_the_secret_and_keeps_r(key, material, r):
    blob = cloud.wrap_key(key, r, PIN, **material)
    opened, opened_r = cloud.unwrap_key(blob, PIN, **material)
    assert public_numbers(opened) == public_numbers(key)
    assert opened_r == r
    signature = opened.sign(b"transfer", padding.PKCS1v15(), hashes.SHA256())
    key.public_key().verify(signature, b"transfer", padding.PKCS1v15(), hashes.SHA256())


def test_blob_layout_is_version_iv_ciphertext_and_tag(key, material, r):
    blob = cloud.wrap_key(key, r, PIN, **material)
    plain = npki.private_key_info_with_r(key, r)
    assert blob[0] == 0x01
    assert len(blob) == 1 + 12 + len(plain) + 16
    # A fresh IV every time: the same key and PIN never give the same blob.
    assert cloud.wrap_key(key, r, PIN, **material)[1:13] != blob[1:13]


def test_blob_is_exactly_the_documented_construction(key, material, r):
    """Rebuild the AES-GCM key by hand from DESIGN.md's formula."""
    blob = cloud.wrap_key(key, r, PIN, **material)
    pin_key = hashlib.pbkdf2_hmac("sha256", PIN.encode(), material["wrap_salt"], FAST, 32)
    hkdf = HKDF(hashes.SHA256(), 32, material["wrap_salt"], b"certbank cloud key wrap v1")
    wrap = hkdf.derive(pin_key + material["server_secret"])
    plain = AESGCM(wrap).decrypt(blob[1:13], blob[13:], b"certbank cloud key v1")
    assert npki.split_private_key_info(plain)[1] == r


def test_wrong_pin_does_not_open(key, material, r):
    blob = cloud.wrap_key(key, r, PIN, **material)
    with pytest.raises(cloud.CloudKeyError, match="금융인증서를 열 수 없습니다"):
        cloud.unwrap_key(blob, "482916", **material)


def test_wrong_server_secret_does_not_open(key, material, r):
    blob = cloud.wrap_key(key, r, PIN, **material)
    with pytest.raises(cloud.CloudKeyError):
        cloud.unwrap_key(blob, PIN, **{**material, "server_secret": os.urandom(32)})


def test_wrong_wrap_salt_or_iterations_do_not_open(key, material, r):
    blob = cloud.wrap_key(key, r, PIN, **material)
    with pytest.raises(cloud.CloudKeyError):
        cloud.unwrap_key(blob, PIN, **{**material, "wrap_salt": os.urandom(16)})
    with pytest.raises(cloud.CloudKeyError):
        cloud.unwrap_key(blob, PIN, **{**material, "iterations": FAST + 1})


@pytest.mark.parametrize("where", [1, 5, 13, 40, -17, -1])
def test_any_flipped_byte_is_refused(key, material, r, where):
    blob = bytearray(cloud.wrap_key(key, r, PIN, **material))
    blob[where] ^= 0x01
    with pytest.raises(cloud.CloudKeyError):
        cloud.unwrap_key(bytes(blob), PIN, **material)


@pytest.mark.parametrize("version", [0x00, 0x02, 0xFF])
def test_unknown_version_byte_is_refused(key, material, r, version):
    blob = bytes([version]) + cloud.wrap_key(key, r, PIN, **material)[1:]
    with pytest.raises(cloud.CloudKeyError):
        cloud.unwrap_key(blob, PIN, **material)


@pytest.mark.parametrize("blob", [b"", b"\x01", b"\x01" + bytes(28)])
def test_truncated_blob_is_refused(material, blob):
    with pytest.raises(cloud.CloudKeyError):
        cloud.unwrap_key(blob, PIN, **material)


def test_authenticated_blob_without_r_is_refused(key, material):
    """A blob that decrypts but carries no R was not written by wrap_key()."""
    plain = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    blob = cloud._seal(plain, PIN, material["server_secret"], material["wrap_salt"], FAST)
    with pytest.raises(cloud.CloudKeyError):
        cloud.unwrap_key(blob, PIN, **material)


def test_rewrap_opens_with_the_new_pin_only(key, material, r):
    blob = cloud.wrap_key(key, r, PIN, **material)
    new_salt = cloud.random_salt()
    new_blob = cloud.rewrap_key(blob, PIN, "730461", material["server_secret"], material["wrap_salt"], new_salt, FAST)
    new_material = {**material, "wrap_salt": new_salt}
    opened, opened_r = cloud.unwrap_key(new_blob, "730461", **new_material)
    assert public_numbers(opened) == public_numbers(key) and opened_r == r
    with pytest.raises(cloud.CloudKeyError):
        cloud.unwrap_key(new_blob, PIN, **new_material)


def test_rewrap_with_a_wrong_old_pin_is_refused(key, material, r):
    blob = cloud.wrap_key(key, r, PIN, **material)
    with pytest.raises(cloud.CloudKeyError):
        cloud.rewrap_key(blob, "000001", "730461", material["server_secret"], material["wrap_salt"], cloud.random_salt(), FAST)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"pin": "12345"},
        {"pin": "1234567"},
        {"pin": "12a456"},
        {"pin": "１２３４５６"},  # full-width digits are not ASCII digits
        {"server_secret": bytes(31)},
        {"wrap_salt": bytes(15)},
        {"iterations": 0},
        {"iterations": 10_000_001},
    ],
)
def test_malformed_arguments_are_refused_before_any_crypto(key, material, r, kwargs):
    args = {"pin": PIN, **material, **kwargs}
    with pytest.raises(ValueError):
        cloud.wrap_key(key, r, args.pop("pin"), **args)


def test_r_must_be_20_bytes(key, material):
    with pytest.raises(ValueError):
        cloud.wrap_key(key, os.urandom(19), PIN, **material)


WEAK = {
    "12345": "format",
    "1234567": "format",
    "12 456": "format",
    "": "format",
    "000000": "same",
    "777777": "same",
    "012345": "sequence",
    "123456": "sequence",
    "456789": "sequence",
    "987654": "sequence",
    "543210": "sequence",
    "890123": "sequence",
    "210987": "sequence",
    "112233": "pattern",
    "990011": "pattern",
    "123123": "pattern",
    "121212": "pattern",
    "909090": "pattern",
}


@pytest.mark.parametrize(("pin", "code"), WEAK.items())
def test_weak_pins_are_refused_with_a_reason(pin, code):
    assert cloud.check_pin(pin) == code
    assert cloud.is_weak_pin(pin) == cloud.WEAK_PIN_MESSAGES[code]


@pytest.mark.parametrize("pin", ["482915", "730461", "135790", "102938", "564738", "918273", "123457", "112234"])
def test_ordinary_pins_pass(pin):
    assert cloud.is_weak_pin(pin) is None


@pytest.mark.parametrize("birth_date", [dt.date(1990, 3, 15), "1990-03-15", "19900315", "900315"])
def test_birth_date_is_refused_when_given(birth_date):
    assert cloud.check_pin("900315", birth_date) == "birth-date"
    assert cloud.is_weak_pin("900315") is None
    assert cloud.is_weak_pin("900316", birth_date) is None


def weak_pins_by_construction() -> set[str]:
    digits = "0123456789"
    same = {d * 6 for d in digits}
    up = {"".join(digits[(s + i) % 10] for i in range(6)) for s in range(10)}
    down = {p[::-1] for p in up}
    halves = {a + b + c + a + b + c for a in digits for b in digits for c in digits}
    pairs = {a * 2 + b * 2 + c * 2 for a in digits for b in digits for c in digits}
    pair_thrice = {(a + b) * 3 for a in digits for b in digits}
    return same | up | down | halves | pairs | pair_thrice


def test_exactly_the_2100_constructed_pins_are_weak():
    weak = weak_pins_by_construction()
    assert len(weak) == 2100
    assert all(cloud.check_pin(pin) for pin in weak)
    rng = random.Random(5)
    others = {f"{rng.randrange(1_000_000):06d}" for _ in range(20_000)} - weak
    assert not [pin for pin in others if cloud.check_pin(pin)]
