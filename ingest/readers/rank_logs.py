"""Rank logs of sample_smart_not_hard's `run_writeout.py`: low_conf_ranks_*.jsonl, all_sampled_ranks_*.jsonl.

Each line is one response, in lm-eval's request order (docs in order, then each doc's repeats), and
holds the ranks (1 = top) of the tokens sampled at that response's logged steps: a JSON list of
integers; `null` (nothing logged: no rows); or an object {"ranks": [...], "probs": [...]} whose
optional probs (one per rank) fill decode_events.prob (other keys are ignored). low_conf_ranks_*
lines become kind 'low_conf' (steps whose top-1 probability was under the threshold),
all_sampled_ranks_* lines kind 'all_sampled' (steps whose sampled token's probability was).

The lines align with the lm-eval samples file of the same run: --samples (a samples_<task>_<time>.jsonl,
or a results JSON that embeds `samples`), else the one samples_*.jsonl beside the log (or in a
subfolder of its folder). The responses of a samples file are counted over one filter's lines (every
filter logs the same responses): docs in file order, len(resps) each. A different count is an error
naming both files and both counts; nothing is guessed.

Sources: a rank log, or a folder of them (one run each). Each log is its own run (approach
'lm_eval'; identity = the content hashes of the log and the samples file, and the kind), with one decode_events
row per rank: problem_id = problem_id(task, doc_id) as the lm-eval reader files it (problems rows
too), sample_idx = the repeat, step = the index in the line's list. The run also carries the
samples file's lm_eval_samples rows and completions (as the lm-eval reader writes them, so
`ttsw grade` grades each response), so that one run holds both the ranks of each response and its
response, filtered answer and target (the low-confidence analyses join them through problems:
dataset = task, original_id = doc_id; a response with no events has no decode_events rows). Model
and decoding come from the results file beside the samples file when there is one, else --model.
A `null` line is read as no logged steps and counted in the summary.

Bad values: a rank below 1 and a prob outside [0, 1] are errors naming file, line and field (the
log is not what the writer writes); a prob that is NaN or inf is a counted skip of that one event
(its step keeps its index, so the line's other steps stay where they are). Nothing non-finite is stored.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

from ingest.readers import lm_eval
from ingest.readers.base import RunData, RunListing, SourceError
from ingest.readers.jsonio import Place, content_hash, iter_jsonl, kind_of
from warehouse.problems import problem_id
from warehouse.runs import derive_run_id

NAME = "rank-logs"
KINDS = {"low_conf_ranks_": "low_conf", "all_sampled_ranks_": "all_sampled"}
NULL_LINE = "rank-log lines that are null (read as responses with no logged steps)"
NON_FINITE_PROB = "rank-log events whose prob is NaN or inf"
_LOG_NAME = re.compile(r"^(low_conf_ranks|all_sampled_ranks)_.*\.jsonl$")


def kind_of_log(path: Path) -> str:
    for prefix, kind in KINDS.items():
        if path.name.startswith(prefix):
            return kind
    raise SourceError(path, "not a rank log name (low_conf_ranks_*.jsonl or all_sampled_ranks_*.jsonl)")


def rank_logs(source: str) -> list[Path]:
    path = Path(source)
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.iterdir() if _LOG_NAME.match(p.name))
    raise SourceError(source, "no such file or folder")


def find_samples(log: Path, given: str | None) -> Path:
    if given:
        if not Path(given).is_file():
            raise SourceError(given, "no such samples file (--samples)")
        return Path(given)
    found = sorted(log.parent.glob("samples_*.jsonl")) + sorted(log.parent.glob("*/samples_*.jsonl"))
    if len(found) != 1:
        what = (f"{len(found)} samples files ({', '.join(map(str, found))})" if found
                else "no lm-eval samples_*.jsonl")
        raise SourceError(log, f"{what} beside it; name the one it aligns to with --samples")
    return found[0]


def parse_line(place: Place, value: Any) -> tuple[list[int], list[float] | None]:
    """(ranks, probs or None) of one line: a list, or an object with ranks (and probs)."""
    probs = None
    if isinstance(value, dict):
        probs = place.items(value, "probs", "number", required=False)
        value = place.get(value, "ranks", "list")
    elif not isinstance(value, list):
        raise place.error(f"expected a list of ranks, null or an object with 'ranks', got {kind_of(value)}", "ranks")
    ranks = [place.check(r, "int", f"ranks[{i}]") for i, r in enumerate(value)]
    bad = next((i for i, r in enumerate(ranks) if r < 1), None)
    if bad is not None:
        raise place.error(f"a rank is 1 or more (1 = top), got {ranks[bad]}", f"ranks[{bad}]")
    if probs is not None and len(probs) != len(ranks):
        raise place.error(f"has {len(probs)} entries but ranks has {len(ranks)}", "probs")
    bad = next((i for i, p in enumerate(probs or []) if math.isfinite(p) and not 0 <= p <= 1), None)
    if bad is not None:
        raise place.error(f"{probs[bad]} is not a probability in [0, 1]", f"probs[{bad}]")
    return ranks, probs


def events(log: Path, kind: str, responses: list[tuple[lm_eval.Sample, int]], samples_path: Path,
           skipped: Counter) -> dict[str, list]:
    """decode_events columns (without run_id) of a log aligned to the samples' responses."""
    columns: dict[str, list] = {k: [] for k in ("problem_id", "sample_idx", "kind", "step", "rank", "prob")}
    count = 0
    for number, value in iter_jsonl(log, objects=False):
        if value is None:
            skipped[NULL_LINE] += 1
        ranks, probs = parse_line(Place(str(log), line=number), [] if value is None else value)
        if count < len(responses):
            sample, repeat = responses[count]
            pid = problem_id(sample.task, str(sample.doc_id))
            for step, rank in enumerate(ranks):
                if probs and not math.isfinite(probs[step]):
                    skipped[NON_FINITE_PROB] += 1
                    continue
                for key, item in (("problem_id", pid), ("sample_idx", repeat), ("kind", kind), ("step", step),
                                  ("rank", rank), ("prob", probs[step] if probs else None)):
                    columns[key].append(item)
        count += 1
    if count == 0:
        raise SourceError(log, "empty file: no rank lines")
    if count != len(responses):
        raise SourceError(log, f"{count} rank lines, but the samples file {samples_path} holds {len(responses)} "
                               "responses (docs × repeats); a rank log aligns one line per response")
    return columns


