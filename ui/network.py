"""The network at work on one input, for the home and single-image pages: the answer card and the live network drawing.

Both are HTML/SVG for st.markdown (no plotly, so home stays free of its bundle; st.html would drop the SVG) built from one
engine.explain.Trace, so every number is the one the single page's detailed sections show. Every text is escaped.
"""
import hashlib
from html import escape

import numpy as np
import streamlit as st

from engine import explain, unsure
from engine.errors import EngineError
from engine.familiar import familiarity
from ui import loaders, models
from ui.i18n import t
from ui.stats import percent

W, H = 640, 430  # viewBox; the drawing scales to its column's width
TOP, BOTTOM = 56, 370  # y of the first and last unit slot
FULL = 20  # a hidden layer this wide or narrower is drawn whole ...
MOST = 12  # ... a wider one shows its 12 most active units (and every unit an edge touches) and counts the rest
HOVERS = ("pixel", "unit", "digit", "unit_hover", "digit_hover", "edge_hover")  # texts repeated per unit, pixel or edge
EDGES = 6  # strongest contributions drawn into each layer (engine.explain.strongest_paths)
PIXEL = 5  # px per input pixel: the input is drawn as the 28 x 28 picture the net receives
PIC_X, PIC_Y = 12, (TOP + BOTTOM) / 2 - 14 * PIXEL
OFF, ON = np.array([248, 249, 250]), np.array([28, 63, 170])  # fill at activation 0 and at full activation
BLUE, GREY, GREEN, RED = "#3b5bdb", "#ced4da", "#2b8a3e", "#c92a2a"  # the app's answer blue; plus / right, minus / wrong


def fill(v):
    """Colour of a unit whose intensity is v in [0, 1]: near-white when off, the answer blue when fully on."""
    v = min(max(float(v), 0.0), 1.0)  # plain floats: called for every pixel and unit drawn
    return "#" + "".join(f"{round(int(lo) + int(hi - lo) * v):02x}" for lo, hi in zip(OFF, ON, strict=True))


def intensity(z, *, kind):
    """Activations (n,) -> [0, 1]: sigmoid units and probabilities as they are; ReLU units and inputs against the layer's range."""
    z = np.asarray(z, np.float64)
    if kind in ("sigmoid", "output"):
        return z
    lo = min(0.0, float(z.min()))
    return (z - lo) / max(float(z.max()) - lo, 1e-12)


def shown_units(z, keep):
    """Units of a hidden layer to draw, most active first: all of them up to FULL wide, else the MOST most active plus keep."""
    order = explain.most_active(z, k=len(z))
    if len(z) <= FULL:
        return order
    chosen = set(order[:MOST].tolist()) | {int(k) for k in keep}
    return np.array([k for k in order if k in chosen])


def _slots(n, *, gap_max=26.0):
    """y of n unit slots centred between TOP and BOTTOM, and a circle radius that fits them."""
    gap = gap_max if n < 2 else min(gap_max, (BOTTOM - TOP) / (n - 1))
    mid = (TOP + BOTTOM) / 2
    return [mid + (i - (n - 1) / 2) * gap for i in range(n)], max(2.5, min(9.0, gap * 0.38))


def _text(x, y, words, *, size=12, anchor="middle", weight="normal", color="#495057", title=None):
    hover = f"<title>{escape(title)}</title>" if title else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" font-weight="{weight}" '
            f'fill="{color}">{escape(str(words))}{hover}</text>')


