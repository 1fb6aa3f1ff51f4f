"""Single image: one digit in (an MNIST image, a drawing or an uploaded photo) and everything the network does with it.

Answer first: the input and the network's answer side by side on the first screen, the live network under the answer,
then the detailed sections (ui/single/sections.py) in tabs, in reading order.
"""
import streamlit as st

from engine import explain
from ui import firstrun, models, network, panels, report, reportbutton, shell, urlstate
from ui.i18n import t
from ui.single import drawlink, picker, sections

shell.page("single")

panels.intro(t("single.title"), t("single.intro"))
ds = firstrun.require_data()
model_id, model = models.require_model(t("single.no_model"))
catalog, _ = models.catalog()
others = [m for m in catalog if m != model_id]
picker.seed(ds, others, "book" if "book" in others else (others[0] if others else None))

# --- the first screen: the input on the left, the answer and the network at work on the right, in the same run
source = picker.source()
left, right = st.columns([2, 3], gap="large")
with left:
    picked = picker.choose(source, ds, model_id, model)
tr = explain.trace(model, picked.pixels) if picked.pixels is not None else None
pred = explain.top_two(tr.z[-1]).first if tr is not None else None
with left:
    said = picker.describe(picked, ds, model_id, model, pred)
with right:
    if tr is None:
        if picked.prompt:
            st.info(picked.prompt)
    else:
        network.answer(tr, label=picked.label)
        network.view(model, tr)

# --- below: how the answer came about, one tab per section (all drawn, so the report has them all; only one takes room)
if tr is not None:
    draft = report.Draft(title=t("single.report_title", name=picked.name, model=model_id), intro=t("single.report_intro"))
    reportbutton.offer(draft, model_id=model_id, model=model, key="single_report",
                       file_name_parts=("mnist-single", model_id, picked.name))
    tabs = sections.tabs(model, pred)
    with tabs["input"]:
        if picked.digitized is not None:
            sections.steps(picked.digitized)
        sections.input_section(model, tr, picked.pixels, picked.name, draft, said=said)
    with tabs["answer"]:
        sections.answer_section(model_id, model, tr, picked.pixels, picked.label, draft, others=others, catalog=catalog)
    if "hidden" in tabs:
        with tabs["hidden"]:
            sections.hidden_section(model, tr, draft)
    with tabs["why"]:
        sections.why_section(model, tr, picked.pixels, pred, draft)
    if "near" in tabs:
        with tabs["near"]:
            sections.near_section(ds, model_id, model, tr, pred, draft)

urlstate.write(input=picked.source, split=st.session_state["single_split"], index=st.session_state["single_index"],
               compare=st.session_state["single_compare_model"] if st.session_state.get("single_compare") else None,
               draw=drawlink.code(picked.source, picked.pixels), defaults={"input": "mnist", "split": "test", "index": 0})

shell.end()
