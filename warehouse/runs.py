"""The one run writer: run ids, the claim that makes each run single-writer, the lifecycle
running → complete | failed, and the resumable keyed writer every job and reader uses.

A run's status is an append-only series of rows in the `runs` table (the `lake.runs` view keeps
the latest). Every way of writing a run goes through this module, so its guarantees hold for all:

- **One writer per run.** A writer first claims the run (`warehouse.claims`: an exclusive create
  that works on a shared filesystem); a second writer of the same run waits for the claim or says
  who holds it. Every check of what is already written happens under the claim.
- **Nothing partial marked complete.** `running` is written first, the parts next, `complete` last;
  an exception marks the run `failed` with the (redacted) error.
- **Same source, same run.** Ids are hashes of what identifies the source, so writing it again
  finds the same run: `write_whole_run` leaves a complete run alone and redoes an incomplete one;
  `write_in_parts` resumes one, item by item.
- **One part naming scheme** (`warehouse.lake.part_name`): parts named by the keys they hold.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Hashable, Iterable, Iterator, Sequence

from warehouse.catalog import memory_connection
from warehouse.claims import claim
from warehouse.errors import RunNotFound
from warehouse.home import Home
from warehouse.lake import drop_run_parts, ensure_lake, list_parts, tagged_parts, to_arrow, write_part
from warehouse.tables import RUNS

RUNNING, COMPLETE, FAILED = "running", "complete", "failed"
_JSON_FIELDS = ("config", "decoder_params", "versions")


def derive_run_id(*identity: Any) -> str:
    """A stable 16-hex id from whatever identifies the source (config, repo + config + revision, hash)."""
    blob = json.dumps(identity, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def this_writer() -> str:
    """Who is writing: `host:pid`, recorded on every status event of a run."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _json_text(value: Any) -> str:
    """A JSON field as stored: text (its credentials are masked with the whole row, in `_row`)."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _row(meta: dict[str, Any], status: str, error: str | None = None) -> dict[str, Any]:
    from warehouse.redact import redact

    row = {k: v for k, v in meta.items() if k in RUNS.schema.names}
    for key in _JSON_FIELDS:
        if key in row and row[key] is not None:
            row[key] = _json_text(row[key])
    row.update(status=status, updated_at=_now(), error=error, writer=this_writer())
    row.setdefault("created_at", row["updated_at"])
    return redact(row)  # every text field: the config, the error, a source_uri or name


@dataclass
class RunHandle:
    """What a writer holds while a run is open: its id and where to put parts."""

    home: Home
    run_id: str
    meta: dict[str, Any] = field(default_factory=dict)

    def write(self, table: str, data: Any, keys: Iterable[Hashable] | None = None, tag: str | None = None):
        """Write one part of the run (`keys` name it: see `warehouse.lake.part_name`)."""
        return write_part(self.home, table, data, run_id=self.run_id, keys=keys, tag=tag)

    def mark(self, status: str, error: BaseException | str | None = None) -> None:
        """Record the run's state (running, complete, failed with the error) as a new runs event."""
        if isinstance(error, BaseException):
            error = f"{type(error).__name__}: {error}"[:2000]
        row = _row(self.meta, status, error)
        self.meta.setdefault("created_at", row["created_at"])  # the first event's time, kept by later ones
        write_part(self.home, "runs", [row], run_id=self.run_id)


def get_run(home: Home, run_id: str) -> dict[str, Any] | None:
    """The latest state of a run, read from the lake (None when it was never written)."""
    if not list_parts(home, "runs", run_id):
        return None
    con = memory_connection(home)
    try:
        rows = con.sql("select * from lake.runs where run_id = ?", params=[run_id]).to_arrow_table().to_pylist()
    finally:
        con.close()
    return rows[0] if rows else None


def claim_run(home: Home, run_id: str, scope: str | None = None, *, wait_seconds: float = 0.0,
              on_wait: Callable[[str], None] | None = None):
    """The claim on a run (or on one `scope` of it, such as a shard), as a context manager."""
    label = f"run {run_id}" + (f" ({scope})" if scope else "")
    return claim(home, run_id + (f".{scope}" if scope else ""), label=label, wait_seconds=wait_seconds,
                 on_wait=on_wait)


