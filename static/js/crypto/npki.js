// NPKI key files (공동인증서 signPri.key) in the browser: PBES2 with
// PBKDF2-HMAC-SHA1 (WebCrypto) and SEED-CBC (seed.js), DER via der.js.
//
// signPri.key is a DER PKCS#8 EncryptedPrivateKeyInfo (DESIGN.md §3):
//   SEQUENCE {
//     SEQUENCE { OID pbes2 1.2.840.113549.1.5.13,
//       SEQUENCE {
//         SEQUENCE { OID pbkdf2 1.2.840.113549.1.5.12,
//                    SEQUENCE { OCTET STRING salt, INTEGER iterations } }
//                    -- no keyLength and no prf: HMAC-SHA1, 16-byte key
//         SEQUENCE { OID seedCBC 1.2.410.200004.1.4, OCTET STRING iv (16) } } }
//     OCTET STRING SEED-CBC/PKCS#7 (PrivateKeyInfo with R) }
// R is the PrivateKeyInfo attribute
//   [0] IMPLICIT SET { SEQUENCE { OID 1.2.410.200004.10.1.1.3, SET { BIT STRING R } } }
// This is what pypinksign and `openssl pkcs8 -provider legacy` open, and
// what certificates/client/npki.py writes and reads.
//
// Reading also accepts an explicit PBKDF2 PRF (HMAC-SHA1/256/384/512) and
// AES-CBC, as OpenSSL exports them.

import * as der from "./der.js";
import { SeedCipher } from "./seed.js";

export const DEFAULT_ITERATIONS = 600000;
// A hostile file must not be able to pin the CPU for minutes.
export const MAX_ITERATIONS = 10000000;
const SALT_LENGTH = 16;
export const NPKI_CA_FOLDER = "NPKI/CertbankCA/USER";

const OID_PBES2 = "1.2.840.113549.1.5.13";
const OID_PBKDF2 = "1.2.840.113549.1.5.12";
const OID_SEED_CBC = "1.2.410.200004.1.4";
const OID_NPKI_RANDOM = "1.2.410.200004.10.1.1.3";
const OID_RSA = "1.2.840.113549.1.1.1";
const OID_HMAC_SHA1 = "1.2.840.113549.2.7";
const PRF_HASHES = {
  [OID_HMAC_SHA1]: "SHA-1",
  "1.2.840.113549.2.9": "SHA-256",
  "1.2.840.113549.2.10": "SHA-384",
  "1.2.840.113549.2.11": "SHA-512",
};
const AES_CBC_KEY_SIZES = {
  "2.16.840.1.101.3.4.1.2": 16,
  "2.16.840.1.101.3.4.1.22": 24,
  "2.16.840.1.101.3.4.1.42": 32,
};

const WRONG_PASSWORD_MESSAGE = "인증서 비밀번호가 올바르지 않습니다.";
const PASSWORD_RULES_MESSAGE = "인증서 비밀번호는 영문, 숫자, 특수문자를 모두 포함해 10자리 이상이어야 합니다.";

export class WrongPasswordError extends Error {
  constructor(message = WRONG_PASSWORD_MESSAGE, options) {
    super(message, options);
    this.name = "WrongPasswordError";
  }
}

export class KeyFileError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = "KeyFileError";
  }
}

/**
 * null when the password is acceptable for a new key file, else the Korean
 * message: at least 10 characters with an English letter, a digit and a
 * special (ASCII punctuation) character.
 */
