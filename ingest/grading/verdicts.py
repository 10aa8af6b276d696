"""Grading step 2: verify each distinct (gold_key, answer_key) pair once, and cache the verdict.

The pairs come from `answers` (of the chosen runs); those that already have a settled verdict
for this grader and grader version are skipped, whichever run they first came from. A verdict
is settled unless it is a `timeout` reached under a shorter limit than today's: each verdict
records the hard limit it ran under (`timeout_s`), and `ttsw grade --timeout` longer than that
tries the pair again (the newer verdict wins in `lake.verdicts`). A grader version change
(`GRADER_REVISION`) retries everything, timeouts included.

The rest go through a `HardTimeoutPool`, except pairs with a key past `MAX_ANSWER_CHARS`, which
get the verdict `too_long` at once, unparsed. A pair whose grader raises gets `error`; neither
stops the others. Verdicts are written in parts as they complete (every `FLUSH_ROWS` verdicts or
`FLUSH_SECONDS`), so an interrupted run keeps the work it finished.

`verify_pairs` is the mechanism itself, for any grader name: the clustering step caches its
pairwise comparisons through it under `ingest.grading.clusters.PAIR_GRADER`.
"""

from __future__ import annotations

import time
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Sequence

from ingest.grading.normalize import too_long
from ingest.grading.pool import DONE, TIMED_OUT, HardTimeoutPool, Outcome
from ingest.grading.progress import progress_bar
from ingest.grading.verify import (ERROR, GRADER, GRADER_VERSION, PARSE_ERROR, TIMEOUT, TOO_LONG,
                                   verify_pair)
from warehouse.catalog import memory_connection
from warehouse.home import Home
from warehouse.lake import write_part

FLUSH_ROWS = 2_000
FLUSH_SECONDS = 10.0

# The verdicts of $grader at $version that a grade under a $timeout-second limit keeps.
SETTLED_VERDICTS = f"""
    select gold_key, answer_key, is_correct, status from lake.verdicts
    where grader = $grader and grader_version = $version
      and not (status = '{TIMEOUT}' and coalesce(timeout_s, 0) < $timeout)
"""

_PAIRS = f"""
    with pairs as (
        select distinct gold_key, answer_key
        from lake.answers
        where gold_key is not null and answer_key is not null
          and ($runs is null or list_contains($runs, run_id))
    ), known as ({SETTLED_VERDICTS})
    select p.gold_key, p.answer_key, k.gold_key is not null as cached
    from pairs p left join known k using (gold_key, answer_key)
    order by p.gold_key, p.answer_key
"""


@dataclass
class VerificationStats:
    pairs: int = 0
    verified: int = 0
    correct: int = 0
    timeouts: int = 0
    parse_errors: int = 0
    too_long: int = 0
    errors: int = 0

    @property
    def cached(self) -> int:
        return self.pairs - self.verified


def settled_params(grader: str, timeout: float) -> dict[str, Any]:
    """The parameters of `SETTLED_VERDICTS`."""
    return {"grader": grader, "version": GRADER_VERSION, "timeout": float(timeout)}


def pending_pairs(home: Home, runs: Sequence[str] | None = None, *,
                  timeout: float) -> tuple[list[tuple[str, str]], int]:
    """(pairs without a settled verdict of the current grader version, number of distinct pairs)."""
    con = memory_connection(home)
    try:
        table = con.sql(_PAIRS, params={"runs": list(runs) if runs else None,
                                        **settled_params(GRADER, timeout)}).to_arrow_table()
    finally:
        con.close()
    rows = table.to_pylist()
    return [(r["gold_key"], r["answer_key"]) for r in rows if not r["cached"]], len(rows)


def _verdict(outcome: Outcome, grader: str, timeout: float) -> dict[str, Any]:
    if outcome.state == DONE:
        is_correct, status = outcome.result
    else:
        is_correct, status = False, TIMEOUT if outcome.state == TIMED_OUT else ERROR
    gold_key, key = outcome.item
    return {"gold_key": gold_key, "answer_key": key, "grader": grader, "grader_version": GRADER_VERSION,
            "is_correct": is_correct, "status": status, "seconds": outcome.seconds, "timeout_s": float(timeout),
            "graded_at": datetime.now(timezone.utc)}


def _outcomes(todo: Sequence[tuple[str, str]], workers: int, timeout: float):
    """An Outcome per pair: `too_long` ones at once, the others from the pool."""
    parseable = []
    for pair in todo:
        if any(too_long(key) for key in pair):
            yield Outcome(pair, DONE, (False, TOO_LONG), 0.0)
        else:
            parseable.append(pair)
    if not parseable:
        return
    with HardTimeoutPool(verify_pair, workers=min(workers, len(parseable)), timeout=timeout,
                         warmup=("1", "1"), preload=["ingest.grading.verify"]) as pool:
        yield from pool.imap_unordered(parseable)


def verify_pairs(home: Home, todo: Sequence[tuple[str, str]], stats: VerificationStats, *, grader: str,
                 workers: int, timeout: float, progress: bool | None = None,
                 desc: str = "verify") -> dict[tuple[str, str], bool]:
    """Verify `todo` (first key as gold) under `grader`, write the verdicts, count them in `stats`;
    return is_correct per pair."""
    results: dict[tuple[str, str], bool] = {}
    if not todo:
        return results
    buffer: list[dict[str, Any]] = []
    flushed = time.monotonic()
    try:
        with progress_bar(len(todo), desc, "pair", progress) as bar, \
                closing(_outcomes(todo, workers, timeout)) as outcomes:
            for outcome in outcomes:
                row = _verdict(outcome, grader, timeout)
                buffer.append(row)
                results[outcome.item] = row["is_correct"]
                _count(stats, row)
                bar.update()
                if len(buffer) >= FLUSH_ROWS or time.monotonic() - flushed >= FLUSH_SECONDS:
                    write_part(home, "verdicts", buffer)
                    buffer, flushed = [], time.monotonic()
    finally:
        write_part(home, "verdicts", buffer)
    return results


def verify_new_pairs(home: Home, runs: Sequence[str] | None = None, *, workers: int, timeout: float,
                     progress: bool | None = None) -> VerificationStats:
    """Verify the pairs of `runs` (default all) that have no settled verdict yet; write their verdicts."""
    todo, total = pending_pairs(home, runs, timeout=timeout)
    stats = VerificationStats(pairs=total)
    verify_pairs(home, todo, stats, grader=GRADER, workers=workers, timeout=timeout, progress=progress)
    return stats


def _count(stats: VerificationStats, row: dict[str, Any]) -> None:
    stats.verified += 1
    stats.correct += row["is_correct"]
    stats.timeouts += row["status"] == TIMEOUT
    stats.parse_errors += row["status"] == PARSE_ERROR
    stats.too_long += row["status"] == TOO_LONG
    stats.errors += row["status"] == ERROR
