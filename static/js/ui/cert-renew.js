// 공동인증서 갱신 (templates/certificates/renew.html).
//
// The customer unlocks the certificate being renewed in the 인증서 선택창
// (which gets the "renew" challenge as it opens and counts down its 서명
// 유효시간), then the browser:
//   1. generates a new RSA key pair                          (새 키 생성)
//   2. draws a new R                                          (R 생성)
//   3. signs that challenge twice: with the
//      old key (it is this customer's certificate) and with
//      the new key (proof of possession)                      (갱신 요청 서명)
//   4. sends the old certificate, both signatures, the new
//      public key and R; receives the new certificate         (새 인증서 받기)
//   5. encrypts the new key under the new password, or the
//      current one when none is given                         (비밀번호로 키 암호화)
//   6. keeps it in the browser (replacing the old entry)
//      and/or offers it as files                              (저장)
// No password and no private key in clear ever leaves this page.

import { DEFAULT_ITERATIONS, encryptKeyFile } from "../crypto/npki.js";
import { generateKeyPair, randomR, sign } from "../crypto/signer.js";
import {
  BlobUrls,
  describeCertificate,
  equalBytes,
  npkiZip,
  PasswordPair,
  ProgressList,
  readTexts,
  sameSerial,
} from "./cert-common.js";
import { readChallenge } from "./challenge-timer.js";
import { openCertificateWindow } from "./certwindow.js";
import { fromBase64, postForm, RequestError, toBase64 } from "./http.js";
import { deleteCertificate, getCertificate, saveCertificate } from "./keystore.js";

const DEFAULT_TEXTS = {
  done: "완료",
  failed: "실패",
  "rule-ok": "사용할 수 있는 비밀번호입니다.",
  mismatch: "비밀번호가 일치하지 않습니다.",
  match: "비밀번호가 일치합니다.",
  lead: "갱신할 인증서를 선택하고 비밀번호를 입력해 주세요.",
  "wrong-certificate": "선택한 인증서가 갱신 대상과 다릅니다.",
  generic: "인증서를 갱신하지 못했습니다. 잠시 후 다시 시도해 주세요.",
  "key-differs": "갱신된 인증서의 공개키가 생성한 키와 다릅니다. 다시 시도해 주세요.",
  "stored-browser": "브라우저",
  "stored-disk": "하드디스크·이동식디스크 (파일 내려받기)",
  "renewed-not-stored": "인증서는 갱신되었지만 브라우저에 저장하지 못했습니다. 아래 파일을 내려받아 보관해 주세요.",
};

