"""reasoning-traces: results JSON and its embeddings .npy into completions and embeddings; bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lakecheck import lake, nothing_complete, ttsw_measured
from ingest.readers import detect
from ingest.readers.base import SourceError
from ingest.readers.jsonio import DUPLICATE
from ingest.readers.reasoning_traces import DEFAULT_EMBEDDING_MODEL, NON_FINITE, READER
from ingest.runner import ingest

MB = 1024 * 1024
ITEMS = [
    {"query": "What is 2+2?",
     "full_output": "What is 2+2?\nLet me think step by step. 2+2=4. Therefore, the answer is 4.",
     "reasoning": "2+2=4.", "final_answer": "Therefore, the answer is 4.", "embedding": [0.5, 0.25, 0.125]},
    {"query": "Is 7 prime?", "full_output": "Yes, 7 is prime.", "reasoning": "Yes, 7 is prime.", "final_answer": "",
     "embedding": [1.0, 2.0, 3.0]},
]
VECTORS = np.array([[0.5, 0.25, 0.125], [1.0, 2.0, 3.0]])




def write(tmp_path: Path, items=ITEMS, vectors=VECTORS, name: str = "flan-t5-small") -> Path:
    path = tmp_path / f"{name}_results.json"
    path.write_text(json.dumps(items, indent=2))
    if vectors is not None:
        np.save(tmp_path / f"{name}_embeddings.npy", vectors)
    return path


def test_results_and_the_npy_beside_them(home, tmp_path):
    path = write(tmp_path, [{k: v for k, v in item.items() if k != "embedding"} for item in ITEMS])
    summary = ingest(home, [str(path)], options={"dataset": "toy"}, progress=False)
    assert summary.written == ["flan-t5-small_results"] and not summary.skipped
    assert summary.warnings == [f"flan-t5-small_results: embedding model not named; assuming the tool's default "
                                f"{DEFAULT_EMBEDDING_MODEL}",
                                f"flan-t5-small_results: not stated by the source, left null: temperature, seed (set with --meta temperature=… --meta seed=…)"]
    assert lake(home, "select source_format, model, dataset, n, approach from lake.runs where status = 'complete'") == [
        ("reasoning-traces", "flan-t5-small", "toy", 1, "sampling")]
    assert lake(home, "select p.problem, c.sample_idx, c.text from lake.completions c join lake.problems p "
                      "using (problem_id) order by 1") == [
        ("Is 7 prime?", 0, "Yes, 7 is prime."), ("What is 2+2?", 0, ITEMS[0]["full_output"])]
    assert lake(home, "select embedding_model, vector, reasoning_text, final_answer_text from lake.embeddings "
                      "order by reasoning_text") == [
        (DEFAULT_EMBEDDING_MODEL, [0.5, 0.25, 0.125], "2+2=4.", "Therefore, the answer is 4."),
        (DEFAULT_EMBEDDING_MODEL, [1.0, 2.0, 3.0], "Yes, 7 is prime.", "")]


def test_wrapped_results_with_item_embeddings_and_an_explicit_npy(home, tmp_path):
    path = tmp_path / "out.json"
    path.write_text(json.dumps({"metadata": {"model_name": "google/flan-t5-small", "embedding_model": "e5"},
                                "results": ITEMS}))
    summary = ingest(home, [str(path)], options={"dataset": "toy"}, progress=False)
    assert summary.warnings == ["out: not stated by the source, left null: temperature, seed (set with --meta temperature=… --meta seed=…)"] and summary.rows["embeddings"] == 2
    assert lake(home, "select distinct embedding_model from lake.embeddings") == [("e5",)]
    np.save(tmp_path / "elsewhere.npy", VECTORS * 2)
    ingest(home, [str(path)], options={"dataset": "toy", "embeddings": str(tmp_path / "elsewhere.npy"),
                                       "embedding_model": "e6"}, progress=False)
    assert lake(home, "select vector from lake.embeddings where embedding_model = 'e6' order by 1") == [
        ([1.0, 0.5, 0.25],), ([2.0, 4.0, 6.0],)]


def test_reingest_is_a_no_op_and_a_changed_npy_is_a_new_run(home, tmp_path):
    path = write(tmp_path)
    assert ingest(home, [str(path)], progress=False).written
    assert ingest(home, [str(path)], progress=False).unchanged == ["flan-t5-small_results"]
    write(tmp_path, vectors=VECTORS + 1)
    assert ingest(home, [str(path)], progress=False).written == ["flan-t5-small_results"]


def test_non_finite_vectors_and_repeated_queries_are_skipped_and_counted(home, tmp_path):
    vectors = np.array([[np.nan, 0, 0], [np.inf, 1, 1], [1, 1, 1]])
    summary = ingest(home, [str(write(tmp_path, ITEMS + ITEMS[:1], vectors))], progress=False)
    assert summary.skipped == {NON_FINITE: 2, DUPLICATE: 1}
    assert lake(home, "select count(*) from lake.completions") == [(2,)]
    assert lake(home, "select count(*) from lake.embeddings") == [(0,)]
    items = [dict(ITEMS[0], embedding=[1e39, 0, 0])]  # beyond float32: inf once stored
    summary = ingest(home, [str(write(tmp_path, items, None, "other"))], progress=False)
    assert summary.skipped == {NON_FINITE: 1}


def _bad_file(tmp_path: Path, case: str) -> Path:
    path = write(tmp_path)
    text = path.read_text()
    npy = tmp_path / "flan-t5-small_embeddings.npy"
    if case == "truncated":
        path.write_text(text[: len(text) // 2])
    elif case == "empty":
        path.write_text("")
    elif case == "not utf-8":
        path.write_bytes(text.replace("Is 7", "Is \udcff7").encode("utf-8", errors="surrogateescape"))
    elif case == "not a list":
        path.write_text('"results"')
    elif case == "item not object":
        path.write_text(json.dumps([ITEMS[0], "x"]))
    elif case == "missing output":
        write(tmp_path, [ITEMS[0], {"query": "q"}], VECTORS)
    elif case == "query wrong type":
        write(tmp_path, [ITEMS[0], dict(ITEMS[1], query=7)], VECTORS)
    elif case == "npy rows":
        np.save(npy, VECTORS[:1])
    elif case == "npy truncated":
        npy.write_bytes(npy.read_bytes()[:100])
    elif case == "npy shape":
        np.save(npy, VECTORS[0])
    elif case in ("embedding dims", "embedding element"):
        npy.unlink()
        bad = [1.0, 2.0] if case == "embedding dims" else [1.0, "2", 3.0]
        write(tmp_path, [ITEMS[0], dict(ITEMS[1], embedding=bad)], None)
    return path


BAD = {
    "truncated": r"_results\.json:\d+: file ends early \(truncated\?\)",
    "empty": r"_results\.json: empty file",
    "not utf-8": r"_results\.json:\d+: not UTF-8: byte 0xff",
    "not a list": "expected a list of results, got a string",
    "item not object": r"\(row 1\): expected an object, got a string",
    "missing output": r"\(row 1\): field 'full_output': missing",
    "query wrong type": r"\(row 1\): field 'query': expected a string, got an integer",
    "npy rows": r"_embeddings\.npy: has 1 rows but .*_results\.json has 2 items",
    "npy truncated": r"_embeddings\.npy: not a readable \.npy array",
    "npy shape": r"_embeddings\.npy: expected a 2-D numeric array, got shape \(3,\)",
    "embedding dims": r"\(row 1\): field 'embedding': has 2 numbers, earlier items 3",
    "embedding element": r"\(row 1\): field 'embedding\[1\]': expected a number, got a string",
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_an_error_naming_file_row_and_field(home, tmp_path, case):
    path = _bad_file(tmp_path, case)
    with pytest.raises(SourceError, match=BAD[case]) as error:
        ingest(home, [str(path)], fmt="reasoning-traces", progress=False)
    assert str(error.value).startswith(str(tmp_path))
    assert nothing_complete(home)


def test_sniffing_and_an_unknown_format(tmp_path):
    assert detect(str(write(tmp_path))) is READER
    other = tmp_path / "other.json"
    other.write_text(json.dumps([{"prompt": "x", "output": "y"}]))
    assert not READER.sniff(str(other))
    with pytest.raises(SourceError, match="cannot tell its format"):
        detect(str(other))


def test_cli_ingests_a_50_mb_output_in_bounded_memory(home, tmp_path):
    path = write(tmp_path, [ITEMS[0], dict(ITEMS[1], full_output="z" * (50 * MB))])
    code, output, peak = ttsw_measured(home, "ingest", str(path))
    assert code == 0, output
    assert "runs written: 1" in output and "embeddings: 2 rows" in output
    assert peak < 700 * MB  # about 160 MB to start, a few copies of the text at most
    assert lake(home, "select max(length(text)) from lake.completions") == [(50 * MB,)]
