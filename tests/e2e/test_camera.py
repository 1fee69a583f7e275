"""The Log form's camera (issue 13, items 1-3): the last photo of the area as a ghost over the live
view, quality gates on every frame, the photo taken going through the same outbox as a chosen one,
online and offline.

Chromium's fake camera plays a generated face (tests/e2e/fake_camera.py) as the only camera, and
its fake permission prompt allows it; this module launches a browser of its own with those flags.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e import test_offline as offline
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE
from tests.e2e.fake_camera import HEIGHT, WIDTH, dim, face_picture, face_video, write_y4m
from tests.e2e.test_accessibility import describe, serious_violations
from tests.e2e.test_first_week import register
from tests.e2e.test_log_taps import TODAY, seed_yesterday
from tests.e2e.test_offline import go_offline, go_online, wait_until_offline_ready, waiting
from webapp.extensions import db
from webapp.models import Entry, Photo

gate = offline.gate
server = offline.server
SYNC_TIMEOUT = offline.SYNC_TIMEOUT


def camera_args(video: Path) -> list[str]:
    return [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",  # the permission prompt answers "Allow"
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]


def launch_filming(browser, video: Path):
    """A second Chromium from the running Playwright (one Playwright per thread can run)."""
    return browser.browser_type.launch(executable_path=CHROMIUM, args=camera_args(video))


@pytest.fixture(scope="module")
def browser(browser, tmp_path_factory):
    """Chromium whose only camera films a steady face (overrides conftest's `browser`)."""
    camera = launch_filming(browser, face_video(tmp_path_factory.mktemp("camera") / "face.y4m"))
    yield camera
    camera.close()


@pytest.fixture(scope="module")
def dark_room(browser, tmp_path_factory):
    """A phone (browser context) whose camera films the same face in a dark room."""
    video = write_y4m(tmp_path_factory.mktemp("dark") / "dark.y4m", [dim(face_picture())] * 3)
    dark = launch_filming(browser, video)
    context = dark.new_context(**PHONE)
    context.set_default_timeout(15_000)
    yield context
    context.close()
    dark.close()


def yesterdays_photo(live_app) -> Photo:
    with live_app.app_context():
        return db.session.execute(db.select(Photo)).scalar_one()


def take_automatically(page, on: bool) -> None:
    """The patient's choice of "Take automatically", kept on the phone, before the page opens."""
    page.evaluate(f"() => localStorage.setItem('skinlog-camera-auto', '{'on' if on else 'off'}')")


def open_camera(page):
    page.get_by_role("button", name="Take photo 1 with camera").tap()
    dialog = page.get_by_role("dialog", name="Camera: Left cheek")
    expect(dialog).to_be_visible()
    return dialog


def expect_ghost(page, photo_uuid: str) -> None:
    ghost = page.get_by_role("img", name="Your last photo of this area, over the camera's view")
    expect(ghost).to_have_attribute("src", f"/photos/{photo_uuid}/display.jpg")
    loaded = "img => img.complete && img.naturalWidth > 0"
    page.wait_for_function(loaded, arg=ghost.element_handle())


def todays_photos(live_app) -> list[Photo]:
    with live_app.app_context():
        entry = db.session.execute(db.select(Entry).where(Entry.date == TODAY)).scalar_one()
        return list(entry.photos)


def test_the_camera_shows_yesterdays_photo_as_a_ghost_and_its_photo_is_stored_once(
    page, live_server, live_app, screenshots
):
    base = live_server.url
    register(page, base, "camera@example.com")
    seed_yesterday(live_app)  # yesterday's left-cheek photo
    ghost = yesterdays_photo(live_app)
    take_automatically(page, False)
    page.goto(f"{base}/log")
    dialog = open_camera(page)
    expect_ghost(page, ghost.uuid)
    expect(dialog.get_by_role("status")).to_have_text("Good light and focus")
    expect(dialog.get_by_label("Last photo")).to_have_value("35")
    page.screenshot(path=screenshots / "01-camera-live.png")

    dialog.get_by_role("button", name="Take photo").tap()
    expect(dialog.get_by_role("img", name="The photo just taken")).to_be_visible()
    expect(dialog.get_by_role("status")).to_have_text("Photo taken")
    page.screenshot(path=screenshots / "02-camera-taken.png")
    dialog.get_by_role("button", name="Use photo").tap()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("img", name="Photo 1, as chosen")).to_be_visible()
    page.screenshot(path=screenshots / "03-form-with-camera-photo.png", full_page=True)
    page.get_by_role("button", name="Save entry").tap()
    expect(page.get_by_text("Saved.")).to_be_visible()

    (photo,) = todays_photos(live_app)
    assert photo.area == "left_cheek"
    assert (photo.width, photo.height) == (WIDTH, HEIGHT)  # the camera's full size
    with live_app.app_context():
        assert db.session.query(Photo).count() == 2


