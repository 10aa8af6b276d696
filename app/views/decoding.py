"""Decoding page: how accuracy depends on low-confidence decoding steps (sample_smart_not_hard's
rank analyses, mart low_confidence_accuracy) and where correct candidates sit in generation
order (the Best-of-N tool's "does first win?", mart candidate_position), for chosen runs."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import charts_decoding, data, ui
from app.queries import decoding as queries

BIN_TITLES = {
    "by_count": "low-confidence steps in the response",
    "by_rank": "rank sampled at a low-confidence step",
    "by_rank_single_event": "rank sampled at the response's only low-confidence step",
    "by_max_rank": "largest rank sampled at a low-confidence step",
    "majority_by_mean_rank": "mean-rank threshold of the responses kept for the vote",
}
ANALYSIS_HELP = (
    "by_count: responses by their number of low-confidence steps. "
    "by_rank: low-confidence steps by the rank of the token sampled there (a response counts once per step). "
    "by_rank_single_event: the same over responses with exactly one such step. "
    "by_max_rank: responses by the largest rank they sampled. "
    "majority_by_mean_rank: per-problem majority vote over the responses whose mean rank is at most "
    "the threshold.")


def labelled(frame: pl.DataFrame, labels: dict[str, str]) -> pl.DataFrame:
    """`frame` with the run's label first, in the order of `labels` (run_id -> label)."""
    order = list(labels)
    return (frame.with_columns(run=pl.col("run_id").replace_strict(labels))
            .sort(pl.col("run_id").replace_strict(order, list(range(len(order)))), maintain_order=True)
            .select("run", pl.exclude("run")))


def pick_runs(choices: dict[str, str], key: str) -> dict[str, str]:
    """A run multiselect (bound to the URL); run_id -> label of the chosen runs."""
    chosen = st.multiselect("Runs", list(choices), default=list(choices)[:1], key=key, bind="query-params",
                            placeholder="pick runs", width=520)
    return {choices[label]: label for label in chosen}


def low_confidence_section(snap: data.Snapshot, filters: dict[str, list[str]]) -> None:
    st.header("Accuracy by low-confidence steps")
    if not ui.has_mart(snap, "low_confidence_accuracy"):
        return
    choices = queries.run_choices(snap, ("low_confidence_accuracy",), filters)
    if not choices:
        which = "No run that matches the filters" if any(filters.values()) else "No run"
        st.info(f"{which} has low-confidence decode events (lake table decode_events): generate with token "
                "logging or import rank logs, then `ttsw build`.", icon=":material/info:")
        return
    with st.container(horizontal=True, gap="small"):
        runs = pick_runs(choices, "lowconf_runs")
        if runs:
            analyses = queries.low_confidence_analyses(snap, list(runs))
            analysis = st.segmented_control("Analysis", analyses, key="analysis", required=True,
                                            default=analyses[0], help=ANALYSIS_HELP, bind="query-params")
    if not runs:
        st.info("Pick at least one run.", icon=":material/touch_app:")
        return
    frame = labelled(queries.low_confidence(snap, list(runs), analysis), runs)
    chart = charts_decoding.low_confidence_chart(frame, bin_title=BIN_TITLES[analysis],
                                                 title=f"Accuracy {analysis.replace('_', ' ')}")
    st.altair_chart(chart, width="stretch")
    st.caption(f"Lines: accuracy in each bin (left axis); light bars: how many {frame['unit'][0]}s the bin "
               f"holds (right axis). Low-confidence steps are decode events of kind `{frame['kind'][0]}`.")
    st.dataframe(frame.select("run", "bin", "unit", "correct", "total", "accuracy"), hide_index=True,
                 width="stretch", column_config={"accuracy": st.column_config.NumberColumn(format="%.4f")})
    ui.downloads(f"low_confidence_{analysis}", frame, chart)


def candidate_section(snap: data.Snapshot, filters: dict[str, list[str]]) -> None:
    st.header("Candidate position")
    if not ui.has_mart(snap, "candidate_position"):
        return
    choices = queries.run_choices(snap, ("candidate_position",), filters)
    if not choices:
        which = "No run that matches the filters" if any(filters.values()) else "No run"
        st.info(f"{which} has candidates in candidate_position (complete runs with completions).",
                icon=":material/info:")
        return
    with st.container(horizontal=True, gap="small"):
        runs = pick_runs(choices, "candidate_runs")
        if runs:
            splits = queries.candidate_splits(snap, list(runs))
            chosen_splits = st.pills("Splits", splits, selection_mode="multi", key="splits", default=splits[:1],
                                     help="'all' holds every problem of a run; the others come from "
                                          "problems.split.", bind="query-params")
    if not runs or not chosen_splits:
        st.info("Pick at least one run and one split.", icon=":material/touch_app:")
        return
    series = pl.concat_str("run", pl.lit(" · "), "split").alias("series")
    per_candidate = labelled(queries.candidates(snap, list(runs), chosen_splits), runs).with_columns(series)
    left, right = st.columns(2)
    with left:
        rate = charts_decoding.verified_rate_chart(per_candidate, title="Verified rate by candidate index")
        st.altair_chart(rate, width="stretch")
        ui.downloads("candidate_verified_rate", per_candidate, rate)
    with right:
        first = charts_decoding.first_verified_chart(per_candidate, title="Where the first correct candidate sits")
        st.altair_chart(first, width="stretch")
        ui.downloads("candidate_first_verified", per_candidate, first)

    per_split = labelled(queries.first_vs_any(snap, list(runs), chosen_splits), runs).with_columns(series)
    versus = charts_decoding.first_vs_any_chart(per_split, title="First candidate vs any candidate")
    st.altair_chart(versus, width="stretch")
    st.caption("First candidate: share of problems whose candidate 0 is correct. Any candidate: share with at "
               "least one correct candidate (pass@N). The gap is what drawing more candidates can win.")
    st.dataframe(per_split.drop("run_id", "series"), hide_index=True, width="stretch", column_config={
        column: st.column_config.NumberColumn(format="%.4f")
        for column in ("first_candidate_rate", "any_candidate_rate")})
    ui.downloads("candidate_first_vs_any", per_split, versus)


snap = ui.current_snapshot()
st.title("Decoding")
ui.require_marts(snap, "runs_summary")
run_filters = ui.run_filters(snap)
low_confidence_section(snap, run_filters)
st.divider()
candidate_section(snap, run_filters)
