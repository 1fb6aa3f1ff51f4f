"""MNIST Explorer: `streamlit run dashboard.py`. The router: pages, the shared sidebar, then the chosen page."""
import streamlit as st

from ui import i18n, nav, share, sidebar
from ui.i18n import t

st.set_page_config(page_title="MNIST Explorer", page_icon="🔢", layout="wide")

# One line per page; url_path is the page's address (/dataset?split=test...), so keep it stable once published.
# Page files live in views/, not pages/: with a pages/ folder beside this file Streamlit (1.67) falls back to its
# old folder-based routing and a fresh visit to /dataset runs the page file without this router (no sidebar, no links).
PAGES = nav.register([
    st.Page("views/home.py", title=t("nav.home"), icon="🏠", url_path="home", default=True, help=t("nav.home_help")),
    st.Page("views/dataset.py", title=t("nav.dataset"), icon="🗂️", url_path="dataset", help=t("nav.dataset_help")),
    st.Page("views/single.py", title=t("nav.single"), icon="🔍", url_path="single", help=t("nav.single_help")),
    st.Page("views/evaluate.py", title=t("nav.evaluate"), icon="📏", url_path="evaluate", help=t("nav.evaluate_help")),
    st.Page("views/preprocess.py", title=t("nav.preprocess"), icon="⚖️", url_path="preprocess", help=t("nav.preprocess_help")),
    st.Page("views/train.py", title=t("nav.train"), icon="🏋️", url_path="train", help=t("nav.train_help")),
    st.Page("views/glossary.py", title=t("nav.glossary"), icon="📖", url_path="glossary", help=t("nav.glossary_help")),
])

page = st.navigation(PAGES)
i18n.language_picker()
sidebar.model_picker()
sidebar.data_status()
link_box = st.sidebar.container()  # filled after the page ran: its choices are in the URL only then
try:
    page.run()
finally:  # also after st.stop() (the first-run panel): the link still says which page and language
    share.show(link_box, page)
