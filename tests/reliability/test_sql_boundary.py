"""The SQL boundary: an escape corpus run against both `ttsw sql` and the console's query path
(`warehouse.sandbox.open_sandbox`, what app/queries/sql.py runs); every attempt is refused, no
canary outside the home is ever printed, no target path is ever created, no file anywhere
changes. Then the limits: a cross join stops within its timeout (also when nobody waits for
it), the memory limit is in effect, and nested columns come out of `--format csv/json`."""

from __future__ import annotations

import csv
import io
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clirun import ttsw_child, ttsw_in_process
from warehouse.errors import WarehouseError
from warehouse.home import Home
from warehouse.runs import derive_run_id, open_run
from warehouse.sandbox import Limits, QueryTimeout, open_sandbox

CANARY = f"CANARY-{uuid.uuid4().hex}"
RUN_ID = derive_run_id("sql-boundary", 1)
CROSS_JOIN = "select count(*) from range(1000000000) a, range(1000000000) b"

# {out}: a folder outside the home holding canaries; {home}, {lake}, {serving}: the home's folders;
# {cwd}: the working directory, with canaries in .tmp/ and lake/; {target}: a fresh path per attempt
# that must never be created.
READS = [
    "select * from read_blob('/etc/shadow')",
    "select * from read_text('/etc/passwd')",
    "select * from read_csv('/etc/passwd')",
    "select * from read_csv_auto('/etc/passwd', ignore_errors = true)",
    "select * from read_json('/etc/passwd')",
    "select * from read_json_objects('/etc/hostname')",
    "select * from '/etc/passwd'",
    "select * from glob('/etc/*')",
    "select * from glob('/*')",
    "select * from sniff_csv('/etc/passwd')",
    "select * from read_text('/proc/self/environ')",
    "select * from read_text('file:///etc/passwd')",
    "select * from read_text('~/.bashrc')",
    "select * from read_text('{out}/canary.txt')",
    "select * from read_blob('{out}/*')",
    "select * from read_csv('{out}/canary.csv')",
    "select * from '{out}/canary.csv'",
    "select * from read_parquet('{out}/canary.parquet')",
    "select * from '{out}/canary.parquet'",
    "select * from parquet_metadata('{out}/canary.parquet')",
    "select * from parquet_schema('{out}/canary.parquet')",
    "select * from glob('{out}/*')",
    "select * from read_text('{lake}/../../out/canary.txt')",
    "select * from read_text('{serving}/../../out/canary.txt')",
    "select * from read_text('{lake}/runs/../../../out/canary.txt')",
    "select * from read_parquet('{lake}/../../out/canary.parquet')",
    "select * from read_blob('{serving}/link.txt')",
    "select * from read_text('{lake}/linkdir/canary.txt')",
    "select * from read_parquet('{lake}/linkdir/canary.parquet')",
    "select * from glob('{lake}/linkdir/*')",
    "select * from read_text(['{lake}/runs/_schema.parquet', '{out}/canary.txt'])",
    "select * from read_text('{home}/warehouse.duckdb')",
    "select * from read_text('{home}/secret.txt')",
    "select * from read_text('.tmp/canary.txt')",
    "select * from read_text('{cwd}/.tmp/canary.txt')",
    "select * from glob('.tmp/*')",
    "select * from read_text('lake/runs/canary.txt')",
    "select * from read_text('{home}/warehouse.duckdb.tmp/canary.txt')",
    "select * from glob(current_setting('temp_directory') || '/*')",
    "select * from read_blob((select current_setting('temp_directory')) || '/*')",
    "select * from (select '{out}/canary.txt' as p), read_text(p)",
    "with x as (select * from read_text('{out}/canary.txt')) select * from x",
    "select 1 where exists (select * from read_blob('/etc/shadow'))",
    "select (select content from read_text('{out}/canary.txt'))",
    "describe select * from read_text('{out}/canary.txt')",
    "summarize select * from read_csv('{out}/canary.csv')",
    "explain analyze select * from read_text('{out}/canary.txt')",
    "select * from query('select * from read_text(''{out}/canary.txt'')')",
    "select * from query_table('{out}/canary.parquet')",
    "select * from read_text('https://example.com/')",
    "select * from read_csv('s3://bucket/key.csv')",
    "select getenv('HOME')",
    "select * from duckdb_secrets()",
]
WRITES = [
    "copy (select '{canary}') to '{target}'",
    "copy (select 1) to '{target}' (format parquet)",
    "copy lake.runs to '{target}'",
    "copy (select 1) to '{lake}/x.csv'",
    "COPY (SELECT 1) TO '{target}'",
    "/* harmless */ copy (select 1) to '{target}'",
    "-- a comment\ncopy (select 1) to '{target}'",
    "copy (select 1) to '{target}';",
    "explain analyze copy (select 1) to '{target}'",
    "export database '{target}'",
    "import database '{out}'",
    "attach '{target}' as w",
    "attach '{target}' as w (read_only false)",
    "attach '{home}/warehouse.duckdb' as w (read_only false)",
    "attach ':memory:' as m",
    "detach memory",
    "use memory",
    "install httpfs",
    "force install httpfs",
    "load httpfs",
    "load '{out}/evil.duckdb_extension'",
    "set enable_external_access = true",
    "set allowed_directories = ['/']",
    "reset allowed_directories",
    "set lock_configuration = false",
    "set temp_directory = '{out}'",
    "set profiling_output = '{target}'",
    "pragma memory_limit = '100GB'",
    "pragma threads = 64",
    "pragma enable_profiling = 'json'",
    "pragma profile_output = '{target}'",
    "set variable x = 1",
    "call checkpoint()",
    "select * from checkpoint()",
    "select * from force_checkpoint()",
    "select * from enable_logging()",
    "checkpoint",
    "vacuum",
    "create table t as select 1",
    "create temp view v as select * from read_text('{out}/canary.txt')",
    "create macro m() as 1",
    "create secret s (type s3, key_id 'k', secret 's')",
    "insert into lake.runs (run_id) values ('x')",
    "with x as (select 1) insert into lake.runs (run_id) select * from x",
    "update lake.runs set name = 'x'",
    "drop view lake.runs",
    "prepare p as select 1",
    "begin transaction",
    "select 1; copy (select 1) to '{target}'",
    "select 1 /* ; */; copy (select 1) to '{target}'",
    "select 1 -- ;\n; copy (select 1) to '{target}'",
    "select 1;; attach '{target}' as w",
]
ATTEMPTS = READS + WRITES


