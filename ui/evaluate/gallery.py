"""Image galleries of the evaluation page: thumbnails in rows, a caption each, a link to the single-image page, paging."""
import streamlit as st

from engine.explore import page_of
from ui import layout, nav, stats, urlstate
from ui.i18n import t

PER_PAGE = 24  # three lines of eight on a desktop: a page of a gallery is one screen


def page(n_items, *, key, per_page=PER_PAGE):
    """The current 1-based page of a paged gallery (kept in st.session_state[key]), clamped to the pages there are."""
    n_pages = max(1, -(-n_items // per_page))
    current = st.session_state.get(key, 1)
    if not isinstance(current, int) or not 1 <= current <= n_pages:
        current = st.session_state[key] = 1
    return current, n_pages


def show(ds, split_name, indices, captions, *, model_id, key, notes=None):
    """Thumbnails of images indices (numbers in split split_name) on lines that wrap in reading order (key names them),
    captions[n] under each, notes[n] below, a link to /single."""
    thumbs = stats.thumbnails(ds.key, split_name, tuple(int(i) for i in indices))
    cells = layout.cells(len(indices), width=layout.THUMB_PX, key=f"{key}_grid")
    for n, (cell, i, png) in enumerate(zip(cells, indices, thumbs, strict=True)):
        with cell:
            st.image(png, caption=captions[n], width="stretch")
            if notes is not None:
                st.caption(notes[n])
            nav.link("single", label=t("evaluate.open"), icon="🔍", width="stretch",
                     query=urlstate.query(split=split_name, index=int(i), model=model_id))


def paged(ds, split_name, indices, caption, *, key, model_id, note=None, per_page=PER_PAGE):
    """show() one page of indices (a NumPy array in display order) with a pager below; caption(n)/note(n) label item n."""
    current, n_pages = page(len(indices), key=key, per_page=per_page)
    shown, _ = page_of(indices, current, per_page=per_page)
    start = (current - 1) * per_page
    show(ds, split_name, shown, [caption(start + n) for n in range(len(shown))], model_id=model_id, key=key,
         notes=None if note is None else [note(start + n) for n in range(len(shown))])
    if n_pages > 1:
        st.pagination(n_pages, key=key)
    return shown
