// Auto-logout countdown (10 minutes idle) with the 연장 (extend) button.
// The server enforces the timeout (bank/middleware.py); this only shows it,
// warns in the last minute and logs out when it reaches zero.

import { postForm } from "./http.js";

const WARN_AT = 60;

function format(seconds) {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return `${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
}

export function startIdleTimer(body = document.body) {
  const total = Number.parseInt(body.dataset.idleSeconds ?? "", 10);
  const clock = document.querySelector("[data-idle-clock]");
  if (!Number.isFinite(total) || !clock) return null;

  let deadline = Date.now() + total * 1000;
  const timerBox = clock.closest(".idle-timer");

  const tick = () => {
    const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    clock.textContent = format(left);
    timerBox?.classList.toggle("idle-timer--warn", left <= WARN_AT);
    if (left === 0) {
      clearInterval(handle);
      document.querySelector("[data-logout-form]")?.submit();
    }
  };
  const handle = setInterval(tick, 1000);
  tick();

  document.querySelector("[data-idle-extend]")?.addEventListener("click", async () => {
    let data;
    try {
      data = await postForm(body.dataset.idleExtendUrl);
    } catch {
      window.location.reload(); // logged out meanwhile: the page says so
      return;
    }
    deadline = Date.now() + data.seconds_left * 1000;
    tick();
  });
  return handle;
}
