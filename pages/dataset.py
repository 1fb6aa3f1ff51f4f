"""Dataset browser: filter and page through MNIST, inspect one image pixel by pixel, and see the set's statistics."""
import streamlit as st

from engine import explore
from ui import charts, firstrun, layout, models, nav, panels, shell, stats, urlstate
from ui.dataset import loadview, pca
from ui.i18n import t

shell.page("dataset")

PER_PAGE = 24  # thumbnails: 3 lines of 8 on a 1440 px desktop, 8 of 3 on a phone
PCA_POINTS = 3000
SPLITS = ("train", "test")
DIGITS = ("all",) + tuple(range(10))
TABS = ("classes", "mean", "hist", "pca", "flags")  # URL ids; the labels are translated
DEFAULTS = {"split": "train", "digit": "all", "page": 1, "tab": "classes"}

panels.intro(t("dataset.title"), t("dataset.intro"))
ds = firstrun.require_data()

# --- the view: seeded from the URL on arrival, written back at the end so a copied link reopens it
urlstate.seed("ds_split", "split", urlstate.read_choice("split", SPLITS, "train"))
urlstate.seed("ds_digit", "digit", urlstate.read_choice("digit", DIGITS, "all"))
sample_seed = urlstate.read_int("sample", None, lo=0, hi=2**31 - 1)
urlstate.seed("ds_order", "sample", "random" if sample_seed is not None else "file")
if "ds_seed" not in st.session_state or urlstate.changed_outside("sample"):
    st.session_state["ds_seed"] = sample_seed if sample_seed is not None else 0


def reset_page():
    """A new filter starts on page 1 with its first image selected."""
    st.session_state["ds_page"] = 1
    st.session_state.pop("ds_index", None)


def new_sample():
    """Switch to random order with a new seed (kept in the URL as ?sample=)."""
    st.session_state.pop("ds_index", None)
    st.session_state["ds_order"] = "random"
    st.session_state["ds_seed"] = (st.session_state.get("ds_seed", 0) * 7919 + 104729) % (2**31 - 1)


def pick(i):
    """Select image i of the split for the pixel view."""
    st.session_state["ds_index"] = int(i)


view = layout.line(key="ds_view")  # split, digit, order and the dice: two lines on a phone, one on a desktop
split = view.radio(t("dataset.split"), SPLITS, key="ds_split", horizontal=True, on_change=reset_page,
                 format_func=lambda s: t(f"dataset.split_{s}"))
digit_choice = view.selectbox(t("dataset.digit"), DIGITS, key="ds_digit", on_change=reset_page, width=170,
                              format_func=lambda d: t("dataset.digit_all") if d == "all" else str(d))
order = view.radio(t("dataset.order"), ("file", "random"), key="ds_order", horizontal=True, on_change=reset_page,
                 format_func=lambda o: t(f"dataset.order_{o}"))
view.button(t("dataset.new_sample"), icon="🎲", on_click=new_sample, key="ds_new_sample")

digit = None if digit_choice == "all" else int(digit_choice)
img, labels = ds.images(split), ds.labels(split)
indices = explore.select(labels, digit)
n_pages = explore.page_of(indices, 1, per_page=PER_PAGE)[1]
urlstate.seed("ds_page", "page", urlstate.read_int("page", 1, lo=1, hi=n_pages))
if not 1 <= st.session_state["ds_page"] <= n_pages:
    st.session_state["ds_page"] = 1

# --- the thumbnail grid
if order == "random":
    shown = explore.sample(indices, PER_PAGE, seed=st.session_state["ds_seed"])
    st.caption(t("dataset.grid_random", n=f"{len(indices):,}", k=len(shown), seed=st.session_state["ds_seed"]))
    page = 1
else:
    page = st.session_state["ds_page"]
    shown, _ = explore.page_of(indices, page, per_page=PER_PAGE)
    st.caption(t("dataset.grid_file", n=f"{len(indices):,}", first=(page - 1) * PER_PAGE + 1,
                 last=(page - 1) * PER_PAGE + len(shown), pages=n_pages))

# --- the selected image: from the URL, else the grid's first image (the documented default)
first = int(shown[0]) if len(shown) else 0
urlstate.seed("ds_index", "index", urlstate.read_int("index", first, lo=0, hi=ds.size(split) - 1))
if not 0 <= st.session_state["ds_index"] < ds.size(split):
    st.session_state["ds_index"] = first

model_id, _ = models.current_model()
thumbs = stats.thumbnails(ds.key, split, tuple(int(i) for i in shown))
cells = layout.cells(len(shown), width=layout.THUMB_PX, key="ds_grid")  # lines that wrap: reading order on any width
for cell, i, png in zip(cells, shown, thumbs, strict=True):
    with cell:  # one control per picture: Inspect shows it pixel by pixel below (the open one is highlighted)
        st.image(png, caption=f"#{i} · {labels[i]}", width="stretch")
        st.button(t("dataset.inspect"), key=f"ds_pick_{i}", on_click=pick, args=(i,), width="stretch",
                  help=t("dataset.inspect_help", i=int(i)), type="primary" if i == st.session_state["ds_index"] else "secondary")
