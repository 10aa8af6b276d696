"""Poison answers: `ttsw grade` finishes a home that holds them, in bounded time, and grades the rest.

The home holds normal answers, with their hand-known verdicts, beside answers built to break a
grader: integers past Python's 4,300-digit limit, a 100 KB run of dots, braces nested 10,000
deep, a 1 MB completion, odd unicode, `\\frac` chains, towers of exponents, and whitespace runs
that made the old GSM8K and multiple-choice patterns cubic. Each poison answer has the outcomes
it may end in; none may be graded correct, crash the grade or stall it past its timeout.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.grading.normalize import MAX_ANSWER_CHARS
from ingest.grading.verify import GRADER, GRADER_VERSION
from warehouse.catalog import memory_connection
from warehouse.lake import write_part
from warehouse.runs import derive_run_id, open_run

TTSW = Path(sys.executable).with_name("ttsw")
FIVE, FRAC = "5", "\\frac{14}{3}"  # MATH-500 golds
BOUND_SECONDS = 60.0  # one `ttsw grade --timeout 2` of the whole home

# Not a status: the completion has no answer (no answers.answer_key, hence no verdict).
NO_ANSWER = "no_answer"
UNPARSED = {"too_long", "timeout", "parse_error", "error"}


def nested_fracs(depth: int) -> str:
    return "\\frac{1}{" * depth + "2" + "}" * depth


# (text, outcomes it may end in). Everything here is graded against the gold 5.
POISON = {
    "5,000-digit integer": ("\\boxed{" + "7" * 5_000 + "}", {"too_long"}),
    "100,000-digit integer": ("\\boxed{" + "3" * 100_000 + "}", {"too_long"}),
    "100 KB of dots, boxed": ("\\boxed{" + "." * 100_000 + "x}", {"too_long"}),
    "100 KB of dots, unboxed": ("." * 100_000 + "x", {NO_ANSWER}),
    "dots just under the cap": ("\\boxed{" + "." * (MAX_ANSWER_CHARS - 10) + "x}", UNPARSED | {"ok"}),
    "braces 10,000 deep": ("\\boxed{" + "{" * 10_000 + "6" + "}" * 10_000 + "}", {"too_long"}),
    "braces 450 deep": ("\\boxed{" + "{" * 450 + "6" + "}" * 450 + "}", UNPARSED | {"ok"}),
    "unclosed boxes": ("\\boxed{" * 20_000, {NO_ANSWER}),
    "1 MB without an answer": ("Let me think about it. " * 45_000, {NO_ANSWER}),
    "frac chain 80 deep": ("\\boxed{" + nested_fracs(80) + "}", UNPARSED | {"ok"}),
    "frac chain 1,000 deep": ("\\boxed{" + nested_fracs(1_000) + "}", {"too_long"}),
    "frac chain in a row": ("\\boxed{" + "\\frac{1}{2}" * 90 + "}", UNPARSED | {"ok"}),
    "10^{10^{10}}": ("\\boxed{10^{10^{10}}}", {"timeout", "error"}),
    "9^{9^{9^{9}}}": ("\\boxed{9^{9^{9^{9}}}}", {"timeout", "error"}),
    "2^{2^{2^{2^{2^{2}}}}}": ("\\boxed{2^{2^{2^{2^{2^{2}}}}}}", {"timeout", "error"}),
    "(10!)!": ("\\boxed{(10!)!}", {"timeout", "error", "parse_error", "ok"}),
    "1e999999999": ("\\boxed{1e999999999}", UNPARSED | {"ok"}),
    "lone surrogate, as escaped text": ("\\boxed{\\ud800\\udfff}", UNPARSED | {"ok"}),
    "replacement characters": ("\\boxed{\ufffd\ufffd}", UNPARSED | {"ok"}),
    "right-to-left override": ("\\boxed{\u202e6\u202c}", UNPARSED | {"ok"}),
    "combining marks": ("\\boxed{6\u0301\u0308\u20dd}", UNPARSED | {"ok"}),
    "NUL and control characters": ("\\boxed{6\x00\x01\x1b[31m}", UNPARSED | {"ok"}),
    "a character outside the BMP": ("\\boxed{\U0010ffff\U0001d7d4}", UNPARSED | {"ok"}),
    "only a backslash": ("\\boxed{\\}", UNPARSED | {"ok", NO_ANSWER}),
}
# The probe's GSM8K and multiple-choice cases: the run's dataset picks the extractor.
POISON_GSM8K = {"spaces after 'the answer is'": ("The answer is " + " " * 100_000 + "x", UNPARSED | {"ok"})}
POISON_CHOICE = {"spaces after 'answer'": ("answer" + " " * 100_000 + "1", {NO_ANSWER})}

# (text, problem gold, correct?): normal answers, with the verdicts a reader of them gives.
NORMAL = [("So \\boxed{5}.", FIVE, True), ("\\boxed{6}", FIVE, False), ("\\boxed{\\dfrac{14}{3}}", FRAC, True),
          ("\\boxed{14/3}", FRAC, True), ("\\boxed{4}", FRAC, False),
          ("Let me think about it. " * 45_000 + "\\boxed{5}", FIVE, True)]  # a 1 MB completion, answered
NORMAL_GSM8K = [("She pays 2 + 3.\n#### 5", FIVE, True), ("#### 7", FIVE, False)]


def add_run(home, name: str, dataset: str, samples: list[tuple[str, str]]) -> str:
    """A complete run of (problem_id, text) samples, written as every job writes one."""
    run_id = derive_run_id("poison-grading", name)
    rows = [{"run_id": run_id, "problem_id": pid, "sample_idx": i, "text": text}
            for i, (pid, text) in enumerate(samples)]
    with open_run(home, {"run_id": run_id, "name": name, "source": "simulated", "dataset": dataset}) as run:
        run.write("completions", rows)
    return run_id


def query(home, sql: str) -> list[dict]:
    con = memory_connection(home)
    try:
        return con.sql(sql).to_arrow_table().to_pylist()
    finally:
        con.close()


def ttsw_grade(home, timeout: float) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    result = subprocess.run([str(TTSW), "--home", str(home.root), "grade", "--no-progress", "--workers", "2",
                             "--timeout", str(timeout)], capture_output=True, text=True, timeout=300)
    return result, time.monotonic() - started


@pytest.fixture
def poisoned(home, math500_table):
    """The home; returns {run name: {sample_idx: (label, allowed outcomes or correctness)}}."""
    write_part(home, "problems", math500_table)
    write_part(home, "problems", [
        {"problem_id": "poison-nogold", "dataset": "custom", "problem": "Say anything.", "gold_answer": None},
        {"problem_id": "poison-biggold", "dataset": "custom", "problem": "Big.", "gold_answer": "9" * 5_000},
        {"problem_id": "poison-choice", "dataset": "custom", "problem": "Pick one.", "gold_answer": "C"},
    ])
    ids = {}
    for row in math500_table.select(["problem_id", "gold_answer"]).to_pylist():
        ids.setdefault(row["gold_answer"], row["problem_id"])

    runs = {}
    normal = [(ids[gold], text) for text, gold, _ in NORMAL]
    expect = {i: ("normal", correct) for i, (_, _, correct) in enumerate(NORMAL)}
    runs["normal"] = (add_run(home, "normal", "MATH-500", normal), dict(expect))
    poison = normal + [(ids[FIVE], text) for text, _ in POISON.values()]
    expect.update({len(NORMAL) + i: (label, allowed) for i, (label, (_, allowed)) in enumerate(POISON.items())})
    poison += [("poison-biggold", "\\boxed{5}"), ("poison-biggold", "\\boxed{" + "9" * 5_000 + "}"),
               ("poison-nogold", "\\boxed{7}"), ("poison-nogold", "\\boxed{7.0}"),
               ("poison-nogold", "\\boxed{" + "3" * 100_000 + "}")]
    expect.update({len(poison) - 5: ("against a 5,000-digit gold", {"too_long"}),
                   len(poison) - 4: ("the 5,000-digit gold itself", {"too_long"}),
                   len(poison) - 3: ("no gold", {"no_gold"}), len(poison) - 2: ("no gold", {"no_gold"}),
                   len(poison) - 1: ("no gold, 100,000 digits", {"no_gold"})})
    runs["poison"] = (add_run(home, "poison", "MATH-500", poison), expect)
    gsm8k = [(ids[gold], text) for text, gold, _ in NORMAL_GSM8K] + [(ids[FIVE], t) for t, _ in POISON_GSM8K.values()]
    runs["gsm8k"] = (add_run(home, "gsm8k", "gsm8k", gsm8k),
                     {0: ("normal", True), 1: ("normal", False),
                      2: ("spaces after 'the answer is'", POISON_GSM8K["spaces after 'the answer is'"][1])})
    choice = [("poison-choice", "The answer is (C)."), ("poison-choice", "Answer: B")]
    choice += [("poison-choice", text) for text, _ in POISON_CHOICE.values()]
    runs["choice"] = (add_run(home, "choice", "mmlu_pro", choice),
                      {0: ("normal", True), 1: ("normal", False),
                       2: ("spaces after 'answer'", POISON_CHOICE["spaces after 'answer'"][1])})
    return runs


_GRADED = f"""
    select r.name as run, a.sample_idx, a.answer_key, a.gold_key,
           case when a.answer_key is null then 'no_answer' when a.gold_key is null then 'no_gold'
                else v.status end as status,
           v.is_correct, v.timeout_s, c.cluster_id
    from lake.answers a join lake.runs r using (run_id)
    left join (select * from lake.verdicts where grader = '{GRADER}' and grader_version = '{GRADER_VERSION}') v
        using (gold_key, answer_key)
    left join (select * from lake.answer_clusters where grader_version = '{GRADER_VERSION}') c
        using (problem_id, answer_key)
