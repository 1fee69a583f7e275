// A form sent back with errors opens at its error summary (templates/auth/account.html): focus
// moves there, so the reader hears what went wrong and each error links to its field.
document.querySelector("[data-error-summary]")?.focus();
