// 인증서 선택창: the certificate selection window Korean banking users know.
//
//   const chosen = await openCertificateWindow(root, {
//     lead: "...",
//     challenge: () => postForm(url, { purpose: "login" }).then((a) => readChallenge(a)),
//   });
//   // chosen === null: the customer cancelled (취소, ×, Esc)
//   // else {certificateDer, keyFile, signingKey, r, parsed, serial, name, source,
//   //       challenge: {token, toSign, expiresAt}}
//   //   (+ password, only with {returnPassword: true})
//
// `root` is the component that asks (or `document`): the window is the
// <dialog data-certwin> rendered by templates/includes/_certwindow.html,
// looked up inside `root` first, then in the whole page. Login, transfer
// and registration all call this same function.
//
// Storage locations (the row of buttons at the top):
// - 금융인증서: the person's cloud certificate, for a registered device
//   (certificates/views/cloud.py). Unlocked with the 6-digit PIN on the
//   shuffled keypad (pinpad.js): the browser derives the PIN verifier, the
//   bank releases the wrapped key and its secret after a correct one
//   (counting wrong ones), and the key is unwrapped here (cloud.js). Used in
//   its last 30 days, it renews itself first (cloud-renew.js) and the caller
//   gets the new certificate. A browser that is not a registered device is
//   offered the registration right here (cloud-device.js).
// - 브라우저: certificates kept in this browser's IndexedDB (keystore.js);
// - 하드디스크·이동식디스크: files the customer picks: signCert.der + signPri.key,
//   an NPKI folder (webkitdirectory, or dropped), or the ZIP made at issuance.
//   The pairs are found by folder: each folder holding a signCert.der (and its
//   signPri.key) is one certificate; kmCert/kmPri (key-management pairs) are
//   never mistaken for the signing pair.
//
// The password is checked here, on the device, by decrypting signPri.key
// (npki.js: PBKDF2 + SEED-CBC). It is never sent anywhere. The decrypted
// PKCS#8 is imported as a non-extractable WebCrypto key (signer.js) and its
// bytes are wiped right after.
//
// A flow that signs a challenge passes `challenge` (a function giving one,
// challenge-timer.js readChallenge): the window gets it as it opens, shows
// 서명 유효시간 m:ss counting down, says so when it runs out and gets a new
// one on 다시 시도; the chosen certificate comes back with the challenge.

import { pinVerifier, unwrapKey } from "../crypto/cloud.js";
import { decryptKeyFile, WrongPasswordError } from "../crypto/npki.js";
import { importSigningKey } from "../crypto/signer.js";
import { CANDIDATE_NAME, describeCertificate, readCertificatePairs, readTexts } from "./cert-common.js";
import { SigningChallenge } from "./challenge-timer.js";
import { CloudDeviceRegistration } from "./cloud-device.js";
import { renewCloudCertificate } from "./cloud-renew.js";
import { fromBase64, getJson, postForm, RequestError, toBase64 } from "./http.js";
import { listCertificates } from "./keystore.js";
import { openPinPad } from "./pinpad.js";

