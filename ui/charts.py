"""Plotly chart builders: plain data in, a titled figure out. No streamlit here, so pages and tests share them.

Titles fit a 390 px phone: plotly never wraps one, so wrap() breaks a long title into lines, title_size() shrinks one
that links and tests quote whole, and title_margin() is the top margin that holds the lines.

Every builder takes its visible words (title, axis titles) as arguments, so pages pass translated text.
Hover text uses numpy's own notation ([row, col] = value) so it needs no translation.
"""
import re

import numpy as np
import plotly.graph_objects as go

DIGIT_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")  # plotly's D3 palette: ten distinct hues
SPLIT_COLORS = {"train": "#3b5bdb", "test": "#f08c00"}
INK = [[0.0, "#ffffff"], [1.0, "#111111"]]  # 0 = white paper, 255 = black ink: how people read digits


def config(filename, *, toolbar=True):
    """st.plotly_chart config: the plotly toolbar (shown on hover, or never), its camera button saving filename.png at 2x."""
    return {"displaylogo": False, "displayModeBar": "hover" if toolbar else False,
            "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2}}


TITLE_EM = 18  # a title line, in ems of plotly's title font: about 300 px, inside the chart on a 390 px phone
TITLE_PX, PHONE_TITLE_PX = 16, 330  # plotly's title size under Streamlit's theme; the room for a title on that phone
_WIDE = "\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6"  # CJK: 1 em each
_TOKEN = re.compile(rf"<[^>]+>|[{_WIDE}]|[^\s<{_WIDE}]+\s*|\s+")  # markup, one CJK character, a word and its space
_NO_LINE_START = set("，、。：；！？）」』】〉》")  # closing punctuation stays on its line


def _em(text):
    """The width of plain text in ems: 1 for a CJK character, 0.42 for a Latin one (plotly's sans serif on average)."""
    return sum(1.0 if re.match(f"[{_WIDE}]", ch) else 0.42 for ch in text)


def _open_bracket(line):
    """Where the last bracket still open in line starts (0 if none is open)."""
    depth, start = 0, 0
    for i in range(len(line) - 1, -1, -1):
        if line[i] in ")）":
            depth += 1
        elif line[i] in "(（":
            if depth == 0:
                start = i
                break
            depth -= 1
    return start


def wrap(text, *, em=TITLE_EM):
    """A chart title in lines of at most em ems, joined by <br>: plotly never wraps a title, and a phone cuts it off.

    Lines break at spaces, and between any two CJK characters (Chinese and Japanese have no spaces); markup and the
    breaks already there are kept.
    """
    out = []
    for part in re.split(r"<br\s*/?>", text):
        lines, line, width = [], "", 0.0
        for tok in _TOKEN.findall(part):
            w = 0.0 if tok.startswith("<") else _em(tok.rstrip())
            if line.strip() and w and width + w > em and tok not in _NO_LINE_START:
                cut = _open_bracket(line)
                if cut and _em(line[:cut]) >= 0.4 * em:  # "… occurs<br>(train set, all digits)", not "(train<br>set"
                    lines.append(line[:cut].rstrip())
                    line = line[cut:]
                else:
                    lines.append(line.rstrip())
                    line, tok = "", tok.lstrip()
                width = _em(line)
            line += tok
            width += 0.0 if tok.startswith("<") else _em(tok)
        lines.append(line.rstrip())
        out += lines
    return "<br>".join(out)


def title_size(title):
    """A font size (px) that keeps title on one line inside a phone's chart, or None when the theme's 16 px fits.

    For titles that links and tests quote whole; a longer title is better broken into lines with wrap().
    """
    width = _em(re.sub(r"<[^>]+>", "", str(title)))
    return None if width * TITLE_PX <= PHONE_TITLE_PX else max(11, int(PHONE_TITLE_PX / width))


def title_margin(title):
    """The top margin (px) that holds a title of this many lines above the plot."""
    return 28 + 22 * (str(title).count("<br>") + 1)


def _layout(fig, *, title, x_title=None, y_title=None, height=None, fit_title=True, **extra):
    size = title_size(title) if fit_title else None  # these titles are quoted whole (links, tests): smaller, not broken
    fig.update_layout(title={"text": title, **({"font": {"size": size}} if size else {})}, height=height,
                      margin={"l": 10, "r": 10, "t": title_margin(title), "b": 10}, **extra)
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    return fig


def _pixel_axes(fig):
    """Square pixels, row 0 at the top, like the array and like the picture."""
    fig.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain")
    fig.update_xaxes(constrain="domain")
    return fig


def digit_heatmap(img, *, title, x_title="col", y_title="row", colorscale=None, zmax=255, value_format="d", height=380,
                  unit=None, fit_title=False):
    """A (28, 28) image as a heatmap; hover shows [row, col] = value. colorscale defaults to black ink on white.

    unit titles the colour bar (what its numbers measure); fit_title shrinks a long title to fit a phone (title_size()).
    """
    z = np.asarray(img, np.float32)
    fig = go.Figure(go.Heatmap(
        z=z, zmin=0, zmax=zmax if zmax is not None else float(np.nanmax(z)) or 1.0,
        colorscale=colorscale or INK, xgap=0, ygap=0, colorbar=_colorbar(unit, value_format),
        hovertemplate=f"[%{{y}}, %{{x}}] = %{{z:{value_format}}}<extra></extra>"))
    return _pixel_axes(_layout(fig, title=title, x_title=x_title, y_title=y_title, height=height, fit_title=fit_title))


def _colorbar(unit, value_format):
    """A vertical colour bar titled with its unit, its ticks in the hover's number format ("12,000", not "12k")."""
    if unit is None:
        return {}
    return {"title": {"text": unit, "side": "right"}, "tickformat": "," if value_format in ("d", ",.0f") else None}


def image_grid(images, *, title, names, cols=5, colorscale=None, zmax=255, value_format=".1f", height=400, unit=None):
    """Small multiples: images (k, 28, 28) in rows of cols, each labelled with names[i] above it, one shared colour scale
    whose bar (titled unit) lies below, so the images get the whole width of a phone."""
    images = np.asarray(images, np.float32)
    k, h, w = images.shape
    gap, row_gap = 3, 9  # pixels of the images; a row's gap holds the labels of the row below, even at a phone's scale
    rr, cc = np.mgrid[0:h, 0:w]
    pixel = np.dstack([rr, cc])  # (h, w, 2): hover reads the image's own [row, col], not the canvas position
    fig = go.Figure()
    for i, name in enumerate(names):
        r, c = divmod(i, cols)
        x0, y0 = c * (w + gap), r * (h + row_gap)
        fig.add_heatmap(z=images[i], x0=x0, y0=y0, customdata=pixel, coloraxis="coloraxis", name=str(name),
                        hovertemplate=f"{name}: [%{{customdata[0]}}, %{{customdata[1]}}] = %{{z:{value_format}}}<extra></extra>")
        fig.add_annotation(x=x0 + w / 2 - 0.5, y=y0 - 1.2, text=f"<b>{name}</b>", showarrow=False, yanchor="bottom")
    top = float(np.nanmax(images)) if zmax is None else zmax
    bar = {**_colorbar(unit, value_format), "orientation": "h", "y": -0.02, "yanchor": "top", "len": 0.6, "thickness": 10}
    if unit is not None:
        bar["title"]["side"] = "bottom"
    _layout(fig, title=title, height=height, coloraxis={"colorscale": colorscale or INK, "cmin": 0, "cmax": top or 1.0, "colorbar": bar})
    fig.update_layout(margin_b=70)  # the colour bar, its numbers and its unit
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _pixel_axes(fig)


def class_distribution(counts, *, title, x_title, y_title, names=None, height=340):
    """Grouped bars of images per digit for each split; counts is {split: (10,) ints}, names {split: legend name}. Hover adds the share."""
    fig = go.Figure()
    for split, c in counts.items():
        c = np.asarray(c)
        name = (names or {}).get(split, split)
        fig.add_bar(x=list(range(len(c))), y=c, name=name, marker_color=SPLIT_COLORS.get(split),
                    customdata=c / max(c.sum(), 1),
                    hovertemplate=f"{name} %{{x}}: %{{y:,}} (%{{customdata:.1%}})<extra></extra>")
    _layout(fig, title=title, x_title=x_title, y_title=y_title, height=height, barmode="group",
            legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"})
    fig.update_xaxes(tickmode="linear", dtick=1)
    return fig


def histogram(edges, counts, *, title, x_title, y_title, log_y=True, height=340):
    """Bars of counts over [edges[i], edges[i+1]) bins; a log y axis keeps the few bright pixels visible beside the many zeros."""
    edges, counts = np.asarray(edges), np.asarray(counts)
    left, width = edges[:-1], np.diff(edges)
    fig = go.Figure(go.Bar(
        x=left + width / 2, y=counts, width=width * 0.95, marker_color="#3b5bdb",
        customdata=np.stack([left, edges[1:] - 1, counts / max(counts.sum(), 1)], axis=1),
        hovertemplate="%{customdata[0]}–%{customdata[1]}: %{y:,} (%{customdata[2]:.2%})<extra></extra>"))
    _layout(fig, title=title, x_title=x_title, y_title=y_title, height=height)
    fig.update_yaxes(type="log" if log_y else "linear")
    fig.update_xaxes(range=[edges[0], edges[-1]])
    return fig


def pca_scatter(coords, labels, indices, *, title, x_title, y_title, height=520):
    """Points (m, 2) coloured by digit, one legend entry per digit (click to hide); hover shows the image index."""
    coords, labels, indices = np.asarray(coords), np.asarray(labels), np.asarray(indices)
    fig = go.Figure()
    for d in range(10):
        m = labels == d
        fig.add_scatter(x=coords[m, 0], y=coords[m, 1], mode="markers", name=str(d), customdata=indices[m],
                        marker={"size": 5, "opacity": 0.7, "color": DIGIT_COLORS[d]},
                        hovertemplate=f"{d} · #%{{customdata}}<extra></extra>")
    return _layout(fig, title=title, x_title=x_title, y_title=y_title, height=height, legend={"itemsizing": "constant"})
