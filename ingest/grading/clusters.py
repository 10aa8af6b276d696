"""Grading step 3: give each distinct answer of a problem its `answer_clusters` row.

Clusters (version 2) group a problem's answer keys by pairwise equivalence, union-find style:

- Every key verified equal to the gold joins the gold cluster `gold:<gold_key>`, and only those.
- The other keys (every key, for a problem without a gold) are joined when they are equivalent
  to each other, so `0.5` and `\\frac{1}{2}` share a cluster when the gold is 2. Cheap first:
  two plain numbers are compared by value (`ingest.grading.numeric`), among all keys. Then
  math-verify compares each pair of the problem's `top_k` most frequent keys (frequency over
  all runs in the lake) that the numbers did not settle, in the hard-timeout pool; keys whose
  gold verdict timed out, failed to parse or was too long are never compared (they would time
  out again), nor are keys past `MAX_ANSWER_CHARS` of a problem without a gold.
- Pairwise results are cached in `verdicts` under the grader `PAIR_GRADER` ("math_verify-pair")
  and the current grader version, with `gold_key` = the smaller key and `answer_key` = the
  larger (compared in that order). The dbt models select verdicts by `var('grader')`, so these
  rows never count as correctness verdicts. A comparison that timed out is tried again under a
  longer `--timeout`, as gold verdicts are (`verdicts.SETTLED_VERDICTS`).

Incremental and stable: only keys without a row (for this grader version) are clustered, once
their gold verdict exists; rows already written never change, but for one case: a key whose
gold verdict became correct after its row was written (a timeout retried under a longer limit)
gets a new row in the gold cluster, which `lake.answer_clusters` takes as the latest. (A retried
key found wrong keeps the cluster it was given.) A new key joins the cluster of
the written keys it is equivalent to (the smallest cluster id, should it bridge two); keys new
together with no written equivalent are named by their smallest key. Rows carry the grader
`math_verify` (the correctness grader), as the dbt selection expects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Sequence

import pyarrow as pa

from ingest.grading.normalize import too_long
from ingest.grading.numeric import numeric_value, same_number
from ingest.grading.unionfind import UnionFind
from ingest.grading.verdicts import SETTLED_VERDICTS, VerificationStats, settled_params, verify_pairs
from ingest.grading.verify import GRADER, GRADER_VERSION, OK
from warehouse.catalog import memory_connection
from warehouse.home import Home
from warehouse.lake import write_part

GOLD_CLUSTER_PREFIX = "gold:"
PAIR_GRADER = GRADER + "-pair"
DEFAULT_TOP_K = 16

_PROBLEM_ANSWERS = f"""
    with counts as (
        select problem_id, answer_key, max(gold_key) as gold_key, count(*) as samples,
               bool_or($runs is null or list_contains($runs, run_id)) as in_runs
        from lake.answers
        where answer_key is not null
        group by problem_id, answer_key
    ), known as (
        select problem_id, answer_key, cluster_id from lake.answer_clusters
        where grader = $grader and grader_version = $version
    ), verdicts as (
        select gold_key, answer_key, is_correct, status from lake.verdicts
        where grader = $grader and grader_version = $version
    ), touched as (
        select distinct c.problem_id from counts c
        left join known k using (problem_id, answer_key)
        left join verdicts v using (gold_key, answer_key)
        where c.in_runs and (k.cluster_id is null or (v.is_correct and k.cluster_id <> '{GOLD_CLUSTER_PREFIX}' || c.gold_key))
    )
    select c.problem_id, c.answer_key, c.gold_key, c.samples, c.in_runs, k.cluster_id, v.is_correct, v.status
    from counts c
    semi join touched using (problem_id)
    left join known k using (problem_id, answer_key)
    left join verdicts v using (gold_key, answer_key)
    order by c.problem_id, c.samples desc, c.answer_key
"""

_CACHED_PAIRS = f"""
    select v.gold_key, v.answer_key, v.is_correct
    from ({SETTLED_VERDICTS}) v
    semi join wanted w on v.gold_key = w.first and v.answer_key = w.second