// Fallbacks when the template's <template data-certwin-texts> is missing.
const DEFAULT_TEXTS = {
  kind: "공동인증서",
  expired: "만료",
  "empty-browser": "이 브라우저에 저장된 인증서가 없습니다.",
  "empty-disk": "인증서 파일이나 NPKI 폴더를 선택해 주세요.",
  loading: "인증서를 불러오는 중…",
  "no-selection": "인증서를 선택해 주세요.",
  "no-password": "인증서 비밀번호를 입력해 주세요.",
  "wrong-password": "인증서 비밀번호가 올바르지 않습니다.",
  unreadable: "인증서 파일을 읽을 수 없습니다.",
  "expired-certificate": "만료된 인증서입니다. 재발급 받아 주세요.",
  "not-yet-valid": "아직 사용할 수 없는 인증서입니다. 기기의 날짜와 시간을 확인해 주세요.",
  "store-failed": "브라우저 인증서 저장소를 열 수 없습니다.",
  "kind-financial": "금융인증서",
  "empty-cloud": "이 기기에서 쓸 수 있는 금융인증서가 없습니다.",
  "cloud-unregistered": "이 기기는 금융인증서 이용기기로 등록되어 있지 않습니다.",
  "cloud-failed": "금융인증서 클라우드에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요.",
  "cloud-locked": "PIN을 5회 연속 잘못 입력하여 금융인증서가 잠겼습니다. 인증센터에서 본인확인 후 재발급 받아 주세요.",
  "cloud-broken": "금융인증서를 열 수 없습니다. 재발급 받아 주세요.",
  "pin-title": "금융인증서 PIN 입력",
  "pin-lead": "6자리 PIN을 입력해 주세요.",
  ok: "확인",
  retry: "다시 시도",
  "device-submit-identity": "인증번호 받기",
  "device-submit-send": "인증번호 받기",
  "device-submit-code": "등록",
  "challenge-expired": "서명 유효시간이 지났습니다. 다시 시도해 주세요.",
  "challenge-failed": "서명할 내용을 받지 못했습니다. 다시 시도해 주세요.",
  "device-done": "이 기기를 금융인증서 이용기기로 등록했습니다. 금융인증서를 선택해 주세요.",
  "device-failed": "이용기기 등록을 처리하지 못했습니다. 잠시 후 다시 시도해 주세요.",
  "device-sms-label": "SMS 인증번호",
  "device-otp-label": "OTP 인증번호",
};

let nextEntryId = 1;

function makeEntry({ certificateDer, keyFile, source, cloud = null }) {
  return {
    id: String(nextEntryId++),
    source,
    certificateDer,
    keyFile: keyFile ?? null,
    cloud,
    ...describeCertificate(certificateDer),
  };
}

// ------------------------------------------------------------------ files

