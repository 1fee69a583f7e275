"""A fake camera for Chromium: a .y4m video of a face-like picture, for
`--use-file-for-fake-video-capture=<file>`.

Chromium plays the file in a loop as the only camera. The picture is drawn with Pillow (a face in
soft daylight: skin, eyes, brows, a mouth, a few red marks, fine texture) so that the camera's
gates see what a good photo looks like: mid brightness, nothing clipped, sharp. `dim` and `blur`
make the bad ones. Deterministic: every noise comes from a fixed seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

WIDTH, HEIGHT = 640, 480
FPS = 30
SKIN = (196, 150, 126)
BACKGROUND = (142, 150, 158)


def face_picture(width: int = WIDTH, height: int = HEIGHT, *, seed: int = 7) -> Image.Image:
    """An RGB face, centred, filling about two thirds of the frame's height."""
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    cx, cy = width / 2, height / 2
    fw, fh = height * 0.34, height * 0.42  # half-axes of the face
    draw.ellipse((cx - fw, cy - fh, cx + fw, cy + fh), fill=SKIN)
    for side in (-1, 1):
        ex, ey = cx + side * fw * 0.42, cy - fh * 0.18
        draw.ellipse((ex - 22, ey - 10, ex + 22, ey + 10), fill=(244, 240, 236))
        draw.ellipse((ex - 8, ey - 8, ex + 8, ey + 8), fill=(62, 44, 36))
        draw.line((ex - 26, ey - 26, ex + 24, ey - 30), fill=(84, 58, 44), width=6)
    draw.line((cx, cy - fh * 0.05, cx - 10, cy + fh * 0.25), fill=(160, 112, 92), width=4)
    mouth = (cx - 48, cy + fh * 0.3, cx + 48, cy + fh * 0.62)
    draw.arc(mouth, 20, 160, fill=(150, 70, 70), width=6)
    rng = np.random.default_rng(seed)
    for _ in range(14):  # red marks on the cheeks
        side = rng.choice((-1, 1))
        mx = cx + side * fw * rng.uniform(0.35, 0.7)
        my = cy + fh * rng.uniform(0.05, 0.35)
        r = rng.uniform(3, 7)
        draw.ellipse((mx - r, my - r, mx + r, my + r), fill=(186, 104, 98))
    pixels = np.asarray(image, dtype=np.float32)
    pixels += rng.normal(0, 5, pixels.shape[:2])[..., None]  # skin and sensor texture
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def dim(image: Image.Image, factor: float = 0.25) -> Image.Image:
    """The same picture in a dark room."""
    return Image.fromarray((np.asarray(image, dtype=np.float32) * factor).astype(np.uint8))


def blur(image: Image.Image, radius: float = 6) -> Image.Image:
    """The same picture out of focus."""
    return image.filter(ImageFilter.GaussianBlur(radius))


def _yuv420(image: Image.Image) -> bytes:
    """Planar Y, then Cb and Cr at half size (BT.601 full range, what C420jpeg means)."""
    ycbcr = np.asarray(image.convert("YCbCr"), dtype=np.float32)
    y = ycbcr[..., 0]
    chroma = [
        ycbcr[..., k].reshape(image.height // 2, 2, image.width // 2, 2).mean(axis=(1, 3))
        for k in (1, 2)
    ]
    return b"".join(np.round(plane).astype(np.uint8).tobytes() for plane in (y, *chroma))


def write_y4m(path: Path, frames: list[Image.Image], fps: int = FPS) -> Path:
    """Writes `frames` (same size, even sides) as an uncompressed YUV4MPEG2 video."""
    width, height = frames[0].size
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n")
            out.write(_yuv420(frame))
    return path


def face_video(path: Path, *, frames: int = 6) -> Path:
    """A still face held steady: the frames differ only by a little sensor noise."""
    base = np.asarray(face_picture(), dtype=np.int16)
    rng = np.random.default_rng(11)
    shots = [
        Image.fromarray(np.clip(base + rng.integers(-2, 3, base.shape[:2])[..., None], 0, 255)
                        .astype(np.uint8))
        for _ in range(frames)
    ]  # fmt: skip
    return write_y4m(path, shots)
