"""One search-and-learn row (a problem with its N samples) → rows of the lake tables.

Columns read: `completions` (texts; sample_idx = list position), `scores` (per completion, a list of
PRM step scores → `prm_scores`), `completion_tokens` (a list → num_tokens; DVTS's scalar -1 and beam
search's all-zero lists mean "not recorded" → null), `preds` / `is_correct_preds` (per-sample answers a
preprocessing step claimed → `completions.source_answer` / `source_is_correct`), and the per-problem
claims `pred`, `pred_{naive,weighted,maj}@n`, `is_correct_…@n`, `pass@k` → `source_claims`. Problem
columns (problem, solution, answer, subject, level, unique_id) → `problems`.

Wrong types are `SourceError`s (file, row, field); null texts, non-finite PRM scores and non-finite
claimed values (`pass@k`, `acc_*`) are skipped and counted, never stored.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from ingest.readers.base import SourceError
from warehouse.problems import problem_id

PROBLEM_COLUMNS = ("problem", "solution", "answer", "subject", "level", "unique_id")
SAMPLE_COLUMNS = ("completions", "scores", "completion_tokens", "preds", "is_correct_preds")
DERIVED_COLUMNS = ("agg_scores", "_preprocessing_metadata")  # recomputed by the warehouse, or bookkeeping
_SELECTED = re.compile(r"^(pred|is_correct)_(naive|weighted|maj)@(\d+)$")
_PASS = re.compile(r"^pass@(\d+)$")
_METHODS = {"naive": "naive", "weighted": "weighted", "maj": "majority"}
NON_FINITE_CLAIM = "claimed accuracies (pass@k, acc_*) that are NaN or inf"


def known_column(name: str) -> bool:
    return (name in PROBLEM_COLUMNS or name in SAMPLE_COLUMNS or name in DERIVED_COLUMNS or name == "pred"
            or bool(_SELECTED.match(name) or _PASS.match(name)))


@dataclass(frozen=True)
class Context:
    """What the mapping needs to know about the run."""

    label: str                          # the file, for errors
    dataset: str
    n: int | None
    prm_model: str
    temperatures: list[float | None]    # per sample position; the run's temperature repeated when not mixed
    sample_temperature: float | None    # for positions past the list above


def problem_row(row: dict, ctx: Context, index: int) -> dict:
    unique_id, text = row.get("unique_id"), row.get("problem")
    if unique_id is None and not isinstance(text, str):
        raise SourceError(ctx.label, "a row needs a `unique_id` or a `problem` text", row=index, field="problem")
    original = None if unique_id is None else str(unique_id)
    return {"problem_id": problem_id(ctx.dataset, original, text if original is None else None),
            "dataset": ctx.dataset, "original_id": original, "problem": text,
            "gold_answer": _text(row.get("answer")), "gold_solution": _text(row.get("solution")),
            "level": _level(row.get("level"), ctx, index), "subject": _text(row.get("subject"))}


def _text(value) -> str | None:
    return None if value is None else str(value)


def _level(value, ctx: Context, index: int) -> int | None:
    digits = re.search(r"\d+", str(value)) if value is not None else None
    if digits is None:
        return None
    if len(digits.group()) > 18:
        raise SourceError(ctx.label, f"expected a MATH level, got {str(value)[:40]!r}", row=index, field="level")
    return int(digits.group())


def map_row(row: dict, pid: str, ctx: Context, index: int, tables: dict[str, defaultdict], skipped: Counter) -> None:
    """Append the row's completions, PRM scores and claims to `tables` (table -> column -> values)."""
    texts = _list(row.get("completions"), ctx, index, "completions", required=True)
    count = len(texts)
    tokens = _tokens(row.get("completion_tokens"), count, ctx, index)
    answers = _list(row.get("preds"), ctx, index, "preds", length=count)
    verdicts = _list(row.get("is_correct_preds"), ctx, index, "is_correct_preds", length=count)
    out = tables["completions"]
    for i, text in enumerate(texts):
        if text is None:
            skipped["completion text is null"] += 1
            continue
        if not isinstance(text, str):
            raise SourceError(ctx.label, f"completion {i} is a {type(text).__name__}, not text", row=index,
                              field="completions")
        out["problem_id"].append(pid)
        out["sample_idx"].append(i)
        out["temperature"].append(ctx.temperatures[i] if i < len(ctx.temperatures) else ctx.sample_temperature)
        out["text"].append(text)
        out["num_tokens"].append(tokens[i])
        out["source_answer"].append(None if answers is None else _text(answers[i]))
        out["source_is_correct"].append(None if verdicts is None else _bool(verdicts[i], ctx, index, "is_correct_preds"))
    _scores(row.get("scores"), texts, pid, ctx, index, tables["prm_scores"], skipped)
    _claims(row, pid, ctx, index, tables["source_claims"], skipped)


