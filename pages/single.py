"""Single image: one digit in (an MNIST image, a drawing or an uploaded photo) and everything the network does with it."""
import html

import streamlit as st

from engine import explain, units
from engine.errors import ImageFormatError
from ui import charts, errors, firstrun, models, nav, panels, report, reportbutton, shell, urlstate
from ui.i18n import t
from ui.single import charts as sc
from ui.single import state as ss

shell.page("single")

SPLITS = ("test", "train")
SOURCES = ("mnist", "draw", "upload")
UPLOAD_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"]
NEIGHBOURS = 8

panels.intro(t("single.title"), t("single.intro"))
ds = firstrun.require_data()
model_id, model = models.require_model(t("single.no_model"))
catalog, _ = models.catalog()
others = [m for m in catalog if m != model_id]
other_default = "book" if "book" in others else (others[0] if others else None)

# --- the view, seeded from the URL: a link from another page (?split=test&index=123) opens that MNIST image
if urlstate.changed_outside("split") or urlstate.changed_outside("index"):
    st.session_state["single_source"] = "mnist"
urlstate.seed("single_source", "input", urlstate.read_choice("input", SOURCES, "mnist"))
urlstate.seed("single_split", "split", urlstate.read_choice("split", SPLITS, "test"))
size = ds.size(st.session_state["single_split"])
urlstate.seed("single_index", "index", urlstate.read_int("index", 0, lo=0, hi=size - 1))
if not 0 <= st.session_state["single_index"] < size:
    st.session_state["single_index"] = 0
compare_url = urlstate.read_choice("compare", others, None)
urlstate.seed("single_compare", "compare", compare_url is not None)
urlstate.seed("single_compare_model", "compare", compare_url or other_default)
if st.session_state["single_compare_model"] not in others:  # the compared model became the main one, or left
    st.session_state["single_compare_model"] = other_default


# --- 1. the input
source = st.segmented_control(t("single.source"), SOURCES, key="single_source", required=True,
                              format_func=lambda s: t(f"single.source_{s}"))
pixels, label, name, digitized = None, None, None, None
if source == "mnist":
    c = st.columns([1.3, 1.6, 1, 1], vertical_alignment="bottom")
    split = c[0].radio(t("single.split"), SPLITS, key="single_split", horizontal=True, on_change=ss.clamp_index, args=(ds,),
                       format_func=lambda s: t(f"single.split_{s}"))
    index = c[1].number_input(t("single.index", n=f"{ds.size(split):,}"), min_value=0, max_value=ds.size(split) - 1,
                              step=1, key="single_index")
    c[2].button(t("single.random"), icon="🎲", on_click=ss.pick_random, args=(ds,), width="stretch", key="single_random")
    c[3].button(t("single.next_mistake"), icon="⏭️", on_click=ss.pick_next_mistake, args=(ds, model_id, model),
                width="stretch", key="single_next", help=t("single.next_mistake_help"))
    pixels, label = ds.images(split)[index], int(ds.labels(split)[index])
    name = f"{t(f'single.split_{split}')} #{index}"
    rank, wrong = ss.mistake_rank(ds, model_id, model, split, index)
    words = t("single.picked", name=name, label=label, wrong=f"{wrong:,}", n=f"{ds.size('test'):,}")
    st.caption(words + (" " + t("single.is_mistake", k=rank, wrong=f"{wrong:,}") if rank else ""))
    notice = st.session_state.pop("single_notice", None)
    if notice:
        st.info(notice)
elif source == "draw":
    st.space("small")  # room for the toolbar the canvas shows above itself on hover
    left, right = st.columns([1, 2], gap="large")
    with left:
        rgba = ss.draw_canvas(key=ss.canvas_key())
        st.button(t("single.clear"), icon="🧽", on_click=ss.clear_canvas, key="single_clear")
    with right:
        st.markdown(t("single.draw_help"))
    if rgba is None:
        st.info(t("single.draw_prompt"))
    else:
        try:
            digitized, name = ss.digitize_drawing(rgba), t("single.your_drawing")
        except ImageFormatError as e:
            errors.show(e)
else:
    up = st.file_uploader(t("single.upload_label"), type=UPLOAD_TYPES, key="single_upload", help=t("single.upload_help"))
    if up is None:
        st.info(t("single.upload_prompt"))
    else:
        try:
            digitized, name = ss.digitize_upload(up.getvalue(), up.name), html.escape(up.name)  # name goes into a chart title
        except ImageFormatError as e:
            errors.show(e)  # the message quotes the file name: shown as typed, never as Markdown

