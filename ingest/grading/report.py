"""What grading found, as SQL over the lake: each completion's status, and where our grading
disagrees with what a source claimed (`ttsw grade --compare-source`).

Every kind of claim a source stored is compared, each in its own section:
- per-sample labels (`completions.source_is_correct`) vs our verdicts (lm-eval runs are left to
  the per-filter section, where every filter's labels are named);
- selected answers (`pred_*@n`), pass@k and run-level accuracies vs our selections
  (`ingest.grading.compare_selections`);
- lm-eval's per-doc scores per filter, and its aggregates (`ingest.grading.compare_lm_eval`).
Statuses are those of `ingest.grading.comparison`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from ingest.grading.comparison import GRADED, UNJUDGED, Section, format_table, params, verdict_label
from warehouse.catalog import memory_connection
from warehouse.home import Home
from warehouse.lake import ensure_lake

__all__ = ["DISAGREEMENTS_SHOWN", "SourceComparison", "compare_source", "format_table", "status_counts"]

DISAGREEMENTS_SHOWN = 20
NOTHING_CLAIMED = ("no source claim to compare: no graded completion carries a source label, and no run "
                   "has selection claims (source_claims) or lm-eval scores")

_STATUS_COUNTS = f"select status, count(*) as n from ({GRADED}) group by status order by n desc, status"

_COMPARED = f"""
    select g.*, c.source_answer, c.source_is_correct, p.gold_answer, r.name as run,
           g.is_correct = c.source_is_correct as agree
    from ({GRADED}) g
    join lake.completions c using (run_id, problem_id, sample_idx)
    left join lake.problems p using (problem_id)
    left join lake.runs r using (run_id)
    where c.source_is_correct is not null and g.status not in {UNJUDGED}
      and g.run_id not in (select distinct run_id from lake.lm_eval_samples)
"""

_PER_RUN = f"""
    select run, count(*) as compared, count(*) filter (agree) as agree,
           count(*) filter (not agree) as disagree, round(avg(agree::int), 4) as agreement,
           count(*) filter (is_correct) as ours_correct, count(*) filter (source_is_correct) as source_correct
    from ({_COMPARED}) group by run order by run
"""

_DISAGREEMENTS = f"""
    select run, problem_id, sample_idx, gold_answer as gold, source_answer, answer as our_answer,
           {verdict_label('is_correct', 'status')} as our_verdict
    from ({_COMPARED}) where not agree
    order by run, problem_id, sample_idx limit $limit
"""


def status_counts(home: Home, runs: Sequence[str] | None = None) -> dict[str, int]:
    """Completions (of `runs`, default all) per status."""
    con = memory_connection(home)
    try:
        return dict(con.sql(_STATUS_COUNTS, params=params(runs)).fetchall())
    finally:
        con.close()


@dataclass
class SourceComparison:
    """Every section that had something to compare, in the order printed."""

    labels: Section
    sections: list[Section] = field(default_factory=list)

    @property
    def all_sections(self) -> list[Section]:
        return [s for s in (self.labels, *self.sections) if s.rows or s.notes]

    def section(self, title_start: str) -> Section | None:
        return next((s for s in self.all_sections if s.title.startswith(title_start)), None)

    def lines(self) -> list[str]:
        sections = self.all_sections
        if not sections:
            return [NOTHING_CLAIMED]
        return [line for section in sections for line in section.lines()]


def compare_source(home: Home, runs: Sequence[str] | None = None, *, limit: int = DISAGREEMENTS_SHOWN,
                   workers: int = 1, timeout: float = 5.0, progress: bool | None = False) -> SourceComparison:
    """Everything the sources of `runs` (default all) claimed, against our grading, with the
    first `limit` disagreements of each claim type. Claimed answers whose (gold, answer) pair has
    no verdict yet are verified (`workers` processes, `timeout` seconds a pair) and cached."""
    from ingest.grading.claims import grade_claims
    from ingest.grading.compare_lm_eval import lm_eval_sections
    from ingest.grading.compare_selections import selection_sections

    ensure_lake(home)
    claims, _ = grade_claims(home, runs, workers=workers, timeout=timeout, progress=progress)
    con = memory_connection(home)
    try:
        query = params(runs)
        labels = Section("our verdicts vs the source's per-sample labels (completions.source_is_correct)",
                         con.sql(_PER_RUN, params=query).to_arrow_table().to_pylist(),
                         con.sql(_DISAGREEMENTS, params={**query, "limit": limit}).to_arrow_table().to_pylist())
        labels.summary = _label_summary(labels.rows)
        sections = [*selection_sections(con, home, claims, query, limit), *lm_eval_sections(con, query, limit)]
    finally:
        con.close()
    return SourceComparison(labels, sections)


def _label_summary(rows: list[dict]) -> list[str]:
    compared = sum(r["compared"] for r in rows)
    agree = sum(r["agree"] for r in rows)
    return [f"agreement with the source's labels: {agree:,} of {compared:,} ({agree / compared:.4%})"] \
        if compared else []
