"""engine.pen on hand-made masks: the work scale, the width estimate of a band, and thinning or thickening towards a target."""
import numpy as np
import pytest
from PIL import Image

from engine import pen


def band(w, length, *, size=(60, 90), at=(7, 11)):
    """A bool mask with one upright rectangle w px wide and `length` px long, away from the border."""
    m = np.zeros(size, bool)
    m[at[0]:at[0] + w, at[1]:at[1] + length] = True
    return m


def reference_to_work(ink, side=pen.WORK):
    """Max-pool by f = longer side // (2 side) with a loop over blocks (beyond the edge: no ink), then resize to side px."""
    h, w = ink.shape
    f = max(1, max(h, w) // (2 * side))
    pooled = np.array([[ink[i:i + f, j:j + f].max() for j in range(0, w, f)] for i in range(0, h, f)], np.float32)
    k = side / max(pooled.shape)
    size = (max(1, round(pooled.shape[1] * k)), max(1, round(pooled.shape[0] * k)))  # Pillow sizes are (width, height)
    how = Image.Resampling.BILINEAR if k >= 1 else Image.Resampling.BOX
    return np.asarray(Image.fromarray(pooled).resize(size, how)), side / (f * max(pooled.shape))


@pytest.mark.parametrize("shape", [(20, 9), (50, 30), (40, 80), (100, 37), (159, 60), (160, 61), (401, 170), (123, 903), (2, 700),
                                   (700, 2)])
def test_to_work_pools_big_crops_block_by_block_and_scales_the_longer_side_to_80(shape):
    ink = np.random.default_rng(sum(shape)).random(shape).astype(np.float32) ** 4
    work, factor = pen.to_work(ink)
    want, want_factor = reference_to_work(ink)
    assert max(work.shape) == pen.WORK and work.dtype == np.float32
    np.testing.assert_array_equal(work, want)
    assert factor == pytest.approx(want_factor, rel=1e-12)


def test_to_work_takes_ink_of_any_number_type():
    ink = np.zeros((30, 50))
    ink[10:20, 5:45] = 1
    want = pen.to_work(ink.astype(np.float32))
    for kind in (bool, np.uint8, np.int64, np.float64):
        got = pen.to_work(ink.astype(kind))
        np.testing.assert_array_equal(got[0], want[0])
        assert got[0].dtype == np.float32 and got[1] == want[1]


def test_a_hairline_in_a_large_drawing_survives_the_work_scale():
    ink = np.zeros((900, 900), np.float32)
    ink[:, 451] = 1.0  # one px wide: ink of 0.09 at 80 px if the 900 were averaged straight down
    work, factor = pen.to_work(ink)
    assert factor == pytest.approx(80 / 900) and work.max() > 0.4


def test_a_small_crop_is_enlarged_smoothly():
    ink = np.zeros((10, 10), np.float32)
    ink[4:6, :] = 1.0
    work, factor = pen.to_work(ink)
    assert factor == 8.0 and work.shape == (80, 80)
    assert 0 < work[30, 40] < 1  # bilinear: a soft edge, not the blocks of a nearest-pixel enlargement


def test_dilations_alternate_a_cross_and_a_square_so_that_steps_grow_a_disc():
    cross = {(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if abs(dy) + abs(dx) <= 1}
    square = {(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)}
    grown = {(0, 0)}
    for step in range(5):
        grown = {(y + dy, x + dx) for y, x in grown for dy, dx in (square if step % 2 else cross)}  # Minkowski sum
        dot = np.zeros((15, 15), bool)
        dot[7, 7] = True
        for s in range(step + 1):
            dot = pen.dilate(dot, s)
        assert {(y - 7, x - 7) for y, x in zip(*np.nonzero(dot), strict=True)} == grown, step
        hole = np.ones((15, 15), bool)  # erosion is the dual: a hole in the ink grows by the same shape
        hole[7, 7] = False
        for s in range(step + 1):
            hole = pen.erode(np.pad(hole, 1, constant_values=True), s)[1:-1, 1:-1]  # ink all round, beyond the frame
        np.testing.assert_array_equal(~hole, dot)


def test_the_width_of_a_band_is_its_width():
    for w, length in ((1, 1), (1, 30), (2, 30), (5, 40), (9, 50)):
        m = band(w, length)
        boundary = m.sum() if w <= 2 else 2 * length + 2 * (w - 2)  # the band's outer ring
        assert pen.estimate_width(m) == pytest.approx(2 * w * length / boundary)
    assert pen.estimate_width(np.zeros((9, 9), bool)) == 0.0
    full = np.ones((6, 8), bool)  # beyond the border is background: the frame is the boundary
    assert pen.estimate_width(full) == pytest.approx(2 * 48 / (48 - 4 * 6))


def test_the_relative_width_scales_the_band_to_an_80_px_digit():
    assert pen.relative_width(np.zeros((9, 9), bool)) == 0.0
    m = band(5, 40)
    assert pen.relative_width(m) == pytest.approx(pen.estimate_width(m) * 80 / 40)
    assert pen.relative_width(m.T) == pytest.approx(pen.estimate_width(m) * 80 / 40)  # the longer side, rows or columns
    m[30:33, 20:22] = True  # a dot lower down makes the ink 26 rows tall, still shorter than its 40 columns
    assert pen.relative_width(m) == pytest.approx(pen.estimate_width(m) * 80 / 40)
    m[50, 60] = True  # now 44 rows by 50 columns
    assert pen.relative_width(m) == pytest.approx(pen.estimate_width(m) * 80 / 50)
    assert pen.relative_width(m.T) == pytest.approx(pen.estimate_width(m) * 80 / 50)


def test_width_of_measures_soft_ink_on_the_work_scale():
    ink = band(6, 40).astype(np.float32)[7:13, 11:51] * 0.9  # the crop of a band: 6 by 40 px of ink at 0.9
    assert pen.width_of(ink) == pytest.approx(pen.relative_width(pen.to_work(ink)[0] > 0.5))
    assert pen.width_of(ink) == pytest.approx(6 * 80 / 40, rel=0.15)
    assert pen.width_of(ink * 0.5) == 0.0  # ink at 0.45 is below the half-ink contour everywhere


def ring(outer, inner, size):
    """A soft ink disc of radius outer with a hole of radius inner, centred in a size x size crop."""
    yy, xx = np.mgrid[0:size, 0:size] - (size - 1) / 2
    r = np.hypot(yy, xx)
    return ((r <= outer) & (r >= inner)).astype(np.float32)


def test_a_pen_within_the_range_is_left_exactly_alone_even_on_its_edges():
    crop = ring(30, 22, 64)
    w = pen.width_of(crop)
    for lo, hi in ((w - 1, w + 1), (w, w + 1), (w - 1, w), (w, w)):
        out, before, after, changed = pen.normalise(crop, lo=lo, hi=hi, target=w + 5)
        assert out is crop and before == after == w and not changed
    empty = np.zeros((20, 20), np.float32)
    out, before, after, changed = pen.normalise(empty)
    assert out is empty and before == after == 0.0 and not changed


@pytest.mark.parametrize("outer, inner", [(30, 28.5), (30, 26)], ids=["hairline", "thin"])
def test_a_thin_pen_is_thickened_to_the_median(outer, inner):
    crop = ring(outer, inner, 64)
    out, before, after, changed = pen.normalise(crop)
    assert changed and before < pen.MNIST_P10 and abs(after - pen.MNIST_MEDIAN) < 2
    assert after == pytest.approx(pen.relative_width(out > 0.5))  # the width it reports is the width it returns
    assert out.dtype == np.float32 and set(np.unique(out)) == {0.0, 1.0}
    assert out[0].any() and out[-1].any() and out[:, 0].any() and out[:, -1].any()  # cropped to its ink
    work = pen.to_work(crop)[0] > 0.5
    assert out.shape[0] > np.ptp(np.flatnonzero(work.any(axis=1))) + 1  # a thicker pen also makes a larger digit
    assert out[out.shape[0] // 2, out.shape[1] // 2] == 0  # the hole stays open


def test_a_thick_pen_is_thinned_to_the_median():
    crop = ring(30, 12, 64)
    out, before, after, changed = pen.normalise(crop)
    assert changed and before > pen.MNIST_P90 and abs(after - pen.MNIST_MEDIAN) < 2
    assert after == pytest.approx(pen.relative_width(out > 0.5)) and out.shape[0] <= 80
    assert out[0].any() and out[-1].any() and out[:, 0].any() and out[:, -1].any()


def test_each_round_moves_by_half_the_gap_and_stops_at_the_target():
    crop = ring(30, 26, 64)
    before = pen.width_of(crop)
    out, _, after, changed = pen.normalise(crop, lo=0, hi=before - 0.5, target=before - 0.9)  # half a gap of 0.9 rounds to 0
    work = pen.to_work(crop)[0] > 0.5
    rows, cols = np.flatnonzero(work.any(axis=1)), np.flatnonzero(work.any(axis=0))
    assert changed and after == before  # no step: the work-scale mask as it was, cropped to its ink
    np.testing.assert_array_equal(out, work[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
    one = pen.normalise(crop, lo=0, hi=before - 0.5, target=before - 2)[0]  # one erosion step in the first round
    eroded = pen.erode(work, 0)
    rows, cols = np.flatnonzero(eroded.any(axis=1)), np.flatnonzero(eroded.any(axis=0))
    np.testing.assert_array_equal(one, eroded[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])


def test_thinning_goes_on_while_exactly_three_tenths_would_be_left():
    crop = np.zeros((80, 80), np.float32)  # 80 px: the work scale itself, so the mask is the crop
    crop[30:34, 40:45] = 1  # 4 x 5 = 20 px; one erosion leaves 2 x 3 = 6, exactly 30 %
    out, before, after, changed = pen.normalise(crop)
    assert changed and before > pen.MNIST_P90 and out.shape == (2, 3)


def test_a_wide_digit_is_cropped_to_its_own_rows_and_columns():
    yy, xx = np.mgrid[0:40, 0:90] - np.array([19.5, 44.5])[:, None, None]
    r = np.hypot(yy / 19, xx / 44)
    crop = ((r <= 1) & (r >= 0.9)).astype(np.float32)  # a thin wide oval
    out, before, after, changed = pen.normalise(crop)
    assert changed and before < pen.MNIST_P10
    assert out[0].any() and out[-1].any() and out[:, 0].any() and out[:, -1].any()
    assert 1.8 < out.shape[1] / out.shape[0] < 2.6  # as wide as the oval, about twice its height


def test_thinning_stops_before_the_ink_falls_below_three_tenths():
    crop = np.ones((20, 20), np.float32)
    out = pen.normalise(crop, lo=0, hi=1, target=0)[0]  # 80 x 80 of ink after scaling: the steps stop at a small square
    side = out.shape[0]
    assert out.shape == (side, side) and out.all()
    assert (side - 2) ** 2 < 0.3 * side ** 2  # the next ring off would leave less than 30 %
    assert side ** 2 >= 0.3 * (side + 2) ** 2 or side == 80  # the last one taken left at least 30 %
