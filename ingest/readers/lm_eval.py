"""lm-eval output folders: one run per results file, with the per-doc samples logged beside it.

Sources: a results file, a folder holding results files (lm-eval's `<output_path>/<model>/`), or
the --output_path folder itself (its model subfolders are searched). A results file is told by its
name (`results_<time>.json`) or, under any name (`<name>_<time>.json` when --output_path named a
.json file, or one its author renamed), by its content: a `results` object beside another of
lm-eval's keys (configs, versions, n-shot, config, …). Its samples are the `samples_<task>_<time>.jsonl`
files beside it with the same <time> (--log_samples); when none has it, those of the tasks the
results name, provided they share one <time> that no other results file there has. A results JSON
that embeds them (`"samples": {task: [...]}`, `evaluate()`'s return value dumped whole, as
sample_smart_not_hard's scripts write it) is read the same way. The identity of a run is the
content hash of its results file and its samples files.

Rows:
  runs             approach 'lm_eval'; model = model_name, else model_args' pretrained=, else --model;
                   dataset = --dataset, else the task names; config = lm-eval's `config` block;
                   versions = task versions, n-shot, lm-eval/transformers versions, git hash;
                   decoder_params = each task's generation_kwargs updated by gen_kwargs (as lm-eval
                   applies them; keyed by task when tasks differ); decoder 'sampling' when do_sample,
                   else 'greedy' (temperature 0); temperature, top_p, top_k, max_tokens (max_gen_toks)
                   and n (repeats) when every task agrees.
  lm_eval_samples  one row per (task, doc_id, filter, repeat_idx). A samples line holds per request
                   (one for generate_until, one per choice for loglikelihood) a list of responses, one
                   per repeat: response = that repeat's (JSON when not a string; a JSON list over the
                   requests when there are several). filtered_resps holds per request either one
                   value per repeat (a filter that keeps every repeat) or one value for the doc (a
                   filter that reduces them, e.g. take_first, majority_vote): the former goes to its
                   repeat's row, the latter to every row of the doc. Metrics are per doc (lm-eval
                   computes them on the filtered responses of the doc): `metrics` holds them all as
                   JSON and exact_match / acc / acc_norm are typed copies on every row of the doc; a
                   metric given as a list of one number per repeat goes to its repeat's row.
  completions      one per (doc, repeat) of a text response (generate_until): text = the response,
                   sample_idx = the repeat, and from the lines of the task's answer filter
                   (`answer_filter`: flexible-extract, custom-extract, another *extract*, 'none', …;
                   runs.config['answer_filter'] = {task: filter}) source_answer = the filtered
                   response (docs of one repeat) and source_is_correct = exact_match (else acc) where
                   it is per response; `ttsw grade` grades them against the target like any run's.
  source_claims    every numeric entry of `results` (tasks and groups): claim '<task>/<metric>,<filter>'
                   (stderr entries too), value; and per task of `n-samples` the docs it claims:
                   claim '<task>/n-samples', method 'docs_claimed', value = effective, else original.
  problems         one per (task, doc_id): dataset = task, original_id = doc_id, problem = the doc's
                   question field (question, problem, query, input, …), else the prompt; gold = target.

Warnings: a task whose samples hold fewer distinct docs than its claimed count (a partial or
missing log; one line listing them when there are more than three), and a samples file that is a
Git LFS pointer (the run is written without that task's samples; `git lfs pull`, then ingest again).

Bad input (`jsonio` policy): unreadable files and lines, missing fields and wrong types are errors
naming file, line and field (a results file that is an LFS pointer too); a repeated (task, doc_id,
filter) line keeps its first copy and skips identical later ones (counted), and is an error when
they differ.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from itertools import chain
from typing import Any, Container, Iterable, Iterator

import pyarrow as pa

from ingest.readers.base import RunData, RunListing, SourceError
from ingest.readers.jsonio import (LfsPointer, Place, content_hash, first_key, is_lfs_pointer, iter_jsonl, keys_in,
                                   load_json, peek, problems_table)
from warehouse.problems import problem_id
from warehouse.runs import derive_run_id

NAME = "lm-eval"
APPROACH = "lm_eval"
TYPED_METRICS = ("exact_match", "acc", "acc_norm")
QUESTION_KEYS = ("question", "problem", "query", "input", "prompt", "text", "sentence", "ctx")
SAMPLE_KEYS = {"doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "filter", "metrics",
               "doc_hash", "prompt_hash", "target_hash"}
DUPLICATE_LINE = "duplicate lm-eval sample lines (same task, doc_id, filter): later copies skipped"
NON_FINITE_CLAIM = "lm-eval aggregate metrics that are not finite numbers"
DOCS_CLAIMED = "docs_claimed"
# Keys lm-eval writes beside `results` (evaluate()'s return value, simple_evaluate's additions, 0.3's
# "config"): one of them next to a `results` object tells a results file from other JSON.
RESULTS_KEYS = {"configs", "versions", "n-shot", "n-samples", "config", "higher_is_better", "group_subtasks",
                "lm_eval_version", "task_hashes", "total_evaluation_time_seconds"}
SHORT_TASKS_LISTED = 3  # more tasks short of their claimed docs than this: one warning line for them all
_RESULTS_OBJECT = re.compile(rb'"results"\s*:\s*\{')
_TIMED_NAME = re.compile(r"^(?P<stem>.+)_(?P<time>[^_]+)$")


def is_results_file(path: Path) -> bool:
    """Whether a file is an lm-eval results JSON: named as lm-eval names it (results_*.json; reading
    it then says what is wrong with it, an LFS pointer included), or, under any name, by content: a
    `results` object and another of lm-eval's keys in its first or last 64 KB."""
    if path.suffix != ".json" or not path.is_file():
        return False
    if path.name.startswith("results_"):
        return True
    try:
        head = peek(path)
    except LfsPointer:
        return False
    return bool(_RESULTS_OBJECT.search(head)) and bool(
        keys_in(head) & RESULTS_KEYS or keys_in(peek(path, end=True)) & RESULTS_KEYS)


