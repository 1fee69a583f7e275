"""End-to-end fixtures: the app served on loopback, and Debian's Chromium driven by Playwright.

Playwright never downloads a browser here: it launches /usr/bin/chromium (CHROMIUM_PATH to
override). Pages are opened at phone size (390 x 844, touch). Screenshots go to
test-results/<test name>/, to be looked at.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import settings_for_tests
from webapp import create_app
from webapp.extensions import db

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
RESULTS = Path(__file__).resolve().parents[2] / "test-results"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36"
    ),
}
# Chromium's own calls home are refused by this machine's closed network; switch them off.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

E2E_FOLDER = Path(__file__).resolve().parent
# A real browser on a busy 2-core machine has timing no test can pin down (when Chromium checks
# the service worker for updates, when Background Sync fires). A failure that is not timing fails
# again; each retry is reported ("R" and "N rerun" in the summary) and shows in the saved
# failure-*.png screenshots and the printed console log. E2E_RERUNS=0 shows every flake.
E2E_RERUNS = int(os.environ.get("E2E_RERUNS", "2"))


def pytest_collection_modifyitems(items) -> None:
    """Marks every test of this folder `e2e` (`-m "not e2e"` skips the browser), with retries."""
    for item in items:
        if E2E_FOLDER in item.path.parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.flaky(reruns=E2E_RERUNS))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.call_failed = report.failed
        item.call_failure = report.longreprtext if report.failed else ""
    return report


class LiveServer:
    def __init__(self, app) -> None:
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture
def live_app(tmp_path):
    settings = settings_for_tests(str(tmp_path / "instance"))
    app = create_app(settings)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def live_server(live_app) -> Iterator[LiveServer]:
    server = LiveServer(live_app).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def screenshots(request) -> Path:
    """A folder of this test's own under test-results/."""
    folder = RESULTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


class InFlight:
    """The requests a context (its pages and its service worker) has sent that have not finished."""

    def __init__(self, context) -> None:
        self.context = context
        self.requests: set = set()
        context.on("request", self._sent)
        context.on("requestfinished", self._done)
        context.on("requestfailed", self._done)

    def _sent(self, request) -> None:
        self.requests.add(request)

    def _done(self, request) -> None:
        self.requests.discard(request)

    def wait_until_none(self, timeout_ms: float = 15_000) -> None:
        """Returns once every request sent so far has finished or failed."""
        deadline = time.monotonic() + timeout_ms / 1000
        while self.requests:
            if time.monotonic() > deadline:
                urls = sorted(request.url for request in self.requests)
                raise AssertionError(f"requests still in flight: {urls}")
            # Any Playwright call lets the request events in; this one also waits a little.
            self.context.pages[0].wait_for_timeout(20)


IN_FLIGHT: dict[int, InFlight] = {}


def in_flight(context) -> InFlight:
    """The InFlight of a context made by the `phone` fixture."""
    return IN_FLIGHT[id(context)]


def outbox_state(page) -> str:
    """The page's outbox as text (items without their photo bytes, and the sync notes)."""
    try:
        return page.evaluate(
            """async () => {
                const queue = await import("/static/js/outbox/queue.js");
                const items = (await queue.all()).map((item) => ({ ...item,
                    photos: (item.photos || []).map(({ data, ...photo }) => photo),
                    due_in_ms: (item.next_attempt_at || 0) - Date.now() }));
                const notes = {};
                for (const key of ["last_sync", "auth_needed"]) {
                    notes[key] = await queue.getMeta(key);
                }
                return JSON.stringify({ items, notes });
            }"""
        )
    except Exception as error:  # a diagnostic must not hide the failure
        return f"unreadable ({error})"


def report_failure(request, contexts: list) -> None:
    """After a failed test: a screenshot of every open page and what its console said, printed
    and written to failure.txt with the error (a retried try's output is not shown otherwise)."""
    attempt = getattr(request.node, "execution_count", 1)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    folder = RESULTS / "failures" / f"{name}-attempt-{attempt}"
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"{request.node.nodeid} failed (attempt {attempt}); screenshots in {folder}"]
    for number, context in enumerate(contexts, start=1):
        for page_number, page in enumerate(context.pages, start=1):
            lines.append(f"context {number} page {page_number} at {page.url}")
            try:
                page.screenshot(path=folder / f"failure-{number}-{page_number}.png", timeout=5_000)
            except Exception as error:  # a diagnostic must not hide the failure
                lines.append(f"  no screenshot: {error}")
            lines.append(f"  outbox: {outbox_state(page)}")
        lines += [f"  console: {line}" for line in context.console_lines[-40:]]
    print("\n".join(lines))
    failure = getattr(request.node, "call_failure", "")
    (folder / "failure.txt").write_text("\n".join([*lines, "", failure]), encoding="utf-8")


@pytest.fixture
def phone(browser, request):
    """A new phone-sized browser context (its own cookies and storage)."""
    contexts = []

    def _new_context(**overrides):
        context = browser.new_context(**dict(PHONE, **overrides))
        context.set_default_timeout(15_000)
        IN_FLIGHT[id(context)] = InFlight(context)
        context.console_lines = []
        context.on(
            "console",
            lambda message: context.console_lines.append(
                f"{time.strftime('%H:%M:%S')} {message.type}: {message.text}"
            ),
        )
        context.on("weberror", lambda error: context.console_lines.append(f"error: {error.error}"))
        contexts.append(context)
        return context

    yield _new_context
    if getattr(request.node, "call_failed", False):
        report_failure(request, contexts)
    for context in contexts:
        IN_FLIGHT.pop(id(context), None)
        context.close()


@pytest.fixture
def page(phone):
    return phone().new_page()


def wait_until(check, what: str, timeout_ms: float = 30_000) -> None:
    """Polls `check()` until it is true."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.05)


def wait_until_no_sync_runs(where) -> None:
    """No outbox sync runs, in any page or the service worker: the phone has finished what the
    last upload set off (sync.js holds the "skinlog-sync" lock for a whole run). `where` is a
    page of the app or the service worker (context.service_workers)."""
    running = """async () => {
        const { held, pending } = await navigator.locks.query();
        return [...held, ...pending].some((lock) => lock.name === "skinlog-sync");
    }"""
    wait_until(lambda: not where.evaluate(running), "no sync runs")


def fire_background_sync(page, tag: str = "skinlog-outbox") -> None:
    """What Chromium does when the signal comes back and a sync is registered: the service
    worker's `sync` event (DevTools' ServiceWorker.dispatchSyncEvent), whether a page is open
    or not."""
    cdp = page.context.new_cdp_session(page)
    registrations: list[dict] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(r for r in event["registrations"] if not r["isDeleted"]),
    )
    cdp.send("ServiceWorker.enable")

    def listed() -> bool:
        page.wait_for_timeout(20)  # lets the DevTools events in
        return bool(registrations)

    wait_until(listed, "the service worker is listed")
    (registration,) = {r["registrationId"]: r for r in registrations}.values()
    origin = registration["scopeURL"].rstrip("/")
    cdp.send(
        "ServiceWorker.dispatchSyncEvent",
        {
            "origin": origin,
            "registrationId": registration["registrationId"],
            "tag": tag,
            "lastChance": False,
        },
    )
    cdp.detach()
