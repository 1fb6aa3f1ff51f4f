"""The single-image page's detailed sections below the answer, one tab each, each with its explanation in an expander.

1. the input, 2. the ten probabilities and softmax, 3. the hidden layers, 4. what drove the answer, 5. the nearest training
images. Each draws into the page and into the report Draft; the numbers all come from one engine.explain.Trace.
Every tab is drawn (the report holds every section), and only the open one takes room: on a phone the page is the answer
and one section long. Pictures go in lines that wrap (ui.layout.cells), numbers on a line that wraps (ui.layout.line).
"""
import streamlit as st

from engine import explain, units
from ui import charts, layout, models, nav, panels, urlstate
from ui.i18n import t
from ui.single import charts as sc
from ui.single import state as ss
from ui.stats import percent

NEIGHBOURS = 8
TABS = ("input", "answer", "hidden", "why", "near")  # the sections, in reading order
# the softmax of the book's ch. 3.5.2 with its overflow guard, the maximum named first: two short lines fit a phone
SOFTMAX = r"\begin{gathered} m = \max_i a_i \\ y_k = \frac{\exp(a_k - m)}{\sum_{i=0}^{9} \exp(a_i - m)} \end{gathered}"


def tabs(model, pred):
    """{section: tab} for the sections this model has (a net with no hidden layer has neither 3 nor 5), in page order."""
    shown = [s for s in TABS if model.n_layers > 1 or s not in ("hidden", "near")]
    return dict(zip(shown, st.tabs([t(f"single.tab_{s}", d=pred) for s in shown]), strict=True))


def explained(title, *texts, draft=None):
    """An expander holding a section's explanation (Markdown texts); the report gets the same texts."""
    with st.expander(f"📖 {title}"):
        for text in texts:
            st.markdown(text)
    if draft is not None:
        draft.text("\n\n".join(texts))


def steps(digitized):
    """A drawing or photo made into an MNIST digit: its pictures step by step, on lines that wrap, and what happened."""
    st.markdown(f"**{t('single.steps_head')}**")
    strip = sc.step_strip([(t(f"single.step_{k}"), img) for k, (_, img) in enumerate(digitized.steps(), start=1)])
    for cell, (title, png) in zip(layout.cells(len(strip), width=layout.THUMB_PX, key="single_steps"), strip, strict=True):
        cell.image(png, caption=title, width="stretch")
    st.caption(t("single.steps_read_inverted" if digitized.inverted else "single.steps_read"))


def input_section(model, tr, pixels, name, draft, *, said=None):
    """said: what the page wrote about the picked image, which opens this section of the report."""
    pre = model.preprocess.kind if model.preprocess is not None else "raw"
    st.subheader(t("single.input_head"))
    draft.section(t("single.input_head"))
    if said:
        draft.text(said)
    left, right = st.columns(2, gap="large")
    with left:
        panels.chart(charts.digit_heatmap(pixels.reshape(28, 28), title=t("single.input_title", name=name), height=400,
                                          x_title=t("single.col"), y_title=t("single.row")),
                     how_to_read=t("single.input_read"), filename="single-input", draft=draft)
    with right:
        panels.chart(sc.vector_chart(tr.x, title=t("single.vector_title", kind=pre), x_title=t("single.vector_x"),
                                     y_title=t("single.vector_y")),
                     how_to_read=t("single.vector_read"), filename="single-vector", draft=draft)
        explained(t("single.explain_input"), t("single.vector_words", pre=t(f"single.pre_{pre}"), lo=f"{tr.x.min():.3f}",
                                                 hi=f"{tr.x.max():.3f}"), draft=draft)


