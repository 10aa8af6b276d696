"""Inspect AI eval logs: `.eval` (a zip of header.json, samples/*.json, …) and `.json` logs.

Sources: a log file, or a folder searched recursively for `*.eval` files and `*.json` Inspect logs
(other JSON files there are not Inspect's and are left alone). One run per log file. The logs are
read with Inspect's own log API (`inspect_ai.log.read_eval_log`, the `inspect` extra); sniffing
needs no Inspect, and reading without it is a one-line error saying which extra to install.
A log is read whole, its samples without their transcripts (`events`) and `store`.

Rows:
  runs           approach 'inspect'; model = eval.model; dataset = --dataset, else the
                 eval's dataset name, else the task name; name = '<task>/<log file stem>'; n = epochs;
                 temperature, top_p, top_k, max_tokens, seed from the generate config (the model's,
                 updated by the eval's plan config) where given; decoder 'greedy' at temperature 0,
                 'sampling' at another given temperature; config = task, task args, dataset, solver
                 and plan, generate config, eval config, scorers, Inspect version, status and error;
                 versions = the packages the log names. A log that did not end in 'success'
                 (error, cancelled, started) is still a run, with a warning naming its status.
  problems       one per sample id: original_id = the id, problem = the input (a chat input's
                 messages joined by a blank line; a multiple-choice sample's choices appended as
                 'A) …' lines), gold_answer = the target (several joined by ' | '), subject = the
                 sample's metadata 'subject' when it is a string.
  completions    one per sample × epoch: sample_idx = epoch - 1, text = the output's completion,
                 num_tokens and finish_reason from the output; source_answer = the first scorer's
                 answer, source_is_correct = its value when binary (C/I, N as wrong, true/false,
                 1/0), else null. A sample that ended in an error has no completion (counted).
  source_claims  per sample and scorer: claim = the scorer's name (for a dict-valued score, one
                 claim per key, named by the key as Inspect's results name it), value = the score
                 as a number (C 1, P 0.5, I and N 0, true/false, yes/no, numbers and numeric
                 strings), is_correct where binary, answer = the scorer's answer. With one epoch
                 that is the sample's score; with several it is Inspect's reduction over the epochs
                 (its `reductions`), and each epoch's own score is claim '<name>@epoch<e>'.
                 Per run: each metric of `results.scores`, claim '<name>/<metric>'. A name scored by
                 several reducers gets ':<reducer>' after it. Values that are no number (free text,
                 lists) and non-finite metrics are counted skips.

Identity: the log file's content hash (the runner adds what --meta gives), so ingesting it again
is a no-op. Each column's origin goes to `RunData.provenance`. Bad input: a corrupt zip, truncated JSON, bytes that are not UTF-8 or a log Inspect
cannot validate is a `SourceError` naming the file (and line or field where known); a repeated
(sample id, epoch) keeps its first copy (counted under DUPLICATE).
"""

from __future__ import annotations

import math
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

from ingest.readers.base import RunData, RunListing, SourceError
from ingest.readers.jsonio import DUPLICATE, content_hash, head_keys, load_json, problems_table
from warehouse.problems import problem_id

NAME = "inspect"
APPROACH = "inspect"
INSTALL_HINT = "install the inspect extra: pip install 'tts-warehouse[inspect]'"
TARGET_SEPARATOR = " | "
NOT_READ = {"events", "store"}  # sample fields the warehouse has no table for: left unparsed
JSON_LOG_KEYS = {"version", "status", "eval", "task", "model"}
ERRORED_SAMPLE = "Inspect samples that ended in an error (no completion)"
NOT_A_NUMBER = "Inspect score values that are no number (free text, lists): not kept as claims"
NON_FINITE_METRIC = "Inspect metrics that are not finite numbers"
_WORDS = {"yes": 1.0, "true": 1.0, "no": 0.0, "false": 0.0}


