// 인증서 복사: the end-to-end encryption between two devices (DESIGN.md §3
// "Device copy"; protocol v2 in certificates/services/copy.py: commit,
// reveal, compare, then seal).
//
// The receiver makes an ECDH P-256 key pair (the private key non-extractable,
// it never leaves this page) and first publishes only a commitment to its raw
// public key:
//
//   commitment = SHA-256("certbank-copy-commit-v1" || 0x00 || receiverPub)
//
// The sender makes its own ECDH key pair before it learns receiverPub, and
// the receiver reveals receiverPub only after it got senderPub. The sender
// checks the revealed key against the commitment itself (sealForReceiver
// refuses otherwise) and, once the person confirmed that both screens show
// the same confirmationCode, derives
//
//   key = HKDF-SHA256(ikm = ECDH(senderPriv, receiverPub), salt = UTF-8(token),
//                     info = "certbank copy v1" || receiverPub || senderPub, 32 bytes)
//
// and seals the certificate and its key file with AES-256-GCM: a random
// 12-byte IV in front, AAD = UTF-8(token), so a blob cannot be moved to
// another copy session. The key file inside is signPri.key exactly as stored:
// still encrypted under the certificate password.
//
// Plaintext: version 0x01 || u32 len || certificateDer || u32 len || keyFile
// (big-endian lengths, nothing after).
//
// Both screens show confirmationCode(receiverPub, senderPub): a relay that
// swapped either key would give the two devices different codes, and thanks
// to the commitment it cannot choose its keys to make them match (but for
// one chance in 10^6).
//
// This module is the only browser code calling crypto.subtle for the copy.

const INFO_LABEL = "certbank copy v1";
const COMMIT_LABEL = "certbank-copy-commit-v1";
const COMMITMENT_BYTES = 32;
const CURVE = { name: "ECDH", namedCurve: "P-256" };
const IV_BYTES = 12;
const VERSION = 1;
const encoder = new TextEncoder();

/** The sealed blob does not open: tampered, wrong token, or not for this receiver. */
export class CopyDecryptError extends Error {
  constructor(message = "전송받은 인증서를 열 수 없습니다. 처음부터 다시 시작해 주세요.") {
    super(message);
    this.name = "CopyDecryptError";
  }
}

/** The receiver key is not the one committed to: someone on the way changed it. Nothing was sealed. */
export class CopyCommitmentError extends Error {
  constructor(message = "받는 기기의 키가 처음에 약속한 값과 다릅니다. 인증서를 보내지 않았습니다.") {
    super(message);
    this.name = "CopyCommitmentError";
  }
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function bytes(data, what) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError(`copy: ${what} must be bytes`);
}

function checkPoint(raw, what) {
  const point = bytes(raw, what);
  if (point.length !== 65 || point[0] !== 0x04) throw new TypeError(`copy: ${what} must be a raw uncompressed P-256 point`);
  return point;
}

