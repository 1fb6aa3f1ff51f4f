"""Plotly builders for the evaluation page: plain data in, a titled figure out (they draw nothing, so tests call them directly).

Visible words (titles, axis titles, legend names, hover sentences) are arguments, so the page passes translated text.
"""
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui.charts import TITLE_EM, title_margin, wrap
from ui.stats import percent

RIGHT, WRONG = "#3b5bdb", "#e03131"  # one blue for right answers and one red for mistakes, on every chart of the page
BLUES = [[0.0, "#748ffc"], [1.0, "#1c3faa"]]  # never pale: white digits must stay readable on every diagonal cell
REDS = [[0.0, "#fff5f5"], [1.0, "#c92a2a"]]


def _layout(fig, *, title, x_title=None, y_title=None, height=None, **extra):
    # a page passes its titles through ui.charts.wrap() (a phone cuts a long line off); the margin holds every line
    fig.update_layout(title={"text": title}, margin={"l": 10, "r": 10, "t": title_margin(title), "b": 10}, height=height, **extra)
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    return fig


def _inside(*, top):
    """A legend in the plot's top-left (or bottom-left) corner, where these charts leave room, clear of the title."""
    return {"x": 0.02, "xanchor": "left", "y": 0.98 if top else 0.04, "yanchor": "top" if top else "bottom",
            "bgcolor": "rgba(255,255,255,0.85)", "bordercolor": "#dee2e6", "borderwidth": 1}


def _cells(values, mask):
    """values (k, k) float with NaN outside mask: one heatmap layer shows only its own cells."""
    return np.where(mask, np.asarray(values, np.float64), np.nan)


def confusion_figure(counts, rates, *, show_rates, title, x_title, y_title, hover, selected=None, height=600):
    """Confusion matrix: right answers (diagonal) in blue, mistakes in red, each on its own scale so small mistakes show.

    counts and rates are (k, k) (rates row-normalised); hover is a format string with {true}, {pred}, {count}, {share}.
    Under the heatmaps lies one transparent square marker per cell (trace 2, customdata [true, pred]): plotly reports
    clicks on scatter markers, not on heatmaps. selected = (true, pred) draws a frame round that cell.
    """
    counts, rates = np.asarray(counts), np.asarray(rates, np.float64)
    k = len(counts)
    diag = np.eye(k, dtype=bool)
    shown = rates if show_rates else counts
    text = np.vectorize(lambda v: percent(v) if show_rates else f"{int(v):,}")(shown)  # one image in 5,000 is "< 0.1%", not 0
    text = np.where((counts == 0) & ~diag, "", text)  # empty mistake cells stay blank: the eye finds the real ones
    font = 13 if height >= 520 else 11  # "1,135" must fit its square
    fig = go.Figure()
    for mask, scale, ink in ((diag, BLUES, "white"), (~diag, REDS, None)):
        z = _cells(shown, mask & (counts > 0))
        top = np.nanmax(z) if np.isfinite(z).any() else 1.0
        # the diagonal is dark blue everywhere (most answers are right): white text; red cells range from pale to dark,
        # so plotly picks black or white per cell
        fig.add_heatmap(z=z, text=np.where(mask, text, ""), texttemplate="%{text}", colorscale=scale, zmin=0, zmax=top or 1.0,
                        showscale=False, hoverinfo="skip", xgap=1, ygap=1, textfont={"size": font, **({"color": ink} if ink else {})})
    ii, jj = np.divmod(np.arange(k * k), k)  # row-major: point p is cell (p // k, p % k)
    words = [hover.format(true=i, pred=j, count=f"{counts[i, j]:,}", share=percent(rates[i, j])) for i, j in zip(ii, jj, strict=True)]
    fig.add_scatter(x=jj, y=ii, mode="markers", customdata=np.stack([ii, jj], axis=1), hovertext=words,
                    hovertemplate="%{hovertext}<extra></extra>", showlegend=False, name="cells",
                    marker={"symbol": "square", "size": round(height * 0.063), "color": "rgba(0,0,0,0)", "line": {"width": 0}})
    if selected is not None:
        i, j = selected
        fig.add_shape(type="rect", x0=j - 0.5, x1=j + 0.5, y0=i - 0.5, y1=i + 0.5, line={"color": "#111111", "width": 3})
    _layout(fig, title=title, x_title=x_title, y_title=y_title, height=height,
            plot_bgcolor="white", hoverlabel={"bgcolor": "white"})
    fig.update_xaxes(tickmode="linear", dtick=1, range=[-0.5, k - 0.5], showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(tickmode="linear", dtick=1, range=[k - 0.5, -0.5], showgrid=False, zeroline=False, scaleanchor="x",
                     constrain="domain")
    return fig


def reliability_figure(bins, *, title, x_title, y_title, names, hover):
    """Accuracy per confidence bin as bars beside the diagonal of perfect calibration; names = (bars, diagonal).

    bins is engine.calibration.reliability_bins' dict; hover is a plotly template over customdata [lower, upper, count, mean conf].
    """
    lower, upper = np.asarray(bins["lower"]), np.asarray(bins["upper"])
    acc = np.nan_to_num(np.asarray(bins["accuracy"], np.float64), nan=0.0)  # an empty bin draws no bar
    custom = np.stack([lower, upper, bins["count"], np.nan_to_num(bins["mean_confidence"])], axis=1)
    fig = go.Figure()
    fig.add_bar(x=(lower + upper) / 2, y=acc, width=(upper - lower) * 0.92, name=names[0], marker_color=RIGHT,
                customdata=custom, hovertemplate=hover + "<extra></extra>")
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name=names[1], line={"color": "#495057", "dash": "dash"}, hoverinfo="skip")
    _layout(fig, title=title, x_title=x_title, y_title=y_title, height=400, legend=_inside(top=True))
    fig.update_xaxes(range=[0, 1], tickformat=".0%")
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return fig


