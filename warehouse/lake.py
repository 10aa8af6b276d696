"""The lake: one folder of zstd Parquet part files per table, written atomically.

Layout: `lake/<table>/_schema.parquet` (zero rows, the table's full schema, so the DuckDB view
is typed even before any data lands) and, for per-run tables, `lake/<table>/run_id=<id>/part-*.parquet`;
tables shared by all runs (problems, verdicts, answer_clusters) keep their parts directly in
`lake/<table>/`. Every part also stores `run_id` as a column, so the folders serve layout and
`drop`, not typing.

A part is written under a temporary name in its final folder, flushed, and renamed into place:
readers never see half a file, and writers on many machines never write the same file.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Hashable, Iterable, Mapping

import pyarrow as pa
import pyarrow.parquet as pq

from warehouse.errors import ContractError, CorruptPart
from warehouse.home import Home
from warehouse.tables import TABLES, WRITER_VERSION, Table, get_table

SCHEMA_FILE = "_schema.parquet"
TMP_PREFIX = ".tmp-"
META_PREFIX = b"ttsw."


def conform(table: Table, data: Any) -> pa.Table:
    """Cast `data` (Arrow table, Polars frame, dict of columns or list of rows) to the contract."""
    arrow = to_arrow(data)
    unknown = [c for c in arrow.column_names if c not in table.schema.names]
    if unknown:
        raise ContractError(f"table {table.name!r} has no column(s) {unknown}; its columns are {table.columns}")
    columns = []
    for field in table.schema:
        if field.name in arrow.column_names:
            column = arrow.column(field.name)
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
                raise ContractError(
                    f"table {table.name!r}, column {field.name!r}: cannot store {column.type} as {field.type} ({exc})"
                ) from exc
        else:
            column = pa.nulls(arrow.num_rows, field.type)
        if field.name in table.required and column.null_count:
            raise ContractError(f"table {table.name!r}: column {field.name!r} must not be null "
                                f"({column.null_count} null of {arrow.num_rows} rows)")
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=table.schema)


def to_arrow(data: Any) -> pa.Table:
    """Any of the row shapes writers accept, as an Arrow table (no casting)."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    to_arrow = getattr(data, "to_arrow", None)  # polars DataFrame
    if callable(to_arrow):
        return to_arrow()
    if isinstance(data, Mapping):
        return pa.table(dict(data))
    if isinstance(data, list):
        return pa.Table.from_pylist(data)
    raise TypeError(f"cannot write {type(data).__name__} to the lake; pass an Arrow table, a Polars frame, "
                    "a dict of columns or a list of rows")


def run_dir(home: Home, table: str, run_id: str) -> Path:
    return home.table_dir(table) / f"run_id={run_id}"


def table_glob(home: Home, table: str) -> str:
    """The glob a reader uses: the schema file plus every part, at any depth."""
    return str(home.table_dir(table) / "**" / "*.parquet")


def _metadata(table: Table, run_id: str | None) -> dict[bytes, bytes]:
    meta = {
        b"ttsw.table": table.name.encode(),
        b"ttsw.schema_version": str(table.version).encode(),
        b"ttsw.writer_version": WRITER_VERSION.encode(),
    }
    if run_id is not None:
        meta[b"ttsw.run_id"] = run_id.encode()
    return meta


