"""static/js/crypto/copy.js in Chromium: the 인증서 복사 commitment is the Python client's
(certificates/client/copy.py) and the server's, sealing refuses a receiver key that does
not match its commitment, round-trips, interoperates with the Python client both ways,
rejects a tampered blob or a wrong token, and both sides agree on the confirmation code."""

import os

import pytest

from certificates.client import copy as pycopy

pytestmark = pytest.mark.browser

TOKEN = "Zm9vYmFyLXRva2VuLWZvci10ZXN0cy0xMjM0NTY3ODkw"
CERT = os.urandom(1400)
KEY_FILE = os.urandom(1300)

ROUND_TRIP = """async ({token, cert, key, flip, openToken}) => {
    const copy = await import("/js/crypto/copy.js");
    const receiver = await copy.createReceiver();
    const sender = await copy.createSender();
    let exportError = null;
    try { await crypto.subtle.exportKey("pkcs8", receiver.privateKey); } catch (error) { exportError = error.name; }
    let senderExportError = null;
    try { await crypto.subtle.exportKey("pkcs8", sender.privateKey); } catch (error) { senderExportError = error.name; }
    const sealed = await copy.sealForReceiver({
        sender, receiverPublicKey: receiver.publicKey, receiverCommitment: receiver.commitment, token,
        certificateDer: fromHex(cert), keyFile: fromHex(key) });
    if (flip !== null) sealed.ciphertext[flip] ^= 0x01;
    const receiverCode = await copy.confirmationCode(receiver.publicKey, sealed.senderPublicKey);
    try {
        const opened = await copy.openFromSender({
            receiver, senderPublicKey: sealed.senderPublicKey, token: openToken ?? token, ciphertext: sealed.ciphertext });
        return { ok: true, cert: toHex(opened.certificateDer), key: toHex(opened.keyFile), receiverCode,
                 receiverPub: toHex(receiver.publicKey), senderPub: toHex(sealed.senderPublicKey),
                 ciphertext: toHex(sealed.ciphertext), extractable: receiver.privateKey.extractable, exportError,
                 senderExportError, senderMatches: toHex(sender.publicKey) === toHex(sealed.senderPublicKey),
                 commitment: toHex(receiver.commitment), formatted: copy.formatConfirmationCode(receiverCode) };
    } catch (error) {
        return { ok: false, name: error.name, message: error.message };
    }
}"""


def run(js, *, flip=None, open_token=None):
    return js(ROUND_TRIP, {"token": TOKEN, "cert": CERT.hex(), "key": KEY_FILE.hex(), "flip": flip, "openToken": open_token})


def test_round_trip_and_non_extractable_receiver_key(js):
    result = run(js)
    assert result["ok"] is True
    assert bytes.fromhex(result["cert"]) == CERT
    assert bytes.fromhex(result["key"]) == KEY_FILE
    assert result["extractable"] is False
    assert result["exportError"] == result["senderExportError"] == "InvalidAccessError"
    assert result["senderMatches"] is True  # sealed with the key pair the sender joined with
    receiver_pub, sender_pub = bytes.fromhex(result["receiverPub"]), bytes.fromhex(result["senderPub"])
    assert bytes.fromhex(result["commitment"]) == pycopy.commitment(receiver_pub)
    assert len(receiver_pub) == len(sender_pub) == 65 and receiver_pub[0] == sender_pub[0] == 4
    ciphertext = bytes.fromhex(result["ciphertext"])
    # IV (12) + version, two lengths (9) + both files + GCM tag (16); neither file in the clear.
    assert len(ciphertext) == 12 + 9 + len(CERT) + len(KEY_FILE) + 16
    assert CERT[:32] not in ciphertext and KEY_FILE[:32] not in ciphertext
    # The same code as the Python computation, shown as "123 456".
    assert result["receiverCode"] == pycopy.confirmation_code(receiver_pub, sender_pub)
    assert result["formatted"] == f"{result['receiverCode'][:3]} {result['receiverCode'][3:]}"


@pytest.mark.parametrize("where", [0, 5, 12, 40, -1])
def test_tampered_ciphertext_is_rejected(js, where):
    length = 12 + 9 + len(CERT) + len(KEY_FILE) + 16
    result = run(js, flip=where % length)
    assert result == {"ok": False, "name": "CopyDecryptError", "message": result["message"]}
    assert "다시 시작" in result["message"]