export function checkPasswordRules(password) {
  if (typeof password !== "string") return PASSWORD_RULES_MESSAGE;
  const ok =
    [...password].length >= 10 &&
    /[A-Za-z]/.test(password) &&
    /[0-9]/.test(password) &&
    /[!-/:-@[-`{-~]/.test(password);
  return ok ? null : PASSWORD_RULES_MESSAGE;
}

function toBytes(data, what) {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError(`${what} must be a Uint8Array or an ArrayBuffer`);
}

function isTag(node, tag, tagClass = "universal") {
  return node && node.tag === tag && node.tagClass === tagClass;
}

function expectSequence(node, what) {
  if (!isTag(node, der.TAG.SEQUENCE) || !node.constructed) throw new Error(`${what} must be a SEQUENCE`);
  return node.children;
}

function expectOctets(node, what) {
  if (!isTag(node, der.TAG.OCTET_STRING) || node.constructed) throw new Error(`${what} must be an OCTET STRING`);
  return node.value;
}

function isNull(node) {
  return isTag(node, der.TAG.NULL) && !node.constructed && node.value.length === 0;
}

async function pbkdf2(password, salt, iterations, hash, length) {
  if (typeof password !== "string") throw new TypeError("the password must be a string");
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash, salt, iterations }, material, length * 8);
  return new Uint8Array(bits);
}

// ---------------------------------------------------------------- PrivateKeyInfo

/**
 * Strictly parse a PrivateKeyInfo: {version, algorithm, privateKey} nodes
 * and R (or null). Throws a plain Error for anything malformed, a
 * KeyFileError for a well-formed non-RSA key.
 */
function parsePrivateKeyInfo(bytes) {
  const children = expectSequence(der.decode(bytes), "PrivateKeyInfo");
  if (children.length !== 3 && children.length !== 4) throw new Error("PrivateKeyInfo must have 3 or 4 elements");
  const [version, algorithm, privateKey, attributes] = children;
  const v = der.readInteger(version);
  if (v !== 0n && v !== 1n) throw new Error("unknown PrivateKeyInfo version");
  const { oid: algorithmOid, parameters } = der.readAlgorithmIdentifier(algorithm);
  if (algorithmOid !== OID_RSA) {
    throw new KeyFileError(`지원하지 않는 키 알고리즘입니다 (OID ${algorithmOid}; RSA만 지원).`);
  }
  if (!isNull(parameters)) throw new Error("rsaEncryption parameters must be NULL");
  const rsaFields = expectSequence(der.decode(expectOctets(privateKey, "privateKey")), "RSAPrivateKey");
  if (rsaFields.length !== 9) throw new Error("RSAPrivateKey must have 9 elements");
  rsaFields.forEach((field) => der.readInteger(field));
  let r = null;
  if (attributes) {
    if (!isTag(attributes, 0, "context") || !attributes.constructed) throw new Error("attributes must be [0]");
    for (const attribute of attributes.children) {
      const [type, values, ...rest] = expectSequence(attribute, "Attribute");
      if (!values || rest.length) throw new Error("Attribute must have two elements");
      if (!isTag(values, der.TAG.SET)) throw new Error("Attribute values must be a SET");
      if (der.oidToString(type) === OID_NPKI_RANDOM) {
        if (values.children.length !== 1) throw new Error("R must have one value");
        const { unusedBits, bytes: rBytes } = der.readBitString(values.children[0]);
        if (unusedBits !== 0) throw new Error("R must be whole octets");
        r = rBytes;
      }
    }
  }
  return { version, algorithm, privateKey, r };
}

/** The PrivateKeyInfo without attributes (what WebCrypto imports). */
export function stripAttributes(privateKeyPkcs8) {
  const { version, algorithm, privateKey } = parsePrivateKeyInfo(toBytes(privateKeyPkcs8, "privateKeyPkcs8"));
  return der.encode(der.seq(version, algorithm, privateKey));
}

/**
 * The PrivateKeyInfo a key file (or a 금융인증서 blob, cloud.js) carries:
 * the RSA key with any attributes replaced by R as the NPKI attribute
 * [0] { SEQUENCE { OID 1.2.410.200004.10.1.1.3, SET { BIT STRING R } } }
 * (no attributes when r is null). Throws RangeError for an empty R,
 * KeyFileError for a malformed or non-RSA PrivateKeyInfo.
 */
export function privateKeyInfoWithRandom(privateKeyPkcs8, r) {
  const rBytes = r == null ? null : toBytes(r, "r");
  if (rBytes && rBytes.length === 0) throw new RangeError("R must not be empty");
  let parts;
  try {
    parts = parsePrivateKeyInfo(toBytes(privateKeyPkcs8, "privateKeyPkcs8"));
  } catch (error) {
    if (error instanceof KeyFileError) throw error;
    throw new KeyFileError(`개인키(PKCS#8) 형식이 올바르지 않습니다: ${error.message}`, { cause: error });
  }
  const { version, algorithm, privateKey } = parts;
  if (rBytes == null) return der.encode(der.seq(version, algorithm, privateKey));
  const attribute = der.seq(der.oid(OID_NPKI_RANDOM), der.set(der.bitString(rBytes)));
  return der.encode(der.seq(version, algorithm, privateKey, der.contextTag(0, [attribute])));
}

/**
 * Strictly read a PrivateKeyInfo carrying R (the inverse of
 * privateKeyInfoWithRandom): {privateKeyPkcs8 (a new array, attributes
 * removed), r (a copy, or null)}. Throws a plain Error for anything
 * malformed (after a decryption: the wrong secret), a KeyFileError for a
 * well-formed non-RSA key. The caller wipes the input.
 */
export function readPrivateKeyInfoWithRandom(bytes) {
  const { version, algorithm, privateKey, r } = parsePrivateKeyInfo(toBytes(bytes, "bytes"));
  return { privateKeyPkcs8: der.encode(der.seq(version, algorithm, privateKey)), r: r ? r.slice() : null };
}

// ---------------------------------------------------------------- PBES2

/**
 * signPri.key bytes: the PKCS#8 (any attributes replaced by R) encrypted
 * under the password (UTF-8) with PBES2 / PBKDF2-HMAC-SHA1 / SEED-CBC.
 */
export async function encryptKeyFile({ privateKeyPkcs8, r, password, iterations = DEFAULT_ITERATIONS }) {
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new RangeError(`iterations must be between 1 and ${MAX_ITERATIONS}`);
  }
  const plain = privateKeyInfoWithRandom(privateKeyPkcs8, r);
  const salt = crypto.getRandomValues(new Uint8Array(SALT_LENGTH));
  const iv = crypto.getRandomValues(new Uint8Array(16));
  const key = await pbkdf2(password, salt, iterations, "SHA-1", 16);
  const ciphertext = new SeedCipher(key).cbcEncrypt(iv, plain);
  plain.fill(0);
  key.fill(0);
  return der.encode(
    der.seq(
      der.seq(
        der.oid(OID_PBES2),
        der.seq(
          der.seq(der.oid(OID_PBKDF2), der.seq(der.octets(salt), der.int(iterations))),
          der.seq(der.oid(OID_SEED_CBC), der.octets(iv)),
        ),
      ),
      der.octets(ciphertext),
    ),
  );
}

function parseEncryptedKeyFile(bytes) {
  let root;
  try {
    root = der.decode(bytes);
  } catch (error) {
    throw new KeyFileError(`인증서 키 파일(signPri.key) 형식이 올바르지 않습니다: ${error.message}`, { cause: error });
  }
  const malformed = (what) => new KeyFileError(`인증서 키 파일(signPri.key) 형식이 올바르지 않습니다: ${what}`);
  try {
    const [algorithm, encryptedData, ...extra] = expectSequence(root, "EncryptedPrivateKeyInfo");
    if (!encryptedData || extra.length) throw malformed("EncryptedPrivateKeyInfo must have two elements");
    const scheme = der.readAlgorithmIdentifier(algorithm);
    if (scheme.oid !== OID_PBES2) {
      throw new KeyFileError(`지원하지 않는 키 파일 암호화 방식입니다 (OID ${scheme.oid}; PBES2만 지원).`);
    }
    const [kdf, cipher, ...moreParams] = expectSequence(scheme.parameters, "PBES2-params");
    if (!cipher || moreParams.length) throw malformed("PBES2-params must have two elements");
    const kdfAlgorithm = der.readAlgorithmIdentifier(kdf);
    if (kdfAlgorithm.oid !== OID_PBKDF2) {
      throw new KeyFileError(`지원하지 않는 키 유도 방식입니다 (OID ${kdfAlgorithm.oid}; PBKDF2만 지원).`);
    }
    const [saltNode, iterationNode, ...rest] = expectSequence(kdfAlgorithm.parameters, "PBKDF2-params");
    if (!iterationNode) throw malformed("PBKDF2-params is too short");
    const salt = expectOctets(saltNode, "salt");
    const iterationsBig = der.readInteger(iterationNode);
    let keyLength = null;
    if (rest.length && isTag(rest[0], der.TAG.INTEGER)) keyLength = Number(der.readInteger(rest.shift()));
    let prf = OID_HMAC_SHA1;
    if (rest.length) {
      const prfAlgorithm = der.readAlgorithmIdentifier(rest.shift());
      if (prfAlgorithm.parameters && !isNull(prfAlgorithm.parameters)) throw malformed("PRF parameters must be NULL");
      prf = prfAlgorithm.oid;
    }
    if (rest.length) throw malformed("PBKDF2-params is too long");
    const hash = PRF_HASHES[prf];
    if (!hash) throw new KeyFileError(`지원하지 않는 PBKDF2 PRF입니다 (OID ${prf}).`);
    if (iterationsBig < 1n || iterationsBig > BigInt(MAX_ITERATIONS)) {
      throw new KeyFileError(`반복 횟수 ${iterationsBig}은(는) 지원 범위(1–${MAX_ITERATIONS})를 벗어납니다.`);
    }
    const cipherAlgorithm = der.readAlgorithmIdentifier(cipher);
    let keySize;
    if (cipherAlgorithm.oid === OID_SEED_CBC) keySize = 16;
    else if (AES_CBC_KEY_SIZES[cipherAlgorithm.oid]) keySize = AES_CBC_KEY_SIZES[cipherAlgorithm.oid];
    else {
      throw new KeyFileError(
        `지원하지 않는 암호 알고리즘입니다 (OID ${cipherAlgorithm.oid}; SEED-CBC ${OID_SEED_CBC} 또는 AES-CBC만 지원).`,
      );
    }
    const iv = expectOctets(cipherAlgorithm.parameters, "IV");
    if (iv.length !== 16) throw malformed("the IV must be 16 bytes");
    if (keyLength !== null && keyLength !== keySize) {
      throw new KeyFileError(`keyLength ${keyLength}이(가) 암호 알고리즘 ${cipherAlgorithm.oid}와 맞지 않습니다.`);
    }
    const ciphertext = expectOctets(encryptedData, "encryptedData");
    if (ciphertext.length === 0 || ciphertext.length % 16) throw malformed("encryptedData is not whole blocks");
    return { salt, iterations: Number(iterationsBig), hash, cipher: cipherAlgorithm.oid, keySize, iv, ciphertext };
  } catch (error) {
    if (error instanceof KeyFileError) throw error;
    throw new KeyFileError(`인증서 키 파일(signPri.key) 형식이 올바르지 않습니다: ${error.message}`, { cause: error });
  }
}

/**
 * Open signPri.key: {privateKeyPkcs8 (plain PrivateKeyInfo, attributes
 * removed), r (Uint8Array or null), iterations}. Throws WrongPasswordError
 * or KeyFileError.
 */
export async function decryptKeyFile(signPriKey, password) {
  const info = parseEncryptedKeyFile(toBytes(signPriKey, "signPriKey"));
  const key = await pbkdf2(password, info.salt, info.iterations, info.hash, info.keySize);
  let plain;
  try {
    if (info.cipher === OID_SEED_CBC) {
      plain = new SeedCipher(key).cbcDecrypt(info.iv, info.ciphertext);
    } else {
      const aesKey = await crypto.subtle.importKey("raw", key, "AES-CBC", false, ["decrypt"]);
      plain = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-CBC", iv: info.iv }, aesKey, info.ciphertext));
    }
  } catch (error) {
    throw new WrongPasswordError(undefined, { cause: error });
  } finally {
    key.fill(0);
  }
  try {
    // The padding passes by chance for about 1 wrong password in 256; the
    // strict parse of the plaintext catches those.
    const { privateKeyPkcs8, r } = readPrivateKeyInfoWithRandom(plain);
    return { privateKeyPkcs8, r, iterations: info.iterations };
  } catch (error) {
    if (error instanceof KeyFileError) throw error;
    throw new WrongPasswordError(undefined, { cause: error });
  } finally {
    plain.fill(0);
  }
}

/**
 * The same key and R under a new password. The iteration count is the
 * file's, raised to DEFAULT_ITERATIONS if it was lower (old NPKI files use
 * 2048), unless `iterations` is given.
 */
export async function reencryptKeyFile(signPriKey, oldPassword, newPassword, { iterations } = {}) {
  const opened = await decryptKeyFile(signPriKey, oldPassword);
  try {
    return await encryptKeyFile({
      privateKeyPkcs8: opened.privateKeyPkcs8,
      r: opened.r,
      password: newPassword,
      iterations: iterations ?? Math.max(opened.iterations, DEFAULT_ITERATIONS),
    });
  } finally {
    opened.privateKeyPkcs8.fill(0);
  }
}

// ---------------------------------------------------------------- folders

// RFC 4514 short names, lower-cased as NPKI folder names write them.
const DN_NAMES = {
  "2.5.4.3": "cn",
  "2.5.4.4": "sn",
  "2.5.4.5": "serialnumber",
  "2.5.4.6": "c",
  "2.5.4.7": "l",
  "2.5.4.8": "st",
  "2.5.4.9": "street",
  "2.5.4.10": "o",
  "2.5.4.11": "ou",
  "2.5.4.12": "title",
  "2.5.4.42": "givenname",
  "0.9.2342.19200300.100.1.25": "dc",
  "0.9.2342.19200300.100.1.1": "uid",
  "1.2.840.113549.1.9.1": "email",
};
// Characters no folder name may contain (as certificates/client/npki.py).
const UNSAFE_IN_FOLDER = /[/\\:*?"<>|\u0000-\u001f\u007f]/g;

/**
 * The subject DN as an NPKI folder name, most specific first:
 * "cn=홍길동()0019010000001,ou=NURI,ou=personal4IB,o=CertbankCA,c=KR".
 * Takes der.js's parseCertificate() output.
 */
export function subjectDnFolderName(parsedCertificate) {
  const subject = parsedCertificate?.subject;
  if (!Array.isArray(subject)) throw new TypeError("subjectDnFolderName() needs parseCertificate() output");
  // readName() flattens RDNs in certificate order (c first): reverse it.
  const name = [...subject]
    .reverse()
    .map(({ type, value }) => `${DN_NAMES[type] ?? type}=${value.replace(UNSAFE_IN_FOLDER, "_")}`)
    .join(",");
  return name === "" || name === "." || name === ".." ? "_" : name;
}

/** "NPKI/CertbankCA/USER/<subject DN folder name>" */
export function npkiFolder(subjectDnString) {
  if (typeof subjectDnString !== "string" || !subjectDnString) throw new TypeError("npkiFolder() needs the DN folder name");
  return `${NPKI_CA_FOLDER}/${subjectDnString}`;
}
