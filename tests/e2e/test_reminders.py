"""The account page's reminders on a phone (issue 15): settings saved, no permission asked on load,
"Remind me on this device" asking only on the tap, the device listed with Remove, the service
worker showing a pushed reminder and opening Log on tap, iOS Safari in a tab told to add Skinlog
to the Home Screen, and the section passing axe-core.

Headless Chromium here has no push service (Google's FCM, unreachable from this closed network):
pushManager.subscribe fails, and the test checks the page says so in plain words. The rest of the
flow is then driven with the browser's push subscription stood in for (PushManager's subscribe and
getSubscription replaced by an init script), and a push is delivered to the service worker through
DevTools (ServiceWorker.deliverPushMessage), as the push service would.
"""

from __future__ import annotations

import contextlib
import json
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from tests.e2e.conftest import wait_until
from webapp.demo import create_demo_account

EMAIL, PASSWORD = "alex@example.com", "demo-password"

# Counts what would ask the patient for permission or subscribe, so a test can tell that loading
# the page did neither. Runs before the page's own scripts (an init script is not subject to CSP).
COUNT_ASKS = """
(() => {
    window.__asks = { permission: 0, subscribe: 0 };
    if (window.Notification) {
        const ask = Notification.requestPermission.bind(Notification);
        Notification.requestPermission = (...args) => {
            window.__asks.permission++;
            return ask(...args);
        };
    }
    if (window.PushManager) {
        const subscribe = PushManager.prototype.subscribe;
        PushManager.prototype.subscribe = function (...args) {
            window.__asks.subscribe++;
            return subscribe.apply(this, args);
        };
    }
})();
"""

# A push service standing in for FCM: subscribe() gives a subscription with a real-looking
# endpoint and keys, remembered in localStorage so getSubscription() finds it after a reload.
STUB_PUSH_SERVICE = """
(() => {
    const KEY = "test-push-subscription";
    const make = (json) => ({
        endpoint: json.endpoint, expirationTime: null, options: {},
        toJSON: () => json,
        unsubscribe: async () => { localStorage.removeItem(KEY); return true; },
    });
    PushManager.prototype.subscribe = async function (options) {
        if (!options || !options.userVisibleOnly || !options.applicationServerKey) {
            throw new DOMException("bad options", "NotSupportedError");
        }
        const json = {
            endpoint: "https://push.example.org/send/e2e-phone", expirationTime: null,
            keys: { p256dh: "__P256DH__", auth: "AAECAwQFBgcICQoLDA0ODw" },
        };
        localStorage.setItem(KEY, JSON.stringify(json));
        return make(json);
    };
    PushManager.prototype.getSubscription = async function () {
        const stored = localStorage.getItem(KEY);
        return stored ? make(JSON.parse(stored)) : null;
    };
})();
"""
# A public key from a real browser subscription (P-256, uncompressed).
P256DH = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"

LIST_DEVICES = """async () => {
    const response = await fetch("/api/v1/push-subscriptions");
    return (await response.json()).subscriptions;
}"""

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def patient_account(live_app) -> None:
    with live_app.app_context():
        create_demo_account(EMAIL, PASSWORD, days=5)


def log_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").tap()
    page.wait_for_url(f"{base_url}/")


def open_reminders(page, base_url: str):
    page.goto(f"{base_url}/account")
    page.wait_for_load_state("networkidle")
    section = page.get_by_role("region", name="Reminders", exact=True)
    section.get_by_role("heading", name="Devices reminded").scroll_into_view_if_needed()
    return section


def shoot_section(page, path) -> None:
    """A screenshot of the reminders section alone (the account page is long)."""
    page.get_by_role("region", name="Reminders", exact=True).screenshot(path=path)


def asks(page) -> dict[str, int]:
    return page.evaluate("() => window.__asks")


def wait_for_service_worker(page) -> None:
    page.wait_for_function(
        """async () => {
            const registration = await navigator.serviceWorker.getRegistration("/");
            return Boolean(registration && registration.active
                && registration.active.state === "activated");
        }"""
    )


