// 이 브라우저에 저장된 인증서 (templates/certificates/_browser_store.html):
// the certificates kept in this browser's IndexedDB (keystore.js), with
// 비밀번호 변경, 내보내기, 삭제 per certificate and 가져오기 for the section.
//
// Everything happens on this device: a password only ever opens or seals
// signPri.key here (npki.js), and nothing on this page is sent to the bank.

import { keyMatchesCertificate } from "../crypto/keycheck.js";
import { checkPasswordRules, decryptKeyFile, reencryptKeyFile, WrongPasswordError } from "../crypto/npki.js";
import {
  describeCertificate,
  downloadBytes,
  npkiZip,
  PasswordPair,
  pickedFiles,
  readCertificatePairs,
  readTexts,
} from "./cert-common.js";
import { deleteCertificate, getCertificate, listCertificates, saveCertificate } from "./keystore.js";

const DEFAULT_TEXTS = {
  kind: "공동인증서",
  expired: "만료",
  empty: "이 브라우저에 저장된 인증서가 없습니다.",
  damaged: "읽을 수 없는 인증서",
  "change-password": "비밀번호 변경",
  export: "내보내기",
  delete: "삭제",
  busy: "처리 중…",
  "rule-ok": "사용할 수 있는 비밀번호입니다.",
  mismatch: "비밀번호가 일치하지 않습니다.",
  match: "비밀번호가 일치합니다.",
  "no-password": "인증서 비밀번호를 입력해 주세요.",
  "same-password": "새 비밀번호가 현재 비밀번호와 같습니다.",
  "wrong-password": "인증서 비밀번호가 올바르지 않습니다.",
  unreadable: "인증서 파일을 읽을 수 없습니다.",
  "key-mismatch": "인증서와 개인키가 서로 맞지 않습니다.",
  "store-failed": "브라우저 인증서 저장소를 열 수 없습니다.",
  "password-changed": "인증서 비밀번호를 변경했습니다.",
  exported: "인증서를 파일로 내보냈습니다.",
  deleted: "이 브라우저에서 인증서를 삭제했습니다.",
  imported: "인증서를 이 브라우저에 저장했습니다.",
  "imported-replaced": "이미 저장된 인증서를 가져온 파일로 바꾸었습니다.",
  "serial-label": "일련번호",
};

function isWrongPassword(error) {
  return error instanceof WrongPasswordError || error?.name === "WrongPasswordError";
}

function markInvalid(input, invalid) {
  input.setAttribute("aria-invalid", String(invalid));
  input.closest(".field")?.classList.toggle("field--error", invalid);
}

/**
 * A <dialog> with one form: open(subject) → resolves true when the action
 * ran to the end, false when cancelled. `action()` returns null on success
 * or a message to show (the dialog stays open).
 */
class ActionDialog {
  constructor(dialog, texts, { onOpen = () => {}, action }) {
    this.dialog = dialog;
    this.texts = texts;
    this.form = dialog.querySelector("form");
    this.subject = dialog.querySelector("[data-certmgr-dialog-subject]");
    this.error = dialog.querySelector("[data-certmgr-dialog-error]");
    this.ok = dialog.querySelector("[data-certmgr-dialog-ok]");
    this.okLabel = this.ok.textContent;
    this.onOpen = onOpen;
    this.action = action;
    this.busy = false;
    this.resolve = null;
    this.attempt = 0;

    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    dialog.querySelector("[data-certmgr-dialog-cancel]").addEventListener("click", () => dialog.close());
    dialog.addEventListener("cancel", (event) => {
      if (this.busy) event.preventDefault(); // Esc while a key is being re-encrypted
    });
    dialog.addEventListener("close", () => this.closed());
  }

  open(subjectText) {
    this.opener = document.activeElement;
    this.subject.textContent = subjectText;
    this.showError("");
    this.setBusy(false);
    this.onOpen();
    this.dialog.showModal();
    return new Promise((resolve) => {
      this.resolve = resolve;
    });
  }

  showError(message) {
    this.error.textContent = message || "";
  }

