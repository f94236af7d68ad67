// SEED block cipher (RFC 4269) and SEED-CBC with PKCS#7 padding.
//
// SEED is the 128-bit block cipher of the Korean NPKI key files
// (signPri.key: PKCS#8 EncryptedPrivateKeyInfo, PBES2 with SEED-CBC,
// OID 1.2.410.200004.1.4). WebCrypto has no SEED, so it lives here.
//
// Structure (RFC 4269 §2): a 16-round Feistel network on two 64-bit halves
// L = L0||L1 and R = R0||R1 (32-bit big-endian words). Each round computes
// F(Ki, R) from the round key Ki = (Ki0, Ki1) and the G function, a 32-bit
// substitution built from the two 8-bit S-boxes S1 and S2 (Appendix A).
// The last round does not swap the halves, so decryption is encryption with
// the round keys in reverse order.
//
// Plain ES module, no dependencies, nothing leaks into the global scope.
// Checked against the four RFC 4269 Appendix B test vectors and against the
// SEED of Python's `cryptography` (tests/crypto/test_seed.py).

const BLOCK = 16;

// RFC 4269 Appendix A: the S-boxes S1 and S2 (decimal, as in the RFC).
// prettier-ignore
const S1 = [
  169, 133, 214, 211,  84,  29, 172,  37,  93,  67,  24,  30,  81, 252, 202,  99,
   40,  68,  32, 157, 224, 226, 200,  23, 165, 143,   3, 123, 187,  19, 210, 238,
  112, 140,  63, 168,  50, 221, 246, 116, 236, 149,  11,  87,  92,  91, 189,   1,
   36,  28, 115, 152,  16, 204, 242, 217,  44, 231, 114, 131, 155, 209, 134, 201,
   96,  80, 163, 235,  13, 182, 158,  79, 183,  90, 198, 120, 166,  18, 175, 213,
   97, 195, 180,  65,  82, 125, 141,   8,  31, 153,   0,  25,   4,  83, 247, 225,
  253, 118,  47,  39, 176, 139,  14, 171, 162, 110, 147,  77, 105, 124,   9,  10,
  191, 239, 243, 197, 135,  20, 254, 100, 222,  46,  75,  26,   6,  33, 107, 102,
    2, 245, 146, 138,  12, 179, 126, 208, 122,  71, 150, 229,  38, 128, 173, 223,
  161,  48,  55, 174,  54,  21,  34,  56, 244, 167,  69,  76, 129, 233, 132, 151,
   53, 203, 206,  60, 113,  17, 199, 137, 117, 251, 218, 248, 148,  89, 130, 196,
  255,  73,  57, 103, 192, 207, 215, 184,  15, 142,  66,  35, 145, 108, 219, 164,
   52, 241,  72, 194, 111,  61,  45,  64, 190,  62, 188, 193, 170, 186,  78,  85,
   59, 220, 104, 127, 156, 216,  74,  86, 119, 160, 237,  70, 181,  43, 101, 250,
  227, 185, 177, 159,  94, 249, 230, 178,  49, 234, 109,  95, 228, 240, 205, 136,
   22,  58,  88, 212,  98,  41,   7,  51, 232,  27,   5, 121, 144, 106,  42, 154,
];

