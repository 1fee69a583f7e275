"""Benchmark: photo ingest against one plain Pillow decode of the same 12-megapixel JPEG.

Run from the repository root:

    .venv/bin/python bench/bench_ingest.py            # best of 15
    .venv/bin/python bench/bench_ingest.py --repeat 40

It draws a 4000 x 3000 phone-like JPEG (skin-tone gradients, blurred marks and sensor-like noise,
so it does not compress trivially; about 3 MB at quality 92) with EXIF orientation 6, a capture
time and a GPS position, then prints:

* decode: `Image.open(...).load()`, Pillow decoding the upload once at full size (best of N);
* ingest: `webapp.imaging.ingest_photo` on the same bytes (best of N): validation, a half-scale
  draft decode, orientation, metadata stripping, three renditions encoded, colour metrics, and
  on the 512 px analysis copy the quality grade and the mark map; the analysis alone (copy,
  quality, marks, on the display rendition's pixels) is timed beside it;
* ratio = ingest / decode. 1.0 means the whole ingest costs exactly one full decode of the upload;
  below 1.0 it is cheaper than merely looking at every pixel once. For scale, the "naive" line
  does the obvious thing (full decode, exif_transpose, Lanczos to each size, encode);
* the same three renditions made by other libraries, side by side in the same rounds when they are
  installed (`pip install pyvips==3.2.0 pyvips-binary==8.18.7 simplejpeg==1.9.0`; they are not
  dependencies of the app): Pillow as ingest makes them, simplejpeg (libjpeg-turbo, scaled
  decode with its fast IDCT and encode) around Pillow's transpose and resize, and libvips
  (shrink-on-load, autorot, resize, jpegsave) on one thread and on all cores;
* memory of one ingest, two ways: tracemalloc's peak counts only allocations made through
  Python's allocators (bytes objects, numpy arrays), not Pillow's C image buffers; the real peak
  is the growth of the resident-set high-water mark (ru_maxrss, read as VmHWM) across one ingest
  in a fresh subprocess, which sees everything.

Timings are wall-clock, single-threaded, on whatever machine runs this; compare ratios, not ms.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import pstats
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageFilter, ImageOps

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.photo_factory import make_exif  # noqa: E402 - needs ROOT on sys.path
from webapp.imaging import (  # noqa: E402
    JPEG_DRAFT_MIN_FRACTION,
    RENDITION_SIZES,
    analysis_copy,
    analysis_grey,
    assess_quality,
    ingest_photo,
    measure_marks,
)
from webapp.imaging.decoding import draft_at_least  # noqa: E402
from webapp.imaging.pixels import apply_orientation  # noqa: E402

WIDTH, HEIGHT = 4000, 3000
BILINEAR = Image.Resampling.BILINEAR

# Runs in a fresh interpreter and reports the resident-set high-water mark (VmHWM, what
# getrusage's ru_maxrss reports for the process) growth across one run. The kernel lets a child
# inherit ru_maxrss from the (large) parent across fork+exec, so the child reads VmHWM of its own
# address space from /proc/self/status and, where allowed, resets it first via
# /proc/self/clear_refs, so import-time peaks do not hide the run's own peak.
_CHILD = """
import gc, importlib.util, io, json, resource, sys
package = sys.argv[1] + "/webapp/imaging"
spec = importlib.util.spec_from_file_location(
    "imaging", package + "/__init__.py", submodule_search_locations=[package]
)
imaging = sys.modules["imaging"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(imaging)
from PIL import Image

def status_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])

data = open(sys.argv[2], "rb").read()
gc.collect()
try:
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # reset the high-water mark to the current resident size
except OSError:
    pass
before = status_kib("VmRSS")
if sys.argv[3] == "ingest":
    imaging.ingest_photo(data)
else:
    Image.open(io.BytesIO(data)).load()
