"""Light data augmentation in NumPy: each digit shifted by up to ±2 px and rotated by a few degrees, seeded."""
from functools import lru_cache

import numpy as np

SIDE, PAD = 28, 31  # images are read from a copy with zero pixels around (1 before, 2 after): out-of-frame samples are background
CHUNK = 64  # images per vectorised step: its 1 MB of scratch stays in L2 (32-128 measured alike, 256 and 512 slower)


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


def transforms(max_shift, max_degrees):
    """(degrees, row shift, col shift) of each transform number that draw() picks, three int arrays (k,)."""
    side = 2 * max_shift + 1
    k = np.arange((2 * max_degrees + 1) * side * side)
    return k // (side * side) - max_degrees, k // side % side - max_shift, k % side - max_shift


def draw(n, *, rng, max_shift, max_degrees):
    """One transform number per image, uniform over every (whole degree, row shift, col shift): the random stream augment uses."""
    return rng.integers(0, (2 * max_degrees + 1) * (2 * max_shift + 1) ** 2, n)


class Augmenter:
    """A fixed set of digits, shifted and rotated afresh on every call, into one float32 buffer that each call reuses.

    Holds a padded uint8 copy of the digits (961 bytes each) and the float32 result (3,136 bytes each): for the 55,000
    training images 53 MB and 172 MB, allocated once for a whole training run instead of twice per epoch.
    """

    def __init__(self, x, *, max_shift=2, max_degrees=10):
        x = np.asarray(x).reshape(len(x), SIDE * SIDE)
        if x.dtype != np.uint8:
            x = np.clip(np.rint(x), 0, 255).astype(np.uint8)
        self.max_shift, self.max_degrees = int(max_shift), int(max_degrees)
        self.padded = np.zeros((len(x), PAD, PAD), np.uint8)  # (n, 31, 31): padded once, read every epoch
        self.padded[:, 1:SIDE + 1, 1:SIDE + 1] = x.reshape(len(x), SIDE, SIDE)
        self.padded = self.padded.reshape(len(x), PAD * PAD)
        self.images = np.empty((len(x), SIDE * SIDE), np.float32)  # (n, 784) the result, overwritten by each call
        # scratch for one step, flat so that any step's (pixels, m) view of it is contiguous: pixels down, images across
        rows = (PAD * PAD, 4 * SIDE * SIDE, SIDE * SIDE, SIDE * SIDE)  # source pixels, 4 corners, top lerp, bottom lerp
        self._scratch = [(np.empty(r * min(CHUNK, len(x)), np.float32), r) for r in rows]

    def __call__(self, rng):
        """(images, where): image i, shifted and rotated at random (from rng), is images[where[i]]; images is the reused buffer.

        Images are grouped by transform, so each step samples many images at the same corner indices and fractions.
        Each pixel gets the same float32 operations in the same order as when each image gathered its own corners
        (the implementation before), so the results are the same bit for bit, from the same random numbers.
        """
        n = len(self.images)
        pick = draw(n, rng=rng, max_shift=self.max_shift, max_degrees=self.max_degrees)
        order = np.argsort(pick, kind="stable")  # images grouped by transform
        where = np.empty(n, np.intp)
        where[order] = np.arange(n)
        index, frac_r, frac_c = _tables(self.max_shift, self.max_degrees)
        ends = np.cumsum(np.bincount(pick, minlength=len(index)))
        start = 0
        for k, end in enumerate(ends):
            if end > start:
                corners = (index[k] + np.array([[0], [1], [PAD], [PAD + 1]])).ravel()  # (3136,) in the padded image
                for s in range(start, end, CHUNK):
                    e = min(s + CHUNK, end)
                    self._sample(order[s:e], corners, frac_r[k][:, None], frac_c[k][:, None], self.images[s:e])
            start = end
        return self.images, where

    def _sample(self, ids, corners, fr, fc, out):
        """Bilinear samples of padded images ids at 4 corner indices (3136,) with row and column fractions (784, 1) into out (m, 784).

        The images lie across the columns: a corner is one row copy, and a fraction multiplies a whole row of images.
        """
        m = len(ids)
        pixels, c, top, bottom = (a[:rows * m].reshape(rows, m) for a, rows in self._scratch)
        np.copyto(pixels, self.padded[ids].T)  # (961, m) uint8 -> float32
        np.take(pixels, corners, axis=0, out=c, mode="clip")  # (3136, m); mode 'raise' would buffer the out array
        c = c.reshape(4, SIDE * SIDE, m)  # top-left, top-right, bottom-left, bottom-right
        np.subtract(c[1], c[0], out=top)  # lerp along the row
        top *= fc
        top += c[0]
        np.subtract(c[3], c[2], out=bottom)
        bottom *= fc
        bottom += c[2]
        bottom -= top  # then lerp between the two rows
        bottom *= fr
        bottom += top
        np.copyto(out, bottom.T)


def augment(x, *, rng, max_shift=2, max_degrees=10):
    """Pixels (n, 784) 0-255 -> float32 (n, 784): each image rotated by a whole number of degrees in ±max_degrees
    and shifted by whole pixels in ±max_shift, uniformly at random from rng (a numpy Generator); bilinear sampling."""
    images, where = Augmenter(x, max_shift=max_shift, max_degrees=max_degrees)(rng)
    return images[where]
