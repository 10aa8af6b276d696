"""Queries of the SQL console: one locked-down sandbox per serving snapshot and set of limits
(`warehouse.sandbox.open_sandbox`, the one `ttsw sql` uses), the user's query run through its guard and under its
timeout, and the list of views."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import data
from warehouse import sandbox

ROW_LIMITS = (100, 1_000, 10_000)


@st.cache_resource(max_entries=4, show_spinner=False)
def _sandbox(snap: data.Snapshot, limits: sandbox.Limits) -> sandbox.Sandbox:
    return sandbox.open_sandbox(data.snapshot_home(snap), limits, data.snapshot_folder(snap))


def limits() -> sandbox.Limits:
    """The console's limits: the defaults, or $TTSW_SQL_TIMEOUT / _MEMORY_LIMIT / _THREADS of the server."""
    return sandbox.Limits.from_env()


@st.cache_data(max_entries=32, show_spinner=False)
def run(snap: data.Snapshot, sql: str, limit: int) -> tuple[pl.DataFrame, bool]:
    """The query's first `limit` rows and whether it had more; `WarehouseError` (or its
    `RefusedQuery`, `QueryTimeout`) with a message when it fails, is refused or runs too long.
    A query stops at the timeout whether or not anyone still waits for it."""
    result = _sandbox(snap, limits()).query(sql, limit)
    return pl.from_arrow(result.table), result.truncated


@st.cache_data(max_entries=16, show_spinner=False)
def views(snap: data.Snapshot) -> pl.DataFrame:
    """One row per mart or lake view: its name and its columns as `name type` lines."""
    columns = pl.from_arrow(_sandbox(snap, limits()).catalog())
    return (columns.with_columns(entry=pl.col("column") + " " + pl.col("type"))
            .group_by("view", maintain_order=True).agg(pl.col("entry").alias("columns")))