"""


@pytest.mark.slow
def test_grade_finishes_a_poisoned_home_and_retries_timeouts_under_a_longer_limit(home, poisoned):
    first, seconds = ttsw_grade(home, timeout=2)
    print(f"\nfirst grade (--timeout 2): {seconds:.1f} s\n{first.stdout}")
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    assert seconds < BOUND_SECONDS

    graded = {(g["run"], g["sample_idx"]): g for g in query(home, _GRADED)}
    outcomes: dict[str, int] = {}
    by_label = []
    for name, (_, expected) in poisoned.items():
        for idx, (label, allowed) in expected.items():
            row = graded[(name, idx)]
            if label == "normal":
                assert (row["status"], row["is_correct"]) == ("ok", allowed), (name, idx)
                continue
            assert row["status"] in allowed, (name, label, row["status"])
            assert not row["is_correct"], (name, label)
            outcomes[row["status"]] = outcomes.get(row["status"], 0) + 1
            by_label.append(f"{name}: {label}: {row['status']}")
    print("poison outcomes:", outcomes, *by_label, sep="\n  ")
    assert sum(outcomes.values()) >= 20 and outcomes["too_long"] >= 7 and outcomes["timeout"] >= 2

    unclustered = [g for g in graded.values() if g["answer_key"] is not None and g["cluster_id"] is None]
    assert unclustered == []
    clustered_runs = {g["run"] for g in graded.values() if g["cluster_id"] is not None}
    assert clustered_runs == set(poisoned)

    timeouts = {(g["gold_key"], g["answer_key"]) for g in graded.values() if g["status"] == "timeout"}
    assert {g["timeout_s"] for g in graded.values() if g["status"] == "timeout"} == {2.0}
    same, _ = ttsw_grade(home, timeout=2)
    assert same.returncode == 0 and "pairs: 0 verified now" in same.stdout

    longer, seconds = ttsw_grade(home, timeout=3)
    print(f"second grade (--timeout 3): {seconds:.1f} s\n{longer.stdout}")
    assert longer.returncode == 0, longer.stderr
    assert f"pairs: {len(timeouts)} verified now" in longer.stdout
    assert seconds < BOUND_SECONDS
    retried = {(g["gold_key"], g["answer_key"]): g for g in query(home, _GRADED)}
    assert {retried[pair]["timeout_s"] for pair in timeouts} == {3.0}