// {file, path}[] from a drop: folders are walked (NPKI/CertbankCA/USER/...).
async function filesFromDrop(dataTransfer) {
  const entries = [...(dataTransfer.items ?? [])]
    .map((item) => (item.kind === "file" && item.webkitGetAsEntry ? item.webkitGetAsEntry() : null))
    .filter(Boolean);
  if (!entries.length) return [...dataTransfer.files].map((file) => ({ file, path: file.name }));
  const out = [];
  const walk = async (entry, depth) => {
    if (depth > 8 || out.length > 500) return;
    if (entry.isFile) {
      if (!CANDIDATE_NAME.test(entry.name)) return;
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      out.push({ file, path: entry.fullPath.replace(/^\//, "") });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (!batch.length) break;
        for (const child of batch) await walk(child, depth + 1);
      }
    }
  };
  for (const entry of entries) await walk(entry, 0);
  return out;
}

/**
 * Certificates found in picked or dropped files: {entries, failed}.
 * `items` are {file, path}; ZIPs are opened and searched the same way
 * (cert-common.js's reader, shared with the management page).
 */
async function entriesFromFiles(items) {
  const { pairs, failed: unreadable } = await readCertificatePairs(items, { requireKey: false });
  let failed = unreadable;
  const entries = [];
  for (const pair of pairs) {
    try {
      entries.push(makeEntry({ certificateDer: pair.certificateDer, keyFile: pair.keyFile, source: "disk" }));
    } catch {
      failed++;
    }
  }
  return { entries, failed };
}

// ------------------------------------------------------------------ the window

const windows = new WeakMap();

function findDialog(root) {
  if (root instanceof HTMLDialogElement && root.matches("[data-certwin]")) return root;
  const scope = root && root.querySelector ? root : document;
  return scope.querySelector("dialog[data-certwin]") ?? document.querySelector("dialog[data-certwin]");
}

class CertificateWindow {
  constructor(dialog) {
    this.dialog = dialog;
    this.texts = readTexts(dialog, "template[data-certwin-texts]", DEFAULT_TEXTS);
    this.form = dialog.querySelector("[data-certwin-form]");
    this.rows = dialog.querySelector("[data-certwin-rows]");
    this.tableWrap = dialog.querySelector("[data-certwin-table]");
    this.password = dialog.querySelector("[data-certwin-password]");
    this.error = dialog.querySelector("[data-certwin-error]");
    this.status = dialog.querySelector("[data-certwin-status]");
    this.busyText = dialog.querySelector("[data-certwin-busy-text]");
    this.okButton = dialog.querySelector("[data-certwin-ok]");
    this.lead = dialog.querySelector("[data-certwin-lead]");
    this.defaultLead = this.lead ? this.lead.textContent : "";
    this.timer = dialog.querySelector("[data-certwin-timer]");
    this.countdown = dialog.querySelector("[data-certwin-countdown]");
    this.diskPanel = dialog.querySelector("[data-certwin-disk]");
    this.storeButtons = [...dialog.querySelectorAll("[data-certwin-store]")];
    this.passwordField = dialog.querySelector("[data-certwin-password-field]");
    this.cloudHint = dialog.querySelector("[data-certwin-cloud-hint]");
    const devicePanel = dialog.querySelector("[data-certwin-device]");
    this.device =
      devicePanel && dialog.dataset.cloudDeviceRegisterUrl
        ? new CloudDeviceRegistration(devicePanel, {
            url: dialog.dataset.cloudDeviceRegisterUrl,
            texts: this.texts,
            root: dialog,
            onDone: (message) => this.deviceRegistered(message),
            onError: (message) => this.showError(message),
            isRegistered: () => this.cloudRegistered(),
            onChange: () => this.updateOk(),
          })
        : null;

    this.store = "browser";
    this.entries = { browser: [], disk: [], cloud: [] };
    this.cloudEmpty = "empty-cloud";
    this.cloudUnregistered = false;
    this.loading = false;
    this.selectedId = null;
    this.pending = null; // {resolve, promise}
    this.signing = null; // the challenge being signed (SigningChallenge), when the flow passes one
    this.attempt = 0;
    this.opener = null;

    this.bind();
  }

  bind() {
    const { dialog } = this;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.confirm();
    });
    for (const button of dialog.querySelectorAll("[data-certwin-cancel], [data-certwin-close]")) {
      button.addEventListener("click", () => dialog.close());
    }
    dialog.addEventListener("close", () => this.closed());
    for (const button of this.storeButtons) {
      button.addEventListener("click", () => this.showStore(button.dataset.certwinStore));
    }
    for (const input of dialog.querySelectorAll("[data-certwin-files], [data-certwin-folder]")) {
      input.addEventListener("change", () => {
        const items = [...input.files].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
        input.value = "";
        this.loadFiles(items);
      });
    }
    const body = dialog.querySelector(".certwin__body") ?? dialog;
    body.addEventListener("dragover", (event) => {
      if (![...(event.dataTransfer?.types ?? [])].includes("Files")) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      dialog.classList.add("certwin--drop");
    });
    body.addEventListener("dragleave", (event) => {
      if (!body.contains(event.relatedTarget)) dialog.classList.remove("certwin--drop");
    });
    body.addEventListener("drop", async (event) => {
      event.preventDefault();
      dialog.classList.remove("certwin--drop");
      let items = [];
      try {
        items = await filesFromDrop(event.dataTransfer);
      } catch {
        items = [];
      }
      if (this.store !== "disk") this.showStore("disk");
      this.loadFiles(items);
    });
    this.rows.addEventListener("click", (event) => {
      const row = event.target.closest("tr[data-id]");
      if (row) this.select(row.dataset.id);
    });
    this.rows.addEventListener("dblclick", (event) => {
      const row = event.target.closest("tr[data-id]");
      if (row) {
        this.select(row.dataset.id);
        this.password.focus();
      }
    });
    this.rows.addEventListener("keydown", (event) => this.rowKey(event));
    this.password.addEventListener("input", () => {
      if (this.errorKey === "no-password" || this.errorKey === "wrong-password") this.showError(null);
    });
  }

  // -------------------------------------------------------------- open/close

  open(options) {
    if (this.pending) return this.pending.promise;
    let resolve;
    const promise = new Promise((r) => {
      resolve = r;
    });
    this.pending = { resolve, promise };
    this.opener = document.activeElement;
    this.returnPassword = Boolean(options.returnPassword);
    // Flows that need the key file itself (renewal of a 공동인증서) leave the cloud out.
    this.cloudAllowed = options.cloud !== false;
    for (const button of this.storeButtons) {
      if (button.dataset.certwinStore === "cloud") button.hidden = !this.cloudAllowed;
    }
    if (this.store === "cloud" && !this.cloudAllowed) this.store = "browser";
    if (this.lead) this.lead.textContent = options.lead || this.defaultLead;
    this.password.value = "";
    this.selectedId = null;
    this.showStatus(null);
    this.setBusy(false);
    this.startSigning(options.challenge);
    this.showError(null);
    this.dialog.showModal();
    this.showStore(this.store, { focusRows: true });
    return promise;
  }

  finish(value) {
    const pending = this.pending;
    this.pending = null;
    if (pending) pending.resolve(value);
    if (this.dialog.open) this.dialog.close();
  }

  closed() {
    this.attempt++; // a decryption still running is discarded
    this.password.value = "";
    this.setBusy(false);
    this.stopSigning();
    this.device?.reset();
    const pending = this.pending;
    this.pending = null;
    if (pending) pending.resolve(null);
    if (this.opener && this.opener.isConnected && typeof this.opener.focus === "function") this.opener.focus();
    this.opener = null;
  }

  // -------------------------------------------------------------- 서명 유효시간

  startSigning(provider) {
    this.stopSigning();
    if (typeof provider !== "function") return;
    this.signing = new SigningChallenge({
      provider,
      countdown: this.countdown,
      onChange: (state) => this.signingChanged(state),
    });
    this.signing.load();
  }

  stopSigning() {
    this.signing?.stop();
    this.signing = null;
    this.signingProblem = null;
    if (this.timer) this.timer.hidden = true;
    this.updateOk();
  }

  signingChanged(state) {
    const { signing } = this;
    if (!signing) return;
    const counting = state === "ready" || state === "expired";
    if (this.timer) this.timer.hidden = !counting || !signing.current?.expiresAt;
    if (state === "expired") this.signingProblem = this.texts["challenge-expired"];
    else if (state === "failed") {
      this.signingProblem = signing.error instanceof RequestError ? signing.error.message : this.texts["challenge-failed"];
    } else this.signingProblem = null;
    this.updateOk();
    // Said until a new challenge comes (showError keeps it), cleared when it does.
    if (this.signingProblem || this.errorKey === "challenge") this.showError(null);
  }

  /** No challenge to sign (it ran out, or could not be had): 확인 becomes 다시 시도. */
  signingStuck() {
    return Boolean(this.signing) && (this.signing.state === "expired" || this.signing.state === "failed");
  }

  /**
   * 확인 does what the window is at: submit the 이용기기 등록 step shown
   * (the button then belongs to that step's form), ask for a new challenge
   * (다시 시도), or unlock the chosen certificate.
   */
  updateOk() {
    const ok = this.okButton;
    if (this.deviceShown()) {
      ok.setAttribute("form", this.device.formId);
      ok.textContent = this.texts[`device-submit-${this.device.step}`] ?? this.texts.ok;
      ok.disabled = this.busy || this.device.busy;
      return;
    }
    ok.removeAttribute("form");
    ok.textContent = this.signingStuck() ? this.texts.retry : this.texts.ok;
    ok.disabled = this.busy;
  }

  /** The challenge to sign, or null (the window shows why) when there is none or it ran out. */
  async signingChallenge() {
    if (!this.signing) return undefined;
    return this.signing.ready();
  }

  // -------------------------------------------------------------- stores

  async showStore(store, { focusRows = false } = {}) {
    this.store = ["disk", "cloud"].includes(store) ? store : "browser";
    for (const button of this.storeButtons) {
      button.setAttribute("aria-pressed", String(button.dataset.certwinStore === this.store));
    }
    if (this.diskPanel) this.diskPanel.hidden = this.store !== "disk";
    // A 금융인증서 is unlocked with the PIN pad, not a typed password.
    if (this.passwordField) this.passwordField.hidden = this.store === "cloud";
    this.showDevicePanel(false);
    this.selectedId = null;
    this.showError(null);
    if (this.store !== "cloud") this.showStatus(null);
    if (this.cloudHint) this.cloudHint.hidden = this.store !== "cloud";
    if (this.store === "cloud") {
      this.loading = true;
      this.render();
      await this.loadCloud();
      this.loading = false;
      if (this.store !== "cloud") return;
      if (this.cloudUnregistered && this.device) {
        this.render();
        this.showDevicePanel(true);
        return;
      }
    }
    if (this.store === "browser") {
      this.loading = true;
      this.render();
      try {
        const records = await listCertificates();
        const entries = [];
        for (const record of records) {
          try {
            entries.push(makeEntry({ certificateDer: record.certificateDer, keyFile: record.keyFile, source: "browser" }));
          } catch {
            // A damaged record is skipped, not fatal for the others.
          }
        }
        this.entries.browser = entries;
      } catch {
        this.entries.browser = [];
        if (this.store === "browser") this.showError("store-failed");
      } finally {
        this.loading = false;
      }
      if (this.store !== "browser") return;
    }
    this.render();
    if (focusRows) this.focusInitial();
  }

  async loadCloud() {
    this.entries.cloud = [];
    this.cloudEmpty = "empty-cloud";
    this.cloudUnregistered = false;
    let answer;
    try {
      answer = await getJson(this.dialog.dataset.cloudUrl);
    } catch {
      this.cloudEmpty = "cloud-failed";
      return;
    }
    if (!answer.registered) {
      this.cloudUnregistered = true;
      this.cloudEmpty = "cloud-unregistered";
    }
    for (const item of answer.certificates ?? []) {
      try {
        this.entries.cloud.push(
          makeEntry({
            certificateDer: fromBase64(item.certificate),
            keyFile: null,
            source: "cloud",
            cloud: {
              serial: item.serial,
              verifierSalt: fromBase64(item.verifier_salt),
              iterations: item.iterations,
              locked: Boolean(item.locked),
            },
          }),
        );
      } catch {
        // A certificate this window cannot read is left out.
      }
    }
  }

  // -------------------------------------------------------------- 이용기기 등록

  deviceShown() {
    return Boolean(this.device?.shown);
  }

  /** The registration form in place of the list (and of 확인) for an unregistered browser. */
  showDevicePanel(show) {
    if (!this.device) return;
    if (show) {
      if (this.tableWrap) this.tableWrap.hidden = true;
      if (this.cloudHint) this.cloudHint.hidden = true;
      this.device.show();
    } else {
      if (this.device.shown) this.device.hide();
      if (this.tableWrap) this.tableWrap.hidden = false;
    }
    this.updateOk();
  }

  /** Asks the bank whether this browser is a registered device now. */
  async cloudRegistered() {
    try {
      return Boolean((await getJson(this.dialog.dataset.cloudUrl)).registered);
    } catch {
      return false;
    }
  }

  /** Registered: back to the 금융인증서 list, now with this person's certificates. */
  async deviceRegistered(message) {
    if (this.store !== "cloud") return;
    this.showDevicePanel(false);
    await this.showStore("cloud");
    this.showStatus(message);
    const row = this.rows.querySelector('tr[data-id][tabindex="0"]');
    if (row) {
      this.select(row.dataset.id, { focus: true });
    }
  }

  async loadFiles(items) {
    if (!items.length) return;
    this.showError(null);
    const { entries, failed } = await entriesFromFiles(items);
    // The same certificate picked again replaces the earlier copy.
    const bySerial = new Map(this.entries.disk.map((entry) => [entry.serial, entry]));
    for (const entry of entries) bySerial.set(entry.serial, entry);
    this.entries.disk = [...bySerial.values()];
    if (this.store !== "disk") this.showStore("disk");
    this.render();
    if (entries.length === 1) this.select(entries[0].id, { focus: true });
    if (!entries.length || failed) this.showError("unreadable");
  }
  focusInitial() {
    // Only if the customer has not moved focus somewhere on purpose.
    const active = document.activeElement;
    if (active && this.dialog.contains(active) && !active.matches("[data-certwin-close], .certwin__store")) return;
    const row = this.rows.querySelector('tr[data-id][tabindex="0"]');
    (row ?? this.storeButtons.find((b) => b.getAttribute("aria-pressed") === "true"))?.focus();
  }

  // -------------------------------------------------------------- table

  visibleEntries() {
    return this.entries[this.store];
  }

  render() {
    const rows = [];
    const entries = this.visibleEntries();
    if (this.loading && this.store !== "disk") {
      rows.push(this.emptyRow(this.texts.loading));
    } else if (!entries.length) {
      const empty = { browser: "empty-browser", disk: "empty-disk", cloud: this.cloudEmpty }[this.store];
      rows.push(this.emptyRow(this.texts[empty]));
    } else {
      const focusId = this.selectedId ?? entries[0].id;
      for (const entry of entries) rows.push(this.row(entry, entry.id === focusId));
    }
    this.rows.replaceChildren(...rows);
  }

  emptyRow(text) {
    const tr = document.createElement("tr");
    tr.className = "certwin__empty";
    const td = document.createElement("td");
    td.colSpan = 4;
    td.textContent = text;
    tr.append(td);
    return tr;
  }

  row(entry, focusable) {
    const tr = document.createElement("tr");
    tr.dataset.id = entry.id;
    tr.className = "certwin__row";
    if (entry.expired) tr.classList.add("certwin__row--expired");
    tr.tabIndex = focusable ? 0 : -1;
    tr.setAttribute("aria-selected", String(entry.id === this.selectedId));

    const kind = document.createElement("td");
    kind.className = "certwin__kind";
    const icon = document.createElement("span");
    icon.className = "certwin__icon";
    icon.setAttribute("aria-hidden", "true");
    if (entry.cloud) icon.classList.add("certwin__icon--cloud");
    kind.append(icon, document.createTextNode(entry.cloud ? this.texts["kind-financial"] : this.texts.kind));
    if (entry.expired) {
      const badge = document.createElement("span");
      badge.className = "certwin__badge";
      badge.textContent = this.texts.expired;
      kind.append(" ", badge);
    }
    const user = document.createElement("td");
    user.className = "certwin__user";
    user.textContent = entry.name;
    const expires = document.createElement("td");
    expires.className = "certwin__date";
    const time = document.createElement("time");
    time.dateTime = entry.parsed.notAfter.toISOString();
    time.textContent = entry.expires;
    expires.append(time);
    const issuer = document.createElement("td");
    issuer.className = "certwin__issuer";
    issuer.textContent = entry.issuer;
    tr.append(kind, user, expires, issuer);
    return tr;
  }

  select(id, { focus = false } = {}) {
    const entry = this.visibleEntries().find((e) => e.id === id);
    if (!entry) return;
    this.selectedId = id;
    for (const tr of this.rows.querySelectorAll("tr[data-id]")) {
      const selected = tr.dataset.id === id;
      tr.setAttribute("aria-selected", String(selected));
      tr.tabIndex = selected ? 0 : -1;
      if (selected && focus) tr.focus();
    }
    if (entry.expired) this.showError("expired-certificate");
    else if (entry.notYetValid) this.showError("not-yet-valid");
    else this.showError(null);
  }

  rowKey(event) {
    const row = event.target.closest("tr[data-id]");
    if (!row) return;
    const rows = [...this.rows.querySelectorAll("tr[data-id]")];
    const index = rows.indexOf(row);
    let target = null;
    switch (event.key) {
      case "ArrowDown":
        target = rows[Math.min(index + 1, rows.length - 1)];
        break;
      case "ArrowUp":
        target = rows[Math.max(index - 1, 0)];
        break;
      case "Home":
        target = rows[0];
        break;
      case "End":
        target = rows[rows.length - 1];
        break;
      case "Enter":
        event.preventDefault();
        this.select(row.dataset.id);
        this.password.focus();
        return;
      case " ":
        event.preventDefault();
        this.select(row.dataset.id);
        return;
      default:
        return;
    }
    event.preventDefault();
    if (target) this.select(target.dataset.id, { focus: true });
  }

  // -------------------------------------------------------------- states

  /** A text key or a message; nothing clears it while the challenge is missing or over (that stays said). */
  showError(key) {
    if (!key && this.signingProblem) key = "challenge";
    this.errorKey = key;
    const text = key === "challenge" ? this.signingProblem : key ? this.texts[key] ?? key : "";
    this.error.textContent = text;
    this.password.setAttribute("aria-invalid", String(key === "no-password" || key === "wrong-password"));
    if (text) this.showStatus(null);
  }

  /** A success line (이용기기 등록), until the next error or store. */
  showStatus(message) {
    if (!this.status) return;
    this.status.textContent = message || "";
    this.status.hidden = !message;
  }

  setBusy(busy) {
    this.busy = busy;
    this.form.setAttribute("aria-busy", String(busy));
    this.dialog.classList.toggle("certwin--busy", busy);
    if (this.busyText) this.busyText.hidden = !busy;
    this.password.readOnly = busy;
    this.updateOk();
  }

  async confirm() {
    if (this.busy || this.deviceShown()) return;
    if (this.signingStuck()) {
      this.signing.load({ retry: true }); // 다시 시도: a new challenge, then the customer goes on
      return;
    }
    const entry = this.visibleEntries().find((e) => e.id === this.selectedId);
    if (!entry) {
      this.showError("no-selection");
      return;
    }
    if (entry.expired) {
      this.showError("expired-certificate");
      return;
    }
    if (entry.notYetValid) {
      this.showError("not-yet-valid");
      return;
    }
    if (entry.cloud) {
      this.confirmCloud(entry);
      return;
    }
    if (!entry.keyFile) {
      this.showError("unreadable");
      return;
    }
    const password = this.password.value;
    if (!password) {
      this.showError("no-password");
      this.password.focus();
      return;
    }
    this.showError(null);
    this.setBusy(true);
    const attempt = ++this.attempt;
    let unlocked;
    try {
      const { privateKeyPkcs8, r } = await decryptKeyFile(entry.keyFile, password);
      try {
        const signingKey = await importSigningKey(privateKeyPkcs8);
        unlocked = { signingKey, r };
      } finally {
        privateKeyPkcs8.fill(0); // the key lives on only inside the non-extractable CryptoKey
      }
    } catch (error) {
      if (attempt !== this.attempt) return; // closed meanwhile
      this.setBusy(false);
      if (error instanceof WrongPasswordError || error?.name === "WrongPasswordError") {
        this.showError("wrong-password");
        this.password.select();
        this.password.focus();
      } else {
        this.showError("unreadable");
      }
      return;
    }
    if (attempt !== this.attempt) return;
    const challenge = await this.signingChallenge();
    if (attempt !== this.attempt) return;
    this.setBusy(false);
    if (challenge === null) return; // no challenge to sign, or it ran out: the window says so
    this.finish({
      challenge,
      certificateDer: entry.certificateDer,
      keyFile: entry.keyFile,
      signingKey: unlocked.signingKey,
      r: unlocked.r,
      parsed: entry.parsed,
      serial: entry.serial,
      name: entry.name,
      source: entry.source,
      ...(this.returnPassword ? { password } : {}),
    });
  }
}

