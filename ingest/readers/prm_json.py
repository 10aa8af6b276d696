"""PRM-reliability analysis JSON: the Best-of-N samples (step 1) or the correlation output (step 2).

Both are one JSON object with a "metadata" object; which step wrote it is told by its other key.

Samples, {"metadata": {...}, "results": [...]}. Keys read:
  metadata: model_name, dataset, N, temperature, max_tokens (all optional; all kept in config)
  results[i]: index (int, required), question (string, required), gold_answer (string or number),
              solutions (list, required) of {text (string, required), num_tokens (int, optional)}
  → runs (model, dataset, n = N, temperature, max_tokens, approach 'bon'), problems (original_id =
    index, gold_answer; dataset = metadata dataset, else --dataset, else 'prm-analysis' with a
    warning), completions (sample_idx = position in solutions, text, num_tokens).

Correlation output, {"metadata": {...}, "correlations": {...}[, "best_of_n_accuracy": ...]}. Keys read:
  metadata: prm_model, token_thresholds, aggregation_methods, model_name, dataset, N (all optional;
            all kept in config)
  correlations: {threshold: {aggregation: Pearson r}}, thresholds written as "512" or "tau=512"
  best_of_n_accuracy (optional): a number, or {aggregation: number}
  → a run (prm_model, model, dataset, n = N) with run-level source_claims: 'pearson@tau=512/mean'
    (method 'prm_correlation', n = threshold, prm_aggregation, value), and 'best_of_n_accuracy' or
    'best_of_n_accuracy/min' (method 'prm_best_of_n', n = N, prm_aggregation).

Bad input (shared policy, `jsonio`): unreadable JSON and wrong types are errors naming the file,
the 0-based row of `results` and the field; a repeated index keeps its first item and skips the
later ones' solutions (counted under DUPLICATE); a correlation or accuracy that is null, NaN or inf
is skipped (counted), as Pearson r is undefined when one side is constant.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from ingest.readers.base import RunData, RunListing, SourceError
from ingest.readers.jsonio import (DUPLICATE, Place, content_hash, finite, head_keys, kind_of, load_json,
                                   problems_table)
from warehouse.problems import problem_id

NAME = "prm-json"
FALLBACK_DATASET = "prm-analysis"
UNDEFINED = "correlations or accuracies that are null, NaN or inf"
_THRESHOLD = re.compile(r"(?:tau=|τ=)?(\d+)")


def _document(path: Path) -> tuple[dict, dict, Place]:
    doc = load_json(path)
    place = Place(str(path))
    if not isinstance(doc, dict):
        raise place.error(f"expected a JSON object with 'metadata', got {kind_of(doc)}")
    meta = place.get(doc, "metadata", "object")
    for key in ("results", "correlations"):
        if key in doc:
            return doc, meta, place
    raise place.error("has neither 'results' (samples) nor 'correlations' (analysis output)", "results")


def _run_meta(path: Path, place: Place, meta: dict, options: dict[str, Any]) -> dict[str, Any]:
    fields = {"model": place.get(meta, "model_name", "text", required=False),
              "dataset": place.get(meta, "dataset", "text", required=False),
              "n": place.get(meta, "N", "int", required=False),
              "temperature": place.get(meta, "temperature", "number", required=False),
              "max_tokens": place.get(meta, "max_tokens", "int", required=False),
              "prm_model": place.get(meta, "prm_model", "text", required=False)}
    if fields["temperature"] is not None and not finite(fields["temperature"]):
        raise place.error(f"expected a finite number, got {fields['temperature']}", "temperature")
    return {"name": path.stem, "source_uri": str(path.resolve()), "approach": "bon", "config": meta, **fields,
            "dataset": fields["dataset"] or options.get("dataset")}


def _samples(path: Path, doc: dict, dataset: str, skipped: Counter) -> tuple[list[dict], list[dict]]:
    problems, completions, seen = [], [], set()
    for row, item in enumerate(Place(str(path)).get(doc, "results", "list")):
        place = Place(str(path), row=row)
        if not isinstance(item, dict):
            raise place.error(f"expected an object, got {kind_of(item)}", "results")
        index = place.get(item, "index", "int")
        pid = problem_id(dataset, str(index))
        problem = {"problem_id": pid, "dataset": dataset, "original_id": str(index),
                   "problem": place.get(item, "question", "text"),
                   "gold_answer": place.get(item, "gold_answer", "answer", required=False)}
        solutions = place.items(item, "solutions", "object")
        rows = [{"problem_id": pid, "sample_idx": i,
                 "text": place.get(s, "text", "text"),
                 "num_tokens": place.get(s, "num_tokens", "int", required=False)} for i, s in enumerate(solutions)]
        if pid in seen:
            skipped[DUPLICATE] += len(rows)
            continue
        seen.add(pid)
        problems.append(problem)
        completions += rows
    return problems, completions


def _claims(path: Path, doc: dict, n: int | None, skipped: Counter) -> list[dict]:
    place = Place(str(path))
    claims = []

    def claim(name: str, method: str, value: Any, field: str, **columns) -> None:
        if value is None or not finite(place.check(value, "number", field)):
            skipped[UNDEFINED] += 1
        else:
            claims.append({"claim": name, "method": method, "value": float(value), **columns})

    for key, by_method in place.get(doc, "correlations", "object").items():
        match = _THRESHOLD.fullmatch(key.strip())
        if match is None:
            raise SourceError(path, f"expected a token threshold like '512', got {key!r}", field="correlations")
        threshold = int(match[1])
        for method, value in place.check(by_method, "object", f"correlations.{key}").items():
            claim(f"pearson@tau={threshold}/{method}", "prm_correlation", value, f"correlations.{key}.{method}",
                  n=threshold, prm_aggregation=method)
    accuracy = doc.get("best_of_n_accuracy")
    if isinstance(accuracy, dict):
        for method, value in accuracy.items():
            claim(f"best_of_n_accuracy/{method}", "prm_best_of_n", value, f"best_of_n_accuracy.{method}",
                  n=n, prm_aggregation=method)
    elif "best_of_n_accuracy" in doc:
        claim("best_of_n_accuracy", "prm_best_of_n", accuracy, "best_of_n_accuracy", n=n)
    return claims


class PrmJsonReader:
    name = NAME
    description = "PRM-reliability JSON (metadata + results/solutions) or its correlation output"

    def sniff(self, source: str) -> bool:
        path = Path(source)
        keys = head_keys(path) if path.suffix == ".json" and path.is_file() else set()
        samples, correlations = {"results", "solutions"} <= keys, bool(keys & {"correlations", "token_thresholds"})
        return "metadata" in keys and (samples or correlations)

    def list_runs(self, source: str, options: dict[str, Any]) -> list[RunListing]:
        path = Path(source)
        doc, meta, place = _document(path)
        run = _run_meta(path, place, meta, options)
        details = {"kind": "samples" if "results" in doc else "correlations"}
        details.update((key, run[key]) for key in ("model", "dataset", "n", "prm_model"))
        return [RunListing(source, path.stem, details)]

    def read(self, source: str, options: dict[str, Any]) -> list[RunData]:
        path = Path(source)
        doc, meta, place = _document(path)
        run = _run_meta(path, place, meta, options)
        skipped: Counter = Counter()
        warnings = []
        if "results" in doc:
            if not run["dataset"]:
                run["dataset"] = FALLBACK_DATASET
                warnings.append(f"no dataset in the file or --dataset; problems filed under {FALLBACK_DATASET!r}")
            problems, completions = _samples(path, doc, run["dataset"], skipped)
            batch, table = ("completions", completions), problems_table(problems)
        else:
            batch, table = ("source_claims", _claims(path, doc, run["n"], skipped)), None
        identity = {"sha256": content_hash(path), "kind": batch[0], "dataset": run["dataset"], "model": run["model"]}

        def batches():
            if batch[1]:
                yield batch

        return [RunData(identity=identity, meta=run, problems=table, batches=batches, skipped=skipped,
                        warnings=warnings)]


READER = PrmJsonReader()
