"""What every comparison with a source's claims shares: our graded completions as SQL, the
section a comparison returns, and the text table the CLI prints.

A completion's status is its (gold, answer) verdict's status (`ok`, `timeout`, `parse_error`,
`too_long`, `error`) under the current grader version, or `no_answer` when nothing was extracted; it is
`ungraded` while its pair has no verdict yet and `no_gold` when its problem has no gold answer.
Only `ok` verdicts can be correct; every other status counts as wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from ingest.grading.verify import GRADER, GRADER_VERSION

_CELL = 48

CURRENT_VERDICTS = """
    select gold_key, answer_key, is_correct, status from lake.verdicts
    where grader = $grader and grader_version = $version
"""

# `keyed` is any relation with gold_key and answer_key: our answers, or graded claims.
STATUS = """case when {t}.answer_key is null then 'no_answer' when {t}.gold_key is null then 'no_gold'
                 else coalesce({v}.status, 'ungraded') end"""

GRADED = f"""
    select a.run_id, a.problem_id, a.sample_idx, a.answer, {STATUS.format(t='a', v='v')} as status,
           coalesce(v.is_correct, false) as is_correct
    from lake.answers a
    left join ({CURRENT_VERDICTS}) v using (gold_key, answer_key)
    where $runs is null or list_contains($runs, a.run_id)
"""

UNJUDGED = ("ungraded", "no_gold")  # statuses that say nothing about correctness


def verdict_label(is_correct: str, status: str) -> str:
    """SQL: 'correct', 'wrong', or the status that made a verdict wrong."""
    return f"case when {is_correct} then 'correct' when {status} = 'ok' then 'wrong' else {status} end"


def params(runs: Sequence[str] | None) -> dict:
    return {"runs": list(runs) if runs else None, "grader": GRADER, "version": GRADER_VERSION}


@dataclass
class Section:
    """One claim type compared: a row per run (and claim, task or filter), the first disagreements,
    and notes (what could not be compared, and why)."""

    title: str
    rows: list[dict]
    disagreements: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)  # headline lines, printed under the title

    def lines(self) -> list[str]:
        if not self.rows and not self.notes:
            return []
        lines = [self.title + ":"]
        lines += ["  " + line for line in (*self.summary, *self.notes)]
        lines += ["  " + line for line in format_table(self.rows)]
        if self.disagreements:
            lines.append(f"  first {len(self.disagreements)} disagreements:")
            lines += ["  " + line for line in format_table(self.disagreements)]
        return lines


def format_table(rows: list[dict]) -> list[str]:
    """Rows as aligned text columns (long cells cut, newlines shown as ⏎)."""
    if not rows:
        return []
    headers = list(rows[0])
    cells = [[_cell(row[h]) for h in headers] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    return ["  ".join(text.ljust(width) for text, width in zip(line, widths)).rstrip()
            for line in [headers, ["-" * w for w in widths], *cells]]


def _cell(value) -> str:
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, int):
        text = f"{value:,}"
    elif isinstance(value, float):
        text = f"{value:.4f}".rstrip("0").rstrip(".") if value == value else "nan"
    else:
        text = str(value)
    text = text.replace("\n", "⏎")
    return text if len(text) <= _CELL else text[:_CELL - 1] + "…"
