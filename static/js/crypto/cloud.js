// 금융인증서 (cloud certificate) keys in the browser: the PIN verifier and
// the key blob the server keeps (DESIGN.md "Cloud certificate"). The only
// place besides the other crypto modules that calls crypto.subtle for it.
// certificates/client/cloud.py is the independent Python implementation of
// the same wire format; tests/crypto/test_cloud_js.py checks both ways.
//
// The server hands out `iterations`, `verifierSalt` (16 bytes), `wrapSalt`
// (16 bytes) and, only after a correct PIN from a registered device,
// `serverSecret` (32 bytes). The PIN itself never leaves the browser.
//
//   verifier = PBKDF2-HMAC-SHA256(UTF-8 PIN, verifierSalt, iterations, 32)
//   pinKey   = PBKDF2-HMAC-SHA256(UTF-8 PIN, wrapSalt, iterations, 32)
//   wrapKey  = HKDF-SHA256(ikm = pinKey || serverSecret, salt = wrapSalt,
//                          info = "certbank cloud key wrap v1") -> AES-256-GCM
//   blob     = 0x01 || iv (12) || AES-GCM(wrapKey, iv, plaintext,
//                                          aad = "certbank cloud key v1")
//   plaintext = PKCS#8 PrivateKeyInfo with R as the NPKI attribute
//               1.2.410.200004.10.1.1.3 (what signPri.key carries; npki.js)
//
// Neither the PIN (6 digits: 10^6 guesses) nor the server secret alone opens
// a blob: a database dump lacks the secret's key-encryption key, and the
// secret alone still needs the PIN, whose guesses the server counts.

import { privateKeyInfoWithRandom, readPrivateKeyInfoWithRandom } from "./npki.js";
import { importSigningKey, R_LENGTH } from "./signer.js";

export const BLOB_VERSION = 0x01;
export const SALT_LENGTH = 16;
export const SECRET_LENGTH = 32;
export const PIN_LENGTH = 6;
// A hostile server response must not be able to pin the CPU for minutes.
export const MAX_ITERATIONS = 10000000;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const WRAP_INFO = new TextEncoder().encode("certbank cloud key wrap v1");
const BLOB_AAD = new TextEncoder().encode("certbank cloud key v1");

const CLOUD_KEY_MESSAGE = "금융인증서를 열 수 없습니다. PIN 또는 인증서 정보가 올바르지 않습니다.";

// Reasons a PIN is refused (checkPin codes → isWeakPin messages).
export const WEAK_PIN_MESSAGES = Object.freeze({
  format: "PIN은 숫자 6자리로 입력해 주세요.",
  same: "같은 숫자만 반복한 PIN은 사용할 수 없습니다.",
  sequence: "연속된 숫자(예: 123456, 987654)는 PIN으로 사용할 수 없습니다.",
  pattern: "반복되는 숫자 묶음(예: 112233, 121212, 123123)은 PIN으로 사용할 수 없습니다.",
  "birth-date": "생년월일은 PIN으로 사용할 수 없습니다.",
});

/** The blob does not open: wrong PIN or secret, tampered or unknown version. */
export class CloudKeyError extends Error {
  constructor(message = CLOUD_KEY_MESSAGE, options) {
    super(message, options);
    this.name = "CloudKeyError";
  }
}

// ---------------------------------------------------------------- PIN rules

const PIN_RE = /^[0-9]{6}$/;

function birthDateDigits(birthDate) {
  // "1990-03-15", "19900315" or "900315" (a Date is taken in local time).
  if (birthDate == null || birthDate === "") return null;
  if (birthDate instanceof Date) {
    if (Number.isNaN(birthDate.getTime())) return null;
    const pad = (n) => String(n).padStart(2, "0");
    return pad(birthDate.getFullYear() % 100) + pad(birthDate.getMonth() + 1) + pad(birthDate.getDate());
  }
  const digits = String(birthDate).replace(/[^0-9]/g, "");
  if (digits.length === 8) return digits.slice(2);
  if (digits.length === 6) return digits;
  return null;
}

