"""Qwen2.5-Math evaluation JSONL (`math_eval.py` output, which search-and-learn's evaluation builds on).

One JSON object per line, one problem each. Keys read:
  idx (int, required), question (string, required), gt (gold answer: string or number, optional),
  level (int or "Level N", optional), type or subject (string, optional),
  code (list of sampled responses, required), pred (list of extracted answers: string, number or
  null), score (list of grader verdicts: true, false or null), and optionally pred_score (one list of
  step scores per sample, from reward-model scoring; a bare number counts as a one-step list).
pred, score and pred_score, where present, must be as long as code: a line where they differ is a
`SourceError` naming the line and field.

Rows:
  problems     one per idx: original_id = idx, problem = question, gold_answer = gt, level, subject;
               dataset = --dataset, else 'qwen-math-eval' (with a warning)
  completions  sample_idx = i, text = code[i], source_answer = pred[i], source_is_correct = score[i]
  prm_scores   from pred_score: kind 'step', step_idx = j, prm_model = options' prm_model or 'unknown'
  runs         name = file stem, n = the longest code list, approach 'sampling'; seed and temperature
               from a file name in Qwen's pattern `{split}_{prompt}_{count}_seed{S}_t{T}_s{start}_e{end}.jsonl`;
               dataset = --dataset, else the folder Qwen names after it (`…/<data_name>/test_….jsonl`), else
               'qwen-math-eval'; model guessed from the folders (`outputs/<org>/<model>/math_eval/…`)
  source_claims  the `acc` of Qwen's `<file stem>*_metrics.json` beside the file (a percentage, stored /100)

Sources: one file, or a folder searched for such files (each file one run).

Bad input (shared policy, `jsonio`): unreadable lines and wrong types are errors with file, line and
field; a repeated idx keeps its first line and skips the later ones (counted under DUPLICATE); a
sample whose pred_score holds NaN or inf loses its PRM scores (counted), its completion stays.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from ingest.readers.base import RunData, RunListing, SourceError
from ingest.readers.jsonio import (DUPLICATE, Place, content_hash, finite, head_keys, iter_jsonl, load_json,
                                   problems_table)
from ingest.readers.model_names import model_in_path
from warehouse.problems import problem_id

NAME = "qwen-math-eval"
FALLBACK_DATASET = "qwen-math-eval"
NON_FINITE = "pred_score lists holding NaN or inf (those samples' PRM scores)"
_SEED_TEMP = re.compile(r"_seed(\d+)_t(\d+(?:\.\d+)?)(?:_|$)")
_LEVEL = re.compile(r"(?:level\s*)?(\d+)", re.IGNORECASE)


def _file_params(path: Path) -> dict[str, Any]:
    match = _SEED_TEMP.search(path.stem)
    return {"seed": int(match[1]), "temperature": float(match[2])} if match else {}


def _is_eval_file(path: Path) -> bool:
    return path.suffix == ".jsonl" and path.is_file() and {"idx", "gt", "code"} <= head_keys(path)


def eval_files(source: str, *, sniffing: bool = False) -> list[Path]:
    """The evaluation files a source names: itself (when sniffing, only if it looks like one), or those
    anywhere in the folder."""
    path = Path(source)
    if path.is_dir():
        return [p for p in sorted(path.rglob("*.jsonl")) if _is_eval_file(p)]
    return [path] if path.is_file() and (not sniffing or _is_eval_file(path)) else []


def _dataset(path: Path, options: dict[str, Any], provenance: dict[str, str], guessed: set[str]) -> str:
    if options.get("dataset"):
        provenance["dataset"] = "given (--meta)"
        return options["dataset"]
    if _SEED_TEMP.search(path.stem) and path.parent.name:
        provenance["dataset"] = "folder name (Qwen's <data_name>/ folder)"
        guessed.add("dataset")
        return path.parent.name
    provenance["dataset"] = "default"
    guessed.add("dataset")
    return FALLBACK_DATASET


def _metrics_claims(path: Path) -> list[dict]:
    """Qwen's own accuracy (`acc`, in percent) from the metrics JSON written beside the file."""
    claims = []
    for metrics in sorted(path.parent.glob(f"{path.stem}*metrics.json")):
        document = load_json(metrics)
        acc = document.get("acc") if isinstance(document, dict) else None
        if isinstance(acc, (int, float)) and not isinstance(acc, bool) and finite(acc):
            claims.append({"problem_id": None, "claim": "acc", "method": "source_grader", "value": acc / 100})
    return claims[:1]


def _level(place: Place, record: dict) -> int | None:
    value = record.get("level")
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    match = _LEVEL.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise place.error(f"expected an integer or 'Level N', got {value!r}", "level")
    return int(match[1])


