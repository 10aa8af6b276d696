"""The dashboard's data access: snapshots, the one query entry point, run filters, and the
queries of the runs and scaling pages (other pages keep theirs in `app/queries/<page>.py`, built
on `query` and `run_where`), cached per serving snapshot.

A snapshot is `(home root, version)`: the version names the serving snapshot that `ttsw build`
published last (`serving/CURRENT`), plus the files' modification times, so cached results never
outlive the marts they came from, and every query under one key reads that one snapshot's folder,
never a mix of two builds. Queries go through one
in-memory DuckDB per snapshot (`warehouse.serving.serving_connection`, one cursor per query so
sessions on different threads never share a cursor). SQL filters and aggregates; results come
back as polars frames, lists and dicts. Column names and grouping expressions only ever come
from the allow-lists below; user-chosen values travel as query parameters.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import streamlit as st
import yaml

from warehouse.dbt_runner import project_dir
from warehouse.home import Home
from warehouse.serving import available_marts, manifest, serving_connection

Snapshot = tuple[str, str]

FILTER_COLUMNS = ("source", "status", "dataset", "model", "approach", "strategy")
HEADLINE_PREFIXES = ("acc", "pass", "majority")
METHODS = ("pass", "majority", "naive", "weighted")
ESTIMATORS = ("prefix", "unbiased", "stratified")
PRM_METHODS = ("naive", "weighted")

# a run's temperature, or its mixture ("mixed [0.4, 0.8]") for HNC runs
TEMPERATURE = "coalesce(cast(temperature as varchar), 'mixed ' || cast(temperatures as varchar))"
# group-by choice -> SQL label over the chosen runs `r` (with `run_label`) and selection_accuracy `s`
GROUPINGS = {
    "run": "r.run_label",
    "model": "r.model",
    "approach": "r.approach",
    "strategy": "r.strategy",
    "temperature": "r.temperature_label",
    "seed": "cast(r.seed as varchar)",
    "dataset": "r.dataset",
    "prm_model": "coalesce(s.prm_model, '(no PRM)')",
    "prm_aggregation": "coalesce(s.prm_aggregation, '(no PRM)')",
    "source": "r.source",
}
# the group-by choice that reads scaling_curves: one line per experiment group (runs equal but for the seed)
EXPERIMENT = "experiment group"
EXPERIMENT_LABEL = ("model || ' · ' || approach || ' · ' || strategy || ' · T=' || temperature_setting"
                    " || coalesce(' · N=' || n_samples, '') || coalesce(' · ' || prm_model, '')")
# the run filters scaling_curves and hnc_comparison can apply (they hold no run, source or status)
GROUP_FILTER_COLUMNS = ("dataset", "model", "approach", "strategy")
# band choice -> (low, high) over the per-point aggregates
BANDS = {
    "min–max": ("min_accuracy", "max_accuracy"),
    "± std": ("accuracy - coalesce(std, 0)", "accuracy + coalesce(std, 0)"),
}


def snapshot(home: Home) -> Snapshot:
    """The cache key for `home`: its root, the current snapshot's build id (empty for a
    pre-snapshot home, whose marts lie in serving/) and the newest modification among its files."""
    build_id = home.serving_id() or ""
    folder = home.snapshot_dir(build_id or None)
    stamps = []
    for path in [folder / "manifest.json", *folder.glob("*.parquet")]:
        try:
            stamps.append(path.stat().st_mtime_ns)
        except FileNotFoundError:  # absent manifest, or a mart replaced while we looked
            continue
    return str(home.root), f"{build_id}/{len(stamps)}:{max(stamps, default=0)}"


def snapshot_home(snap: Snapshot) -> Home:
    return Home(Path(snap[0]))


def snapshot_folder(snap: Snapshot) -> Path:
    """The snapshot folder the key names (the one it was taken from, even after a newer build)."""
    build_id = snap[1].split("/", 1)[0]
    return snapshot_home(snap).snapshot_dir(build_id or None)


@st.cache_resource(max_entries=4, show_spinner=False)
def _connection(snap: Snapshot) -> duckdb.DuckDBPyConnection:
    return serving_connection(snapshot_home(snap), snapshot_folder(snap))


def query(snap: Snapshot, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
    """Run one query on the snapshot's connection (marts as views, the `lake` views for drill-down)."""
    with _connection(snap).cursor() as cursor:
        return cursor.sql(sql, params=params or None).pl()


def run_where(filters: dict[str, list[str]]) -> tuple[str, dict[str, Any]]:
    """`where` clause keeping runs whose column is among the chosen values (empty = no filter)."""
    clauses, params = ["true"], {}
    for column, values in filters.items():
        if column not in FILTER_COLUMNS:
            raise ValueError(f"cannot filter runs on {column!r}")
        if values:
            clauses.append(f"list_contains(${column}, {column})")
            params[column] = list(values)
    return " and ".join(clauses), params