/**
 * Why a new PIN is refused, as a code, or null when it is acceptable:
 * - "format": not exactly six ASCII digits;
 * - "same": one digit six times (000000 … 999999);
 * - "sequence": each digit one more (or one less) than the one before,
 *   counting 9 → 0 as a step too (012345 … 456789, 987654 … 543210,
 *   890123, 109876 …);
 * - "pattern": a digit group repeated: halves (123123), three pairs of one
 *   digit each (112233, 990011) or one pair three times (121212);
 * - "birth-date": the customer's birth date as YYMMDD, when given.
 * That refuses 2,100 of the 10^6 PINs (plus the birth date): the
 * guesses an attacker tries first, without refusing so much that customers
 * write the PIN down. The same rules are in certificates/client/cloud.py.
 */
export function checkPin(pin, { birthDate } = {}) {
  if (typeof pin !== "string" || !PIN_RE.test(pin)) return "format";
  const d = [...pin].map(Number);
  if (d.every((x) => x === d[0])) return "same";
  for (const step of [1, 9]) {
    if (d.every((x, i) => i === 0 || x === (d[i - 1] + step) % 10)) return "sequence";
  }
  const halves = pin.slice(0, 3) === pin.slice(3);
  const pairs = d[0] === d[1] && d[2] === d[3] && d[4] === d[5];
  const repeatedPair = pin === pin.slice(0, 2).repeat(3);
  if (halves || pairs || repeatedPair) return "pattern";
  if (birthDateDigits(birthDate) === pin) return "birth-date";
  return null;
}

/** The Korean reason a new PIN is refused, or null (see checkPin). */
export function isWeakPin(pin, { birthDate } = {}) {
  const code = checkPin(pin, { birthDate });
  return code ? WEAK_PIN_MESSAGES[code] : null;
}

// ---------------------------------------------------------------- helpers

function toBytes(data, what) {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError(`${what} must be a Uint8Array or an ArrayBuffer`);
}

function sized(data, length, what) {
  const bytes = toBytes(data, what);
  if (bytes.length !== length) throw new RangeError(`${what} must be ${length} bytes`);
  return bytes;
}

function checkIterations(iterations) {
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new RangeError(`iterations must be between 1 and ${MAX_ITERATIONS}`);
  }
}

function checkPinFormat(pin, what = "the PIN") {
  if (typeof pin !== "string" || !PIN_RE.test(pin)) throw new TypeError(`${what} must be 6 ASCII digits`);
}

/** 16 random bytes (a fresh verifierSalt or wrapSalt). */
export function randomSalt() {
  return crypto.getRandomValues(new Uint8Array(SALT_LENGTH));
}

async function pbkdf2Sha256(pin, salt, iterations) {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(pin), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, material, 256);
  return new Uint8Array(bits);
}

/** The AES-256-GCM key (non-extractable) from the PIN and the server secret. */
async function deriveWrapKey(pin, serverSecret, wrapSalt, iterations, usages) {
  const pinKey = await pbkdf2Sha256(pin, wrapSalt, iterations);
  const ikm = new Uint8Array(pinKey.length + serverSecret.length);
  ikm.set(pinKey);
  ikm.set(serverSecret, pinKey.length);
  pinKey.fill(0);
  try {
    const hkdf = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveKey"]);
    return await crypto.subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: wrapSalt, info: WRAP_INFO },
      hkdf,
      { name: "AES-GCM", length: 256 },
      false,
      usages,
    );
  } finally {
    ikm.fill(0);
  }
}

async function seal(plaintext, { pin, serverSecret, wrapSalt, iterations }) {
  const key = await deriveWrapKey(pin, serverSecret, wrapSalt, iterations, ["encrypt"]);
  const iv = crypto.getRandomValues(new Uint8Array(IV_LENGTH));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: BLOB_AAD, tagLength: 128 }, key, plaintext),
  );
  const blob = new Uint8Array(1 + IV_LENGTH + sealed.length);
  blob[0] = BLOB_VERSION;
  blob.set(iv, 1);
  blob.set(sealed, 1 + IV_LENGTH);
  return blob;
}

