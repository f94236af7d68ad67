// 금융인증서 PIN 입력: the shuffled on-screen keypad Korean banks show.
//
//   const pin = await openPinPad(root, {title, lead, confirm, error, checkWeak, birthDate});
//   // pin === null: the customer cancelled (×, Esc); else the six digits.
//
// `root` is the component that asks (or `document`): the pad is the
// <dialog data-pinpad> rendered by templates/includes/_pinpad.html, looked
// up inside `root` first, then in the whole page.
//
// - There is no text field: the PIN is entered only by pressing the ten
//   digit keys, whose order is shuffled (crypto.getRandomValues,
//   Fisher–Yates) on every open, after every completed entry and by the
//   재배열 key. The digits typed so far live in the closure of one opening
//   and are wiped when it ends.
// - Digits typed on a physical keyboard are ignored (a keylogger learns
//   nothing; banks' 보안 키패드 do the same); Tab, Enter and Space still
//   move between and press the on-screen keys.
// - The sixth digit submits. With `confirm`, the PIN is asked twice and a
//   mismatch starts over; with `checkWeak` (default: confirm) a PIN that
//   cloud.js checkPin() refuses is refused here with its reason before the
//   second entry. `error` shows a message on open (e.g. the server's
//   "PIN이 올바르지 않습니다. (2/5회 오류)" when the caller reopens the pad).
// - Accessible: the dialog is labelled by its title, each digit key reads
//   as its digit, and a polite live region says "6자리 중 3자리 입력".

import { checkPin, PIN_LENGTH } from "../crypto/cloud.js";

// Fallbacks when the template's <template data-pinpad-texts> is missing.
const DEFAULT_TEXTS = {
  title: "금융인증서 PIN 입력",
  lead: "PIN 6자리를 입력해 주세요.",
  "lead-again": "PIN을 한 번 더 입력해 주세요.",
  mismatch: "두 번 입력한 PIN이 서로 다릅니다. 처음부터 다시 입력해 주세요.",
  count: "6자리 중 {count}자리 입력",
  keyboard: "보안을 위해 키보드로는 입력할 수 없습니다. 화면의 키패드를 눌러 주세요.",
  shuffled: "숫자 배열을 바꿨습니다.",
  "weak-format": "PIN은 숫자 6자리로 입력해 주세요.",
  "weak-same": "같은 숫자만 반복한 PIN은 사용할 수 없습니다.",
  "weak-sequence": "연속된 숫자(예: 123456, 987654)는 PIN으로 사용할 수 없습니다.",
  "weak-pattern": "반복되는 숫자 묶음(예: 112233, 121212, 123123)은 PIN으로 사용할 수 없습니다.",
  "weak-birth-date": "생년월일은 PIN으로 사용할 수 없습니다.",
};
// How long the sixth dot shows filled before the pad submits.
const SUBMIT_DELAY_MS = 160;

// ------------------------------------------------------------------ shuffle

/** A uniform random integer in [0, n), without modulo bias. */
function randomBelow(n) {
  const limit = Math.floor(0x100000000 / n) * n;
  const buffer = new Uint32Array(1);
  for (;;) {
    crypto.getRandomValues(buffer);
    if (buffer[0] < limit) return buffer[0] % n;
  }
}

/**
 * The digits 0–9 in a random order (Fisher–Yates on crypto.getRandomValues),
 * never the same order as `previous`, so every reshuffle visibly changes
 * the keys (a repeat would happen once in 10! = 3,628,800 otherwise).
 */
export function shuffledDigits(previous = null) {
  for (;;) {
    const digits = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    for (let i = digits.length - 1; i > 0; i--) {
      const j = randomBelow(i + 1);
      [digits[i], digits[j]] = [digits[j], digits[i]];
    }
    if (!previous || digits.some((d, i) => d !== previous[i])) return digits;
  }
}

// ------------------------------------------------------------------ the pad

function readTexts(dialog) {
  const texts = { ...DEFAULT_TEXTS };
  const template = dialog.querySelector("template[data-pinpad-texts]");
  if (template) {
    for (const node of template.content.querySelectorAll("[data-text]")) {
      texts[node.dataset.text] = node.textContent.trim();
    }
  }
  return texts;
}

function findDialog(root) {
  const scope = root && typeof root.querySelector === "function" ? root : document;
  return scope.querySelector("dialog[data-pinpad]") ?? document.querySelector("dialog[data-pinpad]");
}

class PinPad {
  constructor(dialog) {
    this.dialog = dialog;
    this.texts = readTexts(dialog);
    this.title = dialog.querySelector("[data-pinpad-title]");
    this.lead = dialog.querySelector("[data-pinpad-lead]");
    this.dots = [...dialog.querySelectorAll("[data-pinpad-dots] > *")];
    this.count = dialog.querySelector("[data-pinpad-count]");
    this.error = dialog.querySelector("[data-pinpad-error]");
    this.slots = [...dialog.querySelectorAll("[data-pinpad-slot]")].sort(
      (a, b) => Number(a.dataset.pinpadSlot) - Number(b.dataset.pinpadSlot),
    );
    if (this.slots.length !== 10) throw new Error("pinpad: the keypad needs ten [data-pinpad-slot] keys");
    this.session = null; // the current opening's handlers (see open())
    this.layout = null; // the order shown last, so a reshuffle always differs
    this.bind();
  }

