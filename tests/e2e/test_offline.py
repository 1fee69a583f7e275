"""Offline-first on a phone: install, log with no signal, sync exactly once (issue 3).

"Offline" here is three things at once, because Playwright's set_offline does not cut a service
worker's own fetches: the context is set offline (navigator.onLine, the page's requests), a
context route aborts every request (the service worker's too), and a gate in front of the server
records any request that still gets through while every phone is offline — the tests assert it
saw none. So a page that opens while offline came from the service worker's cache.
"""

from __future__ import annotations

import contextlib
import re
import threading
from datetime import date, timedelta

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, in_flight
from tests.e2e.log_form import expect_rated, rate
from tests.e2e.test_first_week import register
from tests.photo_factory import make_photo
from webapp.extensions import db
from webapp.models import Entry, LoginSession, Photo, TreatmentSession

PASSWORD = "a long enough password"
TODAY = date.today()
SYNC_TIMEOUT = 30_000


class Gate:
    """WSGI middleware: while `closed`, records (and refuses) every request reaching the server."""

    def __init__(self, app) -> None:
        self.app = app
        self.closed = False
        self.leaks: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        if self.closed:
            # The browser's own update check of the worker bypasses routes: it fetches /sw.js and
            # then the modules it imports, all with Sec-Fetch-Dest "serviceworker" (the worker's
            # own fetch() calls say "empty" and are routed). A real outage fails the check
            # harmlessly (the installed worker stays), so it is refused but not counted.
            if environ.get("HTTP_SEC_FETCH_DEST") != "serviceworker":
                with self._lock:
                    self.leaks.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"the test network is down"]
        return self.app(environ, start_response)


@pytest.fixture
def gate(live_app) -> Gate:
    gate = Gate(live_app.wsgi_app)
    live_app.wsgi_app = gate
    return gate


@pytest.fixture
def server(live_app, gate):
    server = LiveServer(live_app).start()
    yield server
    server.stop()


def _abort(route) -> None:
    route.abort("internetdisconnected")


def go_offline(gate: Gate, *contexts) -> None:
    """Cuts the network, lets the requests sent before the cut finish (or fail), then closes the
    gate: a request still on its way would reach the server after it, and count as a leak."""
    for context in contexts:
        context.set_offline(True)
        context.route("**/*", _abort)
    for context in contexts:
        in_flight(context).wait_until_none()
    gate.closed = True


def go_online(context) -> None:
    context.unroute("**/*", _abort)
    context.set_offline(False)


def wait_until_offline_ready(page) -> None:
    """The service worker controls the page, has finished refreshing the pages needed to log
    offline that this page asked for (none of its downloads is still in flight), and holds them."""
    # Functions, not expressions: Playwright evals expression strings, which our CSP forbids.
    page.wait_for_function(
        """async () => {
            const registration = await navigator.serviceWorker.getRegistration();
            return Boolean(registration && registration.active
                && registration.active.state === "activated");
        }"""
    )
    controlled = "() => Boolean(navigator.serviceWorker.controller)"
    for _attempt in range(3):
        if page.evaluate(controlled):
            break
        # A page whose navigation started before the worker was activated is never controlled
        # by it (clients.claim() skips a page still loading); loaded again, it is. On a loaded
        # machine a reload can still land before the claim, so it is tried again.
        page.reload()
        with contextlib.suppress(PlaywrightTimeoutError):
            page.wait_for_function(controlled, timeout=10_000)
    page.wait_for_function(controlled)
    # sw-register.js marks the page once the worker has answered its "warm-shell" request.
    page.wait_for_function("() => Boolean(document.documentElement.dataset.shellWarm)")
    assert page.evaluate("() => document.documentElement.dataset.shellWarm") == "done"
    page.wait_for_function(
        """async () => {
            const names = await caches.keys();
            const pages = names.find((name) => name.startsWith("skinlog-pages-"));
            if (!pages) return false;
            const cache = await caches.open(pages);
            return Boolean(await cache.match("/log?shell=1"))
                && Boolean(await cache.match("/sessions/new"));
        }"""
    )