def results_files(source: str) -> list[Path]:
    """The results files a source names: itself, or those in the folder and its subfolders at any depth
    (one run each; its samples files are the ones beside it)."""
    path = Path(source)
    if path.is_file():
        return [path]
    if path.is_dir():
        return [p for p in sorted(path.rglob("*.json")) if is_results_file(p)]
    raise SourceError(source, "no such file or folder")


def time_of(path: Path) -> str | None:
    """The <time> lm-eval puts at the end of its file names (`results_<time>.json`; it holds no `_`)."""
    match = _TIMED_NAME.match(path.name.removesuffix(".jsonl").removesuffix(".json"))
    return match["time"] if match else None


@dataclass(frozen=True)
class SamplesFile:
    """A samples file and what its name says: the task, and lm-eval's <time> (None when it has none)."""

    path: Path
    task: str
    time: str | None


def samples_file(path: Path, tasks: Container[str] = ()) -> SamplesFile | None:
    """`samples_<task>_<time>.jsonl` read as (task, time); `samples_<task>.jsonl` for a known task."""
    stem = path.name.removesuffix(".jsonl")
    if not path.name.endswith(".jsonl") or not stem.startswith("samples_"):
        return None
    rest = stem[len("samples_"):]
    if rest in tasks:
        return SamplesFile(path, rest, None)
    task, _, time = rest.rpartition("_")
    return SamplesFile(path, task, time) if task else None


def task_names(results: dict) -> list[str]:
    """Every task and group the results name (configs, results, n-samples), in their order."""
    names = chain(*((results.get(key) or {}) for key in ("configs", "results", "n-samples")
                    if isinstance(results.get(key), dict)))
    return list(dict.fromkeys(names))


