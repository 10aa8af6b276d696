"""Reading one data file of a config in row batches: Parquet, Arrow streams (`save_to_disk`), JSONL.

Memory stays bounded by the batch size: Parquet and Arrow files are read batch by batch, JSONL
line by line (through `jsonio`, the readers' one JSON layer). Whatever cannot be read becomes a
`SourceError` naming the file and the row or line.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pyarrow as pa

from ingest.readers.base import SourceError
from ingest.readers.jsonio import iter_jsonl

BATCH_ROWS = 64


@dataclass(frozen=True)
class DataFile:
    """One file of a config: what errors call it, how to get it onto disk, and what identifies its content."""

    label: str                           # a path, or hf://org/repo@revision/path
    fetch: Callable[[], Path]            # the local path (downloads a Hub file on first use)
    fingerprint: Callable[[], str]       # content hash (local files) or the Hub's blob id


def local_file(path: Path) -> DataFile:
    return DataFile(str(path), lambda: path, lambda: _local_fingerprint(path))


def _local_fingerprint(path: Path) -> str:
    try:
        return content_hash(path)
    except FileNotFoundError:
        raise SourceError(path, "file not found (its layout lists it: was the copy left incomplete?)") from None


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def column_names(file: DataFile) -> list[str]:
    """The columns of a file, from its schema (or the first JSONL record)."""
    path = file.fetch()
    _check_not_empty(file, path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.read_schema(path).names
        if suffix == ".arrow":
            with pa.ipc.open_stream(pa.memory_map(str(path))) as stream:
                return stream.schema.names
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceError(file.label, f"cannot read the file: {exc}") from exc
    for _, rows in _jsonl_batches(file, path):
        return list(rows[0]) if rows else []
    return []


def batches(file: DataFile) -> Iterator[tuple[int, list[dict]]]:
    """(index of the first row, rows as dicts) for each batch of the file."""
    path = file.fetch()
    _check_not_empty(file, path)
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".arrow"):
        yield from _arrow_batches(file, path, suffix)
    else:
        yield from _jsonl_batches(file, path)


def _check_not_empty(file: DataFile, path: Path) -> None:
    if not path.is_file():
        raise SourceError(file.label, "file not found")
    if path.stat().st_size == 0:
        raise SourceError(file.label, "empty file")


def _arrow_batches(file: DataFile, path: Path, suffix: str) -> Iterator[tuple[int, list[dict]]]:
    start = 0
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            source = pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS)
        else:
            source = pa.ipc.open_stream(pa.memory_map(str(path)))
        for batch in source:
            for offset in range(0, batch.num_rows, BATCH_ROWS):
                rows = batch.slice(offset, BATCH_ROWS).to_pylist()
                yield start, rows
                start += len(rows)
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(file.label, f"cannot read the file (truncated or not {suffix[1:]}?): {exc}",
                          row=start) from None
    except UnicodeDecodeError as exc:  # a string column holding bytes that are not UTF-8
        raise SourceError(file.label, f"a text value is not UTF-8 ({exc.reason})", row=start) from None


def _jsonl_batches(file: DataFile, path: Path) -> Iterator[tuple[int, list[dict]]]:
    rows: list[dict] = []
    start = 0
    for _, record in iter_jsonl(path, label=file.label):
        rows.append(record)
        if len(rows) == BATCH_ROWS:
            yield start, rows
            start, rows = start + len(rows), []
    if rows:
        yield start, rows
