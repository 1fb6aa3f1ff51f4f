"""Plotly builders of the preprocessing page: per-choice digits and histograms, bars and accuracy dots.

Pure functions (data in, figure out); every visible word is an argument, so the page passes translated text. Hover
texts hold numbers and symbols only (a range is "lo … hi"), so they read the same in every language.
"""
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui.charts import INK
from ui.curves import layout

DIVERGING = "RdBu_r"  # negative blue, 0 white, positive red: 0 reads as paper, as in the ink scale
LEGEND = {"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"}


def _axis_suffix(i):
    return "" if i == 1 else str(i)


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
    return layout(fig, title=title, height=height, margin_b=50)


def value_histograms(hists, *, names, title, x_title, y_title, colors, height=330):
    """One histogram per choice, side by side, each over its own value range; hists is a list of (edges, counts); log y."""
    fig = make_subplots(rows=1, cols=len(hists), subplot_titles=list(names), horizontal_spacing=0.055)
    for i, ((edges, counts), name, color) in enumerate(zip(hists, names, colors, strict=True), start=1):
        edges, counts = np.asarray(edges, np.float64), np.asarray(counts)
        mid, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
        share = counts / max(counts.sum(), 1)
        fig.add_bar(x=mid, y=counts, width=width, marker_color=color, name=str(name), showlegend=False, row=1, col=i,
                    customdata=np.stack([edges[:-1], edges[1:], share], axis=1),
                    hovertemplate="%{customdata[0]:.3g} … %{customdata[1]:.3g}: %{y:,} (%{customdata[2]:.1%})<extra></extra>")
        fig.update_xaxes(title_text=x_title, row=1, col=i, nticks=4)
    fig.update_yaxes(type="log", dtick=1)  # a tick per power of ten: no crowd of 2s and 5s in narrow panels
    fig.update_yaxes(title_text=y_title, row=1, col=1)
    return layout(fig, title=title, height=height).update_layout(margin_t=105)  # room for two-line panel titles


def activation_histograms(hists, *, names, title, x_title, y_title, colors, limit, clip, height=320):
    """Histograms of layer-1 pre-activations per choice on one x range [-clip, clip]; the saturated zone |a| > limit is shaded."""
    fig = make_subplots(rows=1, cols=len(hists), subplot_titles=list(names), horizontal_spacing=0.05, shared_yaxes=True)
    for i, ((edges, counts), name, color) in enumerate(zip(hists, names, colors, strict=True), start=1):
        edges, counts = np.asarray(edges, np.float64), np.asarray(counts)
        share = counts / max(counts.sum(), 1)
        fig.add_bar(x=(edges[:-1] + edges[1:]) / 2, y=share, width=np.diff(edges), marker_color=color, showlegend=False,
                    name=str(name), row=1, col=i, customdata=np.stack([edges[:-1], edges[1:]], axis=1),
                    hovertemplate="%{customdata[0]:.1f} … %{customdata[1]:.1f}: %{y:.1%}<extra></extra>")
        for x0, x1 in ((-clip, -limit), (limit, clip)):
            fig.add_vrect(x0=x0, x1=x1, fillcolor="#fa5252", opacity=0.08, line_width=0, row=1, col=i)
        fig.update_xaxes(title_text=x_title, range=[-clip, clip], row=1, col=i, tickvals=[-clip, -limit, 0, limit, clip],
                         ticktext=[f"≤{-clip:g}", f"{-limit:g}", "0", f"{limit:g}", f"≥{clip:g}"], tickfont={"size": 10})
    fig.update_yaxes(tickformat=".0%")
    fig.update_yaxes(title_text=y_title, row=1, col=1)
    return layout(fig, title=title, height=height)


def bars(names, values, *, title, y_title, colors, marked=None, mark_text="", height=320):
    """Bars of shares in [0, 1], labelled with the percentage; the bar at marked gets mark_text above its label."""
    labels = [f"{n}<br><b>{mark_text}</b>" if n == marked and mark_text else str(n) for n in names]
    fig = go.Figure(go.Bar(x=labels, y=list(values), marker_color=list(colors), text=[f"{v:.1%}" for v in values],
                           textposition="outside", cliponaxis=False, hovertemplate="%{x}: %{y:.2%}<extra></extra>"))
    layout(fig, title=title, height=height)
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
    layout(fig, title=title, height=height).update_layout(legend=LEGEND)
    fig.update_xaxes(range=[-0.6, len(names) - 0.4])
    fig.update_yaxes(title_text=y_title, tickformat=".1%")
    return fig