def samples_files(results_path: Path, results: dict) -> dict[str, Path]:
    """task -> samples file of a results file: the samples_<task>_<time>.jsonl beside it with its
    <time>; when none has it (a renamed file), those of the results' tasks whose <time> is no other
    results file's, provided they share one <time>."""
    tasks = task_names(results)
    beside = [s for p in sorted(results_path.parent.glob("samples_*.jsonl")) if (s := samples_file(p, tasks))]
    time = time_of(results_path)
    timed = [s for s in beside if time is not None and s.time == time]
    if timed:
        return {s.task: s.path for s in timed}
    others = {time_of(p) for p in results_files(str(results_path.parent)) if p != results_path}
    loose = [s for s in beside if s.task in tasks and s.time not in others]
    times = sorted({str(s.time) for s in loose})
    if len(times) > 1:
        raise SourceError(results_path, f"samples files of its tasks carry {len(times)} different times "
                                        f"({', '.join(times)}) and none is this file's: which belong to it "
                                        "cannot be told; give each run's files a folder of their own")
    return {s.task: s.path for s in loose}


def task_of_samples_file(path: Path) -> str:
    """The task in `samples_<task>_<time>.jsonl` (<time> never holds an underscore)."""
    named = samples_file(path)
    if named is None:
        raise SourceError(path, "not an lm-eval samples file name (samples_<task>_<time>.jsonl)")
    return named.task


def iter_samples(path: Path, document: dict | None = None, *,
                 task: str | None = None) -> Iterator[tuple[str, Place, dict]]:
    """(task, place, record) for each logged sample: a samples .jsonl (of `task`, else the task in its
    name), or the `samples` of a results JSON (`document`, when it is already loaded)."""
    if path.suffix == ".jsonl":
        task = task or task_of_samples_file(path)
        for line, record in iter_jsonl(path):
            yield task, Place(str(path), line=line), record
        return
    document = load_json(path) if document is None else document
    embedded = document.get("samples") if isinstance(document, dict) else None
    if not isinstance(embedded, dict):
        raise SourceError(path, "holds no lm-eval samples (expected an object of task -> list)", field="samples")
    for task, records in embedded.items():
        if not isinstance(records, list):
            raise SourceError(path, "expected a list of samples", field=f"samples.{task}")
        for row, record in enumerate(records):
            place = Place(str(path), row=row)
            yield task, place, place.check(record, "object", f"samples.{task}[{row}]")


@dataclass
class Sample:
    """One samples line, checked: the doc's responses per repeat and everything lm-eval logged with them."""

    task: str
    doc_id: int
    filter: str
    target: str
    responses: list[Any]      # per repeat: the response (a list over requests when several)
    filtered: list[Any]       # per repeat: the filtered response, or the doc's one when the filter reduced them
    metrics: dict[str, Any]
    hashes: dict[str, str | None]
    problem: dict[str, Any] = field(repr=False)

    @property
    def repeats(self) -> int:
        return len(self.responses)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) or value is None else json.dumps(value, ensure_ascii=False)


def _per_repeat(value: Any, repeats: int, r: int) -> Any:
    """The entry of repeat r when `value` holds one per repeat, else `value` itself (it is the doc's)."""
    return value[r] if isinstance(value, list) and len(value) == repeats else value


def _prompt(arguments: Any) -> str | None:
    """The first request's prompt, from lm-eval's sanitized {gen_args_0: {arg_0: …}} or a raw list."""
    first = next(iter(arguments.values()), None) if isinstance(arguments, dict) else (arguments or [None])[0]
    value = (next(iter(first.values()), None) if isinstance(first, dict)
             else first[0] if isinstance(first, list) and first else None)
    return value if isinstance(value, str) else None


