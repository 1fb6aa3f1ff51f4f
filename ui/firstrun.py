"""The first-run panel: three ways to get MNIST (download, upload the four files, MNIST_DIR); require_data() for pages."""
import os

import streamlit as st

from engine import download
from engine.data import FILES
from engine.errors import EngineError, MnistNotFoundError
from engine.paths import mnist_cache_dir
from ui import errors, loaders, mnist_upload, share
from ui.i18n import t

# the four .gz files' sizes on the public mirrors, to weight one overall progress bar by bytes
GZ_BYTES = {"train-images-idx3-ubyte": 9_912_422, "train-labels-idx1-ubyte": 28_881,
            "t10k-images-idx3-ubyte": 1_648_877, "t10k-labels-idx1-ubyte": 4_542}
UPLOAD_KEY = "firstrun_upload"
RESULTS_KEY = "firstrun_results"


def _on_upload():
    """Store every newly uploaded file; remember one line per file (stored or why not) for the panel."""
    results = []
    for f in st.session_state.get(UPLOAD_KEY) or []:
        try:
            key = mnist_upload.store(f.name, f.getvalue())
            results.append(("ok", t("firstrun.stored", name=f.name, standard=FILES[key][0])))
        except EngineError as e:
            results.append(("error", errors.message(e)))
    st.session_state[RESULTS_KEY] = results
    loaders.forget()


def _download():
    """Run the engine's downloader with a live progress bar; a failure is one st.error line."""
    bar = st.progress(0.0, text=t("firstrun.download_start"))
    total = sum(GZ_BYTES.values())
    finished, shown = {}, [-1]

    def progress(stem, done, size):
        finished[stem] = done
        frac = min(sum(finished.values()) / total, 1.0)
        if int(frac * 100) != shown[0]:  # one message per percent, not one per 64 KB chunk
            shown[0] = int(frac * 100)
            bar.progress(frac, text=t("firstrun.download_file", name=stem, pct=shown[0]))

    try:
        download.download_mnist(mnist_cache_dir(), progress=progress)
    except EngineError as e:
        bar.empty()
        errors.show(e)
        return False
    bar.progress(1.0, text=t("firstrun.download_done"))
    loaders.forget()
    return True


def panel(error=None):
    """Explain that MNIST is missing and offer the three ways in; error is the EngineError that stopped the load."""
    st.subheader(t("firstrun.title"))
    st.markdown(t("firstrun.intro"))
    if error is not None and not (isinstance(error, MnistNotFoundError) and not os.environ.get("MNIST_DIR")):
        errors.show(error)  # a broken file or a wrong MNIST_DIR: the engine's sentence says what to fix
    c1, c2, c3 = st.columns(3, gap="large", border=True)
    with c1:
        st.markdown(t("firstrun.download_head"))
        st.caption(t("firstrun.download_help", folder=str(mnist_cache_dir())))
        if st.button(t("firstrun.download_button"), icon="⬇️", type="primary", key="firstrun_download"):
            if _download():
                st.rerun()
    with c2:
        st.markdown(t("firstrun.upload_head"))
        st.caption(t("firstrun.upload_help"))
        st.file_uploader(t("firstrun.upload_label"), accept_multiple_files=True, key=UPLOAD_KEY, on_change=_on_upload)
        for kind, line in st.session_state.get(RESULTS_KEY, []):
            (st.success if kind == "ok" else st.error)(line)
        have = mnist_upload.present()
        st.caption("  \n".join(("✅ " if have[k] else "⬜ ") + FILES[k][0] for k in FILES))
    with c3:
        st.markdown(t("firstrun.env_head"))
        st.caption(t("firstrun.env_help"))
        st.code("export MNIST_DIR=/path/to/mnist\nstreamlit run dashboard.py", language="bash", wrap_lines=True)
        st.caption(t("firstrun.cli_help"))
        st.code("python -m engine download", language="bash")


def require_data():
    """The Dataset, or draw the first-run panel and stop this page (never a traceback)."""
    ds, error = loaders.try_dataset()
    if ds is None:
        panel(error)
        share.stop()
    return ds