@contextmanager
def _lifecycle(home: Home, meta: dict[str, Any], previous: dict[str, Any] | None) -> Iterator[RunHandle]:
    """Mark the run `running`, yield its handle, then mark it `complete` (or `failed`)."""
    meta = dict(meta)
    if previous is not None:
        meta.setdefault("created_at", previous["created_at"])
    handle = RunHandle(home, meta["run_id"], meta)
    handle.mark(RUNNING)
    try:
        yield handle
    except BaseException as exc:
        handle.mark(FAILED, exc)
        raise
    handle.mark(COMPLETE)


@contextmanager
def open_run(home: Home, meta: dict[str, Any], *, wait_seconds: float = 0.0) -> Iterator[RunHandle]:
    """Claim the run, mark it `running`, yield a handle for its parts, then `complete` (or
    `failed`). Parts written before are kept: this adds to a run (`write_whole_run` redoes one)."""
    home.ensure_writable()
    with claim_run(home, meta["run_id"], wait_seconds=wait_seconds):
        with _lifecycle(home, meta, get_run(home, meta["run_id"])) as handle:
            yield handle


def write_whole_run(home: Home, meta: dict[str, Any], fill: Callable[[RunHandle], None], *,
                    wait_seconds: float = 3600.0, on_wait: Callable[[str], None] | None = None) -> bool:
    """Write a run that is written in one go (an ingested source, a simulated spec), unless it is
    already complete: False then. Under the run's claim, an incomplete run's parts are removed,
    then `fill(handle)` writes the parts between `running` and `complete`. A writer arriving while
    another writes the same run waits up to `wait_seconds` and then finds it complete."""
    home.ensure_writable()
    with claim_run(home, meta["run_id"], wait_seconds=wait_seconds, on_wait=on_wait):
        previous = get_run(home, meta["run_id"])
        if previous is not None and previous["status"] == COMPLETE:
            return False
        if previous is not None:
            drop_run_parts(home, meta["run_id"])
        with _lifecycle(home, meta, previous) as handle:
            fill(handle)
    return True


def drop_run(home: Home, run_id: str) -> int:
    """Remove every part of a run (count files); refused while a writer holds the run."""
    with claim_run(home, run_id):
        return drop_run_parts(home, run_id)


@dataclass(frozen=True)
class Shard:
    """This process's share of a run's items: those whose index mod `count` is `index`."""

    index: int = 0
    count: int = 1

    def take(self, items: Sequence[Any]) -> list[Any]:
        return [item for i, item in enumerate(items) if i % self.count == self.index]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def _keys_in(path, column: str) -> set:
    import pyarrow.parquet as pq

    return set(pq.read_table(path, columns=[column]).column(column).unique().to_pylist())


def done_keys(home: Home, run_id: str, marker: str, column: str, tag: str | None = None) -> set:
    """The keys present in the run's parts of the marker table (only those written with `tag`)."""
    paths = list_parts(home, marker, run_id) if tag is None else tagged_parts(home, marker, run_id, tag)
    done: set = set()
    for path in paths:
        done |= _keys_in(path, column)
    return done


def drop_orphans(home: Home, run_id: str, marker: str, tables: Sequence[str], column: str, mine: set) -> int:
    """Delete parts of `tables` that have no marker part of the same name and hold only keys in `mine`."""
    marked = {path.name for path in list_parts(home, marker, run_id)}
    removed = 0
    for table in tables:
        for path in list_parts(home, table, run_id):
            if path.name not in marked and _keys_in(path, column) <= mine:
                path.unlink()
                removed += 1
    return removed


@dataclass
class Outcome:
    """What one invocation of `write_in_parts` did to a run."""

    run_id: str
    status: str  # the run's status afterwards
    already_complete: bool = False
    keys_total: int = 0
    keys_done_before: int = 0  # of this shard's keys
    keys_written: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    orphans_removed: int = 0


