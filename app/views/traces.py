"""Reasoning-traces page for one run (the reasoning-trace analysis tool's views): the map of the
trace embeddings coloured by correctness or k-means cluster (2-D, a 3-D pair of projections, or
t-SNE), the token lengths of the mapped samples, length distributions by correctness
(trace_stats) and the most frequent phrases by correctness (trace_phrases)."""

from __future__ import annotations

import streamlit as st

from app import charts_decoding, data, ui
from app.queries import decoding as run_queries
from app.queries import traces as queries

TRACE_MARTS = ("trace_embedding_map", "trace_stats", "trace_phrases")
COLOURINGS = ("correctness", "cluster")
PHRASE_VALUES = ("occurrences", "share")


def map_section(snap: data.Snapshot, run_id: str) -> None:
    st.header("Embedding map")
    if not ui.has_mart(snap, "trace_embedding_map"):
        return
    models = queries.embedding_models(snap, run_id)
    if not models:
        st.info("This run has no reasoning-trace embeddings (lake table embeddings).", icon=":material/info:")
        return
    with st.container(horizontal=True, gap="small"):
        model = st.selectbox("Embedding model", list(models), key="embedding_model", width=320,
                             bind="query-params")
        projections = [p for p in charts_decoding.PROJECTIONS if p != "t-SNE" or models[model]]
        projection = st.segmented_control("Map", projections, key="projection", required=True,
                                          default=projections[0], bind="query-params",
                                          help="PCA 3-D is drawn as two panels: x3 against y3 and x3 against "
                                               "z3. t-SNE appears when the build ran with var trace_tsne.")
        colour_by = st.segmented_control("Colour by", COLOURINGS, key="colour", required=True,
                                         default=COLOURINGS[0], bind="query-params")
    points, total = queries.embedding_points(snap, run_id, model)
    panels = charts_decoding.PROJECTIONS[projection]
    for column, (x, y) in zip(st.columns(len(panels)), panels):
        with column:
            chart = charts_decoding.embedding_map_chart(points, colour_by=colour_by, x=x, y=y,
                                                        title=f"{projection}: {x} vs {y}")
            st.altair_chart(chart, width="stretch")
            ui.downloads(f"trace_map_{x}_{y}", points, chart)
    shown = f"{len(points):,} of {total:,} samples (a fixed sample)" if total > len(points) else f"{total:,} samples"
    st.caption(f"{shown}; clusters are k-means on the embeddings. Click a legend entry to highlight it.")

    histogram = queries.token_histogram(snap, run_id, model)
    if histogram.is_empty():
        st.info("The mapped samples carry no token counts.", icon=":material/info:")
        return
    chart = charts_decoding.token_histogram_chart(histogram, title="Tokens of the mapped samples")
    st.altair_chart(chart, width="stretch")
    ui.downloads("trace_token_histogram", histogram, chart)


def lengths_section(snap: data.Snapshot, run_id: str) -> None:
    st.header("Lengths")
    if not ui.has_mart(snap, "trace_stats"):
        return
    measures = queries.stat_measures(snap, run_id)
    if not measures:
        st.info("This run has no length statistics.", icon=":material/info:")
        return
    measure = st.segmented_control("Measure", measures, key="measure", required=True, default=measures[0],
                                   bind="query-params")
    stats = queries.length_stats(snap, run_id, measure)
    chart = charts_decoding.length_box_chart(stats, measure_title=queries.MEASURES[measure],
                                             title=f"{queries.MEASURES[measure].capitalize()} by correctness")
    st.altair_chart(chart, width="stretch")
    st.caption("Thin line: min–max; thick line: 10th–90th percentile; box: quartiles; tick: median; "
               "diamond: mean. Reasoning-trace measures cover the samples with an embedding.")
    st.dataframe(stats, hide_index=True, width="stretch", column_config={
        "truncated_share": st.column_config.NumberColumn(format="%.3f"),
        **{s: st.column_config.NumberColumn(format="%.1f") for s in queries.STATISTICS}})
    ui.downloads(f"trace_lengths_{measure}", stats, chart)


def phrases_section(snap: data.Snapshot, run_id: str) -> None:
    st.header("Frequent phrases")
    if not ui.has_mart(snap, "trace_phrases"):
        return
    frame = queries.phrases(snap, run_id)
    if frame.is_empty():
        st.info("This run has no reasoning-trace phrases (it needs embeddings with reasoning texts).",
                icon=":material/info:")
        return
    value = st.segmented_control("Bar length", PHRASE_VALUES, key="phrase_value", required=True,
                                 default=PHRASE_VALUES[0], bind="query-params",
                                 help="occurrences: times the phrase occurs in the group's traces; share: "
                                      "share of the group's traced samples that contain it.")
    chart = charts_decoding.phrases_chart(frame, value=value, title="Most frequent phrases by correctness")
    st.altair_chart(chart, width="stretch")
    st.dataframe(frame, hide_index=True, width="stretch",
                 column_config={"share": st.column_config.NumberColumn(format="%.3f")})
    ui.downloads("trace_phrases", frame, chart)


snap = ui.current_snapshot()
st.title("Reasoning traces")
ui.require_marts(snap, "runs_summary")
present = tuple(m for m in TRACE_MARTS if m in data.marts(snap))
if not present:
    ui.require_marts(snap, *TRACE_MARTS)
filters = ui.run_filters(snap)
choices = run_queries.run_choices(snap, present, filters)
if not choices:
    st.info("No run with trace data matches the filters." if any(filters.values()) else
            "The trace marts hold no runs yet: they describe the completions of complete runs; write some, "
            "then `ttsw build`.", icon=":material/info:")
    st.stop()
mapped = (set(run_queries.run_choices(snap, ("trace_embedding_map",), filters))
          if "trace_embedding_map" in present else set())
labels = list(choices)
label = st.selectbox("Run", labels, key="run", bind="query-params", width=640,
                     index=next((i for i, lab in enumerate(labels) if lab in mapped), 0),
                     help="The page opens on the newest run with trace embeddings.")
map_section(snap, choices[label])
st.divider()
lengths_section(snap, choices[label])
st.divider()
phrases_section(snap, choices[label])
