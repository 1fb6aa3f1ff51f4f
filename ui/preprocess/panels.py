"""Small multiples of the preprocessing page: one panel per choice (a digit, a histogram), two panels to a line.

Two to a line reads on a 390 px phone (panels about 155 px wide) and beside another figure on a desktop (the page
draws each figure PANELS_PX wide). Plotly cannot reflow subplots to the screen, so the grid is the same everywhere,
and every length below is in pixels so panels keep their size whatever the number of lines.
Pure functions (data in, figure out); every visible word is an argument, so the page passes translated text.
"""
import numpy as np
import plotly.graph_objects as go

from ui.charts import INK, title_margin, wrap

DIVERGING = "RdBu_r"  # negative blue, 0 white, positive red: 0 reads as paper, as in the ink scale
COLS = 2
PANELS_PX = 480  # the figure's width on a desktop; on a phone it shrinks to the screen and the panels with it
NAME_PX = 34  # above a panel: its name on up to two lines of 12 px
PANEL_FONT = {"size": 12}
TICKS = {"size": 10}


def _suffix(i):
    return "" if i == 0 else str(i + 1)


def _grid(fig, n, *, title, plot_px, below_px, gap_x, names):
    """Lay out n panels COLS to a line: panel i gets axes x{i+1}/y{i+1} and its name above it; returns the domains.

    plot_px is a panel's height; below_px the room under it (a colour bar or an axis with its title).
    """
    rows = -(-n // COLS)
    title = wrap(title)
    top, bottom = title_margin(title) + NAME_PX, below_px
    area = rows * plot_px + (rows - 1) * (below_px + NAME_PX)
    width = (1 - (COLS - 1) * gap_x) / COLS
    domains = []
    for i in range(n):
        r, c = divmod(i, COLS)
        y1 = 1 - r * (plot_px + below_px + NAME_PX) / area
        x = [round(c * (width + gap_x), 6), round(c * (width + gap_x) + width, 6)]
        y = [max(0.0, round(y1 - plot_px / area, 6)), round(y1, 6)]  # no -5.6e-17 for the last line's 0
        fig.update_layout({f"xaxis{_suffix(i)}": {"domain": x, "anchor": f"y{_suffix(i)}"},
                           f"yaxis{_suffix(i)}": {"domain": y, "anchor": f"x{_suffix(i)}"}})
        fig.add_annotation(text=str(names[i]), x=sum(x) / 2, y=y1, xref="paper", yref="paper", xanchor="center",
                           yanchor="bottom", showarrow=False, font=PANEL_FONT)
        domains.append((x, y))
    # the title at the very top: plotly's default centres it in the margin, where the first panels' names are
    fig.update_layout(title={"text": title, "yref": "container", "y": 1, "yanchor": "top", "pad": {"t": 16}},
                      height=top + area + bottom, margin={"l": 10, "r": 10, "t": top, "b": bottom})
    return domains


def digit_panels(images, *, names, units, title, value_format=".3g", show_range=False, robust=(), plot_px=180):
    """Images (28, 28), each with its own colour scale: ink for >= 0, blue-white-red once values go negative; under
    each a colour bar titled with units[i], what its numbers measure.

    show_range adds each image's min … max under its name; panels whose index is in robust scale their colours to the
    second-largest |value|, so one dominant pixel (the whitening filter's centre) does not wash out the rest.
    """
    images, names = [np.asarray(img, np.float32) for img in images], list(names)
    titles = [f"{n}<br>{img.min():.3g} … {img.max():.3g}" for n, img in zip(names, images, strict=True)] if show_range else names
    fig = go.Figure()
    domains = _grid(fig, len(images), title=title, plot_px=plot_px, below_px=62, gap_x=0.08, names=titles)
    for i, (z, (x, y)) in enumerate(zip(images, domains, strict=True)):
        lo, hi = float(z.min()), float(z.max())
        signed = lo < 0 < hi
        top = max(abs(lo), abs(hi)) or 1.0
        if i in robust:
            top = float(np.sort(np.abs(z).ravel())[-2]) or top
            lo, hi = max(lo, -top), min(hi, top)
        axis = f"coloraxis{_suffix(i)}"
        fig.add_heatmap(z=z, coloraxis=axis, xaxis=f"x{_suffix(i)}", yaxis=f"y{_suffix(i)}", name=str(names[i]),
                        hovertemplate=f"[%{{y}}, %{{x}}] = %{{z:{value_format}}}<extra>{names[i]}</extra>")
        bar = {"orientation": "h", "x": sum(x) / 2, "xanchor": "center", "len": x[1] - x[0], "y": y[0], "yanchor": "top",
               "ypad": 6, "thickness": 10, "nticks": 4, "tickfont": TICKS, "title": {"text": units[i], "side": "bottom",
                                                                                      "font": TICKS}}
        fig.update_layout({axis: {"colorscale": DIVERGING if signed else INK, "cmin": -top if signed else min(lo, 0.0),
                                  "cmax": top if signed else (hi if hi > 0 else 1.0), "colorbar": bar},
                           f"yaxis{_suffix(i)}": {"autorange": "reversed", "scaleanchor": f"x{_suffix(i)}",
                                                  "constrain": "domain", "visible": False},
                           f"xaxis{_suffix(i)}": {"constrain": "domain", "visible": False}})
    return fig


def value_histograms(hists, *, names, title, x_title, y_title, colors, plot_px=150):
    """One histogram per choice, each over its own value range; hists is a list of (edges, counts); log y."""
    fig = go.Figure()
    _grid(fig, len(hists), title=title, plot_px=plot_px, below_px=52, gap_x=0.14, names=names)
    for i, ((edges, counts), name, color) in enumerate(zip(hists, names, colors, strict=True)):
        edges, counts = np.asarray(edges, np.float64), np.asarray(counts)
        mid, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
        share = counts / max(counts.sum(), 1)
        fig.add_bar(x=mid, y=counts, width=width, marker_color=color, name=str(name), showlegend=False,
                    xaxis=f"x{_suffix(i)}", yaxis=f"y{_suffix(i)}", customdata=np.stack([edges[:-1], edges[1:], share], axis=1),
                    hovertemplate="%{customdata[0]:.3g} … %{customdata[1]:.3g}: %{y:,} (%{customdata[2]:.1%})<extra></extra>")
        fig.update_layout({f"xaxis{_suffix(i)}": {"title": {"text": x_title, "font": TICKS}, "nticks": 4, "tickfont": TICKS},
                           f"yaxis{_suffix(i)}": {"type": "log", "dtick": 1, "tickfont": TICKS,  # a tick per power of ten
                                                  "title": {"text": y_title if i % COLS == 0 else None, "font": TICKS}}})
    return fig


def activation_histograms(hists, *, names, title, x_title, y_title, colors, limit, clip, plot_px=140):
    """Histograms of layer-1 pre-activations per choice on one x range [-clip, clip] and one y range; the saturated
    zone |a| > limit is shaded."""
    fig = go.Figure()
    _grid(fig, len(hists), title=title, plot_px=plot_px, below_px=52, gap_x=0.1, names=names)
    shares = [np.asarray(c) / max(np.asarray(c).sum(), 1) for _, c in hists]
    y_top = 1.05 * max(float(s.max()) for s in shares) or 1.0
    for i, ((edges, _), share, name, color) in enumerate(zip(hists, shares, names, colors, strict=True)):
        edges = np.asarray(edges, np.float64)
        xa, ya = f"x{_suffix(i)}", f"y{_suffix(i)}"
        fig.add_bar(x=(edges[:-1] + edges[1:]) / 2, y=share, width=np.diff(edges), marker_color=color, showlegend=False,
                    name=str(name), xaxis=xa, yaxis=ya, customdata=np.stack([edges[:-1], edges[1:]], axis=1),
                    hovertemplate="%{customdata[0]:.1f} … %{customdata[1]:.1f}: %{y:.1%}<extra></extra>")
        for x0, x1 in ((-clip, -limit), (limit, clip)):
            fig.add_shape(type="rect", xref=xa, yref=f"{ya} domain", x0=x0, x1=x1, y0=0, y1=1, fillcolor="#fa5252",
                          opacity=0.08, line_width=0, layer="below")
        fig.update_layout({f"xaxis{_suffix(i)}": {"title": {"text": x_title, "font": TICKS}, "range": [-clip, clip],
                                                  "tickvals": [-clip, -limit, 0, limit, clip], "tickfont": TICKS,
                                                  "ticktext": [f"≤{-clip:g}", f"{-limit:g}", "0", f"{limit:g}", f"≥{clip:g}"]},
                           f"yaxis{_suffix(i)}": {"range": [0, y_top], "tickformat": ".0%", "tickfont": TICKS,
                                                  "showticklabels": i % COLS == 0,  # one scale for all: read it on the left
                                                  "title": {"text": y_title if i % COLS == 0 else None, "font": TICKS}}})
    return fig
