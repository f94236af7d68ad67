// 공동인증서 발급 (issuance page, templates/certificates/issue_keys.html).
//
// After identity verification the browser (DESIGN.md §3 "Issuance"):
//   1. generates an RSA key pair with WebCrypto          (키 생성)
//   2. draws R, the 20 random bytes of the VID           (R 생성)
//   3. signs the server's issuance challenge (asked for as
//      발급 is pressed; its 서명 유효시간 counts down on the
//      page) with the new key: proof of possession       (발급 요청 서명)
//   4. sends the public key, that signature and R, and
//      receives the certificate                          (인증서 받기)
//   5. encrypts the private key (with R) under the
//      password: signPri.key, NPKI format                (비밀번호로 키 암호화)
//   6. keeps signCert.der + signPri.key in the browser
//      (IndexedDB) and/or offers them as files           (저장)
// The password and the private key in clear never leave this page.

import { parseCertificate } from "../crypto/der.js";
import { checkPasswordRules, DEFAULT_ITERATIONS, encryptKeyFile, npkiFolder, subjectDnFolderName } from "../crypto/npki.js";
import { generateKeyPair, randomR, sign } from "../crypto/signer.js";
import { makeZip } from "../crypto/zip.js";
import { describeCertificate, equalBytes, readTexts } from "./cert-common.js";
import { readChallenge, SigningChallenge } from "./challenge-timer.js";
import { fromBase64, postForm, RequestError, toBase64 } from "./http.js";
import { deleteCertificate, saveCertificate } from "./keystore.js";

const GENERIC_ERROR = "인증서를 발급하지 못했습니다. 잠시 후 다시 시도해 주세요.";
const DEFAULT_TEXTS = {
  done: "완료",
  failed: "실패",
  "rule-ok": "사용할 수 있는 비밀번호입니다.",
  mismatch: "비밀번호가 일치하지 않습니다.",
  match: "비밀번호가 일치합니다.",
  "stored-browser": "브라우저",
  "stored-disk": "하드디스크·이동식디스크 (파일 내려받기)",
  "issued-not-stored": "인증서는 발급되었지만 저장하지 못했습니다. 아래 파일을 내려받아 보관하거나 재발급 받아 주세요.",
  "challenge-expired": "서명 유효시간이 지났습니다. 다시 시도해 주세요.",
};

