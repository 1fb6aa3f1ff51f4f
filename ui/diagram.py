"""A drawing of the network's layers (784 -> 50 -> 100 -> 10 for the book's net) as a plotly figure."""
import numpy as np
import plotly.graph_objects as go

MAX_DRAWN = 10  # circles drawn per layer; wider layers show a few at each end around a "⋮"


def _drawn(n):
    """Which unit numbers of an n-wide layer get a circle, and where the ellipsis goes (None if all fit)."""
    if n <= MAX_DRAWN:
        return list(range(n)), None
    half = MAX_DRAWN // 2
    return list(range(half)) + list(range(n - half, n)), half


def network_diagram(sizes, *, title, layer_names, weight_names, height=430):
    """Layers as columns of circles joined by weight lines; layer_names[i] labels column i, weight_names[i] the links to it."""
    fig = go.Figure()
    cols = []
    for li, n in enumerate(sizes):
        units, gap = _drawn(n)
        slots = len(units) + (gap is not None)
        ys = np.linspace(1, -1, slots) if slots > 1 else np.zeros(1)
        if gap is not None:
            ys = np.delete(ys, gap)  # leave the middle slot for the ellipsis
            fig.add_annotation(x=li, y=0, text="⋮", showarrow=False, font={"size": 22})
        cols.append((units, ys))
    xs_e, ys_e = [], []
    for li in range(len(sizes) - 1):
        (_, y0), (_, y1) = cols[li], cols[li + 1]
        for a in y0:
            for b in y1:
                xs_e += [li, li + 1, None]
                ys_e += [a, b, None]
    fig.add_scatter(x=xs_e, y=ys_e, mode="lines", line={"width": 0.6, "color": "rgba(90,100,130,0.25)"},
                    hoverinfo="skip", showlegend=False)
    palette = ["#adb5bd"] + ["#3b5bdb"] * (len(sizes) - 2) + ["#f08c00"]
    for li, (units, ys) in enumerate(cols):
        last = li == len(sizes) - 1
        fig.add_scatter(
            x=[li] * len(units), y=ys, mode="markers+text" if last else "markers",
            text=[str(u) for u in units] if last else None, textposition="middle right",
            marker={"size": 16, "color": palette[li], "line": {"width": 1, "color": "white"}},
            customdata=[u + 1 for u in units], showlegend=False,
            hovertemplate=f"{layer_names[li]}<br>#%{{customdata}} / {sizes[li]}<extra></extra>")
        fig.add_annotation(x=li, y=-1.22, text=f"<b>{sizes[li]}</b><br>{layer_names[li]}", showarrow=False, yanchor="top")
    for li in range(1, len(sizes)):
        fig.add_annotation(x=li - 0.5, y=1.12, text=weight_names[li - 1], showarrow=False, yanchor="bottom",
                           font={"size": 12, "color": "#495057"})
    fig.update_layout(title={"text": title}, height=height, margin={"l": 10, "r": 10, "t": 50, "b": 10},
                      plot_bgcolor="rgba(0,0,0,0)")
    fig.update_xaxes(visible=False, range=[-0.4, len(sizes) - 0.6])
    fig.update_yaxes(visible=False, range=[-1.6, 1.35])
    return fig
