"""engine.picture: any picture -> an MNIST-style 28x28; bad input gets one clear sentence; photos read about as well as MNIST."""
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from engine.errors import ImageFormatError
from engine.imagefile import MAX_PIXELS, WORK_SIDE
from engine.ink import make_upright, separate
from engine.pen import normalise as normalise_pen
from engine.picture import (
    centre_by_mass,
    crop_to_ink,
    digit_of_ink,
    digitize_bytes,
    digitize_canvas,
    digitize_gray,
    digitize_image,
    fit_box,
    ink_to_digit,
)
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


# ---- steps 4-7 one at a time ----

def stroke_ink(h=60, w=40):
    """Clean soft ink (h, w) 0-1: a bar with a soft edge, off centre, as separate() returns it."""
    a = np.zeros((h, w), np.float32)
    a[10:50, 8:14] = 1.0
    a[10:50, 14] = 0.75
    a[10:13, 14:30] = 1.0
    return a


def test_crop_is_the_bounding_box_of_the_ink():
    rng = np.random.default_rng(0)
    for _ in range(5):
        a = (rng.random((30, 40)) < 0.01) * rng.random((30, 40))
        a[rng.integers(30), rng.integers(40)] = 1.0  # at least one ink pixel
        ys, xs = [y for y in range(30) if a[y].any()], [x for x in range(40) if a[:, x].any()]
        np.testing.assert_array_equal(crop_to_ink(a), a[min(ys):max(ys) + 1, min(xs):max(xs) + 1])


@pytest.mark.parametrize("shape, side, expect", [((40, 10), 20, (20, 5)), ((10, 40), 20, (5, 20)), ((1, 100), 20, (1, 20)),
                                                 ((100, 1), 20, (20, 1)), ((7, 7), 20, (20, 20)), ((30, 12), 10, (10, 4))])
def test_fit_box_scales_the_longer_side_keeping_the_aspect(shape, side, expect):
    box = fit_box(np.full(shape, 0.5, np.float32), side=side)
    assert box.shape == expect
    np.testing.assert_allclose(box, 1.0, atol=1e-3)  # flat ink stays flat, its strongest value made 1


def lanczos_matrix(n_in, n_out):
    """(n_out, n_in) weights of Lanczos-3 resampling, widened by the scale when shrinking, each row summing to 1."""
    scale = n_in / n_out
    stretch = max(scale, 1.0)
    kernel = lambda x: np.sinc(x) * np.sinc(x / 3) * (np.abs(x) < 3)
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        centre = (i + 0.5) * scale
        lo, hi = max(int(centre - 3 * stretch + 0.5), 0), min(int(centre + 3 * stretch + 0.5), n_in)
        w = kernel((np.arange(lo, hi) - centre + 0.5) / stretch)
        m[i, lo:hi] = w / w.sum()
    return m


def test_fit_box_resamples_with_lanczos_as_mnist_did():
    crop = np.random.default_rng(0).random((37, 23)).astype(np.float32)
    box = fit_box(crop)
    assert box.shape == (20, 12)  # 23 x 20 / 37 = 12.4
    expect = np.clip(lanczos_matrix(37, 20) @ crop.astype(np.float64) @ lanczos_matrix(23, 12).T, 0, None)
    np.testing.assert_allclose(box, expect / expect.max(), atol=1e-5)
    small = np.zeros((6, 4), np.float32)
    small[1:5, 1:3] = 1.0  # enlarged 3.3 x: the kernel keeps its width
    expect = np.clip(lanczos_matrix(6, 20) @ small @ lanczos_matrix(4, 13).T, 0, None)
    np.testing.assert_allclose(fit_box(small), expect / expect.max(), atol=1e-5)


def test_fit_box_never_rings_below_zero_and_keeps_an_empty_box_empty():
    crop = np.zeros((30, 30), np.float32)
    crop[:, 10:14] = 0.8  # sharp edges: Lanczos undershoots beside them
    box = fit_box(crop)
    assert box.min() == 0 and box.max() == pytest.approx(1.0)
    np.testing.assert_array_equal(fit_box(np.zeros((5, 8), np.float32)), np.zeros((12, 20)))


