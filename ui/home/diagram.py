"""A drawing of the network's layers (784 -> 50 -> 100 -> 10 for the book's net) as inline SVG.

SVG, not plotly: home is the first page most people open, and plotly's 4.7 MB bundle took Chromium 2-4 s to
compile there (benchmarks/bench_pages.py); the drawing needs no zoom, and each circle's <title> is its hover text.
"""
import re
from html import escape

MAX_DRAWN = 10  # circles drawn per layer; wider layers show a few at each end around a "⋮"
W, H = 680, 400  # viewBox; the drawing scales to the column's width
TOP, BOTTOM = 60, 310  # y of the first and last circle slot
COLORS = {"input": "#adb5bd", "hidden": "#3b5bdb", "output": "#f08c00"}
LINE_BREAK = re.compile(r"\n|<br\s*/?>", re.I)  # a label may break its line, as a plotly text does with <br>


def _drawn(n):
    """Which unit numbers of an n-wide layer get a circle, and where the ellipsis goes (None if all fit)."""
    if n <= MAX_DRAWN:
        return list(range(n)), None
    half = MAX_DRAWN // 2
    return list(range(half)) + list(range(n - half, n)), half


def _column(n):
    """[(unit, y)] of the drawn circles of an n-wide layer, and the y of its ellipsis (or None)."""
    units, gap = _drawn(n)
    slots = len(units) + (gap is not None)
    ys = [(TOP + BOTTOM) / 2] if slots == 1 else [TOP + i * (BOTTOM - TOP) / (slots - 1) for i in range(slots)]
    dots = None
    if gap is not None:
        dots = ys.pop(gap)  # the middle slot holds the ellipsis
    return list(zip(units, ys, strict=True)), dots


def _lines(label):
    """The lines of a layer label: split at a newline or a <br>, never shown as markup."""
    return [part.strip() for part in LINE_BREAK.split(label) if part.strip()]


def _label(x, y, label):
    """A layer's name under its column: one <tspan> per line, each line escaped."""
    spans = "".join(f'<tspan x="{x:.1f}" dy="{0 if i == 0 else 15}">{escape(line)}</tspan>' for i, line in enumerate(_lines(label)))
    return f'<text x="{x:.1f}" y="{y}" text-anchor="middle" font-size="12" fill="#6c757d">{spans}</text>'


def network_svg(sizes, *, layer_names, weight_names):
    """Layers as columns of circles joined by weight lines: layer_names[i] under column i, weight_names[i] above the links to it."""
    xs = [70 + i * (W - 170) / (len(sizes) - 1) for i in range(len(sizes))]
    cols = [_column(n) for n in sizes]
    out = [f'<svg viewBox="0 0 {W} {H}" width="100%" style="max-width:{W}px" role="img" xmlns="http://www.w3.org/2000/svg" '
           'font-family="sans-serif">']
    for i in range(len(sizes) - 1):
        for _, y0 in cols[i][0]:
            for _, y1 in cols[i + 1][0]:
                out.append(f'<line x1="{xs[i]:.1f}" y1="{y0:.1f}" x2="{xs[i + 1]:.1f}" y2="{y1:.1f}" '
                           'stroke="#5a6482" stroke-opacity="0.22" stroke-width="0.6"/>')
        out.append(f'<text x="{(xs[i] + xs[i + 1]) / 2:.1f}" y="{TOP - 28}" text-anchor="middle" font-size="13" '
                   f'fill="#495057">{escape(weight_names[i])}</text>')
    for i, ((units, dots), n) in enumerate(zip(cols, sizes, strict=True)):
        kind = "input" if i == 0 else "output" if i == len(sizes) - 1 else "hidden"
        for u, y in units:
            out.append(f'<circle cx="{xs[i]:.1f}" cy="{y:.1f}" r="8" fill="{COLORS[kind]}" stroke="white" stroke-width="1">'
                       f'<title>{escape(" ".join(_lines(layer_names[i])))} #{u + 1} / {n}</title></circle>')
            if kind == "output":
                out.append(f'<text x="{xs[i] + 14:.1f}" y="{y + 4:.1f}" font-size="12" fill="#212529">{u}</text>')
        if dots is not None:
            out.append(f'<text x="{xs[i]:.1f}" y="{dots + 8:.1f}" text-anchor="middle" font-size="22" fill="#495057">⋮</text>')
        out.append(f'<text x="{xs[i]:.1f}" y="{BOTTOM + 40}" text-anchor="middle" font-size="15" font-weight="bold" '
                   f'fill="#212529">{n}</text>')
        out.append(_label(xs[i], BOTTOM + 58, layer_names[i]))
    out.append("</svg>")
    return "".join(out)
