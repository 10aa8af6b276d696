"""The prm job: score a run's completions with a process reward model, cut at token thresholds.

As prm_reliability_analysis.md does: each completion is cut at tau tokens of the generator's
tokenizer for every threshold (a completion shorter than tau is its own partial), and, with
`full`, also scored whole (token_threshold null). A partial is split into steps on blank lines
and scored two ways: `step` (one score per step, step_idx 0..) and `whole` (the partial as one
step, step_idx 0). Two PRM styles:

- qwen (Qwen2.5-Math-PRM): the conversation's assistant turn is the steps, each followed by the
  separator token; the model gives two logits per token, and a step's score is the softmax's
  `positive_label` probability at its separator.
- rlhflow (RLHFlow Llama3.1-8B-PRM): a causal LM reads one user turn per step (the first prefixed
  by the problem), each answered '+'; a step's score is P(+) / (P(+) + P(-)) of the next-token
  distribution where the answer to that step begins.

Rows go into the scored run's prm_scores (see generation.jobs.scoring), so the prm_correlation
mart joins them to that run's samples and grades.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

from generation.config import ConfigError, PrmConfig, identity
from generation.jobs.base import shard_of
from generation.jobs.scoring import (ScoreOutcome, find_run, score_in_parts, tag_of, torch_device,
                                     torch_dtype)
from warehouse.home import Home

JOB = "prm"
JOB_VERSION = 1
BLANK_LINE = re.compile(r"\n\s*\n")


def split_steps(text: str) -> list[str]:
    """Steps are the text's blocks between blank lines, stripped; empty blocks are dropped."""
    return [s.strip() for s in BLANK_LINE.split(text) if s.strip()]


