"""static/js/crypto/npki.js in Chromium: signPri.key files made in JS open
with the real `openssl pkcs8` and with pypinksign 0.5.4, files made by
certificates/client/npki.py open in JS (and the other way round, byte for
byte), wrong passwords are always caught, and the NPKI folder names."""

import datetime as dt
import os
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from pyasn1.codec.der import decoder as der_decoder
from pypinksign import PinkSign

from certificates.client import npki

pytestmark = pytest.mark.browser

FAST = 2048  # iterations in tests (the default, 600,000, has its own test)
PASSWORD = "Certbank#2025pw"
RULES_MESSAGE = "인증서 비밀번호는 영문, 숫자, 특수문자를 모두 포함해 10자리 이상이어야 합니다."


def pkcs8_of(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def self_signed_der(key: rsa.RSAPrivateKey, cn: str = "pypinksign test") -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def r():
    return os.urandom(20)


def js_encrypt(js, pkcs8: bytes, r: bytes | None, password: str, iterations: int | None = FAST) -> bytes:
    result = js(
        """async ([pkcs8, r, password, iterations]) => {
            const { encryptKeyFile } = await import("/js/crypto/npki.js");
            const args = { privateKeyPkcs8: fromHex(pkcs8), r: r === null ? null : fromHex(r), password };
            if (iterations !== null) args.iterations = iterations;
            const t0 = performance.now();
            const file = await encryptKeyFile(args);
            return { file: toHex(file), ms: performance.now() - t0 };
        }""",
        [pkcs8.hex(), None if r is None else r.hex(), password, iterations],
    )
    js_encrypt.last_ms = result["ms"]
    return bytes.fromhex(result["file"])


def js_decrypt(js, data: bytes, password: str) -> dict:
    """{privateKeyPkcs8, r, iterations} or {error: class name, message}."""
    return js(
        """async ([data, password]) => {
            const { decryptKeyFile } = await import("/js/crypto/npki.js");
            try {
                const out = await decryptKeyFile(fromHex(data), password);
                return { privateKeyPkcs8: toHex(out.privateKeyPkcs8), r: out.r && toHex(out.r), iterations: out.iterations };
            } catch (error) {
                return { error: error.name, message: error.message, cause: error.cause ? String(error.cause.message) : null };
            }
        }""",
        [data.hex(), password],
    )


def openssl_decrypt(path, password: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            "openssl", "pkcs8", "-inform", "DER", "-in", str(path), "-passin", f"pass:{password}",
            "-provider", "legacy", "-provider", "default", "-outform", "DER",
        ],
        capture_output=True,
        check=False,
    )  # fmt: skip


# ---------------------------------------------------------------- the format


def test_js_key_file_has_the_npki_structure(js, key, r):
    data = js_encrypt(js, pkcs8_of(key), r, PASSWORD)
    root, rest = der_decoder.decode(data)
    assert rest == b""
    algorithm = root[0]
    assert str(algorithm[0]) == npki.OID_PBES2
    kdf, cipher = algorithm[1][0], algorithm[1][1]
    assert str(kdf[0]) == npki.OID_PBKDF2
    params = kdf[1]
    assert len(params) == 2, "only salt and iterationCount: no keyLength, no PRF (so HMAC-SHA1)"
    assert len(params[0].asOctets()) == 16
    assert int(params[1]) == FAST
    assert str(cipher[0]) == npki.OID_SEED_CBC
    assert len(cipher[1].asOctets()) == 16
    # Random salt and IV: two files of the same key differ.
    assert js_encrypt(js, pkcs8_of(key), r, PASSWORD) != data


