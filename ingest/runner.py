"""The ingest runner: read a source with its reader and write each run it holds into the lake.

One mechanism for every format. A run's id is the hash of (format, the reader's identity of the
source), so ingesting the same source again finds the same run: a complete run is left alone, an
incomplete one (a crash, bad input) is discarded and redone. Runs are written by the one run
writer (`warehouse.runs.write_whole_run`): two ingests of the same source at once never both
write it (the second waits for the first and finds the run complete), and a reader that raises
leaves its run `failed`, never a partial run marked complete.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.compute as pc

from ingest.metadata import apply_given, missing_warning, record_provenance
from ingest.readers import get_reader, route
from ingest.readers.base import Reader, RunData, SourceError
from warehouse.errors import ContractError
from warehouse.home import Home
from warehouse.lake import conform, content_digest, ensure_lake, to_arrow, write_part
from warehouse.runs import derive_run_id, write_whole_run
from warehouse.tables import get_table


@dataclass
class IngestSummary:
    written: list[str] = field(default_factory=list)     # run names written now
    unchanged: list[str] = field(default_factory=list)   # run names already complete
    failed: list[str] = field(default_factory=list)      # "name: error"
    rows: Counter = field(default_factory=Counter)        # table -> rows written
    skipped: Counter = field(default_factory=Counter)     # reason -> rows skipped
    warnings: list[str] = field(default_factory=list)
    passed_over: list[str] = field(default_factory=list)  # files in a mixed folder no reader knows
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [f"runs written: {len(self.written)}, already complete: {len(self.unchanged)}"
               + (f", failed: {len(self.failed)}" if self.failed else "") + f" ({self.seconds:.1f} s)"]
        out += [f"  {table}: {rows:,} rows" for table, rows in sorted(self.rows.items())]
        out += [f"  skipped {count:,} rows: {reason}" for reason, count in self.skipped.most_common()]
        out += [f"  warning: {w}" for w in self.warnings]
        if self.passed_over:
            shown = ", ".join(self.passed_over[:5]) + (f" and {len(self.passed_over) - 5} more"
                                                       if len(self.passed_over) > 5 else "")
            out.append(f"  passed over {len(self.passed_over)} file(s) of no known format: {shown}")
        out += [f"  failed: {f}" for f in self.failed]
        return out


def with_run_id(arrow: pa.Table, run_id: str, readers_id: str) -> pa.Table:
    """Readers need not know the run id (the runner derives it): fill it in where it is missing, and
    where a reader wrote the id of its own identity, which given metadata (--meta) changes."""
    column = pa.repeat(pa.scalar(run_id, pa.string()), arrow.num_rows)
    if "run_id" not in arrow.column_names:
        return arrow.append_column("run_id", column)
    if run_id != readers_id and pc.all(pc.equal(arrow["run_id"], readers_id)).as_py() is not False:
        return arrow.set_column(arrow.column_names.index("run_id"), "run_id", column)
    return arrow


def write_run(home: Home, reader: Reader, run: RunData, summary: IngestSummary, progress=None,
              given: dict[str, Any] | None = None) -> None:
    """Write one run; `given` holds the user's values for columns the source lacks (`ingest.metadata`).
    Given values enter the run's identity: the same source with other metadata is another run."""
    if given:
        apply_given(run, given, run.meta.get("source_uri") or run.meta.get("name") or reader.name)
    record_provenance(run)
    readers_id = derive_run_id(reader.name, run.identity)
    run_id = derive_run_id(reader.name, {**run.identity, "given": given}) if given else readers_id
    meta = {"source": "imported", "source_format": reader.name, **run.meta, "run_id": run_id}
    name = meta.setdefault("name", run_id)
    summary.skipped.update(run.skipped)  # skips counted while listing the source's runs
    run.skipped.clear()
    counts = Counter()

    def fill(handle) -> None:
        if run.problems is not None and run.problems.num_rows:
            problems = conform(get_table("problems"), run.problems)
            write_part(home, "problems", problems, keys=[content_digest(problems)])
        batches = Counter()  # parts named by table and batch number: a redo replaces, never adds
        for table, rows in run.batches():
            contract = get_table(table)
            try:
                arrow = conform(contract, with_run_id(to_arrow(rows), run_id, readers_id) if contract.per_run else rows)
            except (ContractError, pa.ArrowException, OverflowError, UnicodeError, TypeError, ValueError) as exc:
                raise SourceError(run.meta.get("source_uri") or name, f"a value does not fit table {table}'s "
                                  f"columns: {str(exc).splitlines()[0]}") from None
            keys = [table, batches[table]] if contract.per_run else [content_digest(arrow)]
            handle.write(table, arrow, keys=keys)
            batches[table] += 1
            counts[table] += arrow.num_rows
            if progress is not None:
                progress.update(arrow.num_rows)

    wait = getattr(progress, "write", None)
    if not write_whole_run(home, meta, fill, on_wait=wait):
        summary.unchanged.append(name)
        return
    summary.rows.update(counts)
    samples = counts["completions"]
    if samples and (line := missing_warning(run)) is not None:  # what the sampling marts group by
        run.warnings.append(line)
    summary.written.append(name)
    summary.skipped.update(run.skipped)  # skips counted while writing
    summary.warnings.extend(f"{name}: {w}" for w in run.warnings)


