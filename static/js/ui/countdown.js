// Live countdowns: an element with data-countdown-until (an ISO time) shows
// the time left as m:ss and, at zero, its data-countdown-expired text. Used
// by the SMS step (the code's 3 minutes) and every page that asks for a
// signature (the challenge's time left, challenge-timer.js).

/** 125 → "2:05". */
export function formatClock(seconds) {
  const left = Math.max(0, Math.floor(seconds));
  return `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
}

export function stopCountdown(element) {
  clearInterval(element._countdownTimer);
  element._countdownTimer = undefined;
}

/**
 * Count down to `until` in `element`; at zero it gets the class
 * countdown--expired and fires "countdown:expired" (bubbling). Starting
 * again (a new code, a new challenge) replaces the previous countdown.
 */
export function startCountdown(element, until = element.dataset.countdownUntil) {
  const end = Date.parse(until);
  if (Number.isNaN(end)) return;
  element.dataset.countdownUntil = until;
  stopCountdown(element);
  element.classList.remove("countdown--expired");
  const tick = () => {
    const left = Math.max(0, Math.round((end - Date.now()) / 1000));
    element.textContent = formatClock(left);
    if (left === 0) {
      stopCountdown(element);
      element.classList.add("countdown--expired");
      if (element.dataset.countdownExpired) element.textContent = element.dataset.countdownExpired;
      element.dispatchEvent(new CustomEvent("countdown:expired", { bubbles: true }));
    }
  };
  element._countdownTimer = setInterval(tick, 1000);
  tick();
}

export function startCountdowns(root = document) {
  for (const element of root.querySelectorAll("[data-countdown-until]")) startCountdown(element);
}
