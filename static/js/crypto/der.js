// A tiny, strict DER codec (ITU-T X.690) for the browser's key handling:
// PKCS#8 PrivateKeyInfo and EncryptedPrivateKeyInfo (PBES2 / PBKDF2 /
// SEED-CBC), SubjectPublicKeyInfo, and reading X.509 certificates.
//
// decode(bytes) turns DER into a tree of plain nodes:
//   { tag, tagClass, constructed, value, children, offset, headerLength,
//     length, bytes }
// - tag: the tag number (0..30; multi-byte tags are rejected),
// - tagClass: "universal" | "application" | "context" | "private",
// - value: the content octets (a Uint8Array view into the input),
// - children: the decoded elements inside a constructed node (else absent),
// - offset / headerLength / length: where the element starts in the input,
//   the size of its tag+length header and of its content,
// - bytes: the whole element (header and content), a view into the input.
// Decoding is strict: indefinite lengths, non-minimal lengths, lengths
// beyond the input, trailing bytes, multi-byte tags and a few other non-DER
// forms throw an Error saying what is wrong and where.
//
// The encoders (seq, set, int, oid, octets, bitString, nullValue, printable,
// utf8, contextTag) build the same kind of nodes, and encode(node) turns any
// node, built or decoded, into DER bytes. A decoded node can be placed inside
// a built structure as is (e.g. a PrivateKeyInfo from WebCrypto).
//
// Plain ES module, no dependencies, no globals.

export const TAG = Object.freeze({
  BOOLEAN: 1,
  INTEGER: 2,
  BIT_STRING: 3,
  OCTET_STRING: 4,
  NULL: 5,
  OID: 6,
  UTF8_STRING: 12,
  SEQUENCE: 16,
  SET: 17,
  PRINTABLE_STRING: 19,
  IA5_STRING: 22,
  UTC_TIME: 23,
  GENERALIZED_TIME: 24,
  VISIBLE_STRING: 26,
  BMP_STRING: 30,
});

const CLASSES = ["universal", "application", "context", "private"];
// Names for error messages.
const TAG_NAMES = {
  [TAG.BOOLEAN]: "BOOLEAN",
  [TAG.INTEGER]: "INTEGER",
  [TAG.BIT_STRING]: "BIT STRING",
  [TAG.OCTET_STRING]: "OCTET STRING",
  [TAG.NULL]: "NULL",
  [TAG.OID]: "OBJECT IDENTIFIER",
  [TAG.UTF8_STRING]: "UTF8String",
  [TAG.SEQUENCE]: "SEQUENCE",
  [TAG.SET]: "SET",
  [TAG.PRINTABLE_STRING]: "PrintableString",
  [TAG.IA5_STRING]: "IA5String",
  [TAG.UTC_TIME]: "UTCTime",
  [TAG.GENERALIZED_TIME]: "GeneralizedTime",
  [TAG.VISIBLE_STRING]: "VisibleString",
  [TAG.BMP_STRING]: "BMPString",
};
// Nesting limit: PKCS#8 and X.509 need well under 16 levels.
const MAX_DEPTH = 32;
// Lengths up to 4 length octets (4 GiB) are plenty for key files and
// certificates; anything longer is refused rather than misread.
const MAX_LENGTH_OCTETS = 4;
// Universal types that DER allows (or requires) in constructed form.
const CONSTRUCTED_UNIVERSAL = new Set([8, 11, TAG.SEQUENCE, TAG.SET]);
const PRINTABLE_RE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

function toBytes(data, what = "input") {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError(`DER: ${what} must be a Uint8Array or an ArrayBuffer`);
}

function tagName(node) {
  if (node.tagClass === "universal") return TAG_NAMES[node.tag] ?? `universal tag ${node.tag}`;
  return `[${node.tagClass === "context" ? "" : node.tagClass + " "}${node.tag}]`;
}

function hexByte(b) {
  return "0x" + b.toString(16).padStart(2, "0");
}