@st.cache_data(max_entries=64, show_spinner=False)
def marts(snap: Snapshot) -> list[str]:
    return available_marts(snapshot_home(snap), snapshot_folder(snap))


@st.cache_data(max_entries=16, show_spinner=False)
def built_at(snap: Snapshot) -> str | None:
    return manifest(snapshot_home(snap), snapshot_folder(snap)).get("built_at")


@st.cache_data(max_entries=16, show_spinner=False)
def simulated_runs(snap: Snapshot) -> dict[str, Any]:
    """How many runs there are and the names of the simulated ones."""
    frame = query(snap, "select count(*) as total, "
                         "coalesce(list(name order by name) filter (where source = 'simulated'), []) as names "
                         "from runs_summary")
    return {"total": frame["total"][0], "names": frame["names"][0].to_list()}


@st.cache_data(max_entries=16, show_spinner=False)
def filter_options(snap: Snapshot) -> dict[str, list[str]]:
    """The distinct values of each filterable run column."""
    select = ", ".join(f"coalesce(list(distinct {c} order by {c}) filter (where {c} is not null), []) as {c}"
                       for c in FILTER_COLUMNS)
    row = query(snap, f"select {select} from runs_summary").row(0, named=True)
    return {column: list(values) for column, values in row.items()}


@st.cache_data(max_entries=16, show_spinner=False)
def headline_columns(snap: Snapshot) -> list[str]:
    """The runs_summary columns holding headline numbers (acc*, pass*, majority*)."""
    frame = query(snap, "select column_name from (describe runs_summary)")
    return [c for c in frame["column_name"].to_list() if c.lower().startswith(HEADLINE_PREFIXES)]


@st.cache_data(max_entries=64, show_spinner=False)
def runs(snap: Snapshot, filters: dict[str, list[str]]) -> pl.DataFrame:
    """One row per run that passes the filters, newest first, with its headline numbers."""
    where, params = run_where(filters)
    headline = "".join(f', "{c}"' for c in headline_columns(snap))
    return query(snap, f"""
        select name, status, source, model, approach{headline}, strategy, {TEMPERATURE} as temperature,
               n, seed, dataset, prm_model, problems, samples, created_at, run_id
        from runs_summary where {where}
        order by created_at desc nulls last, name""", params)


@st.cache_data(max_entries=64, show_spinner=False)
def run_counts(snap: Snapshot, filters: dict[str, list[str]]) -> dict[str, int]:
    """Runs shown (and in all), by status, and their samples."""
    where, params = run_where(filters)
    frame = query(snap, f"""
        select count(*) as shown, (select count(*) from runs_summary) as total,
               count(*) filter (where status = 'complete') as complete,
               count(*) filter (where status = 'running') as running,
               count(*) filter (where status = 'failed') as failed,
               coalesce(sum(samples), 0) as samples
        from runs_summary where {where}""", params)
    return {key: int(value) for key, value in frame.row(0, named=True).items()}


@st.cache_data(max_entries=16, show_spinner=False)
def curve_options(snap: Snapshot) -> dict[str, list[str]]:
    """Methods, estimators, PRMs and PRM aggregations present in selection_accuracy, in display order."""
    row = query(snap, """
        select list(distinct method) as methods, list(distinct estimator) as estimators,
               coalesce(list(distinct prm_model order by prm_model) filter (where prm_model is not null), [])
                   as prm_models,
               coalesce(list(distinct prm_aggregation order by prm_aggregation)
                   filter (where prm_aggregation is not null), []) as prm_aggregations
        from selection_accuracy""").row(0, named=True)
    return {
        "methods": [m for m in METHODS if m in (row["methods"] or [])],
        "estimators": [e for e in ESTIMATORS if e in (row["estimators"] or [])],
        "prm_models": list(row["prm_models"]),
        "prm_aggregations": list(row["prm_aggregations"]),
    }


def _selection_where(prefix: str = "") -> str:
    """Rows of the chosen estimator and methods; naive/weighted rows only for the chosen PRMs
    and aggregations (parameters $estimator, $methods, $prm_models, $prm_aggregations)."""
    return (f"{prefix}estimator = $estimator and list_contains($methods, {prefix}method) "
            f"and ({prefix}method not in ('naive', 'weighted') "
            f"or (list_contains($prm_models, {prefix}prm_model) "
            f"and list_contains($prm_aggregations, {prefix}prm_aggregation)))")


def _selection_params(estimator: str, methods: list[str], prm_models: list[str],
                      prm_aggregations: list[str]) -> dict[str, Any]:
    return {"estimator": estimator, "methods": list(methods), "prm_models": list(prm_models) or [""],
            "prm_aggregations": list(prm_aggregations) or [""], "show_prm": len(prm_models) > 1,
            "show_aggregation": len(prm_aggregations) > 1}