def write_in_parts(home: Home, meta: dict[str, Any], keys: Sequence[Hashable], *, shard: Shard, part_size: int,
                   marker: str, key_column: str, tables: Sequence[str],
                   work: Callable[[list], dict[str, Any]], on_start: Callable[[list], None] | None = None,
                   wait_seconds: float = 0.0) -> Outcome:
    """Write this shard's missing keys of the run `meta['run_id']`, resumably, in parts.

    Items are named by key (problem ids, document ids); a marker table says an item is done: a
    batch writes its other tables first and its marker part last, each part atomically, all named
    from the batch's keys, so a key is done exactly when all its rows are in place. A crash (even
    kill -9) in between leaves parts without a marker twin, which the next attempt deletes (only
    those holding this shard's keys alone) and redoes: nothing lost, nothing written twice.

    The claim is per shard: shards of one run write the same lake without talking to each other,
    and the one that finds every key of the run done marks it `complete` (an earlier one leaves it
    `running`). `work(batch)` returns {table: rows}; the marker rows must carry every key of the
    batch in `key_column`; `tables` are the other tables it may return. `on_start(todo)` hears
    which keys this invocation will do (to load a model, start a progress bar).
    """
    run_id = meta["run_id"]
    home.ensure_writable()
    ensure_lake(home)
    with claim_run(home, run_id, f"shard{shard.index}of{shard.count}", wait_seconds=wait_seconds):
        previous = get_run(home, run_id)
        outcome = Outcome(run_id, previous["status"] if previous else RUNNING, keys_total=len(keys))
        if previous is not None and previous["status"] == COMPLETE:
            outcome.already_complete = True
            return outcome
        mine = shard.take(list(keys))
        done = done_keys(home, run_id, marker, key_column)
        outcome.keys_done_before = sum(1 for k in mine if k in done)
        todo = [k for k in mine if k not in done]
        outcome.orphans_removed = drop_orphans(home, run_id, marker, tables, key_column, set(todo))
        handle = RunHandle(home, run_id, dict(meta))
        if previous is not None:
            handle.meta.setdefault("created_at", previous["created_at"])
        if on_start is not None:
            on_start(todo)  # before the run is marked: a model that fails to load leaves no trace
        handle.mark(RUNNING)
        try:
            for start in range(0, len(todo), part_size):
                batch = todo[start:start + part_size]
                _write_batch(handle, batch, work(batch), marker, key_column, tables, outcome)
        except BaseException as exc:
            handle.mark(FAILED, exc)
            raise
        if set(keys) <= done_keys(home, run_id, marker, key_column):
            handle.mark(COMPLETE)
            outcome.status = COMPLETE
        else:
            outcome.status = RUNNING
        return outcome


def _write_batch(handle: RunHandle, batch: list, data: dict[str, Any], marker: str, key_column: str,
                 tables: Sequence[str], outcome: Outcome) -> None:
    unknown = set(data) - set(tables) - {marker}
    if unknown:
        raise ValueError(f"a job returned rows for {sorted(unknown)}, which it did not declare")
    marks = to_arrow(data.get(marker, []))
    if marks.num_rows == 0 or set(marks.column(key_column).to_pylist()) != set(batch):
        raise ValueError(f"the {marker} rows of a part must carry exactly its keys in {key_column}")
    for table in (*tables, marker):  # the marker last: it says the batch is done
        if table in data:
            rows = marks if table == marker else to_arrow(data[table])
            if handle.write(table, rows, keys=batch) is not None:
                outcome.rows[table] = outcome.rows.get(table, 0) + rows.num_rows
    outcome.keys_written += len(batch)


def resolve_run(home: Home, ref: str) -> str:
    """A run id from an exact id, else an exact run name, else a unique id prefix."""
    con = memory_connection(home)
    try:
        rows = con.sql("select run_id, name from lake.runs").fetchall()
    finally:
        con.close()
    for matches in ([i for i, _ in rows if i == ref], [i for i, name in rows if name == ref],
                    [i for i, _ in rows if i.startswith(ref)]):
        ids = sorted(set(matches))
        if len(ids) == 1:
            return ids[0]
        if ids:
            raise RunNotFound(f"{ref!r} matches {len(ids)} runs ({', '.join(ids[:5])}…); give more of the id")
    raise RunNotFound(f"no run matches {ref!r}; `ttsw runs list` shows the runs")