// prettier-ignore
const S2 = [
   56, 232,  45, 166, 207, 222, 179, 184, 175,  96,  85, 199,  68, 111, 107,  91,
  195,  98,  51, 181,  41, 160, 226, 167, 211, 145,  17,   6,  28, 188,  54,  75,
  239, 136, 108, 168,  23, 196,  22, 244, 194,  69, 225, 214,  63,  61, 142, 152,
   40,  78, 246,  62, 165, 249,  13, 223, 216,  43, 102, 122,  39,  47, 241, 114,
   66, 212,  65, 192, 115, 103, 172, 139, 247, 173, 128,  31, 202,  44, 170,  52,
  210,  11, 238, 233,  93, 148,  24, 248,  87, 174,   8, 197,  19, 205, 134, 185,
  255, 125, 193,  49, 245, 138, 106, 177, 209,  32, 215,   2,  34,   4, 104, 113,
    7, 219, 157, 153,  97, 190, 230,  89, 221,  81, 144, 220, 154, 163, 171, 208,
  129,  15,  71,  26, 227, 236, 141, 191, 150, 123,  92, 162, 161,  99,  35,  77,
  200, 158, 156,  58,  12,  46, 186, 110, 159,  90, 242, 146, 243,  73, 120, 204,
   21, 251, 112, 117, 127,  53,  16,   3, 100, 109, 198, 116, 213, 180, 234,   9,
  118,  25, 254,  64,  18, 224, 189,   5, 250,   1, 240,  42,  94, 169,  86,  67,
  133,  20, 137, 155, 176, 229,  72, 121, 151, 252,  30, 130,  33, 140,  27,  95,
  119,  84, 178,  29,  37,  79,   0,  70, 237,  88,  82, 235, 126, 218, 201, 253,
   48, 149, 101,  60, 182, 228, 187, 124,  14,  80,  57,  38,  50, 132, 105, 147,
   55, 231,  36, 164, 203,  83,  10, 135, 217,  76, 131, 143, 206,  59,  74, 183,
];

// RFC 4269 §2.2: the key-schedule constants KC0..KC15. KCi is the 32-bit
// golden-ratio constant 0x9E3779B9 rotated left by i bits.
// prettier-ignore
const KC = new Uint32Array([
  0x9e3779b9, 0x3c6ef373, 0x78dde6e6, 0xf1bbcdcc,
  0xe3779b99, 0xc6ef3733, 0x8dde6e67, 0x1bbcdccf,
  0x3779b99e, 0x6ef3733c, 0xdde6e678, 0xbbcdccf1,
  0x779b99e3, 0xef3733c6, 0xde6e678d, 0xbcdccf1b,
]);

// The G function (RFC 4269 §2.1). For X = X3||X2||X1||X0 (X3 most
// significant):
//   Y3 = S2(X3), Y2 = S1(X2), Y1 = S2(X1), Y0 = S1(X0)
//   Z0 = (Y0&m0) ^ (Y1&m1) ^ (Y2&m2) ^ (Y3&m3)
//   Z1 = (Y0&m1) ^ (Y1&m2) ^ (Y2&m3) ^ (Y3&m0)
//   Z2 = (Y0&m2) ^ (Y1&m3) ^ (Y2&m0) ^ (Y3&m1)
//   Z3 = (Y0&m3) ^ (Y1&m0) ^ (Y2&m1) ^ (Y3&m2)
//   G(X) = Z3||Z2||Z1||Z0,  m0..m3 = 0xfc, 0xf3, 0xcf, 0x3f.
// Every Zj is linear (XOR) in the Yi, so G splits into four 256-entry tables
// SS0..SS3, one per input byte: G(X) = SS3[X3] ^ SS2[X2] ^ SS1[X1] ^ SS0[X0].
// They are generated here from S1/S2 once, when the module loads.
const [SS0, SS1, SS2, SS3] = (() => {
  const m = [0xfc, 0xf3, 0xcf, 0x3f];
  const tables = [new Uint32Array(256), new Uint32Array(256), new Uint32Array(256), new Uint32Array(256)];
  // Input byte i feeds Yi; output byte Zj takes Yi & m[(i + j) % 4].
  const word = (y, i) =>
    (((y & m[(i + 3) % 4]) << 24) | ((y & m[(i + 2) % 4]) << 16) | ((y & m[(i + 1) % 4]) << 8) | (y & m[i])) >>> 0;
  for (let x = 0; x < 256; x++) {
    tables[0][x] = word(S1[x], 0);
    tables[1][x] = word(S2[x], 1);
    tables[2][x] = word(S1[x], 2);
    tables[3][x] = word(S2[x], 3);
  }
  return tables;
})();

function G(x) {
  return (SS0[x & 0xff] ^ SS1[(x >>> 8) & 0xff] ^ SS2[(x >>> 16) & 0xff] ^ SS3[x >>> 24]) >>> 0;
}