def ingest(home: Home, sources: Iterable[str], *, fmt: str | None = None, options: dict[str, Any] | None = None,
           progress: bool = True, keep_going: bool = False, given: dict[str, Any] | None = None) -> IngestSummary:
    """Ingest every run of every source; with `keep_going`, a run that fails does not stop the rest.
    `given`: runs columns the user states (`--meta`), merged into every run (`ingest.metadata`)."""
    from tqdm import tqdm

    started = time.perf_counter()
    options = options or {}
    # The Python API also takes the shorthands as options, as the CLI's --dataset/--model/--prm-model.
    given = {**{k: options[k] for k in ("dataset", "model", "prm_model") if options.get(k)}, **(given or {})}
    # Readers file problems under the dataset and tag PRM rows with the PRM: those two reach them as options.
    options = {**options, **{k: given[k] for k in ("dataset", "prm_model") if k in given}}
    summary = IngestSummary()
    home.ensure_writable()
    ensure_lake(home)
    with tqdm(unit="row", unit_scale=True, disable=not progress, dynamic_ncols=True) as bar:
        for given_source in sources:
            try:
                if fmt:
                    pairs = [(given_source, get_reader(fmt))]
                else:
                    pairs, passed_over = route(given_source)
                    summary.passed_over += passed_over
            except Exception as exc:
                if not keep_going:
                    raise
                summary.failed.append(f"{given_source}: {exc}")
                continue
            for source, reader in pairs:
                _ingest_source(home, source, reader, options, given, summary, bar, keep_going)
    summary.seconds = time.perf_counter() - started
    return summary


def _ingest_source(home: Home, source: str, reader: Reader, options: dict[str, Any], given: dict[str, Any],
                   summary: IngestSummary, bar, keep_going: bool) -> None:
    """Every run of one source; a failure stops the source unless `keep_going`."""
    try:
        runs = iter(reader.read(source, options))
    except Exception as exc:
        if not keep_going:
            raise
        summary.failed.append(f"{source}: {exc}")
        return
    while True:
        name, run = source, None
        try:
            run = next(runs, None)
            if run is None:
                break
            if options.get("category"):
                run.meta.setdefault("category", options["category"])
            name = run.meta.get("name", source)
            bar.set_description(str(name)[-60:])
            write_run(home, reader, run, summary, bar, given)
        except Exception as exc:
            if not keep_going:
                raise
            summary.failed.append(f"{name}: {exc}")
            if run is None:  # the source itself could not be read: nothing more from it
                break
