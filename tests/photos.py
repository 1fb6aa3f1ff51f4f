"""Test pictures: MNIST digits rendered as photos of ink on textured, unevenly lit paper (deterministic), and drawn digits."""
import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def render_photo(digit, *, rng, side, fmt="JPEG", color=True, tilt=10):
    """MNIST digit (28, 28) uint8, white on black -> encoded picture of a page `side` px long, the digit turned up to `tilt` degrees."""
    aspect = rng.choice([1.0, 4 / 3, 3 / 4])
    W, H = (side, round(side / aspect)) if aspect >= 1 else (round(side * aspect), side)
    short = min(W, H)
    frame = max(8, round(short * rng.uniform(0.3, 0.75) * 28 / 20))  # MNIST's 20 px box becomes 30-75% of the page
    ink = Image.fromarray(digit).resize((frame, frame), Image.Resampling.BICUBIC)
    ink = ink.rotate(rng.uniform(-tilt, tilt), resample=Image.Resampling.BICUBIC, expand=True)  # slight rotation
    ink = ink.crop(ink.getbbox())  # the ink alone, so it always fits on the page
    alpha = np.zeros((H, W), np.float32)
    a = np.asarray(ink, np.float32)[: H, : W] / 255
    y0, x0 = rng.integers(0, H - a.shape[0] + 1), rng.integers(0, W - a.shape[1] + 1)  # anywhere on the page
    alpha[y0:y0 + a.shape[0], x0:x0 + a.shape[1]] = a
    page = lighting(H, W, rng=rng) * (rng.uniform(175, 240) * (1 - alpha) + rng.uniform(10, 80) * alpha)  # (H, W)
    page += texture(H, W, rng=rng)
    img = Image.fromarray(np.clip(page, 0, 255).astype(np.uint8))
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0) * max(1.0, side / 500)))  # focus and camera shake
    if color:
        tint = np.array([1.0, rng.uniform(0.93, 1.0), rng.uniform(0.8, 0.95)])  # warm paper, warm light
        img = Image.fromarray(np.clip(np.asarray(img)[..., None] * tint, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    if fmt == "JPEG":
        img.save(buf, "JPEG", quality=int(rng.integers(60, 95)))
    else:
        img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def lighting(H, W, *, rng):
    """Uneven illumination (H, W) in about 0.55-1: a linear fall-off in a random direction times a vignette."""
    h, w = max(2, H // 8), max(2, W // 8)  # light is smooth: draw it small, then stretch it
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    ys, xs = ys / h - 0.5, xs / w - 0.5
    angle = rng.uniform(0, 2 * np.pi)
    ramp = 1 - rng.uniform(0.0, 0.3) * ((np.cos(angle) * xs + np.sin(angle) * ys) + 0.7)
    cy, cx = rng.uniform(-0.3, 0.3, size=2)
    vignette = 1 - rng.uniform(0.0, 0.25) * ((ys - cy) ** 2 + (xs - cx) ** 2) * 2
    return np.asarray(Image.fromarray((ramp * vignette).astype(np.float32)).resize((W, H), Image.Resampling.BILINEAR))


def texture(H, W, *, rng):
    """Paper grain (H, W): smooth blotches plus pixel noise, in gray levels around 0."""
    cell = max(4, min(H, W) // 12)
    blotches = rng.normal(0, rng.uniform(2, 8), size=(H // cell + 2, W // cell + 2)).astype(np.float32)
    smooth = np.asarray(Image.fromarray(blotches).resize((W, H), Image.Resampling.BICUBIC))
    return smooth + rng.standard_normal(size=(H, W), dtype=np.float32) * np.float32(rng.uniform(2, 7))


def make_photos(images, *, seed=0, large_every=40, tilt=10):
    """Render each digit (n, 28, 28) as a photo: sides 100-700 px, every large_every-th one 2000-4000 px; [(name, bytes)]."""
    rng = np.random.default_rng(seed)
    out = []
    for i, digit in enumerate(images):
        big = large_every and i % large_every == large_every - 1
        side = int(rng.integers(2000, 4001) if big else np.exp(rng.uniform(np.log(100), np.log(700))))
        fmt = "JPEG" if rng.random() < 0.6 else "PNG"
        color = bool(rng.random() < 0.6)
        name = f"photo{i:04d}." + ("jpg" if fmt == "JPEG" else "png")
        out.append((name, render_photo(digit, rng=rng, side=side, fmt=fmt, color=color, tilt=tilt)))
    return out


def seven(side=280, *, ink=0, paper=255):
    """A hand-drawn-looking 7 (mode L), dark ink on white by default."""
    img = Image.new("L", (side, side), paper)
    d = ImageDraw.Draw(img)
    k = side / 280
    d.line([(70 * k, 60 * k), (210 * k, 60 * k), (120 * k, 230 * k)], fill=ink, width=round(22 * k), joint="curve")
    return img


def ring(side=280):
    """A 0: an ellipse outline, dark on white (mode L)."""
    img = Image.new("L", (side, side), 255)
    ImageDraw.Draw(img).ellipse([90, 50, 190, 230], outline=0, width=22)
    return img


def encode(img, fmt, **options):
    """A Pillow image saved in memory as fmt (PNG, JPEG, ...) -> bytes."""
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return buf.getvalue()
