"""engine.picture: any picture -> an MNIST-style 28x28; bad input gets one clear sentence; photos read about as well as MNIST."""
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from engine.errors import ImageFormatError
from engine.imagefile import MAX_PIXELS, WORK_SIDE
from engine.picture import digitize_bytes, digitize_canvas, digitize_image
from tests.conftest import ROOT
from tests.photos import encode, make_photos, render_photo, ring, seven


def png_header(w, h):
    """A tiny PNG that only declares w x h pixels: how a decompression bomb or a huge picture looks before decoding."""
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def com(d):
    """Centre of mass (row, col) of a 2-D image."""
    d = d.astype(np.float64)
    return (d.sum(1) @ np.arange(d.shape[0]) / d.sum(), d.sum(0) @ np.arange(d.shape[1]) / d.sum())


def similarity(a, b):
    """Best correlation of two 28x28 digits over shifts of up to 1 px: centring by mass rounds to whole pixels, like MNIST."""
    shifted = lambda d, dy, dx: np.roll(np.roll(d.astype(np.float64), dy, 0), dx, 1).ravel()
    return max(np.corrcoef(shifted(a, dy, dx), b.ravel().astype(np.float64))[0, 1] for dy in (-1, 0, 1) for dx in (-1, 0, 1))


def one_sentence(msg):
    return "\n" not in msg and msg.endswith(".") and len(msg) < 300


REFERENCE = digitize_image(seven()).digit  # (28, 28): the clean 7 every other encoding must reproduce


# ---- bad input: one clear sentence each ----

@pytest.mark.parametrize("data, words", [
    (b"", "empty (0 bytes)"),
    (b"hello, this is text", "is not a picture"),
    (b"%PDF-1.4 not an image at all", "is not a picture"),
    (encode(seven(), "PNG")[:300], "damaged or truncated"),
    (png_header(12_000, 12_000), "decompression bomb"),  # 144 MP: Pillow warns (over its 89 MP limit), we refuse
    (png_header(30_000, 30_000), "decompression bomb"),  # 900 MP: Pillow itself raises
    (png_header(8_000, 6_000), "megapixels"),  # 48 MP, under Pillow's limit: refused from the header (its pixel data is bogus)
    (encode(Image.new("L", (1, 1), 255), "PNG"), "no ink"),
    (encode(Image.new("L", (1, 1), 0), "PNG"), "no ink"),
    (encode(Image.new("L", (300, 200), 255), "PNG"), "no ink"),
    (encode(Image.new("RGB", (300, 200), (0, 0, 0)), "JPEG"), "no ink"),
    (encode(Image.new("L", (300, 200), 128), "BMP"), "no ink"),
])
def test_bad_files_raise_one_clear_sentence(data, words):
    max_before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(ImageFormatError) as e:
        digitize_bytes(data, name="upload.png")
    msg = str(e.value)
    if words == "megapixels":
        assert f"over {MAX_PIXELS / 1e6:.0f} megapixels" in msg
    assert words in msg and "upload.png" in msg and one_sentence(msg), msg
    assert Image.MAX_IMAGE_PIXELS == max_before  # Pillow's bomb limit stays on


@pytest.mark.parametrize("side", [150, 900])
def test_a_blank_photographed_page_has_no_ink(side):
    rng = np.random.default_rng(side)
    data = render_photo(np.zeros((28, 28), np.uint8), rng=rng, side=side, fmt="JPEG")
    with pytest.raises(ImageFormatError, match="no ink"):
        digitize_bytes(data, name="page.jpg")


@pytest.mark.parametrize("canvas", [
    np.zeros((280, 280, 4), np.uint8),  # transparent, nothing drawn
    np.dstack([np.zeros((280, 280, 3), np.uint8), np.full((280, 280), 255, np.uint8)]),  # opaque black, nothing drawn
])
def test_an_empty_canvas_says_so(canvas):
    with pytest.raises(ImageFormatError, match="^The canvas is empty: draw a digit first.$"):
        digitize_canvas(canvas)


def test_a_canvas_of_the_wrong_shape_is_refused():
    with pytest.raises(ImageFormatError, match=r"shape \(280, 280, 7\)"):
        digitize_canvas(np.zeros((280, 280, 7), np.uint8))


# ---- every mode and format reads the same drawing ----

def with_alpha(img, mode):
    """The 7 as opaque ink on a fully transparent *black* background: only the alpha says where the ink is."""
    a = Image.eval(img, lambda v: 255 - v)  # ink opaque, paper transparent
    black = Image.new("L", img.size, 0)
    return Image.merge("LA", (black, a)) if mode == "LA" else Image.merge("RGBA", (black, black, black, a))


