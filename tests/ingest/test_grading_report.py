"""Grading by dataset, the tail fallback in the pipeline, statuses, and `--compare-source` over every
kind of claim a source stores (hand-made homes with hand-computed figures, and a real lm-eval run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.grading.extract import Extractor
from ingest.grading.pipeline import grade
from ingest.grading.report import NOTHING_CLAIMED, compare_source, format_table
from warehouse.catalog import memory_connection
from ingest.runner import ingest
from warehouse.lake import write_part
from warehouse.home import Home
from warehouse.problems import problem_id
from warehouse.runs import derive_run_id, open_run

TTSW = Path(sys.executable).with_name("ttsw")
PROBLEMS = [{"problem_id": "p1", "dataset": "gsm8k", "problem": "?", "gold_answer": "1000"},
            {"problem_id": "p2", "dataset": "gsm8k", "problem": "?", "gold_answer": "7"}]


def add_run(home, name: str, rows: list[tuple[str, str, str | None, bool | None]], dataset: str) -> str:
    """rows: (problem_id, text, source_answer, source_is_correct)."""
    run_id = derive_run_id("report-test", name)
    with open_run(home, {"run_id": run_id, "name": name, "source": "imported", "dataset": dataset}) as run:
        run.write("completions", [{"run_id": run_id, "problem_id": p, "sample_idx": i, "text": t,
                                   "source_answer": a, "source_is_correct": c}
                                  for i, (p, t, a, c) in enumerate(rows)])
    return run_id


def answers(home) -> dict[int, tuple[str | None, str]]:
    con = memory_connection(home)
    try:
        return {i: (a, e) for i, a, e in con.sql("select sample_idx, answer, extractor from lake.answers").fetchall()}
    finally:
        con.close()


GSM_ROWS = [
    ("p1", "So 10 * 100 = 1,000.\n#### 1,000", "1000", True),
    ("p2", "She keeps 7 apples. The answer is 7.", "7", True),
    ("p2", "She keeps 8. The answer is 8.", "8", False),
    ("p2", "no idea", None, False),
    ("p2", "I think it is \\boxed{7}", "7", False),  # the source's label is wrong here
    ("p1", "Counting them, the total is $1000$.", None, False),  # found by math-verify on the tail
]


def test_the_extractor_follows_the_dataset_and_can_be_forced(home):
    write_part(home, "problems", PROBLEMS)
    add_run(home, "gsm", GSM_ROWS, dataset="openai/gsm8k")
    summary = grade(home, workers=2, progress=False)
    assert answers(home) == {0: ("1000", "gsm8k"), 1: ("7", "gsm8k"), 2: ("8", "gsm8k"), 3: (None, "gsm8k"),
                             4: ("7", "gsm8k"), 5: ("1000", "gsm8k+tail")}
    assert summary.extraction.from_tail == 1 and summary.extraction.without_answer == 1
    assert summary.statuses == {"ok": 5, "no_answer": 1}
    assert "completions by status: ok 5, no_answer 1" in summary.line()

    add_run(home, "forced", GSM_ROWS[:2], dataset="openai/gsm8k")
    forced = grade(home, workers=1, extractor=Extractor("never", lambda text: None, tail_fallback=False),
                   progress=False)
    assert forced.extraction.without_answer == 2  # the forced extractor found nothing, no tail fallback


def test_statuses_cover_timeouts(home):
    write_part(home, "problems", PROBLEMS)
    add_run(home, "huge", [("p2", "\\boxed{10^{10^{10^{10}}}}", None, None), ("p2", "\\boxed{7}", None, None),
                           ("p2", "nothing", None, None)], dataset="MATH-500")
    summary = grade(home, workers=2, timeout=1.0, progress=False)
    assert summary.statuses == {"ok": 1, "timeout": 1, "no_answer": 1}


def test_compare_source_counts_per_run_and_lists_disagreements(home):
    write_part(home, "problems", PROBLEMS)
    add_run(home, "gsm", GSM_ROWS, dataset="gsm8k")
    grade(home, workers=2, progress=False)
    report = compare_source(home)
    assert report.labels.rows == [{"run": "gsm", "compared": 6, "agree": 4, "disagree": 2, "agreement": 0.6667,
                                   "ours_correct": 4, "source_correct": 2}]
    assert report.labels.disagreements == [
        {"run": "gsm", "problem_id": "p1", "sample_idx": 5, "gold": "1000", "source_answer": None,
         "our_answer": "1000", "our_verdict": "correct"},
        {"run": "gsm", "problem_id": "p2", "sample_idx": 4, "gold": "7", "source_answer": "7",
         "our_answer": "7", "our_verdict": "correct"},
    ]
    lines = report.lines()
    assert lines[0].startswith("our verdicts vs the source's per-sample labels")
    assert lines[1] == "  agreement with the source's labels: 4 of 6 (66.6667%)"
    assert lines[2].split() == ["run", "compared", "agree", "disagree", "agreement", "ours_correct", "source_correct"]
    assert "  first 2 disagreements:" in lines
    assert compare_source(home, limit=1).labels.disagreements == report.labels.disagreements[:1]


def test_compare_source_with_nothing_claimed(home):
    write_part(home, "problems", PROBLEMS)
    add_run(home, "plain", [("p2", "\\boxed{7}", None, None)], dataset="gsm8k")
    grade(home, workers=1, progress=False)
    assert compare_source(home).lines() == [NOTHING_CLAIMED]


def test_cli_compare_source_and_extractor_override(home):
    write_part(home, "problems", PROBLEMS)
    add_run(home, "gsm", GSM_ROWS, dataset="gsm8k")

    def ttsw(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(TTSW), "--home", str(home.root), "grade", *args],
                              capture_output=True, text=True, timeout=120)

    out = ttsw("--workers", "1", "--extractor", "choice", "--compare-source")
    assert out.returncode == 0, out.stderr
    assert "graded 6 completions" in out.stdout and "agreement with the source's labels" in out.stdout
    assert {e for _, e in answers(home).values()} == {"choice"}
    assert "is not one of" in ttsw("--extractor", "nope").stderr


def test_format_table_cuts_long_cells():
    lines = format_table([{"a": 1234, "b": "x" * 100 + "\nend"}, {"a": None, "b": "short"}])
    assert lines[0].split() == ["a", "b"] and lines[2].startswith("1,234") and lines[2].endswith("…")
    assert len(lines) == 4


# --- selection claims (search-and-learn's pred_*@n, pass@k, an --evals config's acc_*@n) ---------------

MATH = [{"problem_id": q, "dataset": "math", "problem": "?", "gold_answer": gold}
        for q, gold in (("q1", "3"), ("q2", "\\frac{1}{2}"), ("q3", "10"))]
SELECTED = {  # problem -> method -> the answer string the source says it selected at n = 4
    "q1": {"weighted": "\\boxed{3}", "maj": "\\boxed{4}", "naive": "\\boxed{3.0}"},
    "q2": {"weighted": "\\boxed{0.5}", "maj": "\\boxed{\\frac12}", "naive": "\\boxed{}"},
    "q3": {"weighted": "\\boxed{10}", "maj": "\\boxed{10}", "naive": "\\boxed{12}"},
}
METHOD = {"weighted": "weighted", "maj": "majority", "naive": "naive"}


def add_selection_run(home) -> str:
    run_id = derive_run_id("report-test", "sal")

    def claim(problem: str | None, name: str, method: str, answer: str | None = None, value: float | None = None):
        return {"run_id": run_id, "problem_id": problem, "claim": name, "method": method, "n": 4, "answer": answer,
                "value": value}  # every row names every column: a list of rows is read by its first row's keys

    claims = [claim(q, f"pred_{m}@4", METHOD[m], answer=a) for q, by_method in SELECTED.items()
              for m, a in by_method.items()]
    claims += [claim(q, "pass@4", "pass", value=v) for q, v in (("q1", 1.0), ("q2", 0.5), ("q3", 1.0))]
    claims += [claim(None, f"acc_{m}@4", METHOD[m], value=v) for m, v in (("maj", 0.6667), ("weighted", 1.0))]
    write_part(home, "problems", MATH)
    with open_run(home, {"run_id": run_id, "name": "sal", "source": "imported", "dataset": "math",
                         "prm_model": "prm-x"}) as run:
        run.write("source_claims", claims)
    return run_id


def write_marts(home, run_id: str) -> None:
    """Our selections as `ttsw build` would export them, by hand: weighted (last, prm-x) right on
    q1, q3; majority right on q2; naive right on q1; unbiased pass 1, 0.5, 0.75. Rows of another
    aggregation and another PRM must not be read."""
    rows = []
    for q, weighted, majority, naive, passed in (("q1", 1, 0, 1, 1.0), ("q2", 0, 1, 0, 0.5), ("q3", 1, 0, 0, 0.75)):
        for method, estimator, prm, agg, accuracy in (
                ("weighted", "prefix", "prm-x", "last", weighted), ("weighted", "prefix", "prm-x", "min", 1 - weighted),
                ("weighted", "prefix", "prm-y", "last", 1 - weighted), ("majority", "prefix", None, None, majority),
                ("naive", "prefix", "prm-x", "last", naive), ("pass", "unbiased", None, None, passed),
                ("pass", "prefix", None, None, 1.0)):
            rows.append({"run_id": run_id, "problem_id": q, "method": method, "estimator": estimator,
                         "prm_model": prm, "prm_aggregation": agg, "n": 4, "accuracy": float(accuracy),
                         "stderr": None})
    by_problem = pa.Table.from_pylist(rows)
    pq.write_table(by_problem, home.serving / "selection_accuracy_by_problem.parquet")
    con = duckdb.connect()
    per_run = con.sql("select run_id, method, estimator, prm_model, prm_aggregation, n, avg(accuracy) as accuracy, "
                      "count(*) as problems, null::double as stderr from by_problem group by all").to_arrow_table()
    pq.write_table(per_run, home.serving / "selection_accuracy.parquet")


def test_selection_claims_are_graded_by_us_and_compared_with_our_selections(home):
    run_id = add_selection_run(home)
    grade(home, workers=1, progress=False)

    before = compare_source(home, workers=2)
    claims = before.section("selected answers claimed")
    assert claims.notes == ["our selections: the marts are not built; run `ttsw build`, then compare again"]
    assert [(r["claim"], r["problems"], r["claim_correct"], r["claim_accuracy"]) for r in claims.rows] == [
        ("pred_maj@4", 3, 2, 0.6667), ("pred_naive@4", 3, 1, 0.3333), ("pred_weighted@4", 3, 3, 1.0)]
    con = memory_connection(home)
    try:  # the claims' pairs went into the shared verdict cache, as `ttsw grade` writes them
        cached = dict(con.sql("select answer_key, is_correct from lake.verdicts where grader = 'math_verify'").fetchall())
    finally:
        con.close()
    assert cached["3.0"] and cached["0.5"] and not cached["4"] and not cached["12"] and "" not in cached

    write_marts(home, run_id)
    report = compare_source(home)
    claims = report.section("selected answers claimed")
    assert claims.notes == [] and claims.summary == ["agreement with our selections: 7 of 9 claims (77.78%)"]
    assert [{k: r[k] for k in ("claim", "compared", "agree", "agreement", "claim_acc_compared", "our_accuracy",
                               "difference")} for r in claims.rows] == [
        {"claim": "pred_maj@4", "compared": 3, "agree": 2, "agreement": 0.6667, "claim_acc_compared": 0.6667,
         "our_accuracy": 0.3333, "difference": 0.3333},
        {"claim": "pred_naive@4", "compared": 3, "agree": 3, "agreement": 1.0, "claim_acc_compared": 0.3333,
         "our_accuracy": 0.3333, "difference": 0.0},
        {"claim": "pred_weighted@4", "compared": 3, "agree": 2, "agreement": 0.6667, "claim_acc_compared": 1.0,
         "our_accuracy": 0.6667, "difference": 0.3333},
    ]
    assert [(d["claim"], d["problem_id"], d["claimed"], d["claim_verdict"], d["our_selection"])
            for d in claims.disagreements] == [("pred_maj@4", "q3", "\\boxed{10}", "correct", "wrong"),
                                               ("pred_weighted@4", "q2", "\\boxed{0.5}", "correct", "wrong")]
    assert len(compare_source(home, limit=1).section("selected answers claimed").disagreements) == 1

    passes = report.section("pass@k claimed")
    assert passes.rows == [{"run": "sal", "claim": "pass@4", "problems": 3, "compared": 3, "agree": 2,
                            "claimed": 0.8333, "ours": 0.75, "difference": 0.0833}]
    run_level = report.section("run-level accuracy claimed")
    assert [(r["claim"], r["claimed"], r["ours"], r["problems"], r["difference"]) for r in run_level.rows] == [
        ("acc_maj@4", 0.6667, 0.3333, 3, 0.3334), ("acc_weighted@4", 1.0, 0.6667, 3, 0.3333)]
    text = "\n".join(report.lines())
    assert "pred_weighted@4" in text and "first 2 disagreements:" in text and "acc_maj@4" in text


# --- lm-eval: two filters, the first of which disagrees with us ----------------------------------------

LM_DOCS = [  # doc_id, target, response, strict-match label, flexible-extract label
    (0, "18", "She sells 9 * 2 = 18.\n#### 18", 1.0, 1.0),
    (1, "3", "Two plus one. The answer is 3.", 0.0, 1.0),
    (2, "70000", "The profit is $70,000. The answer is 70,000", 0.0, 1.0),
    (3, "5", "I get 6. The answer is 6.", 0.0, 0.0),
]


def add_lm_eval_run(home) -> str:
    run_id = derive_run_id("report-test", "lm")
    pid = {doc: problem_id("gsm8k", str(doc)) for doc, *_ in LM_DOCS}
    write_part(home, "problems", [{"problem_id": pid[d], "dataset": "gsm8k", "original_id": str(d), "problem": "?",
                                   "gold_answer": target} for d, target, *_ in LM_DOCS])
    samples = [{"run_id": run_id, "task": "gsm8k", "doc_id": d, "filter": name, "repeat_idx": 0, "target": target,
                "response": text, "filtered_response": "[invalid]" if not label else target, "exact_match": label}
               for d, target, text, strict, flexible in LM_DOCS
               for name, label in (("strict-match", strict), ("flexible-extract", flexible))]
    claims = [{"run_id": run_id, "problem_id": None, "claim": claim, "value": value} for claim, value in (
        ("gsm8k/exact_match,strict-match", 0.25), ("gsm8k/exact_match_stderr,strict-match", 0.25),
        ("gsm8k/exact_match,flexible-extract", 0.75))]
    with open_run(home, {"run_id": run_id, "name": "lm", "source": "imported", "dataset": "gsm8k"}) as run:
        run.write("lm_eval_samples", samples)
        run.write("completions", [{"run_id": run_id, "problem_id": pid[d], "sample_idx": 0, "text": text,
                                   "source_is_correct": flexible == 1.0} for d, _, text, _, flexible in LM_DOCS])
        run.write("source_claims", claims)
    return run_id


def test_lm_eval_is_compared_per_filter_with_the_answer_filter_as_headline(home):
    add_lm_eval_run(home)
    grade(home, workers=1, progress=False)
    report = compare_source(home)
    assert report.section("our verdicts vs the source's per-sample labels") is None  # left to the per-filter section
    filters = report.section("lm-eval's per-doc scores")
    assert filters.rows == [
        {"run": "lm", "task": "gsm8k", "filter": "flexible-extract", "headline": True, "compared": 4, "agree": 4,
         "disagree": 0, "agreement": 1.0, "source_correct": 3, "ours_correct": 3},
        {"run": "lm", "task": "gsm8k", "filter": "strict-match", "headline": False, "compared": 4, "agree": 2,
         "disagree": 2, "agreement": 0.5, "source_correct": 1, "ours_correct": 3},
    ]
    assert filters.summary == ["lm gsm8k: headline filter flexible-extract agrees on 4 of 4 (100.00%); "
                               "strict-match 2 of 4 (50.00%)"]
    assert [(d["filter"], d["doc_id"], d["source_label"], d["our_answer"], d["our_verdict"])
            for d in filters.disagreements] == [("strict-match", 1, "wrong", "3", "correct"),
                                                ("strict-match", 2, "wrong", "70000", "correct")]
    aggregates = report.section("lm-eval's aggregate scores")
    assert [(r["filter"], r["headline"], r["docs"], r["claimed"], r["ours"], r["difference"], r["difference_docs"])
            for r in aggregates.rows] == [("flexible-extract", True, 4, 0.75, 0.75, 0.0, 0.0),
                                          ("strict-match", False, 4, 0.25, 0.75, -0.5, -2.0)]


def test_real_lm_eval_gsm8k_agrees_with_its_flexible_extract_scores(home, real_data):
    folder = real_data / "lm-eval/Data-Science-Thesis/src/data/benchmark_results/gsm8k"
    ingest(home, [str(folder)], progress=False)
    grade(home, workers=2, progress=False)
    report = compare_source(home)
    filters = report.section("lm-eval's per-doc scores")
    headline = [r for r in filters.rows if r["headline"]]
    assert [(r["task"], r["filter"]) for r in headline] == [("gsm8k", "flexible-extract")]
    assert {r["filter"] for r in filters.rows} == {"flexible-extract", "strict-match"}
    assert headline[0]["compared"] == 10 and headline[0]["agreement"] == 1.0
    flexible = next(r for r in report.section("lm-eval's aggregate scores").rows if r["filter"] == "flexible-extract")
    assert flexible["docs"] == 10 and flexible["difference_docs"] == 0.0
    partial = Home(home.root.parent / "partial").ensure_writable()  # pyFade logged 3 of the 100 docs it scored
    ingest(partial, [str(real_data / "lm-eval/pyFade/tests/data/results_2025-09-09T13-31-53.431753.json")],
           progress=False)
    grade(partial, workers=1, progress=False)
    aggregates = compare_source(partial).section("lm-eval's aggregate scores")
    assert aggregates.notes == ["data/results_2025-09-09T13-31-53.431753 gsm8k: the results score 100 docs but 3 "
                                "are logged, so its aggregates are not compared (log every doc: --log_samples)"]
    assert {(r["docs"], r["docs_claimed"], r["difference"]) for r in aggregates.rows} == {(3, 100, None)}


@pytest.mark.slow
def test_real_search_and_learn_claims_agree_with_our_selections_once_built(home, real_data):
    source = real_data / "search-and-learn/bayesian-prm-search/data/meta-llama/Llama-3.2-1B-Instruct/best_of_n_completions.jsonl"
    ingest(home, [str(source)], progress=False)
    grade(home, workers=2, progress=False)
    assert compare_source(home).section("selected answers claimed").notes == [
        "our selections: the marts are not built; run `ttsw build`, then compare again"]
    build = subprocess.run([sys.executable, "-m", "ttsw", "--home", str(home.root), "build", "-q"],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    claims = compare_source(home).section("selected answers claimed")
    # pred, and pred_{weighted,maj,naive}@{1,2,4}, on 10 problems: search-and-learn picked what we pick
    assert claims.summary == ["agreement with our selections: 100 of 100 claims (100.00%)"]
    assert {r["claim"]: r["claim_accuracy"] for r in claims.rows if r["claim"].endswith("@4")} == {
        "pred_maj@4": 0.5, "pred_naive@4": 0.4, "pred_weighted@4": 0.4}
    assert all(r["difference"] == 0 for r in claims.rows) and claims.disagreements == []
