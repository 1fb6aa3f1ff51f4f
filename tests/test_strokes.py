"""The pen-width step (engine.pen, step 5 of engine.picture): thin, normal and thick strokes of one digit come out alike;
and the pen-drawn forms of engine.strokes."""
import numpy as np
import pytest
from PIL import Image, ImageDraw

from engine import pen
from engine import strokes as drawn
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


# engine.strokes: the pen-drawn forms of the off-MNIST set

def test_ellipse_points_follow_the_parametric_formula():
    for (cx, cy, rx, ry), kw in (((0.5, 0.2, 0.2, 0.25), {}), ((0.3, 0.6, 0.1, 0.4), {"start": 0.25, "turn": 0.5, "n": 9})):
        pts = drawn.ellipse(cx, cy, rx, ry, **kw)
        n, start, turn = kw.get("n", 28), kw.get("start", 0.0), kw.get("turn", 1.0)
        want = [(cx + rx * np.cos(2 * np.pi * (start + turn * i / (n - 1))), cy + ry * np.sin(2 * np.pi * (start + turn * i / (n - 1))))
                for i in range(n)]
        np.testing.assert_allclose(pts, want, atol=1e-12)
    full = drawn.ellipse(0.5, 0.5, 0.2, 0.1)
    np.testing.assert_allclose(full[0], full[-1], atol=1e-12)  # a whole turn closes the loop, starting on the right
    np.testing.assert_allclose(full[0], (0.7, 0.5), atol=1e-12)


def forms(make, n=300):
    """n forms from make(rng), seeds 0..n-1."""
    return [make(np.random.default_rng(seed)) for seed in range(n)]


def spans(values, lo, hi, *, slack=0.03):
    """True when values lie in [lo, hi] and come within slack of both ends."""
    values = np.asarray(values)
    return values.min() >= lo - 1e-12 and values.max() <= hi + 1e-12 and values.min() < lo + slack and values.max() > hi - slack


def test_an_open_four_has_a_left_stroke_a_bar_from_its_foot_and_a_separate_upright():
    got = forms(drawn.open_four)
    assert all(len(f) == 3 and all(p.shape == (2, 2) for p in f) for f in got)
    left, bar, upright = (np.array([f[i] for f in got]) for i in range(3))  # (n, 2 points, (x, y))
    np.testing.assert_array_equal(left[:, 1], bar[:, 0])  # the bar starts at the left stroke's foot
    assert spans(left[:, 0, 0], 0.15, 0.4) and spans(left[:, 0, 1], 0.0, 0.1) and spans(left[:, 1, 0], 0.0, 0.15)
    assert spans(bar[:, 0, 1], 0.55, 0.68) and spans(bar[:, 1, 0], 0.85, 1.0)
    assert spans(bar[:, 0, 1] - bar[:, 1, 1], 0.0, 0.05)  # the bar rises a little to the right
    assert spans(upright[:, 1, 0], 0.6, 0.8) and spans(upright[:, 0, 0] - upright[:, 1, 0], -0.05, 0.05)
    assert spans(upright[:, 0, 1], 0.0, 0.12) and np.all(upright[:, 1, 1] == 1.0)  # the upright reaches the bottom
    assert np.all(upright[:, 0, 0] - left[:, 0, 0] >= 0.15)  # the top stays open


def test_a_flagged_one_has_a_flag_at_its_top_and_a_base_half_the_time():
    got = forms(drawn.flagged_one, 400)
    assert {len(f) for f in got} == {2, 3} and all(p.shape == (2, 2) for f in got for p in f)
    stem, flag = np.array([f[0] for f in got]), np.array([f[1] for f in got])
    assert np.all(stem[:, 0] == (0.5, 0.0)) and np.all(flag[:, 1] == (0.5, 0.0))  # the flag ends at the stem's top
    assert spans(stem[:, 1, 0], 0.45, 0.55) and np.all(stem[:, 1, 1] == 1.0)
    assert spans(0.5 - flag[:, 0, 0], 0.15, 0.3) and spans(flag[:, 0, 1], 0.12, 0.3)
    based = [f for f in got if len(f) == 3]
    assert 0.42 < len(based) / len(got) < 0.58
    base = np.array([f[2] for f in based])
    feet = np.array([f[0][1] for f in based])
    np.testing.assert_allclose(base.mean(axis=1), feet, atol=1e-12)  # the base is centred on the foot ...
    assert np.all(base[:, :, 1] == 1.0) and spans((base[:, 1, 0] - base[:, 0, 0]) / 2, 0.15, 0.3)  # ... on the bottom line


