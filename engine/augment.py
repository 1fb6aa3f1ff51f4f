"""Light data augmentation in NumPy: each digit shifted by up to ±2 px and rotated by a few degrees, seeded."""
from functools import lru_cache

import numpy as np

SIDE, PAD = 28, 31  # images are read from a copy with zero pixels around (1 before, 2 after): out-of-frame samples are background
CHUNK = 512  # images per vectorised step: small enough that the temporaries stay in cache (measured fastest)


@lru_cache(maxsize=4)
def _tables(max_shift, max_degrees):
    """Bilinear sampling tables for every (whole degree, row shift, col shift): corner index, row and column fractions (k, 784)."""
    angles = np.deg2rad(np.arange(-max_degrees, max_degrees + 1))
    shifts = np.arange(-max_shift, max_shift + 1)
    a, dr, dc = (g.ravel()[:, None] for g in np.meshgrid(angles, shifts, shifts, indexing="ij"))  # (k, 1) each
    r, c = (g.ravel() - (SIDE - 1) / 2 for g in np.mgrid[0:SIDE, 0:SIDE])  # (784,) output pixel, centred
    r, c = r - dr, c - dc  # (k, 784): undo the shift, then the rotation: where each output pixel comes from
    src_r = np.clip(np.cos(a) * r - np.sin(a) * c + (SIDE - 1) / 2 + 1, 0, SIDE + 1)  # +1: the padding; outside: a zero pixel
    src_c = np.clip(np.sin(a) * r + np.cos(a) * c + (SIDE - 1) / 2 + 1, 0, SIDE + 1)
    r0, c0 = np.floor(src_r), np.floor(src_c)
    fr, fc = src_r - r0, src_c - c0
    index = (r0 * PAD + c0).astype(np.int32)  # top-left corner in the padded image
    return index, fr.astype(np.float32), fc.astype(np.float32)


def augment(x, *, rng, max_shift=2, max_degrees=10):
    """Pixels (n, 784) 0-255 -> float32 (n, 784): each image rotated by a whole number of degrees in ±max_degrees
    and shifted by whole pixels in ±max_shift, uniformly at random from rng (a numpy Generator); bilinear sampling."""
    x = np.asarray(x).reshape(len(x), SIDE * SIDE)
    if x.dtype != np.uint8:
        x = np.clip(np.rint(x), 0, 255).astype(np.uint8)
    index, frac_r, frac_c = _tables(int(max_shift), int(max_degrees))
    n = len(x)
    pick = rng.integers(0, len(index), n)  # one (angle, shift) per image
    out = np.empty((n, SIDE * SIDE), np.float32)
    for s in range(0, n, CHUNK):
        m = min(CHUNK, n - s)
        pad = np.zeros((m, PAD, PAD), np.uint8)
        pad[:, 1:SIDE + 1, 1:SIDE + 1] = x[s:s + m].reshape(m, SIDE, SIDE)
        # the 4 corners of every pixel's 2x2 neighbourhood packed in one uint32, so one gather fetches them all
        quad = np.zeros((m * PAD * PAD + PAD + 1, 4), np.uint8)
        flat = pad.reshape(-1)
        quad[:len(flat), 0], quad[:len(flat) - 1, 1] = flat, flat[1:]
        quad[:len(flat) - PAD, 2], quad[:len(flat) - PAD - 1, 3] = flat[PAD:], flat[PAD + 1:]
        k = pick[s:s + m]
        corners = np.take(quad.view(np.uint32).ravel(), index[k] + (np.arange(m, dtype=np.int32) * PAD * PAD)[:, None])
        c = corners.view(np.uint8).reshape(m, SIDE * SIDE, 4)  # (m, 784, 4) uint8: top-left, top-right, bottom-left, bottom-right
        fr, fc = frac_r[k], frac_c[k]  # (m, 784)
        top = np.subtract(c[..., 1], c[..., 0], dtype=np.float32)  # lerp along the row; uint8 is cast inside each op
        top *= fc
        top += c[..., 0]
        bottom = np.subtract(c[..., 3], c[..., 2], dtype=np.float32)
        bottom *= fc
        bottom += c[..., 2]
        bottom -= top  # then lerp between the two rows
        bottom *= fr
        np.add(top, bottom, out=out[s:s + m])
    return out