"""


@dataclass
class ClusterStats:
    written: int = 0
    pairs: VerificationStats = field(default_factory=VerificationStats)


@dataclass
class _Problem:
    problem_id: str
    gold_key: str | None
    rows: list[dict]  # by frequency, most frequent first

    def new_keys(self) -> list[dict]:
        """Keys to cluster now: in the runs and graded when there is a gold; without a row, or
        verified correct after a row outside the gold cluster was written."""
        return [r for r in self.rows if r["in_runs"] and (self.gold_key is None or r["is_correct"] is not None)
                and (r["cluster_id"] is None or (r["is_correct"] and r["cluster_id"] != self.gold_cluster))]

    @property
    def gold_cluster(self) -> str | None:
        return None if self.gold_key is None else GOLD_CLUSTER_PREFIX + self.gold_key

    def comparable(self) -> list[dict]:
        """Keys that may share a non-gold cluster: graded wrong with status ok (without a gold:
        all that are not too long)."""
        if self.gold_key is None:
            return [r for r in self.rows if not too_long(r["answer_key"])]
        return [r for r in self.rows if r["is_correct"] is False and r["status"] == OK]


def _compared_pairs(problem: _Problem, top_k: int) -> list[tuple[str, str]]:
    """The (smaller, larger) key pairs among the top-k comparable keys that math-verify must settle."""
    top = problem.comparable()[:top_k]
    pairs = []
    for a, b in combinations(top, 2):
        if a["cluster_id"] is not None and b["cluster_id"] is not None:
            continue  # both written: their clusters are settled
        values = numeric_value(a["answer_key"]), numeric_value(b["answer_key"])
        if None in values or same_number(*values) is None:
            pairs.append(tuple(sorted((a["answer_key"], b["answer_key"]))))
    return pairs


def _assign(problem: _Problem, equivalent: dict[tuple[str, str], bool], top_k: int) -> list[tuple[str, str]]:
    """(answer_key, cluster_id) for the problem's new keys."""
    comparable = problem.comparable()
    sets = UnionFind(r["answer_key"] for r in comparable)
    for row in comparable:
        if row["cluster_id"] is not None:
            sets.union(row["answer_key"], ("written", row["cluster_id"]))
    by_value: dict = {}
    for row in comparable:
        value = numeric_value(row["answer_key"])
        if value is not None:
            sets.union(by_value.setdefault(value, row["answer_key"]), row["answer_key"])
    top = [r["answer_key"] for r in comparable[:top_k]]
    for a, b in combinations(top, 2):
        if equivalent.get(tuple(sorted((a, b)))):
            sets.union(a, b)
    names = {}
    for members in sets.components().values():
        written = sorted(label[1] for label in members if isinstance(label, tuple))
        names.update({m: written[0] if written else min(k for k in members if isinstance(k, str))
                      for m in members if isinstance(m, str)})
    return [(r["answer_key"], problem.gold_cluster if r["is_correct"]
             else names.get(r["answer_key"], r["answer_key"])) for r in problem.new_keys()]


def _problems(home: Home, runs: Sequence[str] | None) -> list[_Problem]:
    con = memory_connection(home)
    try:
        rows = con.sql(_PROBLEM_ANSWERS, params={"runs": list(runs) if runs else None, "grader": GRADER,
                                                 "version": GRADER_VERSION}).to_arrow_table().to_pylist()
    finally:
        con.close()
    problems: dict[str, _Problem] = {}
    for row in rows:
        problem = problems.setdefault(row["problem_id"], _Problem(row["problem_id"], row["gold_key"], []))
        problem.rows.append(row)
    return list(problems.values())


def _cached(home: Home, pairs: list[tuple[str, str]], timeout: float) -> dict[tuple[str, str], bool]:
    con = memory_connection(home)
    try:
        con.register("wanted", pa.table({"first": [a for a, _ in pairs], "second": [b for _, b in pairs]},
                                        schema=pa.schema([("first", pa.string()), ("second", pa.string())])))
        rows = con.sql(_CACHED_PAIRS, params=settled_params(PAIR_GRADER, timeout)).fetchall()
    finally:
        con.close()
    return {(a, b): is_correct for a, b, is_correct in rows}


def cluster_new_answers(home: Home, runs: Sequence[str] | None = None, *, workers: int = 1, timeout: float = 5.0,
                        top_k: int = DEFAULT_TOP_K, progress: bool | None = None) -> ClusterStats:
    """Write `answer_clusters` rows for new answers of `runs` (default all)."""
    problems = _problems(home, runs)
    wanted = sorted({pair for problem in problems for pair in _compared_pairs(problem, top_k)})
    equivalent = _cached(home, wanted, timeout)
    stats = ClusterStats(pairs=VerificationStats(pairs=len(wanted)))
    equivalent.update(verify_pairs(home, [p for p in wanted if p not in equivalent], stats.pairs,
                                   grader=PAIR_GRADER, workers=workers, timeout=timeout, progress=progress,
                                   desc="cluster"))
    rows = [{"problem_id": p.problem_id, "answer_key": key, "cluster_id": cluster, "grader": GRADER,
             "grader_version": GRADER_VERSION}
            for p in problems for key, cluster in _assign(p, equivalent, top_k)]
    write_part(home, "answer_clusters", rows)
    stats.written = len(rows)
    return stats
