"""The strip chart of several runs per choice: every run a dot, beside them the mean with its 95 % interval as a bar.

Pure (data in, figure out); every visible word is an argument. Each group is labelled on the chart itself (its rate
above it, its mean beside its bar), so nothing needs the legend; hover texts hold names and numbers only.
"""
import plotly.graph_objects as go

from ui.curves import KIND_COLORS, layout

SPREAD = {1: 0.22, 2: 0.12}  # width of a group's dots, in units of the gap between two choices, for one or two sides
OFFSETS = {1: (0.0,), 2: (-0.22, 0.2)}  # where each side's group sits around its choice's tick


def _dots_x(centre, m, spread):
    """x of m dots spread evenly left of centre (the interval bar stands right of it), so equal values do not hide."""
    left = centre - 0.05 - spread
    return [left + (spread * j / (m - 1) if m > 1 else spread / 2) for j in range(m)]


def strip(choices, sides, *, title, y_title, fmt, ceiling=None, ceiling_text="", height=400):
    """Dots and interval bars per choice (x) and side: sides is a list of {'name', 'solid', 'values', 'intervals', 'tags'}.

    values: {choice: [(run label, value or None)]}; intervals: {choice: engine.stats.Interval or None};
    tags: {choice: short text above the group (its rate)}. A None value (never reached) is drawn as an x at ceiling,
    where the axis says ceiling_text. fmt formats the numbers (e.g. '.2f').
    """
    fig = go.Figure()
    offsets = OFFSETS[len(sides)]
    highest = []
    for side, off in zip(sides, offsets, strict=True):
        for i, choice in enumerate(choices):
            runs = side["values"].get(choice) or []
            centre, color = i + off, KIND_COLORS.get(choice, "#495057")
            xs = _dots_x(centre, len(runs), SPREAD[len(sides)])
            ys = [ceiling if v is None else v for _, v in runs]
            symbols = ["x" if v is None else ("circle" if side["solid"] else "circle-open") for _, v in runs]
            fig.add_scatter(x=xs, y=ys, mode="markers", showlegend=False, name=f"{choice} · {side['name']}",
                            marker={"size": 9, "color": color, "symbol": symbols, "line": {"width": 2, "color": color}},
                            customdata=[label for label, _ in runs],
                            hovertemplate=f"{choice} · {side['name']} · %{{customdata}}: %{{y:{fmt}}}<extra></extra>")
            interval = side["intervals"].get(choice)
            if interval is not None:
                fig.add_scatter(x=[centre + 0.04], y=[interval.mean], mode="markers+text" if len(sides) == 1 else "markers",
                                showlegend=False, name=f"{choice} · {side['name']} · mean", text=[f"{interval.mean:{fmt}}"],
                                textposition="middle right", textfont={"size": 11},
                                marker={"symbol": "line-ew-open", "size": 16, "color": "#212529", "line": {"width": 3}},
                                error_y={"type": "data", "symmetric": False, "array": [interval.hi - interval.mean],
                                         "arrayminus": [interval.mean - interval.lo], "color": "#212529", "thickness": 2,
                                         "width": 6},
                                hovertemplate=f"{choice} · {side['name']}: %{{y:{fmt}}} [{interval.lo:{fmt}} … "
                                              f"{interval.hi:{fmt}}]<extra></extra>")
            tag = side["tags"].get(choice)
            if tag:
                fig.add_annotation(x=centre - 0.03, y=1.0, yref="paper", yanchor="bottom", text=tag.replace(", ", "<br>"),
                                   showarrow=False, font={"size": 10, "color": color})  # lr over ε: two rates fit side by side
            highest += [y for y in ys if y is not None]
    layout(fig, title=title, height=height)
    fig.update_layout(showlegend=False, margin={"t": fig.layout.margin.t + 30})  # room for the rate tags above the groups
    fig.update_xaxes(tickvals=list(range(len(choices))), ticktext=list(choices), range=[-0.6, len(choices) - 0.3])
    fig.update_yaxes(title_text=y_title)
    if ceiling is not None and any(y == ceiling for y in highest):
        ticks = sorted({round(y) for y in highest if y != ceiling} | {ceiling})
        fig.update_yaxes(tickvals=ticks, ticktext=[ceiling_text if v == ceiling else str(v) for v in ticks])
    return fig
