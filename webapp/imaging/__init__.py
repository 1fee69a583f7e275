"""Photo ingest: validate an upload, orient it, strip its metadata, make renditions, measure it.

Every photo a patient uploads passes through `ingest_photo` before anything is stored. The upload is
untrusted: it may be a renamed PDF, a truncated transfer, a decompression bomb, or a phone photo
that carries the patient's home (GPS) in its EXIF. So this package

* identifies the format from the bytes alone (never a file name or a declared content type) and
  accepts only JPEG, PNG, WebP and HEIC/HEIF;
* refuses oversize uploads before opening them and oversize images from their header, before a
  single pixel is decoded: too many pixels, or more memory than MAX_DECODE_BYTES to decode them
  (a 95 KB 16-bit PNG can hold 49 MP; a progressive CMYK JPEG needs 8 bytes a pixel);
* turns every decoder failure into `ImageRejected`, so the web layer answers 4xx, never 500;
* converts pixels tagged with another ICC profile (an iPhone's Display P3) to sRGB, applies the
  EXIF orientation, then rebuilds the pixels into a fresh image and re-encodes it as JPEG, so no
  EXIF, GPS, XMP, ICC profile, comment or bytes appended after the image survive;
* measures indicative colour (CIELAB, ITA°) of the central region, grades the photo's quality
  (exposure, sharpness, colour cast: good / fair / poor with reasons) and maps its red and dark
  marks against the photo's own skin, the basis of the redness and pigmentation curves.

It imports nothing from Flask so it can be tested directly and reused from command-line tools.
Callers use only the names below; the modules behind them, each depending only on those above it:

* `decoding`: limits, sniffing, opening an upload lazily, pricing its decode from the header;
* `pixels`: decoding to 8-bit sRGB a strip at a time (ICC, 16-bit, transparency), EXIF
  orientation and capture time, giving a big decode's memory back;
* `colour`: CIELAB, ITA°, regions, `colour_metrics`, and `analysis_copy` (the 512 px copy the
  measures below work on);
* `quality`: `assess_quality`, exposure, sharpness and colour cast graded;
* `marks`: `measure_marks`, red (PIE) and dark (PIH) marks against the skin around them;
* `alignment`: `align`, the similarity laying one photo of an area onto another (on the analysis
  copies' grey), and `map_region`, `invert`, `compose`, `between` to carry regions across;
* `ingest`: `ingest_photo`, the renditions and their encoding, and the measures of each photo.

Speed: a 12 MP JPEG is decoded at half scale in the DCT domain (`Image.draft`) and never exists
at full size in memory; each smaller rendition is made from the one above it, colour is measured
on the thumb, and quality and marks on the 512 px analysis copy made from the display rendition.
The renditions and colour cost about 1.3-1.5 plain full-size decodes of the same file, where the
obvious pipeline costs eleven; the analysis copy and quality grade add about 0.1 and the mark map
0.4-0.7 (more, the more marks there are), so a whole ingest is about 2.3 such decodes on the
benchmark's photo and its 150 marks (bench/bench_ingest.py; libvips makes the same renditions
5-10 % cheaper, simplejpeg no cheaper: not worth a second decoder of untrusted files). The
half-scale decode alone is 0.6-0.7 of that decode: the entropy decoding cannot be scaled away.
JPEG scaling only halves, so the "full" rendition of a 4000 px wide photo is 2000 px, not 2048:
see `JPEG_DRAFT_MIN_FRACTION`.

Memory: one ingest peaks under 300 MB above the worker's resting size for any file it accepts
(tests/test_ingest_memory.py measures the worst kinds at the pixel limit). Besides the decoder's
own pixels, no full-size copy exists: other formats are turned into 8-bit sRGB and box-reduced a
strip at a time, and HEIC pixels are read straight from libheif's buffer. No float array is
ever made of more than the 512 px analysis copy (a few MB).
"""

from .alignment import (
    ALIGNED_MIN_SCORE,
    IDENTITY,
    Alignment,
    Matrix,
    align,
    between,
    compose,
    invert,
    map_point,
    map_region,
)
from .colour import (
    ANALYSIS_LONG_SIDE_MARKS,
    DEFAULT_REGION,
    ColourMetrics,
    Region,
    analysis_copy,
    colour_metrics,
    ita_degrees,
    srgb_to_lab,
    validate_region,
)
from .decoding import MAX_DECODE_BYTES, MAX_PIXELS, MAX_UPLOAD_BYTES, ImageRejected
from .ingest import (
    CONTENT_TYPE,
    JPEG_DRAFT_MIN_FRACTION,
    RENDITION_SIZES,
    IngestedPhoto,
    Rendition,
    ingest_photo,
)
from .marks import NO_MARKS, MarkMetrics, measure_marks
from .quality import PhotoQuality, analysis_grey, assess_quality

__all__ = [
    "ALIGNED_MIN_SCORE",
    "ANALYSIS_LONG_SIDE_MARKS",
    "CONTENT_TYPE",
    "DEFAULT_REGION",
    "IDENTITY",
    "JPEG_DRAFT_MIN_FRACTION",
    "MAX_DECODE_BYTES",
    "MAX_PIXELS",
    "MAX_UPLOAD_BYTES",
    "NO_MARKS",
    "RENDITION_SIZES",
    "Alignment",
    "ColourMetrics",
    "ImageRejected",
    "IngestedPhoto",
    "MarkMetrics",
    "Matrix",
    "PhotoQuality",
    "Region",
    "Rendition",
    "align",
    "analysis_copy",
    "analysis_grey",
    "assess_quality",
    "between",
    "colour_metrics",
    "compose",
    "ingest_photo",
    "invert",
    "ita_degrees",
    "map_point",
    "map_region",
    "measure_marks",
    "srgb_to_lab",
    "validate_region",
]
