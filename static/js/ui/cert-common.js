// Small pieces the certificate pages share (the 인증서 선택창, issuance,
// management, renewal, copy): texts from a <template>, what a certificate
// shows (사용자, 만료일, 발급자), NPKI ZIPs and downloads, reading picked
// certificate files, the password rule/match hints and the progress list.
// Nothing here talks to the server (that is http.js).

import { parseCertificate } from "../crypto/der.js";
import { checkPasswordRules, npkiFolder, subjectDnFolderName } from "../crypto/npki.js";
import { makeZip, readZip } from "../crypto/zip.js";

// Same limits as the certificate window: a signCert.der is ~1.5 KB, a
// signPri.key ~1.3 KB, an NPKI ZIP a few KB.
const MAX_FILE_BYTES = 64 * 1024;
const MAX_ZIP_BYTES = 4 * 1024 * 1024;
export const CANDIDATE_NAME = /\.(der|cer|key|zip)$/i;

/** `defaults` overridden by <template {selector}> <span data-text="key">…</span>. */
export function readTexts(root, selector, defaults = {}) {
  const texts = { ...defaults };
  const template = root.querySelector(selector);
  if (template) {
    for (const span of template.content.querySelectorAll("[data-text]")) texts[span.dataset.text] = span.textContent.trim();
  }
  return texts;
}

// Constant-time comparison of two byte arrays (one implementation, in the crypto module).
export { sameBytes as equalBytes } from "../crypto/copy.js";

// ------------------------------------------------------------------ certificates

const OID_CN = "2.5.4.3";
const OID_O = "2.5.4.10";

function attribute(name, oid) {
  const found = name.find((item) => item.type === oid);
  return found ? found.value : "";
}

// 2026-05-01, in Korea's time zone (the bank's), whatever the device's zone.
const DATE_FORMAT = (() => {
  try {
    return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Seoul", year: "numeric", month: "2-digit", day: "2-digit" });
  } catch {
    return null;
  }
})();

