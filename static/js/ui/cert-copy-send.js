// 인증서 내보내기 (the sending device, e.g. the PC): DESIGN.md §3 "Device copy".
//
// 1. find the receiver's copy session by the 8-digit number it shows, or by
//    the token in the QR link's fragment (#t=…, never sent to the server);
// 2. the 인증서 선택창 picks the certificate and checks its password on this
//    device (the password is never sent); copy.js seals signCert.der and the
//    still-encrypted signPri.key for the receiver's public key; upload once;
// 3. show the confirmation code, which the receiver compares before it
//    accepts, and follow the receiver's answer.

import { confirmationCode, formatConfirmationCode, sealForReceiver } from "../crypto/copy.js";
import { readTexts } from "./cert-common.js";
import { fromBase64, openCertificateWindow, postForm, RequestError, toBase64 } from "./certwindow.js";

const POLL_MS = 2000;
const DEFAULT_TEXTS = {
  received: "받는 기기에서 인증서를 가져갔습니다. 복사가 끝났습니다.",
  cancelled: "받는 기기에서 인증서 복사를 취소했습니다.",
  expired: "인증서 복사 시간(3분)이 지났습니다. 받는 기기에서 다시 시작해 주세요.",
  "bad-number": "인증번호 8자리를 정확히 입력해 주세요.",
  generic: "인증서를 보내지 못했습니다. 잠시 후 다시 시도해 주세요.",
  "choose-lead": "받는 기기로 보낼 인증서를 선택하고 비밀번호를 입력해 주세요.",
};

function clock(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** The token of a QR link (#t=…), removed from the address bar once read. */
function tokenFromFragment() {
  const match = /^#t=([A-Za-z0-9_-]{20,64})$/.exec(window.location.hash);
  if (!match) return "";
  history.replaceState(null, "", window.location.pathname + window.location.search);
  return match[1];
}

class CopySender {
  constructor(root) {
    this.root = root;
    this.urls = root.dataset;
    this.texts = readTexts(root, "template[data-copy-texts]", DEFAULT_TEXTS);
    this.sections = Object.fromEntries(["find", "choose", "sent", "ended"].map((n) => [n, root.querySelector(`[data-copy-${n}]`)]));
    this.error = root.querySelector("[data-copy-error]");
    this.number = root.querySelector("[data-copy-number-input]");
    this.findButton = root.querySelector("[data-copy-find-submit]");
    this.chooseButton = root.querySelector("[data-copy-choose-start]");
    this.run = 0;
    this.sections.find.addEventListener("submit", (event) => {
      event.preventDefault();
      this.find({ number: this.number.value });
    });
    this.number.addEventListener("input", () => {
      // "12345678" → "1234 5678" as the receiver shows it.
      const digits = this.number.value.replace(/\D/g, "").slice(0, 8);
      this.number.value = digits.length > 4 ? `${digits.slice(0, 4)} ${digits.slice(4)}` : digits;
    });
    this.chooseButton.addEventListener("click", () => this.send());
    root.querySelector("[data-copy-restart]").addEventListener("click", () => {
      this.number.value = "";
      delete this.sections.sent.dataset.finished;
      this.showError("");
      this.show("find");
      this.number.focus();
    });
    this.findButton.disabled = false; // ships disabled: nothing would happen without this script
    const token = tokenFromFragment();
    if (token) this.find({ token });
  }

  show(name) {
    for (const [key, section] of Object.entries(this.sections)) section.hidden = key !== name;
  }

  showError(message) {
    this.error.textContent = message || "";
    this.error.hidden = !message;
  }

  end(message) {
    this.run = (this.run ?? 0) + 1; // a status poll still in flight no longer counts
    clearInterval(this.ticker);
    clearTimeout(this.poller);
    this.root.querySelector("[data-copy-ended-message]").textContent = message;
    this.showError("");
    this.show("ended");
  }

  async find(fields) {
    this.showError("");
    if ("number" in fields && fields.number.replace(/\D/g, "").length !== 8) {
      this.showError(this.texts["bad-number"]);
      this.number.focus();
      return;
    }
    this.findButton.disabled = true;
    try {
      const found = await postForm(this.urls.findUrl, fields, { root: this.root });
      this.token = found.token;
      this.receiverPublicKey = fromBase64(found.receiver_public_key);
      this.startCountdown(found.expires_in);
      this.chooseButton.disabled = false;
      this.show("choose");
      this.chooseButton.focus();
    } catch (error) {
      this.showError(error instanceof RequestError ? error.message : this.texts.generic);
    } finally {
      this.findButton.disabled = false;
    }
  }

  startCountdown(seconds) {
    clearInterval(this.ticker);
    const deadline = Date.now() + seconds * 1000;
    const output = this.root.querySelector("[data-copy-countdown]");
    const tick = () => {
      const left = (deadline - Date.now()) / 1000;
      output.textContent = clock(left);
      if (left <= 0 && !this.sections.sent.dataset.finished) this.end(this.texts.expired);
    };
    tick();
    this.ticker = setInterval(tick, 1000);
  }

  async send() {
    this.showError("");
    const chosen = await openCertificateWindow(this.root, { lead: this.texts["choose-lead"] });
    if (!chosen) return;
    this.chooseButton.disabled = true;
    try {
      const sealed = await sealForReceiver({
        receiverPublicKey: this.receiverPublicKey,
        token: this.token,
        certificateDer: chosen.certificateDer,
        keyFile: chosen.keyFile,
      });
      await postForm(
        this.urls.uploadUrl,
        { token: this.token, sender_public_key: toBase64(sealed.senderPublicKey), ciphertext: toBase64(sealed.ciphertext) },
        { root: this.root },
      );
      const code = await confirmationCode(this.receiverPublicKey, sealed.senderPublicKey);
      this.root.querySelector("[data-copy-code]").textContent = formatConfirmationCode(code);
      this.show("sent");
      this.poll();
    } catch (error) {
      this.chooseButton.disabled = false;
      if (error instanceof RequestError && error.status >= 400 && error.status !== 400) this.end(error.message);
      else this.showError(error instanceof RequestError ? error.message : this.texts.generic);
    }
  }

  poll(run = this.run) {
    this.poller = setTimeout(async () => {
      if (run !== this.run) return;
      try {
        const status = await postForm(this.urls.sentStatusUrl, { token: this.token }, { root: this.root });
        if (run !== this.run) return;
        if (status.state === "downloaded") {
          clearInterval(this.ticker);
          this.sections.sent.dataset.finished = "1";
          this.root.querySelector("[data-copy-sent-state]").textContent = this.texts.received;
          return;
        }
        this.poll(run);
      } catch (error) {
        if (run !== this.run) return;
        if (error instanceof RequestError && error.status) {
          this.end(error.code === "cancelled" ? this.texts.cancelled : error.code === "expired" ? this.texts.expired : error.message);
        } else {
          this.poll(run);
        }
      }
    }, POLL_MS);
  }
}

for (const root of document.querySelectorAll("[data-copy-send]")) new CopySender(root);