@dataclass(frozen=True)
class World:
    home: Home
    out: Path
    cwd: Path

    def fill(self, sql: str, index: int) -> tuple[str, Path]:
        target = self.out / f"target-{index}"
        return sql.format(out=self.out, home=self.home.root, lake=self.home.lake, serving=self.home.serving_root,
                          cwd=self.cwd, target=target, canary=CANARY), target


def canary_files(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "canary.txt").write_text(CANARY)
    (folder / "canary.csv").write_text(f"secret\n{CANARY}\n")
    pq.write_table(pa.table({"secret": [CANARY]}), folder / "canary.parquet")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    """A home with a run (list columns included) and a mart, canaries outside it, symlinks inside
    it pointing out, and a working directory whose .tmp/ and lake/ hold canaries too."""
    base = tmp_path_factory.mktemp("boundary")
    home, out, cwd = Home(base / "home").ensure_writable(), base / "out", base / "cwd"
    canary_files(out)
    canary_files(cwd / ".tmp")
    canary_files(cwd / "lake" / "runs")
    canary_files(home.root / "warehouse.duckdb.tmp")
    (home.root / "secret.txt").write_text(CANARY)
    with open_run(home, {"run_id": RUN_ID, "name": "boundary", "source": "simulated",
                         "temperatures": [0.4, 0.8]}) as run:
        run.write("token_traces", {"run_id": [RUN_ID] * 2, "problem_id": ["p1", "p1"], "sample_idx": [0, 0],
                                   "pos": [0, 1], "token_id": [5, 6], "topk_ids": [[5, 7], [6]],
                                   "topk_logprobs": [[-0.5, -1.5], [-0.25]]})
    pq.write_table(pa.table({"run_id": [RUN_ID], "accuracy": [0.5]}), home.serving / "summary.parquet")
    (home.serving_root / "link.txt").symlink_to(out / "canary.txt")
    (home.lake / "linkdir").symlink_to(out, target_is_directory=True)
    return World(home, out, cwd)


@pytest.fixture(autouse=True)
def in_cwd(world, monkeypatch):
    monkeypatch.chdir(world.cwd)


@pytest.fixture(scope="module")
def console(world):
    with open_sandbox(world.home, Limits(timeout_s=20)) as sandbox:
        yield sandbox


