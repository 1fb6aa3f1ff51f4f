"""Plotly builders of the preprocessing and training pages: learning curves, per-choice digits and histograms, bars.

Pure functions (data in, figure out); every visible word is an argument, so pages pass translated text.
"""
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui.charts import INK

KIND_COLORS = {"raw": "#868e96", "unit": "#3b5bdb", "center": "#2f9e44", "standardize": "#f08c00", "whiten": "#ae3ec9"}
DIVERGING = "RdBu_r"  # negative blue, 0 white, positive red: 0 reads as paper, as in the ink scale
MAX_POINTS = 150  # per live curve: a redraw of 3 x 600 points cost the browser enough to delay another visitor's page
LEGEND = {"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"}


def _layout(fig, *, title, height, margin_b=10):
    fig.update_layout(title={"text": title}, height=height, margin={"l": 10, "r": 10, "t": 60, "b": margin_b})
    return fig


def _axis_suffix(i):
    return "" if i == 1 else str(i)


def _log_ticks(values):
    """Tick values 1, 2, 5 x 10^k inside the range of the positive values (None if fewer than two fit: plotly's own then)."""
    v = np.asarray([x for x in values if x and x > 0], np.float64)
    if not len(v):
        return None
    lo, hi = v.min(), v.max()
    ticks = [m * 10.0 ** k for k in np.arange(np.floor(np.log10(lo)), np.ceil(np.log10(hi)) + 1) for m in (1, 2, 5)]
    inside = [x for x in ticks if lo <= x <= hi]
    return [float(x) for x in inside] if len(inside) >= 2 else None


def curves(series, *, title, x_title, y_title, percent=False, log_y=False, x_range=None, height=360):
    """Lines over epochs: series is a list of {name, x, y, color, dash?, markers?}; percent formats y as 0-100 %."""
    fig = go.Figure()
    fmt = ".2%" if percent else ".4f"
    for s in series:
        fig.add_scatter(x=list(s["x"]), y=list(s["y"]), name=s["name"], mode="lines+markers" if s.get("markers") else "lines",
                        line={"color": s.get("color"), "dash": s.get("dash", "solid"), "width": 2},
                        marker={"size": 7}, hovertemplate=f"{s['name']}: %{{y:{fmt}}} (%{{x:.2f}})<extra></extra>")
    _layout(fig, title=title, height=height, margin_b=10).update_layout(
        showlegend=True, legend={"orientation": "h", "y": -0.22, "x": 0, "yanchor": "top"})
    if x_range is not None:  # a little room at the right, so the last epoch's marker is not cut in half
        x_range = [x_range[0], x_range[1] + 0.03 * (x_range[1] - x_range[0])]
    fig.update_xaxes(title_text=x_title, range=x_range, rangemode="tozero")
    ticks = _log_ticks(y for s in series for y in s["y"]) if log_y else None
    fig.update_yaxes(title_text=y_title, type="log" if log_y else "linear", tickformat=".0%" if percent else ".3g",
                     tickvals=ticks)
    return fig