def test_the_camera_takes_the_photo_by_itself_once_every_gate_passes(
    page, live_server, live_app, screenshots
):
    register(page, live_server.url, "auto@example.com")
    take_automatically(page, True)
    page.goto(f"{live_server.url}/log")
    expect(page.get_by_label("Area of photo 1")).to_have_value("front")  # no photo yet
    page.get_by_role("button", name="Take photo 1 with camera").tap()
    dialog = page.get_by_role("dialog", name="Camera: Whole face (front)")
    expect(dialog.get_by_role("img", name="The photo just taken")).to_be_visible()
    expect(dialog.get_by_role("status")).to_have_text("Photo taken")
    assert int(dialog.get_attribute("data-evaluations")) >= 5
    page.screenshot(path=screenshots / "01-taken-by-itself.png")


# The photo waiting in the outbox: a JPEG, with no EXIF segment (nothing says when or where).
QUEUED_PHOTO = """async () => {
    const { all } = await import("/static/js/outbox/queue.js");
    const [item] = await all();
    const [photo] = item.photos;
    const bytes = new Uint8Array(photo.data);
    const text = new TextDecoder("latin1").decode(bytes.subarray(0, 65536));
    return { jpeg: bytes[0] === 0xff && bytes[1] === 0xd8, exif: text.includes("Exif\\0\\0"),
             name: photo.name };
}"""


def test_offline_the_ghost_comes_from_the_phone_and_the_photo_syncs_once(
    page, server, gate, live_app, screenshots
):
    base = server.url
    register(page, base, "offline-camera@example.com")
    seed_yesterday(live_app)
    ghost = yesterdays_photo(live_app)
    take_automatically(page, False)
    page.goto(f"{base}/log")
    wait_until_offline_ready(page)
    url = f"/photos/{ghost.uuid}/display.jpg"
    kept = "async (url) => Boolean(await caches.match(url))"
    assert page.evaluate(kept, url)  # the service worker kept it with the offline log form

    go_offline(gate, page.context)
    dialog = open_camera(page)
    expect_ghost(page, ghost.uuid)
    page.screenshot(path=screenshots / "01-camera-offline.png")
    dialog.get_by_role("button", name="Take photo").tap()
    dialog.get_by_role("button", name="Use photo").tap()
    page.get_by_role("button", name="Save entry").tap()
    expect(page.get_by_text("Saved on this phone.")).to_be_visible()
    expect(waiting(page)).to_have_attribute("data-outbox-count", "1")
    assert page.evaluate(QUEUED_PHOTO) == {"jpeg": True, "exif": False, "name": "camera.jpg"}
    assert gate.leaks == [], "requests reached the server while offline"

    gate.closed = False
    go_online(page.context)
    expect(waiting(page)).to_have_attribute("data-outbox-count", "0", timeout=SYNC_TIMEOUT)
    (photo,) = todays_photos(live_app)
    assert (photo.area, photo.width, photo.height) == ("left_cheek", WIDTH, HEIGHT)
    with live_app.app_context():
        assert db.session.query(Photo).count() == 2


