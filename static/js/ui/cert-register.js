// 타행/타기관 인증서 등록: make a certificate issued through another bank usable
// here (DESIGN.md §3 "Cross-bank registration").
//
// The server gives a registration challenge as the 인증서 선택창 opens (its
// 서명 유효시간 counts down there); the window unlocks the certificate on
// this device; we sign exactly the challenge's bytes and send the
// certificate, the signature and R from the key file. The bank recomputes
// the VID from R and the customer's RRN: only the holder's own certificate
// matches. The password and the private key never leave the browser.

import { sign } from "../crypto/signer.js";
import { readTexts } from "./cert-common.js";
import { readChallenge } from "./challenge-timer.js";
import { openCertificateWindow } from "./certwindow.js";
import { followSameSiteRedirect, postForm, RequestError, toBase64 } from "./http.js";

// Korean defaults; the page's <template data-register-texts> gives the translated ones.
const DEFAULT_TEXTS = {
  lead: "이 은행에 등록할 인증서를 선택하고 비밀번호(금융인증서는 PIN)를 입력해 주세요.",
  "no-r": "이 인증서 파일에는 본인확인 값(R)이 없어 등록할 수 없습니다.",
  generic: "인증서를 등록하지 못했습니다. 잠시 후 다시 시도해 주세요.",
};

function showError(root, message) {
  const box = root.querySelector("[data-cert-register-error]");
  if (!box) return;
  box.textContent = message || "";
  box.hidden = !message;
}

async function register(root, button) {
  const { challengeUrl, registerUrl } = root.dataset;
  const texts = readTexts(root, "template[data-register-texts]", DEFAULT_TEXTS);
  showError(root, "");
  const chosen = await openCertificateWindow(root, {
    lead: texts.lead,
    challenge: async () => readChallenge(await postForm(challengeUrl, { purpose: "register" }, { root })),
  });
  if (!chosen) return;
  if (!chosen.r) {
    showError(root, texts["no-r"]);
    return;
  }
  button.disabled = true;
  let leaving = false;
  try {
    const signature = await sign(chosen.signingKey, chosen.challenge.toSign);
    const result = await postForm(
      registerUrl,
      {
        challenge: chosen.challenge.token,
        certificate: toBase64(chosen.certificateDer),
        signature: toBase64(signature),
        r: toBase64(chosen.r),
      },
      { root },
    );
    leaving = followSameSiteRedirect(result.redirect);
    if (!leaving) showError(root, texts.generic);
  } catch (error) {
    showError(root, error instanceof RequestError ? error.message : texts.generic);
  } finally {
    if (!leaving) button.disabled = false;
  }
}

for (const root of document.querySelectorAll("[data-cert-register]")) {
  const button = root.querySelector("[data-cert-register-start]");
  if (!button) continue;
  button.addEventListener("click", (event) => {
    event.preventDefault();
    register(root, button);
  });
  // Ships disabled: without this script nothing would happen on a click.
  button.disabled = false;
}
