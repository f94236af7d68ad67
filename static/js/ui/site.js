// Page-wide behaviour, loaded as an ES module on every page (no inline code).
import { startCountdowns } from "./countdown.js";
import { startIdleTimer } from "./idle-timer.js";

startIdleTimer();
startCountdowns();

// The language menu switches at once; the button is the no-JS fallback.
for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => select.form.submit());
  select.form.querySelector("[data-autosubmit-fallback]")?.classList.add("visually-hidden");
}
