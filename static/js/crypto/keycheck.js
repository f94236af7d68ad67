// Does a private key belong to a certificate? Used when a customer imports
// signCert.der + signPri.key: the files are a pair only if the RSA public
// key inside the private key (n, e) is the certificate's SubjectPublicKeyInfo
// (RFC 5280 §4.1.2.7). Kept in js/crypto/ so crypto.subtle stays out of ui/.
//
// The private key is imported extractable only for this comparison and only
// the public half (n, e) of its JWK is read; the CryptoKey is dropped.

import { parseCertificate } from "./der.js";

const OID_RSA = "1.2.840.113549.1.1.1";
// The hash is irrelevant to (n, e); WebCrypto just needs an algorithm.
const ALGORITHM = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };

function toBytes(data, what) {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError(`${what} must be a Uint8Array or an ArrayBuffer`);
}

/**
 * True when `privateKeyPkcs8` (a PrivateKeyInfo without attributes, as
 * npki.js decryptKeyFile returns it) is the key of `certificateDer`.
 * False for a different key or a certificate that is not RSA; throws only
 * when the inputs cannot be read at all.
 */
export async function keyMatchesCertificate(privateKeyPkcs8, certificateDer) {
  const parsed = parseCertificate(toBytes(certificateDer, "certificateDer"));
  if (parsed.subjectPublicKeyInfo.algorithm !== OID_RSA) return false;
  const [privateKey, publicKey] = await Promise.all([
    crypto.subtle.importKey("pkcs8", toBytes(privateKeyPkcs8, "privateKeyPkcs8"), ALGORITHM, true, ["sign"]),
    crypto.subtle.importKey("spki", parsed.subjectPublicKeyInfo.bytes, ALGORITHM, true, ["verify"]),
  ]);
  const [privateJwk, publicJwk] = await Promise.all([
    crypto.subtle.exportKey("jwk", privateKey),
    crypto.subtle.exportKey("jwk", publicKey),
  ]);
  const match = privateJwk.n === publicJwk.n && privateJwk.e === publicJwk.e;
  // Drop the private parts of the JWK right away (best effort in JS).
  for (const field of ["d", "p", "q", "dp", "dq", "qi"]) delete privateJwk[field];
  return match;
}
