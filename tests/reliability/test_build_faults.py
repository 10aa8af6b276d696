"""`ttsw build` under load and faults: readers never block it nor see a mix, kills leave nothing behind.

Every test works on a copy of the session's tiny demo home. Figures for docs/reliability.md are
printed (run with -s): builds beside readers, reader queries and failures, kills and leftovers.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

import warehouse
from warehouse.home import Home
from warehouse.lake import ensure_lake, write_part
from warehouse.locks import exclusive
from warehouse.serving import serving_connection

KILLS = 4
SMALL_BUILD = ("--select", "runs_summary")  # dbt starts, builds one mart; the export still writes every mart


@pytest.fixture
def built_home(tiny_demo_home, tmp_path) -> Home:
    root = tmp_path / "home"
    shutil.copytree(tiny_demo_home.root, root, symlinks=True)
    return Home(root)


def build_child(home: Home, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ttsw", "--home", str(home.root), "build", "-q", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def snapshot_problems(home: Home) -> list[str]:
    """What is wrong with the published serving snapshot (empty: the pointer names a whole one)."""
    build_id = home.serving_id()
    if build_id is None:
        return ["no serving/CURRENT"]
    folder = home.snapshot_dir(build_id)
    manifest = json.loads((folder / "manifest.json").read_text())
    files = {p.stem for p in folder.glob("*.parquet")}
    problems = [] if set(manifest["marts"]) == files else [f"manifest {sorted(manifest['marts'])} != files {sorted(files)}"]
    if manifest.get("build_id") != build_id:
        problems.append(f"manifest of {manifest.get('build_id')} in {build_id}")
    stray = [p.name for p in home.serving_root.iterdir() if p.suffix == ".parquet"]
    return problems + ([f"marts outside any snapshot: {stray}"] if stray else [])


def dbt_processes(home: Home) -> list[int]:
    """Live dbt processes started for `home` (their environment names it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except OSError:
            continue
        if b"dbt.cli.main" in cmdline and f"TTSW_HOME={home.root}".encode() in environ.split(b"\0") and state != "Z":
            found.append(int(entry.name))
    return found


POLLER = textwrap.dedent("""
    import json, subprocess, sys, time
    from pathlib import Path
    import warehouse
    from warehouse.home import Home
    from warehouse.serving import manifest, serving_connection
    home, stop = Home(Path(sys.argv[1])), Path(sys.argv[2])
    ok, failed, cli, mixed, errors = 0, 0, 0, 0, []
    while not stop.exists():
        try:
            con = warehouse.connect(home)
            con.sql("select count(*) from marts.runs_summary").fetchall()
            con.sql("select count(*) from staging.stg_lake__completions").fetchall()
            con.close()
            folder = home.serving
            marts = {p.stem for p in folder.glob("*.parquet")}
            if set(manifest(home, folder).get("marts", {})) != marts:
                mixed += 1
            app = serving_connection(home, folder)
            app.sql("select count(*) from runs_summary").fetchall()
            app.close()
            ok += 1
        except Exception as exc:
            failed += 1
            errors.append(str(exc)[:300])
        if ok % 10 == 0:  # the command line too, now and then (each one starts an interpreter)
            proc = subprocess.run([sys.executable, "-m", "ttsw", "--home", str(home.root), "sql",
                                   "select count(*) from runs_summary"], capture_output=True, text=True)
            cli += 1
            if proc.returncode:
                failed += 1
                errors.append(proc.stderr[-300:])
        time.sleep(0.1)
    print(json.dumps({"ok": ok, "failed": failed, "cli": cli, "mixed": mixed, "errors": errors[:5]}))
""")


@pytest.mark.slow
def test_build_succeeds_beside_polling_readers_and_an_open_connection(built_home, tmp_path, chromium):
    """The build runs while a reader polls every 0.1 s, a connection stays open and the dashboard
    is served and viewed in Chromium: before, during and after the swap it shows a whole build."""
    from browser import chromium_page, open_scaling_page, served_dashboard

    home = built_home
    with served_dashboard(home.root, tmp_path) as url, chromium_page(chromium) as page:
        open_scaling_page(page, f"{url}/scaling", "build-faults-before.png")
        _build_beside_readers(home, tmp_path, lambda: open_scaling_page(page, f"{url}/scaling",
                                                                        "build-faults-during.png"))
        open_scaling_page(page, f"{url}/scaling", "build-faults-after.png")


def _build_beside_readers(home: Home, tmp_path: Path, view_during) -> None:
    before = home.serving_id()
    held = warehouse.connect(home)  # a long-lived reader, open through the whole build
    runs_before = held.sql("select count(*) from marts.runs_summary").fetchall()
    stop = tmp_path / "stop"
    poller = subprocess.Popen([sys.executable, "-c", POLLER, str(home.root), str(stop)],
                              stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        build = build_child(home)
        time.sleep(3.0)  # dbt has started: a second build is refused, naming the first
        second = build_child(home, *SMALL_BUILD)
        view_during()
        _, second_err = second.communicate(timeout=60)
        _, build_err = build.communicate(timeout=300)
        time.sleep(0.5)
    finally:
        stop.touch()
        report = json.loads(poller.communicate(timeout=120)[0])
    print(f"\nbuild beside readers: 1 build, {report['ok']} reader rounds ({report['cli']} `ttsw sql`), "
          f"{report['failed']} failed reader queries, {report['mixed']} mixed snapshots seen")
    assert build.returncode == 0, build_err
    assert second.returncode == 1 and "another `build` is running" in second_err and f"PID {build.pid}" in second_err
    assert report["failed"] == 0, report["errors"]
    assert report["mixed"] == 0 and report["ok"] >= 50
    assert home.serving_id() not in (None, before) and snapshot_problems(home) == []
    assert held.sql("select count(*) from marts.runs_summary").fetchall() == runs_before  # still the old file
    held.close()
    assert {p.name for p in home.serving_root.iterdir()} == {"CURRENT", before, home.serving_id()}
    assert not list(home.build_root.iterdir())


@pytest.mark.slow
def test_kill_9_at_any_point_leaves_a_whole_warehouse(built_home):
    home = built_home
    rng = random.Random(12)
    published = {home.serving_id()}
    leftovers = []
    for kill in range(KILLS):
        build = build_child(home, *SMALL_BUILD)
        during_export = kill == KILLS - 1
        deadline = time.monotonic() + 120
        if during_export:  # the snapshot is being written
            while not (home.serving_root / ".next").exists() and build.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
        else:  # dbt is running: a random moment of its run
            while not dbt_processes(home) and build.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.2, 4.0))
        assert build.poll() is None, "the build finished before the kill: " + build.stderr.read()
        os.kill(build.pid, signal.SIGKILL)
        build.wait()
        gone_by = time.monotonic() + 2.0
        while dbt_processes(home) and time.monotonic() < gone_by:
            time.sleep(0.05)
        leftovers += dbt_processes(home)
        assert snapshot_problems(home) == [], f"kill {kill + 1}"
        published.add(home.serving_id())
        with exclusive(home, "build"):  # the lock died with the build
            pass
        con = warehouse.connect(home)
        assert con.sql("select count(*) from marts.runs_summary").fetchall()[0][0] > 0
        con.close()
    print(f"\nkill -9 of `ttsw build`: {KILLS} kills ({KILLS - 1} during dbt, 1 during the export), "
          f"{len(leftovers)} dbt processes alive 2 s later, 0 mixed snapshots")
    assert leftovers == []
    build = build_child(home, *SMALL_BUILD)
    _, err = build.communicate(timeout=300)
    assert build.returncode == 0, err
    assert home.serving_id() not in published and snapshot_problems(home) == []
    assert not (home.serving_root / ".next").exists() and not list(home.build_root.iterdir())


