// Web Push for reminders, the browser's side: can this browser be reminded, subscribe it (asking
// for notification permission, which only a tap may start), and unsubscribe it. The server side
// is the subscription API (docs/api.md, "Push subscriptions").
import { API, freshToken } from "../outbox/api.js";

// Why this browser cannot be reminded, or "" when it can. iOS gives push only to web apps opened
// from the Home Screen (16.4 and later): in a Safari tab it has no PushManager at all.
export function pushBlocker() {
  const iOS = /iPhone|iPad|iPod/.test(navigator.userAgent)
    || (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1); // iPadOS says "Mac"
  const standalone = navigator.standalone === true
    || window.matchMedia("(display-mode: standalone)").matches;
  if (iOS && !standalone) return "ios-tab";
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    return "unsupported";
  }
  return "";
}

// Some browsers never settle subscribe() when they have no push service (ungoogled-chromium);
// the page must not wait forever.
const SUBSCRIBE_TIMEOUT_MS = 20 * 1000;

// A refusal the page explains in words: `reason` is "denied", "push-service" or "server".
export class PushFailed extends Error {
  constructor(reason, message) { super(message); this.reason = reason; }
}

async function registration() {
  return (await navigator.serviceWorker.getRegistration("/"))
    || navigator.serviceWorker.register("/sw.js", { scope: "/", type: "module" });
}

export async function currentSubscription() {
  const worker = await navigator.serviceWorker.getRegistration("/");
  return worker ? worker.pushManager.getSubscription() : null;
}

// The hex SHA-256 of an endpoint: the tag the device list marks each row with.
export async function endpointTag(endpoint) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(endpoint));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = (await freshToken()).csrf_token;
  if (body) headers["Content-Type"] = "application/json";
  const response = await fetch(`${API}${path}`, {
    method, headers, credentials: "same-origin", cache: "no-store",
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = (response.headers.get("Content-Type") || "").includes("application/json")
    ? await response.json().catch(() => null) : null;
  if (!response.ok) {
    const message = (data && data.error && data.error.message) || `The server answered ${response.status}.`;
    throw new PushFailed("server", message);
  }
  return data;
}

function keyBytes(base64url) {
  const text = atob(base64url.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}

function sameBytes(buffer, bytes) {
  const other = buffer ? new Uint8Array(buffer) : new Uint8Array();
  return other.length === bytes.length && other.every((byte, index) => byte === bytes[index]);
}

// Asks for permission (call it from a tap), subscribes this browser and stores the subscription
// on the server. Returns the stored device (push_subscription_json).
export async function subscribe() {
  const permission = await Notification.requestPermission();
  if (permission !== "granted") {
    throw new PushFailed("denied", "Notifications are not allowed for Skinlog in this browser.");
  }
  const worker = await registration();
  const key = keyBytes((await api("GET", "/push/key")).key);
  // A subscription made with another server key (the key was replaced) cannot be reused:
  // subscribe() would refuse it, so it is dropped first.
  const old = await worker.pushManager.getSubscription();
  if (old && !sameBytes(old.options.applicationServerKey, key)) await old.unsubscribe();
  let subscription;
  try {
    subscription = await Promise.race([
      worker.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }),
      new Promise((_, reject) => {
        setTimeout(() => reject(new DOMException("no answer", "TimeoutError")), SUBSCRIBE_TIMEOUT_MS);
      }),
    ]);
  } catch (error) {
    throw new PushFailed("push-service", `${error.name}: ${error.message}`);
  }
  return api("POST", "/push-subscriptions", subscription.toJSON());
}

// Stops reminders on this browser: the server forgets the device `id` (if given), then the
// browser drops its subscription.
export async function unsubscribe(id) {
  if (id) await api("DELETE", `/push-subscriptions/${id}`);
  const subscription = await currentSubscription();
  if (subscription) await subscription.unsubscribe();
}