function readWord(bytes, offset) {
  return ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]) >>> 0;
}

function writeWord(bytes, offset, word) {
  bytes[offset] = word >>> 24;
  bytes[offset + 1] = (word >>> 16) & 0xff;
  bytes[offset + 2] = (word >>> 8) & 0xff;
  bytes[offset + 3] = word & 0xff;
}

/** Accept a Uint8Array, any other ArrayBuffer view, or an ArrayBuffer. */
function toBytes(data, what) {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError(`SEED: ${what} must be a Uint8Array or an ArrayBuffer`);
}

function checkLength(bytes, length, what) {
  if (bytes.length !== length) {
    throw new Error(`SEED: ${what} must be ${length} bytes, got ${bytes.length}`);
  }
}

// RFC 4269 §2.2 key schedule: 16 pairs (Ki0, Ki1) from the 128-bit key
// Key0||Key1||Key2||Key3. After each round the 64-bit half Key0||Key1 is
// rotated right by 8 bits (odd rounds, counting from 1) or Key2||Key3 is
// rotated left by 8 bits (even rounds).
function keySchedule(key) {
  let k0 = readWord(key, 0);
  let k1 = readWord(key, 4);
  let k2 = readWord(key, 8);
  let k3 = readWord(key, 12);
  const roundKeys = new Uint32Array(32);
  for (let i = 0; i < 16; i++) {
    roundKeys[2 * i] = G((k0 + k2 - KC[i]) >>> 0);
    roundKeys[2 * i + 1] = G((k1 - k3 + KC[i]) >>> 0);
    if (i % 2 === 0) {
      const t = k0;
      k0 = ((k0 >>> 8) | (k1 << 24)) >>> 0;
      k1 = ((k1 >>> 8) | (t << 24)) >>> 0;
    } else {
      const t = k2;
      k2 = ((k2 << 8) | (k3 >>> 24)) >>> 0;
      k3 = ((k3 << 8) | (t >>> 24)) >>> 0;
    }
  }
  return roundKeys;
}

// The 16-round Feistel network on one block, in place in `out` (which may be
// the same array as `input`): round keys K1..K16 to encrypt, K16..K1 to
// decrypt.
function crypt(roundKeys, input, inOffset, out, outOffset, decrypt) {
  let l0 = readWord(input, inOffset);
  let l1 = readWord(input, inOffset + 4);
  let r0 = readWord(input, inOffset + 8);
  let r1 = readWord(input, inOffset + 12);
  for (let round = 0; round < 16; round++) {
    const k = decrypt ? 15 - round : round;
    // F(Ki, R) (RFC 4269 §2.1), with 32-bit modular additions:
    //   t = G((R0^Ki0) ^ (R1^Ki1)),  u = G(t + (R0^Ki0)),  v = G(t + u)
    //   F = (u + v) || v
    const c = (r0 ^ roundKeys[2 * k]) >>> 0;
    const d = (r1 ^ roundKeys[2 * k + 1]) >>> 0;
    const t = G((c ^ d) >>> 0);
    const u = G((t + c) >>> 0);
    const v = G((t + u) >>> 0);
    const f0 = (u + v) >>> 0;
    const n0 = (l0 ^ f0) >>> 0;
    const n1 = (l1 ^ v) >>> 0;
    if (round < 15) {
      l0 = r0;
      l1 = r1;
      r0 = n0;
      r1 = n1;
    } else {
      // No swap after the last round.
      l0 = n0;
      l1 = n1;
    }
  }
  writeWord(out, outOffset, l0);
  writeWord(out, outOffset + 4, l1);
  writeWord(out, outOffset + 8, r0);
  writeWord(out, outOffset + 12, r1);
}

/**
 * A SEED key with its round keys computed once. Use it when many blocks are
 * processed under one key; the functions below build one per call.
 */
export class SeedCipher {
  #roundKeys;

  constructor(keyBytes) {
    const key = toBytes(keyBytes, "key");
    checkLength(key, BLOCK, "key");
    this.#roundKeys = keySchedule(key);
  }