def test_a_pre_snapshot_home_reads_its_flat_marts_until_rebuilt(built_home):
    home = built_home
    folder = home.serving
    for path in folder.iterdir():
        shutil.move(path, home.serving_root / path.name)
    folder.rmdir()
    home.serving_pointer.unlink()
    assert home.serving == home.serving_root
    con = serving_connection(home)
    assert con.sql("select count(*) from runs_summary").fetchall()[0][0] > 0


def test_failed_runs_rows_are_hidden_from_lake_views(home):
    ensure_lake(home)

    def status(run_id: str, value: str, at: datetime) -> None:
        write_part(home, "runs", {"run_id": [run_id], "status": [value], "source": ["hand"],
                                  "updated_at": [at]}, run_id=run_id)

    for run_id, statuses in {"ok": ["running", "complete"], "bad": ["running", "failed"],
                             "busy": ["running"]}.items():
        for i, value in enumerate(statuses):
            status(run_id, value, datetime(2025, 1, 1, 0, 0, i, tzinfo=timezone.utc))
        write_part(home, "completions", {"run_id": [run_id] * 3, "problem_id": ["p1", "p2", "p3"],
                                         "sample_idx": [0, 0, 0], "text": ["t"] * 3}, run_id=run_id)
    con = warehouse.connect(home)
    counts = dict(con.sql("select run_id, count(*) from lake.completions group by 1").fetchall())
    assert counts == {"ok": 3, "busy": 3}
    assert {r[0] for r in con.sql("select run_id from lake.runs").fetchall()} == {"ok", "bad", "busy"}
    assert con.sql("select count(*) from lake.run_events").fetchall() == [(5,)]
