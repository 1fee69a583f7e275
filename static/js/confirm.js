// Asks before a destructive form is sent: any <form data-confirm="question">.
// Without JavaScript the form is sent at once, which is the plain-HTML behaviour.
for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
