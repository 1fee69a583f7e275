"""The installable app's files: manifest, service worker at the root, the offline page."""

from __future__ import annotations

import json
import re


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
    names = re.findall(r'"((?:css|js|icons)/[^"]+)"', body)
    assert len(names) >= 10
    for name in names:
        with client.get(f"/static/{name}") as file_response:
            assert file_response.status_code == 200, name
    assert client.get("/offline").status_code == 200


def test_pages_link_the_manifest_and_load_no_inline_script(logged_in):
    html = logged_in.get("/log").get_data(as_text=True)
    assert 'rel="manifest" href="/manifest.webmanifest"' in html
    assert re.search(r'<meta name="skinlog-account" content="[0-9a-f]{24}">', html)
    assert "<script>" not in html and "<script type=\"module\">" not in html
    assert "data-entry-form" in html


def test_shell_log_form_is_blank_even_when_today_has_an_entry(logged_in):
    form = {"date": __import__("datetime").date.today().isoformat(), "redness": "4"}
    logged_in.post("/log", data=form)
    assert "data-entry-id" in logged_in.get("/log").get_data(as_text=True)
    assert "data-entry-id" not in logged_in.get("/log?shell=1").get_data(as_text=True)
