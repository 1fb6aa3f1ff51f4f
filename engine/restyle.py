"""Handwriting-like variations of MNIST digits that MNIST itself lacks: another pen width, a stronger slant, 1s given a flag
and a base, 7s given a bar. Worked at 4x (112 px), where a pen step is a quarter of an MNIST pixel."""
import numpy as np
from PIL import Image, ImageDraw

from .pen import dilate, erode, estimate_width

UP = 4  # MNIST pixels are worked on at 4x
SIDE = 28 * UP


def upscale(digit):
    """An MNIST digit (784,) or (28, 28) 0-255 -> ink mask (112, 112) bool: bilinear 4x, then the half-ink contour."""
    img = Image.fromarray(np.asarray(digit, np.float32).reshape(28, 28) / 255)
    return np.asarray(img.resize((SIDE, SIDE), Image.Resampling.BILINEAR)) > 0.5


def repen(mask, steps):
    """Thicken (steps > 0) or thin (steps < 0) a mask by |steps| quarter-pixels on every edge; thinning stops before
    the digit loses more than half its ink."""
    if steps > 0:
        for s in range(steps):
            mask = dilate(mask, s)
    for s in range(-steps):
        thinner = erode(mask, s)
        if thinner.sum() < 0.5 * mask.sum():
            break
        mask = thinner
    return mask


def slant(mask, shear):
    """Shear a mask about its centre row: x' = x + shear * (centre - y), so a positive shear leans the top right."""
    img = Image.fromarray(mask.astype(np.uint8) * 255)
    c = SIDE / 2
    img = img.transform(img.size, Image.Transform.AFFINE, (1, shear, -shear * c, 0, 1, 0), Image.Resampling.BILINEAR)
    return np.asarray(img) > 127


def ends(mask):
    """(top (x, y), bottom (x, y), height) of a mask's ink: the middle of its first and last rows of ink."""
    rows = np.flatnonzero(mask.any(axis=1))
    y0, y1 = rows[0], rows[-1]
    return (float(np.flatnonzero(mask[y0]).mean()), float(y0)), (float(np.flatnonzero(mask[y1]).mean()), float(y1)), y1 - y0 + 1


def add_strokes(mask, strokes, width):
    """Draw straight strokes [((x0, y0), (x1, y1))] onto a mask with a round pen `width` px wide."""
    img = Image.fromarray(mask.astype(np.uint8) * 255)
    pen = ImageDraw.Draw(img)
    r = width / 2
    for a, b in strokes:
        pen.line([a, b], fill=255, width=max(1, round(width)))
        for x, y in (a, b):
            pen.ellipse([x - r, y - r, x + r, y + r], fill=255)
    return np.asarray(img) > 127


def flag_and_base(mask, rng):
    """A 1 with a flag from its top down to the left, and a base across its foot half of the time (always one of them)."""
    (xt, yt), (xb, yb), h = ends(mask)
    width = estimate_width(mask)
    strokes = []
    base = rng.random() < 0.5
    if not base or rng.random() < 0.7:
        length, angle = rng.uniform(0.22, 0.4) * h, np.deg2rad(rng.uniform(20, 55))
        strokes.append(((xt, yt), (xt - length * np.cos(angle), yt + length * np.sin(angle))))
    if base:
        half = rng.uniform(0.15, 0.3) * h
        strokes.append(((xb - half, yb), (xb + half, yb)))
    return add_strokes(mask, strokes, width)


def bar(mask, rng):
    """A 7 with a bar across the middle of its stem."""
    y = int(np.flatnonzero(mask.any(axis=1)).mean() + rng.uniform(-0.05, 0.1) * mask.shape[0])
    cols = np.flatnonzero(mask[y]) if mask[y].any() else np.array([SIDE // 2])
    x, half = float(cols.mean()), rng.uniform(0.1, 0.18) * SIDE
    return add_strokes(mask, [((x - half, y), (x + half, y))], estimate_width(mask))


def restyle(digit, label, *, rng):
    """One MNIST digit (784,) 0-255 and its label -> (soft ink (112, 112) float32, what was done): a random pen change of
    -3..+5 quarter-pixels, a slant of up to ±0.45, a flag or base on a 1 and a bar on half the 7s."""
    mask = upscale(digit)
    done = []
    if label == 1:
        mask, done = flag_and_base(mask, rng), ["flag/base"]
    elif label == 7 and rng.random() < 0.5:
        mask, done = bar(mask, rng), ["bar"]
    steps = int(rng.integers(-3, 6))
    if steps:
        mask = repen(mask, steps)
        done.append(f"pen {steps:+d}/4 px")
    shear = float(rng.uniform(-0.45, 0.45))
    mask = slant(mask, shear)
    done.append(f"slant {shear:+.2f}")
    return mask.astype(np.float32), ", ".join(done)