def confidence_figure(hist, *, title, x_title, y_title, names, hover):
    """Top-class confidence of right and of wrong answers, each as a share of its own group; names = (right, wrong).

    hist is engine.calibration.confidence_histograms' dict; hover is a plotly template with customdata = the count.
    """
    edges = np.asarray(hist["edges"])
    mid, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    fig = go.Figure()
    for key, name, color in (("correct", names[0], RIGHT), ("wrong", names[1], WRONG)):
        c = np.asarray(hist[key])
        fig.add_bar(x=mid, y=c / max(c.sum(), 1), width=width * 0.9, name=f"{name} ({c.sum():,})", marker_color=color, opacity=0.65,
                    customdata=c, hovertemplate=f"{name}: " + hover + "<extra></extra>")
    _layout(fig, title=title, x_title=x_title, y_title=y_title, height=400, barmode="overlay", legend=_inside(top=True))
    fig.update_xaxes(range=[0, 1], tickformat=".0%")
    fig.update_yaxes(tickformat=".0%")
    return fig


def coverage_figure(curve, *, threshold, title, x_title, y_title, names):
    """Accuracy on the answered images and the share answered, against the threshold t; a line marks the chosen t."""
    t = np.asarray(curve["threshold"])
    fig = go.Figure()
    fig.add_scatter(x=t, y=curve["accuracy"], mode="lines", name=names[0], line={"color": RIGHT, "width": 3},
                    hovertemplate=f"t = %{{x:.0%}}: {names[0]} %{{y:.2%}}<extra></extra>")
    fig.add_scatter(x=t, y=curve["coverage"], mode="lines", name=names[1], line={"color": "#f08c00", "width": 3},
                    hovertemplate=f"t = %{{x:.0%}}: {names[1]} %{{y:.2%}}<extra></extra>")
    fig.add_vline(x=threshold, line={"color": "#111111", "dash": "dot"}, annotation_text=f"t = {threshold:.0%}",
                  annotation_position="bottom left")
    _layout(fig, title=title, x_title=x_title, y_title=y_title, height=400, legend=_inside(top=False))
    fig.update_xaxes(range=[0, 1], tickformat=".0%")
    fig.update_yaxes(tickformat=".0%")
    return fig