def waiting(page):
    return page.locator("[data-outbox-count]")


def log_entry(page, base: str, day: date, *, redness: str, photo=None, notes: str = "") -> None:
    page.goto(f"{base}/log?date={day.isoformat()}")
    expect(page.get_by_label("Date")).to_have_value(day.isoformat())
    rate(page, "Redness", redness)
    if notes:
        page.get_by_label("Notes").fill(notes)
    if photo is not None:
        page.get_by_label("Photo 1", exact=True).set_input_files(str(photo))
        page.get_by_label("Area of photo 1").select_option("left_cheek")
    page.get_by_role("button", name="Save entry").tap()
    expect(page.get_by_text("Saved on this phone.")).to_be_visible()


def login(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").tap()
    page.wait_for_url(f"{base}/")


def record_session(page, base: str, day: date, depth: str = "1.0") -> None:
    page.goto(f"{base}/sessions/new")
    page.get_by_label("Date of the session").fill(day.isoformat())
    page.get_by_label("Device").select_option("pen")
    page.get_by_label("Needle depth (mm)").fill(depth)
    page.get_by_label("Left cheek").check()
    page.get_by_role("button", name="Save session").tap()


def test_install_then_log_three_days_offline_and_sync_exactly_once(
    page, server, gate, live_app, screenshots, tmp_path
):
    base = server.url
    register(page, base, "offline@example.com")
    wait_until_offline_ready(page)

    # Installable: Chromium's own check (manifest, icons, a controlling service worker).
    cdp = page.context.new_cdp_session(page)
    # Playwright's contexts are incognito, which Chromium reports on its own: that one is ours.
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert [e["errorId"] for e in errors if e["errorId"] != "in-incognito"] == []
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["url"] == f"{base}/manifest.webmanifest" and not manifest["errors"]
    scope = page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.scope)")
    assert scope == f"{base}/"

    go_offline(gate, page.context)
    page.goto(f"{base}/")  # opens from the service worker's cache
    expect(page.get_by_role("heading", name="Hello, Nia")).to_be_visible()
    page.screenshot(path=screenshots / "01-today-offline.png", full_page=True)

    days = [TODAY - timedelta(days=2), TODAY - timedelta(days=1), TODAY]
    for number, day in enumerate(days, start=1):
        photo = tmp_path / f"day{number}.jpg"
        # The first photo is a 12 MP-class image: it must be shrunk on the phone.
        photo.write_bytes(make_photo(3200, 2400) if number == 1 else make_photo(1200, 900))
        log_entry(page, base, day, redness=str(number + 3), photo=photo)
    expect(waiting(page)).to_have_attribute("data-outbox-count", "3")
    page.screenshot(path=screenshots / "02-saved-offline.png", full_page=True)

    # The queued photos are ArrayBuffers, and the big one was shrunk to a long side of 2048 px.
    sides = page.evaluate(
        """async () => {
            const { all } = await import("/static/js/outbox/queue.js");
            const out = [];
            for (const item of await all()) for (const photo of item.photos) {
                if (!(photo.data instanceof ArrayBuffer)) return "not an ArrayBuffer";
                const bitmap = await createImageBitmap(new Blob([photo.data], {type: photo.type}));
                out.push(Math.max(bitmap.width, bitmap.height));
            }
            return out.sort((a, b) => a - b);
        }"""
    )
    assert sides == [1200, 1200, 2048]

    page.reload()  # still offline: the outbox survives
    expect(waiting(page)).to_have_attribute("data-outbox-count", "3")
    expect(page.get_by_text("3 items waiting to upload.")).to_be_visible()
    page.screenshot(path=screenshots / "03-reloaded-offline.png", full_page=True)
    page.goto(f"{base}/entries")  # needs the server: says so
    expect(page.get_by_role("heading", name="This page needs a connection")).to_be_visible()
    page.screenshot(path=screenshots / "04-needs-connection.png", full_page=True)
    assert gate.leaks == [], "requests reached the server while offline"

    gate.closed = False
    go_online(page.context)  # the `online` event starts the sync on whatever page is open
    page.goto(f"{base}/")
    expect(waiting(page)).to_have_attribute("data-outbox-count", "0", timeout=SYNC_TIMEOUT)
    expect(page.get_by_text("Everything is uploaded.")).to_be_visible()
    page.screenshot(path=screenshots / "05-synced.png", full_page=True)

    with live_app.app_context():
        entries = db.session.execute(db.select(Entry).order_by(Entry.date)).scalars().all()
        assert [(e.date, e.redness) for e in entries] == [(d, n + 3) for n, d in enumerate(days, 1)]
        assert [len(e.photos) for e in entries] == [1, 1, 1]
        assert db.session.query(Photo).count() == 3
        assert max(entries[0].photos[0].width, entries[0].photos[0].height) <= 2048


