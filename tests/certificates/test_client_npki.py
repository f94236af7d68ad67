"""certificates/client/npki.py: NPKI key files for Python clients, checked
against the real `openssl pkcs8` and pypinksign 0.5.4 (no browser, no
database). The JS side (static/js/crypto/npki.js) is checked against this
module in tests/crypto/test_npki.py."""

import datetime as dt
import os
import stat
import subprocess
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from pyasn1.codec.der import decoder as der_decoder
from pypinksign import PinkSign

from certificates.client import npki

FAST = 2048
PASSWORD = "Certbank#2025pw"
HONG_DN = "cn=홍길동()0019010000001,ou=NURI,ou=personal4IB,o=CertbankCA,c=KR"


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def r():
    return os.urandom(20)


def pkcs8_of(key) -> bytes:
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def certificate_der(key, subject: x509.Name | None = None) -> bytes:
    subject = subject or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )


def hong_subject() -> x509.Name:
    # The order certificates/ca/issuance.py writes (c, o, ou kind, ou bank, cn).
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "KR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CertbankCA"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "personal4IB"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "NURI"),
            x509.NameAttribute(NameOID.COMMON_NAME, "홍길동()0019010000001"),
        ]
    )


def openssl(*args, check=True) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *args], capture_output=True, check=check)


def test_round_trip(key, r):
    data = npki.encrypt_key_file(key, r, PASSWORD, iterations=FAST)
    private_key, file_r = npki.decrypt_key_file(data, PASSWORD)
    assert private_key.private_numbers() == key.private_numbers()
    assert file_r == r
    assert npki.decrypt_private_key_info(data, PASSWORD) == (pkcs8_of(key), r, FAST)


def test_structure(key, r):
    data = npki.encrypt_key_file(key, r, PASSWORD, iterations=FAST)
    root, rest = der_decoder.decode(data)
    assert rest == b""
    assert str(root[0][0]) == "1.2.840.113549.1.5.13"
    kdf, cipher = root[0][1][0], root[0][1][1]
    assert str(kdf[0]) == "1.2.840.113549.1.5.12"
    assert len(kdf[1]) == 2  # salt, iterationCount: no keyLength, no PRF
    assert int(kdf[1][1]) == FAST
    assert str(cipher[0]) == "1.2.410.200004.1.4"
    assert len(cipher[1].asOctets()) == 16


def test_opens_with_openssl(key, r, tmp_path):
    path = tmp_path / "signPri.key"
    path.write_bytes(npki.encrypt_key_file(key, r, PASSWORD, iterations=FAST))
    result = openssl(
        "pkcs8", "-inform", "DER", "-in", str(path), "-passin", f"pass:{PASSWORD}",
        "-provider", "legacy", "-provider", "default", "-outform", "DER",
    )  # fmt: skip
    assert serialization.load_der_private_key(result.stdout, None).private_numbers() == key.private_numbers()