// ---------------------------------------------------------------- decoding

/**
 * Decode one DER element that must fill `input` exactly.
 * @param {Uint8Array|ArrayBuffer} input
 * @returns the root node (see the top of this file)
 */
export function decode(input) {
  const bytes = toBytes(input);
  if (bytes.length === 0) throw new Error("DER: the input is empty");
  const node = decodeElement(bytes, 0, bytes.length, 0);
  const end = node.offset + node.headerLength + node.length;
  if (end !== bytes.length) {
    throw new Error(`DER: ${bytes.length - end} trailing byte(s) after the top-level element (at offset ${end})`);
  }
  return node;
}

function decodeElement(bytes, offset, limit, depth) {
  if (depth > MAX_DEPTH) throw new Error(`DER: nesting deeper than ${MAX_DEPTH} levels (offset ${offset})`);
  const where = limit === bytes.length ? "the input" : "its enclosing element";
  if (offset >= limit) throw new Error(`DER: expected a tag at offset ${offset}, but ${where} ends there`);

  const identifier = bytes[offset];
  const tagClass = CLASSES[identifier >> 6];
  const constructed = (identifier & 0x20) !== 0;
  const tag = identifier & 0x1f;
  if (tag === 0x1f) {
    throw new Error(`DER: multi-byte (high-number) tags are not supported (identifier 0x${identifier.toString(16)} at offset ${offset})`);
  }

  let pos = offset + 1;
  if (pos >= limit) throw new Error(`DER: the length of the element at offset ${offset} is missing (${where} ends; truncated?)`);
  const first = bytes[pos++];
  let length;
  if (first < 0x80) {
    length = first;
  } else if (first === 0x80) {
    throw new Error(`DER: indefinite length (0x80) at offset ${offset + 1} is not allowed in DER`);
  } else if (first === 0xff) {
    throw new Error(`DER: reserved length octet 0xff at offset ${offset + 1}`);
  } else {
    const count = first & 0x7f;
    if (count > MAX_LENGTH_OCTETS) throw new Error(`DER: a length of ${count} octets at offset ${offset + 1} is too large`);
    if (pos + count > limit) throw new Error(`DER: the length at offset ${offset + 1} is cut off (${where} ends; truncated?)`);
    if (bytes[pos] === 0) throw new Error(`DER: non-minimal length at offset ${offset + 1} (leading zero octet)`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[pos + i];
    if (length < 0x80) throw new Error(`DER: non-minimal length at offset ${offset + 1} (${length} needs the short form)`);
    pos += count;
  }
  if (length > limit - pos) {
    throw new Error(
      `DER: the element at offset ${offset} declares ${length} content bytes but only ${limit - pos} remain in ${where} (truncated?)`,
    );
  }

  const end = pos + length;
  const node = {
    tag,
    tagClass,
    constructed,
    value: bytes.subarray(pos, end),
    offset,
    headerLength: pos - offset,
    length,
    bytes: bytes.subarray(offset, end),
  };
  if (tagClass === "universal") checkUniversal(node);
  if (constructed) {
    node.children = [];
    let at = pos;
    while (at < end) {
      const child = decodeElement(bytes, at, end, depth + 1);
      node.children.push(child);
      at = child.offset + child.headerLength + child.length;
    }
  }
  return node;
}

// The DER rules for the universal types this codec meets.
function checkUniversal(node) {
  const { tag, constructed, value, offset } = node;
  const name = tagName(node);
  if (tag === 0) throw new Error(`DER: end-of-contents octets at offset ${offset} (indefinite-length encoding is not DER)`);
  if (constructed && !CONSTRUCTED_UNIVERSAL.has(tag)) {
    throw new Error(`DER: ${name} at offset ${offset} must use the primitive encoding`);
  }
  if (!constructed && (tag === TAG.SEQUENCE || tag === TAG.SET)) {
    throw new Error(`DER: ${name} at offset ${offset} must use the constructed encoding`);
  }
  switch (tag) {
    case TAG.BOOLEAN:
      if (value.length !== 1 || (value[0] !== 0x00 && value[0] !== 0xff)) {
        throw new Error(`DER: BOOLEAN at offset ${offset} must be one octet, 0x00 or 0xff`);
      }
      break;
    case TAG.NULL:
      if (value.length !== 0) throw new Error(`DER: NULL at offset ${offset} must be empty`);
      break;
    case TAG.INTEGER:
      checkIntegerContent(value, at(offset));
      break;
    case TAG.BIT_STRING:
      checkBitStringContent(value, at(offset));
      break;
    default:
      break;
  }
}

// `where` is " at offset N" when the element came from decode(), else "".
function at(offset) {
  return typeof offset === "number" ? ` at offset ${offset}` : "";
}

function checkIntegerContent(value, where) {
  if (value.length === 0) throw new Error(`DER: INTEGER${where} is empty`);
  if (value.length > 1 && ((value[0] === 0x00 && value[1] < 0x80) || (value[0] === 0xff && value[1] >= 0x80))) {
    throw new Error(`DER: INTEGER${where} is not minimally encoded (redundant leading ${hexByte(value[0])})`);
  }
}

function checkBitStringContent(value, where) {
  if (value.length === 0) throw new Error(`DER: BIT STRING${where} has no unused-bits octet`);
  const unused = value[0];
  if (unused > 7) throw new Error(`DER: BIT STRING${where} claims ${unused} unused bits (at most 7)`);
  if (value.length === 1 && unused !== 0) throw new Error(`DER: empty BIT STRING${where} must have 0 unused bits`);
  if (unused && value[value.length - 1] & ((1 << unused) - 1)) {
    throw new Error(`DER: BIT STRING${where} has non-zero unused bits`);
  }
}

// ---------------------------------------------------------------- encoding

function primitive(tag, value) {
  return { tag, tagClass: "universal", constructed: false, value };
}

function checkNodes(children, what) {
  children.forEach((child, i) => {
    if (!child || typeof child !== "object" || typeof child.tag !== "number") {
      throw new TypeError(`DER: ${what} element ${i} is not a DER node`);
    }
  });
  return children;
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function encodeLength(length) {
  if (length < 0x80) return [length];
  const octets = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) octets.unshift(n % 256);
  return [0x80 | octets.length, ...octets];
}

/** Encode a node (built by the functions below, or decoded) as DER. */
export function encode(node) {
  if (!node || typeof node.tag !== "number") throw new TypeError("DER: encode() needs a DER node");
  const classIndex = CLASSES.indexOf(node.tagClass ?? "universal");
  if (classIndex < 0) throw new Error(`DER: unknown tag class ${JSON.stringify(node.tagClass)}`);
  if (!Number.isInteger(node.tag) || node.tag < 0 || node.tag > 30) {
    throw new Error(`DER: tag number ${node.tag} is not supported (0..30 only)`);
  }
  let content;
  if (node.constructed) {
    content = concat(checkNodes(node.children ?? [], "constructed").map(encode));
  } else {
    content = toBytes(node.value ?? new Uint8Array(0), "a primitive value");
  }
  const identifier = (classIndex << 6) | (node.constructed ? 0x20 : 0) | node.tag;
  return concat([Uint8Array.of(identifier, ...encodeLength(content.length)), content]);
}

/** SEQUENCE { children... } */
export function seq(...children) {
  return { tag: TAG.SEQUENCE, tagClass: "universal", constructed: true, children: checkNodes(children, "SEQUENCE") };
}

// X.690 11.6: DER orders the elements of a SET OF by their encodings,
// compared as octet strings, the shorter padded with trailing zero octets.
function compareEncodings(a, b) {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x - y;
  }
  return 0;
}

