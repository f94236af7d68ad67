// 금융인증서 이용기기 등록 inside the 인증서 선택창 (DESIGN.md §1: each
// browser is registered once with an SMS code, at most 5 devices).
//
// When the 금융인증서 tab finds this browser unregistered, the window shows
// this panel (templates/includes/_certwindow.html, [data-certwin-device])
// instead of sending the customer away. It drives the bank's step-up page
// for the purpose (certificates/views/cloud.py CloudDeviceStepUpView,
// flows/views.py) with fetch() and Accept: application/json:
//   GET                 → where the verification stands: {"step": "identity"}
//                         logged out; {"step": "sms", "sms_pending": true}
//                         logged in (the login is the first factor)
//   POST step=identity  name, rrn, account_number, pin (본인확인); the SMS
//                       code is sent as the SMS step begins
//   POST step=send      (logged in, or 다시 받기) send a code
//   POST step=sms       the code; {"step": "done"} once the device is registered
// Every answer is JSON: the state ({"step", "phone", "sms_valid_until", "errors"})
// or a refusal ({"error", "code"} with its 4xx, maybe Retry-After).
// The code's validity counts down (countdown.js).

import { startCountdown, stopCountdown } from "./countdown.js";
import { getJson, postForm, RequestError } from "./http.js";

const STEPS = ["identity", "send", "code"];

export class CloudDeviceRegistration {
  /**
   * panel: the [data-certwin-device] element; url: the step-up page;
   * texts: the window's texts; root: where the CSRF token is.
   * onDone(message): the device is registered (reload the 금융인증서 list).
   * onError(message|null): show or clear a message in the window.
   * isRegistered(): asks the bank whether this device is registered now.
   * onChange(): the step or busy state changed (the window's 확인 button
   * submits the current step: `step`, `busy`, `formId`).
   */
  constructor(panel, { url, texts, root, onDone, onError, isRegistered, onChange = () => {} }) {
    Object.assign(this, { panel, url, texts, root, onDone, onError, isRegistered, onChange });
    this.forms = Object.fromEntries(
      STEPS.map((step) => [step, root.querySelector(`form[data-certwin-device-form="${step}"]`)]),
    );
    this.steps = Object.fromEntries(STEPS.map((step) => [step, panel.querySelector(`[data-certwin-device-step="${step}"]`)]));
    this.countdown = panel.querySelector("[data-certwin-device-countdown]");
    this.timer = panel.querySelector("[data-certwin-device-timer]");
    this.noCode = panel.querySelector("[data-certwin-device-no-code]");
    this.codeLabel = panel.querySelector("[data-certwin-device-code-label]");
    this.resend = panel.querySelector("[data-certwin-device-resend]");
    this.resendRow = panel.querySelector("[data-certwin-device-resend-row]");
    this.busy = false;
    this.run = 0;
    this.codeStep = "sms";
    for (const [step, form] of Object.entries(this.forms)) {
      form?.addEventListener("submit", (event) => {
        event.preventDefault();
        this.submit(step);
      });
    }
    this.resend?.addEventListener("click", () => this.post({ step: "send" }));
  }

  get shown() {
    return !this.panel.hidden;
  }

  /** The id of the form the current step submits (the window's 확인 button points there). */
  get formId() {
    return this.forms[this.step]?.id ?? "";
  }

  /** Show the panel at the step the bank says the verification is at. */
  async show() {
    this.panel.hidden = false;
    const run = ++this.run;
    this.setBusy(true);
    try {
      const state = await getJson(this.url);
      if (run === this.run) await this.follow(state);
    } catch (error) {
      if (run !== this.run) return;
      this.showStep("identity");
      this.onError(error instanceof RequestError ? error.message : this.texts["device-failed"]);
    } finally {
      if (run === this.run) this.setBusy(false);
    }
  }

  hide() {
    this.run++;
    this.panel.hidden = true;
    if (this.countdown) stopCountdown(this.countdown);
    this.setBusy(false);
    this.onChange();
  }

  /** Forget what was typed (the window closed). */
  reset() {
    this.hide();
    for (const form of Object.values(this.forms)) {
      for (const input of form?.elements ?? []) {
        if (input.matches("input:not([type=hidden])")) input.value = "";
      }
    }
    this.clearFieldErrors();
  }

  // ------------------------------------------------------------ steps

  showStep(step) {
    for (const [name, element] of Object.entries(this.steps)) {
      if (element) element.hidden = name !== step;
    }
    if (step !== "code" && this.countdown) stopCountdown(this.countdown);
    this.step = step;
    this.onChange();
  }

  fill(selector, phone) {
    for (const element of this.panel.querySelectorAll(selector)) {
      element.dataset.template ??= element.textContent;
      element.textContent = element.dataset.template.replace("{phone}", phone || "");
    }
  }