def test_opens_with_pypinksign(key, r):
    data = npki.encrypt_key_file(key, r, PASSWORD, iterations=FAST)
    signer = PinkSign(pubkey_data=certificate_der(key))
    signer.load_prikey(prikey_data=data, prikey_password=PASSWORD.encode())
    assert signer._rand_num.asOctets() == r
    signature = signer.sign(b"challenge")
    key.public_key().verify(signature, b"challenge", padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.parametrize(
    ("cipher", "prf"),
    [("seed-cbc", "hmacWithSHA1"), ("seed-cbc", "hmacWithSHA256"), ("aes-256-cbc", "hmacWithSHA256")],
)
def test_reads_openssl_made_files(key, tmp_path, cipher, prf):
    source, out = tmp_path / "key.der", tmp_path / "signPri.key"
    source.write_bytes(pkcs8_of(key))
    openssl(
        "pkcs8", "-topk8", "-inform", "DER", "-in", str(source), "-outform", "DER", "-out", str(out),
        "-iter", "1000", "-passout", f"pass:{PASSWORD}", "-v2", cipher, "-v2prf", prf,
        "-provider", "legacy", "-provider", "default",
    )  # fmt: skip
    private_key, r = npki.decrypt_key_file(out.read_bytes(), PASSWORD)
    assert private_key.private_numbers() == key.private_numbers()
    assert r is None
    with pytest.raises(npki.WrongPassword):
        npki.decrypt_key_file(out.read_bytes(), "nope")


def test_no_r(key):
    data = npki.encrypt_key_file(key, None, PASSWORD, iterations=FAST)
    assert npki.decrypt_key_file(data, PASSWORD)[1] is None
    signer = PinkSign(pubkey_data=certificate_der(key))
    signer.load_prikey(prikey_data=data, prikey_password=PASSWORD.encode())
    assert signer.prikey.private_numbers() == key.private_numbers()


def test_fifty_wrong_passwords(key, r):
    data = npki.encrypt_key_file(key, r, PASSWORD, iterations=FAST)
    for i in range(50):
        with pytest.raises(npki.WrongPassword):
            npki.decrypt_key_file(data, f"wrong-password-{i}")


def test_padding_that_passes_by_chance_is_still_a_wrong_password(key, r):
    """About 1 wrong password in 256 gives valid PKCS#7 padding; the strict
    PrivateKeyInfo parse must still reject it."""
    from cryptography.hazmat.decrepit.ciphers.algorithms import SEED
    from cryptography.hazmat.primitives.ciphers import Cipher, modes

    data = npki.encrypt_key_file(key, r, PASSWORD, iterations=1)
    info = npki._parse_encrypted(data)
    for i in range(5000):
        password = f"wrong-{i}"
        k = npki._pbkdf2(password, info["salt"], 1, 16)
        decryptor = Cipher(SEED(k), modes.CBC(info["iv"])).decryptor()
        last = decryptor.update(info["ciphertext"])[-16:]
        pad = last[-1]
        if 1 <= pad <= 16 and last[-pad:] == bytes([pad]) * pad:
            break
    else:
        pytest.fail("no wrong password with valid padding in 5000 tries")
    with pytest.raises(npki.WrongPassword):
        npki.decrypt_key_file(data, password)


def test_unsupported_and_malformed_files(key, r):
    good = npki.encrypt_key_file(key, r, PASSWORD, iterations=FAST)
    des3 = good.replace(bytes.fromhex("06082a831a8c9a440104"), bytes.fromhex("06082a864886f70d0307"))
    with pytest.raises(npki.KeyFileError, match=r"1\.2\.840\.113549\.3\.7"):
        npki.decrypt_key_file(des3, PASSWORD)
    pbes1 = good.replace(bytes.fromhex("06092a864886f70d01050d"), bytes.fromhex("06092a864886f70d01050a"))
    with pytest.raises(npki.KeyFileError, match=r"1\.2\.840\.113549\.1\.5\.10"):
        npki.decrypt_key_file(pbes1, PASSWORD)
    for bad in (b"", b"garbage", good[:-1], good + b"\x00", certificate_der(key)):
        with pytest.raises(npki.KeyFileError):
            npki.decrypt_key_file(bad, PASSWORD)


def test_save_and_load_key_pair(key, r, tmp_path):
    cert = certificate_der(key, hong_subject())
    folder = tmp_path / npki.npki_folder_path(cert)
    assert folder.name == HONG_DN
    npki.save_key_pair(folder, cert, npki.encrypt_key_file(key, r, PASSWORD, iterations=FAST))
    assert stat.S_IMODE((folder / "signPri.key").stat().st_mode) == 0o600
    pair = npki.load_key_pair(folder, PASSWORD)
    assert pair.certificate_der == cert
    assert pair.private_key.private_numbers() == key.private_numbers()
    assert pair.r == r
    with pytest.raises(npki.WrongPassword):
        npki.load_key_pair(folder, PASSWORD + "1")
    # A key file that does not belong to the certificate.
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    npki.save_key_pair(folder, cert, npki.encrypt_key_file(other, r, PASSWORD, iterations=FAST))
    with pytest.raises(npki.KeyFileError, match="does not belong"):
        npki.load_key_pair(folder, PASSWORD)


def test_npki_folder_name(key):
    cert = certificate_der(key, hong_subject())
    assert npki.npki_folder_name(cert) == HONG_DN
    assert npki.npki_folder_name(x509.load_der_x509_certificate(cert)) == HONG_DN
    assert npki.npki_folder_path(cert) == "NPKI/CertbankCA/USER/" + HONG_DN


def test_default_iterations(key, r):
    assert npki.DEFAULT_ITERATIONS == 600_000
    started = time.perf_counter()
    data = npki.encrypt_key_file(key, r, PASSWORD)
    root, _ = der_decoder.decode(data)
    assert int(root[0][1][0][1][1]) == 600_000
    assert npki.decrypt_key_file(data, PASSWORD)[1] == r
    print(f"\nPython PBKDF2-HMAC-SHA1 x 600,000: encrypt + decrypt {1000 * (time.perf_counter() - started):.0f} ms")


def test_rejects_bad_arguments(key):
    with pytest.raises(TypeError):
        npki.encrypt_key_file(b"not a key", None, PASSWORD)
    with pytest.raises(ValueError):
        npki.encrypt_key_file(key, b"", PASSWORD, iterations=FAST)
    with pytest.raises(ValueError):
        npki.encrypt_key_file(key, None, PASSWORD, iterations=0)


def test_public_key_spki(key):
    spki = npki.public_key_spki(key)
    assert serialization.load_der_public_key(spki).public_numbers() == key.public_key().public_numbers()