def test_settings_are_saved_and_nothing_is_asked_on_load(
    patient_account, live_server, phone, screenshots
):
    context = phone()
    context.add_init_script(COUNT_ASKS)
    page = context.new_page()
    log_in(page, live_server.url)
    section = open_reminders(page, live_server.url)
    expect(section.get_by_role("button", name="Remind me on this device")).to_be_visible()
    expect(section.get_by_text("No device is reminded yet.")).to_be_visible()
    assert page.evaluate("() => Notification.permission") == "default"
    assert asks(page) == {"permission": 0, "subscribe": 0}
    shoot_section(page, screenshots / "01-reminders-section.png")

    section.get_by_label("Remind me to log every day").check()
    section.get_by_label("Reminder time").fill("07:30")
    section.get_by_label("Tell me when my next session may be due").uncheck()
    section.get_by_role("button", name="Save reminders").tap()
    expect(page.get_by_text("Your reminder settings are saved.")).to_be_visible()
    section = page.get_by_role("region", name="Reminders", exact=True)
    expect(section.get_by_label("Remind me to log every day")).to_be_checked()
    expect(section.get_by_label("Reminder time")).to_have_value("07:30")
    expect(section.get_by_label("Tell me when my next session may be due")).not_to_be_checked()
    assert asks(page) == {"permission": 0, "subscribe": 0}

    section.get_by_label("Reminder time").fill("")
    section.get_by_role("button", name="Save reminders").tap()
    expect(section.get_by_text("Enter a time like 20:00")).to_be_visible()
    expect(section.get_by_label("Reminder time")).to_have_attribute("aria-invalid", "true")
    shoot_section(page, screenshots / "02-bad-time.png")


def test_tapping_asks_once_and_says_when_the_browser_has_no_push_service(
    patient_account, live_server, phone, screenshots
):
    context = phone()
    context.add_init_script(COUNT_ASKS)
    page = context.new_page()
    log_in(page, live_server.url)
    context.grant_permissions(["notifications"], origin=live_server.url)
    section = open_reminders(page, live_server.url)
    wait_for_service_worker(page)
    assert asks(page) == {"permission": 0, "subscribe": 0}

    section.get_by_role("button", name="Remind me on this device").tap()
    status = section.get_by_role("status")
    expect(status).not_to_have_text(re.compile(r"^(Turning on reminders…)?$"))
    shoot_section(page, screenshots / "03-after-tap.png")
    assert asks(page) == {"permission": 1, "subscribe": 1}
    said = status.text_content()
    # The real subscribe against the browser's push service: here, with no network, it fails, and
    # the page says why in plain words; where the browser reaches one, the device is listed.
    if said == "This device will remind you.":
        expect(section.get_by_text("(this device)")).to_be_visible()
    else:
        assert said.startswith("This browser could not set up reminders with its push"), said
        expect(section.get_by_text("No device is reminded yet.")).to_be_visible()
        reasons = [line for line in context.console_lines if "Reminders not turned on" in line]
        print(f"pushManager.subscribe failed here: {reasons}; the page said: {said!r}")


def test_a_refused_permission_is_explained(patient_account, live_server, phone, screenshots):
    context = phone()  # permission not granted: headless Chromium answers the prompt "denied"
    context.add_init_script(COUNT_ASKS)
    page = context.new_page()
    log_in(page, live_server.url)
    section = open_reminders(page, live_server.url)
    section.get_by_role("button", name="Remind me on this device").tap()
    expect(section.get_by_role("status")).to_have_text(
        re.compile(r"^Notifications are blocked for Skinlog\. Allow them in this browser's")
    )
    assert asks(page) == {"permission": 1, "subscribe": 0}
    expect(section.get_by_text("No device is reminded yet.")).to_be_visible()
    shoot_section(page, screenshots / "03b-permission-refused.png")


def test_a_phone_subscribes_is_listed_and_stops(patient_account, live_server, phone, screenshots):
    context = phone()
    context.add_init_script(COUNT_ASKS)
    context.add_init_script(STUB_PUSH_SERVICE.replace("__P256DH__", P256DH))
    page = context.new_page()
    log_in(page, live_server.url)
    context.grant_permissions(["notifications"], origin=live_server.url)
    section = open_reminders(page, live_server.url)
    wait_for_service_worker(page)

    section.get_by_role("button", name="Remind me on this device").tap()
    expect(section.get_by_role("status")).to_have_text("This device will remind you.")
    devices = section.get_by_role("list").filter(
        has=page.get_by_role("button", name=re.compile("^Remove"))
    )
    expect(devices.get_by_role("listitem")).to_have_count(1)
    expect(devices.get_by_text("(this device)")).to_be_visible()
    expect(devices.get_by_text("Chrome on Android", exact=True)).to_be_visible()
    expect(section.get_by_role("button", name="Stop reminders on this device")).to_be_visible()
    expect(section.get_by_role("button", name="Remind me on this device")).to_be_hidden()
    shoot_section(page, screenshots / "04-subscribed.png")

    # Stored on the server, through the API the page used (with its CSRF header).
    listed = page.evaluate(LIST_DEVICES)
    assert [(d["device"], d["push_service"]) for d in listed] == [
        ("Chrome on Android", "push.example.org")
    ]

    # After a reload the server-drawn row is found as this device's by its endpoint's digest.
    section = open_reminders(page, live_server.url)
    expect(section.get_by_text("(this device)")).to_be_visible()
    expect(section.get_by_role("button", name="Stop reminders on this device")).to_be_visible()
    assert asks(page) == {"permission": 0, "subscribe": 0}

    section.get_by_role("button", name="Stop reminders on this device").tap()
    expect(section.get_by_role("status")).to_have_text("This device will not remind you any more.")
    expect(section.get_by_text("No device is reminded yet.")).to_be_visible()
    expect(section.get_by_role("button", name="Remind me on this device")).to_be_visible()
    shoot_section(page, screenshots / "05-stopped.png")
    assert page.evaluate(LIST_DEVICES) == []