def test_js_key_file_opens_with_openssl(js, key, r, tmp_path):
    data = js_encrypt(js, pkcs8_of(key), r, PASSWORD)
    path = tmp_path / "signPri.key"
    path.write_bytes(data)
    result = openssl_decrypt(path, PASSWORD)
    assert result.returncode == 0, result.stderr.decode()
    opened = serialization.load_der_private_key(result.stdout, password=None)
    assert opened.private_numbers() == key.private_numbers()
    # (OpenSSL 3.0 writes the key as a traditional RSAPrivateKey, so R is not
    # in its output; pypinksign reads R in the next test.)

    wrong = openssl_decrypt(path, PASSWORD + "x")
    assert wrong.returncode != 0


def test_js_key_file_opens_with_pypinksign_which_signs(js, key, r):
    data = js_encrypt(js, pkcs8_of(key), r, PASSWORD)
    signer = PinkSign(pubkey_data=self_signed_der(key))
    signer.load_prikey(prikey_data=data, prikey_password=PASSWORD.encode())
    assert signer.prikey.private_numbers() == key.private_numbers()
    assert signer._rand_num.asOctets() == r
    challenge = "로그인 챌린지 0123456789".encode()
    signature = signer.sign(challenge)
    key.public_key().verify(signature, challenge, padding.PKCS1v15(), hashes.SHA256())


def test_python_file_decrypts_in_js_to_the_same_pkcs8_and_r(js, key, r):
    data = npki.encrypt_key_file(key, r, PASSWORD, iterations=FAST)
    assert js_decrypt(js, data, PASSWORD) == {"privateKeyPkcs8": pkcs8_of(key).hex(), "r": r.hex(), "iterations": FAST}


def test_js_file_decrypts_in_python_to_the_same_pkcs8_and_r(js, key, r):
    data = js_encrypt(js, pkcs8_of(key), r, PASSWORD)
    assert npki.decrypt_private_key_info(data, PASSWORD) == (pkcs8_of(key), r, FAST)
    private_key, file_r = npki.decrypt_key_file(data, PASSWORD)
    assert private_key.private_numbers() == key.private_numbers()
    assert file_r == r


@pytest.mark.parametrize("password", ["비밀번호는Abc123!", "pässwörd-1234", "  spaces 12 a!  "])
def test_non_ascii_passwords_are_utf8_in_both_directions(js, key, r, password):
    from_js = js_encrypt(js, pkcs8_of(key), r, password)
    assert npki.decrypt_key_file(from_js, password)[1] == r
    from_python = npki.encrypt_key_file(key, r, password, iterations=FAST)
    assert js_decrypt(js, from_python, password)["r"] == r.hex()


def test_without_r_and_an_input_pkcs8_with_attributes(js, key, r):
    # No R: no attributes at all, and decrypt says null.
    data = js_encrypt(js, pkcs8_of(key), None, PASSWORD)
    assert js_decrypt(js, data, PASSWORD) == {"privateKeyPkcs8": pkcs8_of(key).hex(), "r": None, "iterations": FAST}
    assert npki.decrypt_key_file(data, PASSWORD)[1] is None
    # A PKCS#8 that already carries an R gets it replaced, not duplicated.
    other_r = bytes(range(20))
    with_old_r = npki.decrypt_private_key_info(npki.encrypt_key_file(key, r, PASSWORD, iterations=FAST), PASSWORD)
    assert with_old_r[1] == r
    data = js_encrypt(js, pkcs8_of(key), other_r, PASSWORD)
    assert npki.decrypt_key_file(data, PASSWORD)[1] == other_r