def tree(*folders: Path) -> dict[str, tuple[int, int]]:
    """Every file below the folders (links not followed) with its size and modification time."""
    found = {}
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            for name in dirs + files:
                path = Path(root, name)
                stat = path.lstat()
                found[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return found


def test_the_corpus_is_large_enough():
    assert len(READS) >= 50 and len(WRITES) >= 50 and len(ATTEMPTS) >= 100


@pytest.mark.parametrize("index", range(len(ATTEMPTS)), ids=[sql[:60] for sql in ATTEMPTS])
def test_console_refuses(world, console, index):
    sql, target = world.fill(ATTEMPTS[index], index)
    with pytest.raises(WarehouseError) as refused:
        console.query(sql)
    assert CANARY not in str(refused.value) and "root:" not in str(refused.value)
    assert not target.exists()


@pytest.mark.parametrize("index", range(len(ATTEMPTS)), ids=[sql[:60] for sql in ATTEMPTS])
def test_cli_refuses(world, index):
    sql, target = world.fill(ATTEMPTS[index], index)
    ran = ttsw_in_process(world.home.root, "sql", "--format", "json", "--", sql)
    assert ran.code == 1 and ran.stdout == ""
    assert len(ran.error_lines()) == 1 and ran.stderr.startswith("error: "), ran.stderr
    assert CANARY not in ran.stderr and "root:" not in ran.stderr
    assert not target.exists()


def test_nothing_changed_anywhere(world, console):
    """After the whole corpus once more through both paths: no file created, changed or removed."""
    before = tree(world.home.root, world.out, world.cwd)
    for index, attempt in enumerate(ATTEMPTS):
        sql, _ = world.fill(attempt, index)
        with pytest.raises(WarehouseError):
            console.query(sql)
        assert ttsw_in_process(world.home.root, "sql", "--", sql).code == 1
    assert tree(world.home.root, world.out, world.cwd) == before


def test_reads_inside_the_home_still_work(world, console):
    sql = ("select r.name, count(*) as tokens, any_value(s.accuracy) as accuracy from lake.runs r "
           "join lake.token_traces t using (run_id) join marts.summary s using (run_id) group by 1")
    assert console.query(sql).table.to_pylist() == [{"name": "boundary", "tokens": 2, "accuracy": 0.5}]
    ran = ttsw_in_process(world.home.root, "sql", sql, "--format", "json")
    assert ran.code == 0 and json.loads(ran.stdout) == [{"name": "boundary", "tokens": 2, "accuracy": 0.5}]


def test_a_child_process_refuses_too(world):
    """The real console command: no traceback, one line, nothing read or written."""
    target = world.out / "child-target.csv"
    for sql in ("select * from read_blob('/etc/shadow')", f"select * from read_text('{world.out}/canary.txt')",
                f"copy (select 1) to '{target}'", f"select 1; attach '{target}' as w"):
        ran = ttsw_child(world.home.root, "sql", sql)
        assert ran.code == 1 and ran.stderr.startswith("error: ") and "Traceback" not in ran.stderr
        assert CANARY not in ran.stdout + ran.stderr and not target.exists()


@pytest.mark.slow
def test_the_cli_stops_a_cross_join_at_its_timeout(world):
    start = time.monotonic()
    ran = ttsw_child(world.home.root, "sql", CROSS_JOIN, "--timeout", "2")
    elapsed = time.monotonic() - start
    assert ran.code == 1
    assert ran.error_lines() == ["error: query stopped after 2 s; add a limit/filter or raise --timeout"]
    assert elapsed < 2 + 8  # interpreter start on busy cores included


def test_the_console_stops_a_cross_join_nobody_waits_for(world):
    """A shared `/sql?sql=<cross join>` link: the query ends at the timeout even when the viewer
    has left (here: nobody joins the thread running it)."""
    with open_sandbox(world.home, Limits(timeout_s=1)) as sandbox:
        outcome: list[BaseException] = []

        def viewer() -> None:
            try:
                sandbox.query(CROSS_JOIN)
            except BaseException as exc:  # noqa: BLE001 - kept for the assertion below
                outcome.append(exc)

        start = time.monotonic()
        thread = threading.Thread(target=viewer, daemon=True)
        thread.start()
        thread.join(1 + 4)
        assert not thread.is_alive() and time.monotonic() - start < 1 + 4
        assert isinstance(outcome[0], QueryTimeout)
        assert str(outcome[0]).startswith("query stopped after 1 s")


def test_the_memory_limit_is_in_effect(world, monkeypatch):
    with open_sandbox(world.home, Limits(memory_limit="128MiB", threads=1)) as sandbox:
        setting = sandbox.query("select current_setting('memory_limit') as m").table.to_pylist()
        assert setting == [{"m": "128.0 MiB"}]
        with pytest.raises(WarehouseError, match="(?i)out of memory"):
            sandbox.query("select list(range) from range(100000000)")
    monkeypatch.setenv("TTSW_SQL_MEMORY_LIMIT", "200MiB")
    ran = ttsw_in_process(world.home.root, "sql", "select current_setting('memory_limit') as m", "--format", "json")
    assert json.loads(ran.stdout) == [{"m": "200.0 MiB"}]
    default = ttsw_in_process(world.home.root, "sql", "select current_setting('threads') as t", "--format", "json")
    assert json.loads(default.stdout) == [{"t": max(1, (os.cpu_count() or 2) // 2)}]


def test_nested_columns_as_csv_and_json(world):
    runs = ttsw_in_process(world.home.root, "sql", "select * from lake.runs", "--format", "csv")
    assert runs.code == 0, runs.stderr
    (row,) = list(csv.DictReader(io.StringIO(runs.stdout)))
    assert json.loads(row["temperatures"]) == [0.4, 0.8] and row["name"] == "boundary"
    traces = ttsw_in_process(world.home.root, "sql", "select * from lake.token_traces order by pos", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(traces.stdout)))
    assert [json.loads(r["topk_ids"]) for r in rows] == [[5, 7], [6]]
    assert [json.loads(r["topk_logprobs"]) for r in rows] == [[-0.5, -1.5], [-0.25]]
    as_json = ttsw_in_process(world.home.root, "sql", "select pos, topk_ids, {'k': pos, 'l': topk_logprobs} as s "
                              "from lake.token_traces order by pos", "--format", "json")
    assert json.loads(as_json.stdout) == [{"pos": 0, "topk_ids": [5, 7], "s": {"k": 0, "l": [-0.5, -1.5]}},
                                          {"pos": 1, "topk_ids": [6], "s": {"k": 1, "l": [-0.25]}}]