def test_without_camera_permission_the_dialog_closes_and_the_file_input_stays(
    phone, live_server, screenshots
):
    context = phone()
    context.add_init_script(
        """navigator.mediaDevices.getUserMedia = () =>
            Promise.reject(new DOMException("Permission denied", "NotAllowedError"));"""
    )
    page = context.new_page()
    register(page, live_server.url, "refused@example.com")
    page.goto(f"{live_server.url}/log")
    page.get_by_role("button", name="Take photo 1 with camera").tap()
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.get_by_role("alert")).to_have_text(
        'The camera is not allowed for Skinlog. Use "Add photo" instead.'
    )
    expect(page.get_by_label("Photo 1", exact=True)).to_be_attached()
    expect(page.get_by_text("Add photo").first).to_be_visible()
    page.screenshot(path=screenshots / "01-camera-refused.png", full_page=True)


GATES = """async () => {
    const gates = await import("/static/js/camera/gates.js");
    const canvas = document.createElement("canvas");
    canvas.width = 160;
    canvas.height = 120;
    const context = canvas.getContext("2d", { willReadFrequently: true });
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    // Skin-like texture: mid tones, fine detail (what a sharp close-up has)
    const texture = (scale) => {
        const image = context.createImageData(160, 120);
        for (let i = 0; i < image.data.length; i += 4) {
            const v = 40 * random() - 20;
            image.data.set([(190 + v) * scale, (150 + v) * scale, (130 + v) * scale, 255], i);
        }
        return image;
    };
    const verdict = (previous = null) => {
        const { data } = context.getImageData(0, 0, 160, 120);
        const measures = gates.measure(data, 160, 120, previous);
        return { problem: gates.problem(measures), grey: measures.grey };
    };
    const out = {};
    context.putImageData(texture(1), 0, 0);
    const sharp = verdict();
    out.sharp = sharp.problem;
    context.putImageData(texture(0.3), 0, 0);
    out.dark = verdict().problem;
    context.fillStyle = "#fff";
    context.fillRect(0, 0, 160, 120);
    out.bright = verdict().problem;
    const source = document.createElement("canvas");
    source.width = 160;
    source.height = 120;
    source.getContext("2d").putImageData(texture(1), 0, 0);
    context.filter = "blur(2px)";
    context.drawImage(source, 0, 0);
    context.filter = "none";
    out.blurred = verdict().problem;
    context.putImageData(texture(1), 0, 0);
    out.moved = verdict(sharp.grey).problem;  // a new texture: everything moved
    return out;
}"""


def test_the_gates_say_what_is_wrong_with_a_frame(page, live_server):
    register(page, live_server.url, "gates@example.com")
    assert page.evaluate(GATES) == {
        "sharp": None,
        "dark": "Too dark",
        "bright": "Too bright",
        "blurred": "Blurred",
        "moved": "Hold still",
    }


def test_the_open_camera_has_no_serious_accessibility_violation(
    phone, live_server, live_app, screenshots
):
    context = phone(bypass_csp=True, service_workers="block")  # see test_accessibility.py
    page = context.new_page()
    register(page, live_server.url, "axe-camera@example.com")
    seed_yesterday(live_app)
    take_automatically(page, False)
    page.goto(f"{live_server.url}/log")
    dialog = open_camera(page)
    expect(dialog.get_by_role("status")).to_have_text("Good light and focus")
    live = serious_violations(page)
    dialog.get_by_role("button", name="Take photo").tap()
    expect(dialog.get_by_role("button", name="Use photo")).to_be_visible()
    page.screenshot(path=screenshots / "01-camera-review-axe.png")
    taken = serious_violations(page)
    found = {name: v for name, v in (("live", live), ("taken", taken)) if v}
    assert not found, "axe found serious or critical violations:\n" + describe(found)


