"""engine.ink: polarity, background, ink strength, Otsu, noise, connected components and which pieces are the digit."""
from collections import deque

import numpy as np
import pytest

from engine import ink


def neighbourhood_loop(a, reduce):
    """3x3 reduction of a with edges repeated, one pixel at a time: the plain definition filter3 must match."""
    h, w = a.shape
    out = np.empty_like(a)
    for y in range(h):
        for x in range(w):
            vals = [a[min(max(y + dy, 0), h - 1), min(max(x + dx, 0), w - 1)] for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
            out[y, x] = reduce(vals)
    return out


def components_bfs(mask):
    """8-connected components by breadth-first flood fill -> list of sets of (y, x)."""
    h, w = mask.shape
    seen = np.zeros_like(mask, bool)
    comps = []
    for y0, x0 in zip(*np.nonzero(mask), strict=True):
        if seen[y0, x0]:
            continue
        comp, queue = set(), deque([(y0, x0)])
        seen[y0, x0] = True
        while queue:
            y, x = queue.popleft()
            comp.add((int(y), int(x)))
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    v, u = y + dy, x + dx
                    if 0 <= v < h and 0 <= u < w and mask[v, u] and not seen[v, u]:
                        seen[v, u] = True
                        queue.append((v, u))
        comps.append(comp)
    return comps


def otsu_loop(v):
    """Between-class variance of every cut t (class 0: levels <= t), by counting, for levels clipped and floored to 0-255."""
    levels = np.floor(np.clip(np.asarray(v, np.float64).ravel(), 0, 255))
    scores = []
    for t in range(256):
        lo, hi = levels[levels <= t], levels[levels > t]
        if len(lo) == 0 or len(hi) == 0:
            scores.append(0.0)
            continue
        w0, w1 = len(lo) / len(levels), len(hi) / len(levels)
        scores.append(w0 * w1 * (lo.mean() - hi.mean()) ** 2)
    return np.array(scores)


# ---- polarity ----

def test_dark_ink_on_light_paper_is_inverted_and_light_ink_on_dark_is_not():
    paper = np.full((20, 20), 200.0)
    paper[5:15, 9:11] = 20  # a dark stroke
    up, inverted = ink.make_upright(paper)
    assert inverted and up.dtype == np.float32
    np.testing.assert_array_equal(up, 255 - paper)
    up, inverted = ink.make_upright(255 - paper)
    assert not inverted
    np.testing.assert_array_equal(up, 255 - paper)


def test_a_median_exactly_mid_range_is_not_inverted():
    gray = np.array([0.0] * 10 + [100.0] * 80 + [200.0] * 10)  # 1st, 50th, 99th percentiles 0, 100, 200
    assert np.percentile(gray, [1, 50, 99]).tolist() == [0, 100, 200]
    assert ink.make_upright(gray)[1] is False
    assert ink.make_upright(gray + np.r_[np.zeros(90), np.ones(10)])[1] is False  # the top percentile moved up: still dark paper
    assert ink.make_upright(gray - np.r_[np.ones(10), np.zeros(90)])[1] is True  # the bottom one moved down: light paper


# ---- background ----

@pytest.mark.parametrize("op, reduce", [(np.minimum, min), (np.maximum, max), (np.add, sum)])
def test_filter3_is_the_3x3_neighbourhood_with_edges_repeated(op, reduce):
    a = np.random.default_rng(1).integers(0, 100, (5, 7)).astype(np.float64)
    np.testing.assert_array_equal(ink.filter3(a, op), neighbourhood_loop(a, reduce))


def test_a_small_picture_has_one_flat_background_its_median():
    g = np.random.default_rng(0).uniform(0, 255, (28, 63)).astype(np.float32)
    bg = ink.estimate_background(g)
    assert bg.shape == g.shape and bg.dtype == np.float32
    np.testing.assert_array_equal(bg, np.float32(np.median(g)))


def test_from_64_px_the_background_follows_the_lighting():
    x = np.arange(100, dtype=np.float32)
    g = np.tile(40 + x, (64, 1))  # light brightening from left to right
    bg = ink.estimate_background(g)
    assert bg.shape == (64, 100)
    assert bg[:, 90:].mean() - bg[:, :10].mean() > 60  # not one flat level
    assert np.abs(bg - g)[:, 10:90].max() < 8  # away from the edges it is the ramp, within a block's width


@pytest.mark.parametrize("shape", [(128, 200), (130, 203), (97, 64)])
def test_the_opening_removes_a_bright_band_wider_than_a_stroke(shape):
    h, w = shape
    g = np.full(shape, 90, np.float32)
    b = max(2, min(h, w) // 16)
    g[:, w // 2 - 2 * b: w // 2 + 2 * b] = 250  # a band four blocks wide: brighter than paper in every block it covers
    bg = ink.estimate_background(g)
    assert bg.shape == shape
    np.testing.assert_allclose(bg, 90, atol=1e-3)


def test_the_background_of_a_shadow_edge_stays_between_the_two_paper_levels():
    g = np.tile(np.r_[np.full(40, 60.0), np.full(88, 180.0)], (128, 1)).astype(np.float32)  # a sharp shadow's edge
    bg = ink.estimate_background(g)
    assert bg.min() >= 60 - 1e-3 and bg.max() <= 180 + 1e-3  # interpolated linearly: no ringing past either level
    assert bg[:, :20].mean() < 70 and bg[:, 100:].mean() > 170


def test_the_background_is_the_dark_side_of_each_block_not_its_mean():
    g = np.full((128, 128), 60, np.float32)
    g[::4, ::4] = 255  # bright single pixels on every 4th row and column: 1/16 of each block
    np.testing.assert_allclose(ink.estimate_background(g), 60, atol=1e-3)


# ---- ink strength, Otsu, noise ----

def test_light_ink_strength_is_the_rise_above_the_background_clipped():
    g = np.array([[100.0, 50.0, 400.0]])
    bg = np.array([[55.0, 55.0, 100.0]])
    s = ink.ink_strength(g, bg, inverted=False)
    assert s.dtype == np.float32
    np.testing.assert_array_equal(s, [[45, 0, 255]])


def test_dark_ink_strength_is_relative_to_the_papers_own_brightness():
    g = np.array([[100.0, 50.0, 252.0, 240.0]])  # upright values (inverted picture)
    bg = np.array([[55.0, 55.0, 250.0, 239.0]])  # paper of gray 200, 200, 5 and 16 in the original
    s = ink.ink_strength(g, bg, inverted=True)
    expect = [45 * 255 / 200, 0, 2 * 255 / 16, 1 * 255 / 16]  # paper darker than 16 counts as 16
    np.testing.assert_allclose(s, [expect], rtol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_otsu_is_the_cut_of_largest_between_class_variance(seed):
    rng = np.random.default_rng(seed)
    v = np.r_[rng.normal(40, 15, 700), rng.normal(170, 30, 300), [-20.0, 300.0, 3.7]]  # some outside 0-255
    scores = otsu_loop(v)
    t = ink.otsu_threshold(v)
    assert t % 1 == 0.5
    assert scores[int(t)] >= scores.max() * (1 - 1e-12)


def test_otsu_splits_two_levels_and_counts_values_outside_the_range_at_its_ends():
    assert ink.otsu_threshold(np.array([10.0] * 5 + [200.0] * 5)) == 10.5  # every cut 10..199 ties: the first
    # -50 counts as 0 and 900 as 255: the lone outliers make the lowest and highest cuts best in turn
    assert ink.otsu_threshold(np.array([-50.0, 100, 100, 100, 100])) == 0.5
    assert ink.otsu_threshold(np.array([100.0, 100, 100, 100, 900])) == 100.5


def test_noise_sigma_is_the_scaled_median_absolute_deviation_of_the_residual():
    g = np.array([11.0, 12, 13, 14, 110])
    assert ink.noise_sigma(g, np.full(5, 10.0)) == pytest.approx(1.4826)  # residual 1..4, 100: median 3, MAD 1
    g2 = np.array([1.0, 5, 9, 13, 17, 21])
    bg2 = np.array([0.0, 2, 4, 6, 8, 10])  # residual 1, 3, 5, 7, 9, 11: median 6, |dev| 5 3 1 1 3 5, MAD 3
    assert ink.noise_sigma(g2, bg2) == pytest.approx(1.4826 * 3)


# ---- separating the ink ----

def stroke(level, *, side=28, bg=0.0):
    """A side x side picture of paper bg with one vertical bar level above it, rows 6-21, columns 12-14."""
    g = np.full((side, side), bg, np.float32)
    g[6:22, 12:15] = bg + level
    return g


def test_a_clean_stroke_is_separated_with_its_exact_pixels():
    g = stroke(200)
    soft, kept = ink.separate(g, inverted=False)
    assert soft.dtype == np.float32 and kept.dtype == bool
    np.testing.assert_array_equal(kept, g > 0)
    np.testing.assert_array_equal(soft, (g > 0).astype(np.float32))


def test_a_stroke_of_40_levels_is_ink_and_39_is_not():
    assert ink.separate(stroke(40), inverted=False) is not None
    assert ink.separate(stroke(39), inverted=False) is None


def test_a_blank_or_flat_picture_has_no_ink():
    assert ink.separate(np.zeros((28, 28), np.float32), inverted=False) is None
    assert ink.separate(np.full((100, 120), 180, np.float32), inverted=True) is None


@pytest.mark.parametrize("side, pixels, found", [(28, 2, False), (28, 3, True), (180, 3, False), (180, 4, True)])
def test_a_few_pixels_are_ink_from_3_or_one_in_10000(side, pixels, found):
    g = np.zeros((side, side), np.float32)
    for i in range(pixels):
        g[5 + 5 * i, 5 + 5 * i] = 255  # single bright dots, apart
    assert (ink.separate(g, inverted=False) is not None) is found


def test_edges_stay_soft_in_proportion_to_the_digits_darkness():
    g = stroke(200)
    g[6:22, 11] = 50  # a half-covered column beside the stroke: a quarter as bright
    g[6:22, 15] = 100
    soft, _ = ink.separate(g, inverted=False)
    np.testing.assert_allclose(soft[6:22, 11], 0.25)
    np.testing.assert_allclose(soft[6:22, 15], 0.5)
    np.testing.assert_array_equal(soft[6:22, 12:15], 1)


def test_ink_is_kept_only_beside_the_kept_pixels():
    g = stroke(200)
    g[6:22, 16] = 15  # a faint shadow one pixel from the stroke: under the threshold, not beside a kept pixel
    g[6:22, 15] = 15  # ... and one touching it: kept softly, as anti-aliasing
    soft, kept = ink.separate(g, inverted=False)
    np.testing.assert_allclose(soft[6:22, 15], 15 / 200)
    assert not soft[:, 16].any() and not kept[:, 15].any()


def test_a_dim_smudge_touching_the_digit_is_not_ink():
    # a smudge of level 30 beside the digit's 200: only the pixel next to a stroke keeps its faint ink, as anti-aliasing
    g = np.zeros((40, 40), np.float32)
    g[8:32, 18:21] = 200
    g[8:32, 21:33] = 30
    soft, kept = ink.separate(g, inverted=False)
    np.testing.assert_array_equal(kept, g == 200)
    assert soft[8:32, 21].max() == pytest.approx(30 / 200) and not soft[:, 22:].any()


def test_dark_ink_on_gray_paper_reads_the_same_as_on_white():
    white = 255 - stroke(150, bg=0.0)  # black-ish stroke on white paper (upright after inversion: 150 on 0)
    gray = np.full((28, 28), 150.0, np.float32)
    gray[6:22, 12:15] = 150 - 150 * 150 / 255  # the same stroke, as dark relative to paper of 150
    for picture in (white, gray):
        up, inverted = ink.make_upright(picture)
        soft, _ = ink.separate(up, inverted=inverted)
        np.testing.assert_allclose(soft[6:22, 12:15], 1, atol=1e-5)
        assert soft.sum() == pytest.approx(16 * 3, abs=1e-3)


def test_noise_raises_the_threshold():
    rng = np.random.default_rng(0)
    g = np.clip(100 + rng.normal(0, 12, (28, 28)), 0, 255).astype(np.float32)  # noisy paper, sigma 12
    g[6:22, 12:15] += 75  # a stroke under 1.5 x 5 sigma (90) above the paper: indistinguishable from the grain
    assert ink.separate(g, inverted=False) is None
    g[6:22, 12:15] += 80  # now far above the grain
    soft, kept = ink.separate(g, inverted=False)
    assert kept[6:22, 12:15].all() and kept.sum() < 60


def test_a_large_picture_is_blurred_about_a_pixel_first():
    g = np.zeros((400, 400), np.float32)
    g[100:300, 190:210] = 255
    g[50, 50] = 255  # a single bright pixel of grain, far from the stroke: the 1 px blur spreads it to 1/9 of 255
    soft, kept = ink.separate(g, inverted=False)
    assert not kept[40:60, 40:60].any()
    assert kept[110:290, 192:208].all()


# ---- components and the digit's pieces ----

def canonical(labels):
    """Labels renumbered by first appearance in reading order, background -1: two labelings of one partition agree."""
    out = np.full(labels.shape, -1)
    names = {}
    for (y, x), v in np.ndenumerate(labels):
        if v >= 0:
            out[y, x] = names.setdefault(v, len(names))
    return out


@pytest.mark.parametrize("shape, density, seed", [((30, 40), 0.3, 0), ((30, 40), 0.55, 1), ((1, 25), 0.6, 2), ((25, 1), 0.6, 3),
                                                  ((20, 20), 0.45, 4)])
def test_label_finds_the_8_connected_components_of_a_flood_fill(shape, density, seed):
    mask = np.random.default_rng(seed).random(shape) < density
    labels = ink.label(mask)
    assert labels.dtype == np.int64 and labels.shape == shape
    expect = np.full(shape, -1)
    for i, comp in enumerate(sorted(components_bfs(mask), key=min)):
        for y, x in comp:
            expect[y, x] = i
    np.testing.assert_array_equal(canonical(labels), canonical(expect))


def test_label_joins_diagonals_both_ways_and_long_chains():
    mask = np.zeros((6, 12), bool)
    mask[0, 0] = mask[1, 1] = mask[2, 2] = True  # a "\" diagonal
    mask[0, 5] = mask[1, 4] = mask[2, 3] = True  # a "/" diagonal touching it at (2, 2)-(2, 3)
    mask[5, :] = True  # a long row: many links to merge in a chain
    mask[4, 11] = True
    labels = ink.label(mask)
    assert len(set(labels[mask].tolist())) == 2 and (labels[~mask] == -1).all()
    assert len(set(labels[5].tolist())) == 1 and labels[4, 11] == labels[5, 0]
    np.testing.assert_array_equal(ink.label(np.zeros((3, 4), bool)), -1)


def test_label_merges_a_comb_whose_teeth_join_only_at_the_far_end():
    mask = np.zeros((9, 9), bool)
    mask[:, ::2] = True  # five teeth ...
    mask[8, :] = True  # ... joined by the bottom row only: roots must be merged over several rounds
    assert len(np.unique(ink.label(mask)[mask])) == 1


MAIN = (slice(20, 29), slice(20, 25))  # rows 20-28, cols 20-24: tallest side 8, so the "close by" margin is 0.25 x 8 + 2 = 4


def with_main(mass=100.0):
    """(mask, ink) of a 50 x 50 field holding only the digit at MAIN, its ink summing exactly to mass."""
    mask = np.zeros((50, 50), bool)
    weight = np.zeros((50, 50))
    mask[MAIN] = True
    weight[MAIN] = 2.0
    weight[20, 20] = mass - 88  # 45 pixels, summing exactly to mass
    return mask, weight


@pytest.mark.parametrize("y, x, kept", [
    (16, 22, True), (15, 22, False),  # above: its lowest row >= 20 - 4
    (32, 22, True), (33, 22, False),  # below: its highest row <= 28 + 4
    (24, 16, True), (24, 15, False),  # left
    (24, 28, True), (24, 29, False),  # right
])
def test_a_small_piece_is_kept_only_within_a_quarter_of_the_digits_size_plus_2(y, x, kept):
    mask, weight = with_main()
    mask[y, x] = True
    weight[y, x] = 10.0  # 10 % of the digit's ink: enough when close by, not on its own
    got = ink.main_cluster(mask, weight)
    assert got[MAIN].all() and got[y, x] == kept and got.sum() == 45 + kept


def test_a_wide_digit_has_a_margin_from_its_width():
    mask = np.zeros((50, 50), bool)
    weight = np.zeros((50, 50))
    mask[20:25, 20:29] = True  # 4 rows, 8 columns apart: margin 4 again
    weight[20:25, 20:29] = 1.0
    mask[16, 22] = mask[24, 32] = mask[24, 33] = True  # above at 4, right at 4 and 5 (the last two one piece)
    mask[32, 40] = True  # below-right, rows 4 + 4 away: far
    weight[mask & (weight == 0)] = 5.0
    got = ink.main_cluster(mask, weight)
    assert got[16, 22] and got[24, 32] and got[24, 33] and not got[32, 40]


@pytest.mark.parametrize("share, near, kept", [
    (0.30, False, True), (0.29, False, False),  # any piece with 30 % of the digit's ink stays
    (0.02, True, True), (0.019, True, False),  # a piece close by needs 2 %
])
def test_pieces_are_kept_by_their_share_of_the_digits_ink(share, near, kept):
    mask, weight = with_main(100.0)
    y, x = (30, 22) if near else (45, 45)
    mask[y, x] = True
    weight[y, x] = 100.0 * share
    assert ink.main_cluster(mask, weight)[y, x] == kept


def test_the_digit_is_the_piece_with_the_most_ink_not_the_most_pixels():
    mask = np.zeros((40, 40), bool)
    weight = np.zeros((40, 40))
    mask[2:12, 2:12] = True  # 100 faint pixels: ink 50
    weight[2:12, 2:12] = 0.5
    mask[30:33, 30:33] = True  # 9 strong pixels: ink 90
    weight[30:33, 30:33] = 10.0
    got = ink.main_cluster(mask, weight)
    assert got[30:33, 30:33].all() and got[2:12, 2:12].all()  # 50 >= 30 % of 90: both stay
    weight[2:12, 2:12] = 0.2  # ink 20 < 27
    got = ink.main_cluster(mask, weight)
    assert got[30:33, 30:33].all() and not got[2:12, 2:12].any()


def test_ink_darker_than_the_digits_typical_stroke_counts_as_full_ink():
    g = stroke(200)
    g[10:18, 13] = 250  # a darker core: no more than full ink
    soft, _ = ink.separate(g, inverted=False)
    assert soft.max() == 1.0
    np.testing.assert_array_equal(soft[6:22, 12:15], 1)


@pytest.mark.parametrize("side, blurred", [(199, False), (200, True)])
def test_from_200_px_the_picture_is_blurred_by_half_a_pixel(side, blurred):
    g = np.zeros((side, side), np.float32)
    g[40:160, 95:105] = 200
    soft, _ = ink.separate(g, inverted=False)
    # a box blur of radius 0.5 gives each side neighbour a quarter: the edges soften from 1, 0 to 0.75, 0.25
    assert (soft[100, 94], soft[100, 95]) == ((0.25, 0.75) if blurred else (0.0, 1.0))


@pytest.mark.parametrize("darkness, found", [(40, False), (90, True)])
def test_on_gray_paper_the_grain_is_measured_against_the_paper_too(darkness, found):
    # ink and grain are both scaled by 255 / paper (2.55 for paper of 100): a 40-level stroke is still within the grain
    rng = np.random.default_rng(5)
    g = 100 + rng.normal(0, 8, (28, 28))
    g[6:22, 12:15] -= darkness
    up, inverted = ink.make_upright(g)
    assert inverted
    assert (ink.separate(up, inverted=True) is not None) is found


def test_a_smudge_under_20_levels_is_never_ink_even_when_otsu_cuts_below_it():
    g = np.zeros((28, 28), np.float32)
    g[5:23, 8:10] = 150
    g[5:10, 11:20] = 16.6  # a column apart from the digit; Otsu's cut (16.5, between whole levels) lies just under it
    assert ink.otsu_threshold(ink.ink_strength(g, ink.estimate_background(g), inverted=False)) < 16.6
    soft, kept = ink.separate(g, inverted=False)
    np.testing.assert_array_equal(kept, g == 150)
    assert not soft[:, 11:].any()


def test_a_faint_smudge_touching_the_digit_is_cut_at_0_4_of_the_digits_darkness():
    g = np.zeros((28, 28), np.float32)
    g[5:20, 8:11] = 200
    g[5:7, 11:13] = 26.6  # above the 20-level floor and Otsu's cut, under 0.4 x 200
    soft, kept = ink.separate(g, inverted=False)
    np.testing.assert_array_equal(kept, g == 200)
    np.testing.assert_allclose(soft[5:7, 11], 26.6 / 200, rtol=1e-6)  # beside the digit: kept as its soft edge
    assert not soft[:, 12:].any()  # one pixel further: not ink
