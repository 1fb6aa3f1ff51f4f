"""Hostile pictures, fuzzed: engine.picture gives ImageFormatError (one sentence naming the file) or a valid 28x28, quickly.

tests/test_picture.py already checks named cases one by one (empty, text, PDF, truncated PNG, header-only bombs,
1x1 / white / black / gray pictures, every mode, a two-frame GIF); here hypothesis throws many more at it: random
bytes, damaged real pictures, random modes, sizes, formats and contents, animations and constant pictures.
"""
import io
import time
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from engine.errors import ImageFormatError
from engine.picture import digitize_bytes, digitize_canvas
from tests.photos import encode, ring, seven

FAST = settings(max_examples=200, deadline=None, database=None,  # database=None: no .hypothesis/ folder in the repo
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SECONDS = 10.0  # a hang guard, not a benchmark: one picture takes well under 0.1 s here
MODES = ("1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "YCbCr", "LAB", "HSV", "I;16", "I", "F")
FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF", "ICO", "PPM", "TGA")  # the last three are not accepted


def digitize_or_refuse(data, name="pic.bin"):
    """Run digitize_bytes; return the Digitized or None when refused, checking the refusal and the time taken."""
    start = time.perf_counter()
    try:
        out = digitize_bytes(data, name=name)
    except ImageFormatError as e:
        msg = str(e)
        assert name in msg and "\n" not in msg and msg.endswith("."), msg
        out = None
    assert time.perf_counter() - start < SECONDS
    if out is not None:
        assert out.digit.shape == (28, 28) and out.digit.dtype == np.uint8
        assert out.pixels.shape == (1, 784) and out.digit.max() == 255  # strongest ink scaled to 255, as in MNIST
        assert out.box.shape[0] <= 20 and out.box.shape[1] <= 20 and 20 in out.box.shape
    return out


def picture(mode, w, h, content, seed):
    """A Pillow image of mode and size: 'noise', 'blob' (a bright square on dark), or 'flat' (one value)."""
    rng = np.random.default_rng(seed)
    base = Image.new("L", (w, h), int(rng.integers(0, 256)) if content == "flat" else 0)
    if content == "noise":
        base = Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8))
    elif content == "blob":
        a = np.zeros((h, w), np.uint8)
        a[h // 4: max(h // 4 + 1, 3 * h // 4), w // 4: max(w // 4 + 1, 3 * w // 4)] = 255
        base = Image.fromarray(a)
    if mode in ("I;16", "I", "F"):
        scale = {"I;16": 257, "I": 257, "F": 1 / 255}[mode]
        dtype = {"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode]
        return Image.fromarray((np.asarray(base).astype(np.float64) * scale).astype(dtype))
    return base.convert(mode, dither=Image.Dither.NONE)  # dithering would turn a flat gray into a pattern


def savable(modes, formats):
    """[(mode, format)] pairs Pillow can write (a 4x4 picture is tried), so no example is wasted on an impossible one."""
    pairs = []
    for mode in modes:
        for fmt in formats:
            try:
                encode(picture(mode, 4, 4, "noise", 0), fmt)
                pairs.append((mode, fmt))
            except (OSError, ValueError, KeyError, TypeError):
                pass
    return pairs


def encoded(img, fmt):
    try:
        return encode(img, fmt)
    except (OSError, ValueError, KeyError, TypeError):
        assume(False)  # this format cannot store this mode: not a case


@FAST
@given(st.binary(max_size=4096))
def test_random_bytes_are_refused_clearly(data):
    assert digitize_or_refuse(data) is None  # random bytes are never a picture


@FAST
@given(st.sampled_from(savable(MODES, FORMATS)), st.integers(1, 120), st.integers(1, 120), st.sampled_from(("noise", "blob", "flat")),
       st.integers(0, 2**16))
def test_any_mode_size_and_format_gives_a_digit_or_one_clear_error(mode_format, w, h, content, seed):
    mode, fmt = mode_format
    data = encoded(picture(mode, w, h, content, seed), fmt)
    out = digitize_or_refuse(data, name=f"pic.{fmt.lower()}")
    if fmt in ("ICO", "PPM", "TGA"):
        assert out is None  # formats outside the accepted list are "not a picture"


@FAST
@given(st.sampled_from(savable(("1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "F"), ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF"))),
       st.integers(1, 150), st.integers(1, 150), st.integers(0, 2**16))
def test_a_picture_of_one_flat_colour_has_no_ink(mode_format, w, h, seed):
    mode, fmt = mode_format
    # all white, all black, all gray, 1x1: whatever the mode and format, there is no digit to read
    with pytest.raises(ImageFormatError, match="no ink"):
        digitize_bytes(encoded(picture(mode, w, h, "flat", seed), fmt), name="flat.img")


@pytest.fixture(scope="module")
def real_pictures():
    return [encode(seven(), "PNG"), encode(seven().convert("RGB"), "JPEG", quality=85), encode(seven(), "GIF"),
            encode(seven(), "WEBP", lossless=True), encode(seven(), "TIFF"), encode(seven(), "BMP")]


@FAST
@given(st.integers(0, 5), st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=8), st.floats(0, 1))
def test_damaged_real_pictures_give_a_digit_or_one_clear_error(real_pictures, which, flips, cut):
    data = bytearray(real_pictures[which])
    for where, value in flips:
        data[int(where * (len(data) - 1))] = value
    data = bytes(data[: max(1, int(len(data) * (0.3 + 0.7 * cut)))])  # and maybe truncated
    digitize_or_refuse(data, name="damaged.img")


def png_bomb(w, h):
    """A real PNG of w x h black 1-bit pixels: tiny on disk, w * h pixels once decoded."""
    import struct
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    rows = zlib.compress(bytes((1 + (w + 7) // 8) * h), 9)  # filter byte 0 + packed bits, all zero
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


@pytest.mark.parametrize("w, h", [(10_000, 10_000), (100_000, 1_000), (7_000, 7_000)])
def test_a_real_decompression_bomb_is_refused_before_decoding(w, h):
    data = png_bomb(w, h)
    assert len(data) < 200_000  # kilobytes on disk, tens of megapixels decoded
    start = time.perf_counter()
    with pytest.raises(ImageFormatError, match="megapixels|decompression bomb"):
        digitize_bytes(data, name="bomb.png")
    assert time.perf_counter() - start < 1.0  # refused from the header, never decoded


def animation(fmt, frames):
    buf = io.BytesIO()
    frames[0].save(buf, fmt, save_all=True, append_images=frames[1:], duration=80, loop=0)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP", "TIFF"])
def test_an_animation_is_read_from_its_first_frame(fmt):
    seven_first = animation(fmt, [seven().convert("RGB"), ring().convert("RGB"), Image.new("RGB", (280, 280), "white")])
    ring_first = animation(fmt, [ring().convert("RGB"), seven().convert("RGB")])
    assert getattr(Image.open(io.BytesIO(seven_first)), "n_frames", 1) == 3
    a, b = digitize_bytes(seven_first, name="a").digit, digitize_bytes(ring_first, name="b").digit
    assert np.abs(a.astype(int) - digitize_bytes(encode(seven(), "PNG")).digit).mean() < 3
    assert np.abs(a.astype(int) - b).mean() > 10  # a different first frame gives a different digit


@FAST
@given(st.integers(0, 4), st.integers(1, 60), st.integers(1, 60), st.sampled_from(("uint8", "float32", "float64", "int64")),
       st.sampled_from(("noise", "nan", "zeros", "ones", "inf")), st.integers(0, 2**16))
def test_random_canvases_give_a_digit_or_one_clear_error(channels, h, w, dtype, fill, seed):
    rng = np.random.default_rng(seed)
    shape = (h, w) if channels == 0 else (h, w, channels)
    x = {"noise": lambda: rng.uniform(0, 255, shape), "nan": lambda: np.full(shape, np.nan), "zeros": lambda: np.zeros(shape),
         "ones": lambda: np.ones(shape), "inf": lambda: np.full(shape, np.inf)}[fill]()
    with np.errstate(invalid="ignore", over="ignore"):
        x = np.nan_to_num(x, nan=0, posinf=255).astype(dtype) if dtype in ("uint8", "int64") else x.astype(dtype)
    start = time.perf_counter()
    try:
        out = digitize_canvas(x)
    except ImageFormatError as e:
        assert "\n" not in str(e) and str(e).endswith(".")
    else:
        assert out.digit.shape == (28, 28) and out.digit.dtype == np.uint8
    assert time.perf_counter() - start < SECONDS