def test_a_photo_upload_replayed_after_a_dropped_answer_stores_one_photo(
    page, server, live_app, tmp_path
):
    base = server.url
    register(page, base, "replay@example.com")
    attempts: list[str] = []

    def drop_first_answer(route) -> None:
        attempts.append(route.request.url)
        if len(attempts) == 1:
            route.fetch()  # the server stores the photo...
            route.abort("connectionreset")  # ...but the phone never hears back
        else:
            route.continue_()

    # On the context: the service worker's Background Sync may be the one that uploads.
    page.context.route("**/api/v1/entries/*/photos/*", drop_first_answer)
    photo = tmp_path / "cheek.jpg"
    photo.write_bytes(make_photo(1000, 800))
    page.goto(f"{base}/log")
    rate(page, "Redness", "5")
    page.get_by_label("Photo 1", exact=True).set_input_files(str(photo))
    page.get_by_role("button", name="Save entry").tap()
    expect(page.get_by_text("Saved on this phone.")).to_be_visible()
    expect(waiting(page)).to_have_attribute("data-outbox-count", "0", timeout=SYNC_TIMEOUT)

    assert len(attempts) == 2 and attempts[0] == attempts[1]  # the same photo uuid, twice
    with live_app.app_context():
        assert db.session.query(Photo).count() == 1
        assert db.session.query(Entry).count() == 1


def test_two_phones_edit_the_same_day_offline_and_the_later_edit_wins_on_both(
    phone, server, gate, live_app, screenshots
):
    base = server.url
    first, second = phone(), phone()
    page_a, page_b = first.new_page(), second.new_page()
    register(page_a, base, "two@example.com")
    login(page_b, base, "two@example.com")
    page_a.goto(f"{base}/")
    page_b.goto(f"{base}/")
    wait_until_offline_ready(page_a)
    wait_until_offline_ready(page_b)

    go_offline(gate, first, second)
    day = TODAY - timedelta(days=1)
    log_entry(page_a, base, day, redness="3", notes="earlier edit on phone A")
    log_entry(page_b, base, day, redness="8", notes="later edit on phone B")
    assert gate.leaks == []
    gate.closed = False

    # The later edit arrives first; the earlier one arrives late, is merged into the same day
    # (409 date_taken -> the existing uuid) and loses by client_updated_at.
    go_online(second)
    expect(waiting(page_b)).to_have_attribute("data-outbox-count", "0", timeout=SYNC_TIMEOUT)
    go_online(first)
    expect(waiting(page_a)).to_have_attribute("data-outbox-count", "0", timeout=SYNC_TIMEOUT)

    for name, page in (("a", page_a), ("b", page_b)):
        page.goto(f"{base}/log?date={day.isoformat()}")
        expect(page.get_by_label("Notes")).to_have_value("later edit on phone B")
        expect_rated(page, "Redness", "8")
        page.screenshot(path=screenshots / f"phone-{name}-after-sync.png", full_page=True)
    with live_app.app_context():
        entries = db.session.execute(db.select(Entry)).scalars().all()
        assert [(e.date, e.redness, e.notes) for e in entries] == [
            (day, 8, "later edit on phone B")
        ]


