"""Chart builders of the single-image page: plain data in, a titled plotly figure out (no streamlit here).

probability_chart is the app's one chart of the 10 softmax probabilities: every page that shows them imports it.
Visible words (titles, axis titles, legend names) are arguments, so pages pass translated text.
"""
import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from engine import units
from ui.charts import INK, title_margin, wrap
from ui.stats import percent

PICKED, OTHER, TRUE = "#3b5bdb", "#adb5bd", "#2b8a3e"  # the answer in the app's blue, the rest grey, the truth in green
PLUS, MINUS = "#2b8a3e", "#c92a2a"  # a contribution that raises the score, one that lowers it
# blue = negative, white = 0, red = positive: weights and gradients have a sign, so 0 must be neutral
DIVERGING = [[0.0, "#2166ac"], [0.25, "#92c5de"], [0.5, "#f7f7f7"], [0.75, "#f4a582"], [1.0, "#b2182b"]]
# the same, with 0 fully transparent, for drawing on top of a digit
OVERLAY = [[0.0, "rgba(33,102,172,0.95)"], [0.35, "rgba(33,102,172,0.45)"], [0.5, "rgba(255,255,255,0)"],
           [0.65, "rgba(178,24,43,0.45)"], [1.0, "rgba(178,24,43,0.95)"]]
LAYER_COLORS = ("#3b5bdb", "#f08c00", "#7048e8", "#0ca678")
HIDDEN = {"visible": False}
PIXEL_X = {"constrain": "domain"}
PIXEL_Y = {"autorange": "reversed", "scaleanchor": "x", "constrain": "domain"}  # square pixels, row 0 on top


def _figure(data, *, title, height, x_title=None, y_title=None, xaxis=None, yaxis=None, **layout):
    """A go.Figure from plain trace dicts and layout options, with ui.charts' title and margins.

    A title too long for a 390 px phone is broken into lines (ui.charts.wrap); each extra line adds its height to the
    figure, so the plot keeps the height it was given.
    """
    title = wrap(title)
    top = title_margin(title)
    # one constructor call validates everything once: about 3x faster than add_* / update_* chains,
    # which matters on a page that draws ten charts per rerun
    return go.Figure({"data": data, "layout": {
        "title": {"text": title}, "margin": {"l": 10, "r": 10, "t": top, "b": 10}, "height": height + top - title_margin(""),
        "xaxis": {"title": {"text": x_title}, **(xaxis or {})}, "yaxis": {"title": {"text": y_title}, **(yaxis or {})},
        **layout}})


def probability_chart(p, *, title, predicted=None, true_label=None, x_title="digit", y_title="probability",
                      true_text="true label", height=340):
    """Bars of the 10 probabilities p (10,): the predicted digit (default argmax) in blue, the true label (if known) marked."""
    p = np.asarray(p, np.float64).ravel()
    predicted = int(np.argmax(p)) if predicted is None else int(predicted)
    bar = {"type": "bar", "x": list(range(len(p))), "y": p,
           "marker": {"color": [PICKED if d == predicted else OTHER for d in range(len(p))],
                      "line": {"color": [TRUE if d == true_label else "rgba(0,0,0,0)" for d in range(len(p))], "width": 3}},
           "text": [percent(v) if v >= 0.005 else "" for v in p], "textposition": "outside", "cliponaxis": False,
           "hovertemplate": "%{x}: %{y:.4f} (%{y:.2%})<extra></extra>"}
    marks = [] if true_label is None else [{"x": int(true_label), "y": float(p[int(true_label)]), "yshift": 24, "text": f"▼ {true_text}",
                                            "showarrow": False, "yanchor": "bottom", "font": {"color": TRUE}}]
    return _figure([bar], title=title, height=height, x_title=x_title, y_title=y_title, showlegend=False, annotations=marks,
                   xaxis={"tickmode": "linear", "dtick": 1}, yaxis={"range": [0, 1.18], "tickformat": ".0%"})


