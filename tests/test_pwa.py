"""The installable app's files: manifest, service worker at the root, the offline page."""

from __future__ import annotations

import json
import re
from pathlib import Path


def test_manifest_is_served_as_a_web_app_manifest(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.get_data())
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    sizes = {(icon["sizes"], icon.get("purpose", "any")) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        with client.get(icon["src"]) as icon_response:
            assert icon_response.status_code == 200


def test_service_worker_is_served_from_the_root_with_a_versioned_cache(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.headers["Cache-Control"] == "no-cache"
    body = response.get_data(as_text=True)
    assert "__SHELL_VERSION__" not in body
    assert re.search(r'const VERSION = "[0-9a-f]{12}"', body)


def test_every_precached_file_exists(client):
    body = client.get("/sw.js").get_data(as_text=True)
    listed = re.search(r"const SHELL_FILES = (\[.*?\]);", body)
    assert listed, "the worker's shell list was not filled in"
    urls = json.loads(listed.group(1))
    assert "/offline" in urls and "/static/js/outbox/sync.js" in urls and len(urls) >= 10
    for url in urls:
        with client.get(url) as file_response:
            assert file_response.status_code == 200, url


def test_every_script_of_the_pages_kept_offline_is_precached(client):
    # A script missing from the shell breaks its page offline, and nothing else notices.
    body = client.get("/sw.js").get_data(as_text=True)
    urls = set(json.loads(re.search(r"const SHELL_FILES = (\[.*?\]);", body).group(1)))
    root = Path(__file__).resolve().parents[1]
    pages = ["base.html", "diary/log.html", "timeline/page.html", "timeline/compare.html"]
    scripts = [
        f"js/{name}"
        for page in pages
        for name in re.findall(r"filename='js/([^']+)'", (root / "templates" / page).read_text())
    ]
    while scripts:
        name = scripts.pop()
        assert f"/static/{name}" in urls, name
        module = root / "static" / name
        for relative in re.findall(r'from "\./([^"]+)"', module.read_text()):
            scripts.append(str(Path(name).parent / relative))


def test_every_module_the_service_worker_imports_is_precached(client):
    # The worker replays the outbox offline (Background Sync): its imports must be in the shell.
    body = client.get("/sw.js").get_data(as_text=True)
    urls = set(json.loads(re.search(r"const SHELL_FILES = (\[.*?\]);", body).group(1)))
    root = Path(__file__).resolve().parents[1]
    modules = re.findall(r'from "/static/(js/[^"]+)"', body)
    assert "js/outbox/sync.js" in modules
    seen = set()
    while modules:
        name = modules.pop()
        if name in seen:
            continue
        seen.add(name)
        assert f"/static/{name}" in urls, name
        source = (root / "static" / name).read_text()
        for relative in re.findall(r'from "\./([^"]+)"', source):
            modules.append(str(Path(name).parent / relative))


def test_the_flash_for_the_next_page_is_kept_by_one_module():
    # Its storage key and shape are flash.js's own; the others call setFlash / takeFlash.
    root = Path(__file__).resolve().parents[1] / "static"
    spelled = sorted(
        str(path.relative_to(root))
        for path in [*root.glob("js/**/*.js"), root / "sw.js"]
        if "skinlog-flash" in path.read_text()
    )
    assert spelled == ["js/outbox/flash.js"]


def test_pages_link_the_manifest_and_load_no_inline_script(logged_in):
    html = logged_in.get("/log").get_data(as_text=True)
    assert 'rel="manifest" href="/manifest.webmanifest"' in html
    assert re.search(r'<meta name="skinlog-account" content="[0-9a-f]{24}">', html)
    assert "<script>" not in html and '<script type="module">' not in html
    assert "data-entry-form" in html


def test_shell_log_form_is_blank_even_when_today_has_an_entry(logged_in):
    form = {"date": __import__("datetime").date.today().isoformat(), "redness": "4"}
    logged_in.post("/log", data=form)
    assert "data-entry-id" in logged_in.get("/log").get_data(as_text=True)
    assert "data-entry-id" not in logged_in.get("/log?shell=1").get_data(as_text=True)


def test_the_manifest_offers_shortcuts_to_log_today_and_the_timeline(logged_in):
    manifest = json.loads(logged_in.get("/manifest.webmanifest").get_data())
    shortcuts = {shortcut["name"]: shortcut for shortcut in manifest["shortcuts"]}
    assert set(shortcuts) == {"Log today", "Timeline"}
    for shortcut in shortcuts.values():
        assert logged_in.get(shortcut["url"]).status_code == 200
        for icon in shortcut["icons"]:
            with logged_in.get(icon["src"]) as icon_response:
                assert icon_response.status_code == 200


def test_every_page_has_a_description_and_follows_the_phones_dark_mode(client):
    html = client.get("/login").get_data(as_text=True)
    assert re.search(r'<meta name="description" content="[^"]{50,160}">', html)
    assert '<meta name="color-scheme" content="light dark">' in html
    assert 'media="(prefers-color-scheme: dark)"' in html  # the browser bar matches it
