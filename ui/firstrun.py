"""The first-run panel: three ways to get MNIST (download, upload the four files, MNIST_DIR); require_data() for pages."""
import os

import streamlit as st

from engine import download
from engine.data import FILES
from engine.errors import EngineError, MnistNotFoundError
from engine.mnistfiles import cache_refusal, writable_cache
from engine.paths import mnist_cache_dir
from ui import errors, loaders, mnist_upload, share
from ui.i18n import t

# the four .gz files' sizes on the public mirrors, to weight one overall progress bar by bytes
GZ_BYTES = {"train-images-idx3-ubyte": 9_912_422, "train-labels-idx1-ubyte": 28_881,
            "t10k-images-idx3-ubyte": 1_648_877, "t10k-labels-idx1-ubyte": 4_542}
UPLOAD_KEY = "firstrun_upload"
RESULTS_KEY = "firstrun_results"


def _on_upload():
    """Identify every file in the uploader by its header; once all four are there, install them as one set."""
    parts, results = [], []
    for f in st.session_state.get(UPLOAD_KEY) or []:
        try:
            part = mnist_upload.identify(f.name, f.getvalue())
            parts.append(part)
        except EngineError as e:
            results.append(("error", errors.message(e)))
    try:
        found = mnist_upload.sort_out(parts)
        for key, part in found.items():
            results.append(("ok", t("firstrun.identified", name=part.name, standard=FILES[key][0], n=f"{part.count:,}")))
        if len(found) == len(FILES) and not any(kind == "error" for kind, _ in results):
            mnist_upload.install(parts, dataset_present=_dataset_present)
            results.append(("ok", t("firstrun.installed")))
            loaders.forget()
        elif parts:
            results.append(("info", t("firstrun.add_more", n=len(FILES) - len(found))))
    except EngineError as e:
        results.append(("error", errors.message(e)))
    st.session_state[RESULTS_KEY] = results


def _dataset_present():
    """True when MNIST loads now: another visitor may have installed it while this panel was open."""
    return loaders.try_dataset()[0] is not None


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
        if _dataset_present():  # installed by someone else meanwhile: a page never replaces the server's dataset
            raise mnist_upload.AlreadyInstalled(t("firstrun.already"))
        download.download_mnist(writable_cache(), progress=progress)
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
    refusal = cache_refusal()
    if refusal:  # MNIST_DIR is set: a download or an upload into the cache would never be read, so offer neither
        st.warning(t("firstrun.fix_mnist_dir", folder=os.environ.get("MNIST_DIR", "")), icon="🗂️")
        _env_help()
        return
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
            {"ok": st.success, "info": st.info}.get(kind, st.error)(line)
    with c3:
        _env_help()


def _env_help():
    """The operator's ways: MNIST_DIR, or the command-line download."""
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
