"""Peak memory of one ingest (issue 9): what one upload can make a worker hold.

A file's size says little about what decoding it costs: a 95 KB 16-bit PNG of 7000 x 7000 passes
the 50-megapixel check. Each upload is priced from its header (pixels x bytes per pixel as the
decoder holds them, plus the decoder's own buffers) and is either ingested within PEAK_BUDGET or
refused with 413 before a pixel is decoded. The worst kinds of file at the pixel limit are
measured here in a fresh interpreter: the growth of the resident-set high-water mark (VmHWM)
across one call, which sees Pillow's and libheif's C buffers as well as Python's.

Big samples are made once per run, each in a subprocess of its own (Pillow holds a whole image to
encode it), and cached as files.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.photo_factory import (
    make_cmyk_jpeg,
    make_flat_jpeg,
    make_flat_png,
    make_flat_webp,
    make_photo,
)
from tests.test_api import assert_error, entry_body, put_photo
from webapp import imaging
from webapp.imaging import ImageRejected, ingest_photo

ROOT = Path(__file__).resolve().parent.parent
PEAK_BUDGET = 300 * 10**6  # bytes of RSS growth one ingest may cause (issue 9: "say 300 MB")
REFUSAL_BUDGET = 30 * 10**6  # refusing from the header costs no pixels
SIDE = 7071  # 7071 x 7071 = 49,999,041 pixels: the largest square under the 50 MP limit

# Runs one call in a fresh interpreter and prints its outcome and the growth of VmHWM across it.
# The imaging package is loaded on its own (it imports no Flask), so the baseline is small. The
# kernel lets a child inherit ru_maxrss across fork+exec, so the child reads VmHWM of its own
# address space and resets it first via /proc/self/clear_refs; where that is not allowed the
# figure only grows by the interpreter's start-up, never shrinks.
_CHILD = """
import gc, importlib.util, json, sys
package = sys.argv[1] + "/webapp/imaging"
spec = importlib.util.spec_from_file_location(
    "imaging", package + "/__init__.py", submodule_search_locations=[package]
)
imaging = sys.modules["imaging"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(imaging)

def status_bytes(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024

data = open(sys.argv[2], "rb").read()
gc.collect()
try:
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # reset the high-water mark to the current resident size
except OSError:
    pass
before = status_bytes("VmRSS")
try:
    if sys.argv[3] == "colour":
        outcome = {"colour": imaging.colour_metrics(data).as_dict()}
    else:
        photo = imaging.ingest_photo(data)
        outcome = {"size": [photo.width, photo.height], "colour": photo.colour.as_dict()}
except imaging.ImageRejected as rejected:
    outcome = {"rejected": [rejected.code, rejected.status, rejected.message]}
outcome["peak_growth"] = status_bytes("VmHWM") - before
print(json.dumps(outcome))
"""

# Ingests the files given on four threads at once, as a gunicorn gthread worker may, three times
# over, and prints how much bigger the process stays afterwards (VmRSS).
_THREADS_CHILD = """
import importlib.util, sys, threading
package = sys.argv[1] + "/webapp/imaging"
spec = importlib.util.spec_from_file_location(
    "imaging", package + "/__init__.py", submodule_search_locations=[package]
)
imaging = sys.modules["imaging"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(imaging)

def rss_bytes():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024

uploads = [open(path, "rb").read() for path in sys.argv[2:]]
imaging.ingest_photo(uploads[0])  # libraries and caches a first ingest loads are no growth
before = rss_bytes()
for _ in range(3):
    threads = [threading.Thread(target=imaging.ingest_photo, args=(data,)) for data in uploads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
print(rss_bytes() - before)
"""

# Makes one sample in a fresh interpreter: photo_factory.<name>(*args, **kwargs) into a file.
_MAKER = """
import json, sys
from tests import photo_factory
name, args, kwargs = json.loads(sys.argv[2])
open(sys.argv[1], "wb").write(getattr(photo_factory, name)(*args, **kwargs))
"""

# name -> photo_factory recipe: function, positional and keyword arguments.
RECIPES: dict[str, tuple[str, list[object], dict[str, object]]] = {
    "grey16.png": ("make_flat_png", [7000, 7000, "I;16", [128 * 257]], {}),
    "rgba.png": ("make_flat_png", [7000, 7000, "RGBA", [200, 40, 40, 255], [0, 0, 0, 0]], {}),
    "rgba16.png": ("make_flat_png", [7000, 7000, "RGBA;16", [51400, 10280, 10280, 65535]], {}),
    "cmyk.jpg": ("make_cmyk_jpeg", [SIDE, SIDE], {}),
    "cmyk-progressive.jpg": ("make_cmyk_jpeg", [SIDE, SIDE], {"progressive": True}),
    "heic.heic": ("make_flat_heic", [7000, 7000], {}),
    "heic-alpha.heic": ("make_flat_heic", [7000, 7000], {"alpha": True}),
    "heic-alpha-34mp.heic": ("make_flat_heic", [5850, 5850], {"alpha": True}),
    "webp.webp": ("make_flat_webp", [SIDE, SIDE], {}),
    "webp-15mp.webp": ("make_flat_webp", [3872, 3872], {}),
    "progressive.jpg": ("make_flat_jpeg", [SIDE, SIDE], {"progressive": True}),
}


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """sample(name) -> path of that RECIPES file, made on first use."""
    folder = tmp_path_factory.mktemp("big-samples")

    def _sample(name: str) -> Path:
        path = folder / name
        if not path.exists():
            recipe = json.dumps(RECIPES[name])
            subprocess.run([sys.executable, "-c", _MAKER, str(path), recipe], check=True, cwd=ROOT)
        return path

    return _sample


def measure(path: Path, what: str = "ingest") -> dict:
    """Outcome of ingest_photo (or colour_metrics) of the file, in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(ROOT), str(path), what],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout)


def assert_ingested_within_budget(outcome: dict, twin: bytes) -> None:
    """Ingested, within PEAK_BUDGET, into the same photo as its small twin gives."""
    assert "rejected" not in outcome, outcome
    mib = outcome["peak_growth"] / 2**20
    assert outcome["peak_growth"] < PEAK_BUDGET, f"peak growth {mib:.0f} MiB"
    assert outcome["size"] == [2048, 2048]
    expected = ingest_photo(twin).colour.as_dict()
    for key, value in expected.items():
        assert outcome["colour"][key] == pytest.approx(value, abs=0.5), (outcome, expected)


def assert_refused_from_the_header(outcome: dict, megapixels_allowed: str) -> None:
    assert "rejected" in outcome, outcome
    code, status, message = outcome["rejected"]
    assert (code, status) == ("too_many_pixels", 413)
    assert f"may have at most {megapixels_allowed} megapixels" in message
    assert outcome["peak_growth"] < REFUSAL_BUDGET, outcome


# --------------------------------------------------------------------------------------------
# The worst kinds of file at the 50-megapixel limit
# --------------------------------------------------------------------------------------------


def test_16_bit_greyscale_png_of_49_megapixels_is_ingested_within_the_budget(sample):
    outcome = measure(sample("grey16.png"))
    assert_ingested_within_budget(outcome, make_flat_png(700, 700, "I;16", (128 * 257,)))


def test_rgba_png_of_49_megapixels_is_ingested_within_the_budget(sample):
    outcome = measure(sample("rgba.png"))
    twin = make_flat_png(700, 700, "RGBA", (200, 40, 40, 255), (0, 0, 0, 0))
    assert_ingested_within_budget(outcome, twin)


def test_16_bit_rgba_png_of_49_megapixels_is_ingested_within_the_budget(sample):
    outcome = measure(sample("rgba16.png"))
    twin = make_flat_png(700, 700, "RGBA;16", (51400, 10280, 10280, 65535))
    assert_ingested_within_budget(outcome, twin)


def test_cmyk_jpeg_at_the_pixel_limit_is_ingested_within_the_budget(sample):
    outcome = measure(sample("cmyk.jpg"))
    assert_ingested_within_budget(outcome, make_cmyk_jpeg(700, 700))


def test_progressive_cmyk_jpeg_at_the_pixel_limit_is_refused_before_decoding(sample):
    # libjpeg holds every DCT coefficient of a progressive file: 8 bytes a pixel for CMYK.
    assert_refused_from_the_header(measure(sample("cmyk-progressive.jpg")), "26.6")


def test_progressive_jpeg_at_the_pixel_limit_is_ingested_within_the_budget(sample):
    # 4:2:0, as phones and the web write it: 3 bytes a pixel of coefficients, 1 of pixels.
    outcome = measure(sample("progressive.jpg"))
    assert_ingested_within_budget(outcome, make_flat_jpeg(700, 700, progressive=True))


def test_heic_of_49_megapixels_is_ingested_within_the_budget(sample):
    # What an iPhone's 48 MP "HEIF Max" setting sends (8064 x 6048) must get through.
    outcome = measure(sample("heic.heic"))
    assert_ingested_within_budget(outcome, make_photo(700, 700, fmt="HEIF", pattern=False))


def test_heic_with_transparency_at_49_megapixels_is_refused_before_decoding(sample):
    # libheif holds a separate alpha plane and four bytes a pixel: 7 bytes a pixel in all.
    assert_refused_from_the_header(measure(sample("heic-alpha.heic")), "34.2")


def test_heic_with_transparency_of_34_megapixels_is_ingested_within_the_budget(sample):
    outcome = measure(sample("heic-alpha-34mp.heic"))
    twin = make_photo(700, 700, fmt="HEIF", pattern=False)  # opaque: the same pixels
    assert_ingested_within_budget(outcome, twin)


def test_webp_at_the_pixel_limit_is_refused_before_decoding(sample):
    # Pillow decodes WebP through libwebp's animation decoder: two canvases, a copy and the image.
    assert_refused_from_the_header(measure(sample("webp.webp")), "15")


def test_webp_of_15_megapixels_is_ingested_within_the_budget(sample):
    outcome = measure(sample("webp-15mp.webp"))
    assert_ingested_within_budget(outcome, make_flat_webp(700, 700))


def test_colour_of_a_16_bit_png_of_49_megapixels_is_measured_within_the_budget(sample):
    outcome = measure(sample("grey16.png"), "colour")
    assert outcome["peak_growth"] < PEAK_BUDGET, outcome
    assert outcome["colour"]["L"] == pytest.approx(53.6, abs=0.5)


def test_memory_of_big_ingests_on_four_threads_is_given_back(sample):
    names = ["grey16.png", "rgba.png", "heic.heic", "cmyk.jpg"]
    paths = [str(sample(name)) for name in names]
    result = subprocess.run(
        [sys.executable, "-c", _THREADS_CHILD, str(ROOT), *paths],
        check=True,
        capture_output=True,
        text=True,
    )
    kept = int(result.stdout)
    # Before memory was handed back, 305 MiB stayed; since, 3-65 MiB (how much depends on the
    # allocator's arenas and threads). The bound tells the two apart without riding that noise.
    assert kept < 150 * 2**20, f"{kept / 2**20:.0f} MiB kept after the ingests"


def test_api_answers_a_photo_too_costly_to_decode_with_413_json(logged_in, sample):
    entry = str(uuid.uuid4())
    assert logged_in.put(f"/api/v1/entries/{entry}", json=entry_body()).status_code == 201
    data = sample("webp.webp").read_bytes()  # 130 KB: werkzeug spools bigger bodies to a file
    response = put_photo(logged_in, entry, str(uuid.uuid4()), data)
    error = assert_error(response, 413, code="too_many_pixels", field="file")
    assert "megapixels" in error["message"]


# --------------------------------------------------------------------------------------------
# Pricing from the header (in process, with a small budget)
# --------------------------------------------------------------------------------------------


def rejection(data: bytes, **limits: int) -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        ingest_photo(data, **limits)
    return caught.value


def test_a_16_bit_pixel_costs_two_bytes_and_an_rgba_pixel_four():
    budget = 2_500_000
    assert ingest_photo(make_flat_png(1000, 1000, "I;16"), max_decode_bytes=budget)
    rgba = make_flat_png(1000, 1000, "RGBA", (1, 2, 3, 255))
    assert rejection(rgba, max_decode_bytes=budget).status == 413


def test_refusal_names_the_size_and_the_megapixels_allowed_for_that_kind_of_file():
    rgba = make_flat_png(1000, 1000, "RGBA", (1, 2, 3, 255))
    rejected = rejection(rgba, max_decode_bytes=2_000_000)
    assert rejected.code == "too_many_pixels"
    assert "1000 × 1000" in rejected.message
    assert "at most 0.5 megapixels" in rejected.message


def test_a_big_jpeg_is_priced_at_the_size_it_is_drafted_to():
    # 4000 x 3000 decodes at half scale: 2000 x 1500 x 4 bytes = 12 MB, not 48 MB.
    photo = ingest_photo(make_photo(4000, 3000), max_decode_bytes=13_000_000)
    assert (photo.width, photo.height) == (2000, 1500)


def test_a_progressive_jpeg_is_priced_with_its_coefficient_buffers():
    # Both draft to 12 MB of pixels; the progressive one also holds 2 bytes for each of its 4 DCT
    # coefficients a pixel, at full size: 96 MB.
    data = make_cmyk_jpeg(4000, 3000, progressive=False)
    assert ingest_photo(data, max_decode_bytes=13_000_000)
    progressive = make_cmyk_jpeg(4000, 3000, progressive=True)
    assert rejection(progressive, max_decode_bytes=13_000_000).status == 413


def first_scan_with_one_component(jpeg: bytes) -> bytes:
    """The JPEG with its first scan header cut down to its first component, as a non-interleaved
    baseline file starts (libjpeg then buffers every coefficient, as for a progressive one)."""
    start = jpeg.index(b"\xff\xda")
    length = int.from_bytes(jpeg[start + 2 : start + 4], "big")
    body = jpeg[start + 4 : start + 2 + length]
    components = body[0]
    one = bytes([1]) + body[1:3] + body[1 + 2 * components :]
    header = b"\xff\xda" + (len(one) + 2).to_bytes(2, "big") + one
    return jpeg[:start] + header + jpeg[start + 2 + length :]


def test_a_baseline_jpeg_scanned_one_component_at_a_time_is_priced_like_a_progressive_one():
    data = first_scan_with_one_component(make_cmyk_jpeg(4000, 3000))
    assert rejection(data, max_decode_bytes=13_000_000).status == 413


def test_the_default_budget_leaves_room_for_a_50_megapixel_rgba_png():
    assert imaging.MAX_DECODE_BYTES >= 50_000_000 * 4
