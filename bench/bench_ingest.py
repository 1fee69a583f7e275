"""Benchmark: photo ingest against one plain Pillow decode of the same 12-megapixel JPEG.

Run from the repository root:

    .venv/bin/python bench/bench_ingest.py            # best of 7
    .venv/bin/python bench/bench_ingest.py --repeat 15

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
  is the growth of ru_maxrss (resident set high-water mark) across one ingest in a fresh
  subprocess, which sees everything.

Timings are wall-clock, single-threaded, on whatever machine runs this; compare ratios, not ms.
"""

from __future__ import annotations

import argparse
import io
import json
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

# Runs in a fresh interpreter so ru_maxrss (a high-water mark) is not polluted by this process.
_CHILD = """
import gc, json, resource, sys
sys.path.insert(0, sys.argv[1])
from PIL import Image
from webapp.imaging import ingest_photo
import io
data = open(sys.argv[2], "rb").read()
what = sys.argv[3]
gc.collect()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if what == "ingest":
    ingest_photo(data)
else:
    Image.open(io.BytesIO(data)).load()
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_kib": before, "after_kib": after}))
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


def best_ms(action: Callable[[], object], repeat: int) -> float:
    """Fastest of `repeat` runs, in ms: the least disturbed by the rest of the machine."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


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
    return (figures["after_kib"] - figures["before_kib"]) / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per timing (best is kept)")
    args = parser.parse_args()

    data = make_12mp_jpeg()
    photo = ingest_photo(data)  # warm up (imports, plugin registration) and show the output
    print(f"input: {WIDTH}x{HEIGHT} JPEG, {len(data) / 2**20:.2f} MiB, EXIF orientation 6 + GPS")
    for name, rendition in photo.renditions.items():
        print(f"  {name:8s} {rendition.width}x{rendition.height}, {len(rendition.data) / 1024:.0f} KiB")
    print(f"  colour   {photo.colour.as_dict()}")

    decode_ms = best_ms(lambda: full_decode(data), args.repeat)
    ingest_ms = best_ms(lambda: ingest_photo(data), args.repeat)
    naive_ms = best_ms(lambda: naive_ingest(data), max(1, args.repeat // 2))
    print(f"\nbest of {args.repeat}, wall clock, one thread:")
    print(f"  full decode (Image.open().load()) {decode_ms:8.1f} ms")
    print(f"  ingest_photo                      {ingest_ms:8.1f} ms")
    print(f"  ratio ingest / decode             {ingest_ms / decode_ms:8.2f}   (aim: <= 1.0)")
    print(f"  naive ingest, for comparison      {naive_ms:8.1f} ms   "
          f"(ratio {naive_ms / decode_ms:.2f})")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "12mp.jpg"
        path.write_bytes(data)
        ingest_rss = rss_growth_mib(path, "ingest")
        decode_rss = rss_growth_mib(path, "decode")
    print("\npeak memory of one ingest:")
    print(f"  tracemalloc peak (Python allocations only)     {tracemalloc_peak_mib(data):6.1f} MiB")
    print(f"  ru_maxrss growth, fresh subprocess (real peak) {ingest_rss:6.1f} MiB   "
          f"(aim: well under 200)")
    print(f"  ru_maxrss growth of a full decode, for scale   {decode_rss:6.1f} MiB")


if __name__ == "__main__":
    main()
