"""One writer per run: writers of the same run racing at once never duplicate a row, and a writer
killed mid-run loses nothing once the run is written again.

Races run real writers in forked processes released together by a barrier (the tightest race a
test can stage), and the issue's own reproduction (four `ttsw ingest` of one file at once) as
subprocesses. After each race the lake must equal what one writer alone writes: the same part
files, the same rows, no duplicate key, the run complete.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

import pytest

from warehouse.catalog import memory_connection
from warehouse.errors import WarehouseBusy
from warehouse.home import Home
from warehouse.lake import list_parts
from warehouse.runs import get_run

RACES = 16
WRITERS = 4
SOURCE = "search-and-learn/bayesian-prm-search/data/meta-llama/Llama-3.2-1B-Instruct/best_of_n_completions.jsonl"

pytestmark = pytest.mark.slow


def lake_state(home: Home) -> dict:
    """What a race must not change: part files per table, rows, duplicate keys, run statuses."""
    con = memory_connection(home)
    try:
        rows, distinct = con.sql("select count(*), count(distinct (run_id, problem_id, sample_idx)) "
                                 "from lake.completions").fetchall()[0]
        statuses = sorted(r[0] for r in con.sql("select status from lake.runs").fetchall())
    finally:
        con.close()
    parts = {t.name: len(list_parts(home, t.name)) for t in sorted(home.lake.iterdir()) if t.is_dir()}
    return {"parts": parts, "rows": rows, "duplicates": rows - distinct, "statuses": statuses}


def race(target, args_per_writer: list[tuple], context=None) -> list[str]:
    """Run `target(*args)` in one forked process per args tuple, all released at once; each
    returns what its writer said ("ok", "busy: …" or "error: …")."""
    context = context or multiprocessing.get_context("fork")
    barrier = context.Barrier(len(args_per_writer))
    results = context.Queue()
    procs = [context.Process(target=_racer, args=(barrier, results, i, target, args))
             for i, args in enumerate(args_per_writer)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
        if proc.exitcode is None:
            proc.kill()
        assert proc.exitcode == 0, f"a racer died or hung (exit {proc.exitcode})"
    said = dict(results.get(timeout=5) for _ in procs)
    return [said[i] for i in range(len(procs))]


def _racer(barrier, results, index, target, args) -> None:
    barrier.wait()
    try:
        target(*args)
        results.put((index, "ok"))
    except WarehouseBusy as exc:
        results.put((index, f"busy: {exc}"))
    except BaseException:
        results.put((index, "error: " + traceback.format_exc()))


def _ingest(root: str, source: str) -> None:
    from ingest.runner import ingest

    summary = ingest(Home(Path(root)), [source], progress=False)
    assert not summary.failed, summary.failed


def test_same_source_ingests_racing_never_duplicate(real_data, tmp_path):
    source = str(real_data / SOURCE)
    alone = Home(tmp_path / "alone")
    _ingest(str(alone.root), source)
    expected = lake_state(alone)
    assert expected["rows"] > 0 and expected["statuses"] == ["complete"]
    outcomes = []
    for trial in range(RACES):
        home = Home(tmp_path / f"race{trial}")
        said = race(_ingest, [(str(home.root), source)] * WRITERS)
        assert all(s == "ok" for s in said), said  # the losers wait, then find the run complete
        assert lake_state(home) == expected, f"race {trial}"
        outcomes.append(said)
    assert len(outcomes) == RACES


def _simulate(root: str) -> None:
    from generation.simulate import SimSpec, simulate

    simulate(Home(Path(root)), [SimSpec("Qwen2.5-Math-1.5B-Instruct", n=4, problems=30, text="brief")], progress=False)


def test_same_spec_simulations_racing_never_duplicate(tmp_path):
    alone = Home(tmp_path / "alone")
    _simulate(str(alone.root))
    expected = lake_state(alone)
    for trial in range(RACES):
        home = Home(tmp_path / f"race{trial}")
        said = race(_simulate, [(str(home.root),)] * WRITERS)
        assert all(s == "ok" for s in said), said
        assert lake_state(home) == expected, f"race {trial}"


def _generate(root: str, model: str) -> None:
    from generation.backends.hf import HFBackend
    from generation.config import GenerateConfig, resolve
    from generation.jobs import bon

    config = resolve(GenerateConfig, None, {"model": model, "device": "cpu", "max_tokens": 4, "n": 2,
                                            "batch_size": 2, "part_size": 1, "max_queries": 3})
    bon.run_bon(Home(Path(root)), bon.plan(config), lambda: HFBackend(model=model, device="cpu", batch_size=2))


def test_same_config_generate_jobs_racing_never_duplicate(tmp_path):
    # torch must not be forked from a process that has computed with it (its thread pools
    # deadlock the child), and the test process may have: racers fork from a fresh server
    # that has only imported the generation stack
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["torch", "transformers", "generation.backends.hf", "generation.jobs.bon"])
    model = str(tmp_path / "model")
    tests = str(Path(__file__).resolve().parents[1])
    subprocess.run([sys.executable, "-c", f"from tiny_model import build_tiny_model; build_tiny_model({model!r})"],
                   check=True, env={**os.environ, "PYTHONPATH": tests}, capture_output=True)
    alone = Home(tmp_path / "alone")
    assert race(_generate, [(str(alone.root), model)], context) == ["ok"]
    expected = lake_state(alone)
    assert expected["statuses"] == ["complete"]
    busy = 0
    for trial in range(RACES):
        home = Home(tmp_path / f"race{trial}")
        said = race(_generate, [(str(home.root), model)] * WRITERS, context)
        assert all(s == "ok" or s.startswith("busy: ") for s in said), said
        assert "ok" in said
        busy += sum(s.startswith("busy: ") for s in said)
        if any(s.startswith("busy: ") for s in said):
            assert "is being written by" in next(s for s in said if s.startswith("busy: "))
        state = lake_state(home)
        assert state == expected, f"race {trial}"
    print(f"generate races: {RACES} x {WRITERS} writers, {busy} told busy, 0 duplicates")


def test_the_issues_reproduction_four_cli_ingests_of_one_file(real_data, tmp_path):
    """`for i in 1 2 3 4; do ttsw --home $H ingest --no-progress FILE & done; wait`, four times."""
    source = str(real_data / SOURCE)
    expected = None
    for trial in range(4):
        home = Home(tmp_path / f"cli{trial}")
        procs = [subprocess.Popen([sys.executable, "-m", "ttsw", "--home", str(home.root), "ingest", "--no-progress",
                                   source], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(WRITERS)]
        outputs = [proc.communicate(timeout=180) for proc in procs]
        assert all(proc.returncode == 0 for proc in procs), outputs
        assert not any("Traceback" in out + err for out, err in outputs)
        written = sum("runs written: 1" in out + err for out, err in outputs)
        assert written == 1, outputs  # one writer wrote it; the others found it complete
        state = lake_state(home)
        assert state["duplicates"] == 0 and state["statuses"] == ["complete"]
        expected = expected or state
        assert state == expected


KILLABLE = """
import sys, time
from pathlib import Path
from warehouse.home import Home
from warehouse.runs import write_whole_run