  setBusy(busy) {
    this.busy = busy;
    this.form.setAttribute("aria-busy", String(busy));
    this.dialog.classList.toggle("certmgr-dialog--busy", busy);
    for (const input of this.form.querySelectorAll("input")) input.readOnly = busy;
    this.ok.textContent = busy ? this.texts.busy : this.okLabel;
    if (busy) this.ok.disabled = true;
  }

  async submit() {
    if (this.busy || this.ok.disabled) return;
    this.showError("");
    this.setBusy(true);
    const attempt = ++this.attempt;
    let problem;
    try {
      problem = await this.action();
    } catch {
      problem = this.texts.unreadable;
    }
    if (attempt !== this.attempt) return;
    this.setBusy(false);
    this.ok.disabled = false;
    if (problem) {
      this.showError(problem);
      return;
    }
    const resolve = this.resolve;
    this.resolve = null;
    resolve?.(true);
    this.dialog.close();
  }

  closed() {
    this.attempt++;
    this.setBusy(false);
    for (const input of this.form.querySelectorAll("input[type=password]")) input.value = "";
    const resolve = this.resolve;
    this.resolve = null;
    resolve?.(false);
    if (this.opener?.isConnected) this.opener.focus();
  }
}

class BrowserStore {
  constructor(root) {
    this.root = root;
    this.texts = readTexts(root, "template[data-certmgr-texts]", DEFAULT_TEXTS);
    this.rows = root.querySelector("[data-certmgr-rows]");
    this.message = root.querySelector("[data-certmgr-message]");
    this.records = new Map(); // serial → {record, info}
    this.current = null; // the record a dialog works on

    this.setupPasswordDialog();
    this.setupDeleteDialog();
    this.setupImportDialog();

    this.rows.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-certmgr-action]");
      const row = button?.closest("tr[data-serial]");
      if (row) this.act(button.dataset.certmgrAction, row.dataset.serial);
    });
    for (const input of root.querySelectorAll("[data-certmgr-import-files], [data-certmgr-import-folder]")) {
      input.addEventListener("change", () => {
        const items = pickedFiles(input);
        input.value = "";
        this.importFiles(items);
      });
    }
    this.refresh();
  }

  // ------------------------------------------------------------ messages

  say(key, { error = false } = {}) {
    this.message.textContent = key ? this.texts[key] ?? key : "";
    this.message.classList.toggle("certmgr-store__message--error", Boolean(key) && error);
    this.message.classList.toggle("certmgr-store__message--ok", Boolean(key) && !error);
  }

  // ------------------------------------------------------------ table

  async refresh() {
    let records;
    try {
      records = await listCertificates();
    } catch {
      this.records.clear();
      this.rows.replaceChildren(this.emptyRow(this.texts.empty));
      this.say("store-failed", { error: true });
      return;
    }
    this.records.clear();
    const rows = [];
    for (const record of records) {
      let info = null;
      try {
        info = describeCertificate(record.certificateDer);
      } catch {
        info = null; // a damaged record still gets a row, so it can be deleted
      }
      this.records.set(record.serial, { record, info });
      rows.push(this.row(record, info));
    }
    this.rows.replaceChildren(...(rows.length ? rows : [this.emptyRow(this.texts.empty)]));
  }

  emptyRow(text) {
    const tr = document.createElement("tr");
    tr.className = "certmgr-store__empty";
    tr.dataset.testid = "browser-store-empty";
    const td = document.createElement("td");
    td.colSpan = 6;
    td.textContent = text;
    tr.append(td);
    return tr;
  }

  row(record, info) {
    const tr = document.createElement("tr");
    tr.className = "certmgr-store__row";
    tr.dataset.testid = "browser-cert-row";
    tr.dataset.serial = record.serial;
    if (info?.expired) tr.classList.add("certmgr-store__row--expired");
    const cell = (className, ...content) => {
      const td = document.createElement("td");
      td.className = className;
      td.append(...content);
      return td;
    };
    const kind = cell("certmgr-store__kind");
    const icon = document.createElement("span");
    icon.className = "certmgr-store__icon";
    icon.setAttribute("aria-hidden", "true");
    kind.append(icon, this.texts.kind);
    if (info?.expired) {
      const badge = document.createElement("span");
      badge.className = "certmgr-store__badge";
      badge.textContent = this.texts.expired;
      kind.append(" ", badge);
    }
    let expires = "";
    if (info) {
      expires = document.createElement("time");
      expires.dateTime = info.parsed.notAfter.toISOString();
      expires.textContent = info.expires;
    }
    const actions = cell("certmgr-store__actions");
    const group = document.createElement("div");
    group.className = "certmgr-store__buttons";
    const button = (action, text, extra = "") => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = `btn btn--small btn--ghost ${extra}`.trim();
      b.dataset.certmgrAction = action;
      b.textContent = text;
      return b;
    };
    if (info) {
      group.append(button("password", this.texts["change-password"]), button("export", this.texts.export));
    }
    group.append(button("delete", this.texts.delete, "certmgr-store__delete"));
    actions.append(group);
    tr.append(
      kind,
      cell("certmgr-store__user", info ? info.name : this.texts.damaged),
      cell("certmgr-store__date", expires),
      cell("certmgr-store__issuer", info ? info.issuer : ""),
      cell("certmgr-store__serial mono", record.serial),
      actions,
    );
    return tr;
  }

  subjectText(serial) {
    const entry = this.records.get(serial);
    const name = entry?.info?.name ?? this.texts.damaged;
    return `${name} · ${this.texts["serial-label"]} ${serial}`;
  }

  act(action, serial) {
    const entry = this.records.get(serial);
    if (!entry) return;
    this.current = entry;
    this.say("");
    if (action === "password") this.changePassword(serial);
    else if (action === "export") this.exportCertificate(entry);
    else if (action === "delete") this.remove(serial);
  }

  focusRowButton(serial, action) {
    const row = [...this.rows.querySelectorAll("tr[data-serial]")].find((tr) => tr.dataset.serial === serial);
    row?.querySelector(`button[data-certmgr-action="${action}"]`)?.focus();
  }

  // ------------------------------------------------------------ 비밀번호 변경

  setupPasswordDialog() {
    const dialog = this.root.querySelector("[data-certmgr-password-dialog]");
    const old = dialog.querySelector("[data-certmgr-old-password]");
    const pair = new PasswordPair({
      password: dialog.querySelector("[data-certmgr-new-password]"),
      confirm: dialog.querySelector("[data-certmgr-new-confirm]"),
      rule: dialog.querySelector("[data-certmgr-rule]"),
      match: dialog.querySelector("[data-certmgr-match]"),
      texts: this.texts,
    });
    this.passwordDialog = new ActionDialog(dialog, this.texts, {
      onOpen: () => {
        old.value = "";
        pair.reset();
        markInvalid(old, false);
      },
      action: async () => {
        if (!old.value) {
          old.focus();
          return this.texts["no-password"];
        }
        if (pair.validate()) return checkPasswordRules(pair.password.value) ?? this.texts.mismatch;
        if (pair.password.value === old.value) {
          pair.password.focus();
          return this.texts["same-password"];
        }
        const { record } = this.current;
        let keyFile;
        try {
          // Decrypting with the old password is the proof; the same key and R
          // are sealed again under the new one (npki.js).
          keyFile = await reencryptKeyFile(record.keyFile, old.value, pair.password.value);
        } catch (error) {
          if (isWrongPassword(error)) {
            markInvalid(old, true);
            old.select();
            old.focus();
            return this.texts["wrong-password"];
          }
          return this.texts.unreadable;
        }
        try {
          await saveCertificate({ serial: record.serial, certificateDer: record.certificateDer, keyFile });
        } catch {
          return this.texts["store-failed"];
        }
        return null;
      },
    });
    old.addEventListener("input", () => markInvalid(old, false));
  }

  async changePassword(serial) {
    const done = await this.passwordDialog.open(this.subjectText(serial));
    if (!done) return;
    await this.refresh();
    this.say("password-changed");
    this.focusRowButton(serial, "password");
  }

  // ------------------------------------------------------------ 내보내기

  exportCertificate({ record, info }) {
    try {
      // Exactly the stored bytes: a Korean NPKI tool reads this folder as is.
      const { bytes } = npkiZip({ certificateDer: record.certificateDer, keyFile: record.keyFile, parsed: info.parsed });
      downloadBytes(bytes, `NPKI-${record.serial}.zip`, "application/zip");
      this.say("exported");
    } catch {
      this.say("unreadable", { error: true });
    }
  }

  // ------------------------------------------------------------ 삭제

  setupDeleteDialog() {
    const dialog = this.root.querySelector("[data-certmgr-delete-dialog]");
    const check = dialog.querySelector("[data-certmgr-delete-confirm]");
    const ok = dialog.querySelector("[data-certmgr-dialog-ok]");
    check.addEventListener("change", () => {
      ok.disabled = !check.checked;
    });
    this.deleteDialog = new ActionDialog(dialog, this.texts, {
      onOpen: () => {
        check.checked = false;
        ok.disabled = true;
      },
      action: async () => {
        if (!check.checked) return null;
        try {
          await deleteCertificate(this.current.record.serial);
        } catch {
          return this.texts["store-failed"];
        }
        return null;
      },
    });
  }

  async remove(serial) {
    const done = await this.deleteDialog.open(this.subjectText(serial));
    if (!done) return;
    await this.refresh();
    this.say("deleted");
    (this.rows.querySelector("button[data-certmgr-action]") ?? this.root.querySelector("[data-certmgr-import-files]"))?.focus();
  }

  // ------------------------------------------------------------ 가져오기

  setupImportDialog() {
    const dialog = this.root.querySelector("[data-certmgr-import-dialog]");
    const password = dialog.querySelector("[data-certmgr-import-password]");
    password.addEventListener("input", () => markInvalid(password, false));
    this.importDialog = new ActionDialog(dialog, this.texts, {
      onOpen: () => {
        password.value = "";
        markInvalid(password, false);
      },
      action: async () => {
        if (!password.value) {
          password.focus();
          return this.texts["no-password"];
        }
        const pair = this.importing;
        let opened;
        try {
          opened = await decryptKeyFile(pair.keyFile, password.value);
        } catch (error) {
          if (isWrongPassword(error)) {
            markInvalid(password, true);
            password.select();
            password.focus();
            return this.texts["wrong-password"];
          }
          return this.texts.unreadable;
        }
        try {
          // SECURITY: a signPri.key from another certificate would be stored
          // under this serial and fail at every signature; refuse it here.
          if (!(await keyMatchesCertificate(opened.privateKeyPkcs8, pair.certificateDer))) return this.texts["key-mismatch"];
        } catch {
          return this.texts["key-mismatch"];
        } finally {
          opened.privateKeyPkcs8.fill(0);
        }
        try {
          pair.replaced = Boolean(await getCertificate(pair.serial));
          // The files are stored as they are: the key stays encrypted.
          await saveCertificate({ serial: pair.serial, certificateDer: pair.certificateDer, keyFile: pair.keyFile });
        } catch {
          return this.texts["store-failed"];
        }
        return null;
      },
    });
  }

  async importFiles(items) {
    if (!items.length) return;
    this.say("");
    let found;
    try {
      found = await readCertificatePairs(items);
    } catch {
      found = { pairs: [], failed: 1 };
    }
    let imported = 0;
    let replaced = false;
    for (const pair of found.pairs) {
      let info;
      try {
        info = describeCertificate(pair.certificateDer);
      } catch {
        found.failed++;
        continue;
      }
      this.importing = { ...pair, serial: info.serial };
      const done = await this.importDialog.open(`${info.name} · ${this.texts["serial-label"]} ${info.serial}`);
      if (done) {
        imported++;
        replaced ||= this.importing.replaced;
      }
    }
    this.importing = null;
    if (imported) await this.refresh();
    if (!found.pairs.length || found.failed) this.say("unreadable", { error: true });
    else if (imported) this.say(replaced ? "imported-replaced" : "imported");
  }
}

for (const root of document.querySelectorAll("[data-cert-manage]")) new BrowserStore(root);