def cut(tokenizer, text: str, tau: int) -> str:
    """The text of the first tau tokens (the text itself when it is shorter)."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return text if len(ids) <= tau else tokenizer.decode(ids[:tau], skip_special_tokens=True)


def partials(config: PrmConfig, tokenizer, text: str) -> list[tuple[int | None, str]]:
    """(token_threshold, partial text) to score: each threshold, then the whole text (None)."""
    out: list[tuple[int | None, str]] = [(tau, cut(tokenizer, text, tau)) for tau in config.token_thresholds]
    return out + [(None, text)] if config.full else out


def _single_token(tokenizer, token: str, key: str) -> int:
    ids = tokenizer(token, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        raise ConfigError(f"{key}: {token!r} is {len(ids)} tokens for the PRM's tokenizer; it must be one")
    return ids[0]


def _pad_batch(sequences: Sequence[list[int]], pad_id: int):
    """Right-padded input ids and attention mask (real tokens keep their positions)."""
    import torch

    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, :len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, :len(seq)] = 1
    return ids, mask


class PrmScorer:
    """A loaded PRM: `score(items)` gives, for each (problem, steps), one score per step."""

    def __init__(self, config: PrmConfig):
        import torch
        from transformers import AutoConfig, AutoTokenizer

        self.config = config
        self.device = torch_device(config.device)
        self.tokenizer = AutoTokenizer.from_pretrained(config.prm_model, trust_remote_code=config.trust_remote_code)
        kwargs = {"dtype": torch_dtype(config.dtype), "trust_remote_code": config.trust_remote_code}
        if config.style == "qwen":
            from transformers import AutoModel, AutoModelForTokenClassification

            # Qwen2.5-Math-PRM ships its own class, registered only as AutoModel in its auto_map.
            auto_map = getattr(AutoConfig.from_pretrained(config.prm_model, trust_remote_code=config.trust_remote_code),
                               "auto_map", None) or {}
            loader = (AutoModel if config.trust_remote_code and "AutoModel" in auto_map
                      and "AutoModelForTokenClassification" not in auto_map else AutoModelForTokenClassification)
            self.marker = _single_token(self.tokenizer, config.step_separator, "step_separator")
        else:
            from transformers import AutoModelForCausalLM as loader

            if not self.tokenizer.chat_template:
                raise ConfigError(f"prm_model: {config.prm_model} has no chat template; the rlhflow style needs one")
            self.plus = _single_token(self.tokenizer, config.plus_token, "plus_token")
            self.minus = _single_token(self.tokenizer, config.minus_token, "minus_token")
        self.model = loader.from_pretrained(config.prm_model, **kwargs).to(self.device).eval()
        pad = self.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else (self.tokenizer.eos_token_id or 0)

    def _head(self) -> list[dict[str, str]]:
        return [{"role": "system", "content": self.config.system_prompt}] if self.config.system_prompt else []

    def encode(self, problem: str, steps: list[str]) -> tuple[list[int], list[int]]:
        """(input ids, the positions whose logits score the steps, in step order)."""
        if self.config.style == "qwen":
            return self._encode_qwen(problem, steps)
        return self._encode_rlhflow(problem, steps)

    def _encode_qwen(self, problem: str, steps: list[str]) -> tuple[list[int], list[int]]:
        sep = self.config.step_separator
        answer = sep.join(steps) + sep
        if self.tokenizer.chat_template:
            messages = [*self._head(), {"role": "user", "content": problem},
                        {"role": "assistant", "content": answer}]
            text = self.tokenizer.apply_chat_template(messages, tokenize=False)
            ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        else:
            ids = self.tokenizer(f"{problem}\n\n{answer}")["input_ids"]
        ids = ids[:self.config.max_length] if self.config.max_length else ids
        return ids, [i for i, token in enumerate(ids) if token == self.marker]

    def _encode_rlhflow(self, problem: str, steps: list[str]) -> tuple[list[int], list[int]]:
        messages = self._head()
        positions = []
        for i, step in enumerate(steps):
            messages.append({"role": "user", "content": f"{problem} {step}" if i == 0 else step})
            prefix = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            positions.append(len(self.tokenizer(prefix, add_special_tokens=False)["input_ids"]) - 1)
            messages.append({"role": "assistant", "content": self.config.plus_token})
        text = self.tokenizer.apply_chat_template(messages, tokenize=False)
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        for position in positions:
            if position + 1 < len(ids) and ids[position + 1] != self.plus:
                raise ValueError(f"the PRM's chat template does not tokenize the conversation as its prefixes: no "
                                 f"{self.config.plus_token!r} at token {position + 1}")
        ids = ids[:self.config.max_length] if self.config.max_length else ids
        return ids, [p for p in positions if p < len(ids)]

    def score(self, items: Sequence[tuple[str, list[str]]]) -> list[list[float]]:
        """One score per step of each item (fewer when max_length cuts the input)."""
        import torch

        encoded = [self.encode(problem, steps) for problem, steps in items]
        out: list[list[float]] = [[] for _ in items]
        order = sorted(range(len(items)), key=lambda i: len(encoded[i][0]))
        for start in range(0, len(order), self.config.batch_size):
            rows = order[start:start + self.config.batch_size]
            ids, mask = _pad_batch([encoded[i][0] for i in rows], self.pad_id)
            with torch.no_grad():
                result = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device))
            logits = (result.logits if hasattr(result, "logits") else result[0]).float()
            for row, i in enumerate(rows):
                at = logits[row, encoded[i][1]]
                if self.config.style == "qwen":
                    scores = at.softmax(-1)[:, self.config.positive_label]
                else:
                    scores = at[:, [self.plus, self.minus]].softmax(-1)[:, 0]
                out[i] = scores.cpu().tolist()
        return out

    def close(self) -> None:
        del self.model


def score_rows(config: PrmConfig, run_id: str, completions: list[dict[str, Any]], generator_tokenizer,
               scorer: PrmScorer) -> list[dict[str, Any]]:
    """prm_scores rows for these completions; each distinct (problem, steps) is scored once."""
    wanted: list[tuple[dict[str, Any], int | None, str, list[str]]] = []
    for completion in completions:
        for tau, text in partials(config, generator_tokenizer, completion["text"] or ""):
            for kind in config.kinds:
                steps = split_steps(text) if kind == "step" else [text.strip()]
                if steps:
                    wanted.append((completion, tau, kind, steps))
    unique = list(dict.fromkeys((c["problem"] or "", tuple(steps)) for c, _, _, steps in wanted))
    scores = dict(zip(unique, scorer.score([(p, list(s)) for p, s in unique])))
    rows = []
    for completion, tau, kind, steps in wanted:
        for step_idx, score in enumerate(scores[(completion["problem"] or "", tuple(steps))]):
            rows.append({"run_id": run_id, "problem_id": completion["problem_id"],
                         "sample_idx": completion["sample_idx"], "prm_model": config.prm_model,
                         "token_threshold": tau, "kind": kind, "step_idx": step_idx, "score": score,
                         "score_kind": "probability"})  # a softmax probability
    return rows


@dataclass
class Plan:
    """What scoring would do, before any model is loaded."""

    config: PrmConfig
    run: dict[str, Any]  # the scored run's record
    tag: str

    @property
    def run_id(self) -> str:
        return self.run["run_id"]

    @property
    def generator_tokenizer(self) -> str:
        return self.config.generator_tokenizer or self.run["model"]


def plan(home: Home, config: PrmConfig) -> Plan:
    run = find_run(home, config.run)
    if not (config.generator_tokenizer or run.get("model")):
        raise ConfigError(f"generator_tokenizer: run {run['run_id']} records no model; pass --generator-tokenizer")
    fields = {**identity(config), "run": run["run_id"], "job_version": JOB_VERSION,
              "generator_tokenizer": config.generator_tokenizer or run["model"]}
    return Plan(config, run, tag_of(JOB, fields))


def run_prm(home: Home, plan: Plan, on_start=None, on_part=None) -> ScoreOutcome:
    """Score the plan's run; the PRM loads only when some problem is left to do."""
    from transformers import AutoTokenizer

    config = plan.config
    state: dict[str, Any] = {}

    def start(todo: list[str]) -> None:
        if todo:
            state["tokenizer"] = AutoTokenizer.from_pretrained(plan.generator_tokenizer,
                                                               trust_remote_code=config.trust_remote_code)
            state["scorer"] = PrmScorer(config)
        if on_start is not None:
            on_start(todo)

    def work(completions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return score_rows(config, plan.run_id, completions, state["tokenizer"], state["scorer"])

    try:
        return score_in_parts(home, plan.run_id, "prm_scores", plan.tag, shard=shard_of(config.shard),
                              part_size=config.part_size, work=work, on_start=start, on_part=on_part)
    finally:
        if "scorer" in state:
            state["scorer"].close()