def test_openssl_made_key_files_open_in_js(js, key, tmp_path):
    """Imports: SEED-CBC with an explicit HMAC-SHA1 PRF, and AES-256-CBC with HMAC-SHA256."""
    source = tmp_path / "key.der"
    source.write_bytes(pkcs8_of(key))
    variants = {
        "seed-sha1": ["-v2", "seed-cbc", "-v2prf", "hmacWithSHA1", "-provider", "legacy", "-provider", "default"],
        "aes256-sha256": ["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA256"],
        "aes128-sha512": ["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA512"],
    }
    for name, options in variants.items():
        out = tmp_path / f"{name}.key"
        subprocess.run(
            ["openssl", "pkcs8", "-topk8", "-inform", "DER", "-in", str(source), "-outform", "DER", "-out", str(out),
             "-iter", "2000", "-passout", f"pass:{PASSWORD}", *options],
            check=True, capture_output=True,
        )  # fmt: skip
        data = out.read_bytes()
        assert js_decrypt(js, data, PASSWORD) == {"privateKeyPkcs8": pkcs8_of(key).hex(), "r": None, "iterations": 2000}, name
        assert js_decrypt(js, data, PASSWORD + "!")["error"] == "WrongPasswordError", name
        assert npki.decrypt_key_file(data, PASSWORD)[0].private_numbers() == key.private_numbers(), name


# ---------------------------------------------------------------- passwords


def test_fifty_wrong_passwords_are_all_caught_in_js_and_python(js, key, r):
    data = npki.encrypt_key_file(key, r, PASSWORD, iterations=FAST)
    wrong = [f"{PASSWORD}{i}" for i in range(45)] + ["", "certbank#2025pw", PASSWORD[:-1], PASSWORD.upper(), " " + PASSWORD]
    results = js(
        """async ([data, passwords]) => {
            const { decryptKeyFile, WrongPasswordError } = await import("/js/crypto/npki.js");
            const out = [];
            for (const password of passwords) {
                try {
                    await decryptKeyFile(fromHex(data), password);
                    out.push("opened");
                } catch (error) {
                    out.push(error instanceof WrongPasswordError
                        ? (String(error.cause?.message).startsWith("SEED-CBC: invalid padding") ? "padding" : "structure")
                        : error.name + ": " + error.message);
                }
            }
            return out;
        }""",
        [data.hex(), wrong],
    )
    assert len(results) == 50
    assert set(results) <= {"padding", "structure"}, results
    print(f"\n50 wrong passwords in JS: {results.count('structure')} passed the padding and were caught by the DER check")
    for password in wrong:
        with pytest.raises(npki.WrongPassword):
            npki.decrypt_key_file(data, password)
    assert js_decrypt(js, data, PASSWORD)["r"] == r.hex()


def test_the_structure_check_catches_a_padding_that_passes_by_chance(js, key, r):
    """Find a wrong password whose SEED-CBC padding is valid (≈1 in 256) and
    show that decryptKeyFile still says WrongPasswordError."""
    data = npki.encrypt_key_file(key, r, PASSWORD, iterations=1)
    result = js(
        """async ([data]) => {
            const { decryptKeyFile, WrongPasswordError } = await import("/js/crypto/npki.js");
            for (let i = 0; i < 5000; i++) {
                try {
                    await decryptKeyFile(fromHex(data), "wrong-" + i);
                    return { opened: i };
                } catch (error) {
                    if (!(error instanceof WrongPasswordError)) return { unexpected: error.message };
                    if (!String(error.cause?.message).startsWith("SEED-CBC")) {
                        return { caughtByStructure: i, cause: error.cause.message };
                    }
                }
            }
            return { none: true };
        }""",
        [data.hex()],
    )
    assert "caughtByStructure" in result, result
    with pytest.raises(npki.WrongPassword):
        npki.decrypt_key_file(data, f"wrong-{result['caughtByStructure']}")


