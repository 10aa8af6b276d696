"""The SQL sandbox of `ttsw sql` and the console: read queries over the marts and lake views
work (as `<mart>`, `marts.<mart>` and `lake.<table>`); writes, other files, extensions,
configuration changes and several statements are refused with a clear message; every query runs
under a timeout, a memory limit and a private temp folder. `--unsafe`'s sandbox is full DuckDB on
the read-only warehouse file."""

from __future__ import annotations

import os
import time

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from warehouse.catalog import connect
from warehouse.errors import WarehouseError
from warehouse.home import Home
from warehouse.runs import derive_run_id, open_run
from warehouse.sandbox import Limits, QueryTimeout, RefusedQuery, check_statement, open_sandbox, unsafe_sandbox

RUN_ID = derive_run_id("sandbox", 1)
CROSS_JOIN = "select count(*) from range(100000000) a, range(100000000) b"


def lake_with_one_run(home: Home) -> None:
    with open_run(home, {"run_id": RUN_ID, "name": "sandboxed", "source": "simulated", "category": "cat-a"}) as run:
        run.write("completions", {"run_id": [RUN_ID] * 3, "problem_id": ["p1", "p1", "p2"],
                                  "sample_idx": [0, 1, 0], "text": ["a", "b", "c"]})


def warehouse_file_with_a_mart(home: Home) -> None:
    """warehouse.duckdb as a build leaves it, in small: lake views, a marts table, a staging view."""
    connect(home).close()  # creates the file with the lake views
    con = connect(home, read_only=False)  # its views read relative to the home
    con.execute("create schema marts; create table marts.summary as "
                f"select * from (values ('{RUN_ID}', 0.25), ('other', 0.75)) t(run_id, accuracy)")
    con.execute("create schema staging; create view staging.stg_runs as select run_id, name from lake.runs")
    con.close()


@pytest.fixture
def outside(tmp_path):
    path = tmp_path / "outside.parquet"
    pq.write_table(pa.table({"secret": [42]}), path)
    return path


@pytest.fixture
def sandbox(home, outside):
    """The sandbox over a home with one complete run and a two-row mart in serving/."""
    lake_with_one_run(home)
    pq.write_table(pa.table({"run_id": [RUN_ID, "other"], "accuracy": [0.25, 0.75]}),
                   home.serving / "summary.parquet")
    with open_sandbox(home, Limits(timeout_s=10)) as opened:
        yield opened


def test_reads_marts_and_lake_views(sandbox):
    for mart in ("summary", "marts.summary"):
        result = sandbox.query(f"select run_id, sum(accuracy) as total from {mart} group by all order by total")
        assert result.table.to_pylist() == [{"run_id": RUN_ID, "total": 0.25}, {"run_id": "other", "total": 0.75}]
    joined = sandbox.query("""
        with c as (select run_id, count(*) as samples from lake.completions group by 1)
        select r.name, r.category, c.samples, s.accuracy
        from lake.runs r join c using (run_id) join summary s using (run_id)""")
    assert joined.table.to_pylist() == [{"name": "sandboxed", "category": "cat-a", "samples": 3, "accuracy": 0.25}]
    assert not joined.truncated


def test_marts_come_from_the_current_snapshot(home):
    lake_with_one_run(home)
    for build, value in (("b1", 1), ("b2", 2)):
        (home.serving_root / build).mkdir()
        pq.write_table(pa.table({"value": [value]}), home.serving_root / build / "built.parquet")
    home.serving_pointer.write_text("b2")
    with open_sandbox(home, Limits(timeout_s=10)) as sandbox:
        assert sandbox.query("select value from marts.built").table.to_pylist() == [{"value": 2}]
        assert sandbox.query(f"select count(*) as n from read_parquet('{home.serving_root}/b1/built.parquet')"
                             ).table.to_pylist() == [{"n": 1}]


@pytest.mark.parametrize("sql", ["describe summary", "show tables", "summarize summary",
                                 "pragma table_info('summary')", "explain select * from lake.completions",
                                 "/* why */ explain analyze select 1", "from summary", "select 1;  -- trailing comment",
                                 "select * from read_parquet('{lake}/completions/*/*.parquet')"])
