"""ui.evaluate.charts without a page run: each builder's traces, numbers, words, axes and colours, read off the figure.

Expected numbers are worked out here from the inputs (NumPy or by hand); plotly itself refuses a broken colour, symbol,
mode or dash, so building each figure also checks those.
"""
import numpy as np
import pytest

from ui.charts import TITLE_EM, title_margin, wrap
from ui.evaluate import charts
from ui.stats import percent

HOVER = "{true}→{pred}: {count} ({share})"


def matrix():
    """A 10 x 10 confusion matrix with a four-digit diagonal cell, a zero diagonal cell and a few mistakes."""
    cm = np.diag(np.arange(1, 11) * 100)
    cm[1, 1], cm[4, 4] = 1135, 0
    cm[4, 9], cm[7, 2], cm[3, 5] = 40, 3, 1
    return cm


def rows_of(cm):
    """Row-normalised rates by a plain loop (an empty row stays 0)."""
    out = np.zeros(cm.shape)
    for i in range(len(cm)):
        total = sum(cm[i])
        for j in range(len(cm)):
            out[i, j] = cm[i, j] / total if total else 0.0
    return out


def confusion(show_rates=False, **kw):
    """The confusion figure of matrix(), with the given options."""
    cm = matrix()
    args = {"show_rates": show_rates, "title": "Confusion", "x_title": "predicted", "y_title": "true", "hover": HOVER} | kw
    return cm, charts.confusion_figure(cm, rows_of(cm), **args)


def test_the_matrix_puts_right_answers_and_mistakes_on_two_layers_each_with_its_own_scale():
    """Layer 0 holds the non-empty diagonal, layer 1 the non-empty mistakes; the rest is NaN; each scale runs 0 to its max."""
    cm, fig = confusion()
    diag, mistakes = fig.data[0], fig.data[1]
    z0, z1 = np.asarray(diag.z, float), np.asarray(mistakes.z, float)
    for i in range(10):
        for j in range(10):
            on, off = (i == j and cm[i, j] > 0), (i != j and cm[i, j] > 0)
            assert (z0[i, j] == cm[i, j]) if on else np.isnan(z0[i, j]), (i, j)
            assert (z1[i, j] == cm[i, j]) if off else np.isnan(z1[i, j]), (i, j)
    assert (diag.zmin, diag.zmax) == (0, 1135) and (mistakes.zmin, mistakes.zmax) == (0, 40)  # the mistakes' own scale
    assert diag.colorscale == tuple(tuple(c) for c in charts.BLUES) and mistakes.colorscale == tuple(tuple(c) for c in charts.REDS)
    assert diag.textfont.color == "white" and mistakes.textfont.color is None  # plotly picks black or white on the reds
    for layer in (diag, mistakes):
        assert layer.showscale is False and layer.hoverinfo == "skip" and layer.texttemplate == "%{text}"
        assert layer.xgap > 0 and layer.ygap > 0  # a thin line between cells


def test_the_matrix_prints_counts_with_thousands_separators_and_leaves_empty_mistakes_blank():
    """Each layer shows only its own cells' words; '1,135' on the diagonal; an empty mistake cell has no '0'."""
    cm, fig = confusion()
    t0, t1 = np.asarray(fig.data[0].text), np.asarray(fig.data[1].text)
    assert t0[1, 1] == "1,135" and t0[9, 9] == "1,000" and t0[4, 4] == "0" and t0[4, 9] == ""
    assert t1[4, 9] == "40" and t1[3, 5] == "1" and t1[0, 1] == "" and t1[1, 1] == ""
    assert (t1 != "").sum() == 3 and (t0 != "").sum() == 10