def test_the_subscription_api_from_the_page_and_remove_without_script(
    patient_account, live_server, phone, screenshots
):
    page = phone().new_page()
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/account")
    body = {
        "endpoint": "https://push.example.org/send/from-the-page",
        "expirationTime": None,
        "keys": {"p256dh": P256DH, "auth": "AAECAwQFBgcICQoLDA0ODw"},
    }
    answers = page.evaluate(
        """async (body) => {
            const { csrf_token } = await (await fetch("/api/v1/csrf")).json();
            const post = (headers) => fetch("/api/v1/push-subscriptions", { method: "POST",
                headers: { "Content-Type": "application/json", ...headers },
                body: JSON.stringify(body) });
            const refused = await post({});
            const created = await post({ "X-CSRFToken": csrf_token });
            const again = await post({ "X-CSRFToken": csrf_token });
            return [refused.status, created.status, again.status, await again.json()];
        }""",
        body,
    )
    assert answers[:3] == [403, 201, 200]
    assert answers[3]["push_service"] == "push.example.org"

    section = open_reminders(page, live_server.url)
    remove = section.get_by_role("button", name=re.compile(r"^Remove Chrome on Android"))
    expect(remove).to_be_visible()
    shoot_section(page, screenshots / "06-listed.png")
    remove.tap()
    expect(page.get_by_text("That device will not be reminded any more.")).to_be_visible()
    expect(page.get_by_text("No device is reminded yet.")).to_be_visible()


def deliver_push(page, payload: dict) -> None:
    """What the push service does: a push message to the page's service worker (DevTools)."""
    cdp = page.context.new_cdp_session(page)
    registrations: list[dict] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(r for r in event["registrations"] if not r["isDeleted"]),
    )
    cdp.send("ServiceWorker.enable")

    def listed() -> bool:
        page.wait_for_timeout(20)
        return bool(registrations)

    wait_until(listed, "the service worker is listed")
    registration = registrations[-1]
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": registration["scopeURL"].rstrip("/"),
            "registrationId": registration["registrationId"],
            "data": json.dumps(payload),
        },
    )
    cdp.detach()


def test_a_pushed_reminder_is_shown_and_opens_log(patient_account, live_server, phone, screenshots):
    context = phone()
    page = context.new_page()
    log_in(page, live_server.url)
    context.grant_permissions(["notifications"], origin=live_server.url)
    page.goto(f"{live_server.url}/account")
    wait_for_service_worker(page)
    # The page must be controlled for the tap to navigate it (WindowClient.navigate). A page
    # loaded before the worker's claim is not; reloaded, it is, though on a busy machine the
    # reload can still land first (as in test_offline.wait_until_offline_ready).
    controlled = "() => Boolean(navigator.serviceWorker.controller)"
    for _attempt in range(3):
        if page.evaluate(controlled):
            break
        page.reload()
        with contextlib.suppress(PlaywrightTimeoutError):
            page.wait_for_function(controlled, timeout=10_000)
    page.wait_for_function(controlled)
    (worker,) = context.service_workers

    deliver_push(
        page, {"title": "Skinlog", "body": "Time to log day 3 after session 2", "url": "/log"}
    )
    shown = """async () => (await self.registration.getNotifications()).map((n) => ({
        title: n.title, body: n.body, icon: n.icon, url: n.data && n.data.url }))"""
    wait_until(lambda: worker.evaluate(shown), "the notification is shown")
    (notification,) = worker.evaluate(shown)
    assert notification["title"] == "Skinlog"
    assert notification["body"] == "Time to log day 3 after session 2"
    assert notification["icon"].endswith("/static/icons/icon-192.png")
    assert notification["url"] == "/log"

    # A payload pointing off the site opens Log instead.
    deliver_push(page, {"title": "Skinlog", "body": "x", "url": "https://evil.example/"})
    wait_until(
        lambda: [n["body"] for n in worker.evaluate(shown)] == ["x"],
        "the second replaces the first",
    )
    assert worker.evaluate(shown)[0]["url"] == "/log"

    # The tap: the open Skinlog window goes to the reminder's page.
    worker.evaluate(
        """async () => {
            const [notification] = await self.registration.getNotifications();
            self.dispatchEvent(new NotificationEvent("notificationclick", { notification }));
        }"""
    )
    page.wait_for_url(f"{live_server.url}/log")
    page.screenshot(path=screenshots / "07-opened-log.png")


