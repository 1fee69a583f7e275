// "Copy link" and "Share…" for a new share link: one tap, with the phone's share sheet if it has one.
const field = document.querySelector("[data-share-url]");
const copyButton = document.querySelector("[data-copy-link]");
const shareButton = document.querySelector("[data-share-link]");
const status = document.querySelector("[data-copy-status]");

if (field && copyButton && navigator.clipboard) {
  copyButton.hidden = false;
  copyButton.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(field.value);
      status.textContent = "Link copied.";
    } catch {
      field.select();
      status.textContent = "Select the link and copy it.";
    }
  });
}

if (field && shareButton && navigator.share) {
  shareButton.hidden = false;
  shareButton.addEventListener("click", () => {
    navigator.share({ title: "My Skinlog progress", url: field.value }).catch(() => {});
  });
}