/** The PrivateKeyInfo-with-R inside a blob (the caller wipes it), or CloudKeyError. */
async function open(blobData, { pin, serverSecret, wrapSalt, iterations }) {
  const blob = toBytes(blobData, "blob");
  if (blob.length < 1 + IV_LENGTH + TAG_LENGTH + 1) throw new CloudKeyError();
  if (blob[0] !== BLOB_VERSION) throw new CloudKeyError();
  const key = await deriveWrapKey(pin, serverSecret, wrapSalt, iterations, ["decrypt"]);
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: blob.subarray(1, 1 + IV_LENGTH), additionalData: BLOB_AAD, tagLength: 128 },
      key,
      blob.subarray(1 + IV_LENGTH),
    );
    return new Uint8Array(plain);
  } catch (error) {
    throw new CloudKeyError(undefined, { cause: error });
  }
}

/** Check and normalise the common arguments (throws TypeError/RangeError). */
function secrets({ pin, serverSecret, wrapSalt, iterations }, pinName = "the PIN") {
  checkPinFormat(pin, pinName);
  checkIterations(iterations);
  return {
    pin,
    serverSecret: sized(serverSecret, SECRET_LENGTH, "serverSecret"),
    wrapSalt: sized(wrapSalt, SALT_LENGTH, "wrapSalt"),
    iterations,
  };
}

function checkedPlaintext(plain) {
  // AES-GCM authenticated it, so a parse failure means a blob this code
  // did not write: refuse it the same way.
  try {
    const opened = readPrivateKeyInfoWithRandom(plain);
    if (!opened.r || opened.r.length !== R_LENGTH) throw new Error("R is missing");
    return opened;
  } catch (error) {
    throw new CloudKeyError(undefined, { cause: error });
  }
}

// ---------------------------------------------------------------- API

/** What the browser sends to prove the PIN: PBKDF2-HMAC-SHA256 → 32 bytes. */
export async function pinVerifier(pin, { verifierSalt, iterations }) {
  checkPinFormat(pin);
  checkIterations(iterations);
  return pbkdf2Sha256(pin, sized(verifierSalt, SALT_LENGTH, "verifierSalt"), iterations);
}

/** The blob for a new key: PKCS#8 (attributes replaced by R) under the PIN and the secret. */
export async function wrapKey({ privateKeyPkcs8, r, pin, serverSecret, wrapSalt, iterations }) {
  const args = secrets({ pin, serverSecret, wrapSalt, iterations });
  const rBytes = sized(r, R_LENGTH, "r");
  const plain = privateKeyInfoWithRandom(privateKeyPkcs8, rBytes);
  try {
    return await seal(plain, args);
  } finally {
    plain.fill(0);
  }
}

/**
 * Open a blob: {signingKey (non-extractable RSASSA-PKCS1-v1_5/SHA-256), r}.
 * The decrypted key bytes are wiped once imported. Throws CloudKeyError
 * when the blob does not open.
 */
export async function unwrapKey({ blob, pin, serverSecret, wrapSalt, iterations }) {
  const plain = await open(blob, secrets({ pin, serverSecret, wrapSalt, iterations }));
  let opened = null;
  try {
    opened = checkedPlaintext(plain);
    const signingKey = await importSigningKey(opened.privateKeyPkcs8);
    return { signingKey, r: opened.r };
  } finally {
    plain.fill(0);
    if (opened) opened.privateKeyPkcs8.fill(0);
  }
}

/**
 * The same key and R under a new PIN and a new wrap salt (PIN change); the
 * server secret stays. Throws CloudKeyError when the old PIN does not open it.
 */
export async function rewrapKey({ blob, oldPin, newPin, serverSecret, wrapSalt, newWrapSalt, iterations }) {
  const oldArgs = secrets({ pin: oldPin, serverSecret, wrapSalt, iterations }, "the old PIN");
  const newArgs = secrets({ pin: newPin, serverSecret, wrapSalt: newWrapSalt, iterations }, "the new PIN");
  const plain = await open(blob, oldArgs);
  try {
    checkedPlaintext(plain).privateKeyPkcs8.fill(0);
    return await seal(plain, newArgs);
  } finally {
    plain.fill(0);
  }
}