def test_the_matrix_in_rates_shows_row_shares_with_a_rare_mistake_above_zero():
    """Rates mode colours and prints the row shares; 1 in 401 reads '0.2%', the rest of its row '99.8%'."""
    cm, fig = confusion(show_rates=True)
    rates = rows_of(cm)
    z1 = np.asarray(fig.data[1].z, float)
    assert z1[3, 5] == pytest.approx(1 / 401) and fig.data[1].zmax == pytest.approx(rates[4, 9])
    assert fig.data[0].zmax == pytest.approx(1.0) and np.asarray(fig.data[0].z, float)[3, 3] == pytest.approx(400 / 401)
    assert np.asarray(fig.data[1].text)[3, 5] == "0.2%" and np.asarray(fig.data[0].text)[3, 3] == "99.8%"
    assert np.asarray(fig.data[1].text)[0, 1] == ""  # still blank: empty by count


def test_a_matrix_without_mistakes_keeps_a_valid_red_scale():
    """No mistake at all: the empty red layer gets the scale 0 to 1 instead of NaN."""
    cm = np.diag(np.full(10, 7))
    fig = charts.confusion_figure(cm, rows_of(cm), show_rates=False, title="t", x_title="x", y_title="y", hover=HOVER)
    assert fig.data[1].zmax == 1.0 and np.isnan(np.asarray(fig.data[1].z, float)).all() and fig.data[0].zmax == 7


