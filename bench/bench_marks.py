"""Benchmark: the mark map against ground truth, under the ways a phone photo goes wrong.

Run from the repository root:

    .venv/bin/python bench/bench_marks.py            # 12 faces (two of each skin type I-VI)
    .venv/bin/python bench/bench_marks.py --faces 6

Faces come from tests/synthetic_faces.py, drawn at the full rendition's size (1536 x 2048) with
red marks of a* +8 and dark marks of L* -8, 3-7 px in radius on the analysis copy. Each is
perturbed at that size (as the phone would; a phone's 12 MP JPEG blocks are smaller still),
reduced as ingest does (to the 960 x 1280 display rendition, then `imaging.analysis_copy`, the
384 x 512 analysis copy), and measured (`measure_marks`).
Printed per perturbation (worst face, and the mean over faces):

* `delta_a`, `red_area`, `delta_l`, `dark_area`: relative error against the clean face's truth
  (`Truth.at_lightness(STANDARD_LIGHTNESS)` for the contrasts: what a perfect map at the
  standard exposure reports; the areas as drawn);
* `centre a*` / `centre L*`: today's figure, the mean a* (L*) of the central half of the frame
  (`colour_metrics`), read as the marks' change between the unmarked face in the reference light
  and the marked face in the perturbed light, against the same change with both in the reference
  light. That is the change today's curve shows when the marks appear (or fade) and the light
  differs between the two photos: the error is the light's effect relative to the marks'.
* fading: for each kind of perturbation, a series of six weekly photos of one face whose marks
  fade 10 % a week (contrast x 0.9 a week), each photo with its own random draw of that kind
  (`synthetic_faces.random_perturbation`); counted as fading "every week" when `delta_a` and
  -`delta_l` fall from each week to the next, as a "trend" when their log-linear slope is
  negative and the last week is below the first; today's central a* alongside.
* time: ms per `measure_marks` on one analysis copy (best of 5, after a warm-up).

Aim (issue 14): `delta_a` within 15 % and the areas within 20 % of truth under every perturbation,
and every series reads as fading.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import synthetic_faces as faces  # noqa: E402 - needs ROOT on sys.path
from webapp.imaging import analysis_copy, colour_metrics  # noqa: E402
from webapp.imaging.marks import STANDARD_LIGHTNESS, measure_marks  # noqa: E402

SIZE = (1536, 2048)  # drawn at (width, height): the full rendition's long side
DISPLAY = (960, 1280)  # the display rendition, which ingest makes the analysis copy from
ANALYSIS = (384, 512)  # measured at
RADIUS = (12.0, 28.0)  # px at the drawn size: 3-7 px on the analysis copy
CONTRAST = 8.0
WEEKS = 6
FADE = 0.9
COLUMNS = ("delta_a", "red_area", "delta_l", "dark_area", "centre a*", "centre L*")


def analysis(rgb: np.ndarray) -> np.ndarray:
    """What ingest measures: the display rendition (1280 px, bilinear with Pillow's reducing gap,
    as ingest makes it from the full one) box-reduced to the 512 px analysis copy."""
    display = Image.fromarray(rgb).resize(DISPLAY, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return analysis_copy(display)


def draw(seed: int, contrast: float = CONTRAST) -> faces.Face:
    """Face `seed` (skin type 1 + seed % 6) at the drawn size with marks of `contrast`."""
    return faces.make_face(
        seed,
        skin_type=1 + seed % 6,
        width=SIZE[0],
        height=SIZE[1],
        radius=RADIUS,
        delta_a=contrast,
        delta_l=contrast,
    )


def relative_error(measured: float | None, truth: float | None) -> float:
    if measured is None or not truth:
        return float("inf")
    return abs(measured - truth) / abs(truth)


def centre(rgb: np.ndarray) -> np.ndarray:
    """Today's figure: mean (a*, L*) of the central half (colour_metrics' default region)."""
    metrics = colour_metrics(Image.fromarray(analysis(rgb)))
    return np.array([metrics.a_star, metrics.l_star])


def face_errors(seed: int, cases: dict[str, Callable]) -> dict[str, dict[str, float]]:
    """Per perturbation, the relative errors of one face's figures (see the module docstring)."""
    face, plain = draw(seed), draw(seed, 0.0)
    truth = face.truth
    true_a, true_l = truth.at_lightness(STANDARD_LIGHTNESS)
    unmarked = centre(plain.rgb)
    true_change = centre(face.rgb) - unmarked
    rows = {}
    for name, perturb in cases.items():
        moved = perturb(face.rgb)
        got = measure_marks(analysis(moved))
        change = centre(moved) - unmarked
        rows[name] = {
            "delta_a": relative_error(got.delta_a, true_a),
            "red_area": relative_error(got.red_area, truth.red_area),
            "delta_l": relative_error(got.delta_l, true_l),
            "dark_area": relative_error(got.dark_area, truth.dark_area),
            "centre a*": relative_error(change[0], true_change[0]),
            "centre L*": relative_error(change[1], true_change[1]),
            "signal a*": float(true_change[0]),
        }
    return rows


