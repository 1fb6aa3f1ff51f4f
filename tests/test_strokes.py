"""The pen-width step (engine.pen, step 5 of engine.picture): thin, normal and thick strokes of one digit come out alike."""
import numpy as np
import pytest
from PIL import Image, ImageDraw

from engine import pen
from engine.picture import crop_to_ink, digitize_canvas
from tests.conftest import ROOT
from tests.test_picture import similarity

FOUR = [[(150, 40), (70, 170), (215, 170)], [(170, 95), (170, 250)]]  # a 4 drawn with the mouse: two strokes, 280 px canvas
SEVEN = [[(70, 50), (210, 50), (120, 245)]]


def canvas(strokes, width):
    """A 280 x 280 RGBA canvas with white strokes `width` px wide on black, as the drawing canvas sends it."""
    img = Image.new("L", (280, 280), 0)
    pen_ = ImageDraw.Draw(img)
    for line in strokes:
        pen_.line(line, fill=255, width=width, joint="curve")
        for x, y in (line[0], line[-1]):
            pen_.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=255)
    a = np.asarray(img)
    return np.dstack([a, a, a, np.full_like(a, 255)])


def reference_erode(mask, step):
    """Erosion by the textbook formula on a padded copy: a cross on even steps, the 3x3 square on odd ones."""
    p = np.pad(mask, 1)
    h, w = mask.shape
    out = mask & p[:h, 1:w + 1] & p[2:, 1:w + 1] & p[1:h + 1, :w] & p[1:h + 1, 2:]
    if step % 2:
        out &= p[:h, :w] & p[:h, 2:] & p[2:, :w] & p[2:, 2:]
    return out


def test_erode_and_dilate_match_the_textbook_formulas():
    rng = np.random.default_rng(0)
    for _ in range(20):
        m = rng.random((13, 17)) < 0.7
        for step in (0, 1):
            np.testing.assert_array_equal(pen.erode(m, step), reference_erode(m, step))
            np.testing.assert_array_equal(pen.dilate(m, step), ~reference_erode(~np.pad(m, 1), step)[1:-1, 1:-1])


@pytest.mark.parametrize("width", [10, 20, 40])
def test_the_width_estimate_follows_the_pen(width):
    ink = canvas(SEVEN, width)[..., 0] / 255
    crop = crop_to_ink(ink)
    expected = width * pen.WORK / max(crop.shape)  # the pen's width on the 80 px work scale
    assert pen.width_of(crop) == pytest.approx(expected, rel=0.2)


@pytest.mark.parametrize("strokes", [FOUR, SEVEN], ids=["four", "seven"])
def test_thin_normal_and_thick_strokes_give_the_same_digit_and_a_similar_width(strokes):
    got = {w: digitize_canvas(canvas(strokes, w)) for w in (3, 22, 60)}  # a hairline, about MNIST's pen, a marker
    before = {w: d.pen_width[0] for w, d in got.items()}
    after = {w: pen.width_of(d.digit / 255) for w, d in got.items()}  # measured on the 28 x 28 the network reads
    assert before[60] > 4 * before[3]  # the drawings really differ ...
    assert max(after.values()) < 1.35 * min(after.values())  # ... the digits do not
    assert all(pen.MNIST_P10 - 1 <= a <= pen.MNIST_P90 + 1 for a in after.values()), after
    for w in (3, 60):
        assert similarity(got[w].digit, got[22].digit) > 0.75, w


def test_the_step_is_in_the_strip_and_leaves_a_pen_like_mnists_alone():
    d = digitize_canvas(canvas(SEVEN, 22))
    titles = [title for title, _ in d.steps()]
    assert titles[4] == "5. pen width evened" and len(titles) == 7
    assert pen.MNIST_P10 <= d.pen_width[0] <= pen.MNIST_P90
    np.testing.assert_array_equal(d.pen, d.crop)  # within MNIST's range: not touched at all
    thin = digitize_canvas(canvas(SEVEN, 3))
    assert thin.pen_width[0] < pen.MNIST_P10 and abs(thin.pen_width[1] - pen.MNIST_MEDIAN) < 2.5
    assert thin.pen.dtype == np.uint8 and not np.array_equal(thin.pen.shape, thin.crop.shape)


def test_the_predicted_digit_does_not_depend_on_the_pen():
    from engine.modelfile import load_model
    path = ROOT / "models" / "default.npz"
    if not path.exists():
        pytest.skip("models/default.npz is not there")
    model = load_model(path)
    for strokes, digit in ((FOUR, 4), (SEVEN, 7)):
        said = {w: int(model.predict(digitize_canvas(canvas(strokes, w)).pixels)[0]) for w in (3, 22, 60)}
        assert set(said.values()) == {digit}, said


@pytest.mark.mnist
def test_the_mnist_pen_constants_are_measured_on_mnist(mnist_dir):
    from engine.data import load_mnist
    (x, _), _ = load_mnist(normalize=False, data_dir=mnist_dir, download=False)
    widths = [pen.width_of(crop_to_ink(x[i].reshape(28, 28) / 255.0)) for i in range(0, 60000, 20)]
    p10, median, p90 = np.percentile(widths, [10, 50, 90])
    assert (p10, median, p90) == pytest.approx((pen.MNIST_P10, pen.MNIST_MEDIAN, pen.MNIST_P90), abs=0.3)
