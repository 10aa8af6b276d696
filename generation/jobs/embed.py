"""The embed job: split each completion of a run into reasoning and final answer, embed the reasoning.

As reasoning_trace_analysis.md does: the reasoning starts after `reasoning_start` (when given and
present) and ends where the final answer starts, at the last occurrence of the first of
`final_markers` found in the text (default: the answer sentences, then "Final Answer", then
\\boxed); with no marker the whole text is reasoning and the final answer is null. The reasoning
is embedded with a transformers encoder, mean-pooled over the attention mask (padding does not
count), optionally scaled to unit length. Rows go into the run's embeddings (see
generation.jobs.scoring); an empty reasoning gets no row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from generation.config import EmbedConfig, identity
from generation.jobs.base import shard_of
from generation.jobs.scoring import ScoreOutcome, find_run, score_in_parts, tag_of, torch_device, torch_dtype
from warehouse.home import Home

JOB = "embed"
JOB_VERSION = 1


def split_reasoning(text: str, start_marker: str | None, final_markers: Sequence[str]) -> tuple[str, str | None]:
    """(reasoning, final answer or None), both stripped."""
    begin = 0
    if start_marker and start_marker in text:
        begin = text.index(start_marker) + len(start_marker)
    body = text[begin:]
    for marker in final_markers:
        at = body.rfind(marker)
        if at >= 0:
            return body[:at].strip(), body[at:].strip()
    return body.strip(), None


class Encoder:
    """A loaded encoder: `embed(texts)` gives one mean-pooled vector per text."""

    def __init__(self, config: EmbedConfig):
        from transformers import AutoModel, AutoTokenizer

        self.config = config
        self.device = torch_device(config.device)
        self.tokenizer = AutoTokenizer.from_pretrained(config.embedding_model,
                                                       trust_remote_code=config.trust_remote_code)
        self.model = AutoModel.from_pretrained(config.embedding_model, dtype=torch_dtype(config.dtype),
                                               trust_remote_code=config.trust_remote_code).to(self.device).eval()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        import torch

        out: list[list[float]] = []
        for start in range(0, len(texts), self.config.batch_size):
            batch = self.tokenizer(list(texts[start:start + self.config.batch_size]), padding=True,
                                   truncation=self.config.max_length is not None,
                                   max_length=self.config.max_length, return_tensors="pt").to(self.device)
            with torch.no_grad():
                hidden = self.model(**batch).last_hidden_state.float()
            mask = batch["attention_mask"].unsqueeze(-1).float()
            vectors = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            if self.config.normalize:
                vectors = torch.nn.functional.normalize(vectors, dim=-1)
            out.extend(vectors.cpu().tolist())
        return out

    def close(self) -> None:
        del self.model


def embed_rows(config: EmbedConfig, run_id: str, completions: list[dict[str, Any]], encoder: Encoder) -> list[dict]:
    split = [(c, *split_reasoning(c["text"] or "", config.reasoning_start, config.final_markers)) for c in completions]
    split = [s for s in split if s[1]]
    vectors = encoder.embed([reasoning for _, reasoning, _ in split]) if split else []
    return [{"run_id": run_id, "problem_id": c["problem_id"], "sample_idx": c["sample_idx"],
             "embedding_model": config.embedding_model, "vector": vector, "reasoning_text": reasoning,
             "final_answer_text": final} for (c, reasoning, final), vector in zip(split, vectors)]


@dataclass
class Plan:
    config: EmbedConfig
    run: dict[str, Any]
    tag: str

    @property
    def run_id(self) -> str:
        return self.run["run_id"]


def plan(home: Home, config: EmbedConfig) -> Plan:
    run = find_run(home, config.run)
    fields = {**identity(config), "run": run["run_id"], "job_version": JOB_VERSION}
    return Plan(config, run, tag_of(JOB, fields))


def run_embed(home: Home, plan: Plan, on_start=None, on_part=None) -> ScoreOutcome:
    """Embed the plan's run; the encoder loads only when some problem is left to do."""
    state: dict[str, Encoder] = {}

    def start(todo: list[str]) -> None:
        if todo:
            state["encoder"] = Encoder(plan.config)
        if on_start is not None:
            on_start(todo)

    try:
        return score_in_parts(home, plan.run_id, "embeddings", plan.tag, shard=shard_of(plan.config.shard),
                              part_size=plan.config.part_size, on_start=start, on_part=on_part,
                              work=lambda rows: embed_rows(plan.config, plan.run_id, rows, state["encoder"]))
    finally:
        if "encoder" in state:
            state["encoder"].close()
