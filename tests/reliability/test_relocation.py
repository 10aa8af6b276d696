"""A copied or moved home reads its own lake: warehouse.duckdb (lake views, dbt's staging views on
them) and the app's in-memory serving connection, with the original gone or changed."""

from __future__ import annotations

import shutil

import pytest

import warehouse
from warehouse.home import Home
from warehouse.serving import serving_connection

from clirun import ttsw_in_process

RUN_COUNT = "select count(distinct run_id) as runs from lake.completions"


@pytest.fixture
def moved(tiny_demo_home, tmp_path) -> tuple[Home, Home]:
    """(the copy, the original moved away): a copy of a copy, so the fixture home stays untouched."""
    original = tmp_path / "original"
    shutil.copytree(tiny_demo_home.root, original, symlinks=True)
    copy = tmp_path / "copy"
    shutil.copytree(original, copy, symlinks=True)
    moved_away = tmp_path / "moved-away"
    original.rename(moved_away)
    return Home(copy), Home(moved_away)


def run_dirs(home: Home) -> int:
    return sum(1 for p in home.table_dir("completions").iterdir() if p.name.startswith("run_id="))


def test_a_copy_reads_its_own_lake_with_the_original_gone(moved):
    copy, original = moved
    runs = run_dirs(copy)
    sql = ttsw_in_process(copy.root, "sql", "--format", "csv", RUN_COUNT)
    assert sql.code == 0, sql.stderr
    assert sql.stdout.split()[-1] == str(runs)
    con = warehouse.connect(copy)
    assert con.sql("select count(distinct run_id) from staging.stg_lake__completions").fetchall() == [(runs,)]
    con.close()
    app = serving_connection(copy)
    assert app.sql(RUN_COUNT).fetchall() == [(runs,)]
    assert app.sql("select count(*) from runs_summary").fetchall() == [(len(list(copy.table_dir("runs").glob("run_id=*"))),)]
    views = " ".join(r[0] for r in app.sql("select sql from duckdb_views() where not internal").fetchall())
    assert str(original.root) not in views and str(copy.serving) in views


def test_a_changed_copy_shows_its_change_and_the_original_does_not(moved):
    copy, original = moved
    runs = run_dirs(copy)
    dropped = next(p.name.split("=", 1)[1] for p in sorted(copy.table_dir("completions").iterdir())
                   if p.name.startswith("run_id="))
    assert ttsw_in_process(copy.root, "runs", "drop", dropped, "--yes").code == 0
    for home, expected in ((copy, runs - 1), (original, runs)):
        con = warehouse.connect(home)
        assert con.sql(RUN_COUNT).fetchall() == [(expected,)], home.root
        dropped_rows = con.sql("select count(*) from staging.stg_lake__completions where run_id = ?",
                               params=[dropped]).fetchall()[0][0]
        assert (dropped_rows > 0) == (home is original), home.root
        con.close()
        assert serving_connection(home).sql(RUN_COUNT).fetchall() == [(expected,)], home.root
