"""Every page a patient and a clinician see passes axe-core at phone size, in light and dark mode:
no violation axe rates serious or critical (contrast, names of links and controls, headings,
landmarks, scrollable regions reachable by keyboard)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from webapp.demo import create_demo_account
from webapp.extensions import db
from webapp.models import Entry, Photo, ShareLink, TreatmentSession, User
from webapp.sharing import links

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
BLOCKING = ("serious", "critical")

RUN_AXE = """async () => {
    const results = await axe.run(document, { resultTypes: ["violations"] });
    return results.violations.map((violation) => ({
        id: violation.id,
        impact: violation.impact,
        help: violation.help,
        targets: violation.nodes.slice(0, 5).map((node) => node.target.join(" ")),
        count: violation.nodes.length,
    }));
}"""


def demo_patient_with_a_link(app) -> dict[str, str]:
    """The demo account, one share link to it; returns the paths of the pages to check."""
    with app.app_context():
        create_demo_account("alex@example.com", "demo-password", days=45)
        user = db.session.execute(sa.select(User)).scalar_one()
        entry = (
            db.session.execute(
                sa.select(Entry.uuid).where(Entry.user_id == user.id).order_by(Entry.date.desc())
            )
            .scalars()
            .first()
        )
        session = db.session.execute(sa.select(TreatmentSession.uuid)).scalars().first()
        area = db.session.execute(sa.select(Photo.area)).scalars().first()
        request = links.LinkRequest("Dr Rivera", 7, None, None, True, True)
        _, token = links.create_link(user.id, request)
        link_id = db.session.execute(sa.select(ShareLink.id)).scalar_one()
    return {
        "today": "/",
        "log": "/log",
        "entries": "/entries",
        "entry": f"/entries/{entry}",
        "sessions": "/sessions",
        "session-form": "/sessions/new",
        "session-edit": f"/sessions/{session}/edit",
        "timeline": "/timeline",
        "timeline-photos": f"/timeline/photos/{area}",
        "compare": "/compare",
        "share-links": "/share",
        "share-link-detail": f"/share/{link_id}",
        "account": "/account",
        "offline": "/offline",
        "shared-view": f"/s/{token}",
    }


def serious_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    return [v for v in page.evaluate(RUN_AXE) if v["impact"] in BLOCKING]


def describe(found: dict[str, list[dict]]) -> str:
    return "\n".join(
        f"{name}: {v['impact']} {v['id']} ×{v['count']} ({v['help']}) {v['targets']}"
        for name, violations in found.items()
        for v in violations
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_has_no_serious_accessibility_violation(
    live_app, live_server, phone, screenshots, scheme
):
    pages = demo_patient_with_a_link(live_app)
    # axe is injected with add_script_tag(path=...), which puts the file's text in an inline
    # <script>: the app's `script-src 'self'` policy rightly blocks that. This context alone
    # bypasses the CSP so that axe can run; the policy itself is tested in test_security*.py.
    # No service worker either: each page comes from the server, as axe should see it.
    context = phone(color_scheme=scheme, bypass_csp=True, service_workers="block")
    page = context.new_page()
    found: dict[str, list[dict]] = {}

    def check(name: str, path: str) -> None:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=screenshots / f"{name}.png", full_page=True)
        if violations := serious_violations(page):
            found[name] = violations

    for name in ("login", "register"):
        check(name, f"/{name}")
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill("alex@example.com")
    page.get_by_label("Password").fill("demo-password")
    page.get_by_role("button", name="Log in").tap()
    page.wait_for_url(f"{live_server.url}/")
    for name, path in pages.items():
        check(name, path)

    assert not found, "axe found serious or critical violations:\n" + describe(found)