def parse_sample(task: str, place: Place, record: dict) -> Sample:
    doc_id = place.get(record, "doc_id", "int")
    resps = place.get(record, "resps", "list")
    requests = resps if resps and all(isinstance(r, list) for r in resps) else [resps]
    repeats = len(requests[0])
    if repeats == 0 or any(len(r) != repeats for r in requests):
        raise place.error(f"expected the same number (≥ 1) of responses per request, got "
                          f"{[len(r) for r in requests]}", "resps")
    filtered = place.get(record, "filtered_resps", "list")
    if len(filtered) != len(requests):
        raise place.error(f"has {len(filtered)} entries but resps has {len(requests)} requests", "filtered_resps")

    def over_requests(values: list[Any]) -> Any:
        return values[0] if len(values) == 1 else values

    names = record.get("metrics")
    if names is None:  # lm-eval before 0.4.3 logged no list of names
        names = [k for k in record if k not in SAMPLE_KEYS]
    names = place.items({"metrics": names}, "metrics", "text")
    target = record.get("target")
    if target is None:
        raise place.error("missing" if "target" not in record else "is null", "target")
    doc = record.get("doc") if isinstance(record.get("doc"), dict) else {}
    question_key = first_key({k for k, v in doc.items() if isinstance(v, str)}, QUESTION_KEYS)
    question = doc[question_key] if question_key else _prompt(record.get("arguments"))
    return Sample(
        task=task, doc_id=doc_id, filter=place.get(record, "filter", "text"), target=_text(target),
        responses=[over_requests([req[r] for req in requests]) for r in range(repeats)],
        filtered=[over_requests([_per_repeat(f, repeats, r) for f in filtered]) for r in range(repeats)],
        metrics={name: record.get(name) for name in names},
        hashes={key: place.get(record, key, "text", required=False)
                for key in ("doc_hash", "prompt_hash", "target_hash")},
        problem={"problem_id": problem_id(task, str(doc_id)), "dataset": task, "original_id": str(doc_id),
                 "problem": question if question is not None else json.dumps(doc, ensure_ascii=False),
                 "gold_answer": _text(target)},
    )


def _number(value: Any) -> float | None:
    """A metric value as a float (true/false as 1/0); None when it is not a finite number."""
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _metric(value: Any, repeats: int, r: int) -> float | None:
    if isinstance(value, list) and len(value) == repeats > 1 and all(_number(v) is not None for v in value):
        return _number(value[r])
    return _number(value)


class Samples:
    """The checked samples of a run, in file order, with duplicates handled (see the module doc)."""

    def __init__(self) -> None:
        self.by_task: dict[str, list[Sample]] = {}
        self.skipped: Counter = Counter()
        self._seen: dict[tuple[str, int, str], tuple[bytes, Place]] = {}

    def add(self, task: str, place: Place, record: dict) -> None:
        sample = parse_sample(task, place, record)
        key = (task, sample.doc_id, sample.filter)
        digest = hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).digest()
        if key in self._seen:
            first_digest, first = self._seen[key]
            if digest != first_digest:
                where = f"line {first.line}" if first.line is not None else f"row {first.row}"
                raise place.error(f"doc_id {sample.doc_id} under filter {sample.filter!r} appears again "
                                  f"with different content (first at {where})", "doc_id")
            self.skipped[DUPLICATE_LINE] += 1
            return
        self._seen[key] = (digest, place)
        self.by_task.setdefault(task, []).append(sample)

    def problems(self) -> pa.Table:
        return problems_table([s.problem for samples in self.by_task.values() for s in samples])

    def answer_filters(self) -> dict[str, str]:
        """task -> the filter whose lines give the source's answers (`answer_filter` of those logged)."""
        return {task: answer_filter(list(dict.fromkeys(s.filter for s in samples)))
                for task, samples in self.by_task.items()}

    def docs_logged(self) -> dict[str, int]:
        return {task: len({s.doc_id for s in samples}) for task, samples in self.by_task.items()}

    def responses(self) -> list[tuple[Sample, int]]:
        """(sample, repeat) in lm-eval's request order: tasks, then docs, then repeats; the lines of
        each task's answer filter (every filter logs the same responses)."""
        filters = self.answer_filters()
        return [(s, r) for task, samples in self.by_task.items()
                for s in samples if s.filter == filters[task] for r in range(s.repeats)]


def answer_filter(filters: list[str]) -> str | None:
    """The headline filter of a task among its filters: the one whose filtered response is the
    answer lm-eval scores the task by. flexible-extract (GSM8K's, beside strict-match's exact
    format), else custom-extract (MMLU-Pro's), else another *extract* filter that is not
    strict-match, else "none" (lm-eval's name when a task has no filter list), else the first by name."""
    present = set(filters)
    for name in ("flexible-extract", "custom-extract"):
        if name in present:
            return name
    extracting = sorted(f for f in present if "extract" in f and f != "strict-match")
    if extracting:
        return extracting[0]
    if "none" in present:
        return "none"
    return min(present, default=None)


