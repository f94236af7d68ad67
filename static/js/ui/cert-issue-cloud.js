// 금융인증서 발급 (templates/certificates/issue_cloud.html).
//
// After identity verification (DESIGN.md "Cloud certificate"):
//   1. the customer sets a 6-digit PIN on the shuffled keypad (twice; weak PINs refused)
//   2. the bank hands out the issuance challenge, a per-certificate server
//      secret and salts (prepare); the challenge's 서명 유효시간 shows on
//      the page while it is being signed
//   3. the browser generates an RSA key pair and R, signs the challenge with
//      the new key (proof of possession)                       (키 생성, 발급 요청 서명)
//   4. wraps the PKCS#8 key (with R) under a key derived from the PIN and the
//      server secret, and derives the PIN verifier              (암호화)
//   5. sends public key, signature, R, verifier and wrapped key (인증서 받기·클라우드 보관)
// The PIN and the private key in clear never leave this page.

import { pinVerifier, wrapKey } from "../crypto/cloud.js";
import { generateKeyPair, randomR, sign } from "../crypto/signer.js";
import { ProgressList, readTexts } from "./cert-common.js";
import { readChallenge, SigningChallenge } from "./challenge-timer.js";
import { fromBase64, postForm, RequestError, toBase64 } from "./http.js";
import { openPinPad } from "./pinpad.js";

const GENERIC_ERROR = "금융인증서를 발급하지 못했습니다. 잠시 후 다시 시도해 주세요.";

class CloudIssuancePage {
  constructor(root) {
    this.root = root;
    this.texts = readTexts(root, "template[data-cloudissue-texts]", {
      done: "완료",
      failed: "실패",
      "challenge-expired": "서명 유효시간이 지났습니다. 다시 시도해 주세요.",
    });
    const $ = (selector) => root.querySelector(selector);
    this.start = $("[data-cloudissue-start]");
    this.error = $("[data-cloudissue-error]");
    this.setup = $("[data-cloudissue-setup]");
    this.progress = new ProgressList($("[data-cloudissue-progress]"), this.texts);
    this.done = $("[data-cloudissue-done]");
    this.timer = $("[data-cloudissue-timer]");
    this.countdown = $("[data-cloudissue-countdown]");
    this.busy = false;
    this.start.addEventListener("click", () => this.run());
    this.start.disabled = false;
  }

  showError(message) {
    this.error.textContent = message || "";
    this.error.hidden = !message;
  }

  async run(error = "") {
    if (this.busy) return;
    this.showError("");
    const pin = await openPinPad(this.root, {
      title: this.texts["pin-title"],
      lead: this.texts["pin-lead"],
      confirm: true,
      error,
    });
    if (pin === null) return;
    this.busy = true;
    this.start.disabled = true;
    try {
      const certificate = await this.issue(pin);
      this.finish(certificate);
    } catch (failure) {
      const message = failure instanceof RequestError ? failure.message : GENERIC_ERROR;
      this.busy = false;
      this.start.disabled = false;
      if (failure instanceof RequestError && failure.code === "weak_pin") {
        this.run(message); // choose another PIN on a fresh (reshuffled) pad
        return;
      }
      this.showError(message);
    }
  }

  async issue(pin) {
    const root = this.root;
    this.progress.reset();
    let prepared = null;
    // The challenge comes with the key material; its time left shows while it is signed.
    const signing = new SigningChallenge({
      provider: async () => {
        prepared = await postForm(root.dataset.prepareUrl, {}, { root });
        return readChallenge(prepared);
      },
      countdown: this.countdown,
      onChange: (state) => {
        if (this.timer) this.timer.hidden = !["ready", "expired"].includes(state) || !signing.current?.expiresAt;
      },
    });
    try {
      await signing.load();
      if (!prepared) throw signing.error ?? new Error("prepare failed");
      return await this.issueWith(pin, prepared, signing);
    } finally {
      signing.stop();
      if (this.timer) this.timer.hidden = true;
    }
  }

  async issueWith(pin, prepared, signing) {
    const root = this.root;
    const { privateKeyPkcs8, publicKeySpki, signingKey } = await this.progress.step("keys", () => generateKeyPair());
    const r = randomR();
    try {
      const signature = await this.progress.step("sign", async () => {
        const current = await signing.ready();
        if (!current) throw new RequestError(this.texts["challenge-expired"]);
        return sign(signingKey, current.toSign);
      });
      const material = await this.progress.step("wrap", async () => {
        const params = { iterations: prepared.iterations };
        const verifier = await pinVerifier(pin, { ...params, verifierSalt: fromBase64(prepared.verifier_salt) });
        const wrapped = await wrapKey({
          privateKeyPkcs8,
          r,
          pin,
          serverSecret: fromBase64(prepared.server_secret),
          wrapSalt: fromBase64(prepared.wrap_salt),
          ...params,
        });
        return { verifier, wrapped };
      });
      return await this.progress.step("request", () =>
        postForm(
          root.dataset.issueUrl,
          {
            challenge: prepared.challenge,
            public_key: toBase64(publicKeySpki),
            signature: toBase64(signature),
            r: toBase64(r),
            verifier: toBase64(material.verifier),
            wrapped_key: toBase64(material.wrapped),
          },
          { root },
        ),
      );
    } finally {
      privateKeyPkcs8.fill(0); // only the wrapped copy leaves this function
      r.fill(0);
    }
  }

  finish(answer) {
    this.setup.hidden = true;
    this.root.querySelector("[data-cloudissue-subject]").textContent = answer.subject;
    this.root.querySelector("[data-cloudissue-serial]").textContent = answer.serial;
    this.root.querySelector("[data-cloudissue-expiry]").textContent = answer.not_after;
    this.done.hidden = false;
    this.root.querySelector("[data-cloudissue-title]").focus();
  }
}

for (const root of document.querySelectorAll("[data-cloud-issue]")) new CloudIssuancePage(root);
