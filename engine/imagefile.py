"""Picture files and canvas arrays -> one grayscale float32 array (h, w) in 0-255, refusing bad input in one sentence."""
import io
import math
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageFormatError

FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF")  # what Image.open may try; anything else is "not a picture"
MAX_PIXELS = 40_000_000  # checked from the header, before decoding; a 40-megapixel photo is 7,700 x 5,200
WORK_SIDE = 800  # longer side after shrinking: the digit ends up 20 px tall, so more detail only costs time
HIGH_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")  # 16-bit, 32-bit integer and float images
KINDS = "PNG, JPEG, BMP, GIF, WebP or TIFF"


def read_image(data, *, name="the file", max_side=WORK_SIDE):
    """Bytes of a picture file -> grayscale float32 (h, w), 0-255, longer side at most max_side; first frame of an animation."""
    if not data:
        raise ImageFormatError(f"{name} is empty (0 bytes): choose a {KINDS} picture.")
    try:
        with warnings.catch_warnings():
            # Pillow warns above MAX_IMAGE_PIXELS and raises above twice that: both mean "do not decode this"
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=FORMATS)
            check_size(img.size, name=name)
            mode = img.mode
            if img.format == "JPEG":
                img.draft(None, (max_side, max_side))  # decode at 1/2, 1/4 or 1/8 scale: much faster for big photos
            img.seek(0)
            img.load()
            img = upright_by_exif(img)
            return to_gray(shrink(img, max_side), mode=mode, name=name)
    except ImageFormatError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageFormatError(f"{name} is refused as a possible decompression bomb: it declares more than "
                               f"{Image.MAX_IMAGE_PIXELS:,} pixels, Pillow's safety limit; use a smaller picture.") from None
    except UnidentifiedImageError:
        raise ImageFormatError(f"{name} is not a picture: it cannot be read as {KINDS}; choose an image file.") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as e:
        raise ImageFormatError(f"{name} is damaged or truncated ({e}): save it again or choose another picture.") from None


def canvas_pixels(data, *, most):
    """A drawing canvas's PNG bytes -> pixels (h, w, 4) uint8; a canvas over most x most px is refused from its header."""
    if not data:
        raise ImageFormatError("The canvas sent no picture: draw the digit again.")
    try:
        img = Image.open(io.BytesIO(data), formats=("PNG",))
        w, h = img.size
        if w > most or h > most or w < 1 or h < 1:  # the page draws a fixed-size canvas: anything else was not drawn there
            raise ImageFormatError(f"The canvas image is {w:,} x {h:,} pixels; a drawing is at most {most} x {most}: "
                                   "clear the canvas and draw again.")
        return np.asarray(img.convert("RGBA"))
    except ImageFormatError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError):
        raise ImageFormatError("The canvas sent a damaged picture: clear the canvas and draw again.") from None


def upright_by_exif(img):
    """Apply the EXIF orientation tag (phone photos store "rotate 90" as a tag, not in the pixels); a broken tag is ignored."""
    try:
        return ImageOps.exif_transpose(img)
    except (OSError, SyntaxError, ValueError, TypeError, KeyError, IndexError):
        return img


def check_size(size, *, name):
    """Refuse a picture whose declared width x height exceeds MAX_PIXELS (or is zero), before any decoding."""
    w, h = size
    if w * h > MAX_PIXELS:
        raise ImageFormatError(f"{name} is {w:,} x {h:,} pixels ({w * h / 1e6:.0f} megapixels); pictures over "
                               f"{MAX_PIXELS / 1e6:.0f} megapixels are refused: resize it first.")
    if w < 1 or h < 1:
        raise ImageFormatError(f"{name} has no pixels ({w} x {h}): choose another picture.")


def shrink(img, max_side):
    """Box-average the image down by an integer factor until its longer side is at most max_side."""
    f = math.ceil(max(img.size) / max_side)
    if f <= 1:
        return img
    if img.mode in ("1", "P", "PA"):
        img = img.convert("RGBA" if has_alpha(img) else "L")
    elif img.mode.startswith("I;16"):
        img = Image.fromarray(np.asarray(img).astype(np.int32))  # reduce() has no 16-bit mode; "I" keeps every value
    return img.reduce(f)


