// 인증서 가져오기 (the receiving device, e.g. the phone): DESIGN.md §3 "Device copy",
// protocol v2 (certificates/services/copy.py): commit, reveal, compare, then seal.
//
// 1. make an ECDH key pair here (copy.js; the private key cannot leave this
//    page) and open a copy session with a commitment to the public key only:
//    the bank answers with a token, an 8-digit number and the QR code of the
//    sending link (which carries the commitment in its fragment);
// 2. poll until a sender has joined with its key; only then reveal ours, and
//    show the confirmation code derived from both keys, to compare with the
//    sender's screen ([코드가 달라요 (취소)] ends the copy for both);
// 3. once the person confirmed on the sender and it uploaded: download once,
//    open, check, show the certificate; [이 기기에 저장] stores it in this
//    browser's certificate store, [저장하지 않음] keeps nothing.
// A reload starts over: the private key lives only in this page's memory.

import { confirmationCode, createReceiver, formatConfirmationCode, openFromSender, sameBytes } from "../crypto/copy.js";
import { decode, TAG } from "../crypto/der.js";
import { describeCertificate, readTexts } from "./cert-common.js";
import { fromBase64, postForm, RequestError, toBase64 } from "./http.js";
import { saveCertificate } from "./keystore.js";

const POLL_MS = 2000;
const DEFAULT_TEXTS = {
  expired: "인증서 복사 시간(3분)이 지났습니다. [다시 시작]을 눌러 새 번호를 받으세요.",
  refused: "인증서 복사를 취소했습니다. 이 기기에는 아무것도 저장하지 않았습니다.",
  cancelled: "보내는 기기에서 인증서 복사를 취소했습니다. 이 기기에는 아무것도 저장하지 않았습니다.",
  tampered: "전송받은 인증서를 열 수 없습니다. 이 기기에는 아무것도 저장하지 않았습니다.",
  unreadable: "전송받은 인증서를 읽을 수 없습니다. 이 기기에는 아무것도 저장하지 않았습니다.",
  "store-failed": "브라우저 인증서 저장소에 저장하지 못했습니다.",
  generic: "인증서를 가져오지 못했습니다. 처음부터 다시 시작해 주세요.",
};

/** "12345678" → "1234 5678". */
function formatNumber(number) {
  return `${number.slice(0, 4)} ${number.slice(4)}`;
}

