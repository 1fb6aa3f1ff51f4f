"""Any drawn, uploaded or photographed digit -> an MNIST-style 28x28: the six steps MNIST itself was made with, plus one
that evens out the pen's width (step 5), since a mouse or a marker draws much thinner or thicker than MNIST's writers."""
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .errors import ImageFormatError
from .imagefile import read_canvas, read_image, to_gray
from .ink import make_upright, separate
from .pen import normalise as normalise_pen

BOX = 20  # MNIST scaled each digit to fit 20x20, keeping its aspect ratio ...
SIZE = 28  # ... and pasted it into 28x28
CENTRE = (14.0, 14.0)  # (row, col) where MNIST puts the centre of mass: the mean over its 60,000 training digits
TITLES = ("1. grayscale", "2. ink made white", "3. ink separated", "4. cropped", "5. pen width evened", "6. scaled to 20x20",
          "7. centred 28x28")


@dataclass(frozen=True)
class Digitized:
    """One picture's way to an MNIST digit: every step as a uint8 image (white ink on black from step 2 on)."""

    gray: np.ndarray  # (h, w) step 1, the picture in gray (shrunk so the longer side is at most 800 px)
    upright: np.ndarray  # (h, w) step 2, inverted when the ink was dark on light paper
    inverted: bool  # whether step 2 inverted the picture
    ink: np.ndarray  # (h, w) step 3, the ink alone: paper, shadows and specks removed
    crop: np.ndarray  # (hc, wc) step 4, the ink's bounding box
    pen: np.ndarray  # (hp, wp) step 5, the crop with its pen thinned or thickened to MNIST's (the crop itself if already alike)
    box: np.ndarray  # (20, w) or (h, 20) step 6, the ink scaled so its longer side is 20 px
    digit: np.ndarray  # (28, 28) step 7, centred by centre of mass: the model's input, 0-255 like MNIST
    pen_width: tuple = (0.0, 0.0)  # the pen's width before and after step 5, in px of an 80 px-long digit (engine.pen)

    def steps(self):
        """[(title, uint8 image)] for an image strip, in order."""
        return list(zip(TITLES, (self.gray, self.upright, self.ink, self.crop, self.pen, self.box, self.digit), strict=True))

    @property
    def pixels(self):
        """The digit as one row of 784 pixels (1, 784) uint8, ready for model.predict_proba."""
        return self.digit.reshape(1, SIZE * SIZE)


def digitize_bytes(data, *, name="the file"):
    """Bytes of a PNG, JPEG, BMP, GIF (first frame), WebP or TIFF -> Digitized; bad input raises ImageFormatError."""
    blank = f"{name} shows no ink: the page looks blank, so there is no digit to read; photograph the digit closer or with more contrast."
    return digitize_gray(read_image(data, name=name), blank_message=blank)


def digitize_canvas(rgba):
    """A drawing canvas's pixels (h, w, 4) uint8 RGBA, white ink on black or on transparent -> Digitized."""
    return digitize_gray(read_canvas(rgba), blank_message="The canvas is empty: draw a digit first.")


def digitize_image(img, *, name="the picture"):
    """A Pillow image of any mode (1, L, LA, P, RGB, RGBA, CMYK, I;16, I, F) -> Digitized."""
    blank = f"{name} shows no ink: there is no digit to read."
    return digitize_gray(to_gray(img, name=name), blank_message=blank)


def digitize_gray(gray, *, blank_message="The picture shows no ink: there is no digit to read."):
    """Gray (h, w) 0-255 -> Digitized through steps 2-7; raises ImageFormatError(blank_message) when there is no ink."""
    gray = np.clip(np.asarray(gray, np.float32), 0, 255)
    if gray.ndim != 2 or gray.size == 0:
        raise ImageFormatError(f"A gray picture must be a 2-D array of pixels, not shape {gray.shape}.")
    upright, inverted = make_upright(gray)  # step 2
    found = separate(upright, inverted=inverted)  # step 3
    if found is None:
        raise ImageFormatError(blank_message)
    ink, _ = found
    crop, pen, box, digit, widths = ink_to_digit(ink)  # steps 4-7
    as_u8 = lambda a, s=1: np.clip(np.rint(a * s), 0, 255).astype(np.uint8)
    return Digitized(gray=as_u8(gray), upright=as_u8(upright), inverted=inverted, ink=as_u8(ink, 255),
                     crop=as_u8(crop, 255), pen=as_u8(pen, 255), box=as_u8(box, 255), digit=as_u8(digit, 255), pen_width=widths)


def ink_to_digit(ink, *, even_pen=True):
    """Soft ink (h, w) 0-1 with some ink -> (crop, pen, box, digit float 0-1 (28, 28), (width before, after)): steps 4-7."""
    crop = crop_to_ink(ink)  # step 4
    pen, before, after, _ = normalise_pen(crop) if even_pen else (crop, 0.0, 0.0, False)  # step 5
    box = fit_box(pen)  # step 6
    return crop, pen, box, centre_by_mass(box), (round(before, 2), round(after, 2))  # step 7


def digit_of_ink(ink, *, even_pen=True):
    """Clean soft ink (h, w) 0-1 (a rendered glyph, a synthetic stroke) -> its MNIST-style digit (784,) uint8."""
    digit = ink_to_digit(np.asarray(ink, np.float32), even_pen=even_pen)[3]
    return np.clip(np.rint(digit * 255), 0, 255).astype(np.uint8).reshape(SIZE * SIZE)


def crop_to_ink(ink):
    """Soft ink (h, w) 0-1 -> its bounding box (hc, wc)."""
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def fit_box(crop, *, side=BOX):
    """Scale (hc, wc) so the longer side is `side` px, aspect kept, anti-aliased; strongest ink -> 1 as in MNIST."""
    h, w = crop.shape
    k = side / max(h, w)
    size = (max(1, round(w * k)), max(1, round(h * k)))  # Pillow sizes are (width, height)
    box = np.asarray(Image.fromarray(crop.astype(np.float32)).resize(size, Image.Resampling.LANCZOS))
    box = np.clip(box, 0, None)  # Lanczos rings slightly below zero beside strokes
    top = float(box.max())
    return box / top if top > 0 else box


def centre_by_mass(box, *, size=SIZE, centre=CENTRE):
    """Paste box (h, w) into a size x size field, shifted by whole pixels so its centre of mass lands on `centre`."""
    h, w = box.shape
    mass = float(box.sum())
    ys, xs = np.arange(h), np.arange(w)
    cy = float(box.sum(axis=1) @ ys) / mass if mass else (h - 1) / 2
    cx = float(box.sum(axis=0) @ xs) / mass if mass else (w - 1) / 2
    oy = int(np.clip(round(centre[0] - cy), 0, size - h))  # clipped so the digit is never cut off
    ox = int(np.clip(round(centre[1] - cx), 0, size - w))
    out = np.zeros((size, size), np.float32)
    out[oy:oy + h, ox:ox + w] = box
    return out
