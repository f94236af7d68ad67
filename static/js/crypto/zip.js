// Minimal ZIP (PKWARE APPNOTE 6.3) for offering a certificate pair as one
// download in the NPKI folder layout, and for importing it back.
//
// makeZip(files): STORE only, CRC-32, UTF-8 names (general purpose flag bit
// 11), a directory entry for every parent folder. No ZIP64 (under 4 GiB and
// 65535 entries; key files are a few KiB).
// readZip(bytes): STORE and DEFLATE (DecompressionStream("deflate-raw"))
// entries, CRC checked; names in UTF-8, or for old Korean Windows zips
// without the UTF-8 flag, CP949 (EUC-KR). Directory entries are skipped.

const UTF8_FLAG = 0x0800;
const MAX_TOTAL_SIZE = 64 * 1024 * 1024;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO-HDLC, as ZIP and gzip use) of bytes. */
export function crc32(bytes) {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function toBytes(data, what) {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError(`${what} must be a Uint8Array or an ArrayBuffer`);
}

function dosDateTime(date) {
  const year = Math.min(Math.max(date.getFullYear(), 1980), 2107);
  return {
    time: (date.getHours() << 11) | (date.getMinutes() << 5) | (date.getSeconds() >> 1),
    date: ((year - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
  };
}

function cleanName(name) {
  if (typeof name !== "string" || !name) throw new TypeError("every file needs a name");
  const parts = name.split("/");
  if (name.startsWith("/") || parts.some((part) => part === "" || part === "." || part === "..") || name.includes("\\")) {
    throw new Error(`ZIP: ${JSON.stringify(name)} is not a clean relative path`);
  }
  return name;
}

/**
 * A ZIP archive of `files` = [{name: "NPKI/…/signCert.der", data: Uint8Array}]
 * (STORE method, UTF-8 names). Returns a Uint8Array.
 */
export function makeZip(files, { date = new Date() } = {}) {
  const encoder = new TextEncoder();
  const { time, date: day } = dosDateTime(date);
  const entries = [];
  const seen = new Set();
  const add = (name, data) => {
    if (seen.has(name)) throw new Error(`ZIP: duplicate entry ${JSON.stringify(name)}`);
    seen.add(name);
    entries.push({ name, nameBytes: encoder.encode(name), data, crc: crc32(data), directory: name.endsWith("/") });
  };
  for (const file of files) {
    const name = cleanName(file?.name);
    const parts = name.split("/");
    for (let i = 1; i < parts.length; i++) {
      const folder = parts.slice(0, i).join("/") + "/";
      if (!seen.has(folder)) add(folder, new Uint8Array(0));
    }
    add(name, toBytes(file.data, `the data of ${name}`));
  }
  if (entries.length > 0xffff) throw new Error("ZIP: too many entries");

  const chunks = [];
  const central = [];
  let offset = 0;
  for (const entry of entries) {
    const version = entry.directory ? 20 : 10;
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, version, true);
    local.setUint16(6, UTF8_FLAG, true);
    local.setUint16(8, 0, true); // STORE
    local.setUint16(10, time, true);
    local.setUint16(12, day, true);
    local.setUint32(14, entry.crc, true);
    local.setUint32(18, entry.data.length, true);
    local.setUint32(22, entry.data.length, true);
    local.setUint16(26, entry.nameBytes.length, true);
    local.setUint16(28, 0, true);
    chunks.push(new Uint8Array(local.buffer), entry.nameBytes, entry.data);

    const header = new DataView(new ArrayBuffer(46));
    header.setUint32(0, 0x02014b50, true);
    header.setUint16(4, (3 << 8) | 20, true); // made by: UNIX, spec 2.0
    header.setUint16(6, version, true);
    header.setUint16(8, UTF8_FLAG, true);
    header.setUint16(10, 0, true);
    header.setUint16(12, time, true);
    header.setUint16(14, day, true);
    header.setUint32(16, entry.crc, true);
    header.setUint32(20, entry.data.length, true);
    header.setUint32(24, entry.data.length, true);
    header.setUint16(28, entry.nameBytes.length, true);
    // extra length, comment length, disk number, internal attributes: 0
    // external attributes: UNIX mode (drwxr-xr-x / -rw-r--r--) in the high 16 bits, MS-DOS dir bit.
    header.setUint32(38, entry.directory ? ((0o40755 << 16) | 0x10) >>> 0 : (0o100644 << 16) >>> 0, true);
    header.setUint32(42, offset, true);
    central.push(new Uint8Array(header.buffer), entry.nameBytes);
    offset += 30 + entry.nameBytes.length + entry.data.length;
  }
  const centralSize = central.reduce((n, chunk) => n + chunk.length, 0);
  if (offset + centralSize > 0xffffffff) throw new Error("ZIP: archive too large (no ZIP64)");
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, entries.length, true);
  end.setUint16(10, entries.length, true);
  end.setUint32(12, centralSize, true);
  end.setUint32(16, offset, true);
  const all = [...chunks, ...central, new Uint8Array(end.buffer)];
  const out = new Uint8Array(all.reduce((n, chunk) => n + chunk.length, 0));
  let position = 0;
  for (const chunk of all) {
    out.set(chunk, position);
    position += chunk.length;
  }
  return out;
}

function decodeName(bytes, flags) {
  if (flags & UTF8_FLAG || bytes.every((b) => b < 0x80)) return new TextDecoder("utf-8").decode(bytes);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder("euc-kr").decode(bytes); // CP949, Korean Windows
  }
}

