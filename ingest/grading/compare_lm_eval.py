"""lm-eval's own scores against our verdicts, for every task and every filter it logged.

lm-eval scores each doc once per filter (`lm_eval_samples`: one row per task, doc, filter and
repeat, with `exact_match`, else `acc`). Our verdict belongs to the completion of that (doc,
repeat) — the response itself, graded by our extractor — so it is the same under every filter,
and each filter's labels are compared with it separately. The task's headline filter is the
reader's `answer_filter` (flexible-extract for GSM8K), never simply the first one logged.

The results' aggregates (`source_claims` '<task>/exact_match,<filter>', or `acc`) are compared
with our accuracy on the docs the run logged (mean over docs of the mean over repeats), with the
difference also given in documents.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from ingest.grading.comparison import GRADED, UNJUDGED, Section, verdict_label
from ingest.readers.lm_eval import DOCS_CLAIMED, answer_filter

LABEL_METRICS = ("exact_match", "acc")

_SAMPLES = """
    select s.run_id, r.name as run, s.task, s.doc_id, s.filter, s.repeat_idx, s.target, s.filtered_response,
           coalesce(s.exact_match, s.acc) as label, p.problem_id
    from lake.lm_eval_samples s
    join lake.problems p on p.dataset = s.task and p.original_id = cast(s.doc_id as varchar)
    left join lake.runs r using (run_id)
    where $runs is null or list_contains($runs, s.run_id)
"""

_FILTERS = """
    select distinct run_id, task, filter from lake.lm_eval_samples
    where $runs is null or list_contains($runs, run_id) order by run_id, task, filter
"""

_COMPARED = f"""
    select s.*, g.answer, g.status, g.is_correct, s.label = 1 as source_correct,
           g.is_correct = (s.label = 1) as agree, h.filter is not null as headline
    from ({_SAMPLES}) s
    join ({GRADED}) g on g.run_id = s.run_id and g.problem_id = s.problem_id and g.sample_idx = s.repeat_idx
    left join headline_filters h on h.run_id = s.run_id and h.task = s.task and h.filter = s.filter
    where s.label is not null and g.status not in {UNJUDGED}
"""

_PER_FILTER = f"""
    select run, task, filter, bool_or(headline) as headline, count(*) as compared,
           count(*) filter (agree) as agree, count(*) filter (not agree) as disagree,
           round(avg(agree::int), 4) as agreement,
           count(*) filter (source_correct) as source_correct, count(*) filter (is_correct) as ours_correct
    from ({_COMPARED}) group by run, task, filter order by run, task, not bool_or(headline), filter
"""

_DISAGREEMENTS = f"""
    select run, task, filter, doc_id, repeat_idx, target, filtered_response, answer as our_answer,
           case when source_correct then 'correct' else 'wrong' end as source_label,
           {verdict_label('is_correct', 'status')} as our_verdict
    from ({_COMPARED}) where not agree
    order by not headline, run, task, filter, doc_id, repeat_idx limit $limit
"""

# Our accuracy per (run, task): per doc the mean over its repeats, then the mean over docs. Our
# verdicts do not depend on the filter, so one filter's rows (the first) give every completion once.
_OURS_PER_TASK = f"""
    with one_filter as (
        select * from ({_SAMPLES}) s
        qualify s.filter = min(s.filter) over (partition by s.run_id, s.task)
    ), per_doc as (
        select o.run_id, o.task, o.doc_id, avg(coalesce(g.is_correct, false)::int) as correct,
               count(*) filter (g.status is null or g.status in {UNJUDGED}) as unjudged
        from one_filter o
        left join ({GRADED}) g on g.run_id = o.run_id and g.problem_id = o.problem_id
            and g.sample_idx = o.repeat_idx
        group by o.run_id, o.task, o.doc_id
    )
    select run_id, task, count(*) as docs, avg(correct) as ours, sum(unjudged) as unjudged
    from per_doc group by run_id, task