def _group_where(filters: dict[str, list[str]]) -> tuple[str, dict[str, Any]]:
    return run_where({c: v for c, v in filters.items() if c in GROUP_FILTER_COLUMNS})


@st.cache_data(max_entries=64, show_spinner=False)
def scaling_points(snap: Snapshot, filters: dict[str, list[str]], *, estimator: str, methods: list[str],
                   group_by: str, band: str, prm_models: list[str], prm_aggregations: list[str]) -> pl.DataFrame:
    """Accuracy at each n per (group, method): mean over the group's runs, spread and band.

    `method` names the PRM too when several PRMs are shown. Rows of naive/weighted count only
    for the chosen PRMs and aggregations.
    """
    where, params = run_where(filters)
    low, high = BANDS[band]
    params.update(_selection_params(estimator, methods, prm_models, prm_aggregations))
    del params["show_aggregation"]  # several aggregations only come with grouping by aggregation
    return query(snap, f"""
        with r as (
            select *, {TEMPERATURE} as temperature_label,
                   case when count(*) over (partition by name) > 1
                        then name || ' [' || left(run_id, 8) || ']' else coalesce(name, run_id) end as run_label
            from runs_summary where {where}
        ), picked as (
            select s.run_id, s.method, s.prm_model, s.n, s.accuracy,
                   coalesce({GROUPINGS[group_by]}, '(none)') as "group"
            from selection_accuracy s join r using (run_id)
            where {_selection_where("s.")}
        ), points as (
            select "group",
                   case when $show_prm and prm_model is not null then method || ' · ' || prm_model
                        else method end as method,
                   n, avg(accuracy) as accuracy, stddev_samp(accuracy) as std,
                   min(accuracy) as min_accuracy, max(accuracy) as max_accuracy,
                   count(distinct run_id) as runs
            from picked group by all
        )
        select *, {low} as band_low, {high} as band_high from points
        order by "group", method, n""", params)


@st.cache_data(max_entries=64, show_spinner=False)
def experiment_points(snap: Snapshot, filters: dict[str, list[str]], *, estimator: str, methods: list[str],
                      prm_models: list[str], prm_aggregations: list[str]) -> pl.DataFrame:
    """scaling_curves as the chart's points: one line per (experiment group, method), its mean
    over the group's seeds with the 95% t-interval as the band (none with one seed). Only the
    dataset, model, approach and strategy filters apply: the mart holds no run."""
    where, params = _group_where(filters)
    params.update(_selection_params(estimator, methods, prm_models, prm_aggregations))
    return query(snap, f"""
        select {EXPERIMENT_LABEL} as "group",
               case when $show_prm and method in ('naive', 'weighted') then method || ' · ' || prm_model
                    else method end
                   || case when $show_aggregation then coalesce(' · ' || prm_aggregation, '') else '' end
                   as method,
               n, mean as accuracy, std, cast(null as double) as min_accuracy,
               cast(null as double) as max_accuracy, seeds as runs,
               coalesce(ci_low, mean) as band_low, coalesce(ci_high, mean) as band_high
        from scaling_curves
        where {where} and {_selection_where()}
        order by "group", method, n""", params)


@st.cache_data(max_entries=64, show_spinner=False)
def hnc_points(snap: Snapshot, filters: dict[str, list[str]], *, estimator: str, methods: list[str],
               prm_models: list[str], prm_aggregations: list[str]) -> pl.DataFrame:
    """hnc_comparison for the chosen setting: HNC minus default accuracy at equal n, one row per
    (HNC group, default group, method, n) with both means and seed counts."""
    where, params = _group_where(filters)
    params.update(_selection_params(estimator, methods, prm_models, prm_aggregations))
    return query(snap, f"""
        select model || ' · ' || approach || coalesce(' · N=' || n_samples, '')
                   || ' · ' || hnc_temperature_setting || ' vs T=' || default_temperature_setting as "group",
               method || case when $show_prm and method in ('naive', 'weighted') then ' · ' || prm_model else '' end
                   || case when $show_aggregation then coalesce(' · ' || prm_aggregation, '') else '' end
                   as method,
               n, hnc_mean, default_mean, delta, hnc_seeds, default_seeds
        from hnc_comparison
        where {where} and {_selection_where()}
        order by "group", method, n""", params)


@functools.cache
def grader() -> str:
    """The grader whose verdicts define correctness: the dbt project's var `grader`."""
    config = yaml.safe_load((project_dir() / "dbt_project.yml").read_text())
    return str(config["vars"]["grader"])


@st.cache_data(max_entries=16, show_spinner=False)
def lake_tables(snap: Snapshot) -> list[str]:
    """The lake tables the serving connection can read (empty without a lake)."""
    frame = query(snap, "select table_name from information_schema.tables where table_schema = 'lake'")
    return frame["table_name"].to_list()