def accuracy_bars(names, accuracies, *, title, x_title, y_title):
    """One horizontal bar per model from 0 to its accuracy, labelled with four decimals (the book's 0.9352)."""
    acc = np.asarray(accuracies, np.float64)
    fig = go.Figure(go.Bar(x=acc, y=list(names), orientation="h", marker_color=RIGHT, text=[f"{a:.4f}" for a in acc],
                           textposition="inside", insidetextanchor="end", hovertemplate="%{y}: %{x:.4f}<extra></extra>"))
    _layout(fig, title=title, x_title=x_title, y_title=y_title, height=110 + 46 * len(acc))
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(autorange="reversed")
    return fig


def runtime_figure(rows, *, book_rate, limit, title, subtitle, x_title, titles, names, batch_name="batch"):
    """Images/s (top) and milliseconds per batch (below) against one batch-size axis, log-log, with min-max spread as
    error bars: stacked, so each panel has a phone's whole width (side by side they were 150 px each).

    rows are engine.timing.time_batches' dicts; titles = (top panel, lower panel); names = (measured, book loop, limit).
    The book's one-image loop sits at batch size 1 as a separate marker; the machine's matmul roof is a dashed line.
    """
    b = np.array([r["batch_size"] for r in rows])
    fig = make_subplots(rows=2, cols=1, subplot_titles=titles, shared_xaxes=True, vertical_spacing=0.12)
    for row, key, unit in ((1, "images_per_s", ",.0f"), (2, "latency_ms", ",.3f")):
        y = np.array([r[key] for r in rows])
        lo, hi = np.array([r[f"{key}_min"] for r in rows]), np.array([r[f"{key}_max"] for r in rows])
        fig.add_scatter(x=b, y=y, mode="lines+markers", name=names[0], showlegend=row == 1, legendgroup="measured",
                        line={"color": RIGHT, "width": 2}, marker={"size": 8},
                        error_y={"type": "data", "array": hi - y, "arrayminus": y - lo, "thickness": 1.2, "width": 4},
                        customdata=np.stack([lo, hi], axis=1),
                        hovertemplate=f"{batch_name} %{{x:,}}: %{{y:{unit}}} "
                                      f"(%{{customdata[0]:{unit}}}–%{{customdata[1]:{unit}}})<extra></extra>",
                        row=row, col=1)
    if book_rate:
        fig.add_scatter(x=[1], y=[book_rate], mode="markers", name=names[1], marker={"symbol": "diamond", "size": 13, "color": WRONG},
                        hovertemplate=f"{names[1]}: %{{y:,.0f}}<extra></extra>", row=1, col=1)
    if limit:
        fig.add_scatter(x=[b.min(), b.max()], y=[limit, limit], mode="lines", name=names[2], line={"color": "#495057", "dash": "dash"},
                        hovertemplate=f"{names[2]}: %{{y:,.0f}}<extra></extra>", row=1, col=1)
    # the subtitle (the machine) in plotly's small <sup> type: about 1.4 times as many characters to a line
    title = f"{wrap(title)}<br><sup>{wrap(subtitle, em=1.4 * TITLE_EM).replace('<br>', '</sup><br><sup>')}</sup>"
    _layout(fig, title=title, height=660, legend={"orientation": "h", "y": -0.16, "x": 0, "yanchor": "top"})
    fig.update_layout(margin={"t": title_margin(title) + 40, "b": 20})  # + the upper panel's title
    fig.update_xaxes(type="log", dtick=1)  # dtick=1: a label per power of ten, no bare "2" and "5"
    fig.update_xaxes(title_text=x_title, row=2, col=1)
    fig.update_yaxes(type="log", dtick=1)
    return fig
