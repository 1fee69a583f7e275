// The account page's "Remind me on this device": shows the button where this browser can be
// reminded (else how to get there: the Home Screen on iOS, the calendar elsewhere), marks this
// browser's row in the device list, and subscribes or unsubscribes it on a tap, saying how that
// went in a live region. Nothing here asks for permission until the button is tapped.
import { PushFailed, currentSubscription, endpointTag, pushBlocker, subscribe, unsubscribe }
  from "./push.js";

const panel = document.querySelector("[data-push-panel]");
const list = document.querySelector("[data-device-list]");
const subscribeButton = panel && panel.querySelector("[data-push-subscribe]");
const unsubscribeButton = panel && panel.querySelector("[data-push-unsubscribe]");
const status = panel && panel.querySelector("[data-push-status]");

const FAILURES = {
  denied: "Notifications are blocked for Skinlog. Allow them in this browser's site settings, then "
    + "tap the button again, or add the reminders to your calendar.",
  "push-service": "This browser could not set up reminders with its push service, so it cannot "
    + "remind you here. Add the reminders to your calendar instead.",
};

// This browser's row in the list, found by the SHA-256 of its endpoint (account.py's tag).
async function thisDeviceRow() {
  const subscription = "serviceWorker" in navigator ? await currentSubscription() : null;
  if (!subscription) return null;
  const tag = await endpointTag(subscription.endpoint);
  return list.querySelector(`[data-device-tag="${tag}"]`);
}

function showSubscribed(row) {
  for (const mark of list.querySelectorAll("[data-this-device]")) mark.hidden = true;
  if (row) row.querySelector("[data-this-device]").hidden = false;
  subscribeButton.hidden = Boolean(row);
  unsubscribeButton.hidden = !row;
  document.querySelector("[data-no-devices]").hidden = list.children.length > 0;
}

function addRow(device) {
  const stale = list.querySelector(`[data-device-id="${device.id}"]`);
  if (stale) stale.remove();
  const row = document.querySelector("[data-device-row]").content.firstElementChild.cloneNode(true);
  row.dataset.deviceId = device.id;
  row.querySelector("[data-device-name]").textContent = device.device || "A browser";
  row.querySelector("[data-remove-name]").textContent = ` ${device.device || "A browser"}, added just now`;
  const form = row.querySelector("form");
  form.action = form.getAttribute("action").replace("/0/", `/${device.id}/`);
  list.append(row);
  return row;
}

async function onSubscribe() {
  subscribeButton.disabled = true;
  status.textContent = "Turning on reminders…";
  try {
    const device = await subscribe();
    const row = addRow(device);
    row.dataset.deviceTag = await endpointTag((await currentSubscription()).endpoint);
    showSubscribed(row);
    status.textContent = "This device will remind you.";
  } catch (error) {
    console.warn("Reminders not turned on:", error.message); // the browser's own words
    status.textContent = error instanceof PushFailed && FAILURES[error.reason]
      ? FAILURES[error.reason]
      : `Reminders could not be turned on: ${error.message}`;
  } finally {
    subscribeButton.disabled = false;
  }
}

async function onUnsubscribe() {
  unsubscribeButton.disabled = true;
  try {
    const row = await thisDeviceRow();
    await unsubscribe(row && row.dataset.deviceId);
    if (row) row.remove();
    showSubscribed(null);
    status.textContent = "This device will not remind you any more.";
  } catch (error) {
    status.textContent = `Reminders could not be stopped: ${error.message}`;
  } finally {
    unsubscribeButton.disabled = false;
  }
}

async function start() {
  const blocker = pushBlocker();
  if (blocker === "ios-tab") {
    panel.querySelector("[data-push-ios]").hidden = false;
    return;
  }
  if (blocker) {
    panel.querySelector("[data-push-unsupported]").hidden = false;
    return;
  }
  subscribeButton.addEventListener("click", onSubscribe);
  unsubscribeButton.addEventListener("click", onUnsubscribe);
  showSubscribed(await thisDeviceRow().catch(() => null));
}

if (panel && list) start();