def fill(handle):
    for i in range(1000):
        handle.write("completions", {"run_id": ["killed"] * 10, "problem_id": [f"p{i}"] * 10,
                                     "sample_idx": list(range(10)), "text": ["t"] * 10}, keys=[i])
        print(i, flush=True)
        time.sleep(0.01)

write_whole_run(Home(Path(sys.argv[1])), {"run_id": "killed", "name": "killed", "source": "simulated"}, fill)
"""


def test_a_writer_killed_mid_run_loses_nothing_when_redone(home):
    """kill -9 leaves a stale claim and a partial run marked running; the next writer takes the
    claim over, discards the partial parts and writes the whole run once."""
    from warehouse.runs import write_whole_run

    proc = subprocess.Popen([sys.executable, "-c", KILLABLE, str(home.root)], stdout=subprocess.PIPE, text=True)
    for _ in range(20):
        proc.stdout.readline()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert get_run(home, "killed")["status"] == "running"
    assert (home.root / "claims" / "killed.claim").exists()  # stale: its holder is dead

    def fill(handle):
        for i in range(50):
            handle.write("completions", {"run_id": ["killed"] * 10, "problem_id": [f"p{i}"] * 10,
                                         "sample_idx": list(range(10)), "text": ["t"] * 10}, keys=[i])

    started = time.monotonic()
    assert write_whole_run(home, {"run_id": "killed", "name": "killed", "source": "simulated"}, fill, wait_seconds=0)
    assert time.monotonic() - started < 10
    state = lake_state(home)
    assert state["rows"] == 500 and state["duplicates"] == 0 and state["statuses"] == ["complete"]
    assert not (home.root / "claims" / "killed.claim").exists()
