"""engine.restyle on hand-made masks: 4x upscaling, pen steps, shear, the ends of a stroke, and the added flag, base and bar."""
import numpy as np
import pytest

from engine import restyle
from engine.pen import estimate_width

SIDE = restyle.SIDE


def stem(x0=54, x1=58, y0=20, y1=92):
    """An upright stroke on the 112 px canvas: columns x0..x1-1, rows y0..y1-1."""
    m = np.zeros((SIDE, SIDE), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_upscale_enlarges_4x_and_keeps_the_half_ink_contour():
    d = np.zeros((28, 28), np.uint8)
    d[10:16, 12:16] = 255
    m = restyle.upscale(d)
    assert m.shape == (SIDE, SIDE) and m.dtype == bool
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    assert abs(rows[0] - 40) <= 2 and abs(rows[-1] - 63) <= 2 and abs(cols[0] - 48) <= 2 and abs(cols[-1] - 63) <= 2
    np.testing.assert_array_equal(restyle.upscale(d.ravel()), m)  # (784,) or (28, 28) alike
    assert not restyle.upscale(np.full(784, 100, np.uint8)).any()  # 100 / 255 of ink is under half
    assert restyle.upscale(np.full(784, 140, np.uint8)).all()
    assert not restyle.upscale(np.full(784, 127.5)).any()  # exactly half is not ink
    assert restyle.upscale(np.full(784, 128, np.uint8)).all()  # just over half is


def test_upscale_interpolates_linearly_between_pixel_centres():
    d = np.zeros((28, 28), np.uint8)
    d[10, 12] = 255
    pos = (np.arange(SIDE) + 0.5) / 4 - 0.5  # each output pixel's centre in input pixels
    tent = lambda p: np.clip(1 - np.abs(pos - p), 0, None)  # noqa: E731
    np.testing.assert_array_equal(restyle.upscale(d), np.outer(tent(10), tent(12)) > 0.5)  # 12 px: 4 x 4 less the corners


def test_repen_thickens_and_thins_by_quarter_pixel_steps():
    dot = np.zeros((15, 15), bool)
    dot[7, 7] = True
    assert restyle.repen(dot, 1).sum() == 5  # a cross first ...
    assert restyle.repen(dot, 2).sum() == 21  # ... then the 3x3 square: 5x5 without its corners, near a disc
    band = stem(20, 90, 40, 48)  # 8 rows by 70 columns
    for steps, height in ((0, 8), (2, 12), (3, 14), (-1, 6), (-2, 4)):
        got = restyle.repen(band, steps)
        rows, cols = np.flatnonzero(got.any(axis=1)), np.flatnonzero(got.any(axis=0))
        assert (len(rows), len(cols)) == (height, 70 + height - 8), steps


def test_thinning_may_take_exactly_half_the_ink():
    block = stem(30, 38, 40, 46)  # 6 x 8 = 48 px; one step leaves 4 x 6 = 24, exactly half
    np.testing.assert_array_equal(restyle.repen(block, -1), stem(31, 37, 41, 45))


def test_thinning_stops_before_half_the_ink_is_gone():
    four, five = stem(20, 60, 40, 44), stem(20, 60, 40, 45)  # 4 and 5 rows of 40 columns
    np.testing.assert_array_equal(restyle.repen(four, -3), four)  # one step would leave 2 x 38 = 76 of 160 px
    np.testing.assert_array_equal(restyle.repen(five, -3), stem(21, 59, 41, 44))  # 3 x 38 kept; 1 x 36 of 114 would not be


@pytest.mark.parametrize("shear", [0.3, -0.2, 0.0])
def test_slant_leans_the_top_right_for_a_positive_shear(shear):
    m = restyle.slant(stem(), shear)
    assert m.shape == (SIDE, SIDE) and m.dtype == bool
    for y in (30, 56, 80):
        assert abs(np.flatnonzero(m[y]).mean() - (55.5 + shear * (SIDE / 2 - y))) <= 0.5, y
    np.testing.assert_array_equal(m.any(axis=1), stem().any(axis=1))  # moved along the rows only


def test_a_half_covered_pixel_is_not_ink_so_a_shear_never_widens_a_stroke():
    m = restyle.slant(stem(), 1.0)  # a shear of 1 puts every row's edges on half pixels
    widths = m[20:92].sum(axis=1)
    assert widths.min() >= 3 and widths.max() <= 4


def test_ends_are_the_middles_of_the_first_and_last_rows_of_ink():
    m = np.zeros((SIDE, SIDE), bool)
    m[10, 20:25] = True
    m[30, 0:100] = True
    m[50, [30, 40]] = True
    assert restyle.ends(m) == ((22.0, 10.0), (35.0, 50.0), 41)


def test_add_strokes_draws_round_ended_strokes_over_the_mask():
    m = stem()
    got = restyle.add_strokes(m, [((20, 50), (80, 50))], 10)
    assert got.dtype == bool and np.all(got >= m)  # nothing taken away
    added = got & ~m
    rows, cols = np.flatnonzero(added.any(axis=1)), np.flatnonzero(added.any(axis=0))
    assert abs(rows[0] - 45) <= 1 and abs(rows[-1] - 55) <= 1 and abs(cols[0] - 15) <= 1 and abs(cols[-1] - 85) <= 1
    assert got[50, 16] and not got[54, 16]  # the cap is round
    assert abs(added[:, 40].sum() - 10) <= 1  # the pen is 10 px wide all along, not only at the caps
    thin = restyle.add_strokes(np.zeros((SIDE, SIDE), bool), [((20, 50), (80, 50))], 0.4)
    assert thin[:, 50].sum() == 1  # a pen under a pixel still draws one


def parts(before, after):
    """(flag ink, base ink) that flag_and_base added to an upright stem: up-left of the stem's top half, and along its foot."""
    added = after & ~before
    flag, base = added.copy(), added.copy()
    flag[60:], flag[:, 50:] = False, False
    base[:80] = False
    return flag, base


def test_a_one_gets_a_flag_or_a_base_or_both_in_the_stated_shares():
    m = stem()
    (xt, yt), (xb, yb), h = restyle.ends(m)
    r = estimate_width(m) / 2
    kinds, lengths, angles, halves = [], [], [], []
    for seed in range(300):
        flag, base = parts(m, restyle.flag_and_base(m, np.random.default_rng(seed)))
        kinds.append((flag.any(), base.any()))
        if flag.any():
            rows, cols = np.flatnonzero(flag.any(axis=1)), np.flatnonzero(flag.any(axis=0))
            dx, dy = xt - (cols[0] + r), rows[-1] - r - yt  # the flag's far end, less half a pen
            lengths.append(np.hypot(dx, dy) / h)
            angles.append(np.degrees(np.arctan2(dy, dx)))
        if base.any():
            cols = np.flatnonzero(base[int(yb)])
            assert abs((cols[0] + cols[-1]) / 2 - xb) <= 1  # centred on the foot
            halves.append(((cols[-1] - cols[0]) / 2 - r) / h)
    share = {k: kinds.count(k) / len(kinds) for k in set(kinds)}
    assert set(share) == {(True, False), (True, True), (False, True)}  # never neither
    assert abs(share[(True, False)] - 0.5) < 0.09 and abs(share[(True, True)] - 0.35) < 0.09
    assert abs(share[(False, True)] - 0.15) < 0.07
    assert 0.19 < min(lengths) < 0.25 and 0.37 < max(lengths) < 0.43
    assert 17 < min(angles) < 23 and 52 < max(angles) < 58
    assert 0.13 < min(halves) < 0.17 and 0.28 < max(halves) < 0.32


def seven():
    """A 7 on the 112 px canvas: a top bar and a stem slanting down to the left."""
    m = np.zeros((SIDE, SIDE), bool)
    m[20:25, 30:80] = True
    for y in range(25, 92):
        x = int(round(78 - 0.3 * (y - 25)))
        m[y, x - 2:x + 3] = True
    return m


def test_a_seven_gets_a_bar_across_the_middle_of_its_stem():
    m = seven()
    rows = np.flatnonzero(m.any(axis=1))
    ys, halves = [], []
    for seed in range(200):
        added = restyle.bar(m, np.random.default_rng(seed)) & ~m
        y = int(np.median(np.flatnonzero(added.any(axis=1))))
        cols = np.flatnonzero(added[y] | m[y])
        stem_x = np.flatnonzero(m[y]).mean()
        assert abs((cols[0] + cols[-1]) / 2 - stem_x) <= 2  # centred on the stem at its row (the stem moves 0.3 px a row)
        ys.append((y - rows.mean()) / SIDE)
        halves.append(((cols[-1] - cols[0]) / 2 - estimate_width(m) / 2) / SIDE)
    assert -0.075 < min(ys) < -0.035 and 0.08 < max(ys) < 0.115  # a little above to somewhat below the middle
    assert 0.09 < min(halves) < 0.12 and 0.165 < max(halves) < 0.195


def test_a_bar_over_a_gap_is_centred_on_the_canvas():
    m = np.zeros((SIDE, SIDE), bool)
    m[10:30, 20:26] = True
    m[82:102, 20:26] = True  # no ink on the middle rows
    added = restyle.bar(m, np.random.default_rng(0)) & ~m
    y = int(np.median(np.flatnonzero(added.any(axis=1))))
    cols = np.flatnonzero(added[y])
    assert abs((cols[0] + cols[-1]) / 2 - SIDE // 2) <= 1


def test_restyle_changes_pen_and_slant_and_adds_a_flag_or_bar_by_label():
    d = np.zeros((28, 28), np.uint8)
    d[4:24, 12:16] = 255
    steps, shears, barred = set(), [], 0
    for seed in range(120):
        for label in (0, 1, 7):
            ink, done = restyle.restyle(d.ravel(), label, rng=np.random.default_rng(seed))
            assert ink.shape == (SIDE, SIDE) and ink.dtype == np.float32 and set(np.unique(ink)) <= {0.0, 1.0}
            said = done.split(", ")
            assert said[-1].startswith("slant ") and ("flag/base" in said) == (label == 1) and ("bar" in said) <= (label == 7)
            barred += "bar" in said
            pens = [s for s in said if s.startswith("pen ")]
            shear = float(said[-1].removeprefix("slant "))
            shears.append(shear)
            if pens:
                steps.add(int(pens[0].removeprefix("pen ").removesuffix("/4 px")))
            if label == 0:  # replay: a pen of -3..+5 quarter-pixels, then a slant of up to ±0.45, from the same draws
                r = np.random.default_rng(seed)
                n, s = int(r.integers(-3, 6)), float(r.uniform(-0.45, 0.45))
                assert ([f"pen {n:+d}/4 px"] if n else []) + [f"slant {s:+.2f}"] == said
                np.testing.assert_array_equal(ink, restyle.slant(restyle.repen(restyle.upscale(d), n), s).astype(np.float32))
    assert steps == {-3, -2, -1, 1, 2, 3, 4, 5} and -0.45 <= min(shears) < -0.4 and 0.4 < max(shears) <= 0.45
    assert 0.35 < barred / 120 < 0.65  # half the 7s
