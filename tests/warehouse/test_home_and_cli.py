"""The home folder and the warehouse commands: bad homes, SQL formats, runs, start-up cost."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from warehouse.errors import HomeError
from warehouse.home import Home, resolve_home
from warehouse.lake import write_part
from warehouse.runs import derive_run_id, open_run


def ttsw(*args: str, home: Home | None = None, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "ttsw"] + (["--home", str(home.root)] if home else []) + list(args)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture
def home_with_runs(home, math500_table):
    write_part(home, "problems", math500_table.slice(0, 3), keys=["few"])
    for i, approach in enumerate(["bon", "bon", "dvts"]):
        run_id = derive_run_id("cli-test", i)
        with open_run(home, {"run_id": run_id, "name": f"run-{i}", "source": "simulated", "approach": approach,
                             "model": "m", "n": 2}) as run:
            run.write("completions", {"run_id": [run_id] * 2, "problem_id": ["a", "b"], "sample_idx": [0, 1],
                                      "text": ["x", "y"]})
    return home


def test_resolve_home_order(monkeypatch, tmp_path):
    monkeypatch.setenv("TTSW_HOME", str(tmp_path / "env"))
    assert resolve_home().root == tmp_path / "env"
    assert resolve_home(tmp_path / "flag").root == tmp_path / "flag"
    monkeypatch.delenv("TTSW_HOME")
    monkeypatch.chdir(tmp_path)
    assert resolve_home().root == tmp_path / "ttsw_home"


def test_home_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(HomeError, match="not a directory"):
        Home(tmp_path / "file").ensure_writable()
    with pytest.raises(HomeError, match="cannot create"):
        Home(tmp_path / "file" / "below").ensure_writable()


def test_missing_home_is_reported_plainly(tmp_path):
    proc = ttsw("sql", "select 1", home=Home(tmp_path / "nowhere"), check=False)
    assert proc.returncode == 1
    assert "no warehouse at" in proc.stderr and "Traceback" not in proc.stderr


def test_sql_formats(home_with_runs):
    query = "select approach, count(*) as samples from lake.completions join lake.runs using (run_id) group by 1 order by 1"
    table = ttsw("sql", query, home=home_with_runs).stdout
    assert "bon" in table and "dvts" in table
    csv = ttsw("sql", query, "--format", "csv", home=home_with_runs).stdout.splitlines()
    assert csv == ['"approach","samples"', '"bon",4', '"dvts",2']
    rows = json.loads(ttsw("sql", query, "--format", "json", home=home_with_runs).stdout)
    assert rows == [{"approach": "bon", "samples": 4}, {"approach": "dvts", "samples": 2}]


def test_sql_is_read_only(home_with_runs):
    proc = ttsw("sql", "create table lake.x as select 1", home=home_with_runs, check=False)
    assert proc.returncode == 1 and "read-only" in proc.stderr.lower()


def test_sql_error_is_one_line(home_with_runs):
    proc = ttsw("sql", "select nope from lake.runs", home=home_with_runs, check=False)
    assert proc.returncode == 1 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


def test_corrupt_part_is_named_by_sql_and_check(home_with_runs):
    part = next((home_with_runs.lake / "completions").rglob("part-*.parquet"))
    part.write_bytes(b"garbage")
    proc = ttsw("sql", "select count(*) from lake.completions", home=home_with_runs, check=False)
    assert proc.returncode == 1 and str(part) in proc.stderr
    proc = ttsw("check", home=home_with_runs, check=False)
    assert proc.returncode == 1 and str(part) in proc.stdout


def test_runs_list_show_drop(home_with_runs):
    listed = json.loads(ttsw("runs", "list", "--format", "json", home=home_with_runs).stdout)
    assert [r["name"] for r in listed] == ["run-0", "run-1", "run-2"]
    assert {r["status"] for r in listed} == {"complete"} and all(r["samples"] == 2 for r in listed)
    shown = ttsw("runs", "show", "run-2", home=home_with_runs).stdout
    assert "dvts" in shown and "completions: 2" in shown
    ttsw("runs", "drop", "run-1", "--yes", home=home_with_runs)
    listed = json.loads(ttsw("runs", "list", "--format", "json", home=home_with_runs).stdout)
    assert [r["name"] for r in listed] == ["run-0", "run-2"]


def test_help_is_fast_and_imports_nothing_heavy():
    probe = ("import sys, runpy; sys.argv = ['ttsw', '--help']\n"
             "try:\n    runpy.run_module('ttsw', run_name='__main__')\nexcept SystemExit:\n    pass\n"
             "heavy = sorted(m for m in ('torch', 'transformers', 'vllm', 'duckdb', 'streamlit', 'polars') if m in sys.modules)\n"
             "print('HEAVY', heavy)")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in proc.stdout, proc.stdout + proc.stderr
    for section in ("generation", "ingest", "warehouse", "app"):
        assert f"Commands ({section})" in proc.stdout