def test_every_cell_has_a_clickable_transparent_marker_with_its_own_hover_sentence():
    """Trace 2: point p at x = p % 10 (predicted), y = p // 10 (true), customdata [true, pred], one sentence per cell."""
    cm, fig = confusion()
    cells = fig.data[2]
    assert cells.type == "scatter" and cells.mode == "markers" and cells.name == "cells" and cells.showlegend is False
    assert list(cells.x) == [p % 10 for p in range(100)] and list(cells.y) == [p // 10 for p in range(100)]
    assert np.asarray(cells.customdata).tolist() == [[p // 10, p % 10] for p in range(100)]
    rates = rows_of(cm)
    assert list(cells.hovertext) == [f"{i}→{j}: {cm[i, j]:,} ({percent(rates[i, j])})" for i in range(10) for j in range(10)]
    assert cells.hovertext[11] == "1→1: 1,135 (100.0%)" and cells.hovertemplate == "%{hovertext}<extra></extra>"
    assert cells.marker.symbol == "square" and cells.marker.line.width == 0
    assert cells.marker.color.replace(" ", "").endswith(",0)")  # fully transparent: the heatmaps show through
    for height in (600, 400):
        size = charts.confusion_figure(cm, rows_of(cm), show_rates=False, title="t", x_title="x", y_title="y", hover=HOVER,
                                       height=height).data[2].marker.size
        assert 0.055 * height <= size <= 0.07 * height and size == int(size)  # about one cell of a 10 x 10 grid at that height


def test_a_selected_cell_gets_a_frame_and_none_without_a_selection():
    """selected = (true, pred) frames the square around x = pred, y = true."""
    _, fig = confusion(selected=(4, 9))
    (shape,) = fig.layout.shapes
    assert shape.type == "rect" and (shape.x0, shape.x1, shape.y0, shape.y1) == (8.5, 9.5, 3.5, 4.5)
    assert shape.line.width >= 2 and shape.line.color == "#111111"
    assert confusion(selected=(0, 0))[1].layout.shapes[0].x0 == -0.5
    assert confusion()[1].layout.shapes == ()


def test_the_matrix_axes_are_square_one_tick_per_digit_with_row_0_at_the_top():
    """Both axes span -0.5 .. k - 0.5, y reversed, y tied to x; titles, height, margin and white background."""
    _, fig = confusion(height=600)
    lay = fig.layout
    assert lay.xaxis.range == (-0.5, 9.5) and lay.yaxis.range == (9.5, -0.5) and lay.yaxis.scaleanchor == "x"
    for ax in (lay.xaxis, lay.yaxis):
        assert ax.tickmode == "linear" and ax.dtick == 1 and ax.showgrid is False and ax.zeroline is False and ax.constrain == "domain"
    assert lay.xaxis.title.text == "predicted" and lay.yaxis.title.text == "true" and lay.title.text == "Confusion"
    assert lay.height == 600 and lay.plot_bgcolor == "white" and lay.hoverlabel.bgcolor == "white"
    assert confusion()[1].layout.height == 600  # the default, which the HTML report uses
    assert (lay.margin.l, lay.margin.r, lay.margin.t, lay.margin.b) == (10, 10, title_margin("Confusion"), 10)
    cm = np.array([[3, 1, 0], [0, 2, 0], [1, 0, 4]])
    small = charts.confusion_figure(cm, rows_of(cm), show_rates=False, title="a<br>b", x_title="x", y_title="y", hover=HOVER)
    assert small.layout.xaxis.range == (-0.5, 2.5) and small.layout.yaxis.range == (2.5, -0.5) and len(small.data[2].x) == 9
    assert small.layout.margin.t == title_margin("a<br>b") > title_margin("a")


def test_the_matrix_text_shrinks_on_a_short_chart():
    """'1,135' must fit its square: 13 px type from 520 px high, 11 px below."""
    sizes = {h: confusion(height=h)[1].data[0].textfont.size for h in (600, 520, 519, 400)}
    assert sizes == {600: 13, 520: 13, 519: 11, 400: 11}
    assert confusion(height=519)[1].data[1].textfont.size == 11


BINS = {"lower": np.array([0.0, 0.25, 0.5, 0.75]), "upper": np.array([0.25, 0.5, 0.75, 1.0]), "count": np.array([0, 2, 5, 30]),
        "mean_confidence": np.array([np.nan, 0.4, 0.6, 0.9]), "accuracy": np.array([np.nan, 0.5, 0.4, 0.95])}
BIN_HOVER = "%{customdata[0]:.0%}–%{customdata[1]:.0%}: %{y:.1%} of %{customdata[2]}"


def test_the_reliability_chart_draws_a_bar_per_bin_and_the_diagonal():
    """Bars centred in their bins, a little narrower, at each bin's accuracy (an empty bin at 0); the dashed y = x line."""
    fig = charts.reliability_figure(BINS, title="Reliability", x_title="confidence", y_title="accuracy", names=("bins", "ideal"),
                                    hover=BIN_HOVER)
    bars, line = fig.data
    assert bars.type == "bar" and list(bars.x) == [0.125, 0.375, 0.625, 0.875] and list(bars.y) == [0.0, 0.5, 0.4, 0.95]
    assert all(0.85 * 0.25 < w < 0.25 for w in bars.width)  # a gap between neighbours
    assert np.asarray(bars.customdata).tolist() == [[0.0, 0.25, 0, 0.0], [0.25, 0.5, 2, 0.4], [0.5, 0.75, 5, 0.6], [0.75, 1.0, 30, 0.9]]
    assert bars.name == "bins" and bars.marker.color == charts.RIGHT and bars.hovertemplate == BIN_HOVER + "<extra></extra>"
    assert line.name == "ideal" and list(line.x) == [0, 1] and list(line.y) == [0, 1] and line.mode == "lines"
    assert line.line.dash == "dash" and line.hoverinfo == "skip"
    lay = fig.layout
    assert lay.title.text == "Reliability" and lay.xaxis.title.text == "confidence" and lay.yaxis.title.text == "accuracy"
    assert lay.xaxis.range == (0, 1) and lay.yaxis.range[0] == 0 and 1 < lay.yaxis.range[1] <= 1.05  # room for a full bar
    assert lay.xaxis.tickformat == ".0%" and lay.yaxis.tickformat == ".0%" and lay.height == 400
    assert 0.9 < lay.legend.y < 1 and lay.legend.yanchor == "top" and lay.legend.x < 0.1 and lay.legend.xanchor == "left"  # inside


HIST = {"edges": np.linspace(0, 1, 5), "correct": np.array([0, 1, 2, 1997]), "wrong": np.array([3, 1, 0, 0])}


def test_the_confidence_chart_shows_each_group_as_a_share_of_itself():
    """Right and wrong answers each sum to 100 %, overlaid, named with their counts; hover gets the raw count."""
    fig = charts.confidence_figure(HIST, title="Confidence", x_title="c", y_title="share", names=("right", "wrong"),
                                   hover="%{customdata} images")
    right, wrong = fig.data
    assert list(right.x) == [0.125, 0.375, 0.625, 0.875] and all(0.8 * 0.25 < w < 0.25 for w in right.width)
    assert list(right.y) == pytest.approx([0, 1 / 2000, 2 / 2000, 1997 / 2000]) and list(wrong.y) == pytest.approx([0.75, 0.25, 0, 0])
    assert right.name == "right (2,000)" and wrong.name == "wrong (4)"
    assert list(right.customdata) == [0, 1, 2, 1997] and right.hovertemplate == "right: %{customdata} images<extra></extra>"
    assert right.marker.color == charts.RIGHT and wrong.marker.color == charts.WRONG and 0 < right.opacity < 1
    lay = fig.layout
    assert lay.barmode == "overlay" and lay.xaxis.range == (0, 1) and lay.xaxis.tickformat == ".0%" and lay.yaxis.tickformat == ".0%"
    assert lay.title.text == "Confidence" and lay.xaxis.title.text == "c" and lay.yaxis.title.text == "share" and lay.height == 400
    assert lay.legend.yanchor == "top"


def test_a_group_without_answers_draws_empty_bars_not_nan():
    """A model that is never wrong: the wrong bars are all 0."""
    fig = charts.confidence_figure(dict(HIST, wrong=np.zeros(4, int)), title="t", x_title="x", y_title="y", names=("a", "b"),
                                   hover="%{customdata}")
    assert list(fig.data[1].y) == [0, 0, 0, 0] and fig.data[1].name == "b (0)"
    one = charts.confidence_figure(dict(HIST, wrong=np.array([0, 0, 1, 0])), title="t", x_title="x", y_title="y", names=("a", "b"),
                                   hover="%{customdata}")
    assert list(one.data[1].y) == [0, 0, 1, 0]  # a single mistake is all of its group

CURVE = {"threshold": np.array([0.0, 0.5, 0.9]), "accuracy": np.array([0.8, 0.9, 0.99]), "coverage": np.array([1.0, 0.7, 0.2])}


def test_the_coverage_chart_draws_accuracy_and_coverage_against_the_threshold_and_marks_the_chosen_one():
    """Two lines over the thresholds, and a dotted vertical line at t with its value as a percentage."""
    fig = charts.coverage_figure(CURVE, threshold=0.9, title="Coverage", x_title="t", y_title="rate", names=("accuracy", "answered"))
    acc, cov = fig.data
    assert list(acc.x) == [0.0, 0.5, 0.9] and list(acc.y) == [0.8, 0.9, 0.99] and acc.name == "accuracy" and acc.mode == "lines"
    assert list(cov.x) == [0.0, 0.5, 0.9] and list(cov.y) == [1.0, 0.7, 0.2] and cov.name == "answered" and cov.mode == "lines"
    assert acc.line.color == charts.RIGHT and acc.line.color != cov.line.color and acc.line.width == cov.line.width == 3
    assert acc.hovertemplate == "t = %{x:.0%}: accuracy %{y:.2%}<extra></extra>" and "answered %{y:.2%}" in cov.hovertemplate
    (vline,) = fig.layout.shapes
    assert vline.x0 == vline.x1 == 0.9 and vline.line.dash == "dot"
    (note,) = fig.layout.annotations
    assert note.text == "t = 90%" and note.x == 0.9 and note.y == 0 and note.xanchor == "right" and note.yanchor == "bottom"
    lay = fig.layout
    assert lay.xaxis.range == (0, 1) and lay.xaxis.tickformat == ".0%" and lay.yaxis.tickformat == ".0%" and lay.height == 400
    assert lay.title.text == "Coverage" and lay.xaxis.title.text == "t" and lay.yaxis.title.text == "rate"
    assert 0 < lay.legend.y < 0.1 and lay.legend.yanchor == "bottom"  # bottom-left: the lines start high on the left
    assert lay.legend.x < 0.1 and lay.legend.xanchor == "left"


def test_accuracy_bars_run_from_zero_with_four_decimals_first_model_on_top():
    """One horizontal bar per model, labelled '0.9352'; the chart grows with the number of models."""
    fig = charts.accuracy_bars(["book", "mine"], [0.9352, 0.91], title="Accuracy", x_title="acc", y_title="model")
    (bars,) = fig.data
    assert bars.orientation == "h" and list(bars.x) == [0.9352, 0.91] and list(bars.y) == ["book", "mine"]
    assert list(bars.text) == ["0.9352", "0.9100"] and bars.hovertemplate == "%{y}: %{x:.4f}<extra></extra>"
    assert bars.marker.color == charts.RIGHT and bars.textposition == "inside" and bars.insidetextanchor == "end"
    assert fig.layout.xaxis.range == (0, 1) and fig.layout.yaxis.autorange == "reversed"
    three = charts.accuracy_bars(["a", "b", "c"], [0.1, 0.2, 0.3], title="t", x_title="x", y_title="y")
    assert three.layout.height - fig.layout.height == fig.layout.height - charts.accuracy_bars(
        ["a"], [0.5], title="t", x_title="x", y_title="y").layout.height > 30  # a fixed step per model
    assert fig.layout.title.text == "Accuracy" and fig.layout.xaxis.title.text == "acc" and fig.layout.yaxis.title.text == "model"


ROWS = [{"batch_size": b, "images_per_s": r, "images_per_s_min": r * 0.9, "images_per_s_max": r * 1.2,
         "latency_ms": 1000 * b / r, "latency_ms_min": 800 * b / r, "latency_ms_max": 1100 * b / r}
        for b, r in ((1, 2000.0), (10, 15000.0), (100, 40000.0))]


def runtime(**kw):
    """The runtime figure of ROWS with a book loop rate and a machine limit unless kw says otherwise."""
    args = {"book_rate": 1500.0, "limit": 1e6, "title": "Speed", "subtitle": "Xeon, 2 cores", "x_title": "batch size",
            "titles": ("images/s", "ms per batch"), "names": ("measured", "book loop", "limit")} | kw
    return charts.runtime_figure(ROWS, **args)


def test_the_runtime_chart_stacks_rate_over_latency_with_min_max_error_bars():
    """Top: images/s; below: ms per batch; each error bar reaches exactly the min and the max."""
    fig = runtime()
    top, low = fig.data[0], fig.data[1]
    assert list(top.x) == [1, 10, 100] == list(low.x)
    assert list(top.y) == [2000.0, 15000.0, 40000.0] and list(low.y) == pytest.approx([0.5, 10 / 15, 2.5])
    for trace, key in ((top, "images_per_s"), (low, "latency_ms")):
        y = np.array([r[key] for r in ROWS])
        lo, hi = np.array([r[f"{key}_min"] for r in ROWS]), np.array([r[f"{key}_max"] for r in ROWS])
        assert np.allclose(np.asarray(trace.y) + trace.error_y.array, hi)
        assert np.allclose(np.asarray(trace.y) - trace.error_y.arrayminus, lo)
        assert np.allclose(np.asarray(trace.customdata), np.stack([lo, hi], axis=1)) and trace.error_y.type == "data"
        assert np.allclose(trace.y, y) and trace.mode == "lines+markers" and trace.name == "measured"
        assert trace.legendgroup == "measured" and trace.line.color == charts.RIGHT
    assert (top.xaxis, top.yaxis, low.xaxis, low.yaxis) == ("x", "y", "x2", "y2")
    assert top.showlegend is True and low.showlegend is False  # one legend entry for both panels
    assert top.hovertemplate == "batch %{x:,}: %{y:,.0f} (%{customdata[0]:,.0f}–%{customdata[1]:,.0f})<extra></extra>"
    assert low.hovertemplate.startswith("batch %{x:,}: %{y:,.3f} (%{customdata[0]:,.3f}")
    assert runtime(batch_name="Stapel").data[0].hovertemplate.startswith("Stapel %{x:,}")


def test_the_runtime_chart_adds_the_book_loop_at_batch_1_and_the_machine_limit_across_the_sizes():
    """The book's one-image loop as a marker, the limit as a dashed line from the smallest to the largest batch."""
    fig = runtime()
    book, limit = fig.data[2], fig.data[3]
    assert list(book.x) == [1] and list(book.y) == [1500.0] and book.name == "book loop" and book.mode == "markers"
    assert book.marker.color == charts.WRONG and book.marker.symbol == "diamond"
    assert book.hovertemplate == "book loop: %{y:,.0f}<extra></extra>"
    assert list(limit.x) == [1, 100] and list(limit.y) == [1e6, 1e6] and limit.name == "limit" and limit.line.dash == "dash"
    assert limit.hovertemplate == "limit: %{y:,.0f}<extra></extra>" and limit.mode == "lines"
    assert (book.xaxis, book.yaxis, limit.xaxis, limit.yaxis) == ("x", "y", "x", "y")  # both on the images/s panel
    assert [t.name for t in runtime(book_rate=None).data] == ["measured", "measured", "limit"]
    assert [t.name for t in runtime(limit=0).data] == ["measured", "measured", "book loop"]
    assert len(runtime(book_rate=0, limit=None).data) == 2


def test_the_runtime_chart_is_log_log_with_the_machine_in_a_small_subtitle():
    """Both axes log with a label per power of ten; the x title under the lower panel; title and panel titles in place."""
    fig = runtime()
    lay = fig.layout
    for ax in (lay.xaxis, lay.xaxis2, lay.yaxis, lay.yaxis2):
        assert ax.type == "log" and ax.dtick == 1
    assert lay.xaxis2.title.text == "batch size" and lay.xaxis.title.text is None and lay.xaxis.matches == "x2"
    assert [a.text for a in lay.annotations] == ["images/s", "ms per batch"]
    assert lay.title.text == "Speed<br><sup>Xeon, 2 cores</sup>" and lay.height == 660
    assert lay.margin.t == title_margin(lay.title.text) + 40 and lay.margin.b == 20
    assert lay.legend.orientation == "h" and -0.5 < lay.legend.y < 0 and lay.legend.yanchor == "top" and lay.legend.x == 0
    long = "Measured on an Intel Xeon with two usable cores, NumPy 2.1 and OpenBLAS with two threads on a shared VM"
    title = runtime(subtitle=long, title="Speed of inference against the batch size of the model").layout.title.text
    head = wrap("Speed of inference against the batch size of the model")
    assert title.startswith(head + "<br><sup>") and "<br>" in head and title.endswith("</sup>")
    sub = title[len(head) + len("<br>"):]
    parts = sub.split("<br>")
    assert len(parts) > 1 and all(p.startswith("<sup>") and p.endswith("</sup>") for p in parts)  # every line small
    assert " ".join(p[5:-6] for p in parts) == long
    # plotly's <sup> type is smaller: the subtitle's lines hold 1.4 times a title line's ems
    assert [p[5:-6] for p in parts] == wrap(long, em=1.4 * TITLE_EM).split("<br>") != wrap(long).split("<br>")