"""

_AGGREGATES = f"""
    with claimed as (
        select c.run_id, c.value,
               regexp_extract(c.claim, '^(.*)/([^/,]+),([^/]*)$', ['task', 'metric', 'filter']) as parts
        from lake.source_claims c
        where c.problem_id is null and ($runs is null or list_contains($runs, c.run_id))
    ), docs_claimed as (
        select run_id, regexp_extract(claim, '^(.*)/n-samples$', 1) as task, cast(value as bigint) as docs_claimed
        from lake.source_claims where method = $docs_claimed
    ), logged as (
        select distinct run_id, task, filter from lake.lm_eval_samples
    ), compared as (
        select r.name as run, c.parts.task as task, c.parts.metric as metric, c.parts.filter as filter,
               h.filter is not null as headline, o.docs, d.docs_claimed, c.value as claimed, o.ours, o.unjudged,
               d.docs_claimed is null or d.docs_claimed <= o.docs as whole
        from claimed c
        join logged l on l.run_id = c.run_id and l.task = c.parts.task and l.filter = c.parts.filter
        join ({_OURS_PER_TASK}) o on o.run_id = c.run_id and o.task = c.parts.task
        left join docs_claimed d on d.run_id = c.run_id and d.task = c.parts.task
        left join lake.runs r on r.run_id = c.run_id
        left join headline_filters h on h.run_id = c.run_id and h.task = c.parts.task and h.filter = c.parts.filter
        where list_contains($metrics, c.parts.metric)
    )
    select run, task, metric, filter, headline, docs, docs_claimed, round(claimed, 4) as claimed,
           round(ours, 4) as ours, case when whole then round(claimed - ours, 4) end as difference,
           case when whole then round((claimed - ours) * docs, 2) end as difference_docs, unjudged
    from compared order by run, task, not headline, metric, filter
"""


def _headline_filters(con: duckdb.DuckDBPyConnection, params: dict) -> pa.Table:

    filters: dict[tuple[str, str], list[str]] = {}
    for run_id, task, name in con.sql(_FILTERS, params={"runs": params["runs"]}).fetchall():
        filters.setdefault((run_id, task), []).append(name)
    rows = [{"run_id": run_id, "task": task, "filter": answer_filter(names)}
            for (run_id, task), names in filters.items()]
    return pa.Table.from_pylist(rows, schema=pa.schema([("run_id", pa.string()), ("task", pa.string()),
                                                        ("filter", pa.string())]))


def lm_eval_sections(con: duckdb.DuckDBPyConnection, params: dict, limit: int) -> list[Section]:
    """The per-filter label section and the aggregates section (those with any row)."""
    con.register("headline_filters", _headline_filters(con, params))
    rows = con.sql(_PER_FILTER, params=params).to_arrow_table().to_pylist()
    sections = []
    if rows:
        disagreements = con.sql(_DISAGREEMENTS, params={**params, "limit": limit}).to_arrow_table().to_pylist()
        sections.append(Section("lm-eval's per-doc scores, per filter, vs our verdicts (headline: the task's "
                                "answer filter)", rows, disagreements, summary=_summary(rows)))
    aggregates = con.sql(_AGGREGATES, params={**params, "metrics": list(LABEL_METRICS),
                                              "docs_claimed": DOCS_CLAIMED}).to_arrow_table().to_pylist()
    if aggregates:
        partial = dict.fromkeys((r["run"], r["task"], r["docs"], r["docs_claimed"]) for r in aggregates
                                if r["difference"] is None)
        notes = [f"{run} {task}: the results score {claimed:,} docs but {docs:,} are logged, so its aggregates "
                 "are not compared (log every doc: --log_samples)" for run, task, docs, claimed in partial]
        sections.append(Section("lm-eval's aggregate scores vs our accuracy on the logged docs "
                                "(difference_docs: claimed minus ours, in documents)", aggregates, notes=notes))
    return sections


def _summary(rows: list[dict]) -> list[str]:
    """One line per task: the headline filter's agreement, then the other filters'."""
    lines: dict[tuple[str, str], list[str]] = {}
    for row in rows:  # the headline filter comes first within its task
        share = f"{row['agree']:,} of {row['compared']:,} ({row['agreement']:.2%})"
        lines.setdefault((row["run"], row["task"]), []).append(
            f"headline filter {row['filter']} agrees on {share}" if row["headline"] else f"{row['filter']} {share}")
    return [f"{run} {task}: " + "; ".join(parts) for (run, task), parts in lines.items()]
