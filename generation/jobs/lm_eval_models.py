"""Our decoding rules and rank logging inside lm-eval's models, and the task `repeats` override.

lm-eval batches and reorders generate_until requests (longest prompt first, grouped by
generation arguments) and puts the answers back in request order itself; a rank log must be in
request order too. So each request is tagged with its index before lm-eval sees it, and the
tag comes back with every row lm-eval generates:

- hf (`RulesHFLM`, a subclass of lm-eval's HFLM): the prompt string is an `Indexed` str carrying
  the index; `tok_batch_encode` (called once per batch, just before `_model_generate`) reads
  the indices of the batch's rows, and `_model_generate` passes our LogitsProcessor to
  transformers' `generate` and files each row's decode events under its index.
- vllm (`vllm_model`, a subclass of lm-eval's VLLM, built only where vllm imports): the index
  and the rules travel in each request's SamplingParams.extra_args (`vllm_gen_kwargs`); our
  engine-level processor (generation.decoding.vllm) reads the rules, and `_model_generate`
  reads the index back from the SamplingParams of each output.

The rules of a request are its generation arguments' temperature, top_p and top_k (read as
lm-eval reads them: without do_sample, sampling iff temperature > 0; do_sample=False is greedy)
plus the config's `decoding:` rules. Decode events are the hf backend's (generation.decoding.hf)
or the vllm backend's (generation.backends.vllm): 'low_conf' and 'all_sampled' steps with the
chosen token's rank and probability. `ResponseEvents.rank_logs` turns them into the lines of
sample_smart_not_hard's rank logs, one per response, per task, in request order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterable, Mapping, Sequence

from generation.decoding.rules import DecodingRules

INDEX_KEY = "ttsw_request"  # extra_args key of the request index (vllm)
KINDS = ("low_conf", "all_sampled")
LOG_PREFIX = {"low_conf": "low_conf_ranks", "all_sampled": "all_sampled_ranks"}


def sampling_rules(gen_kwargs: Mapping[str, Any], decoding: Mapping[str, Any] | None) -> DecodingRules:
    """The rules of one request: its temperature / top_p / top_k, as lm-eval reads them, plus `decoding`."""
    temperature = float(gen_kwargs.get("temperature", 0.0) or 0.0)
    do_sample = gen_kwargs.get("do_sample")
    sampling = temperature > 0 if do_sample is None else bool(do_sample)
    top_k = gen_kwargs.get("top_k")
    values = {"temperature": temperature if sampling else 0.0, "top_p": gen_kwargs.get("top_p", 1.0),
              "top_k": max(int(top_k), 0) if top_k is not None else 0}  # vLLM's "off" is -1
    return DecodingRules.from_dict({**values, **(decoding or {})})


class Indexed(str):
    """A prompt that remembers the index of its request."""

    index: int

    def __new__(cls, text: str, index: int):
        value = super().__new__(cls, text)
        value.index = index
        return value


@dataclass
class ResponseEvents:
    """Decode events per request index, filled batch by batch in whatever order lm-eval runs them."""

    tasks: list[str] = field(default_factory=list)  # per request index: its task
    events: dict[int, list[dict]] = field(default_factory=dict)

    def tag(self, requests: Sequence[Any]) -> list[tuple[int, Any]]:
        """(index, request) for a new call's requests; indices continue over calls."""
        start = len(self.tasks)
        self.tasks += [request.task_name for request in requests]
        return [(start + i, request) for i, request in enumerate(requests)]

    def record(self, index: int, events: list[dict]) -> None:
        if index in self.events:
            raise RuntimeError(f"request {index} was generated twice")
        self.events[index] = events

    def rank_logs(self) -> dict[str, dict[str, list[dict]]]:
        """task -> kind -> one line per response in request order: {"ranks": [...], "probs": [...]}."""
        missing = [i for i in range(len(self.tasks)) if i not in self.events]
        if missing:
            raise RuntimeError(f"{len(missing)} of {len(self.tasks)} requests have no decode events "
                               f"(first: {missing[0]}): lm-eval generated rows we did not see")
        out: dict[str, dict[str, list[dict]]] = {}
        for index, task in enumerate(self.tasks):
            lines = out.setdefault(task, {kind: [] for kind in KINDS})
            for kind in KINDS:
                chosen = [e for e in self.events[index] if e["kind"] == kind]
                lines[kind].append({"ranks": [e["rank"] for e in chosen], "probs": [e["prob"] for e in chosen]})
        return out


def write_rank_logs(folder: Path, time: str, logs: Mapping[str, Mapping[str, list[dict]]],
                    kinds: Iterable[str]) -> dict[str, list[Path]]:
    """task -> the rank logs written: <folder>/<low_conf_ranks|all_sampled_ranks>_<task>_<time>.jsonl."""
    written: dict[str, list[Path]] = {}
    for task, by_kind in logs.items():
        for kind in kinds:
            path = folder / f"{LOG_PREFIX[kind]}_{task}_{time}.jsonl"
            path.write_text("".join(json.dumps(line) + "\n" for line in by_kind[kind]), encoding="utf-8")
            written.setdefault(task, []).append(path)
    return written


def tagged_requests(tagged: list[tuple[int, Any]]) -> list[SimpleNamespace]:
    """Stand-ins for lm-eval's Instances (its generate_until reads only `.args`): the prompt indexed."""
    return [SimpleNamespace(args=(Indexed(request.args[0], index), *request.args[1:])) for index, request in tagged]