def _results_beside(samples_path: Path) -> dict:
    """The lm-eval results file written with a samples file (same <time>), when it is there."""
    if samples_path.suffix == ".json":
        return lm_eval.load_results(samples_path)
    time = samples_path.name.removesuffix(".jsonl").rsplit("_", 1)[-1]
    found = sorted(samples_path.parent.glob(f"*_{time}.json"))
    return lm_eval.load_results(found[0]) if found else {}


class RankLogsReader:
    name = NAME
    description = "low_conf_ranks_*.jsonl / all_sampled_ranks_*.jsonl (+ --samples)"

    def sniff(self, source: str) -> bool:
        path = Path(source)
        if path.is_dir():
            return any(_LOG_NAME.match(p.name) for p in path.iterdir())
        return bool(_LOG_NAME.match(path.name))

    def list_runs(self, source: str, options: dict[str, Any]) -> list[RunListing]:
        return [RunListing(str(log), log.stem, {"kind": kind_of_log(log), "samples": options.get("samples")})
                for log in rank_logs(source)]

    def read(self, source: str, options: dict[str, Any]) -> Iterator[RunData]:
        logs = rank_logs(source)
        if not logs:
            raise SourceError(source, "no low_conf_ranks_*.jsonl or all_sampled_ranks_*.jsonl here")
        for log in logs:
            yield self._run(log, options)

    def _run(self, log: Path, options: dict[str, Any]) -> RunData:
        kind = kind_of_log(log)
        samples_path = find_samples(log, options.get("samples"))
        samples = lm_eval.read_samples(lm_eval.iter_samples(samples_path))
        columns = events(log, kind, samples.responses(), samples_path, samples.skipped)
        results = _results_beside(samples_path)
        tasks = list(samples.by_task)
        meta = {"name": log.stem, "source_uri": str(log.resolve()), "approach": lm_eval.APPROACH,
                "model": lm_eval.model_name(results) or options.get("model"),
                "dataset": options.get("dataset") or ",".join(tasks),
                "config": {"rank_log": log.name, "kind": kind, "samples": samples_path.name,
                           "lm_eval": results.get("config")},
                **lm_eval.decoding(results, samples_path)}
        identity = {"log": content_hash(log), "kind": kind, "samples": content_hash(samples_path),
                    "model": meta["model"], "dataset": meta["dataset"]}
        run_id = derive_run_id(NAME, identity)

        def batches():
            for task_samples in samples.by_task.values():
                yield "lm_eval_samples", lm_eval.sample_rows(run_id, task_samples)
            completions = lm_eval.completion_rows(run_id, samples.responses(), meta.get("temperature"))
            if completions["run_id"]:
                yield "completions", completions
            yield "decode_events", {"run_id": [run_id] * len(columns["rank"]), **columns}

        return RunData(identity=identity, meta=meta, problems=samples.problems(), batches=batches,
                       skipped=samples.skipped)


READER = RankLogsReader()