def test_catalog_statements_and_lake_files_run(sandbox, sql):
    assert sandbox.query(sql.format(lake=sandbox.home.lake)).table.num_rows >= 1


def test_row_limit_truncates(sandbox):
    result = sandbox.query("select * from range(25)", limit=10)
    assert result.table.column("range").to_pylist() == list(range(10)) and result.truncated
    exact = sandbox.query("select * from range(10)", limit=10)
    assert exact.table.num_rows == 10 and not exact.truncated
    assert sandbox.query("select * from range(25)", limit=None).table.num_rows == 25


@pytest.mark.parametrize("sql, message", [
    ("COPY (select 1) TO '{tmp}/x.csv'", "COPY statements are refused"),
    ("/* first */ copy (select 1) to '{tmp}/x.csv'", "COPY statements are refused"),
    ("ATTACH '{tmp}/x.db'", "ATTACH statements are refused"),
    ("INSTALL httpfs", "INSTALL statements are refused"),
    ("LOAD httpfs", "LOAD statements are refused"),
    ("SET enable_external_access=true", "SET statements are refused"),
    ("PRAGMA memory_limit='1GB'", "PRAGMA statements are refused"),
    ("create table t as select 1", "CREATE statements are refused"),
    ("insert into summary values ('x', 1)", "INSERT statements are refused"),
    ("export database '{tmp}/dump'", "EXPORT statements are refused"),
    ("explain analyze copy (select 1) to '{tmp}/x.csv'", "COPY statements are refused"),
    ("pragma enable_profiling", "only catalog PRAGMAs"),
    ("select 1; select 2", "one statement at a time: this holds 2"),
    ("select * from checkpoint()", r"checkpoint\(\) is refused"),
    ("select * from query('select 1')", r"query\(\) is refused"),
    ("select * from read_text('{tmp}' || '/x.csv')", "write the file path"),
])
def test_refuses_statements_that_are_not_reads(sandbox, tmp_path, sql, message):
    with pytest.raises(RefusedQuery, match=message):
        sandbox.query(sql.format(tmp=tmp_path))
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "dump").exists()


@pytest.mark.parametrize("sql", [
    "select * from read_csv('/etc/passwd')",
    "select * from read_text('/etc/passwd')",
    "select * from read_parquet('{outside}')",
    "select * from '{outside}'",
    "select * from read_text('{lake}/../../outside.parquet')",
])
def test_refuses_files_outside_the_warehouse(sandbox, outside, sql):
    with pytest.raises(RefusedQuery, match="outside the warehouse.*Cannot access file"):
        sandbox.query(sql.format(outside=outside, lake=sandbox.home.lake))


def test_lockdown_holds_without_the_guard(sandbox, outside):
    """Even a statement the guard would refuse cannot undo the connection's settings."""
    with pytest.raises(duckdb.Error, match="configuration has been locked"):
        sandbox.con.execute("set enable_external_access = true")
    with pytest.raises(duckdb.Error, match="Permission Error"):
        sandbox.con.execute(f"select * from read_parquet('{outside}')")


def test_other_errors_are_plain_warehouse_errors(sandbox):
    with pytest.raises(WarehouseError, match="cannot parse") as parse:
        sandbox.query("selec 1")
    assert not isinstance(parse.value, RefusedQuery)
    with pytest.raises(WarehouseError, match="nope") as binder:
        sandbox.query("select nope from summary")
    assert not isinstance(binder.value, RefusedQuery)
    with pytest.raises(RefusedQuery, match="empty"):
        check_statement("  -- nothing")


def test_catalog_lists_marts_then_lake_views(sandbox):
    rows = sandbox.catalog().to_pylist()
    assert rows[:2] == [{"view": "summary", "column": "run_id", "type": "VARCHAR"},
                        {"view": "summary", "column": "accuracy", "type": "DOUBLE"}]
    assert {"view": "lake.completions", "column": "text", "type": "VARCHAR"} in rows
    assert not any(row["view"].startswith("marts.") for row in rows)