def answer_section(model_id, model, tr, pixels, label, draft, *, others, catalog):
    top, L = explain.top_two(tr.z[-1]), model.n_layers
    pred = top.first
    st.subheader(t("single.answer_head"))
    draft.section(t("single.answer_head"))
    draft.number(t("single.predicted"), f"{top.first} ({percent(top.p_first)})")
    draft.number(t("single.runner_up"), f"{top.second} ({percent(top.p_second)})")
    draft.number(t("single.margin"), t("single.points", v=percent(top.margin)))
    if label is not None:
        draft.number(t("single.true_label"), f"{label} {t('single.right') if label == pred else t('single.wrong')}")
    m = layout.line(key="single_numbers")  # four numbers: one line on a desktop, two on a phone
    m.metric(t("single.predicted"), f"{top.first}", t("single.pct", p=percent(top.p_first)), delta_color="off",
             delta_arrow="off", width="content")
    m.metric(t("single.runner_up"), f"{top.second}", t("single.pct", p=percent(top.p_second)), delta_color="off",
             delta_arrow="off", width="content")
    m.metric(t("single.margin"), t("single.points", v=percent(top.margin)), help=t("single.margin_help"), width="content")
    if label is not None:
        m.metric(t("single.true_label"), f"{label}", t("single.right") if label == pred else t("single.wrong"),
                 delta_color="green" if label == pred else "red", delta_arrow="off", width="content")
    compare = False
    if others:
        cc = st.columns([1, 2], vertical_alignment="center")
        compare = cc[0].toggle(t("single.compare"), key="single_compare", help=t("single.compare_help"))
        if compare:
            labels = {m: models.title(m, catalog[m]) for m in others}  # in this run's language, as the sidebar's
            other_id = cc[1].selectbox(t("single.compare_with"), others, key="single_compare_model", format_func=labels.__getitem__)
    proba = dict(x_title=t("single.digit"), y_title=t("single.probability"), true_label=label, true_text=t("single.true_mark"))
    left, right = st.columns(2, gap="large")
    with left:
        panels.chart(sc.probability_chart(tr.z[-1], title=t("single.proba_title", model=model_id), **proba),
                     how_to_read=t("single.proba_read"), filename="single-probabilities", key="single_proba", draft=draft)
    softmax_box = right
    if compare:
        other = explain.trace(catalog[other_id], pixels)
        other_top = explain.top_two(other.z[-1])
        with right:
            panels.chart(sc.probability_chart(other.z[-1], title=t("single.proba_title", model=other_id), **proba),
                         how_to_read=t("single.compare_read"), filename="single-probabilities-compare", key="single_proba_b",
                         draft=draft)
        words = t("single.compare_agree" if other_top.first == pred else "single.compare_disagree",
                  a=model_id, b=other_id, da=pred, db=other_top.first, pa=percent(top.p_first), pb=percent(other_top.p_first))
        st.markdown(words)
        draft.text(words)
        softmax_box = st.container()
    parts = explain.softmax_breakdown(tr.a[-1])
    with softmax_box:
        words = t("single.softmax_words", L=L, top=f"{parts['logits'].max():.3f}", sum=f"{parts['sum']:.5f}")
        heads = [t("single.sm_digit"), t("single.sm_logit", L=L), t("single.sm_shifted"), t("single.sm_exp"),
                 t("single.sm_proba")]
        table = sc.softmax_table(parts, headers=heads, predicted=pred)
        with st.expander(f"📖 {t('single.softmax_head')}"):
            st.markdown(t("single.answer_words", L=L))
            st.markdown(words)
            st.latex(SOFTMAX)
            st.table(table, hide_index=True, border="horizontal")  # static: headers wrap, so it fits a phone
        draft.text(t("single.answer_words", L=L))
        draft.text(f"**{t('single.softmax_head')}**\n\n{words}")
        draft.table(heads, zip(*table.values(), strict=True))


