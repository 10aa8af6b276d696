"""bon-parquet: Best-of-N Parquet rows and key-value metadata into runs, problems, completions; bad input."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakecheck import lake, nothing_complete, ttsw_measured
from ingest.readers import detect
from ingest.readers.base import SourceError
from ingest.readers.bon_parquet import NON_FINITE, READER
from ingest.readers.jsonio import DUPLICATE
from ingest.runner import ingest

MB = 1024 * 1024
META = {"model": "gpt-4o-mini", "num_candidates": "2", "temperature": "0.7", "splits": "math,code",
        "total_records": "4", "config_file": "experiments/baseline.yaml", "notes": "Testing N=2\n",
        "generated_at": "2024-11-20T10:11:12"}
COLUMNS = {"query_id": [7, 7, 9, 9], "split": ["math", "math", "code", "code"],
           "query": ["Solve x+1=2.", "Solve x+1=2.", "Write f.", "Write f."], "candidate_idx": [0, 1, 0, 1],
           "response": ["x=1", "x=2", "def f(): pass", "f = 1"], "is_verified": [True, False, None, True]}




def write(tmp_path: Path, columns=None, meta=None, name: str = "baseline_run.parquet") -> Path:
    table = columns if isinstance(columns, pa.Table) else pa.table(columns or COLUMNS)
    metadata = {k.encode(): v if isinstance(v, bytes) else v.encode() for k, v in (meta or META).items()}
    path = tmp_path / name
    pq.write_table(table.replace_schema_metadata(metadata), path)
    return path


def test_reads_metadata_problems_and_candidates(home, tmp_path):
    path = write(tmp_path)
    summary = ingest(home, [str(path)], progress=False)
    assert summary.written == ["baseline_run"] and not summary.skipped
    assert summary.warnings == ["baseline_run: not stated by the source, left null: seed (set with --meta seed=…)"]
    (run,) = lake(home, "select source_format, dataset, model, approach, n, temperature, notes, created_at, config "
                        "from lake.runs where status = 'complete'")
    assert run[:7] == ("bon-parquet", "bon-experiment", "gpt-4o-mini", "bon", 2, 0.7, "Testing N=2\n")
    assert run[7] == datetime(2024, 11, 20, 10, 11, 12, tzinfo=timezone.utc)
    assert '"config_file": "experiments/baseline.yaml"' in run[8] and '"splits": "math,code"' in run[8]
    assert lake(home, "select original_id, problem, split from lake.problems order by 1") == [
        ("7", "Solve x+1=2.", "math"), ("9", "Write f.", "code")]
    assert lake(home, "select p.original_id, sample_idx, text, source_is_correct from lake.completions "
                      "join lake.problems p using (problem_id) order by 1, 2") == [
        ("7", 0, "x=1", True), ("7", 1, "x=2", False), ("9", 0, "def f(): pass", None), ("9", 1, "f = 1", True)]


def test_other_column_names_integer_verdicts_and_options(home, tmp_path):
    columns = {"query_id": ["a", "b"], "prompt": ["p", "q"], "candidate_idx": [0, 0], "completion": ["x", "y"],
               "is_verified": [1, 0]}
    path = write(tmp_path, columns, {"dataset": "nvidia/Nemotron", "total_records": "3"})
    summary = ingest(home, [str(path)], options={"model": "m"}, progress=False)
    assert summary.warnings[0] == "baseline_run: metadata total_records=3 but the file has 2 rows"
    assert lake(home, "select dataset, model, n from lake.runs where status = 'complete'") == [
        ("nvidia/Nemotron", "m", 1)]
    assert lake(home, "select text, source_is_correct from lake.completions order by 1") == [("x", True), ("y", False)]


def test_reingest_is_a_no_op_and_a_changed_file_is_a_new_run(home, tmp_path):
    path = write(tmp_path)
    assert ingest(home, [str(path)], progress=False).written == ["baseline_run"]
    assert ingest(home, [str(path)], progress=False).unchanged == ["baseline_run"]
    write(tmp_path, meta=dict(META, notes="changed"))
    assert ingest(home, [str(path)], progress=False).written == ["baseline_run"]


def test_duplicates_and_non_finite_verdicts_are_skipped_and_counted(home, tmp_path):
    columns = dict(COLUMNS, candidate_idx=[0, 0, 0, 1], is_verified=[1.0, 0.0, float("nan"), float("inf")])
    summary = ingest(home, [str(write(tmp_path, columns))], progress=False)
    assert summary.skipped == {DUPLICATE: 1, NON_FINITE: 2}
    assert lake(home, "select text, source_is_correct from lake.completions") == [("x=1", True)]


def _bad_file(tmp_path: Path, case: str) -> Path:
    good = write(tmp_path)
    if case == "truncated":
        good.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif case == "empty":
        good.write_bytes(b"")
    elif case == "no rows":
        write(tmp_path, pa.table(COLUMNS).slice(0, 0))
    elif case == "missing column":
        write(tmp_path, {k: v for k, v in COLUMNS.items() if k != "is_verified"})
    elif case == "no text column":
        write(tmp_path, {k: v for k, v in COLUMNS.items() if k != "response"})
    elif case == "wrong type":
        write(tmp_path, dict(COLUMNS, candidate_idx=["0", "1", "0", "1"]))
    elif case == "verdict out of range":
        write(tmp_path, dict(COLUMNS, is_verified=[0, 1, 2, 0]))
    elif case == "null id":
        write(tmp_path, dict(COLUMNS, query_id=[7, 7, None, 9]))
    elif case == "list text":
        write(tmp_path, dict(COLUMNS, response=[["x"], ["y"], ["z"], ["w"]]))
    elif case == "binary not utf-8":
        write(tmp_path, dict(COLUMNS, response=pa.array([b"x", b"y", b"\xff", b"w"], pa.binary())))
    elif case == "string not utf-8":
        write(tmp_path, dict(COLUMNS, response=pa.array([b"x", b"y", b"z", b"\xfe"], pa.binary()).view(pa.string())))
    elif case == "metadata not utf-8":
        write(tmp_path, meta=dict(META, notes=b"caf\xe9"))
    elif case == "metadata value":
        write(tmp_path, meta=dict(META, temperature="hot"))
    elif case == "two texts for one query":
        write(tmp_path, dict(COLUMNS, query=["a", "b", "c", "c"]))
    return good


BAD = {
    "truncated": r"\.parquet: not a readable Parquet file \(truncated\?\)",
    "empty": r"\.parquet: empty file",
    "no rows": r"\.parquet: no rows",
    "missing column": r"\.parquet: field 'is_verified': no column is_verified",
    "no text column": r"\.parquet: field 'response': no column response / candidate",
    "wrong type": r"\.parquet: field 'candidate_idx': expected integers, got string",
    "verdict out of range": r"\(row 2\): field 'is_verified': expected 0 or 1, got 2",
    "null id": r"\(row 2\): field 'query_id': is null",
    "list text": r"field 'response': expected text, got list<",
    "binary not utf-8": r"\(row 2\): field 'response': not UTF-8: byte 0xff",
    "string not utf-8": r"\(row 3\): field 'response': not UTF-8: byte 0xfe",
    "metadata not utf-8": r"\.parquet: field 'notes': metadata value is not UTF-8",
    "metadata value": r"field 'temperature': metadata: expected a finite number, got 'hot'",
    "two texts for one query": r"\(row 1\): field 'query': query_id 7 has another query at row 0",
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_an_error_naming_file_row_and_field(home, tmp_path, case):
    path = _bad_file(tmp_path, case)
    with pytest.raises(SourceError, match=BAD[case]) as error:
        ingest(home, [str(path)], fmt="bon-parquet", progress=False)
    assert str(error.value).startswith(str(path))
    assert nothing_complete(home)


def test_sniffing_and_an_unknown_format(tmp_path):
    assert detect(str(write(tmp_path))) is READER
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1]}), other)
    assert not READER.sniff(str(other))
    with pytest.raises(SourceError, match="cannot tell its format"):
        detect(str(other))


def test_cli_ingests_a_50_mb_completion_in_bounded_memory(home, tmp_path):
    path = write(tmp_path, dict(COLUMNS, response=["x" * (50 * MB), "a", "b", "c"]))
    code, output, peak = ttsw_measured(home, "ingest", str(path))
    assert code == 0, output
    assert "runs written: 1" in output and "completions: 4 rows" in output
    assert peak < 700 * MB  # about 160 MB to start, a few copies of the text at most
    assert lake(home, "select max(length(text)) from lake.completions") == [(50 * MB,)]
