// 계좌이체 (DESIGN.md §3 "Challenge-response"): the form's helpers and the
// review page's signature.
//
// Form: the amount shows thousands separators and Korean words as it is
// typed (1,000,000 → 일백만원); 수취인 조회 shows the masked name; favourites
// and recent recipients fill the bank and account number.
//
// Review: the page shows the exact text the server stored as the challenge;
// the 인증서 선택창 shows that challenge's 서명 유효시간 counting down and
// unlocks the certificate on this device, and we sign exactly those bytes
// (taken from the page, the same bytes the server verifies), then send the
// certificate, the signature and any OTP / SMS code. The challenge comes
// with the page (its 일시 is part of the text): a new one is a fresh page.

import { sign } from "../crypto/signer.js";
import { readTexts } from "./cert-common.js";
import { challengeDeadline } from "./challenge-timer.js";
import { openCertificateWindow } from "./certwindow.js";
import { followSameSiteRedirect, fromBase64, postForm, RequestError, toBase64 } from "./http.js";

// Korean defaults; the page's <template data-transfer-texts> gives the translated ones.
const DEFAULT_TEXTS = {
  recipient: "받는 분",
  "lookup-failed": "수취인을 조회하지 못했습니다.",
  "otp-format": "OTP 인증번호 6자리를 입력해 주세요.",
  "sms-format": "SMS 인증번호 6자리를 입력해 주세요.",
  lead: "이체 내용에 전자서명할 인증서를 선택하고 비밀번호(금융인증서는 PIN)를 입력해 주세요.",
  generic: "이체하지 못했습니다. 잠시 후 다시 시도해 주세요.",
};

const DIGITS = "영일이삼사오육칠팔구";
const SMALL = ["", "십", "백", "천"];
const LARGE = ["", "만", "억", "조", "경"];

/** 1000000 → "일백만", 30500 → "삼만오백" (as banking.templatetags.money.korean_number). */
export function koreanNumber(value) {
  let n = BigInt(value);
  if (n === 0n) return "영";
  if (n < 0n) return `마이너스 ${koreanNumber(-n)}`;
  const groups = [];
  while (n > 0n) {
    groups.push(Number(n % 10000n));
    n /= 10000n;
  }
  let out = "";
  for (let g = groups.length - 1; g >= 0; g--) {
    const group = groups[g];
    if (!group) continue;
    let text = "";
    const digits = String(group).padStart(4, "0");
    for (let i = 0; i < 4; i++) {
      const d = Number(digits[i]);
      if (d) text += DIGITS[d] + SMALL[3 - i];
    }
    out += text + LARGE[g];
  }
  return out;
}

function digitsOnly(text) {
  return String(text).replace(/[^0-9]/g, "").replace(/^0+(?=\d)/, "");
}

// ------------------------------------------------------------------ the form

function setupAmount(form) {
  const input = form.querySelector("[data-amount-input]");
  const words = form.querySelector("[data-amount-words]");
  if (!input) return;
  const show = () => {
    const digits = digitsOnly(input.value).slice(0, 13);
    input.value = digits ? Number(digits).toLocaleString("ko-KR") : "";
    if (words) words.textContent = digits && digits !== "0" ? `${Number(digits).toLocaleString("ko-KR")}원 (${koreanNumber(digits)}원)` : "";
  };
  input.addEventListener("input", show);
  for (const button of form.querySelectorAll("[data-amount-add]")) {
    button.addEventListener("click", () => {
      const current = BigInt(digitsOnly(input.value) || "0");
      input.value = String(current + BigInt(button.dataset.amountAdd));
      show();
    });
  }
  const clear = form.querySelector("[data-amount-clear]");
  if (clear) clear.addEventListener("click", () => {
    input.value = "";
    show();
  });
  show();
}

