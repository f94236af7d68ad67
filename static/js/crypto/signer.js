// Signing keys in the browser: the only code that calls crypto.subtle for
// them. RSASSA-PKCS1-v1_5 with SHA-256 (what NPKI tools and the server's
// certificates/challenges.py use), public exponent 65537.
//
// A key is generated extractable exactly once, to export its PKCS#8 for
// the key file (npki.js); the key used for signing is always a
// non-extractable import of that PKCS#8.

import * as der from "./der.js";

export const R_LENGTH = 20;

const ALGORITHM = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };

function toBytes(data, what) {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError(`${what} must be a Uint8Array or an ArrayBuffer`);
}

/**
 * A new RSA key pair: {privateKeyPkcs8, publicKeySpki, signingKey}; the
 * signing key is not extractable.
 */
export async function generateKeyPair({ modulusLength = 2048 } = {}) {
  const pair = await crypto.subtle.generateKey(
    { ...ALGORITHM, modulusLength, publicExponent: Uint8Array.of(1, 0, 1) },
    true,
    ["sign", "verify"],
  );
  const privateKeyPkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const publicKeySpki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  const signingKey = await importSigningKey(privateKeyPkcs8);
  return { privateKeyPkcs8, publicKeySpki, signingKey };
}

/** R: 20 random bytes (the value a VID binds to the customer's RRN). */
export function randomR() {
  return crypto.getRandomValues(new Uint8Array(R_LENGTH));
}

// PrivateKeyInfo ::= SEQUENCE { version, algorithm, privateKey, [0] attributes OPTIONAL }
function withoutAttributes(pkcs8) {
  const root = der.decode(pkcs8);
  if (root.tagClass !== "universal" || root.tag !== der.TAG.SEQUENCE || !root.constructed) {
    throw new Error("PKCS#8: PrivateKeyInfo must be a SEQUENCE");
  }
  if (root.children.length <= 3) return pkcs8;
  return der.encode(der.seq(...root.children.slice(0, 3)));
}

/**
 * A non-extractable signing key from a PKCS#8 PrivateKeyInfo. Attributes
 * (the NPKI R) are dropped first: Chromium 156 happens to accept them
 * (tests/crypto/test_signer.py prints what it does), but WebCrypto does not
 * promise it, and the signing key has no use for R.
 */
export async function importSigningKey(privateKeyPkcs8) {
  const pkcs8 = withoutAttributes(toBytes(privateKeyPkcs8, "privateKeyPkcs8"));
  return crypto.subtle.importKey("pkcs8", pkcs8, ALGORITHM, false, ["sign"]);
}

/** RSASSA-PKCS1-v1_5/SHA-256 signature of `bytes`. */
export async function sign(signingKey, bytes) {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : toBytes(bytes, "bytes");
  return new Uint8Array(await crypto.subtle.sign(ALGORITHM, signingKey, data));
}