def _atomic_write(arrow: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary name must not end in .parquet, or a reader's glob could pick it up.
    tmp = path.parent / f"{TMP_PREFIX}{uuid.uuid4().hex}-{path.name}.partial"
    try:
        with open(tmp, "wb") as sink:
            pq.write_table(arrow, sink, compression="zstd")
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def ensure_schema_file(home: Home, table: Table) -> None:
    """Write `_schema.parquet` when it is missing or records another schema version."""
    path = home.table_dir(table.name) / SCHEMA_FILE
    if path.exists():
        try:
            meta = pq.read_schema(path).metadata or {}
            if meta.get(b"ttsw.schema_version") == str(table.version).encode():
                return
        except (pa.ArrowInvalid, OSError):
            pass  # a damaged schema file is simply rewritten
    empty = table.schema.empty_table().replace_schema_metadata(_metadata(table, None))
    _atomic_write(empty, path)


def ensure_lake(home: Home) -> None:
    home.ensure_writable()
    for table in TABLES.values():
        ensure_schema_file(home, table)


def part_name(keys: Iterable[Hashable] | None = None) -> str:
    """The one naming scheme of lake parts (the file is `part-<name>.parquet`).

    With `keys` (the items a part holds: problem ids, a chunk number, a content digest) the same
    keys give the same name whatever their order, so a redone batch replaces its own part instead
    of adding a second copy. Without keys the name is new and time-ordered to the microsecond:
    status events and the appends to shared tables, whose views keep the latest part's row.
    """
    if keys is None:
        return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"
    blob = "\x1f".join(sorted(map(str, keys)))
    return "k" + hashlib.sha256(blob.encode()).hexdigest()[:20]


def content_digest(arrow: pa.Table) -> str:
    """A digest of the rows themselves: as the keys of a shared table's part, writing the same rows
    again (a redone run, the same problems from another source) replaces one file with an identical one."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, arrow.schema) as writer:
        writer.write_table(arrow)
    return hashlib.sha256(sink.getvalue()).hexdigest()


def write_part(home: Home, table_name: str, data: Any, *, run_id: str | None = None,
               keys: Iterable[Hashable] | None = None, tag: str | None = None) -> Path | None:
    """Conform `data` to the table's contract and write it as one new part; None if no rows.

    Per-run tables need `run_id`, and every row must carry that id. `keys` name the part
    (`part_name`); `tag` is stored in the part's metadata, for a job that must find its own parts
    among others' in the same folder (`tagged_parts`).
    """
    table = get_table(table_name)
    arrow = conform(table, data)
    if arrow.num_rows == 0:
        return None
    ensure_schema_file(home, table)
    if table.per_run:
        if run_id is None:
            raise ContractError(f"table {table.name!r} is per run: pass run_id")
        ids = arrow.column("run_id").unique()
        if len(ids) != 1 or ids[0].as_py() != run_id:
            raise ContractError(f"table {table.name!r}: every row must carry run_id={run_id!r}, got {ids.to_pylist()[:5]}")
        folder = run_dir(home, table.name, run_id)
    else:
        folder = home.table_dir(table.name)
    path = folder / f"part-{part_name(keys)}.parquet"
    metadata = _metadata(table, run_id)
    if tag is not None:
        metadata[b"ttsw.tag"] = tag.encode()
    _atomic_write(arrow.replace_schema_metadata(metadata), path)
    return path


def list_parts(home: Home, table_name: str, run_id: str | None = None) -> list[Path]:
    root = run_dir(home, table_name, run_id) if run_id else home.table_dir(table_name)
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("part-*.parquet") if not p.name.startswith(TMP_PREFIX))


def part_metadata(path: Path) -> dict[str, str]:
    """The `ttsw.*` key-value metadata of a part file."""
    try:
        meta = pq.read_schema(path).metadata or {}
    except (pa.ArrowInvalid, OSError) as exc:
        raise CorruptPart(f"corrupt part file {path}: {exc}. Remove it (or the run: `ttsw runs drop`) and rewrite.") from exc
    return {k[len(META_PREFIX):].decode(): v.decode() for k, v in meta.items() if k.startswith(META_PREFIX)}


def tagged_parts(home: Home, table_name: str, run_id: str | None, tag: str) -> list[Path]:
    """The parts of a table (of one run) written with `tag`."""
    return [p for p in list_parts(home, table_name, run_id) if part_metadata(p).get("tag") == tag]


def check_parts(home: Home, tables: Iterable[str] | None = None) -> list[tuple[Path, str]]:
    """Read every part's footer; return (path, problem) for each that cannot be read."""
    bad = []
    for name in tables or TABLES:
        for path in [home.table_dir(name) / SCHEMA_FILE, *list_parts(home, name)]:
            if not path.exists():
                continue
            try:
                pq.read_metadata(path)
            except (pa.ArrowInvalid, OSError) as exc:
                bad.append((path, str(exc)))
    return bad


def drop_run_parts(home: Home, run_id: str) -> int:
    """Remove every part of a run from every per-run table (the runs table last); count files."""
    import shutil

    removed = 0
    order = [t for t in TABLES.values() if t.per_run and t.name != "runs"] + [TABLES["runs"]]
    for table in order:
        folder = run_dir(home, table.name, run_id)
        if folder.is_dir():
            removed += sum(1 for _ in folder.rglob("*.parquet"))
            shutil.rmtree(folder)
    return removed