def test_a_subscription_the_browser_replaces_is_sent_to_the_server(
    patient_account, live_server, phone
):
    context = phone()
    page = context.new_page()
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/account")
    wait_for_service_worker(page)
    (worker,) = context.service_workers
    # What the browser fires when it renews a subscription; Chromium never does by itself.
    worker.evaluate(
        """(p256dh) => {
            const event = new ExtendableEvent("pushsubscriptionchange");
            const json = { endpoint: "https://push.example.org/send/renewed", expirationTime: null,
                keys: { p256dh, auth: "AAECAwQFBgcICQoLDA0ODw" } };
            Object.defineProperty(event, "newSubscription", { value: { toJSON: () => json } });
            self.dispatchEvent(event);
        }""",
        P256DH,
    )
    wait_until(lambda: page.evaluate(LIST_DEVICES), "the server has the renewed subscription")
    (device,) = page.evaluate(LIST_DEVICES)
    assert (device["device"], device["push_service"]) == ("Chrome on Android", "push.example.org")


def test_iphone_safari_in_a_tab_is_told_to_add_skinlog_to_the_home_screen(
    patient_account, live_server, phone, screenshots
):
    context = phone(user_agent=IPHONE_SAFARI)
    context.add_init_script(COUNT_ASKS)
    page = context.new_page()
    log_in(page, live_server.url)
    section = open_reminders(page, live_server.url)
    expect(
        section.get_by_text("Skinlog can remind you only once it is on your Home Screen")
    ).to_be_visible()
    expect(section.get_by_text('Choose "Add to Home Screen", then "Add".')).to_be_visible()
    expect(section.get_by_role("button", name="Remind me on this device")).to_be_hidden()
    expect(section.get_by_role("button", name="Make a calendar address")).to_be_visible()
    assert asks(page) == {"permission": 0, "subscribe": 0}
    shoot_section(page, screenshots / "08-iphone-in-a-tab.png")


RUN_AXE_ON_SECTION = """async () => {
    const results = await axe.run("[data-reminders]", { resultTypes: ["violations"] });
    return results.violations.filter((v) => ["serious", "critical"].includes(v.impact))
        .map((v) => `${v.impact} ${v.id}: ${v.help} ${v.nodes.map((n) => n.target).join(", ")}`);
}"""


def test_the_reminders_section_has_no_serious_accessibility_violation(
    live_app, patient_account, live_server, phone, screenshots
):
    from tests.e2e.test_accessibility import AXE

    found = {}
    for scheme in ("light", "dark"):
        # bypass_csp: axe is injected as an inline script (see test_accessibility.py).
        page = phone(color_scheme=scheme, bypass_csp=True).new_page()
        log_in(page, live_server.url)
        page.goto(f"{live_server.url}/account")
        # With a device listed and the error shown, so every part of the section is checked.
        page.evaluate(
            """async (p256dh) => {
                const { csrf_token } = await (await fetch("/api/v1/csrf")).json();
                await fetch("/api/v1/push-subscriptions", { method: "POST",
                    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf_token },
                    body: JSON.stringify({ endpoint: `https://push.example.org/${Math.random()}`,
                        keys: { p256dh, auth: "AAECAwQFBgcICQoLDA0ODw" } }) });
            }""",
            P256DH,
        )
        section = open_reminders(page, live_server.url)
        section.get_by_label("Reminder time").fill("")
        section.get_by_role("button", name="Save reminders").tap()
        expect(section.get_by_text("Enter a time like 20:00")).to_be_visible()
        page.get_by_role("region", name="Reminders", exact=True).scroll_into_view_if_needed()
        shoot_section(page, screenshots / f"09-section-{scheme}.png")
        page.add_script_tag(path=str(AXE))
        if violations := page.evaluate(RUN_AXE_ON_SECTION):
            found[scheme] = violations
    assert not found, f"axe found serious or critical violations: {found}"