def vector_chart(x, *, title, x_title, y_title, height=300):
    """The 784 numbers the net receives, x (784,), one thin bar each; hover names the pixel [row, col] each came from."""
    x = np.asarray(x, np.float64).ravel()
    i = np.arange(len(x))
    bar = {"type": "bar", "x": i, "y": x, "marker": {"color": PICKED, "line": {"width": 0}},
           "customdata": np.stack([i // 28, i % 28], axis=1),
           "hovertemplate": "x[%{x}] = %{y:.4f}  ([%{customdata[0]}, %{customdata[1]}])<extra></extra>"}
    return _figure([bar], title=title, height=height, x_title=x_title, y_title=y_title, bargap=0,
                   xaxis={"range": [-1, len(x)], "tickmode": "linear", "dtick": 112})


def softmax_table(parts, *, headers, predicted):
    """Columns for st.dataframe from explain.softmax_breakdown: digit, logit, logit - max, exp, probability (strings)."""
    digits = [f"{d} ◀" if d == predicted else str(d) for d in range(len(parts["proba"]))]
    return {
        headers[0]: digits,
        headers[1]: [f"{v:.3f}" for v in parts["logits"]],
        headers[2]: [f"{v:.3f}" for v in parts["shifted"]],
        headers[3]: [f"{v:.5f}" for v in parts["exp"]],
        headers[4]: [f"{v:.5f}" for v in parts["proba"]],
    }


def unit_grid(a, z, *, title, order=None, unit_name="unit", zmax=None, height=None, cols=10):
    """One hidden layer's units as a grid of cells coloured by activation z (n,), in reading order of `order` (unit numbers,
    e.g. most active first; default 0, 1, 2 ...); hover gives the unit, a and z."""
    order = np.arange(np.size(z)) if order is None else np.asarray(order, int)
    a, z = np.asarray(a)[order], np.asarray(z)[order]
    zg = units.as_grid(z, cols=cols)  # (rows, cols), NaN in unused cells
    rows, cols = zg.shape
    custom = np.dstack([units.as_grid(order, cols=cols), units.as_grid(a, cols=cols)])  # unit number, a
    top = float(np.nanmax(zg)) if zmax is None else zmax
    cells = {"type": "heatmap", "z": zg, "zmin": 0, "zmax": top or 1.0, "colorscale": "Viridis", "xgap": 2, "ygap": 2,
             "customdata": custom, "colorbar": {"thickness": 12, "title": {"text": "z"}},
             "hovertemplate": f"{unit_name} %{{customdata[0]:.0f}}<br>a = %{{customdata[1]:.3f}}<br>z = %{{z:.4f}}<extra></extra>"}
    # 28 px a line: a phone's 10 cells across are about that wide, so the grid fills its height there and on a desktop
    return _figure([cells], title=title, height=height or 90 + 28 * rows, xaxis={**HIDDEN, **PIXEL_X}, yaxis={**HIDDEN, **PIXEL_Y})


def activation_chart(a_list, z_list, *, activation, names, title, x_title, y_title, saturated_text, unit_name="unit",
                     height=380):
    """Every hidden unit as a dot (a, z) on its activation curve, one colour per layer; sigmoid's flat ends shaded."""
    lo, hi = units.curve_range(a_list)
    ca, cz = units.curve(activation, lo=lo, hi=hi, n=241)
    data = [{"type": "scatter", "x": ca, "y": cz, "mode": "lines", "line": {"color": "#495057", "width": 2},
             "hoverinfo": "skip", "showlegend": False}]
    shapes, notes = [], []
    if activation == "sigmoid":  # grey bands where |a| > SATURATED: the curve is flat there
        for x0, x1 in ((lo, -units.SATURATED), (units.SATURATED, hi)):
            shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": x0, "x1": x1, "y0": 0, "y1": 1,
                           "fillcolor": "#ced4da", "opacity": 0.35, "line": {"width": 0}, "layer": "below"})
            notes.append({"x": (x0 + x1) / 2, "y": 0.5, "text": saturated_text, "showarrow": False, "font": {"color": "#495057"}})
    for i, (a, z, name) in enumerate(zip(a_list, z_list, names, strict=True)):
        data.append({"type": "scatter", "x": np.asarray(a, np.float64), "y": np.asarray(z, np.float64), "mode": "markers",
                     "name": name, "customdata": np.arange(len(a)),
                     "marker": {"size": 8, "opacity": 0.75, "color": LAYER_COLORS[i % len(LAYER_COLORS)],
                                "line": {"width": 0.5, "color": "white"}},
                     "hovertemplate": f"{name}, {unit_name} %{{customdata}}<br>a = %{{x:.3f}}<br>z = %{{y:.4f}}<extra></extra>"})
    return _figure(data, title=title, height=height, x_title=x_title, y_title=y_title, shapes=shapes, annotations=notes,
                   # inside the plot's top left, which both curves leave empty: above it, a phone's title runs into it
                   legend={"orientation": "h", "y": 0.99, "x": 0.01, "xanchor": "left", "yanchor": "top",
                           "bgcolor": "rgba(255,255,255,0.8)"},
                   xaxis={"range": [lo, hi], "zeroline": True})