def test_a_photo_taken_in_the_dark_on_a_tap_keeps_the_warning(dark_room, live_server, screenshots):
    page = dark_room.new_page()
    register(page, live_server.url, "dark@example.com")
    take_automatically(page, True)  # on: the gates never pass, so nothing is taken by itself
    page.goto(f"{live_server.url}/log")
    page.get_by_role("button", name="Take photo 1 with camera").tap()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("status")).to_have_text("Too dark")
    expect(dialog.get_by_text("No earlier photo of this area to line up with.")).to_be_visible()
    expect(dialog.get_by_label("Last photo")).to_be_hidden()
    page.screenshot(path=screenshots / "01-too-dark.png")
    page.wait_for_timeout(500)  # many frames: still not taken
    expect(dialog.get_by_role("img", name="The photo just taken")).to_be_hidden()

    dialog.get_by_role("button", name="Take photo").tap()
    expect(dialog.get_by_role("status")).to_have_text("Taken while: Too dark")
    page.screenshot(path=screenshots / "02-taken-too-dark.png")
    dialog.get_by_role("button", name="Use photo").tap()
    expect(page.get_by_role("img", name="Photo 1, as chosen")).to_be_visible()
    expect(page.get_by_text("Taken while: too dark.")).to_be_visible()
    page.screenshot(path=screenshots / "03-form-warning.png", full_page=True)


def test_a_phone_with_two_cameras_switches_to_the_front_one_shown_as_a_mirror(
    phone, live_server, screenshots
):
    context = phone()
    context.add_init_script(
        """{
            const devices = navigator.mediaDevices;
            const open = devices.getUserMedia.bind(devices);
            window.camerasAsked = [];
            devices.getUserMedia = (constraints) => {
                window.camerasAsked.push(constraints.video.facingMode.ideal);
                return open(constraints);
            };
            devices.enumerateDevices = async () => [
                { kind: "videoinput", deviceId: "rear" },
                { kind: "videoinput", deviceId: "front" },
            ];
        }"""
    )
    page = context.new_page()
    register(page, live_server.url, "two-cameras@example.com")
    take_automatically(page, False)
    page.goto(f"{live_server.url}/log")
    page.get_by_role("button", name="Take photo 1 with camera").tap()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("status")).to_have_text("Good light and focus")
    dialog.get_by_role("button", name="Front camera").tap()
    expect(dialog.get_by_role("button", name="Rear camera")).to_be_visible()
    expect(dialog.locator("[data-camera-view]")).to_have_class(re.compile(r"\bmirrored\b"))
    assert page.evaluate("() => window.camerasAsked") == ["environment", "user"]
    dialog.get_by_role("button", name="Rear camera").tap()
    expect(dialog.get_by_role("button", name="Front camera")).to_be_visible()
    expect(dialog.locator("[data-camera-view]")).not_to_have_class(re.compile(r"\bmirrored\b"))
    dialog.get_by_role("button", name="Close").tap()
    expect(dialog).to_be_hidden()
    assert page.evaluate("() => document.querySelector('video').srcObject") is None


PICKED_SIZE = """async () => {
    const [file] = document.querySelector('input[name="photo_1"]').files;
    const bitmap = await createImageBitmap(file);
    return [file.type, file.name, bitmap.width, bitmap.height];
}"""


def test_without_image_capture_the_photo_is_the_video_frame_at_the_cameras_size(phone, live_server):
    context = phone()
    context.add_init_script("delete window.ImageCapture;")  # Safari, Firefox
    page = context.new_page()
    register(page, live_server.url, "no-stills@example.com")
    take_automatically(page, False)
    page.goto(f"{live_server.url}/log")
    page.get_by_role("button", name="Take photo 1 with camera").tap()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("status")).to_have_text("Good light and focus")
    dialog.get_by_role("button", name="Take photo").tap()
    dialog.get_by_role("button", name="Use photo").tap()
    expect(page.get_by_role("img", name="Photo 1, as chosen")).to_be_visible()
    assert page.evaluate(PICKED_SIZE) == ["image/jpeg", "camera.jpg", WIDTH, HEIGHT]


def test_a_browser_that_cannot_open_a_camera_shows_no_camera_button(phone, live_server):
    context = phone()
    context.add_init_script(
        "Object.defineProperty(navigator, 'mediaDevices', { value: undefined });"
    )  # an in-app browser, or a page not served over HTTPS
    page = context.new_page()
    register(page, live_server.url, "no-camera@example.com")
    page.goto(f"{live_server.url}/log")
    expect(page.get_by_text("Add photo").first).to_be_visible()
    expect(page.get_by_role("button", name="Take photo 1 with camera")).to_have_count(0)
