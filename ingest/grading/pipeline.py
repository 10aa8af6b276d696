"""Grading, end to end: extract new answers, verify new pairs, cluster new answers.

Each step reads what the lake already holds and does only the missing work, so `grade` can run
after every run lands, and a second call right after the first does nothing.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Sequence

from ingest.grading.answers import ExtractionStats, extract_new_answers
from ingest.grading.clusters import DEFAULT_TOP_K, ClusterStats, cluster_new_answers
from ingest.grading.extract import Extractor
from ingest.grading.report import status_counts
from ingest.grading.verdicts import VerificationStats, verify_new_pairs
from warehouse.home import Home
from warehouse.lake import ensure_lake
from warehouse.locks import exclusive

DEFAULT_TIMEOUT = 5.0


def default_workers() -> int:
    """The CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass
class GradeSummary:
    extraction: ExtractionStats
    verification: VerificationStats
    clustering: ClusterStats
    statuses: dict[str, int]  # completions of the graded runs (all of them, not only new) per status
    seconds: float

    @property
    def clusters(self) -> int:
        return self.clustering.written

    def line(self) -> str:
        e, v, c = self.extraction, self.verification, self.clustering
        statuses = ", ".join(f"{status} {n:,}" for status, n in self.statuses.items()) or "none"
        return (f"graded {e.completions:,} completions in {_plural(e.runs, 'run')} "
                f"({e.without_answer:,} without an answer, {e.from_tail:,} found on the tail"
                + (f", {e.tail_timeouts:,} tail timeouts" if e.tail_timeouts else "") + "); "
                f"{v.pairs:,} distinct (gold, answer) pairs: {v.verified:,} verified now, {v.cached:,} cached, "
                f"{v.timeouts:,} timeouts, {v.parse_errors:,} parse errors"
                + (f", {v.too_long:,} too long" if v.too_long else "")
                + (f", {v.errors:,} grader errors" if v.errors else "")
                + f"; {self.clusters:,} new answer clusters ({c.pairs.pairs:,} answer pairs compared, "
                f"{c.pairs.verified:,} verified now); {self.seconds:.1f} s\n"
                f"completions by status: {statuses}")


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def grade(home: Home, runs: Sequence[str] | None = None, *, workers: int | None = None,
          timeout: float = DEFAULT_TIMEOUT, extractor: Extractor | None = None, top_k: int = DEFAULT_TOP_K,
          progress: bool | None = None) -> GradeSummary:
    """Grade every completion of `runs` (run ids; default all runs) that is not graded yet.

    `workers` processes (default: the usable cores) for tail extraction and verification, each
    item limited to `timeout` seconds; `extractor` forces one extractor (default: by dataset);
    `top_k` most frequent answers per problem are compared pairwise for clustering;
    `progress=None` shows bars only on a terminal.
    """
    started = time.perf_counter()
    ensure_lake(home)
    workers = workers or default_workers()
    with exclusive(home, "grade"):  # two graders would write the same samples' answers twice
        extraction = extract_new_answers(home, runs, extractor=extractor, workers=workers, timeout=timeout,
                                         progress=progress)
        verification = verify_new_pairs(home, runs, workers=workers, timeout=timeout, progress=progress)
        clustering = cluster_new_answers(home, runs, workers=workers, timeout=timeout, top_k=top_k,
                                         progress=progress)
    return GradeSummary(extraction, verification, clustering, status_counts(home, runs),
                        time.perf_counter() - started)