  bind() {
    const { dialog } = this;
    dialog.querySelector("[data-pinpad-keys]").addEventListener("click", (event) => {
      const key = event.target.closest("button");
      if (!key || !this.session) return;
      if (key.dataset.pinpadSlot !== undefined) this.session.press(Number(key.dataset.pinpadSlot));
      else if (key.hasAttribute("data-pinpad-back")) this.session.back();
      else if (key.hasAttribute("data-pinpad-shuffle")) this.session.shuffle();
    });
    dialog.querySelector("[data-pinpad-clear]")?.addEventListener("click", () => this.session?.clear());
    dialog.querySelector("[data-pinpad-close]")?.addEventListener("click", () => dialog.close());
    // Esc fires "cancel" and then closes the dialog: the "close" handler ends the opening.
    // A caller may reopen the pad before the "close" of the last opening
    // arrives: that event must not end the new opening.
    dialog.addEventListener("close", () => {
      if (!dialog.open) this.session?.end(null);
    });
    // SECURITY: digits from a physical keyboard are never taken (keylogger
    // defence); the keys are pressed with the pointer or Tab + Enter/Space.
    dialog.addEventListener(
      "keydown",
      (event) => {
        if (/^[0-9]$/.test(event.key) || /^(Digit|Numpad)[0-9]$/.test(event.code)) {
          event.preventDefault();
          event.stopPropagation();
          this.session?.refuseKeyboard();
        }
      },
      true,
    );
  }

  showLayout(layout) {
    this.layout = layout;
    this.slots.forEach((key, slot) => {
      key.textContent = String(layout[slot]);
    });
  }

  showDots(filled, announcement = "") {
    this.dots.forEach((dot, i) => dot.classList.toggle("pinpad__dot--on", i < filled));
    const count = this.texts.count.replace("{count}", String(filled));
    if (this.count) this.count.textContent = announcement ? `${announcement} ${count}` : count;
  }

  showError(message) {
    if (!this.error) return;
    // Always in the layout (an empty line), so a message does not move the keys.
    this.error.textContent = message || "";
  }

  open({ title, lead, confirm = false, error = "", checkWeak = confirm, birthDate } = {}) {
    if (this.session) return this.session.promise;
    const { dialog, texts } = this;
    const firstLead = lead || texts.lead;
    const opener = document.activeElement;
    let resolve;
    const promise = new Promise((r) => {
      resolve = r;
    });

    // The PIN exists only in these two variables, for this opening only.
    const digits = [];
    let first = null;
    let layout = shuffledDigits(this.layout);
    let busy = false;
    let timer = null;

    const wipe = () => {
      digits.fill(0);
      digits.length = 0;
      if (first) first.fill(0);
      first = null;
    };
    const restart = (message, { again = false } = {}) => {
      digits.fill(0);
      digits.length = 0;
      if (!again && first) {
        first.fill(0);
        first = null;
      }
      layout = shuffledDigits(layout);
      this.showLayout(layout);
      if (this.lead) this.lead.textContent = again ? texts["lead-again"] : firstLead;
      this.showError(message);
      this.showDots(0);
    };
    const complete = () => {
      timer = null;
      busy = false;
      if (first === null) {
        const entered = digits.join("");
        const weak = checkWeak ? checkPin(entered, { birthDate }) : null;
        if (weak) {
          restart(texts[`weak-${weak}`] || texts["weak-format"]);
        } else if (confirm) {
          first = digits.slice();
          restart("", { again: true });
        } else {
          session.end(entered);
        }
      } else if (first.every((d, i) => d === digits[i])) {
        session.end(digits.join(""));
      } else {
        restart(texts.mismatch);
      }
    };

    const session = {
      promise,
      press(slot) {
        if (busy || digits.length >= PIN_LENGTH) return;
        if (digits.length === 0) pad.showError("");
        digits.push(layout[slot]);
        pad.showDots(digits.length);
        if (digits.length === PIN_LENGTH) {
          busy = true;
          timer = setTimeout(complete, SUBMIT_DELAY_MS);
        }
      },
      back() {
        if (busy || digits.length === 0) return;
        digits[digits.length - 1] = 0;
        digits.pop();
        pad.showDots(digits.length);
      },
      clear() {
        if (busy) return;
        digits.fill(0);
        digits.length = 0;
        pad.showDots(0);
      },
      shuffle() {
        if (busy) return;
        layout = shuffledDigits(layout);
        pad.showLayout(layout);
        pad.showDots(digits.length, texts.shuffled);
      },
      refuseKeyboard() {
        pad.showError(texts.keyboard);
      },
      end(value) {
        if (pad.session !== session) return;
        pad.session = null;
        if (timer) clearTimeout(timer);
        wipe();
        pad.showDots(0);
        if (dialog.open) dialog.close();
        if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
        resolve(value);
      },
    };
    const pad = this;
    this.session = session;

    if (this.title) this.title.textContent = title || texts.title;
    if (this.lead) this.lead.textContent = firstLead;
    this.showLayout(layout);
    this.showError(error);
    this.showDots(0);
    dialog.showModal();
    this.slots[0].focus();
    return promise;
  }
}

const pads = new WeakMap();

/**
 * Ask for the 6-digit PIN on the shuffled keypad: a Promise of the PIN
 * string, or null when the customer cancels. Calling it while the pad is
 * open returns the same promise.
 *
 * options.title / options.lead: the heading and the sentence under it.
 * options.confirm: ask twice (a new PIN); options.checkWeak (default: confirm)
 * refuses weak PINs (cloud.js checkPin, with options.birthDate "YYYY-MM-DD").
 * options.error: a message to show on open.
 */
export function openPinPad(root = document, options = {}) {
  const dialog = findDialog(root);
  if (!dialog) {
    return Promise.reject(new Error("pinpad: the page has no <dialog data-pinpad> (include includes/_pinpad.html)"));
  }
  let pad = pads.get(dialog);
  if (!pad) {
    pad = new PinPad(dialog);
    pads.set(dialog, pad);
  }
  return pad.open(options);
}