def network_svg(model, tr):
    """The net drawn for one trace: input picture, hidden layers and outputs coloured by activation, strongest z·W as edges."""
    p, L = tr.z[-1], model.n_layers
    pred = explain.top_two(p).first  # the answer the card and the detailed sections name
    flows = explain.strongest_paths(model, tr, pred, k=EDGES)
    xs = [PIC_X + 28 * PIXEL / 2] + list(np.linspace(235, W - 100, L) if L > 1 else [W - 100])
    pos, out, labels = [{}], [], []  # pos[l][unit] = (x, y) of the units drawn, l = 0 (pixels) .. L
    w = {k: t(f"netview.{k}") for k in HOVERS}  # the templates, looked up once: hundreds of pixels and units use them
    pix = intensity(tr.x, kind="input")
    for i in range(784):
        r, c = divmod(i, 28)
        pos[0][i] = (PIC_X + (c + 0.5) * PIXEL, PIC_Y + (r + 0.5) * PIXEL)
    out.append(f'<rect x="{PIC_X}" y="{PIC_Y:.1f}" width="{28 * PIXEL}" height="{28 * PIXEL}" fill="{fill(0)}" stroke="{GREY}"/>')
    for i in np.flatnonzero(pix > 0.01):
        r, c = divmod(int(i), 28)
        name = w["pixel"].format(r=r, c=c)
        out.append(f'<rect class="unit" data-layer="0" data-unit="{i}" x="{PIC_X + c * PIXEL}" y="{PIC_Y + r * PIXEL:.1f}" '
                   f'width="{PIXEL}" height="{PIXEL}" fill="{fill(pix[i])}"><title>{escape(name)}: x = {tr.x[i]:.4f}</title></rect>')
    labels += [_text(xs[0], TOP - 30, t("netview.input"), weight="bold", color="#212529"),
               _text(xs[0], PIC_Y + 28 * PIXEL + 22, t("netview.pixels", n=len(tr.x)))]
    nodes = []
    for layer in range(1, L + 1):
        z, a = tr.z[layer - 1], tr.a[layer - 1]
        if layer == L:
            units = np.arange(len(z))  # the digits in order, 0 at the top
            head = t("netview.output")
        else:
            keep = np.concatenate([flows[layer - 1].target, flows[layer].source])
            units = shown_units(z, keep)
            head = t("netview.layer", i=layer)
        ys, radius = _slots(len(units), gap_max=34.0 if layer == L else 26.0)
        level = intensity(z, kind="output" if layer == L else model.activation)
        pos.append({})
        for k, y in zip(units.tolist(), ys, strict=True):
            pos[layer][k] = (xs[layer], y)
            if layer == L:
                hover = w["digit_hover"].format(d=k, a=f"{a[k]:.3f}", p=percent(z[k]))
            else:
                hover = w["unit_hover"].format(i=layer, k=k, a=f"{a[k]:.3f}", z=f"{z[k]:.4f}")
            ring = f'stroke="{BLUE}" stroke-width="3"' if layer == L and k == pred else f'stroke="{GREY}" stroke-width="1"'
            nodes.append(f'<circle class="unit" data-layer="{layer}" data-unit="{k}" cx="{xs[layer]:.1f}" cy="{y:.1f}" r="{radius:.1f}" '
                         f'fill="{fill(level[k])}" {ring}><title>{escape(hover)}</title></circle>')
            if layer == L:
                bold = "bold" if k == pred else "normal"
                nodes.append(_text(xs[layer] + 15, y + 4, f"{k}", anchor="start", weight=bold, color="#212529", size=13))
                nodes.append(_text(xs[layer] + 30, y + 4, percent(z[k]), anchor="start", weight=bold,
                                   color=BLUE if k == pred else "#495057"))
        labels.append(_text(xs[layer], TOP - 30, head, weight="bold", color="#212529"))
        count = t("netview.shown", shown=len(units), n=len(z)) if len(units) < len(z) else t("netview.units", n=len(z))
        labels.append(_text(xs[layer], BOTTOM + 36, count, title=t("netview.hidden_help", n=len(z) - len(units))
                            if len(units) < len(z) else None))
    edges = []
    for f in flows:
        top = float(np.abs(f.term).max()) or 1.0
        for i, j, v in zip(f.source.tolist(), f.target.tolist(), f.term.tolist(), strict=True):
            (x0, y0), (x1, y1) = pos[f.layer - 1][i], pos[f.layer][j]
            z_in = tr.x[i] if f.layer == 1 else tr.z[f.layer - 2][i]
            src = w["pixel"].format(r=i // 28, c=i % 28) if f.layer == 1 else w["unit"].format(i=f.layer - 1, k=i)
            dst = w["digit"].format(d=j) if f.layer == L else w["unit"].format(i=f.layer, k=j)
            hover = w["edge_hover"].format(src=src, dst=dst, z=f"{z_in:.3f}",
                      w=f"{model.params[f'W{f.layer}'][i, j]:.3f}", term=f"{v:+.3f}")
            edges.append(f'<line class="edge" data-layer="{f.layer}" data-from="{i}" data-to="{j}" data-term="{v:.6g}" '
                         f'x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="{GREEN if v > 0 else RED}" '
                         f'stroke-width="{1 + 4.5 * abs(v) / top:.2f}" stroke-opacity="0.7" stroke-linecap="round">'
                         f'<title>{escape(hover)}</title></line>')
    return (f'<svg class="network-view" viewBox="0 0 {W} {H}" width="100%" style="max-width:{W * 1.25:.0f}px" role="img" '
            f'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif"><title>{escape(t("netview.title"))}</title>'
            + "".join(out + edges + nodes + labels) + "</svg>")


def answer_html(tr, *, label=None, doubt=None):
    """The answer card: the digit large, its probability, the margin in words, the top 3 as bars, and ✓ or ✗ against label;
    under the margin, in plain words, whether the answer is unsure (doubt: an engine.unsure.Verdict, or None)."""
    p = np.asarray(tr.z[-1], np.float64)
    top = explain.top_two(p)
    pred, word = top.first, explain.confidence(top.margin)
    margin = t("answer.margin", v=percent(top.margin), second=top.second,
               words=t(f"answer.{word}", first=top.first, second=top.second))
    bars = []
    for d in [pred] + [int(k) for k in explain.most_active(p, k=4) if k != pred][:2]:
        color = BLUE if d == pred else GREEN if d == label else GREY
        bars.append(f'<div data-answer="bar" data-digit="{d}" style="display:flex;align-items:center;gap:.6rem;margin:.2rem 0">'
                    f'<b style="width:1.2rem;text-align:center">{d}</b><div style="flex:1;background:#f1f3f5;height:.85rem;'
                    f'border-radius:3px"><div style="width:{p[d] * 100:.1f}%;height:100%;background:{color};border-radius:3px">'
                    f'</div></div><span style="width:3.8rem;text-align:right">{escape(percent(p[d]))}</span></div>')
    verdict = ""
    if label is not None:
        right = int(label) == pred
        words = t("answer.right", d=pred) if right else t("answer.wrong", d=pred, true=int(label))
        verdict = (f'<div data-answer="verdict" style="margin-top:.5rem;font-weight:600;color:{GREEN if right else RED}">'
                   f'{escape(words)}</div>')
    return ('<div data-answer="card" style="border:1px solid #dee2e6;border-radius:.75rem;padding:.8rem 1.1rem;'
            'margin-bottom:.5rem"><div style="display:flex;gap:1.3rem;align-items:center">'
            f'<div data-answer="digit" style="font-size:5rem;font-weight:700;line-height:1;color:{BLUE};min-width:3rem;'
            f'text-align:center">{pred}</div><div><div style="color:#6c757d">{escape(t("answer.head"))}</div>'
            f'<div data-answer="probability" style="font-size:1.6rem;font-weight:600;line-height:1.3">{escape(percent(top.p_first))}</div>'
            f'<div data-answer="margin" title="{escape(t("answer.margin_rule"))}">{escape(margin)}</div></div></div>'
            f'{unsure_html(doubt)}'
            f'<div style="margin-top:.6rem">{"".join(bars)}</div>{verdict}</div>')


def unsure_html(verdict):
    """The card's "unsure" line in plain words when the verdict says so (low top probability, input far from training); else ''."""
    if verdict is None or not verdict.unsure:
        return ""
    why = ([t("answer.unsure_low", p=percent(verdict.p_top))] if verdict.low_probability else []) + \
          ([t("answer.unsure_far")] if verdict.far else [])
    return (f'<div data-answer="unsure" style="margin-top:.5rem;padding:.35rem .6rem;border-radius:.4rem;background:#fff4e6;'
            f'color:#7c3d00"><b>{escape(t("answer.unsure_head"))}</b> {escape(" ".join(why))}</div>')


@st.cache_resource(show_spinner=False, max_entries=8)
def _familiarity(data_key, model_id, fp, _model, _ds):
    """engine.familiar.Familiarity of a model on a dataset's training images: once per process, dataset and model."""
    img = _ds.images("train")
    return familiarity(_model, img.reshape(len(img), -1))


def familiarity_of(ds, model_id, model):
    """engine.familiar.Familiarity of a model on ds's training images (cached; the id and a weight digest are the key)."""
    fp = hashlib.blake2b(model.params[f"W{model.n_layers}"].tobytes(), digest_size=8).hexdigest()
    return _familiarity(ds.key, model_id, fp, model, ds)


def verdict_of(tr):
    """engine.unsure.Verdict for a trace of the sidebar's model: low top probability, or far from the training images
    (when the dataset is loaded and has at least 2 training images); by probability alone otherwise."""
    p = np.asarray(tr.z[-1], np.float64)
    try:
        model_id, model = models.current_model()
        ds = loaders.dataset()
        if model is None or model.n_layers != len(tr.z) or ds.size("train") < 2:
            return unsure.judge(p)
        fam = familiarity_of(ds, model_id, model)
        h = tr.z[-2] if model.n_layers > 1 else tr.x  # what engine.explain.embed gives: the last hidden layer
        return unsure.judge(p, distance=float(fam.reference.nearest(h[None])[0]), threshold=fam.threshold)
    except (EngineError, OSError, ValueError):
        return unsure.judge(p)


def answer(tr, *, label=None):
    """Draw the answer card (see answer_html) with its "unsure" line when it applies, and the rule behind its words."""
    st.markdown(answer_html(tr, label=label, doubt=verdict_of(tr)), unsafe_allow_html=True)
    st.caption(t("answer.margin_rule"))


def view(model, tr):
    """Draw the live network (see network_svg) and how to read it."""
    st.markdown(network_svg(model, tr), unsafe_allow_html=True)
    st.caption(f"📖 {t('netview.read', full=FULL, most=MOST, k=EDGES)}")