def is_eval_zip(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any(n == "header.json" or n.startswith("_journal/") for n in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def is_json_log(path: Path) -> bool:
    return path.suffix == ".json" and path.is_file() and JSON_LOG_KEYS <= head_keys(path)


def log_files(source: str) -> list[Path]:
    """The logs a source names: itself, or the `.eval` files and Inspect `.json` logs under a folder."""
    path = Path(source)
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and (p.suffix == ".eval" or is_json_log(p)))
    raise SourceError(source, "no such file or folder")


def _log_api():
    try:
        from inspect_ai import log
    except ImportError:
        return None
    return log


def _unreadable(path: Path, exc: Exception) -> SourceError:
    """What is wrong with a log Inspect could not read, in one line."""
    if path.suffix == ".json":
        load_json(path)  # raises with the line and column when the JSON itself is broken
    elif not zipfile.is_zipfile(path):
        return SourceError(path, "not a zip archive (an Inspect .eval log is one): corrupt or truncated")
    errors = getattr(exc, "errors", None)
    if callable(errors):  # pydantic's ValidationError: name the first field it rejects
        first = errors()[0]
        return SourceError(path, f"not a valid Inspect log: {first['msg']}",
                           field=".".join(str(part) for part in first["loc"]))
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    return SourceError(path, f"not a readable Inspect log: {lines[0]}")


def read_log(path: Path, *, header_only: bool = False):
    """The `EvalLog` of a file, read by Inspect; every failure a one-line `SourceError`."""
    api = _log_api()
    if api is None:
        raise SourceError(path, INSTALL_HINT)
    try:
        return api.read_eval_log(str(path), header_only=header_only, resolve_attachments="core",
                                 exclude_fields=NOT_READ)
    except Exception as exc:  # Inspect raises ValueError, UnicodeDecodeError, pydantic errors, …
        raise _unreadable(path, exc) from None


def score_number(value: Any) -> float | None:
    """A score value as Inspect's `value_to_float` reads it, except that a value it cannot read
    (free text, a list) is None instead of 0."""
    from inspect_ai.scorer import CORRECT, INCORRECT, NOANSWER, PARTIAL

    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    letters = {CORRECT: 1.0, PARTIAL: 0.5, INCORRECT: 0.0, NOANSWER: 0.0}
    if value in letters:
        return letters[value]
    if value.strip().lower() in _WORDS:
        return _WORDS[value.strip().lower()]
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def is_correct(number: float | None) -> bool | None:
    """A binary score's verdict; None for a partial or non-binary one."""
    return number == 1.0 if number in (0.0, 1.0) else None


def labels(pairs: list[tuple[str, str | None]]) -> list[str]:
    """Claim names for (name, reducer) pairs: the name, with ':<reducer>' where a name repeats."""
    counts = Counter(name for name, _ in pairs)
    return [name if counts[name] == 1 or not reducer else f"{name}:{reducer}" for name, reducer in pairs]


def score_claims(pid: str, label: str, value: Any, answer: str | None, skipped: Counter) -> list[dict]:
    """Claims of one score: one, or one per key of a dict-valued score (named by the key)."""
    items = value.items() if isinstance(value, dict) else [(label, value)]
    rows = []
    for name, item in items:
        number = score_number(item)
        if number is None:
            skipped[NOT_A_NUMBER] += 1
            continue
        rows.append(claim_row(pid, str(name), number, is_correct(number), answer if isinstance(answer, str) else None))
    return rows


def claim_row(pid: str | None, claim: str, value: float, verdict: bool | None = None,
              answer: str | None = None) -> dict[str, Any]:
    return {"problem_id": pid, "claim": claim, "value": value, "is_correct": verdict, "answer": answer}


def input_text(sample) -> str:
    """The sample's input as text: a chat input's messages joined, a multiple choice's choices appended."""
    text = sample.input if isinstance(sample.input, str) else "\n\n".join(m.text for m in sample.input)
    if sample.choices:
        text += "\n\n" + "\n".join(f"{chr(ord('A') + i)}) {choice}" for i, choice in enumerate(sample.choices))
    return text


def target_text(target: str | list[str]) -> str:
    return target if isinstance(target, str) else TARGET_SEPARATOR.join(target)


def generate_config(log) -> dict[str, Any]:
    """The generate config the eval ran with: the model's, updated by the eval's own (plan) config."""
    model_config = getattr(log.eval, "model_generate_config", None)
    merged = model_config.model_dump(mode="json", exclude_none=True) if model_config is not None else {}
    merged.update(log.plan.config.model_dump(mode="json", exclude_none=True))
    return merged


def epochs(log) -> int:
    """Epochs the eval ran: its config's, else (logs that do not say) the highest epoch logged."""
    return log.eval.config.epochs or max((s.epoch for s in log.samples or []), default=1)


def task_dataset(log) -> str:
    return log.eval.dataset.name or log.eval.task


DECODING = ("temperature", "top_p", "top_k", "max_tokens", "seed")


def provenance(log, options: dict[str, Any]) -> dict[str, str]:
    """Where each runs column came from (kept in runs.config by the runner)."""
    config = generate_config(log)
    dataset = ("given (--meta)" if options.get("dataset") else
               "log: eval.dataset.name" if log.eval.dataset.name else "log: eval.task (no dataset name)")
    return {"model": "log: eval.model", "dataset": dataset, "n": "log: eval.config.epochs", "approach": "format",
            **{key: "log: generate config" for key in DECODING if config.get(key) is not None}}


def run_meta(path: Path, log, options: dict[str, Any]) -> dict[str, Any]:
    """The runs columns a log states; --dataset (the problems are filed under it) replaces its dataset."""
    spec = log.eval
    config = generate_config(log)
    temperature = config.get("temperature")
    decoder = None if temperature is None else "greedy" if temperature == 0 else "sampling"
    return {
        "name": f"{spec.task}/{path.stem}", "source_uri": str(path.resolve()), "approach": APPROACH,
        "model": spec.model, "dataset": options.get("dataset") or task_dataset(log),
        "n": epochs(log), "temperature": temperature, "top_p": config.get("top_p"),
        "top_k": config.get("top_k"), "max_tokens": config.get("max_tokens"), "seed": config.get("seed"),
        "decoder": decoder, "decoder_params": config or None,
        "versions": spec.packages or None,
        "config": {
            "file": path.name, "status": log.status, "error": log.error.message if log.error else None,
            "task": spec.task, "task_id": spec.task_id, "task_version": spec.task_version,
            "task_file": spec.task_file, "task_args": spec.task_args, "inspect_run_id": spec.run_id,
            "created": spec.created, "dataset": spec.dataset.model_dump(mode="json", exclude_none=True),
            "solver": spec.solver, "solver_args": spec.solver_args,
            "plan": log.plan.model_dump(mode="json", exclude_none=True), "generate_config": config,
            "eval_config": spec.config.model_dump(mode="json", exclude_none=True),
            "scorers": [s.name for s in spec.scorers or []],
            "inspect_version": (spec.packages or {}).get("inspect_ai"),
        },
    }


class LogRows:
    """The problems, completions and claims of one log, built in one pass over its samples."""

    def __init__(self, log, dataset: str, temperature: float | None):
        self.skipped: Counter = Counter()
        self.problems: list[dict] = []
        self.completions: list[dict] = []
        self.claims: list[dict] = []
        self.epochs = epochs(log)
        self._dataset = dataset
        seen: set[tuple[str, int]] = set()
        for sample in log.samples or []:
            key = (str(sample.id), sample.epoch)
            if key in seen:
                self.skipped[DUPLICATE] += 1
                continue
            seen.add(key)
            self._add(sample, temperature)
        if self.epochs > 1:
            self._add_reductions(log.reductions or [])
        self._add_metrics(log.results.scores if log.results else [])

    def _pid(self, sample_id: Any) -> str:
        return problem_id(self._dataset, str(sample_id))

    def _add(self, sample, temperature: float | None) -> None:
        pid = self._pid(sample.id)
        subject = (sample.metadata or {}).get("subject")
        self.problems.append({"problem_id": pid, "dataset": self._dataset, "original_id": str(sample.id),
                              "problem": input_text(sample), "gold_answer": target_text(sample.target),
                              "subject": subject if isinstance(subject, str) else None})
        if sample.error is not None:
            self.skipped[ERRORED_SAMPLE] += 1
            return
        scores = list((sample.scores or {}).items())
        first = scores[0][1] if scores else None
        verdict = None if first is None or isinstance(first.value, dict) else is_correct(score_number(first.value))
        output = sample.output
        self.completions.append({
            "problem_id": pid, "sample_idx": sample.epoch - 1, "temperature": temperature,
            "text": output.completion, "num_tokens": output.usage.output_tokens if output.usage else None,
            "finish_reason": output.stop_reason, "source_answer": first.answer if first else None,
            "source_is_correct": verdict})
        suffix = f"@epoch{sample.epoch}" if self.epochs > 1 else ""
        for name, score in scores:
            label = f"{name}{suffix}"
            value = {f"{k}{suffix}": v for k, v in score.value.items()} if isinstance(score.value, dict) else score.value
            self.claims += score_claims(pid, label, value, score.answer, self.skipped)

    def _add_reductions(self, reductions) -> None:
        names = labels([(r.scorer, r.reducer) for r in reductions])
        for label, reduction in zip(names, reductions):
            for score in reduction.samples:
                self.claims += score_claims(self._pid(score.sample_id), label, score.value, score.answer,
                                            self.skipped)

    def _add_metrics(self, scores) -> None:
        names = labels([(s.name, s.reducer) for s in scores])
        for label, score in zip(names, scores):
            for metric, entry in score.metrics.items():
                if not isinstance(entry.value, (int, float)) or not math.isfinite(entry.value):
                    self.skipped[NON_FINITE_METRIC] += 1
                    continue
                self.claims.append(claim_row(None, f"{label}/{metric}", float(entry.value)))


class InspectReader:
    name = NAME
    description = "Inspect AI eval logs (.eval, .json), one run per log"

    def sniff(self, source: str) -> bool:
        path = Path(source)
        if path.is_dir():
            return any(p.is_file() and (p.suffix == ".eval" or is_json_log(p)) for p in path.rglob("*"))
        return path.is_file() and (path.suffix == ".eval" or is_json_log(path))

    def list_runs(self, source: str, options: dict[str, Any]) -> list[RunListing]:
        listings = []
        for path in log_files(source):
            log = read_log(path, header_only=True)
            meta = run_meta(path, log, options)
            listings.append(RunListing(str(path), meta["name"], {
                "status": log.status, "model": meta["model"], "dataset": meta["dataset"], "epochs": meta["n"],
                "samples": log.results.completed_samples if log.results else None}))
        return listings

    def read(self, source: str, options: dict[str, Any]) -> Iterator[RunData]:
        paths = log_files(source)
        if not paths:
            raise SourceError(source, "no Inspect logs (*.eval, Inspect *.json) here or in its subfolders")
        for path in paths:
            yield self._run(path, options)

    def _run(self, path: Path, options: dict[str, Any]) -> RunData:
        log = read_log(path)
        meta = run_meta(path, log, options)
        rows = LogRows(log, meta["dataset"], meta["temperature"])
        warnings = []
        if log.status != "success":
            error = f": {log.error.message.strip().splitlines()[0]}" if log.error and log.error.message else ""
            warnings.append(f"the eval ended with status {log.status!r}{error}")
        if not rows.completions:
            warnings.append("the log holds no completed samples" + (
                "; its run-level scores are kept as claims" if any(c["problem_id"] is None for c in rows.claims)
                else ""))
        identity = {"sha256": content_hash(path)}  # the runner adds what --meta/--dataset give

        def batches():
            if rows.completions:
                yield "completions", rows.completions
            if rows.claims:
                yield "source_claims", rows.claims

        return RunData(identity=identity, meta=meta, problems=problems_table(rows.problems), batches=batches,
                       skipped=rows.skipped, warnings=warnings, provenance=provenance(log, options))


READER = InspectReader()
