// 금융인증서 PIN 변경 (인증서 관리, templates/certificates/manage.html).
//
// The old PIN is proved to the bank as usual (it counts wrong ones), the key
// is unwrapped here with the old PIN and rewrapped with the new one under the
// same server secret, and the bank stores the new wrapped key and the new PIN
// verifier. Neither PIN leaves this page.

import { pinVerifier, randomSalt, rewrapKey } from "../crypto/cloud.js";
import { readTexts } from "./cert-common.js";
import { fromBase64, postForm, RequestError, toBase64 } from "./http.js";
import { openPinPad } from "./pinpad.js";

const GENERIC_ERROR = "PIN을 변경하지 못했습니다. 잠시 후 다시 시도해 주세요.";

async function changePin(root, button) {
  const texts = readTexts(root, "template[data-cloudpin-texts]", {});
  const status = root.querySelector("[data-cloudpin-status]");
  const say = (message, ok = false) => {
    status.textContent = message;
    status.hidden = !message;
    status.classList.toggle("status-line--ok", ok);
    status.classList.toggle("status-line--error", !ok && Boolean(message));
  };
  say("");
  const { serial, unlockUrl, pinUrl } = root.dataset;
  const verifierSalt = fromBase64(root.dataset.verifierSalt);
  const iterations = Number(root.dataset.iterations);
  let error = "";
  let oldPin;
  let release;
  for (;;) {
    oldPin = await openPinPad(root, { title: texts["old-title"], lead: texts["old-lead"], error });
    if (oldPin === null) return;
    try {
      const verifier = await pinVerifier(oldPin, { verifierSalt, iterations });
      release = await postForm(unlockUrl, { serial, verifier: toBase64(verifier) }, { root });
      break;
    } catch (failure) {
      if (failure instanceof RequestError && failure.code === "wrong_pin") {
        error = failure.message;
        continue;
      }
      say(failure instanceof RequestError ? failure.message : GENERIC_ERROR);
      return;
    }
  }
  let newError = "";
  for (;;) {
    const newPin = await openPinPad(root, { title: texts["new-title"], lead: texts["new-lead"], confirm: true, error: newError });
    if (newPin === null) return;
    button.disabled = true;
    try {
      const newVerifierSalt = randomSalt();
      const newWrapSalt = randomSalt();
      const wrapped = await rewrapKey({
        blob: fromBase64(release.wrapped_key),
        oldPin,
        newPin,
        serverSecret: fromBase64(release.server_secret),
        wrapSalt: fromBase64(release.wrap_salt),
        newWrapSalt,
        iterations: release.iterations,
      });
      const result = await postForm(
        pinUrl,
        {
          serial,
          verifier: toBase64(await pinVerifier(oldPin, { verifierSalt, iterations })),
          new_verifier: toBase64(await pinVerifier(newPin, { verifierSalt: newVerifierSalt, iterations: release.iterations })),
          new_verifier_salt: toBase64(newVerifierSalt),
          new_wrap_salt: toBase64(newWrapSalt),
          wrapped_key: toBase64(wrapped),
        },
        { root },
      );
      root.dataset.verifierSalt = toBase64(newVerifierSalt);
      say(result.message, true);
      return;
    } catch (failure) {
      if (failure instanceof RequestError && failure.code === "weak_pin") {
        newError = failure.message;
        continue;
      }
      say(failure instanceof RequestError ? failure.message : GENERIC_ERROR);
      return;
    } finally {
      button.disabled = false;
    }
  }
}

for (const root of document.querySelectorAll("[data-cloud-pin]")) {
  const button = root.querySelector("[data-cloudpin-start]");
  button.addEventListener("click", () => changePin(root, button));
  button.disabled = false; // ships disabled: nothing would happen without this script
}
