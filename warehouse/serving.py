"""Read helpers for the dashboard and reports: one serving snapshot's marts plus the lake, in memory.

Nothing here opens `warehouse.duckdb`: marts come from a snapshot folder `serving/<build id>/`
(published by `ttsw build`; a pre-snapshot home's marts lie in serving/ itself), drill-down rows
from the lake's Parquet files. Each mart is a view named after it. Every helper takes the
snapshot `folder` to read; without one it reads the current snapshot, so a caller that makes
several calls should resolve `home.serving` once and pass it, never mixing two builds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from warehouse.catalog import memory_connection
from warehouse.home import Home


def available_marts(home: Home, folder: Path | None = None) -> list[str]:
    folder = folder or home.serving
    return sorted(p.stem for p in folder.glob("*.parquet") if not p.name.startswith("."))


def serving_connection(home: Home, folder: Path | None = None) -> duckdb.DuckDBPyConnection:
    """In-memory DuckDB with a view per mart of the snapshot `folder` and the `lake` views."""
    folder = folder or home.serving
    con = memory_connection(home) if home.lake.is_dir() else duckdb.connect(":memory:")
    for mart in available_marts(home, folder):
        path = str(folder / f"{mart}.parquet").replace("'", "''")
        con.execute(f"create or replace view {mart} as select * from read_parquet('{path}')")
    return con


def manifest(home: Home, folder: Path | None = None) -> dict[str, Any]:
    path = (folder or home.serving) / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else {}
