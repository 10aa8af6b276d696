"""The DuckDB catalog: schema `lake` with one view per lake table, and safe ways to connect.

`warehouse.duckdb` is dbt's target; dbt adds `staging`, `intermediate` and `marts` on top of the
`lake` views defined here. Only `ttsw build` writes it, and never in place: it builds a new file
and swaps it in (`warehouse.dbt_runner`), so the read-only connections of `connect` never block
it. A lock conflict (someone's own read-write session) becomes a plain message naming the file
and the process that holds it. The app never opens the file: it uses `memory_connection`, an
in-memory database with the same `lake` views over the Parquet files.

The views in the file name their parts relative to the home (`lake/<table>/**/*.parquet`), and
every connection resolves them with DuckDB's `file_search_path` set to the home, so a copied or
moved home reads its own lake. In-memory connections are made afresh from the home they are
given, so their views use absolute paths (the SQL sandbox's `allowed_directories` checks the path
as written, before the search path applies). Per-run tables hide the rows of runs whose latest
status is `failed`; `lake.run_events` keeps every status event.
"""

from __future__ import annotations

import os
import re
import time
import uuid

import duckdb

from warehouse.errors import CorruptPart, WarehouseBusy, WarehouseError
from warehouse.home import Home
from warehouse.lake import SCHEMA_FILE, ensure_lake, table_glob
from warehouse.tables import TABLES

# Tables shared by runs are appended to by many writers; the view keeps one row per grain,
# the latest written (part names are time-ordered). `runs` keeps the latest status event.
_LATEST_BY = {
    "runs": ("run_id", "updated_at desc"),
    "problems": ("problem_id", "filename desc"),
    "verdicts": ("gold_key, answer_key, grader, grader_version", "filename desc"),
    "answer_clusters": ("problem_id, answer_key, grader, grader_version", "filename desc"),
}

_LOCK_RE = re.compile(r'Conflicting lock is held in (?P<cmd>.+?) \(PID (?P<pid>\d+)\)')


def _quote(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def _glob(home: Home, table: str, relative: bool) -> str:
    path = table_glob(home, table)
    return os.path.relpath(path, home.root) if relative else path


def lake_view_sql(home: Home, table: str, *, relative: bool = False, hide_failed: bool = False) -> str:
    """The `create view lake.<table>` statement; `relative` paths need `file_search_path` = the home."""
    scan = (f"read_parquet({_quote(_glob(home, table, relative))}, union_by_name = true, "
            "hive_partitioning = false")
    if table in _LATEST_BY:
        keys, order = _LATEST_BY[table]
        body = (f"select * exclude (filename) from {scan}, filename = true) "
                f"qualify row_number() over (partition by {keys} order by {order}) = 1")
    else:
        body = f"select * from {scan})"
    if hide_failed:
        # a failed run's parts stay in the lake (for `ttsw runs show` and a retry) but no reader sees them
        body = (f"select * from ({body}) where run_id not in "
                "(select run_id from lake.runs where status = 'failed')")
    return f"create or replace view lake.{table} as {body}"


def install_lake_views(con: duckdb.DuckDBPyConnection, home: Home, *, relative: bool = False) -> None:
    """Create the `lake` views for every table the lake holds (its schema file is there)."""
    con.execute("create schema if not exists lake")
    has_runs = (home.table_dir("runs") / SCHEMA_FILE).exists()
    # `runs` first: the other per-run views read it to hide failed runs
    for name in sorted(TABLES, key=lambda n: n != "runs"):
        if (home.table_dir(name) / SCHEMA_FILE).exists():
            hide = has_runs and TABLES[name].per_run and name != "runs"
            con.execute(lake_view_sql(home, name, relative=relative, hide_failed=hide))
    if not has_runs:
        return
    # Every status event of every run, for auditing a run's lifecycle.
    con.execute("create or replace view lake.run_events as select * exclude (filename) from "
                f"read_parquet({_quote(_glob(home, 'runs', relative))}, union_by_name = true, "
                "hive_partitioning = false, filename = true)")


def busy_error(home: Home, exc: BaseException) -> WarehouseBusy:
    match = _LOCK_RE.search(str(exc))
    holder = f"{match['cmd']} (PID {match['pid']})" if match else "another process"
    return WarehouseBusy(
        f"the warehouse file {home.db_path} is open read-write in {holder}, and DuckDB lets no other "
        "process open a file that one writes: close that session or wait for that command to finish, then retry."
    )


def _is_lock_error(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def explain(exc: duckdb.Error, home: Home) -> WarehouseError:
    """Turn a DuckDB error about the lake into one that names the bad file and says what to do."""
    text = str(exc)
    if _is_lock_error(exc):
        return busy_error(home, exc)
    match = re.search(r"""['"]([^'"]+\.parquet)['"]""", text)
    if match and str(home.lake) in match[1]:
        return CorruptPart(f"cannot read lake part file {match[1]}: {text}. "
                           "Remove that file (or drop its run with `ttsw runs drop`) and rewrite it.")
    return WarehouseError(text)


def write_catalog(home: Home, path) -> None:
    """Create or update the `lake` views in the DuckDB file `path` (a build's file, not the live one)."""
    ensure_lake(home)
    con = duckdb.connect(str(path))
    try:
        con.execute("set global file_search_path = ?", [str(home.root)])
        install_lake_views(con, home, relative=True)
        con.execute("checkpoint")
    finally:
        con.close()


def create_catalog(home: Home) -> None:
    """Give a home without `warehouse.duckdb` one holding just the `lake` views.

    Written beside and linked into place, so a reader never opens half a file and a file that
    appeared meanwhile (a build's) is kept."""
    folder = home.build_root / f"catalog-{uuid.uuid4().hex[:12]}"
    folder.mkdir(parents=True)
    fresh = folder / home.db_path.name
    try:
        write_catalog(home, fresh)
        try:
            os.link(fresh, home.db_path)
        except FileExistsError:
            pass
    finally:
        for leftover in folder.iterdir():
            leftover.unlink()
        folder.rmdir()


def _open(home: Home, *, read_only: bool, wait_seconds: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            con = duckdb.connect(str(home.db_path), read_only=read_only)
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise WarehouseError(f"cannot open {home.db_path}: {exc}") from exc
            if time.monotonic() >= deadline:
                raise busy_error(home, exc) from exc
            time.sleep(0.25)
            continue
        # the views name their parts relative to the home; global, so cursors resolve them too
        con.execute("set global file_search_path = ?", [str(home.root)])
        return con


def connect(home: Home, read_only: bool = True, *, wait_seconds: float = 0.0) -> duckdb.DuckDBPyConnection:
    """Open the warehouse for SQL (`con.sql(...).pl()`); read-only unless asked otherwise.

    The catalog is created on first use. A read-only connection keeps reading the file it opened
    while `ttsw build` swaps in the next one; reopen to see the new build. A file held by another
    process's read-write session raises `WarehouseBusy` with the holder's command; pass
    `wait_seconds` to wait for it instead.
    """
    home.require_lake()
    if not home.db_path.exists():
        create_catalog(home)
    return _open(home, read_only=read_only, wait_seconds=wait_seconds)


def memory_connection(home: Home) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the `lake` views: reads the Parquet files, never warehouse.duckdb."""
    con = duckdb.connect(":memory:")
    install_lake_views(con, home)
    return con