def hidden_section(model, tr, draft):
    act, hidden = model.activation, list(range(1, model.n_layers))
    st.subheader(t("single.hidden_head"))
    draft.section(t("single.hidden_head"))
    explained(t("single.explain_hidden"), t(f"single.hidden_words_{act}"), draft=draft)
    for col, i in zip(st.columns(len(hidden), gap="large"), hidden, strict=True):
        with col:
            z = tr.z[i - 1]
            panels.chart(sc.unit_grid(tr.a[i - 1], z, order=explain.most_active(z, k=len(z)),
                                      zmax=1.0 if act == "sigmoid" else None, title=t("single.layer_title", i=i, n=len(z)),
                                      unit_name=t("single.unit")),
                         how_to_read=t("single.layer_read", i=i), filename=f"single-layer{i}", draft=draft)
    panels.chart(sc.activation_chart([tr.a[i - 1] for i in hidden], [tr.z[i - 1] for i in hidden], activation=act,
                                     names=[t("single.layer_n", i=i) for i in hidden], title=t(f"single.curve_title_{act}"),
                                     x_title=t("single.curve_x"), y_title=t("single.curve_y"),
                                     saturated_text=t("single.saturated_zone"), unit_name=t("single.unit")),
                 how_to_read=t(f"single.curve_read_{act}", limit=f"{units.SATURATED:g}"), filename="single-activation-curve",
                 draft=draft)
    words = "  \n".join(t(f"single.stuck_{act}", i=i, k=units.saturation(tr.a[i - 1], activation=act),
                           n=len(tr.a[i - 1]), limit=f"{units.SATURATED:g}") for i in hidden)
    st.markdown(words)
    draft.text(words)


def why_section(model, tr, pixels, pred, draft):
    L = model.n_layers
    inputs = f"z{L - 1}" if L > 1 else "x"
    st.subheader(t("single.why_head", d=pred))
    draft.section(t("single.why_head", d=pred))
    explained(t("single.explain_why"), t("single.why_words", d=pred, L=L), draft=draft)
    lp = units.logit_parts(model, tr, pred)
    left, right = st.columns(2, gap="large")
    with left:
        panels.chart(sc.contributions_chart(lp, title=t("single.contrib_title", d=pred, z=inputs, L=L),
                                            x_title=t("single.contrib_x"), unit_name=t("single.unit")),
                     how_to_read=t("single.contrib_read"), filename="single-contributions", draft=draft)
        words = t("single.contrib_words", d=pred, L=L, n=len(lp.terms), plus=f"{lp.plus:+.2f}", minus=f"{lp.minus:+.2f}",
                  bias=f"{lp.bias:+.2f}", logit=f"{lp.logit:.2f}")
        st.markdown(words)
        draft.text(words)
    with right:
        panels.chart(sc.saliency_overlay(pixels.reshape(28, 28), explain.saliency(model, pixels, pred),
                                         title=t("single.saliency_title", d=pred), x_title=t("single.col"),
                                         y_title=t("single.row")),
                     how_to_read=t("single.saliency_read", d=pred), filename="single-saliency", draft=draft)
    if L > 1:
        top_units = explain.most_active(tr.z[0], k=8)
        panels.chart(sc.template_grid(explain.templates(model, top_units), units=top_units, z=tr.z[0][top_units],
                                      title=t("single.templates_title"),
                                      names=[t("single.unit_z", k=int(k), z=f"{tr.z[0][k]:.2f}") for k in top_units]),
                     how_to_read=t("single.templates_read"), filename="single-templates", draft=draft)


def near_section(ds, model_id, model, tr, pred, draft):
    """The training images nearest in the last hidden layer (a net without one has no learned space: nothing to show)."""
    layer = f"z{model.n_layers - 1}"
    st.subheader(t("single.near_head"))
    draft.section(t("single.near_head"))
    explained(t("single.explain_near"), t("single.near_explain", layer=layer), draft=draft)
    with st.spinner(t("single.near_spinner")):
        idx, dist, labs, thumbs = ss.neighbours(ds, model_id, model, tr.z[-2], k=NEIGHBOURS)
    words = t("single.near_words", k=NEIGHBOURS, same=sum(1 for v in labs if v == pred), d=pred, layer=layer)
    st.markdown(words)
    draft.text(words)
    draft.gallery([(png, f"#{i} · {lab}\nd = {d:.2f}") for i, d, lab, png in zip(idx, dist, labs, thumbs, strict=True)])
    cells = layout.cells(NEIGHBOURS, width=layout.THUMB_PX, key="single_near")  # 8 to a line on a desktop, 3 on a phone
    for cell, i, d, lab, png in zip(cells, idx, dist, labs, thumbs, strict=True):
        with cell:
            st.image(png, caption=f"#{i} · {lab}", width="stretch")
            st.caption(f"d = {d:.2f}")
            nav.link("single", label=t("single.open"), icon="🔍", width="stretch",
                     query=urlstate.query(split="train", index=int(i), model=model_id))