@pytest.mark.parametrize("opener", [open_sandbox, unsafe_sandbox])
def test_a_long_query_stops_at_the_timeout(home, opener):
    lake_with_one_run(home)
    with opener(home, Limits(timeout_s=1, hint="--timeout")) as sandbox:
        start = time.monotonic()
        with pytest.raises(QueryTimeout) as stopped:
            sandbox.query(CROSS_JOIN)
        assert time.monotonic() - start < 5
        assert str(stopped.value) == "query stopped after 1 s; add a limit/filter or raise --timeout"
        assert sandbox.query("select 42 as x").table.to_pylist() == [{"x": 42}]  # the connection still works


def test_limits_are_in_effect_and_the_temp_folder_is_private(home, monkeypatch, tmp_path):
    lake_with_one_run(home)
    monkeypatch.chdir(tmp_path)
    with open_sandbox(home, Limits(memory_limit="256MiB", threads=1)) as sandbox:
        rows = sandbox.query("select name, value from duckdb_settings() "
                             "where name in ('memory_limit', 'threads', 'temp_directory')").table.to_pylist()
        settings = {row["name"]: row["value"] for row in rows}
        temp = settings["temp_directory"]
        assert settings["memory_limit"] == "256.0 MiB" and settings["threads"] == "1"
        assert os.path.isdir(temp) and os.stat(temp).st_mode & 0o077 == 0
        assert not temp.startswith(str(home.root)) and not temp.startswith(str(tmp_path))
        with pytest.raises(RefusedQuery, match="temp folder is private"):
            sandbox.query(f"select * from glob('{temp}/*')")
    assert not os.path.exists(temp)  # removed on close


def test_limits_from_the_environment(monkeypatch):
    monkeypatch.setenv("TTSW_SQL_TIMEOUT", "2.5")
    monkeypatch.setenv("TTSW_SQL_MEMORY_LIMIT", "1GiB")
    monkeypatch.setenv("TTSW_SQL_THREADS", "3")
    assert Limits.from_env() == Limits(timeout_s=2.5, memory_limit="1GiB", threads=3)
    assert Limits.from_env(timeout_s=7, hint="--timeout").timeout_s == 7
    monkeypatch.setenv("TTSW_SQL_TIMEOUT", "soon")
    with pytest.raises(WarehouseError, match=r"\$TTSW_SQL_TIMEOUT = 'soon': expected a positive float"):
        Limits.from_env()
    monkeypatch.delenv("TTSW_SQL_TIMEOUT")
    monkeypatch.delenv("TTSW_SQL_MEMORY_LIMIT")
    page = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    limit_mib = int(Limits.from_env().memory_limit.removesuffix("MiB"))
    assert limit_mib <= page // 4 // 2**20


def test_unsafe_is_full_duckdb_on_a_read_only_file(home, tmp_path):
    lake_with_one_run(home)
    warehouse_file_with_a_mart(home)
    with unsafe_sandbox(home, Limits(timeout_s=10)) as sandbox:
        assert sandbox.query(f"copy (select 1 as a) to '{tmp_path}/out.csv'") is not None
        assert (tmp_path / "out.csv").read_text().splitlines() == ["a", "1"]
        assert sandbox.query("select name from staging.stg_runs").table.to_pylist() == [{"name": "sandboxed"}]
        assert sandbox.query("select count(*) as n from summary").table.to_pylist() == [{"n": 2}]
        with pytest.raises(WarehouseError, match="read-only"):
            sandbox.query("create table marts.x as select 1")


def test_nested_values_as_csv_and_json():
    """What `--format csv/json` and the console's CSV download write (polars' and arrow's CSV
    writers refuse nested columns)."""
    import polars as pl

    from warehouse import tabular

    frame = pl.DataFrame({"n": [1, None], "l": [[0.5, 1.0], None], "s": [{"k": "a", "x": float("nan")}, None]})
    assert tabular.csv_bytes(frame.to_arrow()).decode().splitlines() == [
        '"n","l","s"', '1,"[0.5, 1.0]","{""k"": ""a"", ""x"": null}"', ',,']
    assert tabular.json_text(frame.to_arrow(), indent=None) == (
        '[{"n": 1, "l": [0.5, 1.0], "s": {"k": "a", "x": null}}, {"n": null, "l": null, "s": null}]')
    mapped = pa.table({"m": pa.array([[("a", 1)]], pa.map_(pa.string(), pa.int64()))})
    assert tabular.csv_bytes(mapped).decode().splitlines() == ['"m"', '"[[""a"", 1]]"']
