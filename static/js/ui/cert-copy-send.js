// 인증서 내보내기 (the sending device, e.g. the PC): DESIGN.md §3 "Device copy",
// protocol v2 (certificates/services/copy.py): commit, reveal, compare, then seal.
//
// 1. find the receiver's copy session by the 8-digit number it shows, or by
//    the QR link's fragment (#t=<token>&c=<commitment>, never sent to the
//    server); the bank answers with the receiver's commitment, which on the
//    QR path must equal the fragment's;
// 2. the 인증서 선택창 (공동인증서 only: a 금융인증서 is never copied) picks
//    the certificate and checks its password on this device (the password is
//    never sent); then this page makes its ECDH key and joins the copy;
// 3. wait for the receiver to reveal its key, check it against the
//    commitment here, and show the confirmation code;
// 4. only on [확인 코드가 같습니다 · 보내기] seal signCert.der and the
//    still-encrypted signPri.key for the receiver's key and upload once;
//    [다릅니다 · 취소] cancels, and nothing is sealed.
// A reload starts over: the ECDH private key lives only in this page's memory.

import {
  CopyCommitmentError,
  commitmentMatches,
  confirmationCode,
  createSender,
  formatConfirmationCode,
  sameBytes,
  sealForReceiver,
} from "../crypto/copy.js";
import { readTexts } from "./cert-common.js";
import { openCertificateWindow } from "./certwindow.js";
import { fromBase64, postForm, RequestError, toBase64 } from "./http.js";

const POLL_MS = 2000;
const COMMITMENT_BYTES = 32;
const DEFAULT_TEXTS = {
  sent: "인증서를 암호화해 보냈습니다. 받는 기기에서 가져가기를 기다리는 중입니다.",
  received: "받는 기기에서 인증서를 가져갔습니다. 복사가 끝났습니다.",
  cancelled: "받는 기기에서 인증서 복사를 취소했습니다.",
  refused: "인증서 복사를 취소했습니다. 인증서를 보내지 않았습니다.",
  expired: "인증서 복사 시간(3분)이 지났습니다. 받는 기기에서 다시 시작해 주세요.",
  "bad-number": "인증번호 8자리를 정확히 입력해 주세요.",
  "qr-unreadable": "QR 코드 주소가 올바르지 않습니다. 받는 기기의 QR 코드를 다시 스캔하거나 인증번호를 입력해 주세요.",
  "qr-mismatch": "QR 코드의 확인 값이 은행 서버가 알려 준 값과 다릅니다. 인증서를 보내지 않았습니다. 받는 기기에서 다시 시작해 주세요.",
  "key-mismatch":
    "받는 기기의 키가 처음에 약속한 값과 다릅니다. 중간에서 키가 바뀌었을 수 있어 인증서를 보내지 않았습니다. 받는 기기에서 다시 시작해 주세요.",
  generic: "인증서를 보내지 못했습니다. 잠시 후 다시 시도해 주세요.",
  "choose-lead": "받는 기기로 보낼 인증서를 선택하고 비밀번호를 입력해 주세요.",
};

