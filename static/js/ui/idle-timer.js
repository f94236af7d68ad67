// Auto-logout countdown (10 minutes idle) with the 연장 (extend) button.
// The server enforces the timeout (bank/middleware.py); this only shows it,
// warns in the last minute and logs out when it reaches zero.

const WARN_AT = 60;

function format(seconds) {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return `${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
}

function csrfToken() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
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
    const response = await fetch(body.dataset.idleExtendUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken() },
      credentials: "same-origin",
    });
    if (!response.ok) {
      window.location.reload();
      return;
    }
    const data = await response.json();
    deadline = Date.now() + data.seconds_left * 1000;
    tick();
  });
  return handle;
}
