"""Ink versus paper: polarity, background by a coarse morphological opening, relative darkness, Otsu, specks dropped."""
import numpy as np
from PIL import Image, ImageFilter

MIN_CONTRAST = 40.0  # levels of 255: anything fainter is a shadow or paper texture, not a pen stroke
NOISE_FACTOR = 5.0  # ink must stand this many noise sigmas above the paper
MIN_INK_PIXELS = 3  # fewer "ink" pixels than this, or than MIN_INK_SHARE of the picture, is a blank page
MIN_INK_SHARE = 1e-4
HALF = 0.4  # threshold as a fraction of the digit's median darkness, when Otsu's is lower
SMALL_SIDE = 64  # below this (e.g. a 28x28 MNIST image) the background is one flat level


def make_upright(gray):
    """Gray (h, w) 0-255 -> (ink bright on dark, inverted?): the background is what most pixels are, the ink the rest."""
    lo, mid, hi = np.percentile(gray, [1, 50, 99])
    inverted = bool(mid > (lo + hi) / 2)  # the median pixel is paper; paper brighter than mid-range means dark ink
    return (255 - gray if inverted else gray).astype(np.float32), inverted


def estimate_background(g):
    """Slowly varying background level (h, w) of an upright image: an opening wider than any stroke, then smoothed."""
    h, w = g.shape
    if min(h, w) < SMALL_SIDE:
        return np.full_like(g, np.median(g))
    b = max(2, min(h, w) // 16)  # block side; the opening below spans 5 blocks, wider than any pen stroke
    hb, wb = -(-h // b), -(-w // b)
    padded = np.pad(g, ((0, hb * b - h), (0, wb * b - w)), mode="edge")
    blocks = padded.reshape(hb, b, wb, b).transpose(0, 2, 1, 3).reshape(hb, wb, b * b)
    coarse = np.percentile(blocks, 10, axis=2)  # (hb, wb): a low percentile is paper, robust to single noisy pixels
    coarse = filter3(filter3(coarse, np.minimum), np.minimum)  # opening (erode twice, dilate twice) ...
    coarse = filter3(filter3(coarse, np.maximum), np.maximum)  # ... removes bright strokes and keeps the lighting
    coarse = filter3(coarse, np.add) / 9  # mean: lighting is smooth, block edges are not
    return np.asarray(Image.fromarray(coarse.astype(np.float32)).resize((w, h), Image.Resampling.BILINEAR))


def filter3(a, op):
    """3x3 neighbourhood reduction of a 2-D array with a ufunc (np.minimum, np.maximum, np.add), edges repeated."""
    p = np.pad(a, 1, mode="edge")
    h, w = a.shape
    out = p[1:h + 1, 1:w + 1].copy()
    for dy in range(3):
        for dx in range(3):
            if dy != 1 or dx != 1:
                out = op(out, p[dy:dy + h, dx:dx + w])
    return out


def ink_strength(g, background, *, inverted):
    """Ink (h, w) 0-255: for dark ink, darkness relative to the local paper brightness, so shadows do not matter."""
    diff = g - background
    if inverted:
        paper = np.maximum(255 - background, 16)  # the paper's own gray level in the original picture
        diff = diff * (255 / paper)
    return np.clip(diff, 0, 255).astype(np.float32)


def otsu_threshold(v):
    """Otsu's threshold of values v (any shape) in 0-255: the level that best splits them into two classes."""
    hist = np.bincount(np.clip(v, 0, 255).astype(np.int64).ravel(), minlength=256).astype(np.float64)
    p = hist / hist.sum()
    omega = np.cumsum(p)
    mu = np.cumsum(p * np.arange(256))
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mu[-1] * omega - mu) ** 2 / (omega * (1 - omega))
    return float(np.argmax(np.nan_to_num(between)) + 0.5)


def noise_sigma(g, background):
    """Robust noise level of the paper: 1.4826 x the median absolute deviation of the residual."""
    r = g - background
    return float(1.4826 * np.median(np.abs(r - np.median(r))))


def separate(g, *, inverted):
    """Upright gray (h, w) -> (soft ink (h, w) float32 0-1, kept mask (h, w) bool), or None when there is no ink."""
    if min(g.shape) >= SMALL_SIDE:
        radius = min(g.shape) / 400  # about one pixel at work size: removes paper grain, not strokes
        if radius >= 0.5:  # Pillow blurs 8-bit images only; a fraction of a gray level is lost, nothing more
            g = np.asarray(Image.fromarray(np.rint(g).astype(np.uint8)).filter(ImageFilter.BoxBlur(radius)), np.float32)
    background = estimate_background(g)
    ink = ink_strength(g, background, inverted=inverted)
    sigma = noise_sigma(g, background) * (255 / max(255 - float(np.median(background)), 16) if inverted else 1)
    t = max(otsu_threshold(ink), NOISE_FACTOR * sigma, MIN_CONTRAST / 2)
    for _ in range(2):
        mask = ink > t
        if mask.sum() < max(MIN_INK_PIXELS, MIN_INK_SHARE * mask.size):
            return None
        kept = main_cluster(mask, ink)
        level = float(np.median(ink[kept]))  # the digit's typical darkness
        if t >= HALF * level:
            break
        t = HALF * level  # Otsu can sit in paper texture: cut at a fraction of the digit's own darkness instead
    if level < MIN_CONTRAST or level < 1.5 * NOISE_FACTOR * sigma:
        return None
    near = np.asarray(Image.fromarray(kept.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(3))) > 0
    soft = np.clip(ink / level, 0, 1) * near  # a pixel half covered by ink is half as dark: edges stay anti-aliased
    return soft.astype(np.float32), kept


def label(mask):
    """8-connected components of a bool mask (h, w) -> int64 labels (h, w), -1 = background; vectorised union-find."""
    h, w = mask.shape
    idx = np.full(h * w, -1, np.int64)
    fg = np.flatnonzero(mask)
    idx[fg] = np.arange(len(fg))
    idx = idx.reshape(h, w)
    us, vs = [], []
    for a, b in ((idx[:, :-1], idx[:, 1:]), (idx[:-1, :], idx[1:, :]), (idx[:-1, :-1], idx[1:, 1:]), (idx[:-1, 1:], idx[1:, :-1])):
        both = (a >= 0) & (b >= 0)
        us.append(a[both])
        vs.append(b[both])
    u, v = np.concatenate(us), np.concatenate(vs)
    parent = np.arange(len(fg))
    while True:
        pu, pv = parent[u], parent[v]
        differ = pu != pv
        if not differ.any():
            break
        np.minimum.at(parent, np.maximum(pu, pv)[differ], np.minimum(pu, pv)[differ])  # hook the larger root under the smaller
        while not np.array_equal(nxt := parent[parent], parent):
            parent = nxt  # pointer jumping: every pixel points straight at its root again
    out = np.full(h * w, -1, np.int64)
    out[fg] = parent
    return out.reshape(h, w)


def main_cluster(mask, ink):
    """Keep the digit: the component with the most ink, others with >= 30% of its ink, and pieces >= 2% of it close by."""
    labels = label(mask)
    ys, xs = np.nonzero(mask)
    roots, comp = np.unique(labels[ys, xs], return_inverse=True)
    n = len(roots)
    mass = np.bincount(comp, weights=ink[ys, xs], minlength=n)
    box = np.stack([np.full(n, ys.max()), np.full(n, xs.max()), np.zeros(n, int), np.zeros(n, int)], axis=1)
    np.minimum.at(box[:, 0], comp, ys)
    np.minimum.at(box[:, 1], comp, xs)
    np.maximum.at(box[:, 2], comp, ys)
    np.maximum.at(box[:, 3], comp, xs)
    m = int(np.argmax(mass))
    y0, x0, y1, x1 = box[m]
    pad = 0.25 * max(y1 - y0, x1 - x0) + 2
    near = (box[:, 2] >= y0 - pad) & (box[:, 0] <= y1 + pad) & (box[:, 3] >= x0 - pad) & (box[:, 1] <= x1 + pad)
    keep = (mass >= 0.3 * mass[m]) | (near & (mass >= 0.02 * mass[m]))
    return np.isin(labels, roots[keep])