def digit_panels(images, *, names, title, height=320, value_format=".3g", show_range=False, robust=()):
    """Images (28, 28) side by side, each with its own colour scale (bar below it): ink for >= 0, blue-white-red if signed.

    show_range adds each image's min … max to its name; panels whose index is in robust scale their colours to the
    second-largest |value|, so one dominant pixel (the whitening filter's centre) does not wash out the rest.
    """
    images, names = [np.asarray(img, np.float32) for img in images], list(names)
    titles = [f"{n}: {img.min():.3g} … {img.max():.3g}" for n, img in zip(names, images, strict=True)] if show_range else names
    fig = make_subplots(rows=1, cols=len(images), subplot_titles=titles, horizontal_spacing=0.03)
    for i, z in enumerate(images, start=1):
        lo, hi = float(z.min()), float(z.max())
        signed = lo < 0 < hi
        top = max(abs(lo), abs(hi)) or 1.0
        if i - 1 in robust:
            top = float(np.sort(np.abs(z).ravel())[-2]) or top
            lo, hi = max(lo, -top), min(hi, top)
        axis = f"coloraxis{_axis_suffix(i)}"
        fig.add_heatmap(z=z, coloraxis=axis, row=1, col=i, name=str(names[i - 1]),
                        hovertemplate=f"[%{{y}}, %{{x}}] = %{{z:{value_format}}}<extra>{names[i - 1]}</extra>")
        left, right = fig.layout[f"xaxis{_axis_suffix(i)}"].domain
        fig.update_layout({axis: {"colorscale": DIVERGING if signed else INK, "cmin": -top if signed else min(lo, 0.0),
                                  "cmax": top if signed else (hi if hi > 0 else 1.0),
                                  "colorbar": {"orientation": "h", "x": (left + right) / 2, "xanchor": "center", "len": right - left,
                                               "y": -0.04, "yanchor": "top", "thickness": 10, "tickfont": {"size": 10}}}})
        fig.update_yaxes(autorange="reversed", scaleanchor=f"x{_axis_suffix(i)}", constrain="domain", visible=False, row=1, col=i)
        fig.update_xaxes(constrain="domain", visible=False, row=1, col=i)
    return _layout(fig, title=title, height=height, margin_b=50)


def value_histograms(hists, *, names, title, x_title, y_title, colors, height=330):
    """One histogram per choice, side by side, each over its own value range; hists is a list of (edges, counts); log y."""
    fig = make_subplots(rows=1, cols=len(hists), subplot_titles=list(names), horizontal_spacing=0.055)
    for i, ((edges, counts), name, color) in enumerate(zip(hists, names, colors, strict=True), start=1):
        edges, counts = np.asarray(edges, np.float64), np.asarray(counts)
        mid, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
        share = counts / max(counts.sum(), 1)
        fig.add_bar(x=mid, y=counts, width=width, marker_color=color, name=str(name), showlegend=False, row=1, col=i,
                    customdata=np.stack([edges[:-1], edges[1:], share], axis=1),
                    hovertemplate="%{customdata[0]:.3g} to %{customdata[1]:.3g}: %{y:,} (%{customdata[2]:.1%})<extra></extra>")
        fig.update_xaxes(title_text=x_title, row=1, col=i, nticks=4)
    fig.update_yaxes(type="log", dtick=1)  # a tick per power of ten: no crowd of 2s and 5s in narrow panels
    fig.update_yaxes(title_text=y_title, row=1, col=1)
    return _layout(fig, title=title, height=height).update_layout(margin_t=105)  # room for two-line panel titles


def activation_histograms(hists, *, names, title, x_title, y_title, colors, limit, clip, height=320):
    """Histograms of layer-1 pre-activations per choice on one x range [-clip, clip]; the saturated zone |a| > limit is shaded."""
    fig = make_subplots(rows=1, cols=len(hists), subplot_titles=list(names), horizontal_spacing=0.05, shared_yaxes=True)
    for i, ((edges, counts), name, color) in enumerate(zip(hists, names, colors, strict=True), start=1):
        edges, counts = np.asarray(edges, np.float64), np.asarray(counts)
        share = counts / max(counts.sum(), 1)
        fig.add_bar(x=(edges[:-1] + edges[1:]) / 2, y=share, width=np.diff(edges), marker_color=color, showlegend=False,
                    name=str(name), row=1, col=i, customdata=np.stack([edges[:-1], edges[1:]], axis=1),
                    hovertemplate="%{customdata[0]:.1f} to %{customdata[1]:.1f}: %{y:.1%}<extra></extra>")
        for x0, x1 in ((-clip, -limit), (limit, clip)):
            fig.add_vrect(x0=x0, x1=x1, fillcolor="#fa5252", opacity=0.08, line_width=0, row=1, col=i)
        fig.update_xaxes(title_text=x_title, range=[-clip, clip], row=1, col=i, tickvals=[-clip, -limit, 0, limit, clip],
                         ticktext=[f"≤{-clip:g}", f"{-limit:g}", "0", f"{limit:g}", f"≥{clip:g}"], tickfont={"size": 10})
    fig.update_yaxes(tickformat=".0%")
    fig.update_yaxes(title_text=y_title, row=1, col=1)
    return _layout(fig, title=title, height=height)