def test_a_barred_seven_has_its_bar_across_the_stem():
    got = forms(drawn.barred_seven)
    assert all(len(f) == 2 and f[0].shape == (3, 2) and f[1].shape == (2, 2) for f in got)
    arm, bar = np.array([f[0] for f in got]), np.array([f[1] for f in got])
    top, corner, foot = arm[:, 0], arm[:, 1], arm[:, 2]
    assert spans(top[:, 0], 0.0, 0.1) and np.all(top[:, 1] == 0.0) and np.all(corner[:, 0] == 1.0) and spans(corner[:, 1], 0.0, 0.05)
    assert spans(foot[:, 0], 0.3, 0.5) and np.all(foot[:, 1] == 1.0)
    y = bar[:, 0, 1]
    assert np.all(bar[:, 1, 1] == y) and spans(y, 0.45, 0.6)
    np.testing.assert_allclose(bar[:, 1, 0] - bar[:, 0, 0], 0.5, atol=1e-12)
    mid = bar.mean(axis=1)[:, 0]  # the bar's middle lies on the stem, the line from the corner to the foot
    np.testing.assert_allclose((mid - corner[:, 0]) * (foot[:, 1] - corner[:, 1]), (foot[:, 0] - corner[:, 0]) * (y - corner[:, 1]),
                               atol=1e-12)


def test_a_small_loop_nine_has_a_small_loop_on_a_stem_from_its_right_edge():
    got = forms(drawn.small_loop_nine)
    assert all(len(f) == 2 and f[0].shape == (28, 2) and f[1].shape == (2, 2) for f in got)
    loops, stems = np.array([f[0] for f in got]), np.array([f[1] for f in got])
    r = loops[:, 0, 0] - 0.5  # the loop starts on its right edge, at its centre's height
    np.testing.assert_allclose(loops[:, 0, 1], r, atol=1e-12)  # centred at (0.5, r): its top touches the top line
    ry = (loops[:, 7, 1] - r) / np.sin(2 * np.pi * 7 / 27)
    for loop, rx_, ry_ in zip(loops, r, ry, strict=True):
        np.testing.assert_allclose(loop, drawn.ellipse(0.5, rx_, rx_, ry_), atol=1e-12)
    assert spans(r, 0.16, 0.24) and spans(ry / r, 0.9, 1.2, slack=0.01)
    np.testing.assert_allclose(stems[:, 0], loops[:, 0], atol=1e-12)  # the stem leaves the loop's right edge ...
    assert np.all(stems[:, 1, 1] == 1.0) and spans(stems[:, 0, 0] - stems[:, 1, 0], 0.0, 0.25)  # ... for the bottom


def ink_box(img, level=0.5):
    """(top, bottom, left, right) rows and columns of ink above level."""
    rows, cols = np.flatnonzero((img > level).any(axis=1)), np.flatnonzero((img > level).any(axis=0))
    return rows[0], rows[-1], cols[0], cols[-1]


def test_draw_places_the_digit_in_a_box_of_the_given_height_and_aspect():
    side = drawn.SIDE
    for height, aspect in ((0.7, 0.6), (0.5, 1.0), (0.8, 0.45)):
        h, w = height * side, aspect * height * side
        frame = [np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]])]  # the unit square's outline
        img = drawn.draw(frame, width=2, height=height, aspect=aspect)
        assert img.shape == (side, side) and img.dtype == np.float32 and img.max() == 1.0 and img.min() == 0.0
        top, bottom, left, right = ink_box(img)
        assert abs(top - (side - h) / 2) <= 2 and abs(bottom - (side + h) / 2) <= 2, (height, aspect)  # and half the 2 px pen
        assert abs(left - (side - w) / 2) <= 2 and abs(right - (side + w) / 2) <= 2, (height, aspect)