export function formatDate(date) {
  if (DATE_FORMAT) {
    const parts = Object.fromEntries(DATE_FORMAT.formatToParts(date).map((p) => [p.type, p.value]));
    return `${parts.year}-${parts.month}-${parts.day}`;
  }
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/**
 * What the window and the pages show about a certificate. The CN of an NPKI
 * personal certificate is "홍길동()0901...": the user is the part before "(".
 */
export function describeCertificate(certificateDer) {
  const parsed = parseCertificate(certificateDer);
  const cn = attribute(parsed.subject, OID_CN);
  const name = cn.replace(/\(.*$/s, "").trim() || cn;
  const issuer = attribute(parsed.issuer, OID_O) || attribute(parsed.issuer, OID_CN);
  const now = Date.now();
  return {
    parsed,
    serial: parsed.serialNumber.toString(16),
    name,
    issuer,
    expires: formatDate(parsed.notAfter),
    expired: now > parsed.notAfter.getTime(),
    notYetValid: now < parsed.notBefore.getTime(),
  };
}

/** Serial numbers compare as lower-case hex without leading zeros. */
export function sameSerial(a, b) {
  const norm = (value) => String(value ?? "").trim().toLowerCase().replace(/^0+(?=.)/, "");
  return norm(a) !== "" && norm(a) === norm(b);
}

/**
 * The NPKI ZIP of one certificate, exactly the stored bytes:
 * NPKI/CertbankCA/USER/<subject DN>/signCert.der + signPri.key.
 * Returns {bytes, name} with name NPKI-<serial>.zip.
 */
export function npkiZip({ certificateDer, keyFile, parsed = null }) {
  const certificate = parsed ?? parseCertificate(certificateDer);
  const folder = npkiFolder(subjectDnFolderName(certificate)).replace(/\/+$/, "");
  const bytes = makeZip([
    { name: `${folder}/signCert.der`, data: certificateDer },
    { name: `${folder}/signPri.key`, data: keyFile },
  ]);
  return { bytes, name: `NPKI-${certificate.serialNumber.toString(16)}.zip` };
}

/** Object URLs that are revoked when the page goes away. */
export class BlobUrls {
  constructor() {
    this.urls = [];
    window.addEventListener("pagehide", () => this.revokeAll());
  }

  make(bytes, type = "application/octet-stream") {
    const url = URL.createObjectURL(new Blob([bytes], { type }));
    this.urls.push(url);
    return url;
  }

  revokeAll() {
    this.urls.splice(0).forEach((url) => URL.revokeObjectURL(url));
  }
}

/** Save `bytes` as a file named `name` (a temporary <a download>). */
export function downloadBytes(bytes, name, type = "application/octet-stream") {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // Give the browser time to start the download before the URL goes.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// ------------------------------------------------------------------ files

function basename(path) {
  return path.slice(path.lastIndexOf("/") + 1);
}

function dirname(path) {
  const at = path.lastIndexOf("/");
  return at < 0 ? "" : path.slice(0, at);
}

async function readFileBytes(file, limit) {
  if (file.size > limit) throw new Error("file too large");
  return new Uint8Array(await file.arrayBuffer());
}

/** {file, path}[] of an <input type=file> (a folder input gives relative paths). */
export function pickedFiles(input) {
  return [...(input.files ?? [])].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
}

// One folder's files → {cert, key} (either may be missing), or null.
// kmCert/kmPri (key-management pairs) are never taken for the signing pair.
function pairInFolder(files) {
  const named = (name) => files.find((f) => basename(f.path).toLowerCase() === name);
  let cert = named("signcert.der");
  let key = named("signpri.key");
  if (!cert) {
    const ders = files.filter((f) => /\.(der|cer)$/i.test(f.path) && !/^kmcert/i.test(basename(f.path)));
    if (ders.length === 1) cert = ders[0];
  }
  if (!key) {
    const keys = files.filter((f) => /\.key$/i.test(f.path) && !/^kmpri/i.test(basename(f.path)));
    if (keys.length === 1) key = keys[0];
  }
  return cert || key ? { cert, key } : null;
}

/**
 * Certificate/key pairs in picked files, found by folder (ZIPs opened the
 * same way): {pairs: [{certificateDer, keyFile, parsed, path}], failed}.
 * A folder with only one of the two files, or an unreadable file, counts
 * as failed; with requireKey false a certificate without its key is kept
 * (keyFile null), so the window can list it and explain.
 */
export async function readCertificatePairs(items, { requireKey = true } = {}) {
  const blobs = [];
  let failed = 0;
  for (const { file, path } of items) {
    if (!CANDIDATE_NAME.test(file.name)) continue;
    try {
      if (/\.zip$/i.test(file.name)) {
        const members = await readZip(await readFileBytes(file, MAX_ZIP_BYTES));
        for (const member of members) {
          if (!member.name || member.name.endsWith("/") || !CANDIDATE_NAME.test(member.name)) continue;
          blobs.push({ path: `${path}!/${member.name}`, data: member.data });
        }
      } else {
        blobs.push({ path, data: await readFileBytes(file, MAX_FILE_BYTES) });
      }
    } catch {
      failed++;
    }
  }
  const folders = new Map();
  for (const blob of blobs) {
    const dir = dirname(blob.path);
    if (!folders.has(dir)) folders.set(dir, []);
    folders.get(dir).push(blob);
  }
  const pairs = [];
  for (const [dir, files] of folders) {
    const pair = pairInFolder(files);
    if (!pair) continue;
    if (!pair.cert || (requireKey && !pair.key)) {
      failed++;
      continue;
    }
    try {
      const parsed = parseCertificate(pair.cert.data);
      pairs.push({ certificateDer: pair.cert.data, keyFile: pair.key ? pair.key.data : null, parsed, path: dir });
    } catch {
      failed++;
    }
  }
  return { pairs, failed };
}

// ------------------------------------------------------------------ passwords

/**
 * Live hints for a new password and its confirmation (the issuance page's
 * behaviour): while typing the rule is a hint, it becomes an error on
 * leaving the field or on submit. With `optional`, both blank is valid.
 */
export class PasswordPair {
  constructor({ password, confirm, rule, match, texts, optional = false, okClass = "certissue__rule--ok" }) {
    Object.assign(this, { password, confirm, rule, match, texts, optional, okClass });
    this.ruleDefault = rule.textContent;
    password.addEventListener("input", () => this.checkRules({ live: true }));
    password.addEventListener("blur", () => {
      if (password.value) this.checkRules();
    });
    confirm.addEventListener("input", () => this.checkMatch({ live: true }));
  }

  setHint(element, text, state, okClass) {
    element.textContent = text;
    element.classList.toggle(okClass, state === "ok");
    element.classList.toggle("field__error", state === "error");
  }

  mark(input, problem) {
    input.closest(".field")?.classList.toggle("field--error", problem);
    input.setAttribute("aria-invalid", String(problem));
  }

  blank() {
    return this.optional && !this.password.value && !this.confirm.value;
  }

  checkRules({ live = false } = {}) {
    const value = this.password.value;
    if (!value && (live || this.blank())) {
      this.setHint(this.rule, this.ruleDefault, null, this.okClass);
      this.mark(this.password, false);
      if (this.confirm.value || this.blank()) this.checkMatch({ live: true });
      return null;
    }
    const problem = checkPasswordRules(value);
    const shownAsError = Boolean(problem) && !live;
    this.setHint(this.rule, problem ?? this.texts["rule-ok"], problem ? (shownAsError ? "error" : null) : "ok", this.okClass);
    this.mark(this.password, shownAsError);
    if (this.confirm.value) this.checkMatch({ live: true });
    return problem;
  }

  checkMatch({ live = false } = {}) {
    const value = this.confirm.value;
    let problem = null;
    if ((!value && live) || this.blank()) {
      this.setHint(this.match, "", null, this.okClass);
    } else if (value !== this.password.value) {
      problem = this.texts.mismatch;
      this.setHint(this.match, problem, "error", this.okClass);
    } else {
      this.setHint(this.match, this.texts.match, "ok", this.okClass);
    }
    this.mark(this.confirm, Boolean(problem));
    return problem;
  }

  /** The first field with a problem (focused), or null when valid. */
  validate() {
    const ruleProblem = this.checkRules();
    const matchProblem = this.checkMatch();
    const field = ruleProblem ? this.password : matchProblem ? this.confirm : null;
    field?.focus();
    return field;
  }

  reset() {
    this.password.value = "";
    this.confirm.value = "";
    this.checkRules({ live: true });
    this.checkMatch({ live: true });
  }
}

// ------------------------------------------------------------------ progress

/**
 * The step list (<ol> of <li data-task="name" hidden>), styled like the
 * issuance page's (.certissue__task…).
 */
export class ProgressList {
  constructor(list, texts) {
    this.list = list;
    this.texts = texts;
  }

  item(name) {
    return this.list.querySelector(`[data-task="${name}"]`);
  }

  state(item, text) {
    item.querySelector(".certissue__task-state")?.remove();
    const span = document.createElement("span");
    span.className = "certissue__task-state";
    span.textContent = text;
    item.append(" ", span);
  }

  reset() {
    for (const item of this.list.querySelectorAll("[data-task]")) {
      item.hidden = true;
      item.className = "certissue__task";
      item.querySelector(".certissue__task-state")?.remove();
    }
    this.list.hidden = false;
  }

  async step(name, action) {
    const item = this.item(name);
    item.hidden = false;
    item.classList.add("certissue__task--active");
    // Let the browser paint the line before a long computation starts.
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    try {
      const result = await action();
      item.classList.remove("certissue__task--active");
      item.classList.add("certissue__task--done");
      this.state(item, this.texts.done);
      return result;
    } catch (error) {
      item.classList.remove("certissue__task--active");
      item.classList.add("certissue__task--failed");
      this.state(item, this.texts.failed);
      throw error;
    }
  }
}
