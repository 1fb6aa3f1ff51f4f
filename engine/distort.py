"""Strong augmentation for a model that must read digits unlike MNIST's: each image gets a fresh random pen (thicker or
thinner), affine warp (rotation, shear, scale, aspect, sub-pixel translation) and optionally a smooth elastic warp.

Unlike engine.augment (whole degrees and whole pixels from a table), every parameter here is continuous, so coordinates
are computed per image: a chunk of images is warped in a few vectorised passes.
"""
from dataclasses import dataclass

import numpy as np

SIDE = 28
PAD = SIDE + 2  # a zero border around each image: samples from outside the frame read background
CHUNK = 128  # images per vectorised step: its arrays (400 KB each) stay in cache
GRID = 4  # the elastic field's control points per side, bilinearly interpolated to 28 x 28


@dataclass(frozen=True)
class Distortion:
    """Largest size of each random change; 0 turns it off."""
    degrees: float = 12.0  # rotation, uniform in ±degrees
    shear: float = 15.0  # horizontal shear (slant), uniform in ±shear degrees
    scale: float = 0.15  # size change, 1 ± scale; the aspect (width / height) changes by up to half that again
    shift: float = 2.0  # translation in px, uniform in ±shift on each axis (sub-pixel)
    pen: float = 0.5  # probability that the pen changes: half the time thicker (up to a full 3x3 dilation), half thinner
    elastic: float = 0.0  # px: largest displacement of the smooth elastic field's control points


def _elastic_matrix():
    """(GRID * GRID, 784) float32: bilinear weights taking control-point values to every pixel."""
    pos = np.linspace(0, GRID - 1, SIDE)  # pixel -> control coordinate
    i0 = np.minimum(np.floor(pos).astype(int), GRID - 2)
    f = pos - i0
    w1 = np.zeros((GRID, SIDE))
    w1[i0, np.arange(SIDE)] = 1 - f
    w1[i0 + 1, np.arange(SIDE)] = f
    return np.einsum("ar,bc->abrc", w1, w1).reshape(GRID * GRID, SIDE * SIDE).astype(np.float32)


ELASTIC = _elastic_matrix()
ROWS, COLS = (g.ravel().astype(np.float32) - (SIDE - 1) / 2 for g in np.mgrid[0:SIDE, 0:SIDE])  # (784,) centred output grid


def repen(img, rng):
    """Pens of padded images (m, PAD, PAD) float32 changed in place: a random mix toward a 3x3-cross dilation (thicker)
    or erosion (thinner, at most 60 % of the way, so thin strokes survive). The caller picks which images."""
    m = len(img)
    centre = img[:, 1:-1, 1:-1]
    shifted = np.stack([img[:, :-2, 1:-1], img[:, 2:, 1:-1], img[:, 1:-1, :-2], img[:, 1:-1, 2:], centre])  # (5, m, 28, 28)
    thicker = rng.random(m) < 0.5
    amount = np.where(thicker, rng.uniform(0.3, 1.0, m), rng.uniform(0.2, 0.6, m)).astype(np.float32)[:, None, None]
    target = np.where(thicker[:, None, None], shifted.max(axis=0), shifted.min(axis=0))
    centre += amount * (target - centre)


def sample_grid(m, d, rng):
    """Source coordinates (row, col), each (m, 784) float32 in the padded frame, for m random warps of settings d."""
    a = np.deg2rad(rng.uniform(-d.degrees, d.degrees, m))
    k = np.tan(np.deg2rad(rng.uniform(-d.shear, d.shear, m)))
    s = 1 + rng.uniform(-d.scale, d.scale, m)
    aspect = 1 + rng.uniform(-d.scale / 2, d.scale / 2, m)
    sy, sx = s / np.sqrt(aspect), s * np.sqrt(aspect)
    ty, tx = rng.uniform(-d.shift, d.shift, m), rng.uniform(-d.shift, d.shift, m)
    # output = R(a) @ Shear(k) @ diag(sx, sy) @ source + t, in (x, y) about the centre; invert it for each output pixel
    cos, sin = np.cos(a), np.sin(a)
    m00, m01 = cos * sx, (cos * k - sin) * sy  # x' = m00 x + m01 y
    m10, m11 = sin * sx, (sin * k + cos) * sy  # y' = m10 x + m11 y
    det = m00 * m11 - m01 * m10
    i00, i01, i10, i11 = (v[:, None].astype(np.float32) for v in (m11 / det, -m01 / det, -m10 / det, m00 / det))
    y, x = ROWS[None] - ty[:, None].astype(np.float32), COLS[None] - tx[:, None].astype(np.float32)  # (m, 784)
    src_c = i00 * x + i01 * y + (SIDE - 1) / 2 + 1
    src_r = i10 * x + i11 * y + (SIDE - 1) / 2 + 1
    if d.elastic:
        field = rng.uniform(-d.elastic, d.elastic, (2, m, GRID * GRID)).astype(np.float32)
        src_r += field[0] @ ELASTIC
        src_c += field[1] @ ELASTIC
    return np.clip(src_r, 0, PAD - 1.001), np.clip(src_c, 0, PAD - 1.001)


def bilinear(padded, src_r, src_c):
    """Bilinear samples (m, 784) of padded images (m, PAD * PAD) at source coordinates (m, 784)."""
    r0, c0 = np.floor(src_r), np.floor(src_c)
    fr, fc = src_r - r0, src_c - c0
    idx = r0.astype(np.int32) * PAD + c0.astype(np.int32)
    idx += (np.arange(len(padded), dtype=np.int32) * (PAD * PAD))[:, None]  # into the flat chunk: one gather per corner
    flat = padded.ravel()
    c00, c01 = flat.take(idx), flat.take(idx + 1)
    top = c01 - c00
    top *= fc
    top += c00
    c10, c11 = flat.take(idx + PAD), flat.take(idx + PAD + 1)
    bottom = c11 - c10
    bottom *= fc
    bottom += c10
    bottom -= top
    bottom *= fr
    bottom += top
    return bottom


def distort(x, *, rng, d=Distortion(), out=None):
    """Pixels (n, 784) 0-255 -> float32 (n, 784) 0-255, each image with its own random pen, affine and elastic warp."""
    x = np.asarray(x).reshape(len(x), SIDE * SIDE)
    out = np.empty((len(x), SIDE * SIDE), np.float32) if out is None else out
    for s in range(0, len(x), CHUNK):
        m = min(CHUNK, len(x) - s)
        img = np.zeros((m, PAD, PAD), np.float32)
        img[:, 1:-1, 1:-1] = x[s:s + m].reshape(m, SIDE, SIDE)
        if d.pen:
            chosen = np.flatnonzero(rng.random(m) < d.pen)
            part = img[chosen]
            repen(part, rng)
            img[chosen] = part
        src_r, src_c = sample_grid(m, d, rng)
        out[s:s + m] = bilinear(img.reshape(m, PAD * PAD), src_r, src_c)
    return out
