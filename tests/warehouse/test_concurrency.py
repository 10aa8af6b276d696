"""Readers and writers at once: a reader never sees half a part; a held DuckDB file is reported."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from warehouse.catalog import connect, create_catalog, memory_connection
from warehouse.errors import WarehouseBusy
from warehouse.lake import ensure_lake

ROWS_PER_PART = 20_000
PARTS = 25

WRITER = textwrap.dedent(f"""
    import sys
    from warehouse.home import Home
    from warehouse.lake import write_part
    home = Home(__import__("pathlib").Path(sys.argv[1]))
    for part in range({PARTS}):
        n = {ROWS_PER_PART}
        write_part(home, "completions", {{
            "run_id": ["r"] * n, "problem_id": [f"p{{i % 500}}" for i in range(n)],
            "sample_idx": list(range(n)), "text": ["step one\\n\\nstep two " * 20] * n,
        }}, run_id="r")
""")


def test_concurrent_reader_never_sees_a_partial_part(home):
    ensure_lake(home)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(home.root)])
    con = memory_connection(home)
    seen = set()
    try:
        while writer.poll() is None:
            count = con.sql("select count(*) from lake.completions").fetchall()[0][0]
            assert count % ROWS_PER_PART == 0, f"reader saw {count} rows: a partial part"
            seen.add(count)
    finally:
        writer.wait(timeout=120)
    assert writer.returncode == 0
    assert con.sql("select count(*) from lake.completions").fetchall()[0][0] == ROWS_PER_PART * PARTS
    assert len(seen) >= 2, "the reader should have overlapped with the writer"


HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    print("holding", flush=True)
    time.sleep(60)
""")


@pytest.fixture
def held_warehouse(home):
    create_catalog(home)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(home.db_path)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    yield home
    holder.kill()
    holder.wait()


def test_locked_file_raises_a_plain_message(held_warehouse):
    home = held_warehouse
    with pytest.raises(WarehouseBusy) as info:
        connect(home, read_only=True)
    message = str(info.value)
    assert str(home.db_path) in message and "PID" in message and "retry" in message


def test_locked_file_waits_then_reports(held_warehouse):
    start = time.monotonic()
    with pytest.raises(WarehouseBusy):
        connect(held_warehouse, read_only=True, wait_seconds=1.0)
    assert time.monotonic() - start >= 1.0


def test_cli_reports_a_locked_file_without_traceback(held_warehouse):
    # only --unsafe opens warehouse.duckdb; the sandboxed `ttsw sql` reads serving/ and the lake
    proc = subprocess.run([sys.executable, "-m", "ttsw", "--home", str(held_warehouse.root), "sql", "--unsafe",
                           "select 1"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1].startswith("error: the warehouse file")
    assert "Traceback" not in proc.stderr
