"""ui.curves without a page run: log ticks, thinning of live points, the learning-curve figure and a job's live curves.

Expected ticks and kept points are worked out by hand or with a plain loop over the same inputs.
"""
import pytest

from ui import curves
from ui.charts import title_margin, wrap


def test_log_ticks_are_1_2_5_times_powers_of_ten_inside_the_range():
    """Every 1, 2, 5 x 10^k between the smallest and largest positive value, both ends included."""
    assert curves._log_ticks([0.03, 0.7]) == pytest.approx([0.05, 0.1, 0.2, 0.5])
    assert curves._log_ticks([0.7, 0.03, 0.2]) == pytest.approx([0.05, 0.1, 0.2, 0.5])  # order does not matter
    assert curves._log_ticks([0.1, 2.0]) == pytest.approx([0.1, 0.2, 0.5, 1.0, 2.0])  # the ends themselves are ticks
    assert curves._log_ticks([1, 10]) == pytest.approx([1, 2, 5, 10])
    assert curves._log_ticks([0.004, 0.0011]) is None  # only 0.002 inside
    assert curves._log_ticks([0.0011, 0.0051]) == pytest.approx([0.002, 0.005])
    assert curves._log_ticks([15, 450]) == pytest.approx([20, 50, 100, 200])
    assert all(type(t) is float for t in curves._log_ticks([1, 10]))


def test_log_ticks_skip_missing_and_non_positive_values_and_give_up_below_two_ticks():
    """None, 0 and negative values are left out; fewer than two ticks inside the range: None (plotly's own ticks)."""
    assert curves._log_ticks([None, 0, -3.0, 0.5, 1.2]) == pytest.approx([0.5, 1.0])
    assert curves._log_ticks(iter([0.5, None, 1.2])) == pytest.approx([0.5, 1.0])  # a generator, as curves() passes
    assert curves._log_ticks([0.15, 0.25]) is None  # only 0.2 inside
    assert curves._log_ticks([0.3, 0.4]) is None  # none inside
    assert curves._log_ticks([0.2, 0.5]) == pytest.approx([0.2, 0.5])  # exactly two
    assert curves._log_ticks([]) is None and curves._log_ticks([None, 0, -1]) is None
    assert curves._log_ticks([0.5]) is None


def test_thin_keeps_short_lists_and_spreads_long_ones_evenly_with_both_ends():
    """Up to `most` points unchanged; more: `most` of them at rounded even steps, the first and the last kept."""
    short = [(i, 1.0) for i in range(150)]
    assert curves._thin(short) is short and curves.MAX_POINTS == 150
    assert curves._thin(list(range(5)), most=5) == [0, 1, 2, 3, 4]
    for n, most in ((1000, 150), (151, 150), (7, 4), (600, 100)):
        points = [10 * i for i in range(n)]
        want = [10 * round(i * (n - 1) / (most - 1)) for i in range(most)]
        got = curves._thin(points, most=most) if most != 150 else curves._thin(points)
        assert got == want, (n, most)
        assert len(got) == most and got[0] == 0 and got[-1] == 10 * (n - 1)


SERIES = [{"name": "train", "x": (0, 1, 2), "y": (0.9, 0.4, 0.2), "color": "#3b5bdb"},
          {"name": "val", "x": [1, 2], "y": [0.5, 0.3], "color": "#f08c00", "dash": "dot", "markers": True}]


def test_curves_draw_one_line_per_series_with_its_style_and_hover():
    """x and y as lists, name, colour, dash (solid by default), markers on request, the hover number format."""
    fig = curves.curves(SERIES, title="Loss", x_title="epoch", y_title="loss")
    a, b = fig.data
    assert list(a.x) == [0, 1, 2] and list(a.y) == [0.9, 0.4, 0.2] and a.name == "train" and a.mode == "lines"
    assert a.line.color == "#3b5bdb" and a.line.dash == "solid" and a.line.width == 2 and a.marker.size == 7
    assert b.mode == "lines+markers" and b.line.dash == "dot" and b.line.color == "#f08c00" and b.name == "val"
    assert a.hovertemplate == "train: %{y:.4f} (%{x:.2f})<extra></extra>"
    pct = curves.curves(SERIES, title="t", x_title="x", y_title="y", percent=True)
    assert pct.data[1].hovertemplate == "val: %{y:.2%} (%{x:.2f})<extra></extra>"
    assert pct.layout.yaxis.tickformat == ".0%" and fig.layout.yaxis.tickformat == ".3g"


def test_curves_layout_titles_legend_and_axes():
    """Wrapped title with its margin, horizontal legend under the plot, x from zero, linear y unless asked."""
    long = "Training loss of every preprocessing choice over the epochs of the run"
    fig = curves.curves(SERIES, title=long, x_title="epoch", y_title="loss", height=300)
    lay = fig.layout
    assert lay.title.text == wrap(long) and "<br>" in lay.title.text and lay.height == 300
    assert (lay.margin.l, lay.margin.r, lay.margin.t, lay.margin.b) == (10, 10, title_margin(wrap(long)) + 10, 10)
    assert lay.showlegend is True and lay.legend.orientation == "h" and -0.5 < lay.legend.y < 0 and lay.legend.yanchor == "top"
    assert lay.legend.x == 0
    assert lay.xaxis.title.text == "epoch" and lay.xaxis.rangemode == "tozero" and lay.xaxis.range is None
    assert lay.yaxis.title.text == "loss" and lay.yaxis.type == "linear" and lay.yaxis.tickvals is None
    assert curves.curves(SERIES, title="t", x_title="x", y_title="y").layout.height == 360
    assert curves.layout(curves.curves([], title="t", x_title="x", y_title="y"), title="t", height=200).layout.margin.b == 10


