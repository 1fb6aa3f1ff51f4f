"""engine.imagefile: picture files and canvas arrays -> gray 0-255, by each mode's range; sizes checked before decoding."""
import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from engine import imagefile
from engine.errors import ImageFormatError


def png(img, **kw):
    """The PNG file bytes of a Pillow image."""
    buf = io.BytesIO()
    img.save(buf, "PNG", **kw)
    return buf.getvalue()


def box_mean(a, f):
    """Mean of each f x f block of a (h, w), the last partial blocks averaged over what they hold."""
    h, w = a.shape
    out = np.empty((-(-h // f), -(-w // f)))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = a[i * f:(i + 1) * f, j * f:(j + 1) * f].mean()
    return out


# ---- sizes ----

def test_forty_megapixels_pass_and_one_more_row_is_refused_in_one_sentence():
    imagefile.check_size((8000, 5000), name="big.png")  # exactly MAX_PIXELS
    with pytest.raises(ImageFormatError) as e:
        imagefile.check_size((8000, 5001), name="big.png")
    assert str(e.value) == ("big.png is 8,000 x 5,001 pixels (40 megapixels); pictures over 40 megapixels are refused: "
                            "resize it first.")


def test_the_refusal_rounds_megapixels_to_the_nearest():
    with pytest.raises(ImageFormatError, match=r"^photo.jpg is 8,300 x 5,000 pixels \(42 megapixels\)"):  # 41.5 million
        imagefile.check_size((8300, 5000), name="photo.jpg")


def test_unnamed_pictures_are_called_the_file_or_the_picture():
    with pytest.raises(ImageFormatError, match="^the file is empty"):
        imagefile.read_image(b"")
    with pytest.raises(ImageFormatError, match="^the picture uses the LAB colour mode"):
        imagefile.to_gray(Image.new("LAB", (2, 2)))


@pytest.mark.parametrize("size", [(0, 5), (5, 0), (0, 0)])
def test_a_picture_without_pixels_is_refused(size):
    with pytest.raises(ImageFormatError, match=rf"^x.png has no pixels \({size[0]} x {size[1]}\)"):
        imagefile.check_size(size, name="x.png")
    imagefile.check_size((1, 1), name="x.png")


@pytest.mark.parametrize("size", [(1120, 1120), (1, 1), (1120, 1)])
def test_a_canvas_up_to_its_limit_is_decoded_to_rgba(size):
    img = Image.new("P", size, 3)
    img.putpalette([0, 0, 0, 10, 20, 30, 40, 50, 60, 70, 80, 90])
    px = imagefile.canvas_pixels(png(img), most=1120)
    assert px.shape == (size[1], size[0], 4) and px.dtype == np.uint8
    assert px[0, 0].tolist() == [70, 80, 90, 255]


@pytest.mark.parametrize("size", [(1121, 5), (5, 1121)])
def test_a_canvas_one_pixel_too_wide_or_tall_is_refused(size):
    with pytest.raises(ImageFormatError) as e:
        imagefile.canvas_pixels(png(Image.new("RGBA", size)), most=1120)
    assert str(e.value) == (f"The canvas image is {size[0]:,} x {size[1]:,} pixels; a drawing is at most 1120 x 1120: "
                            "clear the canvas and draw again.")


NO_CANVAS = "The canvas sent no picture: draw the digit again."
DAMAGED_CANVAS = "The canvas sent a damaged picture: clear the canvas and draw again."


@pytest.mark.parametrize("data, message", [(b"", NO_CANVAS), (b"not a png", DAMAGED_CANVAS),
                                           (png(Image.new("RGBA", (50, 50)))[:60], DAMAGED_CANVAS)])
def test_a_canvas_that_is_no_png_gets_one_sentence(data, message):
    with pytest.raises(ImageFormatError) as e:
        imagefile.canvas_pixels(data, most=1120)
    assert str(e.value) == message


def test_a_canvas_sent_as_jpeg_is_refused_as_damaged():
    buf = io.BytesIO()
    Image.new("RGB", (50, 50)).save(buf, "JPEG")
    with pytest.raises(ImageFormatError, match=f"^{DAMAGED_CANVAS}$"):
        imagefile.canvas_pixels(buf.getvalue(), most=1120)


# ---- shrinking ----

def test_a_picture_800_px_long_is_left_alone_and_801_is_halved():
    img = Image.new("L", (800, 300))
    assert imagefile.shrink(img, 800) is img
    assert imagefile.shrink(Image.new("L", (300, 801)), 800).size == (150, 401)
    assert imagefile.shrink(Image.new("L", (2401, 10)), 800).size == (601, 3)  # factor 4: ceil(2401 / 800)


def test_shrinking_averages_blocks():
    a = np.random.default_rng(0).integers(0, 256, (30, 50)).astype(np.uint8)
    got = np.asarray(imagefile.shrink(Image.fromarray(a), 20), np.float64)  # factor 3
    assert np.abs(got - box_mean(a.astype(np.float64), 3)).max() <= 1  # 8-bit: rounded


def test_16_bit_values_survive_shrinking():
    a = (np.arange(40 * 60).reshape(40, 60) * 20).astype(np.uint16)  # 0 .. 47,980
    img = Image.fromarray(a)
    assert img.mode == "I;16"
    got = imagefile.shrink(img, 30)
    assert got.mode == "I"
    np.testing.assert_allclose(np.asarray(got, np.float64), box_mean(a.astype(np.float64), 2), atol=0.5)


def test_palette_and_bilevel_pictures_are_shrunk_in_gray_or_rgba():
    p = Image.new("P", (100, 60), 1)
    p.putpalette([0, 0, 0, 255, 255, 255])
    assert imagefile.shrink(p, 50).mode == "L"
    p.info["transparency"] = 0
    assert imagefile.shrink(p, 50).mode == "RGBA"
    assert imagefile.shrink(Image.new("1", (100, 60), 1), 50).mode == "L"
    assert imagefile.shrink(Image.new("PA", (100, 60)), 50).mode == "RGBA"


def test_which_pictures_have_alpha():
    for mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        assert imagefile.has_alpha(Image.new(mode, (2, 2))), mode
    for mode in ("RGB", "L", "P", "1", "I", "F", "CMYK"):
        assert not imagefile.has_alpha(Image.new(mode, (2, 2))), mode
    img = Image.new("L", (2, 2))
    img.info["transparency"] = 0
    assert imagefile.has_alpha(img)


# ---- gray levels ----

@pytest.mark.parametrize("mode, values, expect", [
    ("I;16", [0, 257, 65535], [0, 1, 255]),
    ("I;16B", [0, 25700, 200], [0, 100, 200 * 255 / 65535]),
    ("F", [0.0, 0.5, 1.0], [0, 127.5, 255]),  # float pictures are 0-1 ...
    ("F", [0.0, 0.5, 2.0], [0, 0.5, 2.0]),  # ... unless they go past 1 (then 0-255)
    ("F", [-0.5, 0.5, 1.0], [0, 170, 255]),  # below 0: stretched min to max
    ("I", [0, 100, 255], [0, 100, 255]),
    ("I", [0, 256, 65535], [0, 256 * 255 / 65535, 255]),  # a 16-bit PNG opened as "I"
    ("I", [0, 100, 65536], [0, 100 * 255 / 65536, 255]),  # past 16 bits: stretched
    ("I", [-10, 0, 10], [0, 127.5, 255]),
    ("F", [np.nan, np.inf, -np.inf, 0.25], [0, 0, 0, 63.75]),  # not a number counts as 0
    ("I", [70_000, 70_000], [0, 0]),  # one value, out of range: all black
    ("I", [0, 256], [0, 256 * 255 / 65535]),  # one past 8 bits: 16-bit
    ("I", [100, 256, 65535], [100 * 255 / 65535, 256 * 255 / 65535, 255]),  # 16-bit, not stretched from its darkest
    ("I", [100, 256, 65536], [0, 156 * 255 / 65436, 255]),  # past 16 bits: stretched
    ("F", [0.0, 256.0], [0, 255]),  # float past 255: stretched, not read as 16-bit
    ("F", [10.0, 300.0], [0, 255]),
])
def test_high_bit_values_are_scaled_by_their_types_range(mode, values, expect):
    got = imagefile.scale_high_bit(np.array([values], np.float64), mode=mode)
    assert got.dtype == np.float32 and got.shape == (1, len(values))
    np.testing.assert_allclose(got, [expect], rtol=1e-6, atol=1e-4)


def test_flatten_alpha_puts_white_strokes_on_black_and_dark_ones_on_white():
    alpha = np.array([255.0, 128, 0, 0])
    white = np.array([250.0, 250, 40, 40])  # the opaque pixels are light (mean over alpha about 250)
    a = alpha / 255
    np.testing.assert_allclose(imagefile.flatten_alpha(white, alpha), white * a, rtol=1e-6)
    dark = np.array([10.0, 10, 200, 200])
    np.testing.assert_allclose(imagefile.flatten_alpha(dark, alpha), dark * a + 255 * (1 - a), rtol=1e-6)


def test_flatten_alpha_weighs_the_opaque_pixels_by_their_alpha():
    luma = np.array([200.0, 100, 0])
    alpha = np.array([255.0, 51, 0])  # weighted mean (200 + 0.2 * 100) / 1.2 = 183: light ink
    np.testing.assert_allclose(imagefile.flatten_alpha(luma, alpha), luma * alpha / 255, rtol=1e-6)
    alpha = np.array([51.0, 255, 0])  # (0.2 * 200 + 100) / 1.2 = 117: dark ink
    np.testing.assert_allclose(imagefile.flatten_alpha(luma, alpha), luma * alpha / 255 + 255 * (1 - alpha / 255), rtol=1e-6)


def test_flatten_alpha_edge_cases():
    luma = np.array([127.5, 127.5, 3.0])
    alpha = np.array([255.0, 255.0, 0.0])
    np.testing.assert_allclose(imagefile.flatten_alpha(luma, alpha), [127.5, 127.5, 255])  # mean exactly mid: white paper
    got = imagefile.flatten_alpha(luma + 0.5, alpha)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, [128, 128, 0])  # just past mid: light ink, black paper
    opaque = np.array([[1.0, 2.0]])
    np.testing.assert_array_equal(imagefile.flatten_alpha(opaque, np.full((1, 2), 255.0)), opaque)  # nothing to composite
    np.testing.assert_array_equal(imagefile.flatten_alpha(np.array([9.0, 9.0]), np.zeros(2)), [255, 255])  # all transparent


def test_to_gray_of_each_kind_of_picture():
    rgb = Image.new("RGB", (2, 1), (255, 0, 0))
    np.testing.assert_allclose(imagefile.to_gray(rgb), [[76, 76]], atol=0.5)  # Pillow's 0.299 R
    rgba = Image.new("RGBA", (2, 1), (255, 255, 255, 0))
    rgba.putpixel((0, 0), (255, 255, 255, 255))
    np.testing.assert_array_equal(imagefile.to_gray(rgba), [[255, 0]])  # white ink over black
    f = Image.fromarray(np.array([[0.0, 1.0]], np.float32))
    np.testing.assert_array_equal(imagefile.to_gray(f), [[0, 255]])
    i16 = Image.fromarray(np.array([[200, 0]], np.int32))
    np.testing.assert_array_equal(imagefile.to_gray(i16), [[200, 0]])  # its own mode, "I": 0-255 values stay
    np.testing.assert_allclose(imagefile.to_gray(i16, mode="I;16"), [[200 * 255 / 65535, 0]], rtol=1e-6)  # the file's mode rules
    assert imagefile.to_gray(rgb).dtype == np.float32
    for mode in ("RGBA", "LA"):
        opaque = imagefile.to_gray(Image.new(mode, (2, 1), (90, 255) if mode == "LA" else (90, 90, 90, 255)))
        assert opaque.dtype == np.float32 and opaque.tolist() == [[90, 90]]
    with pytest.raises(ImageFormatError) as e:
        imagefile.to_gray(Image.new("LAB", (2, 2)), name="x.tif")
    assert str(e.value) == ("x.tif uses the LAB colour mode, which cannot be turned into gray: save it as an RGB or grayscale PNG "
                            "or JPEG.")


# ---- canvases ----

def test_canvas_of_every_shape_and_type_gives_the_same_gray():
    g = np.zeros((10, 12), np.uint8)
    g[2:8, 5:7] = 200
    expect = g.astype(np.float32)
    rgb = np.dstack([g, g, g])
    rgba = np.dstack([g, g, g, np.full_like(g, 255)])
    for canvas in (g, g[..., None], rgb, rgba, rgba.astype(np.float32) / 255, rgb.astype(np.float64)):
        got = imagefile.read_canvas(canvas)
        assert got.dtype == np.float32 and got.shape == (10, 12)
        np.testing.assert_allclose(got, expect, atol=1e-3)


def test_canvas_colour_is_luma_and_floats_over_1_are_taken_as_0_255():
    px = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    np.testing.assert_allclose(imagefile.read_canvas(px), [[0.299 * 255, 0.587 * 255, 0.114 * 255]], rtol=1e-6)
    np.testing.assert_allclose(imagefile.read_canvas(px.astype(np.float32) / 255), [[0.299 * 255, 0.587 * 255, 0.114 * 255]],
                               rtol=1e-5)
    np.testing.assert_array_equal(imagefile.read_canvas(np.array([[0.0, 1.5, 3.0]])), [[0, 1.5, 3]])
    np.testing.assert_array_equal(imagefile.read_canvas(np.array([[0.0, 1.5]])), [[0, 1.5]])  # past 1: already 0-255
    np.testing.assert_array_equal(imagefile.read_canvas(np.array([[0, 1]], np.uint8)), [[0, 1]])  # integers are never scaled
    np.testing.assert_array_equal(imagefile.read_canvas(np.array([[np.nan, 1.0]])), [[0, 255]])


def test_a_canvas_with_partial_alpha_is_composited():
    rgba = np.zeros((1, 3, 4), np.uint8)
    rgba[0, :, :3] = 255
    rgba[0, :, 3] = [255, 51, 0]  # white ink fading out over a transparent canvas
    np.testing.assert_allclose(imagefile.read_canvas(rgba), [[255, 51, 0]], atol=1e-3)


@pytest.mark.parametrize("shape", [(5,), (5, 5, 2), (5, 5, 5), (2, 5, 5, 4), (0, 5, 4), (5, 0)])
def test_a_canvas_of_a_wrong_shape_is_refused(shape):
    with pytest.raises(ImageFormatError, match=r"^The canvas image has shape \("):
        imagefile.read_canvas(np.zeros(shape, np.uint8))


def test_an_oversized_canvas_is_refused_without_copying_it():
    huge = np.broadcast_to(np.zeros((1, 1), np.uint8), (2, 20_000_001))  # 40,000,002 pixels, one byte in memory
    with pytest.raises(ImageFormatError, match="^The canvas image is 20,000,001 x 2 pixels"):
        imagefile.read_canvas(huge)


def test_a_canvas_with_the_faintest_alpha_is_not_empty():
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = [255, 255, 255, 1]
    np.testing.assert_allclose(imagefile.read_canvas(rgba), [[1, 0], [0, 0]], atol=1e-3)


def test_a_transparent_canvas_is_empty():
    with pytest.raises(ImageFormatError, match="^The canvas is empty: draw a digit first.$"):
        imagefile.read_canvas(np.full((5, 5, 4), [255, 255, 255, 0], np.uint8))


def test_a_large_canvas_is_shrunk_by_block_means():
    g = np.random.default_rng(1).uniform(0, 255, (1700, 90)).astype(np.float32)
    got = imagefile.read_canvas(g)
    assert got.shape == (567, 30)  # factor ceil(1700 / 800) = 3
    np.testing.assert_allclose(got, box_mean(g.astype(np.float64), 3), rtol=1e-4)
    assert imagefile.read_canvas(g[:800]).shape == (800, 90)
    assert imagefile.read_canvas(g[:100], max_side=50).shape == (50, 45)


# ---- files ----

def test_a_big_picture_file_is_shrunk_to_work_size():
    a = np.zeros((1700, 1000), np.uint8)
    a[:, 500:] = 255
    got = imagefile.read_image(png(Image.fromarray(a)))
    assert got.shape == (567, 334) and got.dtype == np.float32
    buf = io.BytesIO()
    Image.fromarray(np.zeros((2400, 3300), np.uint8)).save(buf, "JPEG")
    # a JPEG is decoded at the smallest of 1/2, 1/4, 1/8 that keeps both sides over 800 px (1/2: 1650 x 1200), then
    # shrunk by 3; decoding it whole would shrink it by 5 to 660 x 480
    assert imagefile.read_image(buf.getvalue()).shape == (400, 550)
    small = imagefile.read_image(buf.getvalue(), max_side=100).shape
    assert max(small) <= 100 and small[1] / small[0] == pytest.approx(3300 / 2400, rel=0.03)


def test_a_dim_16_bit_picture_stays_dim_after_shrinking():
    a = np.full((1000, 1000), 200, np.uint16)  # 200 of 65,535: nearly black
    got = imagefile.read_image(png(Image.fromarray(a)))
    np.testing.assert_allclose(got, 200 * 255 / 65535, rtol=1e-5)


def test_a_broken_orientation_tag_is_ignored(monkeypatch):
    def broken(img):
        raise ValueError("bad EXIF")
    monkeypatch.setattr(ImageOps, "exif_transpose", broken)
    img = Image.new("L", (3, 2))
    assert imagefile.upright_by_exif(img) is img
    np.testing.assert_array_equal(imagefile.read_image(png(Image.new("L", (3, 2), 7))), np.full((2, 3), 7))


def test_a_file_pillow_cannot_decode_is_named_damaged(monkeypatch):
    def bad(self, *a, **k):
        raise TypeError("no decoder")
    data = png(Image.new("L", (3, 2)))
    monkeypatch.setattr(Image.Image, "load", bad)
    with pytest.raises(ImageFormatError, match=r"^a.png is damaged or truncated \(no decoder\)"):
        imagefile.read_image(data, name="a.png")


def test_a_file_in_another_format_is_not_a_picture():
    buf = io.BytesIO()
    Image.new("L", (8, 8)).save(buf, "PPM")  # Pillow reads PPM, the app does not offer it
    with pytest.raises(ImageFormatError, match="^x.ppm is not a picture"):
        imagefile.read_image(buf.getvalue(), name="x.ppm")


def test_a_photo_with_damaged_exif_still_reads_and_turns():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 to display
    exif[0x010E] = "a long image description " * 4
    buf = io.BytesIO()
    Image.new("L", (30, 20), 200).save(buf, "JPEG", exif=exif.tobytes()[:-40])  # the description's data cut off
    with pytest.warns(UserWarning, match="Tag data larger than file"):  # Pillow warns; only a bomb warning is an error
        got = imagefile.read_image(buf.getvalue())
    assert got.shape == (30, 20)


def test_a_lab_tiff_is_refused_by_its_file_name():
    buf = io.BytesIO()
    Image.new("LAB", (4, 4)).save(buf, "TIFF")
    with pytest.raises(ImageFormatError, match="^lab.tif uses the LAB colour mode, which cannot be turned into gray"):
        imagefile.read_image(buf.getvalue(), name="lab.tif")