def test_reencrypt_changes_the_password_and_keeps_key_and_r(js, key, r):
    data = npki.encrypt_key_file(key, r, PASSWORD, iterations=FAST)
    result = js(
        """async ([data, oldPassword, newPassword]) => {
            const { reencryptKeyFile, WrongPasswordError } = await import("/js/crypto/npki.js");
            const kept = await reencryptKeyFile(fromHex(data), oldPassword, newPassword, { iterations: 4096 });
            const upgraded = await reencryptKeyFile(fromHex(data), oldPassword, newPassword);
            let wrongOld;
            try { await reencryptKeyFile(fromHex(data), "not-the-password1!", newPassword); }
            catch (error) { wrongOld = error instanceof WrongPasswordError; }
            return { kept: toHex(kept), upgraded: toHex(upgraded), wrongOld };
        }""",
        [data.hex(), PASSWORD, "New-password-2026"],
    )
    assert result["wrongOld"] is True
    new_file = bytes.fromhex(result["kept"])
    with pytest.raises(npki.WrongPassword):
        npki.decrypt_key_file(new_file, PASSWORD)
    assert js_decrypt(js, new_file, PASSWORD)["error"] == "WrongPasswordError"
    assert npki.decrypt_private_key_info(new_file, "New-password-2026") == (pkcs8_of(key), r, 4096)
    assert js_decrypt(js, new_file, "New-password-2026")["r"] == r.hex()
    # Without an explicit count, an old low count is raised to the default.
    assert npki.decrypt_private_key_info(bytes.fromhex(result["upgraded"]), "New-password-2026") == (
        pkcs8_of(key),
        r,
        600_000,
    )


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("Ab1!", False),  # too short
        ("Abcdefg1!", False),  # 9 characters
        ("Abcdefghij!", False),  # no digit
        ("Abcdefghij1", False),  # no special character
        ("1234567890!", False),  # no letter
        ("한글비밀번호입니다12!", False),  # Korean letters are not 영문
        ("Abcdefgh1!", True),
        ("certbank#2025", True),
        ("한글도OK 2025-12-31", True),
    ],
)
def test_check_password_rules(js, password, ok):
    result = js(
        """async (password) => (await import("/js/crypto/npki.js")).checkPasswordRules(password)""",
        password,
    )
    assert result == (None if ok else RULES_MESSAGE)


def test_check_password_rules_non_string(js):
    assert js("""async () => (await import("/js/crypto/npki.js")).checkPasswordRules(undefined)""") == RULES_MESSAGE


# ---------------------------------------------------------------- bad files


def test_malformed_and_unsupported_files_raise_key_file_error(js, key, r, tmp_path):
    good = npki.encrypt_key_file(key, r, PASSWORD, iterations=FAST)
    des3 = good.replace(bytes.fromhex("06082a831a8c9a440104"), bytes.fromhex("06082a864886f70d0307"))
    assert des3 != good
    pbes1 = good.replace(bytes.fromhex("06092a864886f70d01050d"), bytes.fromhex("06092a864886f70d01050a"))
    cases = {
        "empty": b"",
        "garbage": b"not a key file at all",
        "truncated": good[:-5],
        "trailing": good + b"\x00",
        "des3": des3,
        "pbes1": pbes1,
        "certificate": self_signed_der(key),
    }
    for name, data in cases.items():
        result = js_decrypt(js, data, PASSWORD)
        assert result.get("error") == "KeyFileError", (name, result)
    assert "1.2.840.113549.3.7" in js_decrypt(js, des3, PASSWORD)["message"]
    assert "1.2.840.113549.1.5.10" in js_decrypt(js, pbes1, PASSWORD)["message"]
    # An unsupported PBKDF2 PRF (HMAC-SHA224, from openssl) is named too.
    source, out = tmp_path / "key.der", tmp_path / "sha224.key"
    source.write_bytes(pkcs8_of(key))
    subprocess.run(
        ["openssl", "pkcs8", "-topk8", "-inform", "DER", "-in", str(source), "-outform", "DER", "-out", str(out),
         "-iter", "10", "-passout", f"pass:{PASSWORD}", "-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA224"],
        check=True, capture_output=True,
    )  # fmt: skip
    result = js_decrypt(js, out.read_bytes(), PASSWORD)
    assert result["error"] == "KeyFileError" and "1.2.840.113549.2.8" in result["message"], result
    with pytest.raises(npki.KeyFileError, match=r"1\.2\.840\.113549\.2\.8"):
        npki.decrypt_key_file(out.read_bytes(), PASSWORD)