def bars(names, values, *, title, y_title, colors, marked=None, mark_text="", height=320):
    """Bars of shares in [0, 1], labelled with the percentage; the bar at marked gets mark_text above its label."""
    labels = [f"{n}<br><b>{mark_text}</b>" if n == marked and mark_text else str(n) for n in names]
    fig = go.Figure(go.Bar(x=labels, y=list(values), marker_color=list(colors), text=[f"{v:.1%}" for v in values],
                           textposition="outside", cliponaxis=False, hovertemplate="%{x}: %{y:.2%}<extra></extra>"))
    _layout(fig, title=title, height=height)
    fig.update_yaxes(title_text=y_title, range=[0, 1.12], tickformat=".0%")
    return fig


def accuracy_dots(names, series, *, title, y_title, height=360):
    """A dot per choice and measure ({label: (values, colour)}): close accuracies stay readable, no bar starts at 0.

    The first measure is labelled on the left of its dots, the others on the right, so two close dots keep apart labels.
    """
    fig = go.Figure()
    for j, (label, (values, color)) in enumerate(series.items()):
        fig.add_scatter(x=list(names), y=list(values), mode="markers+text", name=label, text=[f"{v:.2%}" for v in values],
                        textposition="middle left" if j == 0 else "middle right", marker={"size": 13, "color": color},
                        hovertemplate=f"%{{x}} · {label}: %{{y:.2%}}<extra></extra>")
    _layout(fig, title=title, height=height).update_layout(legend=LEGEND)
    fig.update_xaxes(range=[-0.6, len(names) - 0.4])
    fig.update_yaxes(title_text=y_title, tickformat=".1%")
    return fig


def _thin(points, *, most=MAX_POINTS):
    """At most `most` evenly spread points, the last one kept: the browser redraws the curves every CHART_EVERY seconds."""
    if len(points) <= most:
        return points
    keep = np.unique(np.linspace(0, len(points) - 1, most).round().astype(int))
    return [points[i] for i in keep]


def live_curves(snap, *, names, epochs, text):
    """(loss figure, accuracy figure) of a training job's snapshot (ui.train_state.Job.snapshot).

    One run: running training loss, running training accuracy and validation accuracy after each epoch. Several runs
    (a comparison): one colour per choice, training loss and validation accuracy. text holds every visible word.
    """
    single = len(names) == 1
    loss, acc = [], []
    for name in names:
        steps, ends = _thin(snap["steps"].get(name, [])), snap["epochs"].get(name, [])
        color = "#3b5bdb" if single else KIND_COLORS.get(name)
        label = "" if single else f"{name}: "
        loss.append({"name": label + text["train_loss"], "x": [s[0] for s in steps], "y": [s[1] for s in steps], "color": color})
        if single:
            acc.append({"name": text["train_acc"], "x": [s[0] for s in steps], "y": [s[2] for s in steps], "color": color})
        acc.append({"name": label + text["val_acc"], "x": [e["epoch"] for e in ends], "y": [e["val_acc"] for e in ends],
                    "color": "#f08c00" if single else color, "markers": True})
    x_range = [0, epochs]
    return (curves(loss, title=text["loss_title"], x_title=text["x_title"], y_title=text["loss_y"], x_range=x_range, log_y=True),
            curves(acc, title=text["acc_title"], x_title=text["x_title"], y_title=text["acc_y"], x_range=x_range, percent=True))