@pytest.mark.parametrize("box, at", [
    (np.array([[0, 0], [0, 0], [0, 1.0]]), (12, 13)),  # one pixel at (2, 1): pasted at (14 - 2, 14 - 1)
    (np.array([[1.0, 3.0]]), (14, 13)),  # column mass 1 : 3, centre x 0.75: shift round(13.25) = 13
    (np.array([[1.0], [1.0]]), (14, 14)),  # centre y 0.5: round(13.5) = 14, to even
])
def test_centre_by_mass_puts_the_centre_of_mass_on_14_14(box, at):
    out = centre_by_mass(box)
    assert out.shape == (28, 28) and out.dtype == np.float32
    expect = np.zeros((28, 28))
    expect[at[0]:at[0] + box.shape[0], at[1]:at[1] + box.shape[1]] = box
    np.testing.assert_array_equal(out, expect)


def test_centre_by_mass_takes_another_centre_and_size():
    box = np.zeros((3, 3))
    box[1, 1] = 2.0
    out = centre_by_mass(box, size=20, centre=(5.0, 12.0))
    assert out.shape == (20, 20) and out[5, 12] == 2.0 and out.sum() == 2.0


def test_centre_by_mass_never_cuts_the_digit_off():
    box = np.zeros((20, 20))
    box[0, 0] = 1.0  # all mass in a corner: a shift of 14 would push 6 rows out of the field
    out = centre_by_mass(box)
    assert out[8, 8] == 1.0 and out.sum() == 1.0
    box = np.zeros((20, 18))
    box[19, 17] = 1.0  # the far corner: shifted as far up and left as it goes, to 0
    assert centre_by_mass(box)[19, 17] == 1.0
    np.testing.assert_array_equal(centre_by_mass(np.zeros((4, 6))), np.zeros((28, 28)))


def test_ink_to_digit_chains_crop_pen_box_and_centre():
    ink = stroke_ink()
    crop, pen, box, digit, widths = ink_to_digit(ink)
    np.testing.assert_array_equal(crop, ink[10:50, 8:30])
    pen_expect, before, after, _ = normalise_pen(crop)
    np.testing.assert_array_equal(pen, pen_expect)
    np.testing.assert_array_equal(box, fit_box(pen_expect))
    np.testing.assert_array_equal(digit, centre_by_mass(box))
    assert widths == (round(before, 2), round(after, 2))
    crop, pen, box, digit, widths = ink_to_digit(ink, even_pen=False)
    assert pen is crop and widths == (0.0, 0.0)
    thick = np.zeros((60, 60), np.float32)
    thick[5:55, 20:40] = 1.0
    _, before, after, changed = normalise_pen(crop_to_ink(thick))
    assert changed and ink_to_digit(thick)[4] == (round(before, 2), round(after, 2))  # in the strip, to 0.01 px
    np.testing.assert_array_equal(digit, centre_by_mass(fit_box(crop)))


def test_digit_of_ink_is_the_rounded_digit_as_one_row():
    ink = stroke_ink()
    for even in (True, False):
        got = digit_of_ink(ink.astype(np.float64), even_pen=even)
        assert got.shape == (784,) and got.dtype == np.uint8
        np.testing.assert_array_equal(got, np.rint(ink_to_digit(ink, even_pen=even)[3] * 255).ravel())
    thick = np.zeros((60, 60), np.float32)
    thick[5:55, 20:40] = 1.0  # a marker's stroke, a third as wide as it is long
    assert not np.array_equal(digit_of_ink(thick), digit_of_ink(thick, even_pen=False))  # evened only when asked


