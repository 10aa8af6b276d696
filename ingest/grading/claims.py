"""Grade the answers a source claims it selected (`source_claims.answer`, e.g. search-and-learn's
`pred_weighted@4 = \\boxed{3}`) with our own grader, so they can be compared with our selections.

Each claimed answer string goes through the run's extractor (the one `ttsw grade` used for the
run's completions, else its dataset's) and `answer_key`; the problem's gold answer is keyed the
same way. A claim string in which the extractor finds nothing is taken whole (it already is the
selected answer, not a completion) unless it holds a box the extractor could not read. The
(gold_key, answer_key) pairs that `verdicts` does not hold yet are verified in the worker pool and
written to `verdicts`, exactly as `ttsw grade` writes them, so the claims
share the verdict cache with every completion.
"""

from __future__ import annotations

from typing import Sequence

import pyarrow as pa

from ingest.grading.extract import Extractor
from ingest.grading.extractors import EXTRACTORS, extractor_for_dataset
from ingest.grading.normalize import answer_key
from ingest.grading.verdicts import SETTLED_VERDICTS, VerificationStats, settled_params, verify_pairs
from ingest.grading.verify import GRADER
from warehouse.catalog import memory_connection
from warehouse.home import Home

SELECTION_METHODS = ("naive", "weighted", "majority")

_CLAIMED_ANSWERS = """
    select c.run_id, c.problem_id, c.claim, c.method, c.n, c.answer as claimed,
           r.dataset, e.extractor, p.gold_answer
    from lake.source_claims c
    left join lake.runs r using (run_id)
    left join (select run_id, mode(regexp_replace(extractor, '\\+tail$', '')) as extractor
               from lake.answers group by run_id) e using (run_id)
    left join lake.problems p using (problem_id)
    where c.answer is not null and c.problem_id is not null and c.n is not null
      and list_contains($methods, c.method)
      and ($runs is null or list_contains($runs, c.run_id))
    order by c.run_id, c.method, c.n, c.claim, c.problem_id
"""

_KNOWN = f"select gold_key, answer_key from ({SETTLED_VERDICTS})"


def run_extractor(graded_with: str | None, dataset: str | None) -> Extractor:
    """The extractor `ttsw grade` used for the run's completions, else the one of its dataset."""
    return EXTRACTORS.get(graded_with or "") or extractor_for_dataset(dataset)


def claimed_answer(claimed: str, extractor: Extractor) -> str | None:
    """The answer a claim string states, by the run's extractor, else the string itself unless it
    holds a box (an empty or unclosed box selected nothing)."""
    found = extractor.extract(claimed)
    if found is not None or "\\boxed" in claimed or "\\fbox" in claimed:
        return found
    return claimed.strip() or None


def grade_claims(home: Home, runs: Sequence[str] | None = None, *, workers: int = 1, timeout: float = 5.0,
                 progress: bool | None = False) -> tuple[pa.Table, VerificationStats]:
    """The selection claims (of `runs`, default all) with their answer and gold keys; verdicts of
    pairs not cached yet are computed and written. Columns: run_id, problem_id, claim, method, n,
    claimed, answer, answer_key, gold_key."""
    con = memory_connection(home)
    try:
        rows = con.sql(_CLAIMED_ANSWERS, params={"runs": list(runs) if runs else None,
                                                 "methods": list(SELECTION_METHODS)}).to_arrow_table().to_pylist()
        known = set(con.sql(_KNOWN, params=settled_params(GRADER, timeout)).fetchall())
    finally:
        con.close()
    keys: dict[str, str | None] = {}

    def key(text: str | None) -> str | None:
        if text is None:
            return None
        if text not in keys:
            keys[text] = answer_key(text)
        return keys[text]

    for row in rows:
        row["answer"] = claimed_answer(row["claimed"], run_extractor(row.pop("extractor"), row.pop("dataset")))
        row["answer_key"] = key(row["answer"])
        row["gold_key"] = key(row.pop("gold_answer"))
    todo = sorted({(r["gold_key"], r["answer_key"]) for r in rows
                   if r["gold_key"] is not None and r["answer_key"] is not None} - known)
    stats = VerificationStats(pairs=len(todo))
    verify_pairs(home, todo, stats, grader=GRADER, workers=workers, timeout=timeout, progress=progress,
                 desc="verify claims")
    schema = pa.schema([("run_id", pa.string()), ("problem_id", pa.string()), ("claim", pa.string()),
                        ("method", pa.string()), ("n", pa.int64()), ("claimed", pa.string()),
                        ("answer", pa.string()), ("answer_key", pa.string()),
                        ("gold_key", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema), stats
