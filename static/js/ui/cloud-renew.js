// 금융인증서 자동 갱신 (DESIGN.md §1: used within its last 30 days, it renews
// itself). The 인증서 선택창 calls this right after a correct PIN unlocked a
// certificate whose release said renewal_due:
//   1. the bank hands out a "renew" challenge and fresh key material
//      (a sealed server secret, salts)                (cloud_renew_prepare)
//   2. a new key pair and R are made here; the challenge is signed by the
//      old key (it is this certificate) and by the new one (possession)
//   3. the new key is wrapped under the same PIN and the new server secret,
//      with a new PIN verifier; the old PIN's verifier proves the PIN again
//   4. the bank issues the new certificate and keeps the wrapped key
// The PIN and the private keys in clear never leave this page.

import { pinVerifier, wrapKey } from "../crypto/cloud.js";
import { generateKeyPair, randomR, sign } from "../crypto/signer.js";
import { fromBase64, postForm, toBase64 } from "./http.js";

/**
 * Renew the unlocked 금융인증서 `entry` ({certificateDer, cloud: {serial,
 * verifierSalt, iterations}}) with its `pin` and unlocked `oldKey`.
 * `urls`: {prepare, complete}. Resolves to {certificateDer, signingKey, r}
 * of the new certificate; throws (RequestError or a crypto error) when the
 * renewal did not happen, in which case the current certificate still works.
 */
export async function renewCloudCertificate({ urls, entry, pin, oldKey, root = document }) {
  const prepared = await postForm(urls.prepare, { serial: entry.cloud.serial }, { root });
  const toSign = fromBase64(prepared.to_sign);
  const { privateKeyPkcs8, publicKeySpki, signingKey } = await generateKeyPair();
  const r = randomR();
  try {
    // The server counts this proof of the current PIN like an unlock (the new key is wrapped under it).
    const oldVerifier = await pinVerifier(pin, { verifierSalt: entry.cloud.verifierSalt, iterations: entry.cloud.iterations });
    const verifier = await pinVerifier(pin, { verifierSalt: fromBase64(prepared.verifier_salt), iterations: prepared.iterations });
    const wrapped = await wrapKey({
      privateKeyPkcs8,
      r,
      pin,
      serverSecret: fromBase64(prepared.server_secret),
      wrapSalt: fromBase64(prepared.wrap_salt),
      iterations: prepared.iterations,
    });
    const answer = await postForm(
      urls.complete,
      {
        challenge: prepared.challenge,
        certificate: toBase64(entry.certificateDer),
        signature: toBase64(await sign(oldKey, toSign)),
        public_key: toBase64(publicKeySpki),
        new_signature: toBase64(await sign(signingKey, toSign)),
        r: toBase64(r),
        old_verifier: toBase64(oldVerifier),
        verifier: toBase64(verifier),
        wrapped_key: toBase64(wrapped),
      },
      { root },
    );
    return { certificateDer: fromBase64(answer.certificate), signingKey, r: r.slice() };
  } finally {
    privateKeyPkcs8.fill(0);
    r.fill(0);
  }
}