def read_samples(records: Iterable[tuple[str, Place, dict]]) -> Samples:
    samples = Samples()
    for task, place, record in records:
        samples.add(task, place, record)
    return samples


def sample_rows(run_id: str, samples: list[Sample]) -> dict[str, list]:
    columns: dict[str, list] = {name: [] for name in (
        "run_id", "task", "doc_id", "filter", "repeat_idx", "target", "response", "filtered_response",
        "metrics", *TYPED_METRICS, "doc_hash", "prompt_hash", "target_hash")}
    for s in samples:
        metrics_json = json.dumps(s.metrics, ensure_ascii=False, default=str)
        for r in range(s.repeats):
            for key, value in (("run_id", run_id), ("task", s.task), ("doc_id", s.doc_id), ("filter", s.filter),
                               ("repeat_idx", r), ("target", s.target), ("response", _text(s.responses[r])),
                               ("filtered_response", _text(s.filtered[r])), ("metrics", metrics_json),
                               *((m, _metric(s.metrics.get(m), s.repeats, r)) for m in TYPED_METRICS),
                               *s.hashes.items()):
                columns[key].append(value)
    return columns


def completion_rows(run_id: str, responses: list[tuple[Sample, int]],
                    temperature: float | None) -> dict[str, list]:
    """completions of the text responses (generate_until), one per (doc, repeat), so `ttsw grade`
    grades them like any other run. source_answer = the filtered response (one-repeat docs only:
    with repeats a filter may reduce them to one value for the doc) and source_is_correct = the
    metric where lm-eval logged it per repeat (or the doc has one repeat); loglikelihood
    responses (lists of numbers) are not completions and are left to lm_eval_samples."""
    columns: dict[str, list] = {name: [] for name in (
        "run_id", "problem_id", "sample_idx", "temperature", "text", "source_answer", "source_is_correct")}
    for s, r in responses:
        if not isinstance(s.responses[r], str):
            continue
        filtered = s.filtered[r] if s.repeats == 1 else None  # a reducing filter's value is the doc's
        metric = next((m for m in (_metric(s.metrics.get(name), s.repeats, r) for name in TYPED_METRICS)
                       if m is not None), None)
        per_response = s.repeats == 1 or any(isinstance(s.metrics.get(m), list) for m in TYPED_METRICS)
        for key, value in (("run_id", run_id), ("problem_id", s.problem["problem_id"]), ("sample_idx", r),
                           ("temperature", temperature), ("text", s.responses[r]),
                           ("source_answer", filtered if isinstance(filtered, str) else None),
                           ("source_is_correct", metric == 1.0 if per_response and metric is not None else None)):
            columns[key].append(value)
    return columns


def claims(run_id: str, results: dict, skipped: Counter) -> list[dict]:
    rows = []
    for task, metrics in results.items():
        for key, value in (metrics.items() if isinstance(metrics, dict) else ()):
            if key in ("alias", "name", "sample_len") or isinstance(value, str):
                continue  # labels, and lm-eval's "N/A" stderr
            number = _number(value)
            if number is None:
                skipped[NON_FINITE_CLAIM] += 1
                continue
            rows.append({"run_id": run_id, "problem_id": None, "claim": f"{task}/{key}", "value": number})
    return rows


