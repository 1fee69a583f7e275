"""Face-like photos with marks of known contrast and area, and the ways a phone photo goes wrong.

The ground truth for the mark maps (webapp/imaging/marks.py) and for alignment: tests and benches
import it. Plain functions, no pytest fixtures; numpy and Pillow only; everything is seeded, so
the same arguments always give the same pixels.

`make_face(seed, ...)` draws, in CIELAB (D65) and then encodes to sRGB uint8 (H, W, 3):

* a background (a blue-grey, green or pale grey wall) with a gentle gradient: not skin;
* hair (black or dark brown, low chroma) around and above a face oval, eyebrows, two eyes (white,
  brown or blue iris, pupil) and lips: not skin;
* the face oval of skin of Fitzpatrick type I-VI (`SKIN_LAB`), lit from one side, darker towards
  its edge, redder on the cheeks, with a fine pore-like texture;
* round marks with a soft (1 px) edge: red ones (PIE) raise a* by `delta_a`, dark ones (PIH)
  lower L* by `delta_l` (a positive number: how much darker), everything else unchanged.

`Face.truth` is what a perfect mark map would report. A mark's pixels are the skin pixels at
least half-way up its edge; `delta_a` is the mean rise of a* over them (slightly under the drawn
`delta_a`, because of the edge), `red_area` their number over the number of skin pixels; `delta_l`
(negative) and `dark_area` likewise. The truth is of the clean image: a perturbed copy shows the
same skin under other light, so a robust measure should still report it. `at_lightness` gives
the contrasts as they read at a standard exposure (what an exposure-free measure reports).

Perturbations take and return uint8 RGB: `exposure`, `white_balance` (von Kries), `gamma`, `jpeg`,
`noise`, `similarity` (shift, rotation, scale about the centre; returns the matrix too).
`PERTURBATIONS` names the extremes of the ranges a bench should survive; `random_perturbation`
draws one within a kind's range (for a series whose every photo is taken differently).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

# CIELAB of the skin of each Fitzpatrick type, chosen so ITA° falls in that type's usual band
# (I > 55°, II 41-55°, III 28-41°, IV 10-28°, V -30-10°, VI < -30°).
SKIN_LAB: dict[int, tuple[float, float, float]] = {
    1: (72.0, 9.0, 13.0),
    2: (66.0, 11.0, 16.0),
    3: (61.0, 12.0, 18.0),
    4: (54.0, 13.0, 20.0),
    5: (43.0, 12.0, 19.0),
    6: (32.0, 9.0, 13.0),
}
_BACKGROUNDS = ((70.0, -2.0, -12.0), (55.0, -15.0, 10.0), (82.0, 0.0, 2.0))
_HAIR = ((14.0, 1.0, 2.0), (20.0, 3.0, 6.0))
_IRIS = ((35.0, 5.0, 15.0), (50.0, -3.0, -15.0))
FILL_RGB = (128, 128, 128)  # what `similarity` shows where the frame moved away: not skin


@dataclass(frozen=True)
class Mark:
    """One drawn mark: centre (x, y) and radius in pixels of the clean image; kind 'red'|'dark'."""

    x: float
    y: float
    radius: float
    kind: str


@dataclass(frozen=True)
class Truth:
    """What a perfect mark map of the clean image reports (see the module docstring)."""

    delta_a: float | None
    red_area: float
    red_count: int
    delta_l: float | None
    dark_area: float
    dark_count: int
    marks: tuple[Mark, ...]
    skin: np.ndarray  # bool (H, W): the skin pixels, marks included
    red: np.ndarray  # bool (H, W): the red marks' pixels
    dark: np.ndarray  # bool (H, W): the dark marks' pixels
    rise: np.ndarray  # float (H, W): how much the red marks raise a* at each pixel
    fall: np.ndarray  # float (H, W): how much the dark marks lower L* at each pixel
    lightness: np.ndarray  # float (H, W): L* of the skin without its marks

    def at_lightness(self, lightness: float) -> tuple[float | None, float | None]:
        """(delta_a, delta_l) as they read once the photo's exposure is scaled so that the skin
        around each mark pixel has L* = `lightness`. In CIELAB a change of exposure scales L* + 16,
        a* and b* alike (above the cube root's linear toe), so each pixel's rise (fall) scales by
        (lightness + 16) / (its skin's L* + 16): a figure that no exposure changes."""
        scale = (lightness + 16.0) / (self.lightness + 16.0)
        delta_a = float((self.rise * scale)[self.red].mean()) if self.red.any() else None
        delta_l = float(-(self.fall * scale)[self.dark].mean()) if self.dark.any() else None
        return delta_a, delta_l


@dataclass(frozen=True)
class Face:
    rgb: np.ndarray  # uint8 (H, W, 3) sRGB
    truth: Truth


def make_face(
    seed: int = 0,
    *,
    skin_type: int = 3,
    width: int = 384,
    height: int = 512,
    red_count: int = 6,
    delta_a: float = 8.0,
    dark_count: int = 4,
    delta_l: float = 8.0,
    radius: tuple[float, float] = (3.0, 7.0),
    lips: bool = True,
) -> Face:
    """A face-like photo with `red_count` red marks (a* + `delta_a`) and `dark_count` dark marks
    (L* - `delta_l`) of radii drawn from `radius` (px), and its truth. The seed fixes everything
    but the marks' contrast, so `make_face(s, delta_a=x)` for several x is one face fading."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5
    cx, cy, ax, ay = width * 0.5, height * 0.55, width * 0.34, height * 0.38
    lab = _background(rng, xs, ys, width)

    hair_lab = np.array(_HAIR[rng.integers(len(_HAIR))])
    hair = _ellipse(xs, ys, cx, cy - 0.32 * ay, ax * 1.14, ay * 0.88)
    face = _ellipse(xs, ys, cx, cy, ax, ay)
    u = (xs - cx) / ax
    fringe = face & (ys < cy - 0.62 * ay + 0.25 * ay * u**2)
    brows = _ellipse(xs, ys, cx - 0.38 * ax, cy - 0.30 * ay, 0.22 * ax, 0.035 * ay)
    brows |= _ellipse(xs, ys, cx + 0.38 * ax, cy - 0.30 * ay, 0.22 * ax, 0.035 * ay)
    sclera = _ellipse(xs, ys, cx - 0.38 * ax, cy - 0.17 * ay, 0.18 * ax, 0.06 * ay)
    sclera |= _ellipse(xs, ys, cx + 0.38 * ax, cy - 0.17 * ay, 0.18 * ax, 0.06 * ay)
    iris = sclera & (
        _ellipse(xs, ys, cx - 0.38 * ax, cy - 0.17 * ay, 0.045 * ay, 0.045 * ay)
        | _ellipse(xs, ys, cx + 0.38 * ax, cy - 0.17 * ay, 0.045 * ay, 0.045 * ay)
    )
    pupil = sclera & (
        _ellipse(xs, ys, cx - 0.38 * ax, cy - 0.17 * ay, 0.02 * ay, 0.02 * ay)
        | _ellipse(xs, ys, cx + 0.38 * ax, cy - 0.17 * ay, 0.02 * ay, 0.02 * ay)
    )
    mouth = (
        _ellipse(xs, ys, cx, cy + 0.55 * ay, 0.28 * ax, 0.07 * ay) if lips else np.zeros_like(face)
    )
    not_skin = fringe | brows | sclera | mouth
    skin = face & ~not_skin

    # Skin: side light, darker towards the oval's edge, redder cheeks, pore-scale texture.
    base_l, base_a, base_b = SKIN_LAB[skin_type]
    rho2 = u**2 + ((ys - cy) / ay) ** 2
    cheeks = sum(
        np.exp(
            -((xs - cx - s * 0.45 * ax) ** 2 + (ys - cy - 0.15 * ay) ** 2) / (2 * (0.25 * ax) ** 2)
        )
        for s in (-1, 1)
    )
    texture = _smooth(rng.normal(0.0, 1.0, (3, height, width)), 1.0)
    skin_lab = np.stack(
        [
            base_l + 3.0 * u - 5.0 * rho2**2 + 0.9 * texture[0],
            base_a + 1.5 * cheeks + 0.5 * texture[1],
            base_b + 0.5 * texture[2],
        ],
        axis=-1,
    )

    lightness = skin_lab[..., 0].copy()
    marks = _place_marks(rng, red_count, dark_count, radius, skin, (cx, cy, ax, ay))
    weight = {"red": np.zeros((height, width)), "dark": np.zeros((height, width))}
    for mark in marks:
        distance = np.hypot(xs - mark.x, ys - mark.y)
        edge = np.clip(mark.radius - distance + 0.5, 0.0, 1.0)
        np.maximum(weight[mark.kind], edge, out=weight[mark.kind])
    skin_lab[..., 1] += delta_a * weight["red"]
    skin_lab[..., 0] -= delta_l * weight["dark"]

    lab[hair] = hair_lab
    lab[face] = skin_lab[face]
    lab[fringe | brows] = hair_lab
    lab[sclera] = (85.0, 1.0, 4.0)
    lab[iris] = _IRIS[rng.integers(len(_IRIS))]
    lab[pupil] = (8.0, 0.0, 0.0)
    if lips:
        lab[mouth] = (base_l - 8.0, base_a + 14.0, base_b - 2.0)
    rgb = lab_to_srgb(lab)

    red, dark = skin & (weight["red"] >= 0.5), skin & (weight["dark"] >= 0.5)
    skin_pixels = max(int(skin.sum()), 1)
    truth = Truth(
        delta_a=float(delta_a * weight["red"][red].mean()) if red.any() else None,
        red_area=float(red.sum() / skin_pixels),
        red_count=sum(m.kind == "red" for m in marks),
        delta_l=float(-delta_l * weight["dark"][dark].mean()) if dark.any() else None,
        dark_area=float(dark.sum() / skin_pixels),
        dark_count=sum(m.kind == "dark" for m in marks),
        marks=marks,
        skin=skin,
        red=red,
        dark=dark,
        rise=delta_a * weight["red"],
        fall=delta_l * weight["dark"],
        lightness=lightness,
    )
    return Face(rgb, truth)


def _background(rng: np.random.Generator, xs: np.ndarray, ys: np.ndarray, width: int) -> np.ndarray:
    """A wall colour with a soft left-to-right and top-to-bottom gradient."""
    lab = np.empty((*xs.shape, 3))
    lab[:] = _BACKGROUNDS[rng.integers(len(_BACKGROUNDS))]
    lab[..., 0] += 6.0 * (xs / width - 0.5) - 4.0 * (ys / ys.max() - 0.5)
    return lab


def _ellipse(xs: np.ndarray, ys: np.ndarray, cx: float, cy: float, rx: float, ry: float):
    return ((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2 <= 1.0


def _smooth(field: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of the last two axes (separable, edge-padded): noise into skin texture."""
    half = max(1, math.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    for axis in (-2, -1):
        pad = [(0, 0)] * field.ndim
        pad[axis] = (half, half)
        padded = np.pad(field, pad, mode="edge")
        field = sum(
            w * np.take(padded, range(i, i + field.shape[axis]), axis=axis)
            for i, w in enumerate(kernel)
        )
    return field


def _place_marks(
    rng: np.random.Generator,
    red_count: int,
    dark_count: int,
    radius: tuple[float, float],
    skin: np.ndarray,
    oval: tuple[float, float, float, float],
) -> tuple[Mark, ...]:
    """Marks at random on the skin, wholly on skin and clear of each other (rejection sampling)."""
    cx, cy, ax, ay = oval
    height, width = skin.shape
    marks: list[Mark] = []
    for kind in ["red"] * red_count + ["dark"] * dark_count:
        for _ in range(2000):
            r = rng.uniform(*radius)
            x, y = cx + rng.uniform(-0.8, 0.8) * ax, cy + rng.uniform(-0.8, 0.8) * ay
            box = skin[
                max(0, int(y - 2 * r - 3)) : min(height, int(y + 2 * r + 4)),
                max(0, int(x - 2 * r - 3)) : min(width, int(x + 2 * r + 4)),
            ]
            clear = all(math.hypot(x - m.x, y - m.y) > 2.5 * (r + m.radius) for m in marks)
            if box.size and box.all() and clear:
                marks.append(Mark(x, y, r, kind))
                break
    return tuple(marks)


# --- Colour conversion (the inverse of webapp.imaging.colour.srgb_to_lab) ---------------------

_XYZ_TO_SRGB = np.linalg.inv(
    np.array(
        [
            [0.4124564, 0.3575761, 0.1804375],
            [0.2126729, 0.7151522, 0.0721750],
            [0.0193339, 0.1191920, 0.9503041],
        ]
    )
)
_D65_WHITE = np.array([0.95047, 1.0, 1.08883])


def lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """CIELAB (D65) (..., 3) -> sRGB uint8, clipped to the gamut."""
    fy = (lab[..., 0] + 16.0) / 116.0
    f = np.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], axis=-1)
    xyz = np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * _D65_WHITE
    return _encode(xyz @ _XYZ_TO_SRGB.T)


def _decode(rgb: np.ndarray) -> np.ndarray:
    """uint8 sRGB -> linear light 0..1."""
    v = rgb.astype(np.float64) / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _encode(linear: np.ndarray) -> np.ndarray:
    """Linear light -> uint8 sRGB, clipped."""
    v = np.clip(linear, 0.0, 1.0)
    v = np.where(v <= 0.0031308, 12.92 * v, 1.055 * v ** (1 / 2.4) - 0.055)
    return np.round(v * 255.0).astype(np.uint8)


# --- Perturbations: uint8 RGB in, uint8 RGB out ------------------------------------------------


def exposure(rgb: np.ndarray, factor: float) -> np.ndarray:
    """Scale the light by `factor` (linear RGB), clipping highlights as a sensor does."""
    return _encode(_decode(rgb) * factor)


def planckian_rgb(kelvin: float) -> np.ndarray:
    """Linear sRGB of a black body at `kelvin` (Kim et al. 2002 cubic fit of the Planckian locus,
    1667-25000 K), scaled to luminance Y = 1."""
    t = float(kelvin)
    if t <= 4000:
        x = -0.2661239e9 / t**3 - 0.2343589e6 / t**2 + 0.8776956e3 / t + 0.179910
    else:
        x = -3.0258469e9 / t**3 + 2.1070379e6 / t**2 + 0.2226347e3 / t + 0.240390
    if t <= 2222:
        y = -1.1063814 * x**3 - 1.34811020 * x**2 + 2.18555832 * x - 0.20219683
    elif t <= 4000:
        y = -0.9549476 * x**3 - 1.37418593 * x**2 + 2.09137015 * x - 0.16748867
    else:
        y = 3.0817580 * x**3 - 5.87338670 * x**2 + 3.75112997 * x - 0.37001483
    return _XYZ_TO_SRGB @ np.array([x / y, 1.0, (1 - x - y) / y])


def white_balance(rgb: np.ndarray, kelvin: float, reference: float = 6500.0) -> np.ndarray:
    """The photo as if lit by a black body at `kelvin` while the camera balanced for `reference`:
    von Kries scaling of linear RGB by the ratio of the two whites (at equal luminance)."""
    gains = planckian_rgb(kelvin) / planckian_rgb(reference)
    return _encode(_decode(rgb) * gains)


def gamma(rgb: np.ndarray, power: float) -> np.ndarray:
    """Another tone curve: encoded values v -> v ** power (power > 1 darkens mid-tones)."""
    v = (rgb.astype(np.float64) / 255.0) ** power
    return np.round(v * 255.0).astype(np.uint8)


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    """Encode as a phone does (JPEG, 4:2:0 chroma) at `quality` and decode again."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality, subsampling=2)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def noise(rgb: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """Add Gaussian sensor-like noise of `sigma` code values to every channel (seeded)."""
    noisy = rgb + np.random.default_rng(seed).normal(0.0, sigma, rgb.shape)
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


def similarity_matrix(
    size: tuple[int, int], shift: tuple[float, float], degrees: float, scale: float
) -> np.ndarray:
    """The 2x3 matrix [[a, b, tx], [c, d, ty]] taking a point (x, y) of the image to where
    `similarity` puts it: scaled and rotated (counter-clockwise as seen, degrees) about the centre
    of an image of `size` (width, height), then shifted by `shift` (dx, dy) px. Coordinates are
    continuous pixels: pixel (i, j) covers [i, i+1) x [j, j+1), its centre is (i + 0.5, j + 0.5)."""
    width, height = size
    theta = math.radians(degrees)
    cos, sin = scale * math.cos(theta), scale * math.sin(theta)
    rotation = np.array([[cos, sin], [-sin, cos]])  # y points down: counter-clockwise as seen
    centre = np.array([width / 2.0, height / 2.0])
    offset = centre + np.asarray(shift, dtype=np.float64) - rotation @ centre
    return np.hstack([rotation, offset[:, None]])


def similarity(
    rgb: np.ndarray,
    shift: tuple[float, float] = (0.0, 0.0),
    degrees: float = 0.0,
    scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The photo moved by a similarity (see `similarity_matrix`), same size, bicubic; where the
    frame moved away shows FILL_RGB. Returns (image, matrix)."""
    height, width = rgb.shape[:2]
    matrix = similarity_matrix((width, height), shift, degrees, scale)
    inverse = np.linalg.inv(np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]
    moved = Image.fromarray(rgb).transform(
        (width, height),
        Image.Transform.AFFINE,
        tuple(inverse.ravel()),
        resample=Image.Resampling.BICUBIC,
        fillcolor=FILL_RGB,
    )
    return np.asarray(moved), matrix


def _moved(
    rgb: np.ndarray,
    shift: tuple[float, float] = (0.0, 0.0),
    degrees: float = 0.0,
    scale: float = 1.0,
) -> np.ndarray:
    return similarity(rgb, shift, degrees, scale)[0]


# The ends of each range a mark measure should survive; name -> uint8 RGB -> uint8 RGB.
PERTURBATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "exposure x0.6": lambda rgb: exposure(rgb, 0.6),
    "exposure x1.4": lambda rgb: exposure(rgb, 1.4),
    "white balance 5000 K": lambda rgb: white_balance(rgb, 5000.0),
    "white balance 8000 K": lambda rgb: white_balance(rgb, 8000.0),
    "gamma 0.9": lambda rgb: gamma(rgb, 0.9),
    "gamma 1.1": lambda rgb: gamma(rgb, 1.1),
    "jpeg q60": lambda rgb: jpeg(rgb, 60),
    "jpeg q95": lambda rgb: jpeg(rgb, 95),
    "noise sigma 4": lambda rgb: noise(rgb, 4.0),
    "shift 10%": lambda rgb: _moved(rgb, shift=(0.1 * rgb.shape[1], -0.1 * rgb.shape[0])),
    "rotate 10 deg": lambda rgb: _moved(rgb, degrees=10.0),
    "scale x0.9": lambda rgb: _moved(rgb, scale=0.9),
    "scale x1.1": lambda rgb: _moved(rgb, scale=1.1),
}


