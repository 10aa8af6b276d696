"""What the jobs that read an existing run share: finding the run, reading its completions in
problem batches, and writing their results into that run's folder of a table, resumably.

A scoring job (prm, embed) adds rows about a run that already exists (prm_scores, embeddings), so
its rows carry the scored run's run_id: the marts join them to that run's samples by run_id. It
therefore writes no `runs` row of its own and never changes the scored run's status. Resume works
per problem batch: each part is named from its tag and problem ids and carries the tag in its
metadata, where the tag is a hash of the job's identity (model, thresholds, markers ...); the
problems in parts carrying the tag are done. A part is written atomically in one file, so there
is nothing half-written to clean up, and a claim per (run, tag, shard) keeps two invocations of
the same job from writing the same batches.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from warehouse.catalog import memory_connection
from warehouse.errors import RunNotFound
from warehouse.home import Home
from warehouse.lake import list_parts, write_part
from warehouse.runs import Shard, claim_run, done_keys, get_run, resolve_run


def find_run(home: Home, ref: str) -> dict[str, Any]:
    """The run record for an id, name or id prefix; ConfigError when it does not exist or has no
    completions."""
    from generation.config import ConfigError

    try:
        run_id = resolve_run(home.require_lake(), ref)
    except RunNotFound as exc:
        raise ConfigError(f"--run: {exc}") from None
    record = get_run(home, run_id)
    if record is None or not list_parts(home, "completions", run_id):
        raise ConfigError(f"--run {ref}: run {run_id} has no completions to read")
    return record


def tag_of(job: str, identity: dict[str, Any]) -> str:
    """A short hash naming one configuration of a job on one run (the prefix of its part names)."""
    blob = json.dumps({"job": job, **identity}, sort_keys=True, default=str)
    return f"{job}-{hashlib.sha256(blob.encode()).hexdigest()[:10]}"


def problem_ids(home: Home, run_id: str) -> list[str]:
    """The run's problem ids that have completions, sorted (the keys the jobs work through)."""
    con = memory_connection(home)
    try:
        rows = con.sql("select distinct problem_id from lake.completions where run_id = ? order by problem_id",
                       params=[run_id]).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def read_completions(home: Home, run_id: str, problems: Sequence[str]) -> list[dict[str, Any]]:
    """The completions of these problems (with the problem text; null when the problems table
    lacks it), ordered by problem and sample."""
    con = memory_connection(home)
    try:
        has_problems = bool(list_parts(home, "problems"))
        problem = "p.problem" if has_problems else "cast(null as varchar)"
        join = "left join lake.problems p using (problem_id)" if has_problems else ""
        query = (f"select c.problem_id, c.sample_idx, c.text, {problem} as problem from lake.completions c "
                 f"{join} where c.run_id = ? and list_contains(?, c.problem_id) order by c.problem_id, c.sample_idx")
        return con.sql(query, params=[run_id, list(problems)]).to_arrow_table().to_pylist()
    finally:
        con.close()


@dataclass
class ScoreOutcome:
    """What one invocation of a scoring job did."""

    run_id: str
    problems_total: int = 0
    problems_done_before: int = 0  # of this shard's
    problems_written: int = 0
    rows: int = 0
    parts: list[str] = field(default_factory=list)


def score_in_parts(home: Home, run_id: str, table: str, tag: str, *, shard: Shard, part_size: int,
                   work: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
                   on_start: Callable[[list[str]], None] | None = None,
                   on_part: Callable[[int], None] | None = None) -> ScoreOutcome:
    """Read this shard's undone problems of the run `part_size` at a time, turn their completions
    into rows with `work(completions)` and write each batch as one part of `table`. `on_start(todo)`
hears the problems to do, `on_part(count)` each batch written."""
    home.ensure_writable()
    keys = problem_ids(home, run_id)
    outcome = ScoreOutcome(run_id, problems_total=len(keys))
    with claim_run(home, run_id, f"{tag}.shard{shard.index}of{shard.count}"):
        mine = shard.take(keys)
        done = done_keys(home, run_id, table, "problem_id", tag=tag)
        outcome.problems_done_before = sum(k in done for k in mine)
        todo = [k for k in mine if k not in done]
        if on_start is not None:
            on_start(todo)
        for start in range(0, len(todo), part_size):
            batch = todo[start:start + part_size]
            rows = work(read_completions(home, run_id, batch))
            path = write_part(home, table, rows, run_id=run_id, keys=[tag, *batch], tag=tag) if rows else None
            if path is not None:
                outcome.parts.append(path.name)
                outcome.rows += len(rows)
            outcome.problems_written += len(batch)
            if on_part is not None:
                on_part(len(batch))
    return outcome


def torch_device(name: str):
    """'auto' -> cuda when available, else cpu; any other name as given."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def torch_dtype(name: str):
    import torch

    return "auto" if name == "auto" else getattr(torch, name)