def _parse_kwargs(value: Any) -> dict[str, Any]:
    """gen_kwargs as a dict (lm-eval ≥ 0.4.8) or its CLI string 'max_gen_toks=8,do_sample=True'."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str) or not value.strip():
        return {}
    out: dict[str, Any] = {}
    for item in value.split(","):
        key, _, raw = item.partition("=")
        literal = {"true": True, "false": False, "none": None}.get(raw.strip().lower(), raw.strip())
        for cast in (int, float):
            try:
                literal = cast(literal)
                break
            except (TypeError, ValueError):
                continue
        out[key.strip()] = literal
    return out


_DECODING_KINDS = {"n": "int", "top_k": "int", "max_tokens": "int", "temperature": "number", "top_p": "number"}


def decoding(results: dict, path: Path) -> dict[str, Any]:
    """The runs columns that describe decoding, from the tasks' generation_kwargs and gen_kwargs of the
    results file at `path`; a value of the wrong kind (text, NaN, an integer beyond 64 bits) is an error."""
    out = _decoding(results)
    place = Place(str(path))
    for column, kind in _DECODING_KINDS.items():
        if out.get(column) is not None:
            value = place.check(out[column], kind, "repeats" if column == "n" else column)
            if kind == "number" and not math.isfinite(value):
                raise place.error(f"expected a finite number, got {value}", column)
    return out


def _decoding(results: dict) -> dict[str, Any]:
    config = results.get("config") if isinstance(results.get("config"), dict) else {}
    overrides = _parse_kwargs(config.get("gen_kwargs"))
    configs = results.get("configs") if isinstance(results.get("configs"), dict) else {}
    per_task = {task: {**(c.get("generation_kwargs") or {}), **overrides}
                for task, c in configs.items() if isinstance(c, dict) and c.get("output_type") == "generate_until"}
    repeats = {c.get("repeats") for c in configs.values() if isinstance(c, dict)}
    out: dict[str, Any] = {"n": repeats.pop() if len(repeats) == 1 else None}
    kinds = [dict(sorted(k.items())) for k in per_task.values()]
    if not kinds:
        return out
    same = all(k == kinds[0] for k in kinds)
    out["decoder_params"] = kinds[0] if same else per_task
    if same:
        params = kinds[0]
        sampling = bool(params.get("do_sample")) and params.get("temperature", 1.0) != 0
        out.update(decoder="sampling" if sampling else "greedy",
                   temperature=params.get("temperature") if sampling else 0.0,
                   top_p=params.get("top_p"), top_k=params.get("top_k"), max_tokens=params.get("max_gen_toks"))
    return out


def model_name(results: dict) -> str | None:
    if isinstance(results.get("model_name"), str):
        return results["model_name"]
    args = (results.get("config") or {}).get("model_args")
    if isinstance(args, dict):
        return args.get("pretrained")
    match = re.search(r"(?:^|,)\s*pretrained=([^,]+)", args) if isinstance(args, str) else None
    return match[1] if match else None


def load_results(path: Path) -> dict:
    results = load_json(path)
    if not isinstance(results, dict) or not isinstance(results.get("results"), dict):
        raise SourceError(path, "not an lm-eval results file (expected an object with a 'results' object)",
                          field="results")
    return results


def run_meta(path: Path, results: dict, tasks: list[str], options: dict[str, Any]) -> dict[str, Any]:
    versions = {key: results.get(key) for key in ("versions", "n-shot", "lm_eval_version", "transformers_version",
                                                  "git_hash") if results.get(key) is not None}
    return {"name": f"{path.parent.name}/{path.stem}", "source_uri": str(path.resolve()), "approach": APPROACH,
            "model": model_name(results) or options.get("model"),
            "dataset": options.get("dataset") or ",".join(tasks) or None,
            "config": results.get("config"), "versions": versions, **decoding(results, path)}


def docs_claimed(results: dict) -> dict[str, int]:
    """task -> the docs the results say were evaluated: n-samples' effective (after --limit), else original."""
    out = {}
    for task, counts in (results.get("n-samples") or {}).items():
        counts = counts if isinstance(counts, dict) else {"effective": counts}
        n = next((counts[k] for k in ("effective", "original") if isinstance(counts.get(k), int)), None)
        if n is not None and not isinstance(n, bool):
            out[task] = n
    return out


def docs_claimed_rows(run_id: str, claimed: dict[str, int]) -> list[dict]:
    return [{"run_id": run_id, "problem_id": None, "claim": f"{task}/n-samples", "method": DOCS_CLAIMED,
             "n": None, "value": float(n)} for task, n in claimed.items()]


