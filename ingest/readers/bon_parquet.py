"""Best-of-N experiment Parquet (`generate_best_of_n.py` with YAML configs): one run per file.

Columns read, one row per (query, candidate):
  query_id (integer or string, required), candidate_idx (integer >= 0, required),
  is_verified (boolean, or 0/1 as integers or floats; null = unknown), split (string, optional),
  the query text: the first of query, prompt, question, problem (string, required),
  the candidate text: the first of response, candidate, completion, text, output (string, required).
Key-value metadata read (all optional; every key lands in runs.config): model, num_candidates,
temperature, max_tokens, splits, total_records, config_file, notes, generated_at, dataset.

Rows:
  runs         name = file stem, model (metadata, else --model), n = num_candidates (else the largest
               candidate_idx + 1), temperature, max_tokens, notes, config, created_at = generated_at
               (a time without a zone is taken as UTC), approach 'bon'
  problems     one per query_id: dataset = metadata dataset, else --dataset, else 'bon-experiment';
               original_id = query_id, problem = the query text, split
  completions  sample_idx = candidate_idx, text, source_is_correct = is_verified
Per-split claims are not stored: the marts compute them from the completions.

Bad input (shared policy, `jsonio`): an unreadable, truncated or empty file, a file with no rows,
a missing column or one of the wrong type, a null id, text that is not UTF-8, a metadata value that
does not parse, or one query_id with two texts or splits is a `SourceError` naming the file, the
0-based row and the field. A repeated (query_id, candidate_idx) keeps its first row and skips the
others (counted under DUPLICATE); an is_verified of NaN or inf skips its row (counted); total_records
differing from the rows found is a warning.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingest.readers.base import RunData, RunListing, SourceError
from ingest.readers.jsonio import DUPLICATE, content_hash, first_key, fits_int64, problems_table
from warehouse.problems import problem_id

NAME = "bon-parquet"
FALLBACK_DATASET = "bon-experiment"
REQUIRED = ("query_id", "candidate_idx", "is_verified")
QUERY_COLUMNS = ("query", "prompt", "question", "problem")
TEXT_COLUMNS = ("response", "candidate", "completion", "text", "output")
NON_FINITE = "is_verified NaN or inf"


def _metadata(path: Path, schema: pa.Schema) -> dict[str, str]:
    """The file's own key-value metadata as text, without what pandas and Arrow add."""
    meta = {}
    for key, value in (schema.metadata or {}).items():
        if key == b"pandas" or key.startswith(b"ARROW:"):
            continue
        name = key.decode("utf-8", errors="replace")
        try:
            meta[name] = value.decode("utf-8")
        except UnicodeDecodeError:
            raise SourceError(path, "metadata value is not UTF-8", field=name) from None
    return meta