print(json.dumps({
    "before_kib": before,
    "after_kib": status_kib("VmHWM"),
    "ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}))
"""


def make_12mp_jpeg() -> bytes:
    """A phone-like 4000 x 3000 JPEG with EXIF orientation, capture time and GPS."""
    rng = np.random.default_rng(2026)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    skin = np.empty((HEIGHT, WIDTH, 3), np.float32)
    light = 1.0 + 0.12 * np.sin(x / 900.0) * np.cos(y / 700.0) - 0.08 * (x / WIDTH)
    for channel, base in enumerate((214.0, 160.0, 138.0)):
        skin[..., channel] = base * light
    image = Image.fromarray(np.clip(skin, 0, 255).astype(np.uint8))
    # Blurred red-brown marks, like PIE/PIH on a cheek.
    marks = Image.new("L", (WIDTH, HEIGHT), 0)
    spots = rng.uniform((0, 0, 20), (WIDTH, HEIGHT, 90), (120, 3))
    for cx, cy, radius in spots:
        marks.paste(255, (int(cx - radius), int(cy - radius), int(cx + radius), int(cy + radius)))
    marks = marks.filter(ImageFilter.GaussianBlur(25))
    image = Image.composite(Image.new("RGB", image.size, (175, 85, 80)), image, marks)
    # Sensor-like noise and fine texture so the JPEG is about as heavy as a phone's.
    pixels = np.asarray(image, dtype=np.int16)
    noise = rng.normal(0.0, 4.0, (HEIGHT, WIDTH, 1)) + rng.normal(0.0, 2.0, (HEIGHT, WIDTH, 3))
    pixels = np.clip(pixels + noise.astype(np.int16), 0, 255).astype(np.uint8)
    exif = make_exif(orientation=6, gps=True, taken_at=datetime(2026, 11, 20, 8, 30, 0))
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=92, exif=exif.tobytes())
    return buffer.getvalue()


class Best(NamedTuple):
    """Fastest of a number of runs, in ms: wall clock, and CPU time of every thread of the process
    (less disturbed by a busy machine; more than the wall clock where a library uses threads)."""

    wall: float
    cpu: float


def best_ms(actions: dict[str, Callable[[], object]], repeat: int) -> dict[str, Best]:
    """Fastest of `repeat` runs of each action, the actions taking turns round by round.

    Taking turns exposes every action to the same background load; the best run is the one least
    disturbed by the rest of the machine.
    """
    walls: dict[str, list[float]] = {name: [] for name in actions}
    cpus: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeat):
        for name, action in actions.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            action()
            walls[name].append(time.perf_counter() - start)
            cpus[name].append(time.process_time() - start_cpu)
    return {name: Best(min(walls[name]) * 1000, min(cpus[name]) * 1000) for name in actions}


def stage_breakdown(data: bytes, runs: int = 5) -> dict[str, float]:
    """Mean ms per ingest spent in Pillow's C decoder, resampler, encoder and transposer, and in
    the quality grade and the mark map (which call none of those)."""
    stages = {"decode": "decode", "resize": "resize", "encode": "encode", "transpose": "transpose"}
    measures = {"quality": "assess_quality", "marks": "measure_marks"}
    profiler = cProfile.Profile()
    profiler.enable()
    start = time.perf_counter()
    for _ in range(runs):
        ingest_photo(data)
    total = time.perf_counter() - start
    profiler.disable()
    spent = dict.fromkeys([*stages, *measures], 0.0)
    for (_file, _line, function), row in pstats.Stats(profiler).stats.items():
        for stage, method in stages.items():
            if function == f"<method '{method}' of 'ImagingDecoder' objects>" or (
                function.startswith(f"<method '{method}' of 'Imaging")
            ):
                spent[stage] += row[2]  # total time inside the C method
        for stage, name in measures.items():
            if function == name:
                spent[stage] += row[3]  # cumulative: the function and all it calls
    result = {stage: seconds / runs * 1000 for stage, seconds in spent.items()}
    result["everything else"] = total / runs * 1000 - sum(result.values())
    return result


def full_decode(data: bytes) -> None:
    Image.open(io.BytesIO(data)).load()


def analysis(display: Image.Image) -> None:
    """What ingest does on top of the renditions: the analysis copy, its grade, its marks."""
    copy = analysis_copy(display)
    assess_quality(copy, analysis_grey(copy))
    measure_marks(copy)


# --- The renditions alone, by other libraries -------------------------------------------------
# Each makes what ingest makes of the upload: decoded at half scale (the long side >= 1843 px),
# turned upright, the full, display and thumb renditions (bilinear) encoded as JPEG quality 85
# with no metadata. Only ingest itself also validates, prices, converts colour and measures.


def _long_side_fit(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    ratio = long_side / max(size)
    return max(1, round(size[0] * ratio)), max(1, round(size[1] * ratio))


def pillow_renditions(data: bytes) -> list[bytes]:
    image = Image.open(io.BytesIO(data))
    draft_at_least(image, math.ceil(RENDITION_SIZES["full"] * JPEG_DRAFT_MIN_FRACTION))
    full = apply_orientation(image, image.getexif().get(0x0112, 1))
    full.info = {}
    display = full.resize(_long_side_fit(full.size, RENDITION_SIZES["display"]), BILINEAR)
    thumb = display.resize(
        _long_side_fit(display.size, RENDITION_SIZES["thumb"]), BILINEAR, reducing_gap=1.0
    )
    encoded = []
    for picture, optimize in ((full, False), (display, True), (thumb, True)):
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=85, optimize=optimize)
        encoded.append(buffer.getvalue())
    return encoded


def simplejpeg_renditions(data: bytes) -> list[bytes]:
    import simplejpeg

    orientation = Image.open(io.BytesIO(data)).getexif().get(0x0112, 1)
    height, width = simplejpeg.decode_jpeg_header(data)[:2]
    at_least = math.ceil(RENDITION_SIZES["full"] * JPEG_DRAFT_MIN_FRACTION)  # as ingest drafts
    pixels = simplejpeg.decode_jpeg(
        data,
        colorspace="RGB",
        fastdct=True,  # what Pillow's draft mode asks of libjpeg too
        fastupsample=True,
        min_width=at_least if width >= height else 0,
        min_height=at_least if height > width else 0,
    )
    full = apply_orientation(Image.fromarray(pixels), orientation)
    display = full.resize(_long_side_fit(full.size, RENDITION_SIZES["display"]), BILINEAR)
    thumb = display.resize(
        _long_side_fit(display.size, RENDITION_SIZES["thumb"]), BILINEAR, reducing_gap=1.0
    )
    return [
        simplejpeg.encode_jpeg(np.asarray(picture), quality=85, colorsubsampling="420")
        for picture in (full, display, thumb)
    ]


def vips_renditions(data: bytes, threads: int) -> list[bytes]:
    import pyvips

    pyvips.concurrency_set(threads)
    pyvips.cache_set_max(0)  # no operation cache: every round decodes afresh
    full = pyvips.Image.new_from_buffer(
        data, "", shrink=2
    )  # 4000 px: 1/2, as ingest drafts.autorot().copy_memory()
    display = full.resize(
        RENDITION_SIZES["display"] / max(full.width, full.height), kernel="linear"
    )
    display = display.copy_memory()
    thumb = display.resize(
        RENDITION_SIZES["thumb"] / max(display.width, display.height), kernel="linear"
    )
    return [
        full.jpegsave_buffer(Q=85, keep="none"),
        display.jpegsave_buffer(Q=85, keep="none", optimize_coding=True),
        thumb.jpegsave_buffer(Q=85, keep="none", optimize_coding=True),
    ]


def alternatives(data: bytes) -> dict[str, Callable[[], object]]:
    """The rendition pipelines whose libraries are installed, by name."""
    found: dict[str, Callable[[], object]] = {"Pillow": lambda: pillow_renditions(data)}
    try:
        import simplejpeg  # noqa: F401 - only whether it is there
    except ImportError:
        print("  (simplejpeg not installed: left out)")
    else:
        found["simplejpeg + Pillow resize"] = lambda: simplejpeg_renditions(data)
    try:
        import pyvips
    except (ImportError, OSError):
        print("  (pyvips / pyvips-binary not installed: left out)")
    else:
        cores = os.cpu_count() or 1
        found["libvips, one thread"] = lambda: vips_renditions(data, 1)
        found[f"libvips, {cores} threads"] = lambda: vips_renditions(data, cores)
        print(f"  libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}")
    return found


def naive_ingest(data: bytes) -> None:
    """What one would write first: decode everything, then Lanczos down to each size."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    for long_side in RENDITION_SIZES.values():
        copy = image.copy()
        copy.thumbnail((long_side, long_side), Image.Resampling.LANCZOS, reducing_gap=None)
        copy.save(io.BytesIO(), "JPEG", quality=85, optimize=True)


def tracemalloc_peak_mib(data: bytes) -> float:
    tracemalloc.start()
    try:
        ingest_photo(data)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def rss_growth_mib(path: Path, what: str) -> float:
    """Growth of the resident-set high-water mark across one run, in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(ROOT), str(path), what],
        check=True,
        capture_output=True,
        text=True,
    )
    figures = json.loads(result.stdout)
    return (figures["after_kib"] - figures["before_kib"]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs per timing (best is kept)")
    args = parser.parse_args()

    data = make_12mp_jpeg()
    photo = ingest_photo(data)  # warm up (imports, plugin registration) and show the output
    print(f"input: {WIDTH}x{HEIGHT} JPEG, {len(data) / 2**20:.2f} MiB, EXIF orientation 6 + GPS")
    for name, rendition in photo.renditions.items():
        size = f"{rendition.width}x{rendition.height}"
        print(f"  {name:8s} {size}, {len(rendition.data) / 1024:.0f} KiB")
    print(f"  colour   {photo.colour.as_dict()}")

    print(f"  quality  {photo.quality.as_dict()}")
    print(f"  marks    {photo.marks.as_dict()}")
    display = Image.open(io.BytesIO(photo.renditions["display"].data)).convert("RGB")

    figures = best_ms(
        {
            "decode": lambda: full_decode(data),
            "ingest": lambda: ingest_photo(data),
            "analysis": lambda: analysis(display),
        },
        args.repeat,
    )
    decode, ingest, measures = figures["decode"], figures["ingest"], figures["analysis"]
    naive = best_ms({"naive": lambda: naive_ingest(data)}, max(1, args.repeat // 3))["naive"]
    print(f"\nbest of {args.repeat}, one thread:            wall clock    CPU time")
    print(f"  full decode (Image.open().load())  {decode.wall:8.1f} ms {decode.cpu:8.1f} ms")
    print(f"  ingest_photo                       {ingest.wall:8.1f} ms {ingest.cpu:8.1f} ms")
    print(
        f"  ratio ingest / decode              {ingest.wall / decode.wall:8.2f}    "
        f"{ingest.cpu / decode.cpu:8.2f}      (aim: <= 1.0)"
    )
    print(
        f"    of which analysis copy, quality, marks  {measures.wall:5.1f} ms "
        f"(ratio {measures.wall / decode.wall:.2f}; "
        f"without them {(ingest.wall - measures.wall) / decode.wall:.2f})"
    )
    print(
        f"  naive ingest, for comparison       {naive.wall:8.1f} ms   "
        f"(ratio {naive.wall / decode.wall:.2f})"
    )

    print(f"\nthe renditions alone, by other libraries (best of {args.repeat}, same rounds):")
    pipelines = alternatives(data)
    figures = best_ms({"decode": lambda: full_decode(data), **pipelines}, args.repeat)
    decode = figures["decode"]
    print(f"  {'':28s}     wall     CPU   ratio wall, CPU")
    for name in pipelines:
        sizes = " + ".join(f"{len(jpeg) / 1024:.0f}" for jpeg in pipelines[name]())
        best = figures[name]
        print(
            f"  {name:28s} {best.wall:6.1f} ms {best.cpu:6.1f} ms   "
            f"{best.wall / decode.wall:.2f}, {best.cpu / decode.cpu:.2f}   ({sizes} KiB)"
        )
    print("\nwhere an ingest spends its time (cProfile, mean of 5, profiler overhead included):")
    for stage, ms in stage_breakdown(data).items():
        print(f"  {stage:16s} {ms:6.1f} ms")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "12mp.jpg"
        path.write_bytes(data)
        ingest_rss = rss_growth_mib(path, "ingest")
        decode_rss = rss_growth_mib(path, "decode")
    print("\npeak memory of one ingest:")
    print(f"  tracemalloc peak (Python allocations only)     {tracemalloc_peak_mib(data):6.1f} MiB")
    print(
        f"  max RSS growth, fresh subprocess (real peak)   {ingest_rss:6.1f} MiB   "
        f"(aim: well under 200)"
    )
    print(f"  max RSS growth of a full decode, for scale     {decode_rss:6.1f} MiB")


if __name__ == "__main__":
    main()