def test_sync_after_the_login_expired_keeps_the_outbox_and_finishes_after_login(
    page, server, gate, live_app, screenshots
):
    base = server.url
    register(page, base, "expired@example.com")
    wait_until_offline_ready(page)
    go_offline(gate, page.context)
    log_entry(page, base, TODAY, redness="6")
    record_session(page, base, TODAY, depth="1.25")  # a treatment session offline too
    expect(page.get_by_text("Saved on this phone.")).to_be_visible()
    expect(waiting(page)).to_have_attribute("data-outbox-count", "2")
    assert gate.leaks == []
    gate.closed = False

    with live_app.app_context():  # the login ends on the server while the phone is away
        db.session.execute(db.delete(LoginSession))
        db.session.commit()

    go_online(page.context)
    alert = page.get_by_role("alert").filter(has_text="You are logged out")
    expect(alert).to_be_visible(timeout=SYNC_TIMEOUT)
    expect(waiting(page)).to_have_attribute("data-outbox-count", "2")
    page.screenshot(path=screenshots / "01-logged-out.png", full_page=True)
    with live_app.app_context():
        assert db.session.query(Entry).count() == 0

    alert.get_by_role("link", name="Log in").tap()
    page.get_by_label("Email").fill("expired@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").tap()
    expect(waiting(page)).to_have_attribute("data-outbox-count", "0", timeout=SYNC_TIMEOUT)
    page.screenshot(path=screenshots / "02-synced-after-login.png", full_page=True)
    with live_app.app_context():
        assert [e.redness for e in db.session.execute(db.select(Entry)).scalars()] == [6]
        sessions = db.session.execute(db.select(TreatmentSession)).scalars().all()
        assert [(s.needle_depth_mm, s.areas) for s in sessions] == [(1.25, ["left_cheek"])]


def test_a_rejected_item_stays_with_its_reason_until_fixed(
    page, server, gate, live_app, screenshots, tmp_path
):
    base = server.url
    register(page, base, "rejected@example.com")
    wait_until_offline_ready(page)
    fake = tmp_path / "holiday.jpg"
    fake.write_bytes(b"this is not a picture at all " * 40)
    go_offline(gate, page.context)
    log_entry(page, base, TODAY, redness="2", photo=fake)
    assert gate.leaks == []
    gate.closed = False
    go_online(page.context)

    rejected = page.locator(".outbox-rejected")
    expect(rejected).to_contain_text("was not accepted", timeout=SYNC_TIMEOUT)
    expect(rejected).to_contain_text(re.compile("Photo \\(left cheek\\): .+"))
    page.reload()
    expect(rejected).to_be_visible()
    expect(waiting(page)).to_have_attribute("data-outbox-count", "1")
    page.screenshot(path=screenshots / "01-rejected.png", full_page=True)
    with live_app.app_context():  # the entry itself was accepted; only the photo waits
        assert db.session.query(Entry).count() == 1
        assert db.session.query(Photo).count() == 0

    rejected.get_by_role("link", name="Fix").tap()
    expect(page.get_by_role("alert").filter(has_text="Not uploaded yet")).to_be_visible()
    page.screenshot(path=screenshots / "02-fix-form.png", full_page=True)
    page.get_by_label(re.compile("Remove the left cheek photo")).check()
    page.get_by_role("button", name="Save entry").tap()
    page.wait_for_url(re.compile(r"/entries/[0-9a-f-]{36}$"))
    expect(page.get_by_text("Saved.")).to_be_visible()
    expect(waiting(page)).to_have_attribute("data-outbox-count", "0")
    page.screenshot(path=screenshots / "03-fixed.png", full_page=True)