def vllm_gen_kwargs(gen_kwargs: Mapping[str, Any], decoding: Mapping[str, Any] | None, index: int,
                    logprobs: int | None) -> dict[str, Any]:
    """A request's generation arguments for lm-eval's VLLM with our rules, index and logprobs.

    Rules beyond temperature / top-p / top-k go to our engine-level processor through extra_args,
    with vLLM's own knobs neutral (temperature 1, top_p 1, top_k off; greedy stays greedy), as
    generation.decoding.vllm.sampling_kwargs does for the bon job; plain rules stay native.
    """
    rules = sampling_rules(gen_kwargs, decoding)
    out = dict(gen_kwargs)
    extra: dict[str, Any] = {INDEX_KEY: index}
    if not rules.is_plain():
        out.update(do_sample=not rules.greedy, temperature=0.0 if rules.greedy else 1.0, top_p=1.0, top_k=-1)
        extra["decoding"] = rules.to_dict()
    if logprobs is not None:
        out["logprobs"] = logprobs
    out["extra_args"] = extra
    return out


class _Hooks:
    """What both model subclasses keep: the rules, the event thresholds and the events per request."""

    def _setup(self, decoding: Mapping[str, Any] | None, low_conf_threshold: float | None,
               all_sampled_threshold: float | None) -> None:
        self.decoding = dict(decoding or {})
        self.thresholds = (low_conf_threshold, all_sampled_threshold)
        self.responses = ResponseEvents()


def hf_model(*, decoding: Mapping[str, Any] | None, low_conf_threshold: float | None,
             all_sampled_threshold: float | None, **hflm_args: Any):
    """lm-eval's HFLM with our processor in `generate` (see the module docstring)."""
    from lm_eval.models.huggingface import HFLM

    from generation.decoding.hf import build_hf_decoding

    class RulesHFLM(_Hooks, HFLM):
        def generate_until(self, requests, disable_tqdm: bool = False):
            return super().generate_until(tagged_requests(self.responses.tag(requests)), disable_tqdm)

        def tok_batch_encode(self, strings, *args, **kwargs):
            self._rows = [getattr(s, "index", None) for s in strings]
            return super().tok_batch_encode([str(s) for s in strings], *args, **kwargs)

        def _model_generate(self, context, max_length, stop, **kwargs):
            sampling = {k: kwargs.pop(k) for k in ("temperature", "do_sample", "top_p", "top_k") if k in kwargs}
            hf = build_hf_decoding(sampling_rules(sampling, self.decoding), log_tokens=False,
                                   low_conf_threshold=self.thresholds[0], all_sampled_threshold=self.thresholds[1],
                                   eos_token_id=self.eot_token_id)
            out = super()._model_generate(context, max_length, stop, logits_processor=hf.processors,
                                          **hf.generate_kwargs, **kwargs)
            rows, self._rows = getattr(self, "_rows", None), None
            if rows is None or len(rows) != out.shape[0] or None in rows:
                raise RuntimeError("lm-eval generated rows whose requests we cannot tell (tok_batch_encode was "
                                   "not called with our indexed prompts just before generate)")
            for index, (_, events) in zip(rows, hf.samples(out, context.shape[1], self.tokenizer.pad_token_id)):
                self.responses.record(index, events)
            return out

    model = RulesHFLM(**hflm_args)
    model._setup(decoding, low_conf_threshold, all_sampled_threshold)
    return model


def vllm_model(*, decoding: Mapping[str, Any] | None, low_conf_threshold: float | None,
               all_sampled_threshold: float | None, top_logprobs: int | None, **vllm_args: Any):
    """lm-eval's VLLM with our rules and decode events (needs vllm; see the module docstring)."""
    from lm_eval.models.vllm_causallms import VLLM

    from generation.backends.vllm import decode_events, token_log

    class RulesVLLM(_Hooks, VLLM):
        def generate_until(self, requests, disable_tqdm: bool = False):
            wrapped = [SimpleNamespace(args=(r.args[0], vllm_gen_kwargs(r.args[1], self.decoding, i, top_logprobs)))
                       for i, r in self.responses.tag(requests)]
            return super().generate_until(wrapped, disable_tqdm)

        def _model_generate(self, requests, generate: bool = False, sampling_params=None):
            outputs = super()._model_generate(requests, generate, sampling_params)
            if generate:
                for params, output in zip(sampling_params, outputs):
                    choice = output.outputs[0]
                    log = token_log(choice.token_ids, choice.logprobs or [], top_logprobs or 1)
                    self.responses.record(params.extra_args[INDEX_KEY], decode_events(log, *self.thresholds))
            return outputs

    model = RulesVLLM(**vllm_args)
    model._setup(decoding, low_conf_threshold, all_sampled_threshold)
    return model


def repeats_task_manager(repeats: int | None, **manager_args: Any):
    """lm-eval's TaskManager; with `repeats`, every task it loads samples each doc that many times."""
    from lm_eval.tasks import TaskManager

    class RepeatsTaskManager(TaskManager):
        def load(self, task_list):
            loaded = super().load(task_list)
            for task in loaded["tasks"].values():
                task.set_config(key="repeats", value=repeats)
            return loaded

    return (RepeatsTaskManager if repeats is not None else TaskManager)(**manager_args)