@pytest.mark.parametrize("mode, fmt", [
    ("1", "PNG"), ("L", "PNG"), ("L", "BMP"), ("L", "WEBP"), ("LA", "PNG"), ("P", "GIF"), ("P", "PNG"),
    ("RGB", "JPEG"), ("RGB", "WEBP"), ("RGBA", "PNG"), ("CMYK", "JPEG"), ("CMYK", "TIFF"),
    ("I;16", "PNG"), ("I", "TIFF"), ("F", "TIFF"),
])
def test_every_mode_gives_the_same_digit(mode, fmt):
    base = seven()
    if mode in ("LA", "RGBA"):
        img = with_alpha(base, mode)
    elif mode == "I;16":
        img = Image.fromarray(np.asarray(base).astype(np.uint16) * 257)  # full 16-bit range
    elif mode == "I":
        img = Image.fromarray(np.asarray(base).astype(np.int32) * 257)
    elif mode == "F":
        img = Image.fromarray(np.asarray(base).astype(np.float32) / 255)  # float pictures are 0-1
    else:
        img = base.convert(mode)
    assert img.mode == mode
    data = encode(img, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    for got in (digitize_bytes(data, name=f"seven.{fmt.lower()}"), digitize_image(img)):
        diff = np.abs(got.digit.astype(int) - REFERENCE).mean()
        assert diff < 3, f"{mode} {fmt}: mean difference {diff:.1f} gray levels"  # JPEG's ringing is ~1 level


def test_an_animated_gif_is_read_from_its_first_frame():
    frames = [seven().convert("P"), ring().convert("P")]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(io.BytesIO(buf.getvalue())).n_frames == 2
    got = digitize_bytes(buf.getvalue(), name="anim.gif").digit
    assert np.abs(got.astype(int) - REFERENCE).mean() < 1
    assert np.abs(digitize_image(ring()).digit.astype(int) - REFERENCE).mean() > 10  # the second frame differs


def test_exif_rotation_is_applied():
    img = seven().rotate(90, expand=True)  # stored sideways, with a tag saying "turn me back"
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 clockwise to display
    got = digitize_bytes(encode(img.convert("RGB"), "JPEG", exif=exif, quality=95), name="phone.jpg").digit
    assert np.abs(got.astype(int) - REFERENCE).mean() < 3


# ---- the seven steps ----

def test_the_steps_follow_mnist():
    got = digitize_bytes(encode(seven(), "PNG"), name="seven.png")
    titles = [t for t, _ in got.steps()]
    assert titles == ["1. grayscale", "2. ink made white", "3. ink separated", "4. cropped", "5. pen width evened",
                      "6. scaled to 20x20", "7. centred 28x28"]
    assert all(img.dtype == np.uint8 for _, img in got.steps())
    assert got.inverted and got.gray[0, 0] == 255 and got.upright[0, 0] == 0  # dark ink on white was flipped
    assert max(got.box.shape) == 20 and got.digit.shape == (28, 28) and got.digit.max() == 255
    assert np.allclose(com(got.digit), (14, 14), atol=0.5)  # MNIST's centre of mass
    assert got.pixels.shape == (1, 784)
    h, w = got.crop.shape
    assert abs(h / w - got.box.shape[0] / got.box.shape[1]) < 0.1  # aspect ratio kept


def test_a_canvas_drawing_transparent_or_opaque_gives_the_same_digit():
    ink = 255 - np.asarray(seven())  # white strokes
    opaque = np.dstack([ink, ink, ink, np.full_like(ink, 255)])  # on black
    transparent = np.dstack([ink, ink, ink, ink])  # on transparent black, as a canvas returns it
    a, b = digitize_canvas(opaque), digitize_canvas(transparent)
    assert not a.inverted
    assert np.abs(a.digit.astype(int) - REFERENCE).mean() < 1
    assert np.abs(b.digit.astype(int) - REFERENCE).mean() < 1
    c = digitize_canvas(opaque.astype(np.float32) / 255)  # float canvases come as 0-1
    assert np.abs(c.digit.astype(int) - REFERENCE).mean() < 1


def test_a_4000px_photo_works_and_is_shrunk_first():
    rng = np.random.default_rng(3)
    digit = np.asarray(seven(ink=255, paper=0).resize((28, 28), Image.Resampling.LANCZOS))  # white on black, like MNIST
    clean = digitize_canvas(digit).digit
    for side in (4000, 300):
        got = digitize_bytes(render_photo(digit, rng=rng, side=side, fmt="JPEG", tilt=0), name="photo.jpg")
        assert max(got.gray.shape) <= WORK_SIDE and got.inverted
        assert similarity(got.digit, clean) > 0.9, side


def test_specks_beside_the_digit_are_ignored():
    img = seven()
    d = ImageDraw.Draw(img)
    for x, y in [(10, 10), (260, 20), (15, 265), (250, 250), (240, 140)]:
        d.ellipse([x, y, x + 5, y + 5], fill=0)  # dust and pen dots on the page
    got = digitize_image(img).digit
    assert np.abs(got.astype(int) - REFERENCE).mean() < 1


# ---- real MNIST: drawings and photos ----

@pytest.fixture(scope="module")
def model(request):
    """The shipped default model when it exists, else the book's weights."""
    from engine.modelfile import load_model
    default = ROOT / "models" / "default.npz"
    return load_model(default if default.is_file() else request.getfixturevalue("book_weights"))


@pytest.fixture(scope="module")
def test_digits(mnist_dir):
    from engine.data import load_raw
    raw = load_raw(mnist_dir)
    return raw["test_img"], raw["test_label"]


@pytest.mark.mnist
def test_an_mnist_digit_drawn_on_the_canvas_reads_the_same(model, test_digits):
    x = test_digits[0][:500]
    drawn = np.stack([digitize_canvas(np.dstack([d, d, d, np.full_like(d, 255)])).digit for d in x])
    same = np.mean(model.predict(drawn.reshape(-1, 784)) == model.predict(x.reshape(-1, 784)))
    assert same >= 0.95, f"only {same:.1%} of predictions unchanged"  # measured 98.8% with the book weights


@pytest.mark.mnist
def test_photos_read_about_as_well_as_mnist(model, test_digits):
    x, t = test_digits
    pick = np.random.default_rng(2024).choice(len(x), 240, replace=False)
    photos = make_photos(x[pick], seed=2024, large_every=60)  # 236 small (100-700 px), 4 large (2000-4000 px)
    read = np.stack([digitize_bytes(data, name=name).digit for name, data in photos])
    mnist_acc = float(np.mean(model.predict(x[pick].reshape(-1, 784)) == t[pick]))
    photo_acc = float(np.mean(model.predict(read.reshape(-1, 784)) == t[pick]))
    assert photo_acc >= mnist_acc - 0.05, f"photos {photo_acc:.3f} vs MNIST {mnist_acc:.3f}"
