"""The sidebar every page shares: the model picker (kept in ?model=), a model uploader and the data status."""
import streamlit as st

from engine import modelstore
from engine.errors import EngineError
from ui import errors, loaders, models, modeltitles, share, shared_models, urlstate
from ui.i18n import t
from ui.inert import one_line
from ui.panels import plain

UPLOAD_KEY = "model_upload_file"
NOTICE_KEY = "model_upload_notice"
MISSING_KEY = "model_link_missing"  # (id the link asked for, the model shown instead)
SHARE_KEY = "model_share"  # the "Share this model" button
SHARE_NOTICE_KEY = "model_share_notice"


def _on_model_upload():
    """Validate the uploaded model; on success pick it, otherwise keep one error line for the sidebar."""
    f = st.session_state.get(UPLOAD_KEY)
    if f is None:
        return
    try:
        mid, evicted = models.add_upload(f.name, f.getvalue())
    except EngineError as e:
        st.session_state[NOTICE_KEY] = ("error", errors.message(e))
        return
    st.session_state[models.PICK_KEY] = mid
    note = t("shell.upload_ok", id=mid)
    if evicted:
        note += " " + t("shell.evicted", id=evicted, n=models.MAX_PER_KIND, mb=models.MAX_SESSION_MB)
    st.session_state[NOTICE_KEY] = ("ok", note)


def _on_share(model_id):
    """Copy a session's model into the shared store and pick it, so the link carries ?model=shared:ADDRESS."""
    try:
        mid, evicted = shared_models.share(model_id)
    except EngineError as e:
        st.session_state[SHARE_NOTICE_KEY] = ("error", errors.message(e))
        return
    st.session_state[models.PICK_KEY] = mid
    note = t("shell.shared_ok", id=mid)
    if evicted:
        note += " " + t("shell.evicted", id=evicted, n=models.MAX_PER_KIND, mb=models.MAX_SESSION_MB)
    st.session_state[SHARE_NOTICE_KEY] = ("ok", note)


def _share_box(side, pick):
    """Under the picker: Share this model (for a model of this session only), or what a shared model is."""
    if share.session_only(pick):
        side.button(t("shell.share_model"), icon="🔗", key=SHARE_KEY, on_click=_on_share, args=(pick,),
                    help=t("shell.share_model_help", mb=f"{modelstore.budget_bytes() / 2**20:,.0f}"))
    elif shared_models.is_shared(pick):
        side.caption("🔗 " + t("shell.shared_caption"))
    notice = st.session_state.pop(SHARE_NOTICE_KEY, None)
    if notice:
        (side.success if notice[0] == "ok" else side.error)(notice[1])


def _missing_why(model_id):
    if shared_models.is_shared(model_id):
        return t("shell.model_missing_shared")
    return t("shell.model_missing_session" if share.session_only(model_id) else "shell.model_missing_file")


def _note_missing_model(ids, default):
    """A link naming a model this server does not have (another session's upload, a removed file): remember it to say so."""
    asked = urlstate.raw("model")
    if asked is not None and asked not in ids and urlstate.changed_outside("model"):
        st.session_state[MISSING_KEY] = (asked[:200], default)  # a link may carry a megabyte of anything


def model_picker():
    """Select box over every usable model; the choice follows the user across pages and into ?model=. Returns the default id."""
    shared_models.open_link()  # a link's shared:ADDRESS joins this session's models before the menu is made
    catalog, broken = models.catalog()
    side = st.sidebar
    for e in broken:
        side.warning(errors.explained("error.model_file_broken", e))
    ids = list(catalog)
    if not ids:
        side.info(t("shell.no_models"))
        return None
    default = models.default_id(ids)
    _note_missing_model(ids, default)
    urlstate.seed(models.PICK_KEY, "model", urlstate.read_choice("model", ids, default))
    if st.session_state.get(models.PICK_KEY) not in ids:  # evicted, or a stale value from another page's run
        st.session_state[models.PICK_KEY] = default
    # labels made now, in this run's language (a format_func called later, as AppTest does, would make English ones);
    # the short label in the box, the whole sentence in its help
    labels, chosen = {m: models.title(m, catalog[m]) for m in ids}, st.session_state[models.PICK_KEY]
    pick = side.selectbox(t("shell.model"), ids, key=models.PICK_KEY, format_func=labels.__getitem__,
                          help=f"{t('shell.model_help')}\n\n{plain(modeltitles.title(chosen, catalog[chosen]))}")
    urlstate.write(model=pick, defaults={"model": default})
    _share_box(side, pick)
    missing = st.session_state.get(MISSING_KEY)
    if missing and missing[1] == pick:  # said until the user picks another model
        side.warning(t("shell.model_missing", id=plain(one_line(missing[0], most=60)), default=plain(default),
                       why=_missing_why(missing[0])))
    else:
        st.session_state.pop(MISSING_KEY, None)
    with side.expander(t("shell.upload_head"), icon="📤"):
        st.file_uploader(t("shell.upload_label"), type=["npz", "pkl"], key=UPLOAD_KEY, on_change=_on_model_upload,
                         help=t("shell.upload_help"))
        notice = st.session_state.pop(NOTICE_KEY, None)
        if notice:
            (st.success if notice[0] == "ok" else st.error)(notice[1])
    return default


def data_status():
    """One caption saying where MNIST comes from and how big it is, or that it is missing."""
    ds, error = loaders.try_dataset()
    if ds is None:
        st.sidebar.caption("⚠️ " + t("shell.data_missing"))
    else:
        st.sidebar.caption("🗄️ " + t("shell.data_ok", train=f"{ds.size('train'):,}", test=f"{ds.size('test'):,}",
                                                     origin=t(f"shell.origin_{ds.origin}")))