def test_digitize_gray_runs_every_step_and_rounds_to_uint8():
    g = stroke_ink() * 255
    g[0, 0], g[0, 1], g[0, 2] = 300, -20, 100.4  # out-of-range values are clipped first
    got = digitize_gray(g)
    assert got.gray[0, 0] == 255 and got.gray[0, 1] == 0 and not got.inverted
    np.testing.assert_array_equal(got.gray, np.rint(np.clip(g, 0, 255)))
    np.testing.assert_array_equal(got.upright, got.gray)  # light ink on dark: not inverted
    clean = stroke_ink()
    np.testing.assert_array_equal(got.ink[1:, :], np.rint(clean[1:, :] * 255))
    crop, pen, box, digit, widths = ink_to_digit(ink_of(g))
    for step, want in ((got.crop, crop), (got.pen, pen), (got.box, box), (got.digit, digit)):
        np.testing.assert_array_equal(step, np.clip(np.rint(want * 255), 0, 255))
    assert got.pen_width == widths
    assert [img for _, img in got.steps()] == [got.gray, got.upright, got.ink, got.crop, got.pen, got.box, got.digit]
    np.testing.assert_array_equal(got.pixels, got.digit.reshape(1, 784))


def ink_of(gray):
    """Steps 2-3 by hand: the ink separate() finds in the clipped gray picture."""
    g = np.clip(np.asarray(gray, np.float32), 0, 255)
    up, inverted = make_upright(g)
    return separate(up, inverted=inverted)[0]


@pytest.mark.parametrize("shape", [(5,), (4, 4, 3), (0, 5)])
def test_digitize_gray_refuses_anything_but_a_2d_picture(shape):
    with pytest.raises(ImageFormatError, match=rf"^A gray picture must be a 2-D array of pixels, not shape \({shape[0]},"):
        digitize_gray(np.zeros(shape))


def test_each_entry_names_its_own_blank_picture():
    with pytest.raises(ImageFormatError, match=r"^The picture shows no ink: there is no digit to read\.$"):
        digitize_gray(np.zeros((10, 10)))
    with pytest.raises(ImageFormatError, match=r"^scan.png shows no ink: there is no digit to read\.$"):
        digitize_image(Image.new("L", (40, 40), 255), name="scan.png")
    with pytest.raises(ImageFormatError, match=r"^the picture shows no ink"):
        digitize_image(Image.new("L", (40, 40), 255))
    with pytest.raises(ImageFormatError, match=r"^the file shows no ink: the page looks blank.*contrast\.$"):
        digitize_bytes(encode(Image.new("L", (40, 40), 255), "PNG"))


@pytest.mark.parametrize("paper, ink", [(1000.0, 255.0), (0.0, -1000.0)])
def test_values_beyond_0_255_count_as_white_or_black(paper, ink):
    g = np.full((28, 28), paper)
    g[6:22, 12:15] = ink  # only outside 0-255 does this differ from the paper
    with pytest.raises(ImageFormatError, match="no ink"):
        digitize_gray(g)


def shadowed_page(light):
    """A 200 x 200 page of paper 220 under lighting light (200,) per column, with a cross 70 % darker than the paper."""
    paper = np.tile(220 * light, (200, 1))
    page = paper.copy()
    for rows, cols in ((slice(90, 110), slice(20, 180)), (slice(40, 160), slice(95, 105))):
        page[rows, cols] = 0.3 * paper[rows, cols]
    return page


def test_dark_ink_reads_the_same_in_a_shadow():
    got = digitize_gray(shadowed_page(np.linspace(1.0, 0.35, 200)))  # the right side in deep shadow
    assert got.inverted
    left, right = got.ink[93:107, 30:60].mean(), got.ink[93:107, 140:170].mean()
    assert right == pytest.approx(left, rel=0.02) and left > 250  # as dark relative to its paper: as strong


def test_a_picture_in_a_mode_without_gray_names_the_file():
    with pytest.raises(ImageFormatError, match="^scan.tif uses the LAB colour mode"):
        digitize_image(Image.new("LAB", (30, 30)), name="scan.tif")
