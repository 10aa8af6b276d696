"""`grade` end to end: incremental answers, cached verdicts, clusters, timeouts and the CLI."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.grading import verdicts as verdicts_step
from ingest.grading.pipeline import grade
from ingest.grading.pool import HardTimeoutPool
from ingest.grading.verify import GRADER, GRADER_VERSION
from warehouse.catalog import memory_connection
from warehouse.lake import list_parts, write_part
from warehouse.runs import derive_run_id, open_run

TTSW = Path(sys.executable).with_name("ttsw")
FRAC, SQRT, EVELYN, FIVE = "\\frac{14}{3}", "3\\sqrt{13}", "\\text{Evelyn}", "5"  # MATH-500 golds

RUN_A = {
    FRAC: ["So \\boxed{\\dfrac{14}{3}}", "\\boxed{14/3}", "maybe \\boxed{3} no: \\boxed{4}", "$\\boxed{4}$.",
           "I give up", "\\boxed{\\frac{14}{3}}"],
    SQRT: ["\\boxed{\\sqrt{117}}", "\\boxed{13}", "\\boxed{3 \\sqrt{13}}"],
}
RUN_B = {FRAC: ["\\boxed{4}", "\\boxed{5}"], EVELYN: ["\\boxed{\\text{Evelyn}}"]}


@pytest.fixture
def lake(home, math500_table):
    """The home with MATH-500 in `problems`; returns problem ids by gold answer."""
    write_part(home, "problems", math500_table)
    ids = {}
    for row in math500_table.select(["problem_id", "gold_answer"]).to_pylist():
        ids.setdefault(row["gold_answer"], row["problem_id"])
    return ids


def add_run(home, name: str, texts_by_problem_id: dict[str, list[str]]) -> str:
    run_id = derive_run_id("grading-test", name)
    rows = [{"run_id": run_id, "problem_id": pid, "sample_idx": i, "text": text}
            for pid, texts in texts_by_problem_id.items() for i, text in enumerate(texts)]
    with open_run(home, {"run_id": run_id, "name": name, "source": "simulated"}) as run:
        run.write("completions", rows)
    return run_id


def by_gold(ids: dict[str, str], texts: dict[str, list[str]]) -> dict[str, list[str]]:
    return {ids[gold]: samples for gold, samples in texts.items()}


def query(home, sql: str, **params) -> list[dict]:
    con = memory_connection(home)
    try:
        return con.sql(sql, params=params or None).to_arrow_table().to_pylist()
    finally:
        con.close()


def test_grade_writes_answers_verdicts_and_clusters(home, lake):
    run_a = add_run(home, "a", by_gold(lake, RUN_A))
    summary = grade(home, workers=2, progress=False)

    assert (summary.extraction.completions, summary.extraction.without_answer) == (9, 1)
    assert (summary.verification.pairs, summary.verification.verified, summary.verification.cached) == (6, 6, 0)
    assert summary.verification.correct == 4 and summary.verification.timeouts == 0
    assert "graded 9 completions" in summary.line() and "6 verified now, 0 cached" in summary.line()

    answers = query(home, "select * from lake.answers order by problem_id, sample_idx")
    assert len(answers) == 9 and {a["run_id"] for a in answers} == {run_a}
    assert {a["extractor"] for a in answers} == {"boxed"}
    frac = {a["sample_idx"]: a for a in answers if a["problem_id"] == lake[FRAC]}
    assert (frac[0]["answer"], frac[0]["answer_key"], frac[0]["gold_key"]) == ("\\dfrac{14}{3}", FRAC, FRAC)
    assert frac[2]["answer_key"] == frac[3]["answer_key"] == "4"
    assert frac[4]["answer"] is None and frac[4]["answer_key"] is None and frac[4]["gold_key"] == FRAC

    verdicts = {(v["gold_key"], v["answer_key"]): v for v in query(home, "select * from lake.verdicts")}
    assert {k: v["is_correct"] for k, v in verdicts.items()} == {
        (FRAC, FRAC): True, (FRAC, "14/3"): True, (FRAC, "4"): False,
        (SQRT, "\\sqrt{117}"): True, (SQRT, "13"): False, (SQRT, SQRT): True,
    }
    assert all(v["status"] == "ok" and v["grader"] == GRADER and v["grader_version"] == GRADER_VERSION
               and v["seconds"] >= 0 and v["graded_at"] is not None for v in verdicts.values())

    clusters = {(c["problem_id"], c["answer_key"]): c["cluster_id"] for c in query(home, "select * from lake.answer_clusters")}
    assert clusters == {
        (lake[FRAC], FRAC): "gold:" + FRAC, (lake[FRAC], "14/3"): "gold:" + FRAC, (lake[FRAC], "4"): "4",
        (lake[SQRT], "\\sqrt{117}"): "gold:" + SQRT, (lake[SQRT], "13"): "13", (lake[SQRT], SQRT): "gold:" + SQRT,
    }


def test_grading_again_does_nothing_and_a_new_run_reuses_the_verdict_cache(home, lake):
    add_run(home, "a", by_gold(lake, RUN_A))
    grade(home, workers=2, progress=False)
    parts = {t: list_parts(home, t) for t in ("answers", "verdicts", "answer_clusters")}

    again = grade(home, workers=2, progress=False)
    assert (again.extraction.completions, again.verification.verified, again.verification.cached, again.clusters) \
        == (0, 0, 6, 0)
    assert {t: list_parts(home, t) for t in parts} == parts

    run_b = add_run(home, "b", by_gold(lake, RUN_B))
    third = grade(home, workers=2, progress=False)
    assert third.extraction.completions == 3
    assert (third.verification.pairs, third.verification.verified, third.verification.cached) == (8, 2, 6)
    assert third.clusters == 2
    assert query(home, "select count(*) as n from lake.answers")[0]["n"] == 12
    verdicts = {(v["gold_key"], v["answer_key"]): v["is_correct"] for v in query(home, "select * from lake.verdicts")}
    assert len(verdicts) == 8 and verdicts[(FRAC, "5")] is False and verdicts[(EVELYN, EVELYN)] is True
    assert query(home, "select count(*) as n from lake.answers where run_id = $run", run=run_b)[0]["n"] == 3


def test_run_filter_grades_only_those_runs(home, lake):
    run_a = add_run(home, "a", by_gold(lake, RUN_A))
    run_b = add_run(home, "b", by_gold(lake, RUN_B))
    summary = grade(home, [run_b], workers=1, progress=False)
    assert summary.extraction.completions == 3 and summary.verification.pairs == 3
    assert {r["run_id"] for r in query(home, "select distinct run_id from lake.answers")} == {run_b}
    assert {r["problem_id"] for r in query(home, "select problem_id from lake.answer_clusters")} \
        == {lake[FRAC], lake[EVELYN]}
    rest = grade(home, workers=1, progress=False)
    assert rest.extraction.completions == 9 and rest.extraction.runs == 1
    assert {r["run_id"] for r in query(home, "select distinct run_id from lake.answers")} == {run_a, run_b}


def test_interrupted_verification_keeps_finished_verdicts(home, lake, monkeypatch):
    add_run(home, "a", by_gold(lake, RUN_A))
    real = HardTimeoutPool.imap_unordered

    def interrupted(self, items):
        for count, outcome in enumerate(real(self, items)):
            if count == 4:
                raise KeyboardInterrupt
            yield outcome

    monkeypatch.setattr(HardTimeoutPool, "imap_unordered", interrupted)
    monkeypatch.setattr(verdicts_step, "FLUSH_ROWS", 3)
    with pytest.raises(KeyboardInterrupt):
        grade(home, workers=1, progress=False)
    assert query(home, "select count(*) as n from lake.verdicts")[0]["n"] == 4
    assert query(home, "select count(*) as n from lake.answer_clusters")[0]["n"] == 0

    monkeypatch.setattr(HardTimeoutPool, "imap_unordered", real)
    resumed = grade(home, workers=1, progress=False)
    assert (resumed.extraction.completions, resumed.verification.verified, resumed.verification.cached) == (0, 2, 4)
    assert resumed.clusters == 6


def test_a_pathological_answer_times_out_without_stalling_the_run(home, lake):
    add_run(home, "huge", {lake[FIVE]: ["\\boxed{10^{10^{10^{10}}}}", "\\boxed{5}", "\\boxed{6}"]})
    started = time.monotonic()
    summary = grade(home, workers=2, timeout=1.0, progress=False)
    assert time.monotonic() - started < 30
    assert summary.verification.timeouts == 1 and summary.verification.verified == 3
    verdicts = {v["answer_key"]: v for v in query(home, "select * from lake.verdicts")}
    huge = verdicts["10^{10^{10^{10}}}"]
    assert huge["status"] == "timeout" and huge["is_correct"] is False and huge["seconds"] >= 1.0
    assert verdicts["5"]["is_correct"] and not verdicts["6"]["is_correct"]
    clusters = {c["answer_key"]: c["cluster_id"] for c in query(home, "select * from lake.answer_clusters")}
    assert clusters == {"10^{10^{10^{10}}}": "10^{10^{10^{10}}}", "5": "gold:5", "6": "6"}


def test_a_problem_without_gold_gets_answers_and_clusters_but_no_verdicts(home):
    write_part(home, "problems", [{"problem_id": "nogold", "dataset": "custom", "problem": "Pick a number."}])
    add_run(home, "free", {"nogold": ["\\boxed{7}", "\\boxed{7.}", "\\boxed{8}"]})
    summary = grade(home, workers=1, progress=False)
    assert summary.extraction.completions == 3 and summary.verification.pairs == 0
    assert {a["gold_key"] for a in query(home, "select gold_key from lake.answers")} == {None}
    assert query(home, "select count(*) as n from lake.verdicts")[0]["n"] == 0
    clusters = {c["answer_key"]: c["cluster_id"] for c in query(home, "select * from lake.answer_clusters")}
    assert clusters == {"7": "7", "8": "8"}


def test_cli_grades_incrementally_and_resolves_runs_by_name(home, lake):
    add_run(home, "run-a", by_gold(lake, RUN_A))
    add_run(home, "run-b", by_gold(lake, RUN_B))

    def ttsw(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(TTSW), "--home", str(home.root), "grade", *args],
                              capture_output=True, text=True, timeout=120)

    first = ttsw("--run", "run-b", "--workers", "2", "--timeout", "5")
    assert first.returncode == 0, first.stderr
    assert "graded 3 completions in 1 run " in first.stdout and "3 verified now, 0 cached" in first.stdout
    second = ttsw("--workers", "1")
    assert second.returncode == 0, second.stderr
    assert "graded 9 completions" in second.stdout and "5 verified now, 3 cached" in second.stdout
    missing = ttsw("--run", "nope")
    assert missing.returncode == 1 and "no run matches 'nope'" in missing.stderr
    assert "--timeout" in ttsw("--help").stdout


def _slow_on_five(pair: tuple[str, str]) -> tuple[bool, str]:
    """verify_pair, but 1.5 s on the answer `5`: a pair that needs a longer limit than the first."""
    from ingest.grading.verify import verify_pair

    if pair[1] == "5":
        time.sleep(1.5)
    return verify_pair(pair)


def test_a_timeout_is_retried_under_a_longer_limit_and_its_cluster_follows(home, lake, monkeypatch):
    monkeypatch.setattr(verdicts_step, "verify_pair", _slow_on_five)
    add_run(home, "slow", {lake[FIVE]: ["\\boxed{5}", "\\boxed{6}"]})
    first = grade(home, workers=1, timeout=0.5, progress=False)
    assert (first.verification.verified, first.verification.timeouts) == (2, 1)
    timed_out = query(home, "select * from lake.verdicts where answer_key = '5'")[0]
    assert (timed_out["status"], timed_out["timeout_s"]) == ("timeout", 0.5)
    assert query(home, "select cluster_id from lake.answer_clusters where answer_key = '5'")[0]["cluster_id"] == "5"

    same = grade(home, workers=1, timeout=0.5, progress=False)  # the same limit: settled
    shorter = grade(home, workers=1, timeout=0.25, progress=False)
    assert same.verification.verified == shorter.verification.verified == 0

    longer = grade(home, workers=1, timeout=5, progress=False)
    assert (longer.verification.verified, longer.verification.cached, longer.verification.correct) == (1, 1, 1)
    retried = query(home, "select * from lake.verdicts where answer_key = '5'")
    assert [(v["status"], v["is_correct"], v["timeout_s"]) for v in retried] == [("ok", True, 5.0)]
    clusters = {c["answer_key"]: c["cluster_id"] for c in query(home, "select * from lake.answer_clusters")}
    assert clusters == {"5": "gold:5", "6": "6"} and longer.clusters == 1
    assert grade(home, workers=1, timeout=5, progress=False).clusters == 0