/**
 * SET { children... }, in DER order (sorted by encoding, as SET OF needs).
 * For an IMPLICIT SET OF, pass `set(...).children` to contextTag().
 */
export function set(...children) {
  checkNodes(children, "SET");
  const sorted = children
    .map((child) => ({ child, der: encode(child) }))
    .sort((a, b) => compareEncodings(a.der, b.der))
    .map(({ child }) => child);
  return { tag: TAG.SET, tagClass: "universal", constructed: true, children: sorted };
}

// Minimal two's-complement big-endian octets of a BigInt.
function bigintToOctets(n) {
  if (n >= 0n) {
    let hex = n.toString(16);
    if (hex.length % 2) hex = "0" + hex;
    const out = hexToBytes(hex);
    return out[0] & 0x80 ? concat([Uint8Array.of(0), out]) : out;
  }
  let size = 1;
  while (n < -(1n << BigInt(8 * size - 1))) size++;
  const hex = ((1n << BigInt(8 * size)) + n).toString(16).padStart(2 * size, "0");
  return hexToBytes(hex);
}

function hexToBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * INTEGER. A number (safe integer) or a BigInt is encoded as a signed
 * value; a Uint8Array is read as an unsigned big-endian magnitude (a serial
 * number or an RSA modulus), so a set high bit gets a leading 0x00.
 */