def test_logout_asks_before_discarding_unsynced_items_then_clears_the_phone(
    page, server, gate, screenshots
):
    base = server.url
    register(page, base, "shared@example.com")
    wait_until_offline_ready(page)
    go_offline(gate, page.context)
    log_entry(page, base, TODAY, redness="4")
    gate.closed = False
    # The upload keeps failing (the API is down), so the item stays. Registered before going
    # online, on the context (the service worker's requests too), so no sync slips through.
    page.context.route("**/api/v1/**", lambda route: route.fulfill(status=503, body="down"))
    go_online(page.context)
    page.goto(f"{base}/account")
    expect(waiting(page)).to_have_attribute("data-outbox-count", "1")

    questions: list[str] = []

    def answer(dialog, accept: bool) -> None:
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    with page.expect_event("dialog"):
        page.get_by_role("button", name="Log out").tap()
    expect(page).to_have_url(f"{base}/account")
    expect(waiting(page)).to_have_attribute("data-outbox-count", "1")
    assert questions and "not been uploaded" in questions[0]

    page.once("dialog", lambda dialog: answer(dialog, True))
    page.get_by_role("button", name="Log out").tap()
    page.wait_for_url(re.compile("/login"))
    left = page.evaluate(
        """async () => {
            const { all } = await import("/static/js/outbox/queue.js");
            const pages = (await caches.keys()).filter((name) => name.startsWith("skinlog-pages-"));
            return { items: (await all()).length, pages };
        }"""
    )
    assert left == {"items": 0, "pages": []}
    page.screenshot(path=screenshots / "01-logged-out.png", full_page=True)


def test_timeline_seen_online_opens_offline_marked_as_a_copy(
    page, server, gate, live_app, screenshots
):
    from webapp.demo import create_demo_account

    with live_app.app_context():
        create_demo_account("copy@example.com", PASSWORD, days=20)
    login(page, server.url, "copy@example.com")
    wait_until_offline_ready(page)
    page.goto(f"{server.url}/timeline")
    expect(page.locator("[data-offline-copy]")).to_be_hidden()
    curves = page.locator("svg.chart path.curve").count()
    assert curves >= 1

    go_offline(gate, page.context)
    page.goto(f"{server.url}/timeline")
    notice = page.locator("[data-offline-copy]")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("copy saved on this phone")
    expect(page.locator("svg.chart path.curve")).to_have_count(curves)
    page.screenshot(path=screenshots / "timeline-offline-copy.png", full_page=True)
    assert gate.leaks == []


def test_a_session_deleted_offline_is_deleted_from_the_account_once_back_online(
    page, server, gate, live_app, screenshots
):
    base = server.url
    register(page, base, "tidy@example.com")
    day = TODAY - timedelta(days=3)
    record_session(page, base, day)
    expect(page.get_by_text("Treatment session saved.")).to_be_visible(timeout=SYNC_TIMEOUT)
    wait_until_offline_ready(page)
    page.goto(f"{base}/sessions")  # seen online: the phone keeps a copy of the list
    card = page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name=re.compile(f"Session 1 · {day:%d %b %Y}"))
    )
    expect(card).to_be_visible()

    go_offline(gate, page.context)
    page.goto(f"{base}/sessions")
    expect(page.locator("[data-offline-copy]")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Delete session of {day:%d %b %Y}").tap()
    expect(page.get_by_text("was deleted on this phone")).to_be_visible()
    expect(card).to_be_hidden()
    expect(waiting(page)).to_have_attribute("data-outbox-count", "1")
    page.screenshot(path=screenshots / "01-deleted-offline.png", full_page=True)
    assert gate.leaks == []
    with live_app.app_context():
        assert db.session.execute(db.select(TreatmentSession)).scalar_one().deleted_at is None
    gate.closed = False

    go_online(page.context)
    expect(waiting(page)).to_have_attribute("data-outbox-count", "0", timeout=SYNC_TIMEOUT)
    with live_app.app_context():
        assert db.session.execute(db.select(TreatmentSession)).scalar_one().deleted_at is not None
    page.goto(f"{base}/sessions")
    expect(page.get_by_text("No sessions yet.")).to_be_visible()
    page.screenshot(path=screenshots / "02-synced.png", full_page=True)
