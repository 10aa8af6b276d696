"""What every reader of an outside format hands to the ingest runner: plain data, no framework.

A reader turns a source (a path, a folder, an `hf://` repo) into `RunData` items, one per run it
finds. Each carries the run's descriptive columns, the identity the run id is derived from (so
re-ingesting the same source finds the same run), the problems it refers to, and a generator of
(table, rows) batches that the runner writes as parts. Readers never write to the lake themselves.

A reader that meets bad input either raises `SourceError` (file, line or row, field, what is wrong:
the run is marked failed, nothing is marked complete) or, where skipping is the better answer,
counts the skip in `RunData.skipped` with a reason the summary prints.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Protocol

import pyarrow as pa

from warehouse.errors import WarehouseError

Batch = tuple[str, Any]  # (lake table name, rows: Arrow table, Polars frame, dict of columns or list of dicts)


class SourceError(WarehouseError, ValueError):
    """Bad input: says which file, which line or row, which field, and what is wrong (printed as one line)."""

    def __init__(self, path: Any, message: str, *, line: int | None = None, row: int | None = None,
                 field: str | None = None):
        where = str(path)
        if line is not None:
            where += f":{line}"
        elif row is not None:
            where += f" (row {row})"
        if field is not None:
            where += f": field {field!r}"
        super().__init__(f"{where}: {message}")
        self.path, self.line, self.row, self.field = path, line, row, field


@dataclass
class RunData:
    """One run found in a source, ready to be written."""

    identity: dict[str, Any]                 # what identifies the source; the run id is its hash
    meta: dict[str, Any]                     # columns of the `runs` table (source, source_format, model, …)
    problems: pa.Table | None                # rows of the `problems` table the run refers to
    batches: Callable[[], Iterator[Batch]]   # yields (table, rows) to write; called once; rows of per-run
                                             # tables may omit run_id (the runner fills it in)
    skipped: Counter = field(default_factory=Counter)  # reason -> rows skipped, filled while batches run
    warnings: list[str] = field(default_factory=list)
    provenance: dict[str, str] = field(default_factory=dict)  # runs column -> where its value came from
    guessed: set[str] = field(default_factory=set)  # columns inferred from names, which a given value may replace


@dataclass(frozen=True)
class RunListing:
    """One line of `ttsw ingest --list`: what a source holds, before anything is read in full."""

    source: str
    name: str
    details: dict[str, Any]


class Reader(Protocol):
    """A format: knows whether a source is its own, what it holds, and how to read it."""

    name: str          # short format name used by --format, e.g. "search-and-learn"
    description: str   # one line for `ttsw ingest --help`

    def sniff(self, source: str) -> bool:
        """Cheap check (file name, first bytes, a folder's files) that `source` is in this format."""

    def list_runs(self, source: str, options: dict[str, Any]) -> Iterable[RunListing]:
        """The runs `read` would produce, without reading their rows."""

    def read(self, source: str, options: dict[str, Any]) -> Iterable[RunData]:
        """The runs in `source`, filtered by `options` (config, seed, temperature, …)."""