  async follow(state) {
    if (state.step === "done") {
      await this.finished(state.message);
      return;
    }
    this.fill("[data-certwin-device-phone]", state.phone);
    if (state.step === "identity") {
      this.showStep("identity");
    } else if (state.sms_pending) {
      this.showStep("send");
    } else {
      this.codeStep = state.step === "otp" ? "otp" : "sms";
      if (this.codeLabel) this.codeLabel.textContent = this.texts[this.codeStep === "otp" ? "device-otp-label" : "device-sms-label"];
      this.showStep("code");
      const validUntil = this.codeStep === "sms" ? state.sms_valid_until : null;
      if (this.timer) this.timer.hidden = !validUntil;
      if (this.noCode) this.noCode.hidden = Boolean(validUntil) || this.codeStep === "otp";
      if (this.resendRow) this.resendRow.hidden = this.codeStep === "otp";
      if (validUntil && this.countdown) startCountdown(this.countdown, validUntil);
    }
    this.clearFieldErrors();
    this.showErrors(state);
  }

  async finished(message) {
    this.hide();
    await this.onDone(message || this.texts["device-done"]);
  }

  // ------------------------------------------------------------ requests

  fields(step) {
    const form = this.forms[step];
    const fields = {};
    if (form) {
      for (const [name, value] of new FormData(form)) fields[name] = typeof value === "string" ? value.trim() : value;
    }
    if (step === "identity") return { ...fields, step: "identity" };
    if (step === "code") return { code: fields.code ?? "", step: this.codeStep };
    return { step: "send" };
  }

  submit(step) {
    if (step !== this.step) return;
    this.post(this.fields(step));
  }

  async post(fields) {
    if (this.busy) return;
    const run = ++this.run;
    this.setBusy(true);
    this.onError(null);
    try {
      const state = await postForm(this.url, fields, { root: this.root });
      if (run !== this.run) return;
      const before = this.step;
      await this.follow(state);
      if (this.step !== before || fields.step === "send") this.focusStep();
    } catch (error) {
      if (run !== this.run) return;
      await this.refused(error, fields);
    } finally {
      if (run === this.run) this.setBusy(false);
    }
  }

  async refused(error, fields) {
    if (!(error instanceof RequestError)) {
      this.onError(this.texts["device-failed"]);
      return;
    }
    if (error.status >= 200 && error.status < 300) {
      // A 2xx that is not JSON: the bank did something other than answer.
      // Whether this device is now registered is its list's to say.
      if (fields.step === this.codeStep && (await this.isRegistered())) {
        await this.finished(this.texts["device-done"]);
        return;
      }
      this.onError(this.texts["device-failed"]);
      return;
    }
    if (error.code === "stepup_restart") {
      // The verification ran out: start it again, with the bank's reason.
      await this.show();
      this.onError(error.message);
      return;
    }
    this.clearFieldErrors();
    if (!this.showErrors({ errors: error.errors })) this.onError(error.message);
    if (error.code === "login_required") this.showStep("identity");
  }

  // ------------------------------------------------------------ errors, busy

  clearFieldErrors() {
    for (const element of this.panel.querySelectorAll("[data-certwin-device-error]")) {
      element.textContent = "";
      element.hidden = true;
      const input = this.panel.querySelector(`[name="${element.dataset.certwinDeviceError}"]`);
      input?.closest(".field")?.classList.remove("field--error");
      input?.removeAttribute("aria-invalid");
    }
  }

  /** Field errors under their fields, the others in the window; true if any was shown. */
  showErrors(state) {
    const errors = state?.errors;
    if (!errors) return false;
    const general = [];
    let first = null;
    for (const [name, messages] of Object.entries(errors)) {
      const text = (messages ?? []).join(" ");
      const slot = this.steps[this.step]?.querySelector(`[data-certwin-device-error="${name}"]`);
      if (!slot) {
        general.push(text);
        continue;
      }
      slot.textContent = text;
      slot.hidden = false;
      const input = this.steps[this.step].querySelector(`[name="${name}"]`);
      input?.closest(".field")?.classList.add("field--error");
      input?.setAttribute("aria-invalid", "true");
      first ??= input;
    }
    this.onError(general.length ? general.join(" ") : null);
    first?.focus();
    return true;
  }

  focusStep() {
    const target = this.steps[this.step]?.querySelector("input");
    if (!target) return;
    if (target.name === "code") target.value = "";
    target.focus();
  }

  setBusy(busy) {
    this.busy = busy;
    this.panel.setAttribute("aria-busy", String(busy));
    for (const button of this.panel.querySelectorAll("button")) button.disabled = busy;
    this.onChange();
  }
}
