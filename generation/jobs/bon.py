"""The Best-of-N job: n samples per problem from a backend, written into the lake as one run.

Each problem becomes one request per temperature block (one block, or an HNC mixture's blocks in
ratio order: samples 0..c1-1 at the first temperature, and so on), each with its own seed derived
from the config's seed, the problem and the block, so any batch, shard or resume asks the same
questions. A part holds `part_size` problems: their completions and, with log_tokens, their
token_traces and decode_events (see warehouse.runs.write_in_parts for resume and shards).

The run id is a hash of the config's identity fields (model, backend, dataset and fields,
sampling, prompt, dtype; not the runtime knobs), so the same config finds the same run again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Callable

from generation.backends.base import TOKEN_LOG_COLUMNS, Backend, GenRequest, GenSample
from generation.config import GenerateConfig, identity, to_dict
from generation.datasets import Problem, dataset_name, load_problems, render
from generation.jobs.base import shard_of
from warehouse.runs import Outcome, write_in_parts
from warehouse.home import Home
from warehouse.runs import derive_run_id

JOB = "bon"
JOB_VERSION = 1
CHARS_PER_TOKEN = 4
TABLES = ("token_traces", "decode_events")
LOG_KEYS = ("top_logprobs", "low_conf_threshold", "all_sampled_threshold")


def run_identity(config: GenerateConfig) -> dict[str, Any]:
    """The config's identity fields (the logging settings only when tokens are logged), with the job."""
    fields = identity(config)
    if not config.log_tokens:
        fields = {k: v for k, v in fields.items() if k not in LOG_KEYS}
    return {"job": JOB, "job_version": JOB_VERSION, **fields}


def run_id_of(config: GenerateConfig) -> str:
    return derive_run_id("generated", run_identity(config))


def default_name(config: GenerateConfig) -> str:
    """gen/<model>/<dataset>/<approach>/<T or hnc-T...>/n<n>/seed<seed>[/first<k>], like simulated runs."""
    model = str(config.model).rstrip("/").rsplit("/", 1)[-1]
    data = dataset_name(config).rsplit("/", 1)[-1]
    if config.temperatures:
        parts = [f"{t:g}" for t in config.temperatures]
        if config.temperature_ratios:
            parts = [f"{part}x{r:g}" for part, r in zip(parts, config.temperature_ratios)]
        setting = "hnc-T" + "-".join(parts)
    else:
        setting = f"T{config.temperature:g}"
    name = f"gen/{model}/{data}/{config.run_approach}/{setting}/n{config.n}/seed{config.seed}"
    return name + (f"/first{config.max_queries}" if config.max_queries else "")