def _list(value, ctx: Context, index: int, name: str, *, required: bool = False, length: int | None = None):
    if value is None:
        if required:
            raise SourceError(ctx.label, "missing (every row needs its list of completions)", row=index, field=name)
        return None
    if not isinstance(value, list):
        raise SourceError(ctx.label, f"expected a list, got {type(value).__name__}", row=index, field=name)
    if length is not None and len(value) != length:
        raise SourceError(ctx.label, f"has {len(value)} entries for {length} completions", row=index, field=name)
    return value


def _tokens(value, count: int, ctx: Context, index: int) -> list[int | None]:
    if not isinstance(value, list):  # DVTS stores a scalar -1: token counts were not recorded
        return [None] * count
    _list(value, ctx, index, "completion_tokens", length=count)
    if any(not isinstance(v, int) or isinstance(v, bool) for v in value if v is not None):
        raise SourceError(ctx.label, "expected integer token counts", row=index, field="completion_tokens")
    if all(not v for v in value):  # beam search leaves every count at 0
        return [None] * count
    return value


def _bool(value, ctx: Context, index: int, name: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise SourceError(ctx.label, f"expected true/false, got {value!r}", row=index, field=name)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _scores(value, texts: list, pid: str, ctx: Context, index: int, out: defaultdict, skipped: Counter) -> None:
    scores = _list(value, ctx, index, "scores", length=len(texts))
    if scores is None:
        return
    for i, steps in enumerate(scores):
        if texts[i] is None:
            continue
        if steps is None:
            skipped["completion without PRM scores"] += 1
            continue
        if not isinstance(steps, list):
            raise SourceError(ctx.label, f"completion {i}: expected a list of step scores, got "
                                         f"{type(steps).__name__}", row=index, field="scores")
        for step, score in enumerate(steps):
            if score is not None and not _number(score):
                raise SourceError(ctx.label, f"completion {i}, step {step}: {score!r} is not a number",
                                  row=index, field="scores")
            if score is None or not math.isfinite(score):
                skipped["PRM step score null, NaN or infinite"] += 1
                continue
            out["problem_id"].append(pid)
            out["sample_idx"].append(i)
            out["prm_model"].append(ctx.prm_model)
            out["kind"].append("step")
            out["step_idx"].append(step)
            out["score"].append(float(score))


def _claimed_value(value, ctx: Context, index: int, name: str, skipped: Counter) -> tuple[bool, float | None]:
    """(keep, value) of a claimed number: null kept as null, NaN/inf skipped and counted, text an error."""
    if value is None:
        return True, None
    if not _number(value):
        raise SourceError(ctx.label, f"expected a number, got {value!r}", row=index, field=name)
    if not math.isfinite(value):
        skipped[NON_FINITE_CLAIM] += 1
        return False, None
    return True, float(value)


def _claims(row: dict, pid: str, ctx: Context, index: int, out: defaultdict, skipped: Counter) -> None:
    def add(claim: str, method: str, n, answer=None, is_correct=None, value=None):
        for key, item in (("problem_id", pid), ("claim", claim), ("method", method), ("n", n), ("answer", answer),
                          ("is_correct", is_correct), ("value", value)):
            out[key].append(item)

    if "pred" in row:  # search-and-learn's pick at full N: the completion with the best aggregated score
        add("pred", "naive", ctx.n, answer=_text(row["pred"]))
    selected: dict[tuple[str, int], dict] = {}
    for name, value in row.items():
        if match := _SELECTED.match(name):
            kind, method, n = match.groups()
            selected.setdefault((method, int(n)), {})[kind] = value
        elif match := _PASS.match(name):
            keep, number = _claimed_value(value, ctx, index, name, skipped)
            if keep:
                add(name, "pass", int(match.group(1)), value=number)
    for (method, n), found in sorted(selected.items()):
        claim = f"pred_{method}@{n}" if "pred" in found else f"is_correct_{method}@{n}"
        add(claim, _METHODS[method], n, answer=_text(found.get("pred")),
            is_correct=_bool(found.get("is_correct"), ctx, index, f"is_correct_{method}@{n}"))


_ACCURACY = re.compile(r"^acc_(naive|weighted|maj)$")


def eval_claims(row: dict, ctx: Context, index: int, out: defaultdict, skipped: Counter) -> None:
    """An `--evals` row (`n`, `acc_naive`, `acc_weighted`, `acc_maj`) → run-level claims `acc_{method}@{n}`."""
    n = row.get("n")
    if not isinstance(n, int) or isinstance(n, bool):
        raise SourceError(ctx.label, f"expected the integer sample count, got {n!r}", row=index, field="n")
    for name, value in row.items():
        if match := _ACCURACY.match(name):
            keep, number = _claimed_value(value, ctx, index, name, skipped)
            if not keep:
                continue
            method = match.group(1)
            for key, item in (("problem_id", None), ("claim", f"{name}@{n}"), ("method", _METHODS[method]),
                              ("n", n), ("answer", None), ("is_correct", None), ("value", number)):
                out[key].append(item)
