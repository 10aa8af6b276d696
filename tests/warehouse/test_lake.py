"""The lake writer: contracts, atomic parts, metadata, drop, and damaged files."""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from warehouse.catalog import memory_connection
from warehouse.errors import ContractError, CorruptPart
from warehouse.lake import check_parts, drop_run_parts, list_parts, part_metadata, write_part
from warehouse.tables import COMPLETIONS, TABLES


def _completions(run_id: str, n: int = 3) -> dict:
    return {"run_id": [run_id] * n, "problem_id": [f"p{i}" for i in range(n)],
            "sample_idx": list(range(n)), "text": ["x"] * n}


def test_write_part_casts_to_contract_and_fills_missing_columns(home):
    path = write_part(home, "completions", _completions("r1"), run_id="r1")
    table = pq.read_table(path)
    assert table.schema.equals(COMPLETIONS.schema, check_metadata=False)
    assert table.column("sample_idx").type == pa.int32()
    assert table.column("finish_reason").null_count == 3
    assert path.parent.name == "run_id=r1"
    meta = part_metadata(path)
    assert meta == {"table": "completions", "schema_version": "1", "writer_version": meta["writer_version"], "run_id": "r1"}


def test_unknown_column_is_refused(home):
    data = _completions("r1") | {"bogus": [1, 2, 3]}
    with pytest.raises(ContractError, match="no column.*bogus"):
        write_part(home, "completions", data, run_id="r1")
    assert list_parts(home, "completions") == []


def test_wrong_type_names_the_column(home):
    data = _completions("r1") | {"sample_idx": ["a", "b", "c"]}
    with pytest.raises(ContractError, match="sample_idx"):
        write_part(home, "completions", data, run_id="r1")


def test_required_key_cannot_be_null(home):
    data = _completions("r1") | {"problem_id": ["p0", None, "p2"]}
    with pytest.raises(ContractError, match="problem_id.*must not be null"):
        write_part(home, "completions", data, run_id="r1")


def test_rows_must_carry_the_run_id(home):
    with pytest.raises(ContractError, match="run_id"):
        write_part(home, "completions", _completions("other"), run_id="r1")
    with pytest.raises(ContractError, match="pass run_id"):
        write_part(home, "completions", _completions("r1"))


def test_empty_data_writes_nothing(home):
    assert write_part(home, "completions", _completions("r1", 0), run_id="r1") is None


def test_fixed_part_name_is_idempotent(home, math500_table):
    for _ in range(2):
        write_part(home, "problems", math500_table, keys=["math500"])
    assert len(list_parts(home, "problems")) == 1
    con = memory_connection(home)
    assert con.sql("select count(*) from lake.problems").fetchall() == [(500,)]


def test_views_are_typed_before_any_data(home):
    from warehouse.lake import ensure_lake

    ensure_lake(home)
    con = memory_connection(home)
    for name, table in TABLES.items():
        described = [row[0] for row in con.sql(f"describe lake.{name}").fetchall()]
        assert described == table.columns, name
        assert con.sql(f"select count(*) from lake.{name}").fetchall() == [(0,)]


def test_no_temporary_file_survives_a_failed_write(home, monkeypatch):
    def boom(*args, **kwargs):
        raise OSError("disk full")

    write_part(home, "completions", _completions("r1"), run_id="r1")
    monkeypatch.setattr(pq, "write_table", boom)
    with pytest.raises(OSError):
        write_part(home, "completions", _completions("r1"), run_id="r1")
    leftovers = [p for p in home.lake.rglob("*") if p.is_file() and p.name.startswith(".tmp-")]
    assert leftovers == []
    assert len(list_parts(home, "completions", "r1")) == 1


def test_drop_removes_every_table_of_the_run(home):
    write_part(home, "completions", _completions("r1"), run_id="r1")
    write_part(home, "completions", _completions("r2"), run_id="r2")
    write_part(home, "prm_scores", {"run_id": ["r1"], "problem_id": ["p"], "sample_idx": [0], "prm_model": ["m"],
                                    "kind": ["step"], "step_idx": [0], "score": [0.5]}, run_id="r1")
    assert drop_run_parts(home, "r1") == 2
    con = memory_connection(home)
    assert con.sql("select distinct run_id from lake.completions").fetchall() == [("r2",)]
    assert con.sql("select count(*) from lake.prm_scores").fetchall() == [(0,)]


def test_corrupt_part_is_named(home):
    path = write_part(home, "completions", _completions("r1"), run_id="r1")
    path.write_bytes(b"PAR1 this is not parquet")
    bad = check_parts(home)
    assert [p for p, _ in bad] == [path]
    with pytest.raises(CorruptPart, match=str(path)):
        part_metadata(path)


def test_truncated_part_is_named(home):
    path = write_part(home, "completions", _completions("r1", 1000), run_id="r1")
    data = path.read_bytes()
    os.truncate(path, len(data) // 2)
    assert [p for p, _ in check_parts(home)] == [path]