def test_curves_leave_three_percent_of_room_right_of_the_last_epoch():
    """x_range [a, b] becomes [a, b + 0.03 (b - a)]."""
    assert curves.curves(SERIES, title="t", x_title="x", y_title="y", x_range=[0, 20]).layout.xaxis.range == pytest.approx((0, 20.6))
    assert curves.curves(SERIES, title="t", x_title="x", y_title="y", x_range=[10, 20]).layout.xaxis.range == pytest.approx((10, 20.3))


def test_a_log_y_axis_gets_1_2_5_ticks_over_every_series():
    """The ticks span the y values of all series together."""
    fig = curves.curves(SERIES, title="t", x_title="x", y_title="y", log_y=True)
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis.tickvals == pytest.approx((0.2, 0.5))
    wide = SERIES + [{"name": "more", "x": [0], "y": [0.01]}]
    assert curves.curves(wide, title="t", x_title="x", y_title="y", log_y=True).layout.yaxis.tickvals == pytest.approx(
        (0.01, 0.02, 0.05, 0.1, 0.2, 0.5))


TEXT = {"train_loss": "training loss", "train_acc": "training accuracy", "val_acc": "validation accuracy", "loss_title": "Loss",
        "acc_title": "Accuracy", "x_title": "epoch", "loss_y": "loss", "acc_y": "accuracy"}


def snapshot(names, n_steps=5):
    """A job snapshot: steps (epoch, running loss, running accuracy) and per-epoch validation accuracy per run."""
    steps = {n: [(k / 2, 1.0 / (k + 1 + r), 0.5 + k / 100 + r / 1000) for k in range(n_steps)] for r, n in enumerate(names)}
    ends = {n: [{"epoch": e, "val_acc": 0.6 + e / 10 + r / 100} for e in (1, 2)] for r, n in enumerate(names)}
    return {"steps": steps, "epochs": ends}


def test_live_curves_of_one_run_show_its_loss_and_both_accuracies():
    """One run: the loss alone on a log axis; training accuracy and validation accuracy (with markers) in percent."""
    snap = snapshot(["run"])
    loss, acc = curves.live_curves(snap, names=["run"], epochs=4, text=TEXT)
    (line,) = loss.data
    steps = snap["steps"]["run"]
    assert line.name == "training loss" and list(line.x) == [s[0] for s in steps] and list(line.y) == [s[1] for s in steps]
    assert line.line.color == "#3b5bdb" and line.mode == "lines"
    train, val = acc.data
    assert train.name == "training accuracy" and list(train.y) == [s[2] for s in steps] and train.line.color == "#3b5bdb"
    assert list(train.x) == [s[0] for s in steps]
    assert val.name == "validation accuracy" and list(val.x) == [1, 2] and list(val.y) == [0.7, 0.8] and val.mode == "lines+markers"
    assert val.line.color == "#f08c00"
    assert loss.layout.yaxis.type == "log" and acc.layout.yaxis.type == "linear" and acc.layout.yaxis.tickformat == ".0%"
    assert loss.layout.title.text == "Loss" and acc.layout.title.text == "Accuracy"
    assert loss.layout.yaxis.title.text == "loss" and acc.layout.yaxis.title.text == "accuracy"
    assert loss.layout.xaxis.title.text == "epoch" == acc.layout.xaxis.title.text
    for fig in (loss, acc):
        assert fig.layout.xaxis.range == pytest.approx((0, 4.12))  # 0 .. epochs, plus room for the last marker


def test_live_curves_of_several_runs_colour_each_by_its_kind_and_name_it():
    """A comparison: one colour per preprocessing kind (a seeded run 'kind@seed' takes its kind's), names prefixed."""
    names = ["unit", "whiten@2", "mystery"]
    snap = snapshot(names)
    loss, acc = curves.live_curves(snap, names=names, epochs=2, text=TEXT)
    assert [t.name for t in loss.data] == ["unit: training loss", "whiten@2: training loss", "mystery: training loss"]
    assert [t.name for t in acc.data] == ["unit: validation accuracy", "whiten@2: validation accuracy", "mystery: validation accuracy"]
    assert [t.line.color for t in loss.data] == [curves.KIND_COLORS["unit"], curves.KIND_COLORS["whiten"], None]
    assert [t.line.color for t in acc.data] == [curves.KIND_COLORS["unit"], curves.KIND_COLORS["whiten"], None]
    assert list(acc.data[1].y) == [0.71, 0.81] and all(t.mode == "lines+markers" for t in acc.data)
    assert list(loss.data[1].y) == [s[1] for s in snap["steps"]["whiten@2"]]


def test_live_curves_thin_long_runs_and_draw_nothing_for_a_run_not_started():
    """A run with 1,000 steps draws MAX_POINTS of them, its last step kept; a name missing from the snapshot draws empty lines."""
    snap = snapshot(["unit"], n_steps=1000)
    loss, acc = curves.live_curves(snap, names=["unit", "raw"], epochs=10, text=TEXT)
    assert len(loss.data[0].x) == curves.MAX_POINTS and loss.data[0].x[-1] == snap["steps"]["unit"][-1][0]
    assert list(loss.data[1].x) == [] and list(acc.data[1].y) == []
    one, accs = curves.live_curves(snap, names=["unit"], epochs=10, text=TEXT)
    assert len(accs.data[0].y) == curves.MAX_POINTS and accs.data[0].y[-1] == snap["steps"]["unit"][-1][2]
