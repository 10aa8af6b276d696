"""Every real output of ../shared/data/real/, as committed, through ingest → grade → build with no flags.

What each source says it found is checked against what we read from it: row counts, the parameters
found in its names, folders and fields, and the agreement of our grading and our selections with the
source's own claims (search-and-learn's pred_*@n, lm-eval's per-filter scores, Inspect's scores).
The disagreements are judged by hand in docs/grading.md.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from ingest.grading.pipeline import grade
from ingest.grading.report import compare_source
from ingest.runner import ingest
from lakecheck import lake

pytestmark = pytest.mark.slow

# run name → (format, model, approach, n, completions, prm_scores rows)
RUNS = {
    "data/results_2025-09-09T13-31-53.431753": ("lm-eval", "gemma3:12b-u1", 3, 0),
    "deepseek-ai__DeepSeek-R1-Distill-Llama-8B/results_2025-01-26T22-29-00.931915": (
        "lm-eval", "deepseek-ai/DeepSeek-R1-Distill-Llama-8B", 0, 0),
    "eval_mmlu_pro_plus/results_2025-10-14T14-44-39.372006": ("lm-eval", "/workspace/gemma3_12b_u2", 9, 0),
    "gsm8k/gsm8k-phi-3-mini_2025-08-07T11-42-40.066002": ("lm-eval", "microsoft/Phi-3-mini-4k-instruct", 10, 0),
    "inspect_evals/mmlu_0_shot/mmlu-summary-choices": ("inspect", "openai/gpt-4o", 1, 0),
    "popularity/2025-02-11T15-17-00-05-00_popularity_dPiJifoWeEQBrfWsAopzWr": ("inspect", "openai/gpt-4o-mini", 10, 0),
    "popularity/log_formats": ("inspect", "ollama/llama3.1", 1, 0),
    "search-and-learn/AMead10Llama-3.2-3B-Instruct-AWQ-_n16_b0.1_q100": (
        "search-and-learn", "AMead10/Llama-3.2-3B-Instruct-AWQ", 1600, 15559),
    "search-and-learn/beam_search_n-4_completions-10": ("search-and-learn", "Llama-3.2-1B-Instruct", 40, 418),
    "search-and-learn/best_of_n_completions": ("search-and-learn", "meta-llama/Llama-3.2-1B-Instruct", 40, 347),
    "search-and-learn/hugging-quantsMeta-Llama-3.1-8B-Instruct-AWQ-INT4-_n16_b0.1_q100": (
        "search-and-learn", "hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4", 1600, 12935),
}
APPROACH = {"search-and-learn/AMead10Llama-3.2-3B-Instruct-AWQ-_n16_b0.1_q100": ("beam_search", 16),
            "search-and-learn/beam_search_n-4_completions-10": ("beam_search", 4),
            "search-and-learn/best_of_n_completions": ("bon", 4),
            "search-and-learn/hugging-quantsMeta-Llama-3.1-8B-Instruct-AWQ-INT4-_n16_b0.1_q100": ("bon", 16)}
# search-and-learn's own local output: its pred_*@n are exactly our selections
EXACT = {"search-and-learn/beam_search_n-4_completions-10", "search-and-learn/best_of_n_completions"}
CLAIM_TOLERANCE = 0.03  # mean |claimed accuracy − ours| over a run's pred_*@n claims
WORST_CLAIM = 0.06      # one claim: the fork reads unboxed texts' last number as the answer (docs/grading.md)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, real_data):
    from warehouse.home import Home

    home = Home(tmp_path_factory.mktemp("real_corpus"))
    summary = ingest(home, [str(real_data)], progress=False)
    grade(home, workers=2, progress=False)
    build = subprocess.run([sys.executable, "-m", "ttsw", "--home", str(home.root), "build", "-q"],
                           capture_output=True, text=True, timeout=900)
    return home, summary, build, real_data


def test_every_real_source_ingests_with_no_flags(corpus):
    home, summary, _, real_data = corpus
    assert not summary.failed and len(summary.written) == len(RUNS)
    assert summary.passed_over == [str(real_data / "README.md")]
    found = {name: (fmt, model, comps, prm) for name, fmt, model, comps, prm in lake(home, """
        select r.name, r.source_format, r.model,
               (select count(*) from lake.completions c where c.run_id = r.run_id),
               (select count(*) from lake.prm_scores p where p.run_id = r.run_id)
        from lake.runs r where r.status = 'complete'""")}
    assert found == RUNS
    approaches = dict((name, (a, n)) for name, a, n in lake(
        home, "select name, approach, n from lake.runs where source_format = 'search-and-learn'"))
    assert approaches == APPROACH
    # what no source says is left null and named once; the LFS pointers and partial logs are flagged
    assert any("left null: temperature, seed" in w for w in summary.warnings)
    assert sum("is a Git LFS pointer" in w for w in summary.warnings) == 5
    assert any("mmlu_pro_plus_chemistry 3 of 100" in w for w in summary.warnings)


def test_the_build_succeeds_on_all_of_it(corpus):
    home, _, build, _ = corpus
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    import pyarrow.parquet as pq

    assert pq.read_table(home.serving / "runs_summary.parquet").num_rows == len(RUNS)


def test_our_numbers_agree_with_each_sources_claims(corpus):
    home = corpus[0]
    report = compare_source(home, workers=2)
    claims = report.section("selected answers claimed").rows
    by_run: dict[str, list[dict]] = {}
    for row in claims:
        by_run.setdefault(row["run"], []).append(row)
    assert set(by_run) == set(APPROACH)
    for run, rows in by_run.items():
        assert all(r["compared"] == r["problems"] for r in rows), run
        if run in EXACT:
            assert all(r["agreement"] == 1.0 for r in rows), run
        differences = [abs(r["difference"]) for r in rows]
        assert sum(differences) / len(differences) <= CLAIM_TOLERANCE, run
        assert max(differences) <= WORST_CLAIM, run

    headline = [r for r in report.section("lm-eval's per-doc scores").rows if r["headline"]]
    assert {(r["task"], r["filter"]) for r in headline} == {
        ("gsm8k", "flexible-extract"), ("gsm8k", "strict-match"), ("mmlu_pro_plus_chemistry", "custom-extract"),
        ("mmlu_pro_plus_health", "custom-extract"), ("mmlu_pro_plus_psychology", "custom-extract")}
    for row in headline:  # within one document of lm-eval's own score on every task
        assert abs(row["source_correct"] - row["ours_correct"]) <= 1, row
    labels = report.section("our verdicts vs the source's per-sample labels").rows
    assert labels and all(r["agreement"] == 1.0 for r in labels)  # Inspect's binary scores
