// 서명 유효시간: the time left to sign a challenge (DESIGN.md §3: a challenge
// lives about two minutes and is used once), shown as m:ss by countdown.js.
//
//   const signing = new SigningChallenge({
//     provider: ({ retry }) => postForm(url, { purpose: "login" }).then(readChallenge),
//     countdown: element,            // <strong> that shows m:ss
//     onChange: (state) => …,       // "loading" | "ready" | "expired" | "failed"
//   });
//   signing.load();
//   const challenge = await signing.ready();   // {token, toSign, expiresAt} or null
//
// The server decides: an expired challenge is refused there whatever this
// page shows. The countdown tells the customer in time, and a retry asks
// for a new challenge.

import { startCountdown, stopCountdown } from "./countdown.js";
import { fromBase64 } from "./http.js";

// A device clock further off than this from the bank's is not trusted for the countdown.
const CLOCK_SLACK_MS = 30_000;

/**
 * When a challenge ends on this device's clock, as an ISO string.
 * `expiresAt` is the bank's clock; a device whose clock is plainly off
 * (the fresh challenge would end long before or after its lifetime from
 * now) counts `expiresIn` seconds from `receivedAt` instead.
 */
export function challengeDeadline(expiresAt, expiresIn, receivedAt = Date.now()) {
  const at = Date.parse(expiresAt ?? "");
  const lifetime = Number(expiresIn) * 1000;
  if (Number.isFinite(lifetime) && lifetime > 0) {
    if (Number.isNaN(at) || Math.abs(at - receivedAt - lifetime) > CLOCK_SLACK_MS) {
      return new Date(receivedAt + lifetime).toISOString();
    }
  }
  return Number.isNaN(at) ? null : new Date(at).toISOString();
}

/**
 * The server's challenge answer ({challenge, to_sign, expires_at,
 * expires_in}, certificates/views/login.py) as the pages use it:
 * {token, toSign (bytes), expiresAt (ISO, this device's clock)}.
 */
export function readChallenge(answer, receivedAt = Date.now()) {
  return {
    token: answer.challenge,
    toSign: fromBase64(answer.to_sign),
    expiresAt: challengeDeadline(answer.expires_at, answer.expires_in, receivedAt),
  };
}

export function challengeExpired(challenge, now = Date.now()) {
  if (!challenge) return true;
  const end = Date.parse(challenge.expiresAt ?? "");
  return !Number.isNaN(end) && now >= end;
}

/** One challenge at a time for a signature the customer is about to make, with its countdown. */
export class SigningChallenge {
  constructor({ provider, countdown, onChange = () => {} }) {
    this.provider = provider;
    this.countdown = countdown;
    this.onChange = onChange;
    this.state = "loading";
    this.current = null;
    this.error = null;
    this.pending = null;
    this.run = 0;
    this.onExpired = () => {
      if (this.state !== "ready") return;
      this.state = "expired";
      this.onChange(this.state);
    };
    countdown?.addEventListener("countdown:expired", this.onExpired);
  }

  /** Ask the provider for a challenge (`retry`: the customer asked for a new one). */
  load({ retry = false } = {}) {
    const run = ++this.run;
    this.state = "loading";
    this.current = null;
    this.error = null;
    if (this.countdown) stopCountdown(this.countdown);
    this.onChange(this.state);
    this.pending = (async () => {
      let challenge;
      try {
        challenge = await this.provider({ retry });
      } catch (error) {
        if (run !== this.run) return;
        this.state = "failed";
        this.error = error;
        this.onChange(this.state);
        return;
      }
      if (run !== this.run) return;
      this.current = challenge;
      this.state = "ready";
      this.onChange(this.state);
      // Already over (a page kept open too long) fires "expired" right away.
      if (this.countdown && challenge.expiresAt) startCountdown(this.countdown, challenge.expiresAt);
      else if (challengeExpired(challenge)) this.onExpired();
    })();
    return this.pending;
  }

  /** The challenge once it is there, or null if it could not be had or has run out. */
  async ready() {
    await this.pending;
    if (this.state !== "ready") return null;
    if (challengeExpired(this.current)) {
      this.onExpired();
      return null;
    }
    return this.current;
  }

  /** Stop counting and forget the challenge (the window closed). */
  stop() {
    this.run++;
    this.current = null;
    if (this.countdown) {
      stopCountdown(this.countdown);
      this.countdown.removeEventListener("countdown:expired", this.onExpired);
    }
  }
}
