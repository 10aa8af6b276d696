"""A source's selection claims against our own selections, read from the built marts.

- `pred_{naive,weighted,maj}@n` (and search-and-learn's `pred`): the claimed answer, graded by us
  (`ingest.grading.claims`), against our selection of the same method and n for the same
  problem: `serving/selection_accuracy_by_problem.parquet`, estimator `prefix` (the first n
  samples, as search-and-learn selects), for naive and weighted the run's PRM and its
  `agg_strategy` (default `last`). Per claim: how often the two agree, and the accuracy each
  side gets over the problems both have.
- `pass@k` per problem: the claimed value against our unbiased pass@k (the estimator
  search-and-learn computes), equal within 1e-6.
- run-level `acc_{method}@n` (an `--evals` config): against `serving/selection_accuracy.parquet`
  with the same rule for picking our row.

Without the marts the claims are still graded and their accuracy shown, with one line saying to
build first.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from ingest.grading.comparison import CURRENT_VERDICTS, STATUS, Section, verdict_label
from warehouse.home import Home

BY_PROBLEM_MART = "selection_accuracy_by_problem"
RUN_MART = "selection_accuracy"
DEFAULT_AGGREGATION = "last"
PASS_TOLERANCE = 1e-6
BUILD_FIRST = "run `ttsw build`, then compare again"

# Our row for a (run, method, n): majority and pass have no PRM; naive and weighted use the run's
# PRM (any, when the run names none) and aggregation. The first PRM by name breaks a tie.
_OURS = """
    select m.* from read_parquet({path}) m join lake.runs r using (run_id)
    where m.method in ('pass', 'majority')
       or (m.prm_aggregation = coalesce(r.agg_strategy, '{default}')
           and (r.prm_model is null or m.prm_model = r.prm_model))
    qualify row_number() over (partition by m.run_id, {grain}, m.method, m.estimator, m.n
                               order by m.prm_model) = 1
"""

_JUDGED = f"""
    select c.*, {STATUS.format(t='c', v='v')} as status, coalesce(v.is_correct, false) as claim_correct
    from graded_claims c left join ({CURRENT_VERDICTS}) v using (gold_key, answer_key)
"""

_SELECTIONS = """
    select j.*, r.name as run, p.gold_answer as gold, o.accuracy = 1 as ours_correct
    from ({judged}) j
    left join lake.runs r using (run_id)
    left join lake.problems p using (problem_id)
    left join {ours} o on o.run_id = j.run_id and o.problem_id = j.problem_id and o.method = j.method
        and o.n = j.n and o.estimator = 'prefix'
    where j.status not in ('ungraded', 'no_gold')
"""

_PER_CLAIM = """
    select run, claim, count(*) as problems, count(*) filter (claim_correct) as claim_correct,
           round(avg(claim_correct::int), 4) as claim_accuracy,
           count(ours_correct) as compared,
           count(*) filter (ours_correct = claim_correct) as agree,
           round(avg((ours_correct = claim_correct)::int), 4) as agreement,
           round(avg(claim_correct::int) filter (ours_correct is not null), 4) as claim_acc_compared,
           round(avg(ours_correct::int), 4) as our_accuracy,
           round(avg(claim_correct::int - ours_correct::int), 4) as difference
    from ({selections}) group by run, method, n, claim order by run, method, n, claim
"""

_SELECTION_DISAGREEMENTS = """
    select run, claim, problem_id, gold, claimed, answer as claim_answer,
           {claim_verdict} as claim_verdict, case when ours_correct then 'correct' else 'wrong' end as our_selection
    from ({selections}) where ours_correct is not null and ours_correct <> claim_correct
    order by run, method, n, claim, problem_id limit $limit
"""

_PASS = """
    select r.name as run, c.claim, count(*) as problems, count(o.accuracy) as compared,
           count(*) filter (abs(c.value - o.accuracy) <= {tol}) as agree,
           round(avg(c.value), 4) as claimed, round(avg(o.accuracy), 4) as ours,
           round(avg(c.value - o.accuracy), 4) as difference
    from lake.source_claims c
    join lake.runs r using (run_id)
    left join {ours} o on o.run_id = c.run_id and o.problem_id = c.problem_id and o.method = 'pass'
        and o.n = c.n and o.estimator = 'unbiased'
    where c.method = 'pass' and c.problem_id is not null and c.value is not null
      and ($runs is null or list_contains($runs, c.run_id))
    group by r.name, c.n, c.claim order by r.name, c.n, c.claim