def test_wrong_token_as_aad_is_rejected(js):
    result = run(js, open_token=TOKEN[:-1] + "A")
    assert result["ok"] is False and result["name"] == "CopyDecryptError"


def test_python_seals_and_javascript_opens(js):
    result = js(
        """async () => {
            const copy = await import("/js/crypto/copy.js");
            globalThis.__copyReceiver = await copy.createReceiver();
            return { pub: toHex(globalThis.__copyReceiver.publicKey), commitment: toHex(globalThis.__copyReceiver.commitment) };
        }""",
    )
    receiver_pub, commitment = bytes.fromhex(result["pub"]), bytes.fromhex(result["commitment"])
    assert commitment == pycopy.commitment(receiver_pub)
    sender = pycopy.create_sender()
    ciphertext = pycopy.seal_for_receiver(
        sender=sender,
        receiver_public_key=receiver_pub,
        receiver_commitment=commitment,
        token=TOKEN,
        certificate_der=CERT,
        key_file=KEY_FILE,
    )
    opened = js(
        """async ({token, senderPub, ciphertext}) => {
            const copy = await import("/js/crypto/copy.js");
            const receiver = globalThis.__copyReceiver;
            const opened = await copy.openFromSender({
                receiver, senderPublicKey: fromHex(senderPub), token, ciphertext: fromHex(ciphertext) });
            const code = await copy.confirmationCode(receiver.publicKey, fromHex(senderPub));
            return { cert: toHex(opened.certificateDer), key: toHex(opened.keyFile), code };
        }""",
        {"token": TOKEN, "senderPub": sender.public_key.hex(), "ciphertext": ciphertext.hex()},
    )
    assert bytes.fromhex(opened["cert"]) == CERT
    assert bytes.fromhex(opened["key"]) == KEY_FILE
    assert opened["code"] == pycopy.confirmation_code(receiver_pub, sender.public_key)


def test_javascript_seals_and_python_opens(js):
    receiver = pycopy.create_receiver()
    sealed = js(
        """async ({token, receiverPub, commitment, cert, key}) => {
            const copy = await import("/js/crypto/copy.js");
            const sender = await copy.createSender();
            const sealed = await copy.sealForReceiver({
                sender, receiverPublicKey: fromHex(receiverPub), receiverCommitment: fromHex(commitment), token,
                certificateDer: fromHex(cert), keyFile: fromHex(key) });
            const code = await copy.confirmationCode(fromHex(receiverPub), sealed.senderPublicKey);
            return { senderPub: toHex(sealed.senderPublicKey), ciphertext: toHex(sealed.ciphertext), code };
        }""",
        {
            "token": TOKEN,
            "receiverPub": receiver.public_key.hex(),
            "commitment": receiver.commitment.hex(),
            "cert": CERT.hex(),
            "key": KEY_FILE.hex(),
        },
    )
    sender_pub, ciphertext = bytes.fromhex(sealed["senderPub"]), bytes.fromhex(sealed["ciphertext"])
    assert pycopy.open_from_sender(receiver=receiver, sender_public_key=sender_pub, token=TOKEN, ciphertext=ciphertext) == (
        CERT,
        KEY_FILE,
    )
    assert sealed["code"] == pycopy.confirmation_code(receiver.public_key, sender_pub)
    # Python refuses what JavaScript sealed once a byte changes, or under another token.
    tampered = bytearray(ciphertext)
    tampered[20] ^= 1
    with pytest.raises(pycopy.CopyDecryptError):
        pycopy.open_from_sender(receiver=receiver, sender_public_key=sender_pub, token=TOKEN, ciphertext=bytes(tampered))
    with pytest.raises(pycopy.CopyDecryptError):
        pycopy.open_from_sender(receiver=receiver, sender_public_key=sender_pub, token=TOKEN + "x", ciphertext=ciphertext)


# --- The commitment -------------------------------------------------------------------------