def test_draw_uses_a_round_pen_of_the_given_width():
    side = drawn.SIDE
    h = 0.7 * side
    y = (side - h) / 2 + 0.5 * h  # the stroke's row
    x0, x1 = (side - 0.6 * h) / 2, (side + 0.6 * h) / 2
    for width in (3, 8, 13.6, 24):
        img = drawn.draw([np.array([[0.0, 0.5], [1.0, 0.5]])], width=width)
        across = img[:, side // 2] > 0.5
        assert abs(across.sum() - round(width)) <= 1 and abs(np.flatnonzero(across).mean() - y) <= 1
        top, bottom, left, right = ink_box(img)
        assert abs(left - (x0 - width / 2)) <= 1.5 and abs(right - (x1 + width / 2)) <= 1.5  # caps reach half a pen beyond
        r = width / 2
        if width > 10:  # the cap is round: ink half a pen before the start, none at its corner
            assert img[int(round(y)), int(round(x0 - r + 1))] > 0.5 and img[int(round(y + 0.8 * r)), int(round(x0 - 0.8 * r))] < 0.5
    hair = drawn.draw([np.array([[0.0, 0.5], [1.0, 0.5]])], width=0.3)
    assert (hair[:, side // 2] > 0).sum() == 1  # a pen under 1 px still draws one px


def test_a_thick_pen_is_round_at_every_corner_and_both_ends():
    side, h = drawn.SIDE, 0.7 * drawn.SIDE
    w = 0.6 * h
    path = np.array([[0.0, 0.0], [0.5, 1.0], [1.0, 0.2], [0.9, 0.9]])  # sharp corners, then an end far from the start
    img = drawn.draw([path], width=20)
    yy, xx = np.mgrid[0:side, 0:side]
    for px, py in path:
        x, y = (side - w) / 2 + px * w, (side - h) / 2 + py * h
        near = np.hypot(xx - x, yy - y) <= 0.85 * 10  # within most of the pen's radius of the point
        assert np.all(img[near] > 0.5), (px, py)


def test_draw_slants_the_top_to_the_right():
    side = drawn.SIDE
    h = 0.7 * side
    stem = [np.array([[0.5, 0.0], [0.5, 1.0]])]
    for slant in (0.0, 0.4, -0.3):
        img = drawn.draw(stem, width=4, slant=slant)
        top, bottom, _, _ = ink_box(img)
        x_top = np.flatnonzero(img[top + 3] > 0.5).mean()
        x_bottom = np.flatnonzero(img[bottom - 3] > 0.5).mean()
        assert abs((x_top - x_bottom) - slant * (bottom - top - 6) * 0.7 * side / h) <= 1.5, slant
        assert abs((x_top + x_bottom) / 2 - side / 2) <= 1, slant  # sheared about the digit's middle row


def test_draw_jitters_only_with_an_rng():
    paths = drawn.open_four(np.random.default_rng(0))
    plain = drawn.draw(paths, width=6)
    np.testing.assert_array_equal(drawn.draw(paths, width=6, jitter=0.05), plain)  # no rng: no jitter
    np.testing.assert_array_equal(drawn.draw(paths, width=6, rng=np.random.default_rng(1)), plain)  # no jitter asked
    a = drawn.draw(paths, width=6, jitter=0.05, rng=np.random.default_rng(1))
    b = drawn.draw(paths, width=6, jitter=0.05, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert np.mean((a > 0.5) != (plain > 0.5)) > 0.01
    # each point moves by a normal draw of sd `jitter` in unit coordinates: replay it by hand on the first stroke
    rng = np.random.default_rng(1)
    moved = [p + rng.normal(0, 0.05, p.shape) for p in paths]
    np.testing.assert_array_equal(drawn.draw(moved, width=6), a)


def test_drawn_digits_cycle_through_the_forms_with_varied_pens(monkeypatch):
    calls = []

    def record(paths, **kw):
        calls.append((paths, kw))
        return np.zeros((drawn.SIDE, drawn.SIDE), np.float32) + len(calls)

    monkeypatch.setattr(drawn, "draw", record)
    rng = np.random.default_rng(5)
    inks, labels, names = drawn.drawn_digits(402, rng=rng)
    assert names[:5] == ["open 4", "1 with flag", "barred 7", "small-loop 9", "open 4"] and len(names) == 402
    assert labels.dtype == np.int64 and labels.tolist() == [drawn.FORMS[n][0] for n in names] and labels[:4].tolist() == [4, 1, 7, 9]
    assert [ink[0, 0] for ink in inks] == list(range(1, 403))
    kw = {k: [c[1][k] for c in calls] for k in calls[0][1]}
    assert spans(kw["width"], 4, 14, slack=0.1) and spans(kw["slant"], -0.4, 0.4) and set(kw["jitter"]) == {0.02}
    assert spans(kw["height"], 0.55, 0.8) and spans(kw["aspect"], 0.45, 0.75) and all(r is rng for r in kw["rng"])
    assert [len(c[0]) for c in calls[0:400:4]] == [3] * 100 and {len(c[0]) for c in calls[1:400:4]} == {2, 3}


def test_drawn_digits_are_the_same_for_a_seed():
    a, ta, fa = drawn.drawn_digits(6, rng=np.random.default_rng(2))
    b, tb, fb = drawn.drawn_digits(6, rng=np.random.default_rng(2))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True)) and ta.tolist() == tb.tolist() and fa == fb
    assert all(x.shape == (drawn.SIDE, drawn.SIDE) and x.max() == 1.0 for x in a)