function clock(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** The QR code the server rendered (SVG markup, no script), parsed rather than assigned as HTML. */
function svgNode(markup) {
  const doc = new DOMParser().parseFromString(markup, "image/svg+xml");
  const svg = doc.documentElement;
  if (svg.nodeName.toLowerCase() !== "svg" || doc.querySelector("parsererror, script")) return null;
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-hidden", "true");
  return document.importNode(svg, true);
}

class CopyReceiver {
  constructor(root) {
    this.root = root;
    this.urls = root.dataset;
    this.texts = readTexts(root, "template[data-copy-texts]", DEFAULT_TEXTS);
    this.sections = Object.fromEntries(
      ["starting", "waiting", "compare", "confirm", "done", "ended"].map((name) => [
        name,
        root.querySelector(`[data-copy-${name}]`),
      ]),
    );
    this.error = root.querySelector("[data-copy-error]");
    this.refuseButton = root.querySelector("[data-copy-refuse]");
    this.accept = root.querySelector("[data-copy-accept]");
    this.discard = root.querySelector("[data-copy-discard]");
    this.refuseButton.addEventListener("click", () => this.cancel());
    this.accept.addEventListener("click", () => this.store());
    this.discard.addEventListener("click", () => this.end(this.texts.refused));
    root.querySelector("[data-copy-restart]").addEventListener("click", () => this.start());
    this.run = 0;
  }

  show(name) {
    for (const [key, section] of Object.entries(this.sections)) section.hidden = key !== name;
  }

  showError(message) {
    this.error.textContent = message || "";
    this.error.hidden = !message;
  }

  /** Forget the key pair, what was received, the timers. */
  forget() {
    this.run++; // whatever is still in flight (a status poll) no longer counts
    this.stopTimers();
    this.receiver = null;
    this.senderPublicKey = null;
    this.received = null;
  }

  end(message) {
    this.forget();
    this.root.querySelector("[data-copy-ended-message]").textContent = message;
    this.showError("");
    this.show("ended");
  }

  stopTimers() {
    clearInterval(this.ticker);
    clearTimeout(this.poller);
  }

  post(url, fields = {}) {
    return postForm(url, { token: this.token, ...fields }, { root: this.root });
  }

  async start() {
    this.forget();
    const run = this.run;
    this.showError("");
    this.show("starting");
    try {
      const receiver = await createReceiver();
      const opened = await postForm(
        this.urls.openUrl,
        { receiver_commitment: toBase64(receiver.commitment) },
        { root: this.root },
      );
      if (run !== this.run) return;
      this.receiver = receiver;
      this.token = opened.token;
      this.root.querySelector("[data-copy-number]").textContent = formatNumber(opened.number);
      const figure = this.root.querySelector("[data-copy-qr]");
      const svg = svgNode(opened.qr_svg);
      figure.replaceChildren(...(svg ? [svg] : []));
      this.startCountdown(opened.expires_in);
      this.show("waiting");
      this.poll(run);
    } catch (error) {
      if (run === this.run) this.end(error instanceof RequestError ? error.message : this.texts.generic);
    }
  }

  startCountdown(seconds) {
    const deadline = Date.now() + seconds * 1000;
    const outputs = this.root.querySelectorAll("[data-copy-countdown]");
    const tick = () => {
      const left = (deadline - Date.now()) / 1000;
      for (const output of outputs) output.textContent = clock(left);
      if (left <= 0) this.end(this.texts.expired);
    };
    tick();
    this.ticker = setInterval(tick, 1000);
  }

  poll(run) {
    this.poller = setTimeout(async () => {
      if (run !== this.run) return;
      try {
        const status = await this.post(this.urls.statusUrl);
        if (run !== this.run) return;
        if (!this.senderPublicKey && (status.state === "joined" || status.state === "revealed")) {
          // "revealed" without our having seen the answer: our reveal went
          // through but its response was lost (the server accepts only the
          // committed key, so what it holds is ours).
          await this.reveal(fromBase64(status.sender_public_key || ""), { sent: status.state === "revealed" });
          if (run !== this.run) return;
        } else if (!this.senderPublicKey && status.state !== "waiting") {
          // Sent before this screen ever showed a code: do not take it.
          await this.post(this.urls.cancelUrl).catch(() => {});
          this.end(this.texts.generic);
          return;
        } else if (status.state === "uploaded") {
          await this.receive(run);
          return;
        }
        this.poll(run);
      } catch (error) {
        if (run !== this.run) return;
        if (error instanceof RequestError && error.status && error.status !== 503) {
          const texts = { expired: this.texts.expired, cancelled: this.texts.cancelled };
          this.end(texts[error.code] || error.message);
        } else {
          this.poll(run); // a network hiccup: keep trying until the countdown ends
        }
      }
    }, POLL_MS);
  }

  /** A sender joined with its key: now, and only now, reveal ours and show the code. */
  async reveal(senderPublicKey, { sent = false } = {}) {
    if (!sent) await this.post(this.urls.revealUrl, { receiver_public_key: toBase64(this.receiver.publicKey) });
    this.senderPublicKey = senderPublicKey;
    const code = await confirmationCode(this.receiver.publicKey, senderPublicKey);
    this.root.querySelector("[data-copy-code]").textContent = formatConfirmationCode(code);
    this.refuseButton.disabled = false;
    this.show("compare");
  }

  /** The sender confirmed and uploaded: download once, open, show what came. */
  async receive(run) {
    let opened;
    try {
      const sealed = await this.post(this.urls.downloadUrl);
      // The key we compared is the key we decrypt with: a different one here
      // would mean the relay changed it after the comparison.
      const senderPublicKey = fromBase64(sealed.sender_public_key);
      if (!sameBytes(senderPublicKey, this.senderPublicKey)) {
        this.end(this.texts.tampered);
        return;
      }
      opened = await openFromSender({
        receiver: this.receiver,
        senderPublicKey,
        token: this.token,
        ciphertext: fromBase64(sealed.ciphertext),
      });
    } catch (error) {
      if (run !== this.run) return;
      if (error?.name === "CopyDecryptError") this.end(this.texts.tampered);
      else this.end(error instanceof RequestError ? error.message : this.texts.generic);
      return;
    }
    if (run !== this.run) return;
    // Downloaded: the relay holds nothing more, its countdown no longer matters.
    this.stopTimers();
    // Sanity: a certificate we can read and a key file that is a DER structure
    // (the password-encrypted PKCS#8; it opens only with the password, later).
    let info;
    try {
      info = describeCertificate(opened.certificateDer);
      if (!opened.keyFile.length || decode(opened.keyFile).tag !== TAG.SEQUENCE) throw new Error("key file");
    } catch {
      this.end(this.texts.unreadable);
      return;
    }
    this.received = { info, certificateDer: opened.certificateDer, keyFile: opened.keyFile };
    const set = (name, value) => {
      for (const node of this.root.querySelectorAll(`[data-copy-${name}]`)) node.textContent = value;
    };
    set("name", info.name);
    set("issuer", info.issuer);
    set("expiry", info.expires);
    set("serial", info.serial);
    this.accept.disabled = false;
    this.discard.disabled = false;
    this.show("confirm");
    this.accept.focus();
  }

  /** [이 기기에 저장]. */
  async store() {
    const received = this.received;
    if (!received) return;
    this.accept.disabled = true;
    this.discard.disabled = true;
    try {
      await saveCertificate({ serial: received.info.serial, certificateDer: received.certificateDer, keyFile: received.keyFile });
    } catch {
      this.end(this.texts["store-failed"]);
      return;
    }
    this.forget();
    this.show("done");
  }

  /** [코드가 달라요 (취소)]: the copy ends for both devices; nothing is kept. */
  async cancel() {
    this.refuseButton.disabled = true;
    try {
      await this.post(this.urls.cancelUrl);
    } catch {
      // Nothing was stored here either way; the relay forgets it on expiry.
    }
    this.end(this.texts.refused);
  }
}

for (const root of document.querySelectorAll("[data-copy-receive]")) {
  new CopyReceiver(root).start();
}
