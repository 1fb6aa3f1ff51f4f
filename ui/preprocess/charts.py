"""Plotly builders of the preprocessing page: bars and accuracy dots (the per-choice panels are in panels.py).

Pure functions (data in, figure out); every visible word is an argument, so the page passes translated text. Hover
texts hold numbers and symbols only (a range is "lo … hi"), so they read the same in every language.
"""
import plotly.graph_objects as go

from ui.curves import layout

LEGEND = {"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"}


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
    fig.update_xaxes(range=[-0.9, len(names) - 0.1])  # room for the outer labels on a 390 px phone
    fig.update_yaxes(title_text=y_title, tickformat=".1%")
    return fig
