"""One plan → one `RunData`: its identity, its `runs` columns, and a generator of table batches.

The batches stream one row batch at a time (per config, per file). Chunked runs are checked as they
go: the chunk ranges must tile the problems without gaps or overlaps, and no problem may appear in
two chunks. The problems the run refers to are written last, once every row has been read.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from functools import lru_cache
from typing import Iterator

import pyarrow as pa

from ingest.readers.base import RunData, SourceError
from ingest.readers.search_and_learn import columns, temperatures
from ingest.readers.search_and_learn.files import DataFile, batches, column_names
from ingest.readers.search_and_learn.found import Found
from ingest.readers.search_and_learn.plan import Plan, describe
from warehouse.problems import MATH500, math500

TABLES = ("completions", "prm_scores", "source_claims")


def run_data(found: Found, p: Plan, options: dict) -> RunData:
    meta = describe(found, p, options)
    parts = [(config, name, config.files()) for config, name in p.parts]
    evals = (p.evals[0], p.evals[1], p.evals[0].files()) if p.evals else None
    identity = {**found.identity, "config": p.name.base,
                "parts": [_part_identity(c, files) for c, _, files in parts + ([evals] if evals else [])]}
    return RunData(identity=identity, meta=meta, problems=None, skipped=p.skipped, warnings=p.warnings,
                   provenance=p.provenance, guessed=p.guessed,
                   batches=lambda: _batches(found, p, meta, parts, evals))


def _part_identity(config, files: list[DataFile]) -> dict:
    return {"name": config.name, "revision": config.revision,
            "files": {f.label.rsplit("/", 1)[-1]: f.fingerprint() for f in files}}


def _context(meta: dict, label: str) -> columns.Context:
    n = meta["n"]
    if meta["strategy"] == "hnc" and n:
        per_sample = temperatures.per_sample(tuple(meta["temperatures"]), tuple(meta["temperature_ratios"]),
                                             meta["approach"], n, n)
    else:
        per_sample = []
    return columns.Context(label=label, dataset=meta["dataset"], n=n, prm_model=meta["prm_model"],
                           temperatures=per_sample, sample_temperature=meta["temperature"])


def _batches(found: Found, p: Plan, meta: dict, parts, evals) -> Iterator[tuple[str, object]]:
    _check_chunk_ranges(found, p)
    problems: dict[str, dict] = {}
    seen: dict[str, tuple[str, str]] = {}  # problem id -> (config, digest of its completions)
    for index, (config, name, files) in enumerate(parts):
        if not files:
            raise SourceError(found.uri, f"config {config.name!r} has no data files")
        rows = 0
        for file in files:
            ctx = _context(meta, file.label)
            _check_columns(file, p.warnings)
            for start, batch in batches(file):
                tables = {t: defaultdict(list) for t in TABLES}
                for offset, row in enumerate(batch):
                    problem = columns.problem_row(row, ctx, start + offset)
                    if _duplicate(problem, row, config.name, seen, ctx, start + offset, p):
                        continue
                    problems[problem["problem_id"]] = problem
                    columns.map_row(row, problem["problem_id"], ctx, start + offset, tables, p.skipped)
                rows += len(batch)
                yield from ((t, dict(cols)) for t, cols in tables.items() if cols)
        _check_chunk_size(found, config.name, name.chunk, rows, last=index == len(parts) - 1)
    if evals:
        yield from _eval_batches(meta, evals, p.skipped)
    if not problems and not evals:
        raise SourceError(found.uri, f"config {p.name.base!r} holds no rows")
    if problems:
        yield "problems", _problems_table(list(problems.values()), found)


def _check_columns(file: DataFile, warnings: list[str]) -> None:
    names = column_names(file)
    if "completions" not in names:
        raise SourceError(file.label, f"no `completions` column (columns: {', '.join(names) or 'none'})",
                          field="completions")
    unknown = [n for n in names if not columns.known_column(n)]
    note = f"ignored columns {unknown}"
    if unknown and note not in warnings:
        warnings.append(note)


def _duplicate(problem: dict, row: dict, config: str, seen: dict, ctx, index: int, p: Plan) -> bool:
    """True for an exact repeat of a row already read from the same config (skipped and counted)."""
    pid = problem["problem_id"]
    digest = hashlib.sha256(json.dumps(row.get("completions"), default=str).encode()).hexdigest()
    if pid not in seen:
        seen[pid] = (config, digest)
        return False
    first_config, first_digest = seen[pid]
    what = problem["original_id"] or (problem["problem"] or "")[:60]
    if first_config != config:
        raise SourceError(ctx.label, f"problem {what!r} is in both {first_config!r} and {config!r}: chunks overlap",
                          row=index)
    if first_digest != digest:
        raise SourceError(ctx.label, f"problem {what!r} appears twice with different completions", row=index)
    p.skipped["duplicate rows (same problem, same completions)"] += 1
    return True


def _check_chunk_ranges(found: Found, p: Plan) -> None:
    expected, previous = 0, None
    for config, name in p.parts:
        if name.chunk is None:
            continue
        start, end = name.chunk
        if start > expected:
            after = f"after {previous!r}" if previous else "at the start"
            raise SourceError(found.uri, f"chunks of {p.name.base!r} leave a gap {after}: problems {expected}–{start} "
                                         f"are in no chunk (next chunk: {config.name!r})")
        if start < expected:
            raise SourceError(found.uri, f"chunks {previous!r} and {config.name!r} overlap (problems {start}–{expected})")
        expected, previous = end, config.name


def _check_chunk_size(found: Found, config: str, chunk, rows: int, last: bool) -> None:
    if chunk is None:
        return
    size = chunk[1] - chunk[0]
    if rows > size:
        raise SourceError(found.uri, f"chunk {config!r} holds {rows} rows, more than its range of {size}")
    if rows < size and not last:
        raise SourceError(found.uri, f"chunk {config!r} holds {rows} of its {size} problems: a gap before the next chunk")


def _eval_batches(meta: dict, evals, skipped) -> Iterator[tuple[str, object]]:
    config, _, files = evals
    for file in files:
        ctx = _context(meta, file.label)
        for start, batch in batches(file):
            out = defaultdict(list)
            for offset, row in enumerate(batch):
                columns.eval_claims(row, ctx, start + offset, out, skipped)
            if out:
                yield "source_claims", dict(out)


@lru_cache(maxsize=1)
def _bundled() -> dict[str, dict]:
    return {row["problem_id"]: row for row in math500().to_pylist()}


def _problems_table(rows: list[dict], found: Found) -> pa.Table:
    """The run's problems; MATH-500 ids take the bundled rows (complete gold answers and solutions)."""
    bundled = _bundled() if rows[0]["dataset"] == MATH500 else {}
    out = []
    for row in rows:
        row = bundled.get(row["problem_id"], row)
        if not row.get("problem"):
            raise SourceError(found.uri, f"problem {row['original_id']!r} has no text (no `problem` column)",
                              field="problem")
        out.append(row)
    return pa.Table.from_pylist(out)
