"""Stroke width: estimate a digit's pen width, and thin or thicken its ink towards the width of MNIST's pens."""
import numpy as np
from PIL import Image

WORK = 80  # px on the longer side where width is measured and changed: 4x the 20 px box, so one step is 1/4 of an MNIST pixel
# Pen width in WORK px (estimate_width) of MNIST's 60,000 training digits, cropped like a drawing:
# 10th percentile, median and 90th percentile (tests/test_strokes.py measures them again on the real files).
MNIST_P10, MNIST_MEDIAN, MNIST_P90 = 7.3, 10.0, 14.1
ROUNDS = 3  # at most this many rounds of thinning or thickening towards the median


def to_work(ink, *, side=WORK):
    """Soft ink (h, w) 0-1 -> (side-px-long float32 image, factor): big crops max-pooled first, so thin strokes survive."""
    ink = np.asarray(ink, np.float32)
    f = max(1, int(max(ink.shape) // (2 * side)))  # whole-pixel pooling down to at most 2x the work size
    if f > 1:
        h, w = -(-ink.shape[0] // f) * f, -(-ink.shape[1] // f) * f
        ink = np.pad(ink, ((0, h - ink.shape[0]), (0, w - ink.shape[1]))).reshape(h // f, f, w // f, f).max(axis=(1, 3))
    k = side / max(ink.shape)
    size = (max(1, round(ink.shape[1] * k)), max(1, round(ink.shape[0] * k)))  # Pillow sizes are (width, height)
    how = Image.Resampling.BILINEAR if k >= 1 else Image.Resampling.BOX  # BOX: a stroke's coverage, so thin ones stay above 0.5
    return np.asarray(Image.fromarray(ink).resize(size, how)), k / f


_A, _B, _ALL = slice(1, None), slice(None, -1), slice(None)  # rows or columns 1.. and ..-1, and all of them
# (destination, source) views: out[dst] combines mask[src], i.e. each pixel with one neighbour
CROSS = (((_A, _ALL), (_B, _ALL)), ((_B, _ALL), (_A, _ALL)), ((_ALL, _A), (_ALL, _B)), ((_ALL, _B), (_ALL, _A)))
DIAGONAL = (((_A, _A), (_B, _B)), ((_A, _B), (_B, _A)), ((_B, _A), (_A, _B)), ((_B, _B), (_A, _A)))


def _neighbours(step):
    """The neighbours one step looks at: a 4-neighbour cross on even steps, the 3x3 square on odd ones (together ~a disc)."""
    return CROSS + DIAGONAL if step % 2 else CROSS


def erode(mask, step):
    """One erosion of a bool mask (h, w); beyond the border is background."""
    out = mask.copy()
    for dst, src in _neighbours(step):
        out[dst] &= mask[src]
    out[0], out[-1], out[:, 0], out[:, -1] = False, False, False, False
    return out


def dilate(mask, step):
    """One dilation of a bool mask (h, w), the dual of erode; ink can grow up to the border, not beyond it."""
    out = mask.copy()
    for dst, src in _neighbours(step):
        out[dst] |= mask[src]
    return out


def estimate_width(mask):
    """Pen width in px of a bool ink mask (h, w): 2 x area / boundary pixels (a band w px wide and L long has 2L of them)."""
    area = int(mask.sum())
    boundary = area - int(erode(mask, 0).sum())
    return 2.0 * area / max(boundary, 1)


def relative_width(mask):
    """Pen width of a bool ink mask as if its ink's longer side were WORK px: faint edges outside the mask do not count."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return 0.0
    return estimate_width(mask) * WORK / max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)


def width_of(ink):
    """Pen width in WORK px of soft ink (h, w) 0-1, whatever its size: what normalise() compares with MNIST's."""
    work, _ = to_work(ink)
    return relative_width(work > 0.5)


def normalise(crop, *, lo=MNIST_P10, hi=MNIST_P90, target=MNIST_MEDIAN):
    """Cropped soft ink (h, w) 0-1 -> (ink, width before, width after, changed?): a pen outside MNIST's 10-90 % range is
    thinned or thickened to MNIST's median width; one within it is left exactly as it was."""
    work, _ = to_work(crop)
    mask = work > 0.5
    before = relative_width(mask)
    if lo <= before <= hi or not mask.any():
        return crop, before, before, False
    width = before
    for _ in range(ROUNDS):  # a few rounds, measuring again after each: corners and stroke ends make one step's effect vary
        steps = round(abs(width - target) / 2)  # each step moves both edges of a stroke by about one px
        if steps == 0:
            break
        if width < target:
            mask = np.pad(mask, steps)  # room to grow: a thicker pen also makes a larger digit
            for s in range(steps):
                mask = dilate(mask, s)
        else:
            for s in range(steps):
                thinner = erode(mask, s)
                if thinner.sum() < 0.3 * mask.sum():  # a pen so thick the digit would vanish: stop while something is left
                    break
                mask = thinner
        width = relative_width(mask)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    out = mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].astype(np.float32)
    return out, before, width, True