def _step_scores(place: Place, value: Any, field: str) -> list[float]:
    values = value if isinstance(value, list) else [value]
    return [place.check(v, "number", f"{field}[{j}]") for j, v in enumerate(values)]


class QwenMathReader:
    name = NAME
    description = "Qwen2.5-Math evaluation JSONL (idx, question, gt, code, pred, score[, pred_score])"

    def sniff(self, source: str) -> bool:
        try:
            return bool(eval_files(source, sniffing=True))
        except (OSError, SourceError):
            return False

    def list_runs(self, source: str, options: dict[str, Any]) -> list[RunListing]:
        return [RunListing(str(path), path.stem, {"dataset": _dataset(path, options, {}, set()),
                                                  "model": model_in_path(path, stem=""), **_file_params(path)})
                for path in eval_files(source)]

    def read(self, source: str, options: dict[str, Any]) -> list[RunData]:
        files = eval_files(source)
        if not files:
            raise SourceError(source, "no Qwen2.5-Math evaluation JSONL here (lines with idx, gt and code)")
        return [self._read_file(path, options) for path in files]

    def _read_file(self, path: Path, options: dict[str, Any]) -> RunData:
        provenance, guessed = {}, set()
        dataset = _dataset(path, options, provenance, guessed)
        prm_model = options.get("prm_model") or "unknown"
        skipped: Counter = Counter()
        problems, completions, scores = [], [], []
        seen: set[str] = set()
        n = 0
        for line, record in iter_jsonl(path):
            place = Place(str(path), line=line)
            idx = place.get(record, "idx", "int")
            pid = problem_id(dataset, str(idx))
            problem = {"problem_id": pid, "dataset": dataset, "original_id": str(idx),
                       "problem": place.get(record, "question", "text"),
                       "gold_answer": place.get(record, "gt", "answer", required=False),
                       "level": _level(place, record),
                       "subject": place.get(record, "type", "text", required=False)
                       or place.get(record, "subject", "text", required=False)}
            texts = place.items(record, "code", "text")
            columns = {"pred": place.items(record, "pred", "answer", nullable=True, required=False),
                       "score": place.items(record, "score", "bool", nullable=True, required=False),
                       "pred_score": place.get(record, "pred_score", "list", required=False)}
            for field, values in columns.items():
                if values is not None and len(values) != len(texts):
                    raise place.error(f"has {len(values)} entries but code has {len(texts)}", field)
            steps = [None if s is None else _step_scores(place, s, f"pred_score[{i}]")
                     for i, s in enumerate(columns["pred_score"] or [])]
            if pid in seen:
                skipped[DUPLICATE] += len(texts)
                continue
            seen.add(pid)
            problems.append(problem)
            n = max(n, len(texts))
            for i, text in enumerate(texts):
                completions.append({"problem_id": pid, "sample_idx": i, "text": text,
                                    "source_answer": columns["pred"][i] if columns["pred"] else None,
                                    "source_is_correct": columns["score"][i] if columns["score"] else None})
                sample = steps[i] if steps else None
                if sample is not None and not all(finite(s) for s in sample):
                    skipped[NON_FINITE] += 1
                    continue
                scores += [{"problem_id": pid, "sample_idx": i, "prm_model": prm_model, "kind": "step",
                            "step_idx": j, "score": s} for j, s in enumerate(sample or [])]
        warnings = [] if "dataset" not in guessed else [
            f"dataset: problems filed under {dataset!r} ({provenance['dataset']}); set it with --meta dataset=…"]
        model = model_in_path(path, stem="")  # the file name holds the prompt type (qwen25-math-cot), no model
        if model:
            provenance["model"], guessed = "guessed from the folder names", guessed | {"model"}
        params = _file_params(path)
        provenance.update({key: "file name" for key in params})
        claims = _metrics_claims(path)
        meta = {"name": path.stem, "source_uri": str(path.resolve()), "dataset": dataset,
                "model": model, "approach": "sampling", "n": n,
                "prm_model": prm_model if scores else None, **params,
                "config": {"file": path.name, **params}}
        identity = {"sha256": content_hash(path), "dataset": dataset, "prm_model": meta["prm_model"]}

        def batches():
            if completions:
                yield "completions", completions
            if scores:
                yield "prm_scores", scores
            if claims:
                yield "source_claims", claims

        return RunData(identity=identity, meta=meta, problems=problems_table(problems), batches=batches,
                       skipped=skipped, warnings=warnings, provenance=provenance, guessed=guessed)


READER = QwenMathReader()