function setupLookup(form) {
  const button = form.querySelector("[data-recipient-lookup]");
  const result = form.querySelector("[data-recipient-result]");
  const bank = form.querySelector("[name=to_bank]");
  const number = form.querySelector("[name=to_number]");
  if (!button || !result || !bank || !number) return;
  const clear = () => {
    result.textContent = "";
    result.classList.remove("recipient-check__result--ok", "recipient-check__result--error");
  };
  bank.addEventListener("change", clear);
  number.addEventListener("input", clear);
  const texts = readTexts(form, "template[data-transfer-texts]", DEFAULT_TEXTS);
  button.addEventListener("click", async () => {
    clear();
    button.disabled = true;
    try {
      const found = await postForm(form.dataset.lookupUrl, { bank: bank.value, number: number.value }, { root: form });
      result.textContent = `${texts.recipient}: ${found.name} (${found.bank} ${found.number})`;
      result.classList.add("recipient-check__result--ok");
    } catch (error) {
      result.textContent = error instanceof RequestError ? error.message : texts["lookup-failed"];
      result.classList.add("recipient-check__result--error");
    } finally {
      button.disabled = false;
    }
  });
  button.disabled = false;
  for (const fill of document.querySelectorAll("[data-fill-bank]")) {
    fill.addEventListener("click", () => {
      bank.value = fill.dataset.fillBank;
      number.value = fill.dataset.fillNumber;
      clear();
      number.focus();
      button.click();
    });
  }
}

for (const form of document.querySelectorAll("[data-transfer-form]")) {
  setupAmount(form);
  setupLookup(form);
}

// ------------------------------------------------------------------ the signature


function showError(root, message) {
  const box = root.querySelector("[data-transfer-error]");
  if (!box) return;
  box.textContent = message || "";
  box.hidden = !message;
}

// When this page's challenge was handed out: now, as the page arrives.
const PAGE_RECEIVED_AT = Date.now();

/** The challenge this review page shows; 다시 시도 asks the bank for a fresh page (and so a new challenge). */
function pageChallenge(root) {
  const { challenge, toSign, challengeExpiresAt, challengeExpiresIn } = root.dataset;
  const current = {
    token: challenge,
    toSign: fromBase64(toSign),
    expiresAt: challengeDeadline(challengeExpiresAt, challengeExpiresIn, PAGE_RECEIVED_AT),
  };
  return async ({ retry }) => {
    if (!retry) return current;
    window.location.reload();
    return new Promise(() => {}); // the page goes
  };
}

async function approve(root, button) {
  const { signUrl } = root.dataset;
  const texts = readTexts(root, "template[data-transfer-texts]", DEFAULT_TEXTS);
  const otp = root.querySelector("[data-otp-code]");
  const sms = root.querySelector("[data-sms-code]");
  showError(root, "");
  if (otp && !/^[0-9]{6}$/.test(otp.value.trim())) {
    showError(root, texts["otp-format"]);
    otp.focus();
    return;
  }
  if (sms && !/^[0-9]{6}$/.test(sms.value.trim())) {
    showError(root, texts["sms-format"]);
    sms.focus();
    return;
  }
  const chosen = await openCertificateWindow(root, { lead: texts.lead, challenge: pageChallenge(root) });
  if (!chosen) return;
  button.disabled = true;
  let leaving = false;
  try {
    const signature = await sign(chosen.signingKey, chosen.challenge.toSign);
    const result = await postForm(
      signUrl,
      {
        challenge: chosen.challenge.token,
        certificate: toBase64(chosen.certificateDer),
        signature: toBase64(signature),
        otp_code: otp ? otp.value.trim() : "",
        sms_code: sms ? sms.value.trim() : "",
      },
      { root },
    );
    leaving = followSameSiteRedirect(result.redirect);
    if (!leaving) showError(root, texts.generic);
  } catch (error) {
    showError(root, error instanceof RequestError ? error.message : texts.generic);
    // The challenge is used up by any refusal: a new one comes with a fresh page.
    const retry = root.querySelector("[data-transfer-retry]");
    if (retry) {
      button.hidden = true;
      retry.hidden = false;
      retry.focus();
    }
  } finally {
    if (!leaving) button.disabled = false;
  }
}

for (const root of document.querySelectorAll("[data-transfer-sign]")) {
  const button = root.querySelector("[data-transfer-sign-start]");
  const retry = root.querySelector("[data-transfer-retry]");
  if (!button) continue;
  button.addEventListener("click", (event) => {
    event.preventDefault();
    approve(root, button);
  });
  if (retry) retry.addEventListener("click", () => window.location.reload());
  // Ships disabled: without this script nothing would happen on a click.
  button.disabled = false;
}