def random_perturbation(kind: str, rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    """One draw within a kind's range: 'exposure' (x0.6-1.4), 'white balance' (5000-8000 K),
    'gamma' (0.9-1.1), 'jpeg' (60-95), 'noise' (sigma 0-4), 'move' (shift up to 10 %, rotation
    up to 10°, scale 0.9-1.1)."""
    if kind == "exposure":
        factor = rng.uniform(0.6, 1.4)
        return lambda rgb: exposure(rgb, factor)
    if kind == "white balance":
        kelvin = rng.uniform(5000.0, 8000.0)
        return lambda rgb: white_balance(rgb, kelvin)
    if kind == "gamma":
        power = rng.uniform(0.9, 1.1)
        return lambda rgb: gamma(rgb, power)
    if kind == "jpeg":
        quality = int(rng.integers(60, 96))
        return lambda rgb: jpeg(rgb, quality)
    if kind == "noise":
        sigma, seed = rng.uniform(0.0, 4.0), int(rng.integers(1 << 30))
        return lambda rgb: noise(rgb, sigma, seed)
    if kind == "move":
        dx, dy = rng.uniform(-0.1, 0.1, 2)
        degrees, scale = rng.uniform(-10.0, 10.0), rng.uniform(0.9, 1.1)
        return lambda rgb: _moved(
            rgb, shift=(dx * rgb.shape[1], dy * rgb.shape[0]), degrees=degrees, scale=scale
        )
    msg = f"unknown perturbation kind {kind!r}"
    raise ValueError(msg)


RANDOM_KINDS = ("exposure", "white balance", "gamma", "jpeg", "noise", "move")