export function int(v) {
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw new Error(`DER: INTEGER ${v} is not a safe integer (use a BigInt)`);
    return primitive(TAG.INTEGER, bigintToOctets(BigInt(v)));
  }
  if (typeof v === "bigint") return primitive(TAG.INTEGER, bigintToOctets(v));
  if (v instanceof Uint8Array || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
    const bytes = toBytes(v, "INTEGER magnitude");
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const magnitude = bytes.length ? bytes.slice(start) : Uint8Array.of(0);
    return primitive(TAG.INTEGER, magnitude[0] & 0x80 ? concat([Uint8Array.of(0), magnitude]) : magnitude);
  }
  throw new TypeError("DER: int() takes a number, a BigInt or a Uint8Array");
}

/** OBJECT IDENTIFIER from dotted text, e.g. oid("1.2.840.113549.1.5.13"). */
export function oid(text) {
  if (typeof text !== "string" || !/^\d+(\.\d+)+$/.test(text)) {
    throw new Error(`DER: ${JSON.stringify(text)} is not a dotted OID`);
  }
  const arcs = text.split(".").map((arc) => BigInt(arc));
  if (arcs[0] > 2n || (arcs[0] < 2n && arcs[1] >= 40n)) throw new Error(`DER: invalid OID ${text}`);
  const subidentifiers = [arcs[0] * 40n + arcs[1], ...arcs.slice(2)];
  const out = [];
  for (const sub of subidentifiers) {
    const groups = [Number(sub & 0x7fn)];
    for (let rest = sub >> 7n; rest > 0n; rest >>= 7n) groups.unshift(Number(rest & 0x7fn) | 0x80);
    out.push(...groups);
  }
  return primitive(TAG.OID, Uint8Array.from(out));
}

/** OCTET STRING */
export function octets(bytes) {
  return primitive(TAG.OCTET_STRING, toBytes(bytes, "OCTET STRING value").slice());
}

/** BIT STRING of whole octets (or with `unusedBits` trailing bits unused). */
export function bitString(bytes, unusedBits = 0) {
  const data = toBytes(bytes, "BIT STRING value");
  const value = concat([Uint8Array.of(unusedBits), data]);
  checkBitStringContent(value, "");
  return primitive(TAG.BIT_STRING, value);
}

/** NULL */
export function nullValue() {
  return primitive(TAG.NULL, new Uint8Array(0));
}

/** PrintableString; throws on characters outside its set. */
export function printable(text) {
  if (typeof text !== "string" || !PRINTABLE_RE.test(text)) {
    throw new Error(`DER: ${JSON.stringify(text)} is not a PrintableString`);
  }
  return primitive(TAG.PRINTABLE_STRING, new TextEncoder().encode(text));
}

/** UTF8String */
export function utf8(text) {
  if (typeof text !== "string") throw new TypeError("DER: utf8() takes a string");
  return primitive(TAG.UTF8_STRING, new TextEncoder().encode(text));
}