async function inflateRaw(data, expectedSize) {
  // Stream, and stop as soon as the output outgrows the directory's size
  // (a zip bomb must not fill memory).
  const reader = new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate-raw")).getReader();
  const out = new Uint8Array(expectedSize);
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (length + value.length > expectedSize) {
      await reader.cancel();
      throw new Error("ZIP: inflated data is larger than the directory says");
    }
    out.set(value, length);
    length += value.length;
  }
  if (length !== expectedSize) throw new Error("ZIP: inflated size differs from the directory");
  return out;
}

/**
 * The files in a ZIP archive: [{name, data}] (directories skipped), for
 * STORE and DEFLATE entries. Throws on encrypted entries, other methods,
 * CRC mismatches and malformed archives.
 */
export async function readZip(bytes, { maxTotalSize = MAX_TOTAL_SIZE } = {}) {
  const zip = toBytes(bytes, "the archive");
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let end = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error("ZIP: end of central directory not found (not a zip file?)");
  const count = view.getUint16(end + 10, true);
  const centralSize = view.getUint32(end + 12, true);
  let position = view.getUint32(end + 16, true);
  if (count === 0xffff || position === 0xffffffff) throw new Error("ZIP: ZIP64 archives are not supported");
  if (position + centralSize > end) throw new Error("ZIP: the central directory is out of bounds");

  const files = [];
  let total = 0;
  for (let n = 0; n < count; n++) {
    if (position + 46 > end || view.getUint32(position, true) !== 0x02014b50) {
      throw new Error("ZIP: bad central directory entry");
    }
    const flags = view.getUint16(position + 8, true);
    const method = view.getUint16(position + 10, true);
    const crc = view.getUint32(position + 16, true);
    const compressedSize = view.getUint32(position + 20, true);
    const size = view.getUint32(position + 24, true);
    const nameLength = view.getUint16(position + 28, true);
    const extraLength = view.getUint16(position + 30, true);
    const commentLength = view.getUint16(position + 32, true);
    const localOffset = view.getUint32(position + 42, true);
    const name = decodeName(zip.subarray(position + 46, position + 46 + nameLength), flags);
    position += 46 + nameLength + extraLength + commentLength;
    if (name.endsWith("/")) continue;
    if (flags & 1) throw new Error(`ZIP: ${name} is encrypted`);
    total += size;
    if (total > maxTotalSize) throw new Error("ZIP: the archive expands to more than allowed");

    if (localOffset + 30 > zip.length || view.getUint32(localOffset, true) !== 0x04034b50) {
      throw new Error(`ZIP: bad local header for ${name}`);
    }
    const dataStart = localOffset + 30 + view.getUint16(localOffset + 26, true) + view.getUint16(localOffset + 28, true);
    if (dataStart + compressedSize > zip.length) throw new Error(`ZIP: ${name} is truncated`);
    const raw = zip.subarray(dataStart, dataStart + compressedSize);
    let data;
    if (method === 0) {
      if (compressedSize !== size) throw new Error(`ZIP: stored ${name} has two different sizes`);
      data = raw.slice();
    } else if (method === 8) {
      data = await inflateRaw(raw, size);
    } else {
      throw new Error(`ZIP: ${name} uses compression method ${method} (only STORE and DEFLATE)`);
    }
    if (crc32(data) !== crc) throw new Error(`ZIP: CRC mismatch in ${name}`);
    files.push({ name, data });
  }
  return files;
}