  /** Encrypt one 16-byte block; returns a new Uint8Array. */
  encryptBlock(block) {
    const input = toBytes(block, "block");
    checkLength(input, BLOCK, "block");
    const out = new Uint8Array(BLOCK);
    crypt(this.#roundKeys, input, 0, out, 0, false);
    return out;
  }

  /** Decrypt one 16-byte block; returns a new Uint8Array. */
  decryptBlock(block) {
    const input = toBytes(block, "block");
    checkLength(input, BLOCK, "block");
    const out = new Uint8Array(BLOCK);
    crypt(this.#roundKeys, input, 0, out, 0, true);
    return out;
  }

  /** CBC encryption with PKCS#7 padding (always adds 1..16 bytes). */
  cbcEncrypt(ivBytes, plaintextBytes) {
    const iv = toBytes(ivBytes, "IV");
    checkLength(iv, BLOCK, "IV");
    const plaintext = toBytes(plaintextBytes, "plaintext");
    const pad = BLOCK - (plaintext.length % BLOCK);
    const out = new Uint8Array(plaintext.length + pad);
    out.set(plaintext);
    out.fill(pad, plaintext.length);
    let previous = iv;
    let previousOffset = 0;
    for (let offset = 0; offset < out.length; offset += BLOCK) {
      for (let i = 0; i < BLOCK; i++) out[offset + i] ^= previous[previousOffset + i];
      crypt(this.#roundKeys, out, offset, out, offset, false);
      previous = out;
      previousOffset = offset;
    }
    return out;
  }

  /**
   * CBC decryption, then removal and strict check of the PKCS#7 padding.
   * A wrong key (for a key file: a wrong password) shows up here as bad
   * padding, in all but about 1 case in 256.
   */
  cbcDecrypt(ivBytes, ciphertextBytes) {
    const iv = toBytes(ivBytes, "IV");
    checkLength(iv, BLOCK, "IV");
    const ciphertext = toBytes(ciphertextBytes, "ciphertext");
    if (ciphertext.length === 0 || ciphertext.length % BLOCK !== 0) {
      throw new Error(
        `SEED-CBC: ciphertext length ${ciphertext.length} is not a positive multiple of ${BLOCK} bytes`,
      );
    }
    const out = new Uint8Array(ciphertext.length);
    for (let offset = 0; offset < ciphertext.length; offset += BLOCK) {
      crypt(this.#roundKeys, ciphertext, offset, out, offset, true);
      const previous = offset === 0 ? iv : ciphertext.subarray(offset - BLOCK, offset);
      for (let i = 0; i < BLOCK; i++) out[offset + i] ^= previous[i];
    }
    // Check every padding byte without an early exit.
    const pad = out[out.length - 1];
    let bad = pad === 0 || pad > BLOCK ? 1 : 0;
    const count = Math.min(Math.max(pad, 1), BLOCK);
    for (let i = 1; i <= count; i++) bad |= out[out.length - i] ^ pad;
    if (bad !== 0) {
      throw new Error("SEED-CBC: invalid padding (wrong key or password, or corrupted data)");
    }
    return out.slice(0, out.length - pad);
  }
}

/** Encrypt one 16-byte block under a 16-byte key. */
export function seedEncryptBlock(keyBytes, block) {
  return new SeedCipher(keyBytes).encryptBlock(block);
}

/** Decrypt one 16-byte block under a 16-byte key. */
export function seedDecryptBlock(keyBytes, block) {
  return new SeedCipher(keyBytes).decryptBlock(block);
}

/** SEED-CBC with PKCS#7 padding: 16-byte key and IV, any plaintext length. */
export function seedCbcEncrypt(key, iv, plaintext) {
  return new SeedCipher(key).cbcEncrypt(iv, plaintext);
}

/**
 * Inverse of seedCbcEncrypt. Throws an Error whose message starts with
 * "SEED-CBC: invalid padding" when the padding is wrong (wrong key).
 */
export function seedCbcDecrypt(key, iv, ciphertext) {
  return new SeedCipher(key).cbcDecrypt(iv, ciphertext);
}