if digitized is not None:
    pixels = digitized.digit
    st.markdown(f"**{t('single.steps_head')}**")
    strip = sc.step_strip([(t(f"single.step_{k}"), img) for k, (_, img) in enumerate(digitized.steps(), start=1)])
    for col, (title, png) in zip(st.columns(len(strip)), strip, strict=True):
        col.image(png, caption=title)
    st.caption(t("single.steps_read_inverted" if digitized.inverted else "single.steps_read"))

if pixels is not None:
    tr = explain.trace(model, pixels)
    top = explain.top_two(tr.z[-1])
    pred, L = top.first, model.n_layers
    hidden = list(range(1, L))  # hidden layer numbers 1 .. L-1
    pre = model.preprocess.kind if model.preprocess is not None else "raw"
    draft = report.Draft(title=t("single.report_title", name=name, model=model_id), intro=t("single.report_intro"))
    reportbutton.offer(draft, model_id=model_id, model=model, key="single_report",
                       file_name_parts=("mnist-single", model_id, name))

    st.subheader(t("single.input_head"))
    draft.section(t("single.input_head"))
    left, right = st.columns(2, gap="large")
    with left:
        panels.chart(charts.digit_heatmap(pixels.reshape(28, 28), title=t("single.input_title", name=name), height=400,
                                          x_title=t("single.col"), y_title=t("single.row")),
                     how_to_read=t("single.input_read"), filename="single-input", draft=draft)
    with right:
        panels.chart(sc.vector_chart(tr.x, title=t("single.vector_title", kind=pre), x_title=t("single.vector_x"),
                                     y_title=t("single.vector_y")),
                     how_to_read=t("single.vector_read"), filename="single-vector", draft=draft)
        words = t("single.vector_words", pre=t(f"single.pre_{pre}"), lo=f"{tr.x.min():.3f}", hi=f"{tr.x.max():.3f}")
        st.markdown(words)
        draft.text(words)

    st.subheader(t("single.answer_head"))
    st.markdown(t("single.answer_words", L=L))
    draft.section(t("single.answer_head"))
    draft.text(t("single.answer_words", L=L))
    draft.number(t("single.predicted"), f"{top.first} ({top.p_first:.1%})")
    draft.number(t("single.runner_up"), f"{top.second} ({top.p_second:.1%})")
    draft.number(t("single.margin"), t("single.points", v=f"{top.margin * 100:.1f}"))
    if label is not None:
        draft.number(t("single.true_label"), f"{label} {t('single.right') if label == pred else t('single.wrong')}")
    m = st.columns(4)
    m[0].metric(t("single.predicted"), f"{top.first}", t("single.pct", p=f"{top.p_first:.1%}"), delta_color="off",
                delta_arrow="off")
    m[1].metric(t("single.runner_up"), f"{top.second}", t("single.pct", p=f"{top.p_second:.1%}"), delta_color="off",
                delta_arrow="off")
    m[2].metric(t("single.margin"), t("single.points", v=f"{top.margin * 100:.1f}"), help=t("single.margin_help"))
    if label is not None:
        m[3].metric(t("single.true_label"), f"{label}", t("single.right") if label == pred else t("single.wrong"),
                    delta_color="green" if label == pred else "red", delta_arrow="off")
    compare = False
    if others:
        cc = st.columns([1, 2], vertical_alignment="center")
        compare = cc[0].toggle(t("single.compare"), key="single_compare", help=t("single.compare_help"))
        if compare:
            other_id = cc[1].selectbox(t("single.compare_with"), others, key="single_compare_model",
                                       format_func=lambda mid: models.title(mid, catalog[mid]))
    parts = explain.softmax_breakdown(tr.a[-1])
    left, right = st.columns(2, gap="large")
    with left:
        panels.chart(sc.probability_chart(tr.z[-1], true_label=label, title=t("single.proba_title", model=model_id),
                                          x_title=t("single.digit"), y_title=t("single.probability"),
                                          true_text=t("single.true_mark")),
                     how_to_read=t("single.proba_read"), filename="single-probabilities", key="single_proba", draft=draft)
    softmax_box = right
    if compare:
        other = explain.trace(catalog[other_id], pixels)
        other_top = explain.top_two(other.z[-1])
        with right:
            panels.chart(sc.probability_chart(other.z[-1], true_label=label, title=t("single.proba_title", model=other_id),
                                              x_title=t("single.digit"), y_title=t("single.probability"),
                                              true_text=t("single.true_mark")),
                         how_to_read=t("single.compare_read"), filename="single-probabilities-compare", key="single_proba_b",
                         draft=draft)
        words = t("single.compare_agree" if other_top.first == pred else "single.compare_disagree",
                  a=model_id, b=other_id, da=pred, db=other_top.first, pa=f"{top.p_first:.1%}", pb=f"{other_top.p_first:.1%}")
        st.markdown(words)
        draft.text(words)
        softmax_box = st.container()
    with softmax_box:
        st.markdown(f"**{t('single.softmax_head')}**")
        words = t("single.softmax_words", L=L, top=f"{parts['logits'].max():.3f}", sum=f"{parts['sum']:.5f}")
        st.markdown(words)
        st.latex(r"y_k = \frac{\exp(a_k - \max_i a_i)}{\sum_{i=0}^{9} \exp(a_i - \max_i a_i)}")
        heads = [t("single.sm_digit"), t("single.sm_logit", L=L), t("single.sm_shifted"), t("single.sm_exp"),
                 t("single.sm_proba")]
        table = sc.softmax_table(parts, headers=heads, predicted=pred)
        st.dataframe(table, hide_index=True, width="stretch")
        draft.text(f"**{t('single.softmax_head')}**\n\n{words}")
        draft.table(heads, zip(*table.values(), strict=True))

    if hidden:
        act = model.activation
        st.subheader(t("single.hidden_head"))
        st.markdown(t(f"single.hidden_words_{act}"))
        draft.section(t("single.hidden_head"))
        draft.text(t(f"single.hidden_words_{act}"))
        for col, i in zip(st.columns(len(hidden), gap="large"), hidden, strict=True):
            with col:
                width = len(tr.z[i - 1])
                panels.chart(sc.unit_grid(tr.a[i - 1], tr.z[i - 1], zmax=1.0 if act == "sigmoid" else None,
                                          title=t("single.layer_title", i=i, n=width), unit_name=t("single.unit")),
                             how_to_read=t("single.layer_read", i=i), filename=f"single-layer{i}", draft=draft)
        names = [t("single.layer_n", i=i) for i in hidden]
        panels.chart(sc.activation_chart([tr.a[i - 1] for i in hidden], [tr.z[i - 1] for i in hidden], activation=act,
                                         names=names, title=t(f"single.curve_title_{act}"), x_title=t("single.curve_x"),
                                         y_title=t("single.curve_y"), saturated_text=t("single.saturated_zone"),
                                         unit_name=t("single.unit")),
                     how_to_read=t(f"single.curve_read_{act}", limit=f"{units.SATURATED:g}"), filename="single-activation-curve",
                     draft=draft)
        words = "  \n".join(t(f"single.stuck_{act}", i=i, k=units.saturation(tr.a[i - 1], activation=act),
                               n=len(tr.a[i - 1]), limit=f"{units.SATURATED:g}") for i in hidden)
        st.markdown(words)
        draft.text(words)

    st.subheader(t("single.why_head", d=pred))
    draft.section(t("single.why_head", d=pred))
    lp = units.logit_parts(model, tr, pred)
    inputs = f"z{L - 1}" if L > 1 else "x"
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
        grad = explain.saliency(model, pixels, pred)
        panels.chart(sc.saliency_overlay(pixels.reshape(28, 28), grad, title=t("single.saliency_title", d=pred),
                                         x_title=t("single.col"), y_title=t("single.row")),
                     how_to_read=t("single.saliency_read", d=pred), filename="single-saliency", draft=draft)
    if hidden:
        top_units = explain.most_active(tr.z[0], k=8)
        panels.chart(sc.template_grid(explain.templates(model, top_units), title=t("single.templates_title"),
                                      names=[t("single.unit_z", k=int(k), z=f"{tr.z[0][k]:.2f}") for k in top_units]),
                     how_to_read=t("single.templates_read"), filename="single-templates", draft=draft)

    if hidden:  # a net without hidden layers has no learned space to search: its "neighbours" would be raw pixels
        st.subheader(t("single.near_head"))
        with st.spinner(t("single.near_spinner")):
            idx, dist, labs, thumbs = ss.neighbours(ds, model_id, model, tr.z[-2], k=NEIGHBOURS)
        same = sum(1 for v in labs if v == pred)
        words = t("single.near_words", k=NEIGHBOURS, same=same, d=pred, layer=inputs)
        st.markdown(words)
        draft.section(t("single.near_head"))
        draft.text(words + "\n\n" + ", ".join(f"#{i} → {lab} (d = {d:.2f})" for i, d, lab in zip(idx, dist, labs, strict=True)))
        for col, i, d, lab, png in zip(st.columns(NEIGHBOURS), idx, dist, labs, thumbs, strict=True):
            with col:
                st.image(png, caption=f"#{i} · {lab}", width="stretch")
                st.caption(f"d = {d:.2f}")
                nav.link("single", label=t("single.open"), icon="🔍", width="stretch",
                         query=urlstate.query(split="train", index=int(i), model=model_id))

urlstate.write(input=source, split=st.session_state["single_split"], index=st.session_state["single_index"],
               compare=st.session_state["single_compare_model"] if st.session_state.get("single_compare") else None,
               defaults={"input": "mnist", "split": "test", "index": 0})

shell.end()
