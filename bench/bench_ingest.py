"""Benchmark: photo ingest against one plain Pillow decode of the same 12-megapixel JPEG.

Run from the repository root:

    .venv/bin/python bench/bench_ingest.py            # best of 15
    .venv/bin/python bench/bench_ingest.py --repeat 40

It draws a 4000 x 3000 phone-like JPEG (skin-tone gradients, blurred marks and sensor-like noise,
so it does not compress trivially; about 3 MB at quality 92) with EXIF orientation 6, a capture
time and a GPS position, then prints:

* decode: `Image.open(...).load()`, Pillow decoding the upload once at full size (best of N);
* ingest: `webapp.imaging.ingest_photo` on the same bytes (best of N): validation, a half-scale
  draft decode, orientation, metadata stripping, three renditions encoded, colour metrics;
* ratio = ingest / decode. 1.0 means the whole ingest costs exactly one full decode of the upload;
  below 1.0 it is cheaper than merely looking at every pixel once. For scale, the "naive" line
  does the obvious thing (full decode, exif_transpose, Lanczos to each size, encode);
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
import pstats
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.photo_factory import make_exif  # noqa: E402 - needs ROOT on sys.path
from webapp.imaging import RENDITION_SIZES, ingest_photo  # noqa: E402

WIDTH, HEIGHT = 4000, 3000

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


def best_ms(actions: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Fastest of `repeat` runs of each action, in ms, the actions taking turns round by round.

    Taking turns exposes every action to the same background load; the best run is the one least
    disturbed by the rest of the machine.
    """
    times: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeat):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            times[name].append(time.perf_counter() - start)
    return {name: min(runs) * 1000 for name, runs in times.items()}


def stage_breakdown(data: bytes, runs: int = 5) -> dict[str, float]:
    """Mean ms per ingest spent in Pillow's C decoder, resampler, encoder and transposer."""
    stages = {"decode": "decode", "resize": "resize", "encode": "encode", "transpose": "transpose"}
    profiler = cProfile.Profile()
    profiler.enable()
    start = time.perf_counter()
    for _ in range(runs):
        ingest_photo(data)
    total = time.perf_counter() - start
    profiler.disable()
    spent = dict.fromkeys(stages, 0.0)
    for (_file, _line, function), row in pstats.Stats(profiler).stats.items():
        for stage, method in stages.items():
            if function == f"<method '{method}' of 'ImagingDecoder' objects>" or (
                function.startswith(f"<method '{method}' of 'Imaging")
            ):
                spent[stage] += row[2]  # total time inside the C method
    result = {stage: seconds / runs * 1000 for stage, seconds in spent.items()}
    result["everything else"] = total / runs * 1000 - sum(result.values())
    return result


def full_decode(data: bytes) -> None:
    Image.open(io.BytesIO(data)).load()


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

    figures = best_ms(
        {"decode": lambda: full_decode(data), "ingest": lambda: ingest_photo(data)}, args.repeat
    )
    decode_ms, ingest_ms = figures["decode"], figures["ingest"]
    naive_ms = best_ms({"naive": lambda: naive_ingest(data)}, max(1, args.repeat // 3))["naive"]
    print(f"\nbest of {args.repeat}, wall clock, one thread:")
    print(f"  full decode (Image.open().load())  {decode_ms:8.1f} ms")
    print(f"  ingest_photo                       {ingest_ms:8.1f} ms")
    print(f"  ratio ingest / decode              {ingest_ms / decode_ms:8.2f}   (aim: <= 1.0)")
    print(
        f"  naive ingest, for comparison       {naive_ms:8.1f} ms   "
        f"(ratio {naive_ms / decode_ms:.2f})"
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
