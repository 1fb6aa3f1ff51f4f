"""engine.distort against plain loops: the elastic weights, the pen change, the inverse affine map, bilinear sampling,
and distort() as those steps in turn, chunk by chunk, from one random stream."""
import numpy as np
import pytest

from engine import distort as dm
from engine.distort import Distortion
from tests.synth import synthetic_digits

NONE = Distortion(degrees=0, shear=0, scale=0, shift=0, pen=0, elastic=0)


def digits(n, seed=3):
    x, _ = synthetic_digits(n, seed=seed)
    return x.reshape(n, 784)


def padded(x):
    return np.pad(x.reshape(len(x), 28, 28).astype(np.float32), ((0, 0), (1, 1), (1, 1)))


def test_the_elastic_weights_interpolate_the_4x4_control_points_bilinearly():
    want = np.zeros((16, 784))
    for r in range(28):
        for c in range(28):
            w = []
            for p in (r, c):
                pos = p * 3 / 27  # control points at pixels 0, 9, 18 and 27
                i0 = min(int(pos), 2)
                w.append({i0: 1 - (pos - i0), i0 + 1: pos - i0})
            for a, wa in w[0].items():
                for b, wb in w[1].items():
                    want[a * 4 + b, r * 28 + c] += wa * wb
    for weights in (dm.ELASTIC, dm._elastic_matrix()):  # the table built at import, and built again now
        assert weights.shape == (16, 784) and weights.dtype == np.float32
        np.testing.assert_allclose(weights, want, atol=1e-6)
        np.testing.assert_allclose(weights.sum(axis=0), 1, atol=1e-6)  # a constant field moves every pixel alike


def test_the_output_grid_is_centred():
    r, c = np.divmod(np.arange(784), 28)
    np.testing.assert_array_equal(dm.ROWS, r - 13.5)
    np.testing.assert_array_equal(dm.COLS, c - 13.5)
    assert dm.ROWS.dtype == dm.COLS.dtype == np.float32


def test_repen_mixes_each_chosen_image_towards_its_dilation_or_erosion():
    img = padded(digits(100))
    before = img.copy()
    dm.repen(img, np.random.default_rng(5))
    r = np.random.default_rng(5)  # the same draws: which way, then both amounts
    thicker = r.random(100) < 0.5
    up, down = r.uniform(0.3, 1.0, 100), r.uniform(0.2, 0.6, 100)
    for i in range(100):
        want = before[i].copy()
        for y in range(1, 29):
            for x in range(1, 29):
                cross = [before[i, y, x], before[i, y - 1, x], before[i, y + 1, x], before[i, y, x - 1], before[i, y, x + 1]]
                amount = np.float32(up[i] if thicker[i] else down[i])
                target = max(cross) if thicker[i] else min(cross)
                want[y, x] = before[i, y, x] + amount * (target - before[i, y, x])
        np.testing.assert_allclose(img[i], want, atol=1e-3, err_msg=str(i))
    assert 0.35 < thicker.mean() < 0.65


def test_a_thicker_pen_grows_a_dot_and_a_thinner_one_fades_it():
    img = np.zeros((200, 30, 30), np.float32)
    img[:, 10, 10] = 255
    dm.repen(img, np.random.default_rng(1))
    grown = img[:, 9, 10] > 0
    assert 0.4 < grown.mean() < 0.6
    side = img[grown][:, [9, 11, 10, 10], [10, 10, 9, 11]]  # the four neighbours of the dot
    assert np.all(side == side[:, :1]) and np.all(img[grown][:, 10, 10] == 255)
    assert 0.3 * 255 <= side.min() < 0.35 * 255 and 0.95 * 255 < side.max() <= 255
    assert np.all(img[grown][:, 9, 9] == 0)  # a cross, not a square
    faded = img[~grown][:, 10, 10] / 255
    assert 0.4 <= faded.min() < 0.45 and 0.75 < faded.max() <= 0.8  # 20-60 % of the way to black
    assert np.count_nonzero(img[~grown]) == (~grown).sum()  # and nothing else


def draws(m, d, rng):
    """The warp's random numbers in the order sample_grid takes them, as float64."""
    a, sh = rng.uniform(-d.degrees, d.degrees, m), rng.uniform(-d.shear, d.shear, m)
    s, aspect = 1 + rng.uniform(-d.scale, d.scale, m), 1 + rng.uniform(-d.scale / 2, d.scale / 2, m)
    ty, tx = rng.uniform(-d.shift, d.shift, m), rng.uniform(-d.shift, d.shift, m)
    return a, sh, s, aspect, ty, tx


def test_with_nothing_to_change_the_grid_reads_each_pixel_from_itself():
    src_r, src_c = dm.sample_grid(3, NONE, np.random.default_rng(0))
    r, c = np.divmod(np.arange(784), 28)
    np.testing.assert_array_equal(src_r, np.broadcast_to(r + 1.0, (3, 784)))  # +1: the padding
    np.testing.assert_array_equal(src_c, np.broadcast_to(c + 1.0, (3, 784)))


@pytest.mark.parametrize("d", [Distortion(), Distortion(degrees=30, shear=0, scale=0.3, shift=0),
                               Distortion(degrees=0, shear=40, scale=0, shift=1.5)])