// ------------------------------------------------------------------ 금융인증서


async function unlockCloud(dialog, entry, pin) {
  const { cloud } = entry;
  const verifier = await pinVerifier(pin, { verifierSalt: cloud.verifierSalt, iterations: cloud.iterations });
  const release = await postForm(dialog.dataset.cloudUnlockUrl, { serial: cloud.serial, verifier: toBase64(verifier) }, { root: dialog });
  const { signingKey, r } = await unwrapKey({
    blob: fromBase64(release.wrapped_key),
    pin,
    serverSecret: fromBase64(release.server_secret),
    wrapSalt: fromBase64(release.wrap_salt),
    iterations: release.iterations,
  });
  return { release, signingKey, r };
}

CertificateWindow.prototype.confirmCloud = async function confirmCloud(entry) {
  if (entry.cloud.locked) {
    this.showError("cloud-locked");
    return;
  }
  const attempt = ++this.attempt;
  let error = "";
  for (;;) {
    const pin = await openPinPad(this.dialog, { title: this.texts["pin-title"], lead: this.texts["pin-lead"], error });
    if (pin === null || attempt !== this.attempt) return; // cancelled: back to the window
    if (this.signing && this.signing.state !== "ready" && this.signing.state !== "loading") {
      this.showError(null); // the challenge ran out while the pad was open: 다시 시도 first
      return;
    }
    this.setBusy(true);
    let unlocked;
    try {
      unlocked = await unlockCloud(this.dialog, entry, pin);
    } catch (failure) {
      this.setBusy(false);
      if (attempt !== this.attempt) return;
      if (failure instanceof RequestError && failure.code === "wrong_pin") {
        error = failure.message; // the count is the server's: "(2/5회 오류 …)"
        continue;
      }
      if (failure instanceof RequestError && failure.code === "cloud_locked") entry.cloud.locked = true;
      this.showError(failure instanceof RequestError ? failure.message : "cloud-broken");
      return;
    }
    let result = { certificateDer: entry.certificateDer, signingKey: unlocked.signingKey, r: unlocked.r, renewed: false };
    if (unlocked.release.renewal_due) {
      try {
        const urls = { prepare: this.dialog.dataset.cloudRenewPrepareUrl, complete: this.dialog.dataset.cloudRenewUrl };
        const renewed = await renewCloudCertificate({ urls, entry, pin, oldKey: unlocked.signingKey, root: this.dialog });
        result = { ...renewed, renewed: true };
      } catch {
        // The current certificate is still valid: use it, renewal is tried again next time.
      }
    }
    if (attempt !== this.attempt) return;
    const challenge = await this.signingChallenge();
    this.setBusy(false);
    if (attempt !== this.attempt || challenge === null) return; // ran out meanwhile: the window says so
    const described = describeCertificate(result.certificateDer);
    this.finish({
      challenge,
      certificateDer: result.certificateDer,
      keyFile: null,
      signingKey: result.signingKey,
      r: result.r,
      parsed: described.parsed,
      serial: described.serial,
      name: described.name,
      source: "cloud",
      kind: "financial",
      renewed: result.renewed,
    });
    return;
  }
};