if order == "file":
    st.pagination(n_pages, key="ds_page")

# --- the selected image, pixel by pixel
st.subheader(t("dataset.selected_head"))
left, right = st.columns([3, 2], gap="large")
with right:
    index = st.number_input(t("dataset.index", split=t(f"dataset.split_{split}")), min_value=0,
                            max_value=ds.size(split) - 1, step=1, key="ds_index")
    x = img[index]
    st.metric(t("dataset.label"), int(labels[index]))
    inked, bright, peak = stats.ink(x)
    st.markdown(t("dataset.selected_words", ink=inked, bright=bright, peak=peak))
    if not nav.link("single", label=t("dataset.open_selected", i=index), icon="🔍",
                    query=urlstate.query(split=split, index=index, model=model_id)):
        st.caption(t("dataset.single_missing"))
with left:
    title = t("dataset.heatmap_title", split=t(f"dataset.split_{split}"), i=index, label=int(labels[index]))
    panels.chart(charts.digit_heatmap(x, title=title, x_title=t("dataset.col"), y_title=t("dataset.row"), unit=t("dataset.unit_pixel"),
                                      fit_title=True),
                 how_to_read=t("dataset.heatmap_read"), filename=f"mnist-{split}-{index}")

# --- statistics, one tab at a time (only the open tab is computed and drawn)
label_of = {k: t(f"dataset.tab_{k}") for k in TABS}
url_tab = label_of[urlstate.read_choice("tab", TABS, "classes")]
urlstate.seed("ds_tab", "tab", url_tab)
if st.session_state["ds_tab"] not in label_of.values():  # the language changed: same tab, new label
    st.session_state["ds_tab"] = url_tab
tabs = dict(zip(TABS, st.tabs(list(label_of.values()), key="ds_tab", on_change="rerun"), strict=True))
scope = t("dataset.scope", split=t(f"dataset.split_{split}"),
          digit=t("dataset.digit_all") if digit is None else t("dataset.digit_n", d=digit))
with tabs["classes"]:
    if tabs["classes"].open:
        counts = {s: stats.class_counts(ds.key, s) for s in SPLITS}
        panels.chart(charts.class_distribution(counts, title=t("dataset.classes_title"), x_title=t("dataset.digit"),
                                               y_title=t("dataset.images"), names={s: t(f"dataset.split_{s}") for s in SPLITS}),
                     how_to_read=t("dataset.classes_read"), filename="mnist-class-distribution")
with tabs["mean"]:
    if tabs["mean"].open:
        means = stats.mean_images(ds.key, split)
        panels.chart(charts.image_grid(means, names=[str(d) for d in range(10)], unit=t("dataset.unit_mean"),
                                       title=t("dataset.mean_title", split=t(f"dataset.split_{split}"))),
                     how_to_read=t("dataset.mean_read"), filename=f"mnist-{split}-mean-images")
        var = stats.pixel_variance(ds.key, split, digit)
        panels.chart(charts.digit_heatmap(var, title=t("dataset.var_title", scope=scope), colorscale="Viridis",
                                          zmax=None, value_format=",.0f", x_title=t("dataset.col"), y_title=t("dataset.row"),
                                          unit=t("dataset.unit_variance"), fit_title=True),
                     how_to_read=t("dataset.var_read"), filename=f"mnist-{split}-variance")
with tabs["hist"]:
    if tabs["hist"].open:
        log_y = st.toggle(t("dataset.log_y"), value=True, key="ds_log")
        edges, counts = stats.pixel_histogram(ds.key, split, digit, 32)
        panels.chart(charts.histogram(edges, counts, title=t("dataset.hist_title", scope=scope), log_y=log_y,
                                      x_title=t("dataset.pixel_value"), y_title=t("dataset.pixels")),
                     how_to_read=t("dataset.hist_read"), filename=f"mnist-{split}-pixel-histogram")
with tabs["pca"]:
    if tabs["pca"].open:
        pca.show(ds, split, n=PCA_POINTS, model_id=model_id)
with tabs["flags"]:
    if tabs["flags"].open:
        loadview.show(ds)

tab_id = next(k for k, v in label_of.items() if v == st.session_state["ds_tab"])
urlstate.write(split=split, digit=digit_choice, page=page if order == "file" else None,
               sample=st.session_state["ds_seed"] if order == "random" else None,
               index=index, tab=tab_id, defaults={**DEFAULTS, "index": first})

shell.end()