def has_alpha(img):
    """True when the image carries transparency: an alpha band, or a palette with a transparent entry."""
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info


def to_gray(img, *, mode=None, name="the picture"):
    """Any Pillow image -> float32 (h, w) gray 0-255; mode is the file's original mode (16-bit stays 16-bit)."""
    mode = mode or img.mode
    if img.mode in HIGH_BIT:
        return scale_high_bit(np.asarray(img, dtype=np.float64), mode=mode)
    if has_alpha(img):
        rgba = img.convert("RGBA")
        luma = np.asarray(rgba.convert("L"), dtype=np.float32)  # (h, w)
        return flatten_alpha(luma, np.asarray(rgba.getchannel("A"), dtype=np.float32))
    try:
        return np.asarray(img.convert("L"), dtype=np.float32)
    except ValueError:
        raise ImageFormatError(f"{name} uses the {mode} colour mode, which cannot be turned into gray: "
                               "save it as an RGB or grayscale PNG or JPEG.") from None


def scale_high_bit(v, *, mode):
    """16-bit, 32-bit or float pixel values (h, w) -> float32 0-255 by their type's range, else by min-max stretch."""
    v = np.nan_to_num(v, nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = float(v.min()), float(v.max())
    if mode.startswith("I;16"):
        top = 65535.0
    elif mode == "F" and lo >= 0 and hi <= 1:
        top = 1.0  # float images are usually 0-1
    elif lo >= 0 and hi <= 255:
        top = 255.0
    elif mode == "I" and lo >= 0 and hi <= 65535:
        top = 65535.0  # 16-bit PNGs open as "I" in some Pillow versions
    else:
        return ((v - lo) * (255 / (hi - lo)) if hi > lo else np.zeros_like(v)).astype(np.float32)
    return (v * (255 / top)).astype(np.float32)


def flatten_alpha(luma, alpha):
    """Composite gray (h, w) with alpha (h, w), both 0-255, over black or white, whichever contrasts with the opaque pixels."""
    a = alpha / 255
    if a.min() >= 1:
        return luma
    weight = float(a.sum())
    mean = float((luma * a).sum() / weight) if weight else 0.0
    back = 0.0 if mean > 127.5 else 255.0  # white strokes on a transparent canvas go on black, dark ones on white
    return (luma * a + back * (1 - a)).astype(np.float32)


def read_canvas(rgba, *, max_side=WORK_SIDE):
    """A drawing canvas's pixels (h, w, 4) RGBA (or (h, w, 3), (h, w)), uint8 or float 0-1 -> gray float32 (h, w) 0-255."""
    x = np.asarray(rgba)
    if x.ndim not in (2, 3) or (x.ndim == 3 and x.shape[2] not in (1, 3, 4)) or x.size == 0:
        raise ImageFormatError(f"The canvas image has shape {x.shape}; expected (height, width, 4) RGBA pixels.")
    check_size((x.shape[1], x.shape[0]), name="The canvas image")
    floats = x.dtype.kind == "f"
    x = np.nan_to_num(x.astype(np.float32))
    if floats and x.max() <= 1:
        x = x * 255  # float canvases come as 0-1
    if x.ndim == 2 or x.shape[2] == 1:
        gray = x.reshape(x.shape[0], x.shape[1])
    else:
        gray = x[..., 0] * 0.299 + x[..., 1] * 0.587 + x[..., 2] * 0.114  # ITU-R 601 luma, as Pillow's convert("L")
        if x.shape[2] == 4:
            if x[..., 3].max() <= 0:
                raise ImageFormatError("The canvas is empty: draw a digit first.")
            gray = flatten_alpha(gray, x[..., 3])
    f = math.ceil(max(gray.shape) / max_side)
    return np.asarray(Image.fromarray(gray.astype(np.float32)).reduce(f)) if f > 1 else gray.astype(np.float32)
