"""Benchmark: the camera's quality gates on the Log form, evaluations per second, with the CPU at
full speed and throttled 4x (DevTools' Emulation.setCPUThrottlingRate, an old phone).

Run from the repository root:

    .venv/bin/python bench/bench_camera_gates.py
    .venv/bin/python bench/bench_camera_gates.py --seconds 10 --rates 1 4 6

Debian's Chromium (/usr/bin/chromium, CHROMIUM_PATH to override) opens the app's Log form at
phone size with a fake camera playing a steady face at 30 frames/s (tests/e2e/fake_camera.py),
opens the camera dialog with "Take automatically" off (so the live view never stops) and counts,
for each CPU rate:

* loop: the gate evaluations the dialog itself ran per second (static/js/camera/shutter.js
  evaluates once per new video frame, so the camera's frame rate is its ceiling);
* capacity: evaluations per second when the page runs them back to back on the live video
  (static/js/camera/meter.js: draw the frame 160 px wide, read it back, measure), and the
  milliseconds one takes.

Ratios are against the 1x run of the same session. Timings are wall-clock on this machine.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import settings_for_tests
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE
from tests.e2e.fake_camera import FPS, face_video
from tests.e2e.test_first_week import register
from webapp import create_app
from webapp.extensions import db

CAPACITY = """async (ms) => {
    const { Meter } = await import("/static/js/camera/meter.js");
    const video = document.querySelector("[data-camera-video]");
    const meter = new Meter();
    let count = 0;
    const started = performance.now();
    while (performance.now() - started < ms) {
        meter.read(video);
        count += 1;
    }
    return count / ((performance.now() - started) / 1000);
}"""


def start_server(instance: str) -> tuple[object, str]:
    app = create_app(dict(settings_for_tests(instance), TESTING=False))
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def measure(browser, base: str, rate: float, seconds: float) -> dict[str, float]:
    context = browser.new_context(**PHONE)
    page = context.new_page()
    register(page, base, f"bench-{rate}@example.com")
    page.evaluate("() => localStorage.setItem('skinlog-camera-auto', 'off')")
    page.goto(f"{base}/log")
    cdp = context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
    page.get_by_role("button", name="Take photo 1 with camera").tap()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("status")).to_have_text("Good light and focus", timeout=30_000)
    page.wait_for_timeout(1000)  # settled: the stream running, the modules compiled

    def evaluations() -> int:
        return int(dialog.get_attribute("data-evaluations") or 0)

    first, started = evaluations(), time.monotonic()
    page.wait_for_timeout(seconds * 1000)
    loop = (evaluations() - first) / (time.monotonic() - started)
    capacity = page.evaluate(CAPACITY, 2000)
    context.close()
    return {"loop": loop, "capacity": capacity, "ms": 1000 / capacity}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="loop counted for this long")
    parser.add_argument("--rates", type=float, nargs="+", default=[1, 4], help="CPU slow-downs")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        server, base = start_server(str(Path(folder, "instance")))
        video = face_video(Path(folder, "face.y4m"))
        flags = [
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=os.environ.get("CHROMIUM_PATH", CHROMIUM), args=flags
            )
            results = {rate: measure(browser, base, rate, args.seconds) for rate in args.rates}
            browser.close()
        server.shutdown()
    baseline = results[args.rates[0]]
    print(f"Camera gates, 160 px frames, fake camera at {FPS} frames/s ({args.seconds:g} s each)")
    print(f"{'CPU':>5} {'loop/s':>8} {'ratio':>6} {'capacity/s':>11} {'ratio':>6} {'ms each':>8}")
    for rate, result in results.items():
        print(
            f"{rate:>4g}x {result['loop']:8.1f} {result['loop'] / baseline['loop']:6.2f} "
            f"{result['capacity']:11.0f} {result['capacity'] / baseline['capacity']:6.2f} "
            f"{result['ms']:8.2f}"
        )


if __name__ == "__main__":
    main()