/**
 * A context-specific tag [n].
 * - constructed (the default): `children` is a node or an array of nodes.
 *   contextTag(0, node) is EXPLICIT tagging of `node`; for IMPLICIT
 *   tagging of a SEQUENCE/SET pass its children, e.g.
 *   contextTag(0, set(a, b).children) for "[0] IMPLICIT SET OF".
 * - {constructed: false}: `children` is the content octets (a Uint8Array)
 *   or a primitive node whose content is re-tagged (IMPLICIT).
 */
export function contextTag(n, children, { constructed = true } = {}) {
  if (!Number.isInteger(n) || n < 0 || n > 30) throw new Error(`DER: context tag [${n}] is not supported (0..30 only)`);
  if (constructed) {
    const list = Array.isArray(children) ? children : [children];
    return { tag: n, tagClass: "context", constructed: true, children: checkNodes(list, `[${n}]`) };
  }
  if (children && typeof children.tag === "number") {
    if (children.constructed) throw new Error(`DER: a primitive [${n}] cannot carry a constructed node`);
    return { tag: n, tagClass: "context", constructed: false, value: toBytes(children.value) };
  }
  return { tag: n, tagClass: "context", constructed: false, value: toBytes(children, `[${n}] content`) };
}

// ---------------------------------------------------------------- reading

// Readers take a node of the expected universal type, or a primitive
// context/application-tagged node (an IMPLICIT tag over that type).
function expectPrimitive(node, tag) {
  if (!node || typeof node.tag !== "number") throw new TypeError(`DER: expected a node of type ${TAG_NAMES[tag]}`);
  if (node.constructed) throw new Error(`DER: expected ${TAG_NAMES[tag]}, got a constructed ${tagName(node)}`);
  if (node.tagClass === "universal" && node.tag !== tag) {
    throw new Error(`DER: expected ${TAG_NAMES[tag]}, got ${tagName(node)}`);
  }
  return toBytes(node.value);
}

/** Dotted text of an OBJECT IDENTIFIER, from its content octets or its node. */
export function oidToString(bytesOrNode) {
  const bytes =
    bytesOrNode && typeof bytesOrNode.tag === "number" ? expectPrimitive(bytesOrNode, TAG.OID) : toBytes(bytesOrNode, "OID");
  if (bytes.length === 0) throw new Error("DER: empty OBJECT IDENTIFIER");
  const subidentifiers = [];
  let current = 0n;
  let fresh = true;
  for (const b of bytes) {
    if (fresh && b === 0x80) throw new Error("DER: OBJECT IDENTIFIER has a non-minimal subidentifier (leading 0x80)");
    current = (current << 7n) | BigInt(b & 0x7f);
    fresh = (b & 0x80) === 0;
    if (fresh) {
      subidentifiers.push(current);
      current = 0n;
    }
  }
  if (!fresh) throw new Error("DER: OBJECT IDENTIFIER is truncated (last subidentifier unfinished)");
  const first = subidentifiers[0];
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...subidentifiers.slice(1)].join(".");
}

/** The value of an INTEGER as a BigInt (signed). */
export function readInteger(node) {
  const value = expectPrimitive(node, TAG.INTEGER);
  checkIntegerContent(value, at(node.offset));
  let n = 0n;
  for (const b of value) n = (n << 8n) | BigInt(b);
  if (value[0] & 0x80) n -= 1n << BigInt(8 * value.length);
  return n;
}

/**
 * The unsigned big-endian magnitude of a non-negative INTEGER, without the
 * sign octet (e.g. an RSA modulus or exponent for a JWK).
 */
export function readIntegerBytes(node) {
  const value = expectPrimitive(node, TAG.INTEGER);
  checkIntegerContent(value, at(node.offset));
  if (value[0] & 0x80) throw new Error("DER: expected a non-negative INTEGER");
  return value.length > 1 && value[0] === 0 ? value.slice(1) : value.slice();
}