def _parse_time(raw: str) -> datetime:
    moment = datetime.fromisoformat(raw)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _finite_float(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError("not finite")
    return value


def _int64(raw: str) -> int:
    value = int(raw)
    if not fits_int64(value):
        raise ValueError("beyond the 64-bit range")
    return value


def _meta_value(path: Path, meta: dict[str, str], key: str, parse: Callable[[str], Any], expected: str) -> Any:
    raw = meta.get(key, "").strip()
    if raw in ("", "None", "null"):
        return None
    try:
        return parse(raw)
    except ValueError:
        raise SourceError(path, f"metadata: expected {expected}, got {raw!r}", field=key) from None


def _open(path: Path) -> tuple[pa.Table, dict[str, str]]:
    if path.stat().st_size == 0:
        raise SourceError(path, "empty file")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(path, f"not a readable Parquet file (truncated?): {exc}") from None
    if table.num_rows == 0:
        raise SourceError(path, "no rows")
    return table, _metadata(path, table.schema)


def _column(path: Path, table: pa.Table, names: tuple[str, ...]) -> tuple[str, pa.ChunkedArray]:
    name = first_key(table.column_names, names)
    if name is None:
        raise SourceError(path, f"no column {' / '.join(names)}; columns: {', '.join(table.column_names)}",
                          field=names[0])
    return name, table.column(name)


def _first(mask: pa.ChunkedArray) -> int:
    return pc.index(mask, True).as_py()


def _no_nulls(path: Path, name: str, column: pa.ChunkedArray) -> None:
    if column.null_count:
        raise SourceError(path, "is null", row=_first(column.is_null()), field=name)


def _text(path: Path, name: str, column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A string column, its UTF-8 checked (binary columns are accepted if they decode)."""
    kind = column.type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)
            or pa.types.is_binary(kind) or pa.types.is_large_binary(kind)):
        raise SourceError(path, f"expected text, got {kind}", field=name)
    try:
        text = column if pa.types.is_string(kind) or pa.types.is_large_string(kind) else column.cast(pa.string())
        text.validate(full=True)
        return text
    except pa.ArrowInvalid:
        for row, value in enumerate(column.cast(pa.large_binary()).to_pylist()):
            try:
                if value is not None:
                    value.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SourceError(path, f"not UTF-8: byte 0x{value[exc.start]:02x} at offset {exc.start}",
                                  row=row, field=name) from None
        raise


def _verified(path: Path, column: pa.ChunkedArray) -> list[bool | float | None]:
    """is_verified as booleans, keeping NaN / inf (floats) for the caller to skip."""
    kind = column.type
    if pa.types.is_boolean(kind):
        return column.to_pylist()
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        raise SourceError(path, f"expected booleans or 0/1, got {kind}", field="is_verified")
    values = []
    for row, value in enumerate(column.to_pylist()):
        if value is None or value in (0, 1):
            values.append(None if value is None else bool(value))
        elif isinstance(value, float) and not math.isfinite(value):
            values.append(value)
        else:
            raise SourceError(path, f"expected 0 or 1, got {value!r}", row=row, field="is_verified")
    return values


def _checked_columns(path: Path, table: pa.Table) -> dict[str, Any]:
    """The columns read, present and of the right types: Python lists, except the candidate text (Arrow)."""
    for name in REQUIRED:
        _column(path, table, (name,))
    for name in REQUIRED[:2]:
        _no_nulls(path, name, table.column(name))
    ids, candidates = table.column("query_id"), table.column("candidate_idx")
    if not (pa.types.is_integer(ids.type) or pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)):
        raise SourceError(path, f"expected integers or strings, got {ids.type}", field="query_id")
    if not pa.types.is_integer(candidates.type):
        raise SourceError(path, f"expected integers, got {candidates.type}", field="candidate_idx")
    query_name, queries = _column(path, table, QUERY_COLUMNS)
    queries = _text(path, query_name, queries)
    _no_nulls(path, query_name, queries)
    text_name, texts = _column(path, table, TEXT_COLUMNS)
    splits = table.column("split") if "split" in table.column_names else None
    return {"query_id": [str(i) for i in ids.to_pylist()], "candidate_idx": candidates.to_pylist(),
            "query_name": query_name, "query": queries.to_pylist(),
            "split": _text(path, "split", splits).to_pylist() if splits else [None] * table.num_rows,
            "is_verified": _verified(path, table.column("is_verified")), "text": _text(path, text_name, texts)}


def _select(path: Path, columns: dict[str, Any], dataset: str) -> tuple[list[dict], list[str | None], Counter]:
    """The problems, each row's problem id (None for a row skipped) and the skip counts."""
    problems: dict[str, tuple[int, dict]] = {}
    seen: set[tuple[str, int]] = set()
    keep, skipped = [], Counter()
    rows = zip(columns["query_id"], columns["candidate_idx"], columns["query"], columns["split"],
               columns["is_verified"], strict=True)
    for row, (qid, idx, query, split, ok) in enumerate(rows):
        if idx < 0:
            raise SourceError(path, f"must be >= 0, got {idx}", row=row, field="candidate_idx")
        first_row, problem = problems.setdefault(qid, (row, {
            "problem_id": problem_id(dataset, qid), "dataset": dataset, "original_id": qid,
            "problem": query, "split": split}))
        if (query, split) != (problem["problem"], problem["split"]):
            field = columns["query_name"] if query != problem["problem"] else "split"
            raise SourceError(path, f"query_id {qid} has another {field} at row {first_row}", row=row, field=field)
        reason = DUPLICATE if (qid, idx) in seen else NON_FINITE if isinstance(ok, float) else None
        seen.add((qid, idx))
        keep.append(problem["problem_id"] if reason is None else None)
        if reason is not None:
            skipped[reason] += 1
    return [problem for _, problem in problems.values()], keep, skipped


class BonParquetReader:
    name = NAME
    description = "Best-of-N Parquet with is_verified and key-value metadata"

    def sniff(self, source: str) -> bool:
        path = Path(source)
        if path.suffix != ".parquet" or not path.is_file():
            return False
        try:
            return set(REQUIRED) <= set(pq.read_schema(path).names)
        except (pa.ArrowException, OSError):
            return False

    def list_runs(self, source: str, options: dict[str, Any]) -> list[RunListing]:
        path = Path(source)
        meta = _metadata(path, pq.read_schema(path))
        return [RunListing(source, path.stem, {key: meta.get(key) for key in
                                               ("model", "num_candidates", "temperature", "splits", "total_records")})]

    def read(self, source: str, options: dict[str, Any]) -> list[RunData]:
        path = Path(source)
        table, meta = _open(path)
        dataset = meta.get("dataset") or options.get("dataset") or FALLBACK_DATASET
        columns = _checked_columns(path, table)
        problems, keep, skipped = _select(path, columns, dataset)
        mask = pa.array([pid is not None for pid in keep])
        completions = pa.table({
            "problem_id": [pid for pid in keep if pid is not None],
            "sample_idx": table.column("candidate_idx").filter(mask),
            "text": columns["text"].filter(mask),
            "source_is_correct": pa.array([ok for ok, pid in zip(columns["is_verified"], keep, strict=True)
                                           if pid is not None], pa.bool_())})

        warnings = []
        total = _meta_value(path, meta, "total_records", _int64, "an integer")
        if total is not None and total != table.num_rows:
            warnings.append(f"metadata total_records={total} but the file has {table.num_rows} rows")
        run_meta = {
            "name": path.stem, "source_uri": str(path.resolve()), "dataset": dataset, "approach": "bon",
            "model": meta.get("model"),
            "n": _meta_value(path, meta, "num_candidates", _int64, "an integer") or max(columns["candidate_idx"]) + 1,
            "temperature": _meta_value(path, meta, "temperature", _finite_float, "a finite number"),
            "max_tokens": _meta_value(path, meta, "max_tokens", _int64, "an integer"),
            "notes": meta.get("notes"), "config": meta,
            "created_at": _meta_value(path, meta, "generated_at", _parse_time, "an ISO timestamp"),
        }
        identity = {"sha256": content_hash(path), "dataset": dataset, "model": run_meta["model"]}
        if run_meta["created_at"] is None:
            del run_meta["created_at"]

        def batches():
            yield "completions", completions

        return [RunData(identity=identity, meta=run_meta, problems=problems_table(problems), batches=batches,
                        skipped=skipped, warnings=warnings)]


READER = BonParquetReader()