"""

_RUN_LEVEL = """
    select r.name as run, c.claim, c.value as claimed, round(o.accuracy, 4) as ours, o.problems,
           round(c.value - o.accuracy, 4) as difference
    from lake.source_claims c
    join lake.runs r using (run_id)
    left join {ours} o on o.run_id = c.run_id and o.method = c.method and o.n = c.n and o.estimator = 'prefix'
    where c.problem_id is null and c.value is not null and c.n is not null
      and c.method in ('naive', 'weighted', 'majority')
      and ($runs is null or list_contains($runs, c.run_id))
    order by r.name, c.method, c.n, c.claim
"""


def _ours(path: Path, grain: str | None) -> str:
    quoted = "'" + str(path).replace("'", "''") + "'"
    return "(" + _OURS.format(path=quoted, default=DEFAULT_AGGREGATION,
                              grain=f"m.{grain}" if grain else "null") + ")"


def _none_mart() -> str:
    """An empty relation with the marts' columns, for SQL that joins ours when none is built."""
    return ("(select null::varchar as run_id, null::varchar as problem_id, null::varchar as method, "
            "null::varchar as estimator, null::bigint as n, null::double as accuracy, "
            "null::bigint as problems where false)")


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> list[dict]:
    used = {k: v for k, v in params.items() if f"${k}" in sql}
    return con.sql(sql, params=used).to_arrow_table().to_pylist()


def selection_sections(con: duckdb.DuckDBPyConnection, home: Home, claims: pa.Table, params: dict,
                       limit: int) -> list[Section]:
    """The pred_*@n, pass@k and run-level accuracy sections (those with any claim)."""
    by_problem = home.serving / f"{BY_PROBLEM_MART}.parquet"
    per_run = home.serving / f"{RUN_MART}.parquet"
    built = by_problem.exists()
    ours = _ours(by_problem, "problem_id") if built else _none_mart()
    con.register("graded_claims", claims)
    selections = _SELECTIONS.format(judged=_JUDGED, ours=ours)
    rows = _rows(con, _PER_CLAIM.format(selections=selections), params)
    sections = []
    if rows:
        disagreements = _rows(con, _SELECTION_DISAGREEMENTS.format(
            selections=selections, claim_verdict=verdict_label("claim_correct", "status")),
            {**params, "limit": limit})
        if not built:
            rows = [{k: r[k] for k in ("run", "claim", "problems", "claim_correct", "claim_accuracy")} for r in rows]
        notes = [] if built else [f"our selections: the marts are not built; {BUILD_FIRST}"]
        notes += [f"run {run} is not in the marts (built before it landed?): {BUILD_FIRST}"
                  for run in sorted({r["run"] for r in rows if built and not r["compared"]})]
        sections.append(Section("selected answers claimed (pred_*@n), graded by us, vs our selection "
                                "(prefix estimator)", rows, disagreements, notes,
                                summary=_summary(rows) if built else []))
    pass_rows = _rows(con, _PASS.format(ours=ours, tol=PASS_TOLERANCE), params)
    if pass_rows:
        notes = [] if built else [f"our pass@k: the marts are not built; {BUILD_FIRST}"]
        sections.append(Section("pass@k claimed per problem vs our unbiased pass@k", pass_rows, notes=notes))
    run_ours = _ours(per_run, None) if per_run.exists() else _none_mart()
    run_rows = _rows(con, _RUN_LEVEL.format(ours=run_ours), params)
    if run_rows:
        notes = [] if per_run.exists() else [f"our accuracies: the marts are not built; {BUILD_FIRST}"]
        sections.append(Section("run-level accuracy claimed (acc_*@n) vs our selection accuracy (prefix)",
                                run_rows, notes=notes))
    return sections


def _summary(rows: list[dict]) -> list[str]:
    compared = sum(r["compared"] for r in rows)
    agree = sum(r["agree"] for r in rows)
    share = f" ({agree / compared:.2%})" if compared else ""
    return [f"agreement with our selections: {agree:,} of {compared:,} claims{share}"]