def test_encrypt_rejects_bad_input(js):
    result = js(
        """async () => {
            const { encryptKeyFile, KeyFileError } = await import("/js/crypto/npki.js");
            const out = {};
            try { await encryptKeyFile({ privateKeyPkcs8: new Uint8Array([1, 2, 3]), r: null, password: "x" }); }
            catch (error) { out.garbage = error instanceof KeyFileError; }
            try { await encryptKeyFile({ privateKeyPkcs8: new Uint8Array(0), r: null, password: "x", iterations: 0 }); }
            catch (error) { out.zeroIterations = error instanceof RangeError; }
            return out;
        }"""
    )
    assert result == {"garbage": True, "zeroIterations": True}


# ---------------------------------------------------------------- default cost


def test_default_600000_iterations(js, key, r):
    data = js_encrypt(js, pkcs8_of(key), r, PASSWORD, iterations=None)
    encrypt_ms = js_encrypt.last_ms
    root, _ = der_decoder.decode(data)
    assert int(root[0][1][0][1][1]) == npki.DEFAULT_ITERATIONS == 600_000
    result = js(
        """async ([data, password]) => {
            const { decryptKeyFile, DEFAULT_ITERATIONS } = await import("/js/crypto/npki.js");
            const t0 = performance.now();
            const out = await decryptKeyFile(fromHex(data), password);
            return { ms: performance.now() - t0, iterations: out.iterations, r: toHex(out.r), DEFAULT_ITERATIONS };
        }""",
        [data.hex(), PASSWORD],
    )
    assert result["iterations"] == result["DEFAULT_ITERATIONS"] == 600_000
    assert result["r"] == r.hex()
    assert npki.decrypt_key_file(data, PASSWORD)[1] == r
    print(f"\nChromium PBKDF2-HMAC-SHA1 x 600,000 (whole key file): encrypt {encrypt_ms:.0f} ms, decrypt {result['ms']:.0f} ms")


# ---------------------------------------------------------------- folders


def test_npki_folder_name_matches_python(js, key):
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "KR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CertbankCA"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "personal4IB"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "NURI"),
            x509.NameAttribute(NameOID.COMMON_NAME, "홍길동()0019010000001"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )
    result = js(
        """async (cert) => {
            const { parseCertificate } = await import("/js/crypto/der.js");
            const { subjectDnFolderName, npkiFolder } = await import("/js/crypto/npki.js");
            const dn = subjectDnFolderName(parseCertificate(fromHex(cert)));
            return { dn, folder: npkiFolder(dn) };
        }""",
        certificate.hex(),
    )
    expected = "cn=홍길동()0019010000001,ou=NURI,ou=personal4IB,o=CertbankCA,c=KR"
    assert result == {"dn": expected, "folder": "NPKI/CertbankCA/USER/" + expected}
    assert npki.npki_folder_name(certificate) == expected
    assert npki.npki_folder_path(certificate) == "NPKI/CertbankCA/USER/" + expected


def test_unsafe_folder_characters_are_replaced_the_same_way(js, key):
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "KR"),
            x509.NameAttribute(NameOID.LOCALITY_NAME, "Seoul/Jung-gu"),
            x509.NameAttribute(NameOID.COMMON_NAME, 'a\\b:c*d?e"f<g>h|i'),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )
    dn = js(
        """async (cert) => {
            const { parseCertificate } = await import("/js/crypto/der.js");
            const { subjectDnFolderName } = await import("/js/crypto/npki.js");
            return subjectDnFolderName(parseCertificate(fromHex(cert)));
        }""",
        certificate.hex(),
    )
    assert dn == "cn=a_b_c_d_e_f_g_h_i,l=Seoul_Jung-gu,c=KR"
    assert npki.npki_folder_name(certificate) == dn
