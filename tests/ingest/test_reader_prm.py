"""prm-json: PRM-analysis samples into runs, problems, completions; its correlation output into claims."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakecheck import lake, nothing_complete, ttsw_measured
from ingest.readers import detect
from ingest.readers.base import SourceError
from ingest.readers.jsonio import DUPLICATE
from ingest.readers.prm_json import READER, UNDEFINED
from ingest.runner import ingest

MB = 1024 * 1024
SAMPLES = {
    "metadata": {"model_name": "Qwen/Qwen2.5-7B-Math-Instruct", "dataset": "MathArena/aime_2025", "N": 2,
                 "temperature": 0.8, "max_tokens": 2048, "split": "train"},
    "results": [
        {"index": 0, "question": "Find x.", "gold_answer": "17",
         "solutions": [{"text": "x = 17", "num_tokens": 4}, {"text": "x = 3", "num_tokens": 4}]},
        {"index": 1, "question": "Find y.", "gold_answer": 204, "solutions": [{"text": "y = 204"}]},
    ],
}
CORRELATIONS = {
    "metadata": {"data_file": "prm_analysis_data/aime_N2.json", "prm_model": "Qwen/Qwen2.5-Math-PRM-7B",
                 "token_thresholds": [128, 512], "aggregation_methods": ["mean", "min"], "N": 64},
    "correlations": {"128": {"mean": 0.155, "min": float("nan")}, "tau=512": {"mean": 0.511, "min": None}},
    "best_of_n_accuracy": {"mean": 0.1686, "min": 0.15},
}




def write(tmp_path: Path, doc, name: str = "aime_N2.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=2))
    return path


def test_samples_become_problems_and_completions(home, tmp_path):
    path = write(tmp_path, SAMPLES)
    summary = ingest(home, [str(path)], progress=False)
    assert summary.written == ["aime_N2"] and not summary.skipped
    assert summary.warnings == ["aime_N2: not stated by the source, left null: seed (set with --meta seed=…)"]
    (run,) = lake(home, "select source_format, model, dataset, n, temperature, max_tokens, approach, config "
                        "from lake.runs where status = 'complete'")
    assert run[:7] == ("prm-json", "Qwen/Qwen2.5-7B-Math-Instruct", "MathArena/aime_2025", 2, 0.8, 2048, "bon")
    assert json.loads(run[7])["split"] == "train"
    assert lake(home, "select dataset, original_id, problem, gold_answer from lake.problems order by 2") == [
        ("MathArena/aime_2025", "0", "Find x.", "17"), ("MathArena/aime_2025", "1", "Find y.", "204")]
    assert lake(home, "select p.original_id, sample_idx, text, num_tokens from lake.completions "
                      "join lake.problems p using (problem_id) order by 1, 2") == [
        ("0", 0, "x = 17", 4), ("0", 1, "x = 3", 4), ("1", 0, "y = 204", None)]


def test_correlation_output_becomes_run_level_claims(home, tmp_path):
    path = write(tmp_path, CORRELATIONS, "aime_N2_correlations.json")
    summary = ingest(home, [str(path)], progress=False)
    assert summary.skipped == {UNDEFINED: 2} and not summary.warnings
    assert lake(home, "select source_format, prm_model, n, dataset from lake.runs where status = 'complete'") == [
        ("prm-json", "Qwen/Qwen2.5-Math-PRM-7B", 64, None)]
    assert lake(home, "select problem_id, claim, method, n, prm_aggregation, value from lake.source_claims "
                      "order by claim") == [
        (None, "best_of_n_accuracy/mean", "prm_best_of_n", 64, "mean", 0.1686),
        (None, "best_of_n_accuracy/min", "prm_best_of_n", 64, "min", 0.15),
        (None, "pearson@tau=128/mean", "prm_correlation", 128, "mean", 0.155),
        (None, "pearson@tau=512/mean", "prm_correlation", 512, "mean", 0.511)]


def test_a_single_best_of_n_accuracy_and_options(home, tmp_path):
    doc = dict(CORRELATIONS, best_of_n_accuracy=0.2, correlations={"256": {"last": 0.3}})
    ingest(home, [str(write(tmp_path, doc))], options={"dataset": "d", "model": "m"}, progress=False)
    assert lake(home, "select dataset, model from lake.runs where status = 'complete'") == [("d", "m")]
    assert lake(home, "select claim, n, prm_aggregation, value from lake.source_claims order by claim") == [
        ("best_of_n_accuracy", 64, None, 0.2), ("pearson@tau=256/last", 256, "last", 0.3)]


def test_reingest_is_a_no_op_and_a_changed_file_is_a_new_run(home, tmp_path):
    path = write(tmp_path, SAMPLES)
    assert ingest(home, [str(path)], progress=False).written == ["aime_N2"]
    assert ingest(home, [str(path)], progress=False).unchanged == ["aime_N2"]
    write(tmp_path, dict(SAMPLES, results=SAMPLES["results"][:1]))
    assert ingest(home, [str(path)], progress=False).written == ["aime_N2"]


def test_a_repeated_index_keeps_the_first_item(home, tmp_path):
    doc = dict(SAMPLES, results=SAMPLES["results"] + [SAMPLES["results"][0]])
    summary = ingest(home, [str(write(tmp_path, doc))], progress=False)
    assert summary.skipped == {DUPLICATE: 2}
    assert lake(home, "select count(*) from lake.completions") == [(3,)]


def _item(**changes) -> dict:
    return dict(SAMPLES, results=[SAMPLES["results"][0], dict(SAMPLES["results"][1], **changes)])


TEXT = json.dumps(SAMPLES, indent=2)
BAD = {
    "truncated": (TEXT[: len(TEXT) // 2], r"\.json:\d+: file ends early \(truncated\?\)"),
    "empty": ("", r"\.json: empty file"),
    "not utf-8": (TEXT.replace("Find y.", "Find \udcff."), r"\.json:\d+: not UTF-8: byte 0xff at column \d+"),
    "not an object": ("[]", "expected a JSON object with 'metadata', got a list"),
    "no metadata": (json.dumps({"results": []}), r"\.json: field 'metadata': missing"),
    "neither layout": (json.dumps({"metadata": {}, "rows": []}), "field 'results': has neither"),
    "missing question": (json.dumps(_item(question=None)), r"\(row 1\): field 'question': is null"),
    "missing solutions": (json.dumps({**SAMPLES, "results": [{"index": 3, "question": "q"}]}),
                          r"\(row 0\): field 'solutions': missing"),
    "index wrong type": (json.dumps(_item(index="1")), r"\(row 1\): field 'index': expected an integer, got a string"),
    "num_tokens NaN": (json.dumps(_item(solutions=[{"text": "t", "num_tokens": float("nan")}])),
                       r"\(row 1\): field 'num_tokens': expected an integer, got nan"),
    "solution not object": (json.dumps(_item(solutions=["t"])),
                            r"\(row 1\): field 'solutions\[0\]': expected an object"),
    "N wrong type": (json.dumps(dict(SAMPLES, metadata={"N": "64"})), r"field 'N': expected an integer"),
    "threshold": (json.dumps(dict(CORRELATIONS, correlations={"early": {"mean": 0.1}})),
                  "field 'correlations': expected a token threshold like '512', got 'early'"),
    "correlation wrong type": (json.dumps(dict(CORRELATIONS, correlations={"128": {"mean": "0.1"}})),
                               r"field 'correlations\.128\.mean': expected a number, got a string"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_an_error_naming_file_row_and_field(home, tmp_path, case):
    text, message = BAD[case]
    path = tmp_path / "aime_N2.json"
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    with pytest.raises(SourceError, match=message) as error:
        ingest(home, [str(path)], fmt="prm-json", progress=False)
    assert str(error.value).startswith(str(path))
    assert nothing_complete(home)


def test_sniffing_and_an_unknown_format(tmp_path):
    assert detect(str(write(tmp_path, SAMPLES))) is READER
    assert detect(str(write(tmp_path, CORRELATIONS, "c.json"))) is READER
    other = write(tmp_path, {"metadata": {"x": 1}, "rows": [1]}, "other.json")
    assert not READER.sniff(str(other))
    with pytest.raises(SourceError, match="cannot tell its format"):
        detect(str(other))


def test_cli_ingests_a_50_mb_solution_in_bounded_memory(home, tmp_path):
    path = write(tmp_path, _item(solutions=[{"text": "y" * (50 * MB), "num_tokens": 1}]))
    code, output, peak = ttsw_measured(home, "ingest", str(path))
    assert code == 0, output
    assert "runs written: 1" in output and "completions: 3 rows" in output
    assert peak < 700 * MB  # about 160 MB to start, a few copies of the text at most
    assert lake(home, "select max(length(text)) from lake.completions") == [(50 * MB,)]