/** Equal byte arrays, compared without an early exit. */
export function sameBytes(a, b) {
  const x = bytes(a, "a");
  const y = bytes(b, "b");
  if (x.length !== y.length) return false;
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

function u32(n) {
  return new Uint8Array([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

function pack(certificateDer, keyFile) {
  return concat(new Uint8Array([VERSION]), u32(certificateDer.length), certificateDer, u32(keyFile.length), keyFile);
}

function unpack(plain) {
  const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
  if (plain.length < 9 || plain[0] !== VERSION) throw new CopyDecryptError();
  const certLength = view.getUint32(1);
  const keyAt = 5 + certLength;
  if (keyAt + 4 > plain.length) throw new CopyDecryptError();
  const keyLength = view.getUint32(keyAt);
  if (keyAt + 4 + keyLength !== plain.length) throw new CopyDecryptError();
  return {
    certificateDer: plain.slice(5, keyAt),
    keyFile: plain.slice(keyAt + 4),
  };
}

async function aesKey(privateKey, peerPublicRaw, { token, receiverPublicKey, senderPublicKey }) {
  const peer = await crypto.subtle.importKey("raw", peerPublicRaw, CURVE, false, []);
  const shared = new Uint8Array(await crypto.subtle.deriveBits({ name: "ECDH", public: peer }, privateKey, 256));
  try {
    const ikm = await crypto.subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
    return await crypto.subtle.deriveKey(
      {
        name: "HKDF",
        hash: "SHA-256",
        salt: encoder.encode(token),
        info: concat(encoder.encode(INFO_LABEL), receiverPublicKey, senderPublicKey),
      },
      ikm,
      { name: "AES-GCM", length: 256 },
      false,
      ["encrypt", "decrypt"],
    );
  } finally {
    shared.fill(0);
  }
}

/** SHA-256("certbank-copy-commit-v1" || 0x00 || publicKey): 32 bytes the receiver opens a copy with. */
export async function commitment(publicKey) {
  const point = checkPoint(publicKey, "publicKey");
  const label = encoder.encode(COMMIT_LABEL);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", concat(label, new Uint8Array([0]), point)));
}

/** Whether `publicKey` is the key `expected` commits to (a malformed key is not). */
export async function commitmentMatches(expected, publicKey) {
  const want = bytes(expected, "commitment");
  if (want.length !== COMMITMENT_BYTES) return false;
  let actual;
  try {
    actual = await commitment(publicKey);
  } catch {
    return false;
  }
  return sameBytes(want, actual);
}

async function keyPair() {
  const pair = await crypto.subtle.generateKey(CURVE, false, ["deriveBits"]);
  const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { privateKey: pair.privateKey, publicKey };
}

/**
 * The receiving device: {privateKey (non-extractable CryptoKey), publicKey (65
 * raw bytes), commitment (32 bytes, what the copy session is opened with)}.
 */
export async function createReceiver() {
  const pair = await keyPair();
  return { ...pair, commitment: await commitment(pair.publicKey) };
}

/** The sending device, before it learns the receiver's key: {privateKey, publicKey}. */
export async function createSender() {
  return keyPair();
}

/**
 * The sending device, once the person confirmed the codes: seal the
 * certificate and its (password-encrypted) key file for the receiver.
 * Refuses (CopyCommitmentError, nothing sealed) unless receiverPublicKey is
 * the key receiverCommitment commits to. Returns {senderPublicKey, ciphertext}.
 */
export async function sealForReceiver({ sender, receiverPublicKey, receiverCommitment, token, certificateDer, keyFile }) {
  const receiverPub = checkPoint(receiverPublicKey, "receiverPublicKey");
  if (typeof token !== "string" || !token) throw new TypeError("copy: token is required");
  if (!sender || !sender.privateKey) throw new TypeError("copy: sender (from createSender) is required");
  const senderPublicKey = checkPoint(sender.publicKey, "sender.publicKey");
  // SECURITY: never seal for a key the relay merely says is the receiver's.
  if (!(await commitmentMatches(receiverCommitment, receiverPub))) throw new CopyCommitmentError();
  const key = await aesKey(sender.privateKey, receiverPub, { token, receiverPublicKey: receiverPub, senderPublicKey });
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const plain = pack(bytes(certificateDer, "certificateDer"), bytes(keyFile, "keyFile"));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(token) }, key, plain),
  );
  plain.fill(0);
  return { senderPublicKey, ciphertext: concat(iv, sealed) };
}

/**
 * The receiving device: open what the sender sealed. Returns
 * {certificateDer, keyFile}; throws CopyDecryptError when anything was
 * changed on the way (the GCM tag fails) or the blob is not for us.
 */
export async function openFromSender({ receiver, senderPublicKey, token, ciphertext }) {
  const senderPub = checkPoint(senderPublicKey, "senderPublicKey");
  const blob = bytes(ciphertext, "ciphertext");
  if (blob.length < IV_BYTES + 16) throw new CopyDecryptError();
  let plain;
  try {
    const key = await aesKey(receiver.privateKey, senderPub, {
      token,
      receiverPublicKey: receiver.publicKey,
      senderPublicKey: senderPub,
    });
    plain = new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: blob.subarray(0, IV_BYTES), additionalData: encoder.encode(token) },
        key,
        blob.subarray(IV_BYTES),
      ),
    );
  } catch {
    throw new CopyDecryptError();
  }
  try {
    return unpack(plain);
  } finally {
    plain.fill(0);
  }
}

/** Six digits both screens show: SHA-256(receiverPub || senderPub), first 4 bytes big-endian mod 10^6. */
export async function confirmationCode(receiverPublicKey, senderPublicKey) {
  const digest = new Uint8Array(
    await crypto.subtle.digest(
      "SHA-256",
      concat(checkPoint(receiverPublicKey, "receiverPublicKey"), checkPoint(senderPublicKey, "senderPublicKey")),
    ),
  );
  const value = new DataView(digest.buffer).getUint32(0) % 1_000_000;
  return String(value).padStart(6, "0");
}

/** "123456" → "123 456". */
export function formatConfirmationCode(code) {
  return `${code.slice(0, 3)} ${code.slice(3)}`;
}