def test_the_commitment_is_the_same_in_javascript_python_and_the_server(js):
    from certificates.verify import copy_commitment

    python_receiver = pycopy.create_receiver()
    result = js(
        """async ({pythonPub}) => {
            const copy = await import("/js/crypto/copy.js");
            const receiver = await copy.createReceiver();
            return { pub: toHex(receiver.publicKey), commitment: toHex(receiver.commitment),
                     again: toHex(await copy.commitment(receiver.publicKey)),
                     python: toHex(await copy.commitment(fromHex(pythonPub))) };
        }""",
        {"pythonPub": python_receiver.public_key.hex()},
    )
    js_pub = bytes.fromhex(result["pub"])
    assert len(bytes.fromhex(result["commitment"])) == 32
    assert bytes.fromhex(result["commitment"]) == bytes.fromhex(result["again"]) == pycopy.commitment(js_pub)
    assert pycopy.commitment(js_pub) == copy_commitment(js_pub)
    assert bytes.fromhex(result["python"]) == python_receiver.commitment == copy_commitment(python_receiver.public_key)


def test_commitment_matches_only_the_committed_key(js):
    receiver, other = pycopy.create_receiver(), pycopy.create_receiver()
    result = js(
        """async ({commitment, pub, other}) => {
            const copy = await import("/js/crypto/copy.js");
            const c = fromHex(commitment);
            const flipped = fromHex(pub); flipped[64] ^= 1;
            return {
                same: await copy.commitmentMatches(c, fromHex(pub)),
                other: await copy.commitmentMatches(c, fromHex(other)),
                offCurve: await copy.commitmentMatches(c, flipped),
                short: await copy.commitmentMatches(c.subarray(0, 31), fromHex(pub)),
                notAPoint: await copy.commitmentMatches(c, fromHex(pub).subarray(0, 33)),
            };
        }""",
        {"commitment": receiver.commitment.hex(), "pub": receiver.public_key.hex(), "other": other.public_key.hex()},
    )
    assert result == {"same": True, "other": False, "offCurve": False, "short": False, "notAPoint": False}


def test_sealing_refuses_a_receiver_key_that_does_not_match_the_commitment(js):
    """A relay's key in place of the receiver's: nothing is sealed, whatever the page does."""
    receiver, relay = pycopy.create_receiver(), pycopy.create_receiver()
    result = js(
        """async ({commitment, relayPub, token}) => {
            const copy = await import("/js/crypto/copy.js");
            const sender = await copy.createSender();
            try {
                await copy.sealForReceiver({
                    sender, receiverPublicKey: fromHex(relayPub), receiverCommitment: fromHex(commitment),
                    token, certificateDer: new Uint8Array(10), keyFile: new Uint8Array(10) });
                return { sealed: true };
            } catch (error) {
                return { sealed: false, name: error.name, message: error.message };
            }
        }""",
        {"commitment": receiver.commitment.hex(), "relayPub": relay.public_key.hex(), "token": TOKEN},
    )
    assert result["sealed"] is False and result["name"] == "CopyCommitmentError"
    assert "보내지 않았습니다" in result["message"]
    # The Python client refuses the same way.
    with pytest.raises(pycopy.CommitmentMismatch):
        pycopy.seal_for_receiver(
            sender=pycopy.create_sender(),
            receiver_public_key=relay.public_key,
            receiver_commitment=receiver.commitment,
            token=TOKEN,
            certificate_der=b"x",
            key_file=b"y",
        )


def test_same_bytes_compares_whole_arrays(js):
    result = js(
        """async () => {
            const { sameBytes } = await import("/js/crypto/copy.js");
            const a = new Uint8Array([1, 2, 3]);
            return [sameBytes(a, new Uint8Array([1, 2, 3])), sameBytes(a, new Uint8Array([1, 2, 4])),
                    sameBytes(a, new Uint8Array([1, 2])), sameBytes(new Uint8Array(), new Uint8Array())];
        }"""
    )
    assert result == [True, False, False, True]


def test_swapped_sender_key_gives_a_different_code(js):
    receiver = pycopy.create_receiver()
    honest, attacker = pycopy.create_receiver(), pycopy.create_receiver()
    codes = js(
        """async ({r, a, b}) => {
            const copy = await import("/js/crypto/copy.js");
            return [await copy.confirmationCode(fromHex(r), fromHex(a)), await copy.confirmationCode(fromHex(r), fromHex(b))];
        }""",
        {"r": receiver.public_key.hex(), "a": honest.public_key.hex(), "b": attacker.public_key.hex()},
    )
    assert codes[0] != codes[1]
    assert all(len(code) == 6 and code.isdigit() for code in codes)
