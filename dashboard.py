"""MNIST Explorer, and its home page: `streamlit run dashboard.py`. The network at work on a digit, what the network is,
the data, and where to go next."""
import streamlit as st

from engine.modelfile import BOOK_SIZES
from ui import firstrun, layout, loaders, models, nav, panels, shell, stats
from ui.home import live
from ui.home.diagram import network_svg
from ui.i18n import t

shell.page("home")

panels.intro(t("home.title"), t("home.intro"))

model_id, model = models.current_model()
sizes = model.sizes if model is not None else BOOK_SIZES
act = model.activation if model is not None else "sigmoid"
ds, error = loaders.try_dataset()
if ds is not None and model is not None:  # first screen: a digit, the network at work, its answer
    live.show(ds, model_id, model)

st.subheader(t("home.network_head"))
left, right = st.columns([3, 2], gap="large")
with left:
    st.markdown(t("home.network_words", hidden=" → ".join(str(s) for s in sizes[1:-1]), act=act))
    names = [t("home.layer_input")] + [t("home.layer_hidden", act=act)] * (len(sizes) - 2) + [t("home.layer_output")]
    weights = [f"W{i}, b{i}" for i in range(1, len(sizes))]
    st.markdown(f"**{t('home.diagram_title', sizes=' → '.join(map(str, sizes)))}**")
    # our own SVG (every label escaped): st.html drops inline SVG, st.markdown keeps it and its hover titles
    st.markdown(network_svg(sizes, layer_names=names, weight_names=weights), unsafe_allow_html=True)
    st.caption(f"📖 {t('home.diagram_read')}")
with right:
    if model is None:
        st.info(t("home.no_model"))
    else:
        rows = models.parameter_counts(model)
        total = sum(r[3] for r in rows)
        st.markdown(f"**{t('home.params_head')}**")
        # a Markdown table, not st.dataframe: home stays free of the data-grid bundle, so it opens fast
        head = [t("home.params_layer"), t("home.params_w"), t("home.params_b"), t("home.params_n")]
        st.markdown("\n".join([f"| {' | '.join(head)} |", "|---|---|---|---:|"] + [
            f"| {r[0]} | {' × '.join(map(str, r[1]))} | {r[2][0]} | {r[3]:,} |" for r in rows]))
        st.metric(t("home.params_total"), f"{total:,}")
        st.caption(t("home.params_read"))
        st.markdown(f"**{t('home.card_head')}**")
        panels.model_card(model_id, model)

st.subheader(t("home.data_head"))
if ds is None:
    firstrun.panel(error)
else:
    numbers = layout.line(key="home_numbers")  # two to a line on a phone, not four stacked
    numbers.metric(t("home.data_train"), f"{ds.size('train'):,}", width="content")
    numbers.metric(t("home.data_test"), f"{ds.size('test'):,}", width="content")
    numbers.metric(t("home.data_shape"), "28 × 28", width="content")
    numbers.metric(t("home.data_classes"), "10", width="content")
    counts = stats.class_counts(ds.key, "train")
    st.caption(t("home.data_words", folder=panels.plain(ds.folder), origin=t(f"shell.origin_{ds.origin}"),
                 rarest=int(counts.argmin()), rare_n=f"{int(counts.min()):,}",
                 commonest=int(counts.argmax()), common_n=f"{int(counts.max()):,}"))

st.subheader(t("home.pages_head"))
for url_path, page in nav.pages().items():
    if url_path != "home":
        nav.link(url_path, label=page.title, icon=page.icon, help=page.help or None)

shell.end()