class RenewalPage {
  constructor(root) {
    this.root = root;
    this.texts = readTexts(root, "template[data-certrenew-texts]", DEFAULT_TEXTS);
    const $ = (selector) => root.querySelector(selector);
    this.form = $("[data-certrenew-form]");
    this.error = $("[data-certrenew-error]");
    this.submit = $("[data-certrenew-submit]");
    this.setup = $("[data-certrenew-setup]");
    this.done = $("[data-certrenew-done]");
    this.progress = new ProgressList($("[data-certrenew-progress]"), this.texts);
    this.passwords = new PasswordPair({
      password: $("[data-certrenew-password]"),
      confirm: $("[data-certrenew-confirm]"),
      rule: $("[data-certrenew-rule]"),
      match: $("[data-certrenew-match]"),
      texts: this.texts,
      optional: true,
    });
    this.urls = new BlobUrls();
    this.busy = false;

    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.renew();
    });
    // The button ships disabled: without this script it would submit the form
    // natively (a GET) instead of renewing.
    this.submit.disabled = false;
    window.addEventListener("beforeunload", (event) => {
      if (this.busy) event.preventDefault();
    });
  }

  showError(message) {
    this.error.textContent = message || "";
    this.error.hidden = !message;
  }

  setBusy(busy) {
    this.busy = busy;
    this.root.setAttribute("aria-busy", String(busy));
    for (const fieldset of this.form.querySelectorAll("[data-certrenew-fields]")) fieldset.disabled = busy;
    this.submit.disabled = busy;
  }

  async renew() {
    if (this.busy) return;
    this.showError("");
    if (this.passwords.validate()) return;
    const newPassword = this.passwords.password.value; // "" = keep the current one
    const storage = this.form.querySelector("input[name=storage]:checked")?.value === "disk" ? "disk" : "browser";
    const { challengeUrl, renewUrl, serial: targetSerial } = this.root.dataset;
    const modulusLength = Number.parseInt(this.root.dataset.modulusLength ?? "", 10) || 2048;

    this.setBusy(true);
    let chosen;
    try {
      chosen = await openCertificateWindow(this.root, {
        returnPassword: true,
        cloud: false,
        lead: this.texts.lead,
        challenge: async () => readChallenge(await postForm(challengeUrl, { purpose: "renew" }, { root: this.root })),
      });
    } catch {
      chosen = null;
      this.showError(this.texts.generic);
    }
    if (!chosen) {
      this.setBusy(false);
      return;
    }
    // SECURITY: the server checks this too; here it saves a pointless round trip
    // and keeps the wrong browser entry from being replaced.
    if (!sameSerial(chosen.serial, targetSerial)) {
      this.setBusy(false);
      this.showError(this.texts["wrong-certificate"]);
      return;
    }
    const password = newPassword || chosen.password;
    chosen.password = "";

    this.progress.reset();
    let keys = null;
    let renewed = null; // once the CA has issued, a later failure must not hide the certificate
    try {
      keys = await this.progress.step("keys", () => generateKeyPair({ modulusLength }));
      const r = await this.progress.step("r", async () => randomR());
      const signed = await this.progress.step("sign", async () => {
        const { token, toSign } = chosen.challenge;
        // The old key says "this is my certificate"; the new key proves possession.
        const [signature, newSignature] = await Promise.all([sign(chosen.signingKey, toSign), sign(keys.signingKey, toSign)]);
        return { challenge: token, signature, newSignature };
      });
      const response = await this.progress.step("request", () =>
        postForm(
          renewUrl,
          {
            challenge: signed.challenge,
            certificate: toBase64(chosen.certificateDer),
            signature: toBase64(signed.signature),
            public_key: toBase64(keys.publicKeySpki),
            new_signature: toBase64(signed.newSignature),
            r: toBase64(r),
          },
          { root: this.root },
        ),
      );
      const certificateDer = fromBase64(response.certificate);
      const info = describeCertificate(certificateDer);
      // SECURITY: keep only a certificate for the key we just made.
      if (!equalBytes(info.parsed.subjectPublicKeyInfo.bytes, keys.publicKeySpki)) {
        throw new RequestError(this.texts["key-differs"]);
      }
      renewed = { certificateDer, info, response };

      const keyFile = await this.progress.step("encrypt", () =>
        encryptKeyFile({ privateKeyPkcs8: keys.privateKeyPkcs8, r, password, iterations: DEFAULT_ITERATIONS }),
      );
      keys.privateKeyPkcs8.fill(0); // only the encrypted file remains
      renewed.keyFile = keyFile;

      await this.progress.step("store", async () => {
        this.prepareDownloads(renewed);
        if (storage === "browser") await saveCertificate({ serial: info.serial, certificateDer, keyFile });
        // The old certificate has been replaced at the bank: drop its browser copy.
        if (!sameSerial(chosen.serial, info.serial) && (await getCertificate(chosen.serial))) {
          await deleteCertificate(chosen.serial);
        }
      });
      this.showDone(renewed, storage);
      if (storage === "disk") this.root.querySelector("[data-certrenew-zip]").click();
    } catch (error) {
      if (keys?.privateKeyPkcs8 && !renewed?.keyFile) keys.privateKeyPkcs8.fill(0);
      if (renewed?.keyFile) {
        // Renewed and encrypted, but the browser store failed: the files still work.
        this.showDone(renewed, "disk");
        this.showError(this.texts["renewed-not-stored"]);
        this.done.prepend(this.error);
      } else {
        this.showError(error instanceof RequestError ? error.message : this.texts.generic);
      }
    } finally {
      this.setBusy(false);
    }
  }

  prepareDownloads({ certificateDer, keyFile, info }) {
    const { bytes } = npkiZip({ certificateDer, keyFile, parsed: info.parsed });
    const zipName = `NPKI-${info.serial}.zip`;
    const zipLink = this.root.querySelector("[data-certrenew-zip]");
    zipLink.href = this.urls.make(bytes, "application/zip");
    zipLink.download = zipName;
    zipLink.textContent = zipName;
    this.root.querySelector("[data-certrenew-cert]").href = this.urls.make(certificateDer, "application/pkix-cert");
    this.root.querySelector("[data-certrenew-key]").href = this.urls.make(keyFile);
  }

  showDone({ info }, storage) {
    const set = (selector, text) => {
      const element = this.root.querySelector(selector);
      if (element) element.textContent = text;
    };
    set("[data-certrenew-name]", info.name);
    set("[data-certrenew-serial]", info.serial);
    set("[data-certrenew-expiry]", info.expires);
    set("[data-certrenew-stored]", this.texts[storage === "disk" ? "stored-disk" : "stored-browser"]);
    const manage = this.root.querySelector("[data-certrenew-manage]");
    const target = this.root.dataset.manageUrl;
    if (manage && typeof target === "string" && target.startsWith("/") && !target.startsWith("//")) manage.href = target;
    // The facts about the old certificate no longer apply.
    const current = this.root.querySelector("[data-certrenew-current]");
    if (current) current.hidden = true;
    this.root.classList.add("card--done");
    this.setup.hidden = true;
    this.passwords.reset();
    this.done.hidden = false;
    this.root.querySelector("[data-certrenew-title]")?.focus();
  }
}

for (const root of document.querySelectorAll("[data-cert-renew]")) {
  // Not renewable: the page only shows why; there is no form to drive.
  if (root.querySelector("[data-certrenew-form]")) new RenewalPage(root);
}
