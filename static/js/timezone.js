// Pre-fills a timezone field with the phone's own zone, so "today" is the patient's today.
// Leaves any value the patient already chose.
const field = document.querySelector("[data-detect-timezone]");
if (field && (!field.value || field.value === "UTC")) {
  const detected = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (detected) field.value = detected;
}