/** A BIT STRING's {unusedBits, bytes}. */
export function readBitString(node) {
  const value = expectPrimitive(node, TAG.BIT_STRING);
  checkBitStringContent(value, at(node.offset));
  return { unusedBits: value[0], bytes: value.slice(1) };
}

const UTC_TIME_RE = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GENERALIZED_TIME_RE = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d*[1-9]))?Z$/;

/**
 * UTCTime (YYMMDDHHMMSSZ; YY < 50 is 20YY, as RFC 5280 says) or
 * GeneralizedTime (YYYYMMDDHHMMSS[.fff]Z) as a Date. DER forms only.
 */
export function readTime(node) {
  if (!node || typeof node.tag !== "number") throw new TypeError("DER: readTime() needs a DER node");
  const isUtc = node.tag === TAG.UTC_TIME;
  if (node.tagClass !== "universal" || (!isUtc && node.tag !== TAG.GENERALIZED_TIME)) {
    throw new Error(`DER: expected UTCTime or GeneralizedTime, got ${tagName(node)}`);
  }
  const text = latin1(expectPrimitive(node, node.tag));
  const match = (isUtc ? UTC_TIME_RE : GENERALIZED_TIME_RE).exec(text);
  if (!match) throw new Error(`DER: ${TAG_NAMES[node.tag]} ${JSON.stringify(text)} is not in DER form`);
  let year = Number(match[1]);
  if (isUtc) year += year < 50 ? 2000 : 1900;
  const [month, day, hour, minute, second] = match.slice(2, 7).map(Number);
  const millis = match[7] ? Number(match[7].slice(0, 3).padEnd(3, "0")) : 0;
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, millis));
  date.setUTCFullYear(year, month - 1, day);
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute ||
    date.getUTCSeconds() !== second
  ) {
    throw new Error(`DER: ${TAG_NAMES[node.tag]} ${JSON.stringify(text)} is not a valid date and time`);
  }
  return date;
}

function latin1(bytes) {
  let out = "";
  for (const b of bytes) out += String.fromCharCode(b);
  return out;
}

/** The text of a UTF8String, PrintableString, IA5String, VisibleString or BMPString. */
export function readString(node) {
  if (!node || typeof node.tag !== "number") throw new TypeError("DER: readString() needs a DER node");
  if (node.constructed || node.tagClass !== "universal") throw new Error(`DER: expected a string, got ${tagName(node)}`);
  const bytes = toBytes(node.value);
  switch (node.tag) {
    case TAG.UTF8_STRING:
      try {
        return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
      } catch {
        throw new Error("DER: UTF8String is not valid UTF-8");
      }
    case TAG.PRINTABLE_STRING: {
      const text = latin1(bytes);
      if (!PRINTABLE_RE.test(text)) throw new Error("DER: PrintableString has characters outside its set");
      return text;
    }
    case TAG.IA5_STRING:
      if (bytes.some((b) => b > 0x7f)) throw new Error("DER: IA5String has non-ASCII octets");
      return latin1(bytes);
    case TAG.VISIBLE_STRING:
      if (bytes.some((b) => b < 0x20 || b > 0x7e)) throw new Error("DER: VisibleString has invisible octets");
      return latin1(bytes);
    case TAG.BMP_STRING: {
      if (bytes.length % 2) throw new Error("DER: BMPString has an odd number of octets");
      let text = "";
      for (let i = 0; i < bytes.length; i += 2) text += String.fromCharCode((bytes[i] << 8) | bytes[i + 1]);
      return text;
    }
    default:
      throw new Error(`DER: ${tagName(node)} is not a supported string type`);
  }
}

// ---------------------------------------------------------------- X.509 helpers

function expectSequence(node, what) {
  if (!node || node.tagClass !== "universal" || node.tag !== TAG.SEQUENCE || !node.constructed) {
    throw new Error(`DER: ${what} must be a SEQUENCE`);
  }
  return node.children;
}

/** AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL } */
export function readAlgorithmIdentifier(node) {
  const [algorithm, parameters, ...rest] = expectSequence(node, "AlgorithmIdentifier");
  if (!algorithm || rest.length) throw new Error("DER: AlgorithmIdentifier must have one or two elements");
  return { oid: oidToString(algorithm), parameters: parameters ?? null };
}

/**
 * A Name (RDNSequence) as a flat list of {type: "2.5.4.3", value: "..."}
 * in certificate order; multi-valued RDNs contribute each of their values.
 */
export function readName(node) {
  const out = [];
  for (const rdn of expectSequence(node, "Name")) {
    if (rdn.tagClass !== "universal" || rdn.tag !== TAG.SET || !rdn.children.length) {
      throw new Error("DER: each RelativeDistinguishedName must be a non-empty SET");
    }
    for (const attribute of rdn.children) {
      const [type, value, ...rest] = expectSequence(attribute, "AttributeTypeAndValue");
      if (!value || rest.length) throw new Error("DER: AttributeTypeAndValue must have two elements");
      out.push({ type: oidToString(type), value: readString(value) });
    }
  }
  return out;
}

/**
 * SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier,
 * subjectPublicKey BIT STRING } as {algorithm, parameters, publicKey, bytes}.
 */
export function readSubjectPublicKeyInfo(node) {
  const [algorithm, subjectPublicKey, ...rest] = expectSequence(node, "SubjectPublicKeyInfo");
  if (!subjectPublicKey || rest.length) throw new Error("DER: SubjectPublicKeyInfo must have two elements");
  const { oid: algorithmOid, parameters } = readAlgorithmIdentifier(algorithm);
  const { unusedBits, bytes } = readBitString(subjectPublicKey);
  if (unusedBits) throw new Error("DER: subjectPublicKey has unused bits");
  return { algorithm: algorithmOid, parameters, publicKey: bytes, bytes: node.bytes };
}

/**
 * The fields of an X.509 certificate the browser needs (RFC 5280 §4.1):
 * {version, serialNumber (BigInt), signatureAlgorithm, issuer, subject,
 *  notBefore, notAfter (Dates), subjectPublicKeyInfo, tbsBytes,
 *  issuerBytes, subjectBytes, signature}. It does not verify anything.
 */
export function parseCertificate(input) {
  const root = decode(input);
  const [tbs, signatureAlgorithm, signature, ...extra] = expectSequence(root, "Certificate");
  if (!signature || extra.length) throw new Error("DER: Certificate must have three elements");
  const fields = [...expectSequence(tbs, "TBSCertificate")];
  let version = 1;
  if (fields[0]?.tagClass === "context" && fields[0].tag === 0) {
    const [versionNode] = fields.shift().children ?? [];
    version = Number(readInteger(versionNode)) + 1;
  }
  const [serial, innerSignature, issuer, validity, subject, spki] = fields;
  if (!spki) throw new Error("DER: TBSCertificate is missing fields");
  const [notBefore, notAfter, ...moreTimes] = expectSequence(validity, "Validity");
  if (!notAfter || moreTimes.length) throw new Error("DER: Validity must have two elements");
  const outer = readAlgorithmIdentifier(signatureAlgorithm);
  if (readAlgorithmIdentifier(innerSignature).oid !== outer.oid) {
    throw new Error("DER: the certificate's two signature algorithms differ");
  }
  const signatureBits = readBitString(signature);
  return {
    version,
    serialNumber: readInteger(serial),
    signatureAlgorithm: outer.oid,
    issuer: readName(issuer),
    subject: readName(subject),
    notBefore: readTime(notBefore),
    notAfter: readTime(notAfter),
    subjectPublicKeyInfo: readSubjectPublicKeyInfo(spki),
    tbsBytes: tbs.bytes,
    issuerBytes: issuer.bytes,
    subjectBytes: subject.bytes,
    signature: signatureBits.bytes,
  };
}