def falls(values: list[float]) -> tuple[bool, bool]:
    """(falls every week, trends down: a negative log-linear slope and the last below the first)."""
    series = np.maximum(np.asarray(values), 1e-6)
    slope = np.polyfit(np.arange(len(series)), np.log(series), 1)[0]
    return bool(np.all(np.diff(series) < 0)), bool(slope < 0 and series[-1] < series[0])


def series_fades(seed: int) -> dict[str, dict[str, tuple[bool, bool]]]:
    """Per kind, six weekly photos (marks x0.9 a week, each its own draw of the kind): do the
    marks' figures (delta_a and -delta_l) and today's central a* fall (see `falls`)?"""
    rngs = {kind: np.random.default_rng([seed, i]) for i, kind in enumerate(faces.RANDOM_KINDS)}
    series = {kind: {"red": [], "dark": [], "centre": []} for kind in faces.RANDOM_KINDS}
    for week in range(WEEKS):
        rgb = draw(seed, CONTRAST * FADE**week).rgb
        for kind, rng in rngs.items():
            photo = faces.random_perturbation(kind, rng)(rgb)
            got = measure_marks(analysis(photo))
            series[kind]["red"].append(got.delta_a if got.delta_a is not None else 0.0)
            series[kind]["dark"].append(-got.delta_l if got.delta_l is not None else 0.0)
            series[kind]["centre"].append(centre(photo)[0])
    results = {}
    for kind, figures in series.items():
        red, dark = falls(figures["red"]), falls(figures["dark"])
        results[kind] = {
            "marks": (red[0] and dark[0], red[1] and dark[1]),
            "centre": falls(figures["centre"]),
        }
    return results


def time_measure(rgb: np.ndarray, repeat: int = 5) -> float:
    measure_marks(rgb)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        measure_marks(rgb)
        best = min(best, time.perf_counter() - start)
    return best * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--faces", type=int, default=12)
    args = parser.parse_args()
    seeds = range(args.faces)
    cases = {"none": lambda rgb: rgb, **faces.PERTURBATIONS}
    per_face = [face_errors(seed, cases) for seed in seeds]
    signal = np.median([abs(rows["none"]["signal a*"]) for rows in per_face])
    print(f"{args.faces} faces; relative error %, worst face (mean over faces)")
    print(f"(the marks move today's central a* by only {signal:.3f} on a typical face)")
    print(f"{'perturbation':<22}" + "".join(f"{c:>17}" for c in COLUMNS))
    for name in cases:
        cells = []
        for column in COLUMNS:
            values = np.array([rows[name][column] for rows in per_face])
            cells.append(f"{100 * values.max():>8.1f} ({100 * values.mean():5.1f})")
        print(f"{name:<22}" + "".join(f"{cell:>17}" for cell in cells))
    print()
    print(f"fading: {WEEKS} weekly photos, marks x{FADE} a week, each photo its own draw")
    fading = [series_fades(seed) for seed in seeds]
    print(
        f"  {'':<16}{'marks: every week':>20}{'trend':>8}{'centre a*: every week':>24}{'trend':>8}"
    )
    for kind in faces.RANDOM_KINDS:
        cells = [
            sum(result[kind][figure][which] for result in fading)
            for figure in ("marks", "centre")
            for which in (0, 1)
        ]
        n = len(fading)
        print(
            f"  {kind:<16}{cells[0]:>17}/{n:<2}{cells[1]:>5}/{n:<2}"
            f"{cells[2]:>21}/{n:<2}{cells[3]:>5}/{n:<2}"
        )
    print()
    copy = analysis(draw(0).rgb)
    print(f"measure_marks: {time_measure(copy):.1f} ms per {ANALYSIS[0]} x {ANALYSIS[1]} copy")


if __name__ == "__main__":
    main()
