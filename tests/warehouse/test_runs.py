"""Run ids and the run lifecycle: running, then complete or failed."""

from __future__ import annotations

import pytest

from warehouse.catalog import memory_connection
from warehouse.errors import RunNotFound
from warehouse.runs import derive_run_id, get_run, open_run, resolve_run


def test_run_id_is_stable_and_order_independent():
    a = derive_run_id("hub", {"repo": "org/x", "config": "c", "revision": "r"})
    b = derive_run_id("hub", {"revision": "r", "config": "c", "repo": "org/x"})
    assert a == b and len(a) == 16
    assert a != derive_run_id("hub", {"repo": "org/x", "config": "c", "revision": "other"})


def test_complete_only_after_the_last_part(home):
    run_id = derive_run_id("t", 1)
    with open_run(home, {"run_id": run_id, "name": "one", "source": "simulated", "config": {"n": 4}}) as run:
        assert get_run(home, run_id)["status"] == "running"
        run.write("completions", {"run_id": [run_id], "problem_id": ["p"], "sample_idx": [0], "text": ["t"]})
        assert get_run(home, run_id)["status"] == "running"
    record = get_run(home, run_id)
    assert record["status"] == "complete"
    assert record["config"] == '{"n": 4}'
    events = memory_connection(home).sql(
        "select status from lake.run_events where run_id = ? order by updated_at", params=[run_id]).fetchall()
    assert [e[0] for e in events] == ["running", "complete"]


def test_exception_marks_the_run_failed_and_keeps_created_at(home):
    run_id = derive_run_id("t", 2)
    with pytest.raises(RuntimeError):
        with open_run(home, {"run_id": run_id, "name": "two", "source": "simulated"}):
            raise RuntimeError("generator crashed")
    failed = get_run(home, run_id)
    assert failed["status"] == "failed" and "generator crashed" in failed["error"]
    with open_run(home, {"run_id": run_id, "name": "two", "source": "simulated"}):
        pass
    again = get_run(home, run_id)
    assert again["status"] == "complete" and again["error"] is None
    assert again["created_at"] == failed["created_at"]


def test_resolve_run_by_id_prefix_and_name(home):
    ids = [derive_run_id("t", i) for i in range(3)]
    for i, run_id in enumerate(ids):
        with open_run(home, {"run_id": run_id, "name": f"run-{i}", "source": "simulated"}):
            pass
    assert resolve_run(home, ids[1]) == ids[1]
    assert resolve_run(home, "run-2") == ids[2]
    assert resolve_run(home, ids[0][:10]) == ids[0]
    with pytest.raises(RunNotFound, match="no run matches"):
        resolve_run(home, "nope")


def test_exact_name_beats_an_id_prefix(home):
    run_id = derive_run_id("t", "named")
    with open_run(home, {"run_id": run_id, "name": run_id[:3], "source": "simulated"}):
        pass
    other = derive_run_id("t", "other")
    with open_run(home, {"run_id": other, "name": "x", "source": "simulated"}):
        pass
    assert resolve_run(home, run_id[:3]) == run_id


def test_created_at_is_the_first_event(home):
    run_id = derive_run_id("t", "created")
    with open_run(home, {"run_id": run_id, "name": "c", "source": "simulated"}):
        pass
    events = memory_connection(home).sql(
        "select min(updated_at), max(updated_at) from lake.run_events where run_id = ?", params=[run_id]).fetchall()[0]
    record = get_run(home, run_id)
    assert record["created_at"] == events[0] < events[1] == record["updated_at"]


def test_a_run_written_by_a_live_process_is_not_discarded(home):
    import subprocess
    import sys
    import textwrap

    from warehouse.errors import WarehouseBusy
    from warehouse.runs import drop_run

    run_id = derive_run_id("t", "live")
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from pathlib import Path
        from warehouse.home import Home
        from warehouse.runs import open_run
        with open_run(Home(Path({str(home.root)!r})), {{"run_id": {run_id!r}, "name": "live", "source": "simulated"}}):
            print("writing", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "writing"
        assert get_run(home, run_id)["writer"].endswith(f":{writer.pid}")
        with pytest.raises(WarehouseBusy, match=rf"being written by .*:{writer.pid}"):
            drop_run(home, run_id)
    finally:
        writer.kill()
        writer.wait()
    assert drop_run(home, run_id) >= 1  # a killed writer's run is redone
