"""The topk job: teacher-forced top-k of a causal LM over texts, written as a run of its own.

As sample_smart_not_hard.md collects its calibration data: each text is tokenized and read in one
forward pass (no generation); at every position t >= 1 the model's distribution for token t given
tokens 0..t-1 (softmax of the logits at t-1, temperature 1) gives the k most probable ids and their
probabilities, and the rank of the text's actual token t among them (gt_rank, 1-based, null when
it is outside the top k). Rows go into token_topk of a run with approach 'teacher_forced', so the
calibration marts pick it up once the run is complete.

The texts are a local file's records (doc_idx = the record's index) or the completions of a run
(doc_idx = the index in problem, sample order). Texts shorter than two tokens have no position
and are left out. The run id is a hash of the identity fields, so running again resumes per part
of `part_size` texts (warehouse.runs.write_in_parts).

Two engines give the logits: transformers (AutoTokenizer and AutoModelForCausalLM of --model) and,
where it is installed, torchtune (generation.jobs.topk_torchtune: the components of a torchtune
YAML). Everything after the logits is the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from generation.config import ConfigError, TopkConfig, identity, to_dict
from generation.jobs.base import shard_of
from warehouse.runs import Outcome, write_in_parts
from warehouse.home import Home
from warehouse.runs import derive_run_id

JOB = "topk"
JOB_VERSION = 1
APPROACH = "teacher_forced"


def read_texts(home: Home, config: TopkConfig) -> tuple[list[str], str, dict[str, Any] | None]:
    """(texts in doc order, dataset name, the source run's record or None)."""
    if config.run:
        from generation.jobs.scoring import find_run
        from warehouse.catalog import memory_connection

        record = find_run(home, config.run)
        con = memory_connection(home)
        try:
            rows = con.sql("select text from lake.completions where run_id = ? order by problem_id, sample_idx",
                           params=[record["run_id"]]).fetchall()
        finally:
            con.close()
        texts, dataset = [r[0] or "" for r in rows], record.get("dataset") or f"run:{record['run_id']}"
    else:
        from generation.datasets import _file_records, field_value

        path = Path(config.dataset).expanduser()
        if not path.is_file():
            raise ConfigError(f"--dataset: {config.dataset} is not a file (give a .jsonl, .json or .parquet file)")
        texts = []
        for where, record in _file_records(path):
            value = field_value(record, config.text_field, where)
            if not isinstance(value, str):
                raise ConfigError(f"{where}: field {config.text_field!r} is {type(value).__name__}, not text")
            texts.append(value)
        record, dataset = None, path.name
    return texts[:config.max_docs] if config.max_docs else texts, dataset, record


def encode(encode_text: Callable[[str], list[int]], texts: list[str],
           max_length: int | None) -> dict[int, list[int]]:
    """doc_idx -> token ids (cut to max_length), for the texts with at least two tokens."""
    out = {}
    for doc_idx, text in enumerate(texts):
        ids = encode_text(text)
        ids = ids[:max_length] if max_length else ids
        if len(ids) >= 2:
            out[doc_idx] = ids
    return out


def topk_rows(forward: Callable, docs: dict[int, list[int]], keys: list[int], *, top_k: int, batch_size: int,
              pad_id: int, run_id: str) -> list[dict[str, Any]]:
    """token_topk rows of these docs: positions 1..len-1 of each, docs in `keys` order.

    forward(ids, mask) gives the logits (batch, positions, vocab) of right-padded ids."""
    import torch

    from generation.jobs.prm import _pad_batch

    rows: list[dict[str, Any]] = []
    for start in range(0, len(keys), batch_size):
        batch = keys[start:start + batch_size]
        ids, mask = _pad_batch([docs[k] for k in batch], pad_id)
        with torch.no_grad():
            logits = forward(ids, mask).float()
        k = min(top_k, logits.shape[-1])
        probs, top = logits.softmax(-1).topk(k, dim=-1)  # sorted, most probable first
        probs, top = probs.cpu(), top.cpu()
        for row, doc_idx in enumerate(batch):
            seq = docs[doc_idx]
            for pos in range(1, len(seq)):
                ranked = top[row, pos - 1].tolist()
                gold = seq[pos]
                rows.append({"run_id": run_id, "doc_idx": doc_idx, "pos": pos, "gt_token_id": gold,
                             "gt_rank": ranked.index(gold) + 1 if gold in ranked else None,
                             "top_ids": ranked, "top_probs": probs[row, pos - 1].tolist()})
    return rows


def run_identity(config: TopkConfig, source_run: dict[str, Any] | None) -> dict[str, Any]:
    fields = identity(config)
    if config.engine == "transformers":  # keeps the run ids from before the engine option existed
        del fields["engine"], fields["torchtune_config"]
    if source_run is not None:  # the resolved id, not the reference given
        fields["run"] = source_run["run_id"]
    return {"job": JOB, "job_version": JOB_VERSION, **fields}


def _versions(engine: str) -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {"job": f"{JOB} v{JOB_VERSION}"}
    packages = ("torchtune", "torchao") if engine == "torchtune" else ("transformers",)
    for package in ("tts-warehouse", "torch", *packages):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            continue
    return out


@dataclass
class Plan:
    """What the job would do, with the texts tokenized (no model loaded yet)."""

    config: TopkConfig
    meta: dict[str, Any]
    docs: dict[int, list[int]]
    texts: int  # texts read, before the ones too short were left out
    torchtune: Any = None  # the TorchtuneEngine (tokenizer built, model not loaded) with --engine torchtune

    @property
    def run_id(self) -> str:
        return self.meta["run_id"]

    @property
    def positions(self) -> int:
        return sum(len(ids) - 1 for ids in self.docs.values())


def plan(home: Home, config: TopkConfig, source_uri: str | None = None) -> Plan:
    texts, dataset, source_run = read_texts(home, config)
    engine, extra = None, {}
    if config.engine == "torchtune":
        from generation.jobs.topk_torchtune import TorchtuneEngine

        engine = TorchtuneEngine(config.torchtune_config)
        encode_text = engine.encode
        extra = {"torchtune": engine.components}  # the YAML itself, not only its path, is kept on the run
    else:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(config.model, trust_remote_code=config.trust_remote_code)

        def encode_text(text: str) -> list[int]:
            return tokenizer(text)["input_ids"]

    docs = encode(encode_text, texts, config.max_length)
    if not docs:
        raise ConfigError(f"no text of {config.dataset or config.run} has two tokens or more: nothing to score")
    run_id = derive_run_id("generated", run_identity(config, source_run))
    model = str(config.model).rstrip("/").rsplit("/", 1)[-1]
    source = dataset.rsplit("/", 1)[-1] if source_run is None else f"run-{source_run['run_id']}"
    meta = {"run_id": run_id, "name": config.name or f"topk/{model}/{source}/k{config.top_k}",
            "source": "generated", "source_format": f"ttsw-generate-{JOB}", "source_uri": source_uri,
            "dataset": dataset, "model": config.model, "approach": APPROACH, "strategy": "default",
            "temperature": 1.0, "top_k": config.top_k, "n": 1, "decoder": "teacher_forced",
            "category": config.category, "notes": config.notes,
            "config": {**to_dict(config), "shard": None, "run": source_run["run_id"] if source_run else None,
                       **extra},
            "versions": _versions(config.engine)}
    return Plan(config, meta, docs, len(texts), engine)


def _transformers_forward(config: TopkConfig, device) -> tuple[Callable, int]:
    """forward(ids, mask) -> logits of --model on `device`, and the id that pads."""
    from transformers import AutoModelForCausalLM

    from generation.jobs.scoring import torch_dtype

    model = AutoModelForCausalLM.from_pretrained(config.model, dtype=torch_dtype(config.dtype),
                                                 trust_remote_code=config.trust_remote_code).to(device).eval()
    pad = model.config.pad_token_id

    def forward(ids, mask):
        return model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits

    return forward, pad if pad is not None else 0  # padded positions are masked and never read


def run_topk(home: Home, plan: Plan, on_start=None, on_part=None) -> Outcome:
    """Collect the plan's missing docs; the model loads only when some doc is left to do."""
    config = plan.config
    state: dict[str, Any] = {}

    def start(todo: list[int]) -> None:
        if todo:
            from generation.jobs.scoring import torch_device

            device = torch_device(config.device)
            if plan.torchtune is not None:
                # any id inside the vocabulary pads: padding comes after the real tokens (see load)
                state["forward"], state["pad"] = plan.torchtune.load(device, config.dtype), 0
            else:
                state["forward"], state["pad"] = _transformers_forward(config, device)
        if on_start is not None:
            on_start(todo)

    def work(batch: list[int]) -> dict[str, list]:
        rows = topk_rows(state["forward"], plan.docs, batch, top_k=config.top_k, batch_size=config.batch_size,
                         pad_id=state["pad"], run_id=plan.run_id)
        if on_part is not None:
            on_part(len(batch))
        return {"token_topk": rows}

    try:
        return write_in_parts(home, plan.meta, sorted(plan.docs), shard=shard_of(config.shard),
                            part_size=config.part_size, marker="token_topk", key_column="doc_idx", tables=(),
                            work=work, on_start=start)
    finally:
        state.pop("forward", None)
