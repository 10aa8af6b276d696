"""SQL console page: a read-only query over the marts and the lake views (the query lives in
the URL, so a result is shareable), its first rows as a table with a CSV download, the views
with their columns, and example queries to start from. `warehouse.sandbox` refuses anything
that writes or reads outside the warehouse, and stops a query at its timeout."""

from __future__ import annotations

import streamlit as st

from app import ui
from app.queries import sql as sq
from warehouse.errors import WarehouseError
from warehouse.sandbox import QueryTimeout, RefusedQuery

EXAMPLES = {
    "Runs and their settings": "select name, status, model, approach, strategy, temperature, n, seed, "
                                      "samples\nfrom runs_summary\norder by created_at desc",
    "Majority accuracy vs n, mean ± std over seeds": "select model, approach, temperature_setting, n, mean, std, "
                                                    "std_pop, seeds\nfrom scaling_curves\n"
                                                    "where method = 'majority' and estimator = 'prefix'\n"
                                                    "order by model, approach, temperature_setting, n",
    "Samples and answer rate per run (lake)": "select r.name, count(*) as samples,\n"
                                              "       avg((a.answer is not null)::int) as answered\n"
                                              "from lake.completions c join lake.runs r using (run_id)\n"
                                              "left join lake.answers a using (run_id, problem_id, sample_idx)\n"
                                              "group by r.name order by samples desc",
    "Columns of a mart": "describe selection_accuracy",
}


def load_example(sql: str) -> None:
    st.session_state["sql"] = sql


snap = ui.current_snapshot()
st.title("SQL console")
ui.require_marts(snap)
st.caption("Read-only: one SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE or EXPLAIN over the marts (named "
           "after them, or `marts.<mart>`) and the lake views (`lake.<table>`); nothing outside the warehouse "
           f"can be read or written, and a query stops after {sq.limits().timeout_s:g} s.")

views = sq.views(snap)
with st.sidebar:
    st.subheader("Views")
    for view, columns in views.iter_rows():
        with st.expander(view):
            st.code("\n".join(columns), language=None)

with st.container(horizontal=True, gap="small"):
    for title, example in EXAMPLES.items():
        st.button(title, key=f"example_{title}", on_click=load_example, args=(example,),
                  icon=":material/lightbulb:", type="tertiary")

query = st.text_area("Query", key="sql", height=160, placeholder="select * from runs_summary",
                     bind="query-params")
with st.container(horizontal=True, gap="small", vertical_alignment="bottom"):
    st.button("Run", type="primary", icon=":material/play_arrow:", key="run")
    limit = st.selectbox("Row limit", sq.ROW_LIMITS, index=1, key="limit", width=140, bind="query-params")

if not (query or "").strip():
    st.info("Write a query, or load an example above.", icon=":material/edit:")
    st.stop()
try:
    frame, truncated = sq.run(snap, query, limit)
except RefusedQuery as exc:
    st.error(f"Refused: {exc}", icon=":material/block:")
    st.stop()
except QueryTimeout as exc:
    st.error(f"Stopped: {exc}", icon=":material/timer_off:")
    st.stop()
except WarehouseError as exc:
    st.error(f"Query failed: {exc}", icon=":material/error:")
    st.stop()

if truncated:
    st.warning(f"Showing the first {limit:,} rows only: the query returns more. Add a `limit`, "
               "filter or aggregate, or raise the row limit.", icon=":material/content_cut:")
else:
    st.caption(f"{frame.height:,} rows")
st.dataframe(frame, hide_index=True, width="stretch")
ui.downloads("sql_result", frame)
