// 거래내역조회: a preset period fills the date fields with the dates it stands
// for (given by the server on each chip), and editing a date picks 직접입력.
// Without this script the form still works: the server resolves the preset.
const form = document.querySelector("form[data-history-filter]");

if (form) {
  const from = form.elements.namedItem("date_from");
  const to = form.elements.namedItem("date_to");
  const custom = form.querySelector('input[name="period"][value="custom"]');

  for (const radio of form.querySelectorAll('input[name="period"]')) {
    radio.addEventListener("change", () => {
      const chip = radio.closest("[data-from]");
      if (chip && radio.checked) {
        from.value = chip.dataset.from;
        to.value = chip.dataset.to;
      }
    });
  }
  for (const field of [from, to]) {
    field.addEventListener("input", () => {
      if (custom) custom.checked = true;
    });
  }
}
