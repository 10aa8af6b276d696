"""The ingest runner, with a reader defined here: ids, idempotency, the run lifecycle, summaries."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pytest

import ingest.runner as runner
from ingest.readers.base import RunData, RunListing, SourceError
from ingest.registry import category_sources, load_registry
from warehouse.catalog import memory_connection
from warehouse.lake import list_parts
from warehouse.problems import problem_id


class ListReader:
    """A format whose source is a key into SOURCES: lists of (problem, texts) per run."""

    name = "test-lists"
    description = "runs from a dict, for tests"

    def __init__(self, sources, fail_after: int | None = None):
        self.sources, self.fail_after = sources, fail_after

    def sniff(self, source):
        return source in self.sources

    def list_runs(self, source, options):
        return [RunListing(source, run, {}) for run in self.sources[source]]

    def read(self, source, options):
        for run_name, problems in self.sources[source].items():
            yield self._run(source, run_name, problems)

    def _run(self, source, run_name, problems):
        ids = [problem_id("toy", str(i)) for i in range(len(problems))]
        skipped = Counter()

        def batches():
            for i, (pid, texts) in enumerate(zip(ids, problems)):
                if self.fail_after is not None and i >= self.fail_after:
                    raise SourceError(source, "bad value", row=i, field="text")
                kept = [t for t in texts if t is not None]
                skipped["text is null"] += len(texts) - len(kept)
                yield "completions", {"problem_id": [pid] * len(kept), "sample_idx": list(range(len(kept))),
                                      "text": kept}

        return RunData(identity={"source": source, "run": run_name}, meta={"name": run_name, "model": "toy"},
                       problems=pa.table({"problem_id": ids, "dataset": ["toy"] * len(ids),
                                          "problem": [f"p{i}" for i in range(len(ids))]}),
                       batches=batches, skipped=skipped)


SOURCES = {"src": {"a": [["x", "y"], ["z", None]], "b": [["q"]]}}


@pytest.fixture
def use_reader(monkeypatch):
    def install(reader):
        monkeypatch.setattr(runner, "get_reader", lambda name: reader)
        monkeypatch.setattr(runner, "route", lambda source: ([(source, reader)], []))
    return install


def test_ingest_writes_runs_and_counts(home, use_reader):
    use_reader(ListReader(SOURCES))
    summary = runner.ingest(home, ["src"], progress=False, options={"category": "toy_cat"})
    assert summary.written == ["a", "b"] and summary.unchanged == []
    assert summary.rows == Counter({"completions": 4})
    assert summary.skipped == Counter({"text is null": 1})
    con = memory_connection(home)
    runs = con.sql("select name, status, source, source_format, category from lake.runs order by name").fetchall()
    assert runs == [("a", "complete", "imported", "test-lists", "toy_cat"), ("b", "complete", "imported", "test-lists", "toy_cat")]
    assert con.sql("select count(*) from lake.problems where dataset = 'toy'").fetchall() == [(2,)]
    assert any("skipped 1 rows: text is null" in line for line in summary.lines())


def test_reingest_is_a_no_op(home, use_reader):
    use_reader(ListReader(SOURCES))
    runner.ingest(home, ["src"], progress=False)
    before = sorted(p for t in ("runs", "completions", "problems") for p in list_parts(home, t))
    again = runner.ingest(home, ["src"], progress=False)
    assert again.written == [] and again.unchanged == ["a", "b"]
    assert sorted(p for t in ("runs", "completions", "problems") for p in list_parts(home, t)) == before


def test_bad_input_leaves_the_run_failed_and_a_fixed_source_redoes_it(home, use_reader):
    use_reader(ListReader(SOURCES, fail_after=1))
    with pytest.raises(SourceError, match=r"src \(row 1\): field 'text': bad value"):
        runner.ingest(home, ["src"], progress=False)
    con = memory_connection(home)
    assert con.sql("select name, status from lake.runs").fetchall() == [("a", "failed")]
    use_reader(ListReader(SOURCES))
    summary = runner.ingest(home, ["src"], progress=False)
    assert summary.written == ["a", "b"]
    con = memory_connection(home)
    assert con.sql("select count(*) from lake.completions").fetchall() == [(4,)]  # the failed part was discarded


def test_keep_going_reports_failures_and_continues(home, use_reader):
    use_reader(ListReader(SOURCES, fail_after=0))
    summary = runner.ingest(home, ["src"], progress=False, keep_going=True)
    assert [f.split(":")[0] for f in summary.failed] == ["a", "b"]
    statuses = memory_connection(home).sql("select distinct status from lake.runs").fetchall()
    assert statuses == [("failed",)]


def test_registry_categories_and_paths(tmp_path):
    (tmp_path / "local.parquet").write_bytes(b"")
    registry = tmp_path / "registry.yaml"
    registry.write_text("hub_paths:\n  math500_Qwen2.5-1.5B:\n    - ENSEONG/default-MATH-500-Qwen2.5-1.5B-Instruct-bon\n"
                        "    - local.parquet\n  other:\n    - hf://org/x\n")
    assert load_registry(registry)["other"] == ["hf://org/x"]
    pairs = category_sources(registry, ["math500_Qwen2.5-1.5B"])
    assert pairs == [("math500_Qwen2.5-1.5B", "hf://ENSEONG/default-MATH-500-Qwen2.5-1.5B-Instruct-bon"),
                     ("math500_Qwen2.5-1.5B", str(tmp_path / "local.parquet"))]
    with pytest.raises(SourceError, match="no category"):
        category_sources(registry, ["nope"])
    registry.write_text("math500: not-a-list\n")
    with pytest.raises(SourceError, match="field 'math500'"):
        load_registry(registry)


def test_keep_going_survives_a_source_that_cannot_be_read(home, use_reader):
    class Unreadable(ListReader):
        def read(self, source, options):
            if source == "broken":
                raise SourceError(source, "no config name parses")
            yield from super().read(source, options)

    use_reader(Unreadable(SOURCES))
    summary = runner.ingest(home, ["broken", "src"], progress=False, keep_going=True)
    assert summary.failed == ["broken: broken: no config name parses"] and summary.written == ["a", "b"]
