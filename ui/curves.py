"""Learning curves shared by the preprocessing and training pages: lines over epochs, live curves of a running job.

Pure functions (data in, figure out); every visible word is an argument, so pages pass translated text.
"""
import numpy as np
import plotly.graph_objects as go

from ui.charts import title_margin, wrap

KIND_COLORS = {"raw": "#868e96", "unit": "#3b5bdb", "center": "#2f9e44", "standardize": "#f08c00", "whiten": "#ae3ec9"}
MAX_POINTS = 150  # per live curve: a redraw of 3 x 600 points cost the browser enough to delay another visitor's page


def layout(fig, *, title, height, margin_b=10):
    """Title (in lines that fit a phone: ui.charts.wrap), height and margins of a figure of these pages."""
    title = wrap(title)
    fig.update_layout(title={"text": title}, height=height, margin={"l": 10, "r": 10, "t": title_margin(title) + 10, "b": margin_b})
    return fig


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
    layout(fig, title=title, height=height, margin_b=10).update_layout(
        showlegend=True, legend={"orientation": "h", "y": -0.22, "x": 0, "yanchor": "top"})
    if x_range is not None:  # a little room at the right, so the last epoch's marker is not cut in half
        x_range = [x_range[0], x_range[1] + 0.03 * (x_range[1] - x_range[0])]
    fig.update_xaxes(title_text=x_title, range=x_range, rangemode="tozero")
    ticks = _log_ticks(y for s in series for y in s["y"]) if log_y else None
    fig.update_yaxes(title_text=y_title, type="log" if log_y else "linear", tickformat=".0%" if percent else ".3g",
                     tickvals=ticks)
    return fig


def _thin(points, *, most=MAX_POINTS):
    """At most `most` evenly spread points, the last one kept: the browser redraws the curves every CHART_EVERY seconds."""
    if len(points) <= most:
        return points
    keep = np.unique(np.linspace(0, len(points) - 1, most).round().astype(int))
    return [points[i] for i in keep]


def live_curves(snap, *, names, epochs, text):
    """(loss figure, accuracy figure) of a training job's snapshot (ui.jobs.Job.snapshot).

    One run: running training loss, running training accuracy and validation accuracy after each epoch. Several runs
    (a comparison): one colour per choice, training loss and validation accuracy. text holds every visible word.
    """
    single = len(names) == 1
    loss, acc = [], []
    for name in names:
        steps, ends = _thin(snap["steps"].get(name, [])), snap["epochs"].get(name, [])
        color = "#3b5bdb" if single else KIND_COLORS.get(name.partition("@")[0])  # a seeded run kind@seed: its kind's colour
        label = "" if single else f"{name}: "
        loss.append({"name": label + text["train_loss"], "x": [s[0] for s in steps], "y": [s[1] for s in steps], "color": color})
        if single:
            acc.append({"name": text["train_acc"], "x": [s[0] for s in steps], "y": [s[2] for s in steps], "color": color})
        acc.append({"name": label + text["val_acc"], "x": [e["epoch"] for e in ends], "y": [e["val_acc"] for e in ends],
                    "color": "#f08c00" if single else color, "markers": True})
    x_range = [0, epochs]
    return (curves(loss, title=text["loss_title"], x_title=text["x_title"], y_title=text["loss_y"], x_range=x_range, log_y=True),
            curves(acc, title=text["acc_title"], x_title=text["x_title"], y_title=text["acc_y"], x_range=x_range, percent=True))