def contributions_chart(parts, *, title, x_title, unit_name="unit", k=10, height=None):
    """From engine.units.LogitParts: the k most positive and k most negative terms z[j] * w[j] as horizontal bars."""
    terms, z, w = parts.terms, parts.z, parts.w
    order = np.argsort(-terms, kind="stable")
    pos = order[terms[order] > 0][:k]
    neg = order[terms[order] < 0][-k:]  # the k most negative, least negative first
    shown = np.concatenate([pos, neg])
    bar = {"type": "bar", "x": terms[shown], "y": [f"{unit_name} {j}" for j in shown], "orientation": "h",
           "marker": {"color": [PLUS if v > 0 else MINUS for v in terms[shown]]},
           "customdata": np.stack([shown, z[shown], w[shown]], axis=1),
           "hovertemplate": (f"{unit_name} %{{customdata[0]:.0f}}: z = %{{customdata[1]:.4f}} × w = %{{customdata[2]:.4f}}"
                             "<br>= %{x:+.4f}<extra></extra>")}
    zero = {"type": "line", "xref": "x", "yref": "paper", "x0": 0, "x1": 0, "y0": 0, "y1": 1,
            "line": {"color": "#495057", "width": 1}}
    return _figure([bar], title=title, height=height or 110 + 20 * len(shown), x_title=x_title, shapes=[zero],
                   yaxis={"autorange": "reversed", "type": "category"})


def template_grid(images, *, units, z, names, title, cols=4, height=None):
    """Weight templates (k, 28, 28) of units (k,) with activations z (k,), cols to a line, on one diverging scale around 0
    (red raises the unit, blue lowers it); names (k,) are the hover's words for each unit.

    Four templates to a line leave each about 65 px on a 390 px phone: room for "#12" over "z = 0.97", not for
    "ニューロン 12 (z = 0.97)", so the full name is in the hover.
    """
    images = np.asarray(images, np.float64)
    k, h, w = images.shape
    gap, label = 3, 18  # between templates, and above each for its two lines of 11 px (in pixels of the template: 2 px on a phone)
    top = float(np.percentile(np.abs(images), 99.5)) or 1.0  # one extreme weight must not wash out the other templates
    rr, cc = np.mgrid[0:h, 0:w]
    pixel = np.dstack([rr, cc])  # (h, w, 2): hover reads the template's own [row, col]
    data, notes = [], []
    for i, (unit, act, name) in enumerate(zip(units, z, names, strict=True)):
        r, c = divmod(i, cols)
        x0, y0 = c * (w + gap), r * (h + label)
        data.append({"type": "heatmap", "z": images[i], "x0": x0, "y0": y0, "customdata": pixel, "coloraxis": "coloraxis",
                     "hovertemplate": f"{name}: [%{{customdata[0]}}, %{{customdata[1]}}] = %{{z:.3f}}<extra></extra>"})
        notes.append({"x": x0 + w / 2 - 0.5, "y": y0 - 1, "text": f"#{int(unit)}<br>z = {float(act):.2f}", "showarrow": False,
                      "yanchor": "bottom", "font": {"size": 11}})
    rows, across = -(-k // cols), min(k, cols)
    x = {"range": [-0.5, across * (w + gap) - gap - 0.5]}
    y = {"range": [rows * (h + label) - label - 0.5, -label + 0.5]}  # reversed (row 0 on top), the first labels inside
    return _figure(data, title=title, height=height or 60 + 150 * rows, annotations=notes,
                   coloraxis={"colorscale": DIVERGING, "cmin": -top, "cmax": top, "colorbar": {"thickness": 12}},
                   xaxis={**HIDDEN, **PIXEL_X, **x}, yaxis={**HIDDEN, **PIXEL_Y, "autorange": False, **y})


def saliency_overlay(digit, grad, *, title, x_title="col", y_title="row", height=420):
    """The digit (28, 28) 0-255 in grey with the gradient (28, 28) on top: red = more ink here raises the score, blue lowers it."""
    digit, grad = np.asarray(digit, np.float64), np.asarray(grad, np.float64)
    top = float(np.max(np.abs(grad))) or 1.0
    data = [{"type": "heatmap", "z": digit, "zmin": 0, "zmax": 255, "colorscale": INK, "showscale": False, "hoverinfo": "skip"},
            {"type": "heatmap", "z": grad, "zmin": -top, "zmax": top, "colorscale": OVERLAY, "customdata": digit,
             "colorbar": {"thickness": 12, "title": {"text": "∂a/∂x"}},
             "hovertemplate": "[%{y}, %{x}] = %{customdata:.0f} · ∂a/∂x = %{z:+.5f}<extra></extra>"}]  # symbols only: nothing to translate
    return _figure(data, title=title, height=height, x_title=x_title, y_title=y_title, xaxis=PIXEL_X, yaxis=PIXEL_Y)


def step_strip(steps, *, side=150):
    """[(title, uint8 image (h, w))] -> [(title, PNG bytes)], each shrunk or enlarged (hard pixel edges) to fit side x side."""
    out = []
    for title, img in steps:
        pic = Image.fromarray(np.asarray(img, np.uint8), mode="L")
        k = side / max(pic.size)
        size = (max(1, round(pic.width * k)), max(1, round(pic.height * k)))
        pic = pic.resize(size, Image.Resampling.NEAREST if k >= 1 else Image.Resampling.BOX)
        buf = io.BytesIO()
        pic.save(buf, format="PNG")
        out.append((title, buf.getvalue()))
    return out