def coverage_warnings(tasks: list[str], claimed: dict[str, int], logged: dict[str, int]) -> list[str]:
    """One line per task whose samples hold fewer docs than the results claim (or none, where the
    results claim no count); a single line listing them when there are many."""
    short = [(task, logged.get(task, 0), claimed.get(task)) for task in dict.fromkeys([*tasks, *claimed])
             if (logged.get(task, 0) < claimed[task] if task in claimed else not logged.get(task))]
    if not short:
        return []
    hint = " (no samples file: run without --log_samples?)"
    if len(short) <= SHORT_TASKS_LISTED:
        return [f"task {task}: {n} of {of if of is not None else '?'} docs logged{hint if n == 0 else ''}"
                for task, n, of in short]
    listed = ", ".join(f"{task} {n} of {of if of is not None else '?'}" for task, n, of in short)
    return [f"{len(short)} tasks have fewer docs logged than the results claim: {listed}"]


class LmEvalReader:
    name = NAME
    description = "lm-eval output folders (a results JSON under any name + samples_*.jsonl)"

    def sniff(self, source: str) -> bool:
        path = Path(source)
        if path.is_dir():
            return any(map(is_results_file, path.rglob("*.json")))
        if path.suffix == ".json" and path.is_file():
            peek(path)  # a Git LFS pointer is an error that says to pull it, not an unknown format
            return is_results_file(path)
        return False

    def list_runs(self, source: str, options: dict[str, Any]) -> list[RunListing]:
        listings = []
        for path in results_files(source):
            files = samples_files(path, load_results(path))
            listings.append(RunListing(str(path), f"{path.parent.name}/{path.stem}",
                                       {"tasks": ",".join(files), "samples files": len(files)}))
        return listings

    def read(self, source: str, options: dict[str, Any]) -> Iterator[RunData]:
        paths = results_files(source)
        if not paths:
            raise SourceError(source, "no lm-eval results file here or in its subfolders "
                                      "(a JSON object with a 'results' object and 'configs' or 'versions')")
        for path in paths:
            yield self._run(path, options)

    def _run(self, path: Path, options: dict[str, Any]) -> RunData:
        results = load_results(path)
        files = samples_files(path, results)
        pointers = {task: p for task, p in files.items() if is_lfs_pointer(p)}
        embedded = iter_samples(path, results) if "samples" in results else ()
        samples = read_samples(chain(*(iter_samples(p, task=task) for task, p in files.items()
                                       if task not in pointers), embedded))
        tasks = list(results.get("configs") or {}) or list(samples.by_task)
        meta = run_meta(path, results, tasks, options)
        filters = samples.answer_filters()
        if filters and isinstance(meta["config"] or {}, dict):
            meta["config"] = {**(meta["config"] or {}), "answer_filter": filters}
        identity = {"results": content_hash(path), "samples": sorted(content_hash(p) for p in files.values()),
                    "model": meta["model"], "dataset": meta["dataset"]}
        run_id = derive_run_id(NAME, identity)
        skipped = samples.skipped
        claimed = docs_claimed(results)
        warnings = [f"{p.name} is a Git LFS pointer, not the file: run `git lfs pull` and ingest again "
                    f"(task {task} has no samples until then)" for task, p in pointers.items()]
        warnings += coverage_warnings([t for t in tasks if t not in pointers],
                                      {t: n for t, n in claimed.items() if t not in pointers}, samples.docs_logged())

        def batches():
            for task_samples in samples.by_task.values():
                yield "lm_eval_samples", sample_rows(run_id, task_samples)
            completions = completion_rows(run_id, samples.responses(), meta.get("temperature"))
            if completions["run_id"]:
                yield "completions", completions
            for rows in (claims(run_id, results["results"], skipped), docs_claimed_rows(run_id, claimed)):
                if rows:
                    yield "source_claims", rows

        return RunData(identity=identity, meta=meta, problems=samples.problems(), batches=batches,
                       skipped=skipped, warnings=warnings)


READER = LmEvalReader()
