// 인증서 로그인: challenge-response login with a 공동인증서 (DESIGN.md §3).
//
// Markup (login page):
//   <div data-challenge-url="…/certificates/challenge/" data-login-url="…/login/certificate/">
//     {% csrf_token %}
//     <button type="button" data-cert-login>인증서 로그인</button>
//     <p data-cert-login-error role="alert"></p>
//   </div>
//   {% include "includes/_certwindow.html" %}
//
// Flow: the server gives a fresh challenge (purpose "login") as the 인증서
// 선택창 opens, which shows its 서명 유효시간 counting down; the window
// unlocks a certificate on this device; we sign exactly the bytes the server
// sent (to_sign) and post the certificate and the signature. The server
// verifies against the bytes it stored. The password and the private key
// never leave the browser. Too many bad signatures from one network are
// refused for a while (429): the bank's message says how long.

import { sign } from "../crypto/signer.js";
import { readChallenge } from "./challenge-timer.js";
import { openCertificateWindow } from "./certwindow.js";
import { followSameSiteRedirect, postForm, RequestError, toBase64 } from "./http.js";

const GENERIC_ERROR = "인증서 로그인을 처리하지 못했습니다. 잠시 후 다시 시도해 주세요.";

function errorBox(root) {
  return root.querySelector("[data-cert-login-error]") ?? document.querySelector("[data-cert-login-error]");
}

function showError(root, message) {
  const box = errorBox(root);
  if (!box) return;
  box.textContent = message || "";
  box.hidden = !message;
}

async function certificateLogin(root, button) {
  const { challengeUrl, loginUrl } = root.dataset;
  showError(root, "");
  const chosen = await openCertificateWindow(root, {
    challenge: async () => readChallenge(await postForm(challengeUrl, { purpose: "login" }, { root })),
  });
  if (!chosen) return; // cancelled
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  let leaving = false;
  try {
    const signature = await sign(chosen.signingKey, chosen.challenge.toSign);
    const result = await postForm(
      loginUrl,
      {
        challenge: chosen.challenge.token,
        certificate: toBase64(chosen.certificateDer),
        signature: toBase64(signature),
      },
      { root },
    );
    leaving = followSameSiteRedirect(result.redirect);
    if (!leaving) showError(root, GENERIC_ERROR);
  } catch (error) {
    showError(root, error instanceof RequestError ? error.message : GENERIC_ERROR);
  } finally {
    if (!leaving) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }
}

export function initCertificateLogin(scope = document) {
  for (const button of scope.querySelectorAll("[data-cert-login]")) {
    if (button.dataset.certLoginReady) continue;
    const root = button.closest("[data-login-url]");
    if (!root) continue;
    button.dataset.certLoginReady = "1";
    button.addEventListener("click", (event) => {
      event.preventDefault();
      certificateLogin(root, button);
    });
    button.disabled = false; // the template renders it disabled until this listener is there
  }
}

initCertificateLogin();
