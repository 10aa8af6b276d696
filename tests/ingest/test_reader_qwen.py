"""qwen-math-eval: Qwen2.5-Math evaluation JSONL into problems, completions and prm_scores; bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakecheck import lake, nothing_complete, ttsw_measured
from ingest.readers import detect
from ingest.readers.base import SourceError
from ingest.readers.jsonio import DUPLICATE
from ingest.readers.qwen_math import NON_FINITE, READER
from ingest.runner import ingest

MB = 1024 * 1024
NAME = "test_qwen25-math-cot_-1_seed3_t0.7_s0_e-1.jsonl"
LINES = [
    {"idx": 0, "question": "What is 1+1?", "gt_cot": "1+1=2", "gt": "2", "level": "Level 1", "type": "Algebra",
     "code": ["so \\boxed{2}", "so \\boxed{3}"], "pred": ["2", "3"], "report": [None, None], "score": [True, False],
     "pred_score": [[0.9, 0.8], [0.4, 0.1]]},
    {"idx": 1, "question": "What is 2+2?", "gt": 4, "level": 2,
     "code": ["\\boxed{4}", "\\boxed{5}"], "pred": ["4", None], "score": [True, False], "pred_score": [[0.7], 0.2]},
]




def write(tmp_path: Path, lines, name: str = NAME) -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_reads_problems_completions_and_step_scores(home, tmp_path):
    path = write(tmp_path, LINES)
    summary = ingest(home, [str(path)], options={"dataset": "math500", "model": "qwen-1.5b", "prm_model": "prm-7b"},
                     progress=False)
    assert summary.written == [path.stem] and not summary.skipped and not summary.warnings
    assert lake(home, "select name, status, source_format, dataset, model, n, seed, temperature, prm_model "
                      "from lake.runs") == [(path.stem, "complete", "qwen-math-eval", "math500", "qwen-1.5b", 2, 3,
                                              0.7, "prm-7b")]
    assert lake(home, "select original_id, problem, gold_answer, level, subject from lake.problems order by 1") == [
        ("0", "What is 1+1?", "2", 1, "Algebra"), ("1", "What is 2+2?", "4", 2, None)]
    assert lake(home, "select p.original_id, sample_idx, text, source_answer, source_is_correct from lake.completions "
                      "join lake.problems p using (problem_id) order by 1, 2") == [
        ("0", 0, "so \\boxed{2}", "2", True), ("0", 1, "so \\boxed{3}", "3", False),
        ("1", 0, "\\boxed{4}", "4", True), ("1", 1, "\\boxed{5}", None, False)]
    assert lake(home, "select sample_idx, step_idx, score, kind, prm_model, token_threshold from lake.prm_scores "
                      "order by score desc") == [
        (0, 0, 0.9, "step", "prm-7b", None), (0, 1, 0.8, "step", "prm-7b", None), (0, 0, 0.7, "step", "prm-7b", None),
        (1, 0, 0.4, "step", "prm-7b", None), (1, 0, 0.2, "step", "prm-7b", None), (1, 1, 0.1, "step", "prm-7b", None)]


def test_reingest_is_a_no_op_and_a_changed_file_is_a_new_run(home, tmp_path):
    path = write(tmp_path, LINES)
    first = ingest(home, [str(path)], progress=False)
    assert first.written and f"problems filed under {tmp_path.name!r} (folder name" in first.warnings[0]
    assert ingest(home, [str(path)], progress=False).unchanged == [path.stem]
    write(tmp_path, LINES[:1])
    assert ingest(home, [str(path)], progress=False).written == [path.stem]
    assert lake(home, "select count(distinct run_id) from lake.runs") == [(2,)]


def test_nan_and_inf_scores_drop_that_samples_scores(home, tmp_path):
    lines = [dict(LINES[0], pred_score=[[0.9, float("nan")], [float("inf")]])]
    summary = ingest(home, [str(write(tmp_path, lines))], progress=False)
    assert summary.skipped == {NON_FINITE: 2}
    assert lake(home, "select count(*) from lake.prm_scores") == [(0,)]
    assert lake(home, "select count(*) from lake.completions") == [(2,)]


def test_a_repeated_idx_keeps_the_first_line(home, tmp_path):
    summary = ingest(home, [str(write(tmp_path, [LINES[0], LINES[1], dict(LINES[0], code=["x", "y"])]))],
                     progress=False)
    assert summary.skipped == {DUPLICATE: 2}
    assert lake(home, "select text from lake.completions order by text")[-1] == ("so \\boxed{3}",)


GOOD = json.dumps(LINES[0]) + "\n"
BAD = {
    "truncated": (GOOD + GOOD[:40], r":2: last line ends early \(truncated\?\)"),
    "empty": ("", "empty file"),
    "blank lines only": ("\n \n", "empty file"),
    "not utf-8": (GOOD + GOOD.replace("What", "Wh\udcffat"), r":2: not UTF-8: byte 0xff"),
    "not an object": ("[1, 2]\n", ":1: expected a JSON object, got a list"),
    "missing field": (json.dumps({k: v for k, v in LINES[0].items() if k != "question"}) + "\n",
                      ":1: field 'question': missing"),
    "idx wrong type": (json.dumps(dict(LINES[0], idx="zero")) + "\n", ":1: field 'idx': expected an integer"),
    "code wrong type": (json.dumps(dict(LINES[0], code="text")) + "\n", ":1: field 'code': expected a list"),
    "score element": (json.dumps(dict(LINES[0], score=[True, "yes"])) + "\n", r":1: field 'score\[1\]': expected true"),
    "score string": (json.dumps(dict(LINES[0], pred_score=[["0.5"], [0.1]])) + "\n",
                     r":1: field 'pred_score\[0\]\[0\]': expected a number, got a string"),
    "level": (json.dumps(dict(LINES[0], level="hard")) + "\n", ":1: field 'level': expected an integer or 'Level N'"),
    "lengths differ": (GOOD + json.dumps(dict(LINES[1], pred=["4"])) + "\n",
                       ":2: field 'pred': has 1 entries but code has 2"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_an_error_naming_file_line_and_field(home, tmp_path, case):
    text, message = BAD[case]
    path = tmp_path / NAME
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    with pytest.raises(SourceError, match=message) as error:
        ingest(home, [str(path)], fmt="qwen-math-eval", progress=False)
    assert str(error.value).startswith(str(path))
    assert nothing_complete(home)


def test_sniffing_and_an_unknown_format(tmp_path):
    assert detect(str(write(tmp_path, LINES))) is READER
    other = write(tmp_path, [{"id": 1, "prompt": "x", "answer": "y"}], name="other.jsonl")
    assert not READER.sniff(str(other))
    with pytest.raises(SourceError, match="cannot tell its format"):
        detect(str(other))


def test_cli_ingests_a_50_mb_completion_in_bounded_memory(home, tmp_path):
    big = "x" * (50 * MB)
    path = write(tmp_path, [dict(LINES[0], code=[big, "short"])])
    code, output, peak = ttsw_measured(home, "ingest", str(path))
    assert code == 0, output
    assert "runs written: 1" in output and "completions: 2 rows" in output
    assert peak < 700 * MB  # about 160 MB to start, a few copies of the line at most
    assert lake(home, "select max(length(text)) from lake.completions") == [(50 * MB,)]


def test_qwen_layout_gives_dataset_model_seed_temperature_and_the_metrics_claim(home, tmp_path):
    folder = tmp_path / "outputs" / "Qwen" / "Qwen2.5-Math-7B-Instruct" / "math_eval" / "gsm8k"
    folder.mkdir(parents=True)
    path = write(folder, LINES)
    (folder / f"{path.stem}_qwen25-math-cot_metrics.json").write_text('{"num_samples": 2, "acc": 75.0}')
    summary = ingest(home, [str(tmp_path / "outputs")], progress=False)
    assert summary.written == [path.stem]
    assert lake(home, "select dataset, model, seed, temperature from lake.runs") == [
        ("gsm8k", "Qwen/Qwen2.5-Math-7B-Instruct", 3, 0.7)]
    assert lake(home, "select claim, value from lake.source_claims") == [("acc", 0.75)]
    assert lake(home, "select json_extract_string(config, '$.provenance.model') from lake.runs") == [
        ("guessed from the folder names",)]


def test_given_metadata_fills_and_a_contradiction_is_an_error(home, tmp_path):
    from ingest.readers.base import SourceError

    path = write(tmp_path, LINES)
    ingest(home, [str(path)], progress=False, given={"model": "m", "dataset": "math500"})
    assert lake(home, "select model, dataset, json_extract_string(config, '$.provenance.model') from lake.runs") == [
        ("m", "math500", "given (--meta)")]
    with pytest.raises(SourceError, match="--meta seed=4 contradicts file name, which says 3"):
        ingest(home, [str(path)], progress=False, given={"seed": 4})