def _versions(backend: str) -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {"job": f"{JOB} v{JOB_VERSION}", "backend": backend}
    for package in ("tts-warehouse", "torch", "transformers", "vllm", "datasets"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            continue
    return out


def run_meta(config: GenerateConfig, source_uri: str | None = None) -> dict[str, Any]:
    """The `runs` row (status and timestamps come from the runner). Shards share it: the stored
    config leaves the shard out."""
    temperatures = list(config.temperatures) or [config.temperature]
    ratios = list(config.temperature_ratios) or [1.0] * len(temperatures)
    greedy = not config.temperatures and config.temperature == 0
    params = {"top_p": config.top_p, **({"top_k": config.top_k} if config.top_k else {}), **config.decoding}
    return {
        "run_id": run_id_of(config), "name": config.name or default_name(config), "source": "generated",
        "source_format": f"ttsw-generate-{JOB}", "source_uri": source_uri, "dataset": dataset_name(config),
        "model": config.model, "approach": config.run_approach, "strategy": config.strategy,
        "temperature": None if config.temperatures else config.temperature,
        "temperatures": temperatures, "temperature_ratios": [round(r / sum(ratios), 6) for r in ratios],
        "top_p": config.top_p, "top_k": config.top_k or None, "min_p": (config.decoding or {}).get("min_p"),
        "n": config.n, "seed": config.seed, "max_tokens": config.max_tokens,
        "decoder": "greedy" if greedy else "rules" if config.decoding else "sampling",
        "decoder_params": params,
        "category": config.category, "config": {**to_dict(config), "shard": None}, "notes": config.notes,
        "versions": _versions(config.backend),
    }


def request_seed(seed: int, problem_id: str, block: int) -> int:
    digest = hashlib.sha256(f"{seed}\x1f{problem_id}\x1f{block}".encode()).digest()
    return int.from_bytes(digest[:4], "big") >> 1  # 31 bits: every backend takes it


@dataclass(frozen=True)
class Slot:
    """Where a request's samples go: the problem and the sample index of its first sample."""

    problem: Problem
    first_sample: int
    temperature: float


def requests_for(config: GenerateConfig, problems: list[Problem]) -> dict[str, tuple[GenRequest, Slot]]:
    """request id -> (request, slot), one request per problem and temperature block."""
    out = {}
    rules = {**({"top_k": config.top_k} if config.top_k else {}), **config.decoding} or None
    for problem in problems:
        prompt = render(config, problem)
        first = 0
        for block, (temperature, count) in enumerate(config.temperature_blocks()):
            request = GenRequest(
                request_id=f"{problem.index}/{block}", n=count, temperature=temperature, top_p=config.top_p,
                max_tokens=config.max_tokens, seed=request_seed(config.seed, problem.problem_id, block),
                stop=tuple(config.stop), decoding=rules, log_tokens=config.log_tokens, **prompt)
            out[request.request_id] = (request, Slot(problem, first, temperature))
            first += count
    return out


@dataclass
class Plan:
    """What a run of this config would do, before any model is loaded."""

    config: GenerateConfig
    problems: list[Problem]  # every problem of the run
    mine: list[Problem]  # this shard's
    run_id: str
    meta: dict[str, Any]

    @property
    def samples(self) -> int:
        return len(self.mine) * self.config.n

    @property
    def requests(self) -> int:
        return len(self.mine) * len(self.config.temperature_blocks())


def plan(config: GenerateConfig, source_uri: str | None = None) -> Plan:
    problems = load_problems(config)
    meta = run_meta(config, source_uri)
    return Plan(config, problems, shard_of(config.shard).take(problems), meta["run_id"], meta)


def cost_estimate(plan: Plan) -> dict[str, Any] | None:
    """Tokens and USD from the prices (per 1M tokens); None without prices. Input: the rendered
    prompt's characters / 4, once per request (a request asks for its block's samples at once);
    output: n x (mean_output_tokens, else max_tokens: an upper bound) per problem."""
    prices = plan.config.prices
    if not prices:
        return None
    blocks = len(plan.config.temperature_blocks())
    chars = 0
    for problem in plan.mine:
        prompt = render(plan.config, problem)
        chars += sum(len(t["content"]) for t in prompt["messages"]) if "messages" in prompt else len(prompt["prompt"])
    per_sample = plan.config.mean_output_tokens or plan.config.max_tokens
    tokens_in = chars / CHARS_PER_TOKEN * blocks
    tokens_out = plan.samples * per_sample
    usd = tokens_in / 1e6 * prices.get("input", 0.0) + tokens_out / 1e6 * prices.get("output", 0.0)
    return {"input_tokens": round(tokens_in), "output_tokens": tokens_out, "usd": usd,
            "output_basis": "mean_output_tokens" if plan.config.mean_output_tokens else "max_tokens (upper bound)"}


def part_rows(run_id: str, slots: dict[str, tuple[GenRequest, Slot]],
              answers: list[tuple[GenRequest, list[GenSample]]]) -> dict[str, dict[str, list]]:
    """The completions, token_traces and decode_events columns of a part's answers."""
    completions: dict[str, list] = {k: [] for k in ("problem_id", "sample_idx", "temperature", "text",
                                                    "num_tokens", "finish_reason")}
    traces: dict[str, list] = {k: [] for k in ("problem_id", "sample_idx", *TOKEN_LOG_COLUMNS)}
    events: dict[str, list] = {k: [] for k in ("problem_id", "sample_idx", "kind", "step", "rank", "prob")}
    for request, samples in answers:
        slot = slots[request.request_id][1]
        if len(samples) != request.n:
            raise RuntimeError(f"request {request.request_id}: asked for {request.n} samples, got {len(samples)}")
        for offset, sample in enumerate(samples):
            idx = slot.first_sample + offset
            for key, value in (("problem_id", slot.problem.problem_id), ("sample_idx", idx),
                               ("temperature", slot.temperature), ("text", sample.text),
                               ("num_tokens", sample.num_tokens), ("finish_reason", sample.finish_reason)):
                completions[key].append(value)
            if sample.token_log is not None:
                length = len(sample.token_log["pos"])
                traces["problem_id"] += [slot.problem.problem_id] * length
                traces["sample_idx"] += [idx] * length
                for column in TOKEN_LOG_COLUMNS:
                    traces[column] += sample.token_log[column]
            for event in sample.decode_events:
                events["problem_id"].append(slot.problem.problem_id)
                events["sample_idx"].append(idx)
                for key in ("kind", "step", "rank", "prob"):
                    events[key].append(event.get(key))
    out = {"completions": completions, "token_traces": traces, "decode_events": events}
    return {table: {"run_id": [run_id] * len(cols["problem_id"]), **cols} for table, cols in out.items()
            if cols["problem_id"]}


def run_bon(home: Home, plan: Plan, make_backend: Callable[[], Backend], *,
            on_start: Callable[[list], None] | None = None,
            on_answer: Callable[[GenRequest, list[GenSample]], None] | None = None) -> Outcome:
    """Generate this shard's missing problems of the plan's run and write them; see the module docstring.

    The backend is made only when there is work (a complete run loads no model), before
    `on_start` hears the work (so a progress bar's clock leaves model loading out), and closed
    at the end.
    """
    from warehouse.lake import write_part

    # all of the run's problems, the same file from every shard
    write_part(home.ensure_writable(), "problems", [p.row for p in plan.problems], keys=["problems", plan.run_id])
    by_id = {p.problem_id: p for p in plan.problems}
    backends: list[Backend] = []

    def start(todo: list) -> None:
        if todo:
            backends.append(make_backend())
        if on_start is not None:
            on_start(todo)

    def work(problem_ids: list[str]) -> dict[str, Any]:
        slots = requests_for(plan.config, [by_id[pid] for pid in problem_ids])
        answers = []
        for request, samples in backends[0].generate([request for request, _ in slots.values()]):
            answers.append((request, samples))
            if on_answer is not None:
                on_answer(request, samples)
        missing = set(slots) - {request.request_id for request, _ in answers}
        if missing:
            raise RuntimeError(f"the {backends[0].name} backend answered no samples for {len(missing)} request(s)")
        return part_rows(plan.run_id, slots, answers)

    try:
        return write_in_parts(home, plan.meta, [p.problem_id for p in plan.problems],
                            shard=shard_of(plan.config.shard), part_size=plan.config.part_size,
                            marker="completions", key_column="problem_id", tables=TABLES, work=work,
                            on_start=start)
    finally:
        for backend in backends:
            backend.close()