class IssuancePage {
  constructor(root) {
    this.root = root;
    this.texts = readTexts(root, "template[data-certissue-texts]", DEFAULT_TEXTS);
    const $ = (selector) => root.querySelector(selector);
    this.form = $("[data-certissue-form]");
    this.password = $("[data-certissue-password]");
    this.confirm = $("[data-certissue-confirm]");
    this.rule = $("[data-certissue-rule]");
    this.ruleDefault = this.rule.textContent;
    this.match = $("[data-certissue-match]");
    this.error = $("[data-certissue-error]");
    this.submit = $("[data-certissue-submit]");
    this.progress = $("[data-certissue-progress]");
    this.setup = $("[data-certissue-setup]");
    this.done = $("[data-certissue-done]");
    this.timer = $("[data-certissue-timer]");
    this.countdown = $("[data-certissue-countdown]");
    this.busy = false;
    this.urls = [];

    this.password.addEventListener("input", () => this.checkRules({ live: true }));
    this.password.addEventListener("blur", () => {
      if (this.password.value) this.checkRules();
    });
    this.confirm.addEventListener("input", () => this.checkMatch({ live: true }));
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.issue();
    });
    // The button ships disabled: without this script it would submit the form
    // natively (a GET) instead of issuing.
    this.submit.disabled = false;
    window.addEventListener("beforeunload", (event) => {
      if (this.busy) event.preventDefault();
    });
    window.addEventListener("pagehide", () => this.urls.forEach((url) => URL.revokeObjectURL(url)));
  }

  // ------------------------------------------------------------ validation

  setHint(element, text, state) {
    element.textContent = text;
    element.classList.toggle("certissue__rule--ok", state === "ok");
    element.classList.toggle("field__error", state === "error");
  }

  checkRules({ live = false } = {}) {
    const value = this.password.value;
    const field = this.password.closest(".field");
    if (!value && live) {
      this.setHint(this.rule, this.ruleDefault, null);
      field.classList.remove("field--error");
      this.password.removeAttribute("aria-invalid");
      if (this.confirm.value) this.checkMatch({ live: true });
      return null;
    }
    const problem = checkPasswordRules(value);
    // While typing the rule is a hint; it turns into an error on leaving the field or on 발급.
    const shownAsError = Boolean(problem) && !live;
    this.setHint(this.rule, problem ?? this.texts["rule-ok"], problem ? (shownAsError ? "error" : null) : "ok");
    field.classList.toggle("field--error", shownAsError);
    this.password.setAttribute("aria-invalid", String(shownAsError));
    if (this.confirm.value) this.checkMatch({ live: true });
    return problem;
  }

  checkMatch({ live = false } = {}) {
    const field = this.confirm.closest(".field");
    const value = this.confirm.value;
    let problem = null;
    if (!value && live) {
      this.setHint(this.match, "", null);
    } else if (value !== this.password.value) {
      problem = this.texts.mismatch;
      this.setHint(this.match, problem, "error");
    } else {
      this.setHint(this.match, this.texts.match, "ok");
    }
    field.classList.toggle("field--error", Boolean(problem));
    this.confirm.setAttribute("aria-invalid", String(Boolean(problem)));
    return problem;
  }

  // ------------------------------------------------------------ progress

  task(name) {
    const item = this.progress.querySelector(`[data-task="${name}"]`);
    return {
      start: () => {
        item.hidden = false;
        item.classList.add("certissue__task--active");
      },
      finish: () => {
        item.classList.remove("certissue__task--active");
        item.classList.add("certissue__task--done");
        this.appendState(item, this.texts.done);
      },
      fail: () => {
        item.classList.remove("certissue__task--active");
        item.classList.add("certissue__task--failed");
        this.appendState(item, this.texts.failed);
      },
    };
  }

  appendState(item, text) {
    item.querySelector(".certissue__task-state")?.remove();
    const state = document.createElement("span");
    state.className = "certissue__task-state";
    state.textContent = text;
    item.append(" ", state);
  }

  resetProgress() {
    for (const item of this.progress.querySelectorAll("[data-task]")) {
      item.hidden = true;
      item.className = "certissue__task";
      item.querySelector(".certissue__task-state")?.remove();
    }
  }

  async step(name, action) {
    const task = this.task(name);
    task.start();
    // Let the browser paint the line before a long computation starts.
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    try {
      const result = await action();
      task.finish();
      return result;
    } catch (error) {
      task.fail();
      throw error;
    }
  }

  showError(message) {
    this.error.textContent = message || "";
    this.error.hidden = !message;
  }

  setBusy(busy) {
    this.busy = busy;
    this.root.setAttribute("aria-busy", String(busy));
    for (const fieldset of this.form.querySelectorAll("[data-certissue-fields]")) fieldset.disabled = busy;
    this.submit.disabled = busy;
  }

  // ------------------------------------------------------------ issuance

  async issue() {
    if (this.busy) return;
    this.showError("");
    const ruleProblem = this.checkRules();
    const matchProblem = this.checkMatch();
    if (ruleProblem || matchProblem) {
      (ruleProblem ? this.password : this.confirm).focus();
      return;
    }
    const password = this.password.value;
    const storage = this.form.querySelector("input[name=storage]:checked")?.value === "disk" ? "disk" : "browser";
    const { challengeUrl, issueUrl } = this.root.dataset;
    const modulusLength = Number.parseInt(this.root.dataset.modulusLength ?? "", 10) || 2048;

    this.setBusy(true);
    this.resetProgress();
    this.progress.hidden = false;
    let issued = null; // once the CA has issued, a later failure must not hide the certificate
    let keys = null;
    // Each 발급 (a retry too) asks for a new challenge; its time left shows while the keys are made.
    const signing = new SigningChallenge({
      provider: async () => readChallenge(await postForm(challengeUrl, { purpose: "issue" }, { root: this.root })),
      countdown: this.countdown,
      onChange: (state) => {
        if (this.timer) this.timer.hidden = !["ready", "expired"].includes(state) || !signing.current?.expiresAt;
      },
    });
    try {
      signing.load();
      keys = await this.step("keys", () => generateKeyPair({ modulusLength }));
      const r = await this.step("r", async () => randomR());
      const { challenge, signature } = await this.step("sign", async () => {
        const current = await signing.ready();
        if (!current) throw signing.error ?? new RequestError(this.texts["challenge-expired"]);
        // Proof of possession: the new key signs exactly the bytes the server chose.
        const sig = await sign(keys.signingKey, current.toSign);
        return { challenge: current.token, signature: sig };
      });
      const response = await this.step("request", () =>
        postForm(
          issueUrl,
          {
            challenge,
            public_key: toBase64(keys.publicKeySpki),
            signature: toBase64(signature),
            r: toBase64(r),
          },
          { root: this.root },
        ),
      );
      const certificateDer = fromBase64(response.certificate);
      const info = describeCertificate(certificateDer);
      // SECURITY: keep only a certificate for the key we just made.
      if (!equalBytes(info.parsed.subjectPublicKeyInfo.bytes, keys.publicKeySpki)) {
        throw new RequestError("발급된 인증서의 공개키가 생성한 키와 다릅니다. 다시 시도해 주세요.");
      }
      issued = { certificateDer, info, response };

      const keyFile = await this.step("encrypt", () =>
        encryptKeyFile({ privateKeyPkcs8: keys.privateKeyPkcs8, r, password, iterations: DEFAULT_ITERATIONS }),
      );
      keys.privateKeyPkcs8.fill(0); // only the encrypted file remains
      issued.keyFile = keyFile;

      await this.step("store", async () => {
        this.prepareDownloads(issued);
        if (storage === "browser") await saveCertificate({ serial: info.serial, certificateDer, keyFile });
        // A reissue revoked the previous certificate: it must not linger in this browser.
        for (const serial of response.replaced ?? []) {
          if (serial !== info.serial) await deleteCertificate(serial);
        }
      });
      this.showDone(issued, storage);
      if (storage === "disk") this.root.querySelector("[data-certissue-zip]").click();
    } catch (error) {
      if (keys?.privateKeyPkcs8 && !issued?.keyFile) keys.privateKeyPkcs8.fill(0);
      const message = error instanceof RequestError ? error.message : GENERIC_ERROR;
      if (issued?.keyFile) {
        // Issued and encrypted, but the browser store failed: the files still work.
        this.showDone(issued, "disk");
        this.showError(this.texts["issued-not-stored"]);
        this.done.prepend(this.error);
      } else {
        this.showError(message);
      }
    } finally {
      signing.stop();
      if (this.timer) this.timer.hidden = true;
      this.setBusy(false);
    }
  }

  prepareDownloads({ certificateDer, keyFile, info }) {
    const blobUrl = (bytes, type) => {
      const url = URL.createObjectURL(new Blob([bytes], { type }));
      this.urls.push(url);
      return url;
    };
    const folder = npkiFolder(subjectDnFolderName(info.parsed)).replace(/\/+$/, "");
    const zip = makeZip([
      { name: `${folder}/signCert.der`, data: certificateDer },
      { name: `${folder}/signPri.key`, data: keyFile },
    ]);
    const zipName = `NPKI-${info.serial}.zip`;
    const zipLink = this.root.querySelector("[data-certissue-zip]");
    zipLink.href = blobUrl(zip, "application/zip");
    zipLink.download = zipName;
    zipLink.textContent = zipName;
    const certLink = this.root.querySelector("[data-certissue-cert]");
    certLink.href = blobUrl(certificateDer, "application/pkix-cert");
    const keyLink = this.root.querySelector("[data-certissue-key]");
    keyLink.href = blobUrl(keyFile, "application/octet-stream");
  }

  showDone({ info, response }, storage) {
    const set = (selector, text) => {
      const element = this.root.querySelector(selector);
      if (element) element.textContent = text;
    };
    set("[data-certissue-name]", info.name);
    set("[data-certissue-subject]", response.subject || "");
    set("[data-certissue-serial]", info.serial);
    set("[data-certissue-expiry]", info.expires);
    set("[data-certissue-stored]", this.texts[storage === "disk" ? "stored-disk" : "stored-browser"]);
    const login = this.root.querySelector("[data-certissue-login]");
    const target = this.root.dataset.loginPageUrl || response.redirect;
    if (login && typeof target === "string" && target.startsWith("/") && !target.startsWith("//")) login.href = target;

    const steps = [...this.root.querySelectorAll(".steps__item")];
    steps.forEach((item, index) => {
      const last = index === steps.length - 1;
      item.classList.toggle("steps__item--done", !last);
      item.classList.toggle("steps__item--current", last);
    });
    this.root.classList.add("card--done");
    this.setup.hidden = true;
    this.password.value = "";
    this.confirm.value = "";
    this.done.hidden = false;
    this.root.querySelector("[data-certissue-title]")?.focus();
  }
}

for (const root of document.querySelectorAll("[data-cert-issue]")) new IssuancePage(root);
