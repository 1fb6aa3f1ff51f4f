"""Digits drawn with a pen from a few strokes, in forms MNIST's writers rarely used: open-top 4s, 1s with a flag and a
base, 7s with a bar, 9s with a small loop. Each form is jittered, slanted and drawn at a random pen width."""
import numpy as np
from PIL import Image, ImageDraw

SIDE = 112  # px of the canvas strokes are drawn on: 4x MNIST's 28, so pens of a fraction of an MNIST pixel show


def ellipse(cx, cy, rx, ry, *, start=0.0, turn=1.0, n=28):
    """Points (n, 2) on an ellipse in unit coordinates, from angle `start` (turns, 0 = right, clockwise) over `turn` turns."""
    a = 2 * np.pi * (start + turn * np.linspace(0, 1, n))
    return np.stack([cx + rx * np.cos(a), cy + ry * np.sin(a)], axis=1)


def open_four(rng):
    """A 4 whose top is open: a left stroke down to the bar, the bar, and a separate upright on the right."""
    bar = rng.uniform(0.55, 0.68)
    left_top, left_bottom = rng.uniform(0.15, 0.4), rng.uniform(0.0, 0.15)
    stem_x = rng.uniform(0.6, 0.8)
    return [np.array([[left_top, rng.uniform(0.0, 0.1)], [left_bottom, bar]]),
            np.array([[left_bottom, bar], [rng.uniform(0.85, 1.0), bar - rng.uniform(0.0, 0.05)]]),
            np.array([[stem_x + rng.uniform(-0.05, 0.05), rng.uniform(0.0, 0.12)], [stem_x, 1.0]])]


def flagged_one(rng):
    """A 1 with a flag at the top, and a base at the bottom half of the time."""
    top, x = np.array([0.5, 0.0]), rng.uniform(0.45, 0.55)
    paths = [np.array([top, [x, 1.0]]),
             np.array([[0.5 - rng.uniform(0.15, 0.3), rng.uniform(0.12, 0.3)], top])]
    if rng.random() < 0.5:
        half = rng.uniform(0.15, 0.3)
        paths.append(np.array([[x - half, 1.0], [x + half, 1.0]]))
    return paths


def barred_seven(rng):
    """A 7 with a bar across its stem, as much of Europe writes it."""
    top, corner, foot = [rng.uniform(0.0, 0.1), 0.0], [1.0, rng.uniform(0.0, 0.05)], [rng.uniform(0.3, 0.5), 1.0]
    y = rng.uniform(0.45, 0.6)
    mid_x = corner[0] + (foot[0] - corner[0]) * (y - corner[1]) / (foot[1] - corner[1])
    return [np.array([top, corner, foot]), np.array([[mid_x - 0.25, y], [mid_x + 0.25, y]])]


def small_loop_nine(rng):
    """A 9 whose loop is small, on a long straight or slightly curved stem."""
    r = rng.uniform(0.16, 0.24)
    cx, cy = 0.5, r
    stem_top = [cx + r, cy]
    foot = [cx + r - rng.uniform(0.0, 0.25), 1.0]
    return [ellipse(cx, cy, r, r * rng.uniform(0.9, 1.2)), np.array([stem_top, foot])]


FORMS = {"open 4": (4, open_four), "1 with flag": (1, flagged_one), "barred 7": (7, barred_seven), "small-loop 9": (9, small_loop_nine)}


def draw(paths, *, width, slant=0.0, jitter=0.0, rng=None, height=0.7, aspect=0.6):
    """Strokes in unit coordinates (x right, y down) -> soft ink (SIDE, SIDE) float32: each path drawn with a round pen
    `width` px wide, the digit `height` of the canvas tall and `aspect` of that wide, sheared by `slant` (x per y)."""
    h = height * SIDE
    w = aspect * h
    img = Image.new("L", (SIDE, SIDE), 0)
    pen = ImageDraw.Draw(img)
    for p in paths:
        p = np.asarray(p, np.float64)
        if jitter and rng is not None:
            p = p + rng.normal(0, jitter, p.shape)
        x = (SIDE - w) / 2 + p[:, 0] * w - slant * (p[:, 1] - 0.5) * h
        y = (SIDE - h) / 2 + p[:, 1] * h
        pts = list(zip(x.tolist(), y.tolist(), strict=True))
        pen.line(pts, fill=255, width=max(1, round(width)), joint="curve")
        for px, py in (pts[0], pts[-1]):  # round caps
            r = width / 2
            pen.ellipse([px - r, py - r, px + r, py + r], fill=255)
    return np.asarray(img, np.float32) / 255


def drawn_digits(n, *, rng):
    """n pen-drawn digits, the FORMS in turn -> (soft inks [(SIDE, SIDE)], labels (n,), form names [n])."""
    names = list(FORMS)
    inks, labels, forms = [], [], []
    for i in range(n):
        name = names[i % len(names)]
        digit, make = FORMS[name]
        inks.append(draw(make(rng), width=rng.uniform(4, 14), slant=rng.uniform(-0.4, 0.4), jitter=0.02, rng=rng,
                         height=rng.uniform(0.55, 0.8), aspect=rng.uniform(0.45, 0.75)))
        labels.append(digit)
        forms.append(name)
    return inks, np.array(labels, np.int64), forms