function clock(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/**
 * The QR link's fragment (#t=<token>&c=<base64url commitment>), removed from
 * the address bar once read: {token, commitment}, null without a fragment,
 * {invalid: true} for one that is not a copy link.
 */
function linkFromFragment() {
  const hash = window.location.hash;
  if (!hash) return null;
  history.replaceState(null, "", window.location.pathname + window.location.search);
  const match = /^#t=([A-Za-z0-9_-]{20,64})&c=([A-Za-z0-9_-]{43})$/.exec(hash);
  if (!match) return { invalid: true };
  return { token: match[1], commitment: fromBase64(match[2]) };
}

class CopySender {
  constructor(root) {
    this.root = root;
    this.urls = root.dataset;
    this.texts = readTexts(root, "template[data-copy-texts]", DEFAULT_TEXTS);
    this.sections = Object.fromEntries(
      ["find", "choose", "waiting", "compare", "ended"].map((n) => [n, root.querySelector(`[data-copy-${n}]`)]),
    );
    this.error = root.querySelector("[data-copy-error]");
    this.number = root.querySelector("[data-copy-number-input]");
    this.findButton = root.querySelector("[data-copy-find-submit]");
    this.chooseButton = root.querySelector("[data-copy-choose-start]");
    this.confirmButton = root.querySelector("[data-copy-confirm]");
    this.mismatchButton = root.querySelector("[data-copy-mismatch]");
    this.decide = root.querySelector("[data-copy-decide]");
    this.sentState = root.querySelector("[data-copy-sent-state]");
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
    this.chooseButton.addEventListener("click", () => this.choose());
    this.confirmButton.addEventListener("click", () => this.send());
    this.mismatchButton.addEventListener("click", () => this.refuse());
    root.querySelector("[data-copy-restart]").addEventListener("click", () => {
      this.number.value = "";
      this.showError("");
      this.show("find");
      this.number.focus();
    });
    this.findButton.disabled = false; // ships disabled: nothing would happen without this script
    const link = linkFromFragment();
    if (link?.invalid) this.showError(this.texts["qr-unreadable"]);
    else if (link) this.find({ token: link.token }, link.commitment);
  }

  show(name) {
    for (const [key, section] of Object.entries(this.sections)) section.hidden = key !== name;
  }

  showError(message) {
    this.error.textContent = message || "";
    this.error.hidden = !message;
  }

  /** Forget everything of the current copy: keys, the chosen files, timers. */
  reset() {
    this.run++; // whatever is still in flight (a status poll) no longer counts
    clearInterval(this.ticker);
    clearTimeout(this.poller);
    this.token = null;
    this.commitment = null;
    this.sender = null;
    this.chosen = null;
    this.receiverPublicKey = null;
    this.finished = false;
  }

  end(message) {
    this.reset();
    this.root.querySelector("[data-copy-ended-message]").textContent = message;
    this.showError("");
    this.show("ended");
  }

  async find(fields, qrCommitment = null) {
    this.showError("");
    if ("number" in fields && fields.number.replace(/\D/g, "").length !== 8) {
      this.showError(this.texts["bad-number"]);
      this.number.focus();
      return;
    }
    this.reset();
    const run = this.run;
    this.findButton.disabled = true;
    try {
      const found = await postForm(this.urls.findUrl, fields, { root: this.root });
      if (run !== this.run) return;
      const commitment = fromBase64(found.receiver_commitment || "");
      if (commitment.length !== COMMITMENT_BYTES) throw new Error("commitment");
      // SECURITY: on the QR path the commitment reached this page in the QR
      // itself, past the server (a fragment is never sent): the server's must be the same.
      if (qrCommitment && !sameBytes(qrCommitment, commitment)) {
        this.end(this.texts["qr-mismatch"]);
        return;
      }
      this.token = found.token;
      this.commitment = commitment;
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
    const outputs = this.root.querySelectorAll("[data-copy-countdown]");
    const tick = () => {
      const left = (deadline - Date.now()) / 1000;
      for (const output of outputs) output.textContent = clock(left);
      if (left <= 0 && !this.finished) this.end(this.texts.expired);
    };
    tick();
    this.ticker = setInterval(tick, 1000);
  }

  /** The certificate (password checked here), then this page's key: join. */
  async choose() {
    this.showError("");
    const run = this.run;
    // A 금융인증서 stays in its cloud: only a 공동인증서's key file can be copied.
    const chosen = await openCertificateWindow(this.root, { cloud: false, lead: this.texts["choose-lead"] });
    if (!chosen || run !== this.run) return;
    if (!chosen.keyFile) {
      this.showError(this.texts.generic);
      return;
    }
    this.chooseButton.disabled = true;
    try {
      const sender = await createSender();
      await postForm(this.urls.joinUrl, { token: this.token, sender_public_key: toBase64(sender.publicKey) }, { root: this.root });
      if (run !== this.run) return;
      this.sender = sender;
      this.chosen = { certificateDer: chosen.certificateDer, keyFile: chosen.keyFile };
      this.show("waiting");
      this.poll(run);
    } catch (error) {
      if (run !== this.run) return;
      this.chooseButton.disabled = false;
      if (error instanceof RequestError && error.status > 400) this.end(error.message);
      else this.showError(error instanceof RequestError ? error.message : this.texts.generic);
    }
  }

  poll(run) {
    this.poller = setTimeout(async () => {
      if (run !== this.run) return;
      try {
        const status = await postForm(this.urls.sentStatusUrl, { token: this.token }, { root: this.root });
        if (run !== this.run) return;
        if (status.state === "downloaded") {
          clearInterval(this.ticker);
          this.finished = true;
          this.sentState.textContent = this.texts.received;
          return;
        }
        if (status.state === "revealed" && !this.receiverPublicKey) {
          if (!(await this.compare(fromBase64(status.receiver_public_key || "")))) return;
        }
        this.poll(run);
      } catch (error) {
        if (run !== this.run) return;
        if (error instanceof RequestError && error.status) {
          this.end(error.code === "cancelled" ? this.texts.cancelled : error.code === "expired" ? this.texts.expired : error.message);
        } else {
          this.poll(run); // a network hiccup: keep trying until the countdown ends
        }
      }
    }, POLL_MS);
  }

  /** The receiver revealed its key: check it here, then show the code. */
  async compare(receiverPublicKey) {
    // SECURITY: never trust the relay for this: the key must be the one the
    // receiver committed to before it could know ours.
    if (!(await commitmentMatches(this.commitment, receiverPublicKey))) {
      await this.cancelQuietly();
      this.end(this.texts["key-mismatch"]);
      return false;
    }
    this.receiverPublicKey = receiverPublicKey;
    const code = await confirmationCode(receiverPublicKey, this.sender.publicKey);
    this.root.querySelector("[data-copy-code]").textContent = formatConfirmationCode(code);
    this.decide.hidden = false;
    this.sentState.hidden = true;
    this.confirmButton.disabled = false;
    this.mismatchButton.disabled = false;
    this.show("compare");
    this.confirmButton.focus();
    return true;
  }

  /** [확인 코드가 같습니다 · 보내기]: seal for the compared key, upload once. */
  async send() {
    const run = this.run;
    this.confirmButton.disabled = true;
    this.mismatchButton.disabled = true;
    this.showError("");
    try {
      const sealed = await sealForReceiver({
        sender: this.sender,
        receiverPublicKey: this.receiverPublicKey,
        receiverCommitment: this.commitment,
        token: this.token,
        certificateDer: this.chosen.certificateDer,
        keyFile: this.chosen.keyFile,
      });
      this.chosen = null;
      await postForm(this.urls.uploadUrl, { token: this.token, ciphertext: toBase64(sealed.ciphertext) }, { root: this.root });
      if (run !== this.run) return;
      this.decide.hidden = true;
      this.sentState.textContent = this.texts.sent;
      this.sentState.hidden = false;
    } catch (error) {
      if (run !== this.run) return;
      // The chosen files are gone once sealed: whatever failed, this copy is over.
      if (error instanceof CopyCommitmentError) {
        await this.cancelQuietly();
        this.end(this.texts["key-mismatch"]);
      } else {
        this.end(error instanceof RequestError ? error.message : this.texts.generic);
      }
    }
  }

  /** [다릅니다 · 취소]: nothing was sealed; the copy ends for both devices. */
  async refuse() {
    this.confirmButton.disabled = true;
    this.mismatchButton.disabled = true;
    await this.cancelQuietly();
    this.end(this.texts.refused);
  }

  async cancelQuietly() {
    try {
      await postForm(this.urls.cancelUrl, { token: this.token }, { root: this.root });
    } catch {
      // Nothing was sent either way; the relay forgets the copy on expiry.
    }
  }
}

for (const root of document.querySelectorAll("[data-copy-send]")) new CopySender(root);