/**
 * Open the 인증서 선택창 and resolve with the unlocked certificate:
 * {certificateDer, keyFile, signingKey, r, parsed, serial, name, source,
 * challenge}, or null when the customer cancels. While a window is open,
 * calling again returns the same promise.
 *
 * options.lead: a sentence shown under the title (e.g. what is being signed).
 * options.challenge: ({retry}) => Promise<{token, toSign, expiresAt}>
 *   (challenge-timer.js readChallenge): the challenge this signature is for.
 *   Asked for as the window opens (retry false) and on 다시 시도 (retry
 *   true); its 서명 유효시간 counts down in the window, which resolves only
 *   while it is still good, with it as `challenge`.
 * options.cloud: false to leave out the 금융인증서 tab (flows that need a key file).
 * A 금융인증서 resolves with keyFile null, source "cloud", kind "financial" and
 * `renewed` true when it renewed itself first (the new certificate is returned).
 * options.returnPassword: also resolve with `password` (the one that opened
 * signPri.key), for flows that re-encrypt a key on this device (renewal).
 * It is for local use only and must never be sent to the server.
 */
export function openCertificateWindow(root = document, options = {}) {
  const dialog = findDialog(root);
  if (!dialog) {
    return Promise.reject(new Error("certwindow: the page has no <dialog data-certwin> (include includes/_certwindow.html)"));
  }
  let instance = windows.get(dialog);
  if (!instance) {
    instance = new CertificateWindow(dialog);
    windows.set(dialog, instance);
  }
  return instance.open(options);
}