def test_the_grid_is_the_inverse_of_rotation_shear_scale_and_shift(d):
    m = 50
    src_r, src_c = dm.sample_grid(m, d, np.random.default_rng(7))
    assert src_r.shape == src_c.shape == (m, 784) and src_r.dtype == src_c.dtype == np.float32
    a, shear, s, aspect, ty, tx = draws(m, d, np.random.default_rng(7))
    a, k = np.deg2rad(a), np.tan(np.deg2rad(shear))
    sx, sy = s * np.sqrt(aspect), s / np.sqrt(aspect)
    for i in range(m):
        rot = np.array([[np.cos(a[i]), -np.sin(a[i])], [np.sin(a[i]), np.cos(a[i])]])
        forward = rot @ np.array([[1, k[i]], [0, 1]]) @ np.diag([sx[i], sy[i]])  # (x, y) about the centre
        source = np.stack([src_c[i] - 14.5, src_r[i] - 14.5])  # back to centred (x, y) in the unpadded frame
        inside = (src_r[i] > 0) & (src_r[i] < 28.999) & (src_c[i] > 0) & (src_c[i] < 28.999)  # not clipped
        out = forward @ source[:, inside] + np.array([[tx[i]], [ty[i]]])
        np.testing.assert_allclose(out, np.stack([dm.COLS, dm.ROWS])[:, inside], atol=2e-4)
    assert src_r.min() >= 0 and src_r.max() <= 28.999 and src_c.min() >= 0 and src_c.max() <= 28.999


def test_a_shift_beyond_the_frame_reads_background_at_the_clipped_edge():
    d = Distortion(degrees=0, shear=0, scale=0, shift=60, pen=0)
    src_r, src_c = dm.sample_grid(200, d, np.random.default_rng(2))
    assert src_r.min() == 0 and src_c.min() == 0
    assert src_r.max() == np.float32(dm.PAD - 1.001) and src_c.max() == np.float32(dm.PAD - 1.001)


def test_the_elastic_field_adds_a_smooth_displacement_of_at_most_its_size():
    d = Distortion(degrees=0, shear=0, scale=0, shift=0, elastic=1.5)
    used = np.random.default_rng(4)
    src_r, src_c = dm.sample_grid(20, d, used)
    rng = np.random.default_rng(4)
    draws(20, d, rng)
    field = rng.uniform(-1.5, 1.5, (2, 20, 16))
    assert used.random() == rng.random()  # it took these numbers from the stream and no more
    r, c = np.divmod(np.arange(784), 28)
    want_r = np.clip(r + 1 + field[0] @ dm.ELASTIC.astype(np.float64), 0, 28.999)
    want_c = np.clip(c + 1 + field[1] @ dm.ELASTIC.astype(np.float64), 0, 28.999)
    np.testing.assert_allclose(src_r, want_r, atol=1e-5)
    np.testing.assert_allclose(src_c, want_c, atol=1e-5)
    moved = np.abs(src_r - (r + 1))
    assert moved.max() <= 1.5 and moved.max() > 0.5


def test_bilinear_matches_a_loop_over_pixels():
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 255, (3, 30, 30)).astype(np.float32)
    src_r = rng.uniform(0, 28.999, (3, 784)).astype(np.float32)
    src_c = rng.uniform(0, 28.999, (3, 784)).astype(np.float32)
    src_r[:, :28], src_c[:, :28] = 5.0, np.arange(28)  # whole pixels read exactly
    got = dm.bilinear(img.reshape(3, 900), src_r, src_c)
    for i in range(3):
        for j in range(784):
            y, x = float(src_r[i, j]), float(src_c[i, j])
            r0, c0 = int(y), int(x)
            fr, fc = y - r0, x - c0
            p = img[i].astype(np.float64)
            want = ((1 - fr) * (1 - fc) * p[r0, c0] + (1 - fr) * fc * p[r0, c0 + 1] + fr * (1 - fc) * p[r0 + 1, c0]
                    + fr * fc * p[r0 + 1, c0 + 1])
            assert got[i, j] == pytest.approx(want, abs=1e-3)
    np.testing.assert_array_equal(got[:, :28], img[:, 5, :28])


def test_with_nothing_to_change_distort_returns_the_digits():
    x = digits(5)
    got = dm.distort(x, rng=np.random.default_rng(0), d=NONE)
    assert got.dtype == np.float32 and got.shape == (5, 784)
    np.testing.assert_array_equal(got, x)


@pytest.mark.parametrize("d", [Distortion(), Distortion(pen=1.0, elastic=1.0), Distortion(pen=0.0)])
def test_distort_is_the_pen_then_the_warp_chunk_by_chunk_from_one_stream(d, monkeypatch):
    monkeypatch.setattr(dm, "CHUNK", 16)
    x = digits(40)
    got = dm.distort(x, rng=np.random.default_rng(9), d=d)
    rng = np.random.default_rng(9)
    for s in (0, 16, 32):
        img = padded(x[s:s + 16])
        m = len(img)
        if d.pen:
            chosen = rng.random(m) < d.pen
            part = img[chosen]
            dm.repen(part, rng)
            img[chosen] = part
        want = dm.bilinear(img.reshape(m, 900), *dm.sample_grid(m, d, rng))
        np.testing.assert_array_equal(got[s:s + 16], want, err_msg=str(s))
    assert got.min() >= 0 and got.max() <= 255


def test_distort_writes_into_a_given_buffer_and_changes_a_share_of_the_pens():
    x = digits(300)
    out = np.full((300, 784), np.nan, np.float32)
    got = dm.distort(x, rng=np.random.default_rng(1), d=Distortion(), out=out)
    assert got is out and not np.isnan(out).any()
    np.testing.assert_array_equal(out, dm.distort(x, rng=np.random.default_rng(1)))  # the default is Distortion()
    pens = dm.distort(x, rng=np.random.default_rng(2), d=Distortion(degrees=0, shear=0, scale=0, shift=0, pen=0.3))
    changed = np.any(pens != x, axis=1)
    assert 0.2 < changed.mean() < 0.4  # only the pen changed, on about 30 % of the images
