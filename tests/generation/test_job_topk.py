"""`ttsw generate topk` on the tiny GPT-2: every token_topk row equals a forward pass of that one
text computed here (no padding, no batching); the run is complete with approach teacher_forced;
a second invocation finds it complete; texts may come from a run's completions; the calibration
marts build from the run; the dry run loads no model.

The torchtune engine is checked the same way on a tiny torchtune Qwen2 (random weights, saved for
FullModelTorchTuneCheckpointer) with qwen2_tokenizer on the vocab and merges of the tiny GPT-2's
tokenizer; that test skips where torchtune is not importable (it is no dependency of ours)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import torch
from click.testing import CliRunner

from files import write_jsonl
from ttsw.cli import cli
from warehouse.catalog import memory_connection
from warehouse.home import Home
from warehouse.lake import list_parts
from warehouse.runs import get_run, open_run

TEXTS = ["What is the sum of 2 and 3? The sum is 5.",
         "Find x such that x squared equals 16.",
         "",  # no token: left out
         "Let $f(x) = 3x + 2$. Compute $f(4)$, then double it and add the number of sides of a square."]


def ttsw(home: Home, *args, ok: bool = True):
    result = CliRunner().invoke(cli, ["--home", str(home.root), *map(str, args)])
    if ok:
        assert result.exit_code == 0, result.output + repr(result.exception)
    return result


def lake_rows(home: Home, run_id: str) -> dict[tuple[int, int], tuple]:
    con = memory_connection(home)
    try:
        found = con.sql("select doc_idx, pos, gt_token_id, gt_rank, top_ids, top_probs from lake.token_topk "
                        "where run_id = ?", params=[run_id]).fetchall()
    finally:
        con.close()
    keyed = {r[:2]: r[2:] for r in found}
    assert len(keyed) == len(found), "a position written twice"
    return keyed


def reference(folder, text: str, k: int, max_length: int | None = None) -> dict[int, tuple]:
    """pos -> (gold id, gold rank or None, top ids, top probs) from one unpadded forward pass."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    ids = tokenizer(text)["input_ids"][:max_length]
    with torch.no_grad():
        probs = model(input_ids=torch.tensor([ids])).logits[0].softmax(-1)
    return ranked(probs, ids, k)


def ranked(probs: torch.Tensor, ids: list[int], k: int) -> dict[int, tuple]:
    """pos -> (gold id, gold rank or None, top ids, top probs), by sorting each row of `probs`."""
    out = {}
    for pos in range(1, len(ids)):
        order = sorted(range(probs.shape[1]), key=lambda i: -probs[pos - 1, i].item())[:k]
        gold = ids[pos]
        out[pos] = (gold, order.index(gold) + 1 if gold in order else None, order,
                    [probs[pos - 1, i].item() for i in order])
    return out


def check_rows(found: dict, expected: dict[tuple[int, int], tuple]) -> None:
    assert found.keys() == expected.keys()
    for key, (gold, rank, ids, probs) in expected.items():
        got_gold, got_rank, got_ids, got_probs = found[key]
        assert (got_gold, got_rank) == (gold, rank), key
        assert got_probs == pytest.approx(probs, abs=1e-5), key
        assert got_ids == ids, key  # random weights: no ties


def test_topk_equals_a_direct_forward_pass_and_calibration_builds(home: Home, tiny_model, tmp_path):
    from warehouse.dbt_runner import build

    data = write_jsonl(tmp_path / "texts.jsonl", [{"body": {"text": t}} for t in TEXTS])
    args = ["generate", "topk", "--model", tiny_model, "--dataset", data, "--text-field", "body.text",
            "--top-k", "5", "--device", "cpu", "--batch-size", "2", "--part-size", "2"]
    result = ttsw(home, *args)
    assert "complete" in result.output and "3 text(s)" in result.output
    run_id = result.output.split("run ")[1].split()[0]
    record = get_run(home, run_id)
    assert (record["status"], record["approach"], record["model"]) == ("complete", "teacher_forced", str(tiny_model))

    expected = {(doc, pos): row for doc, text in enumerate(TEXTS) if text
                for pos, row in reference(tiny_model, text, 5).items()}
    found = lake_rows(home, run_id)
    check_rows(found, expected)
    assert any(r[1] is None for r in found.values()) and any(r[1] == 1 for r in found.values())
    assert len(list_parts(home, "token_topk", run_id)) == 2  # docs 0, 1, 3 in parts of two

    again = ttsw(home, *args)
    assert "already complete" in again.output

    build(home, select="+calibration_fit", echo=False)
    grid = pq.read_table(home.serving / "calibration_grid.parquet").to_pylist()
    mine = [r for r in grid if r["run_id"] == run_id]
    # support: every position of the bin; positions: those whose gold token has that rank
    assert sum(r["support"] for r in mine if r["rank"] == 1) == len(expected)
    assert sum(r["positions"] for r in mine) == sum(row[1] is not None for row in expected.values())


def test_texts_from_a_run_cut_to_max_length(home: Home, tiny_model):
    meta = {"run_id": "source", "name": "source", "source": "generated", "dataset": "toy", "approach": "bon",
            "model": str(tiny_model)}
    with open_run(home, meta) as run:
        run.write("completions", [{"run_id": "source", "problem_id": p, "sample_idx": i, "text": t}
                                  for (p, i), t in {("p2", 0): TEXTS[0], ("p1", 1): TEXTS[3],
                                                    ("p1", 0): TEXTS[1]}.items()])
    result = ttsw(home, "generate", "topk", "--model", tiny_model, "--run", "source", "--top-k", "3",
                  "--max-length", "6", "--device", "cpu")
    run_id = result.output.split("run ")[1].split()[0]
    ordered = [TEXTS[1], TEXTS[3], TEXTS[0]]  # problem id, then sample order
    expected = {(doc, pos): row for doc, text in enumerate(ordered)
                for pos, row in reference(tiny_model, text, 3, max_length=6).items()}
    check_rows(lake_rows(home, run_id), expected)
    assert max(pos for _, pos in expected) == 5


def test_dry_run_and_errors(home: Home, tiny_model, tmp_path):
    data = write_jsonl(tmp_path / "texts.jsonl", [{"text": t} for t in TEXTS])
    dry = ttsw(home, "generate", "topk", "--model", tiny_model, "--dataset", data, "--dry-run")
    assert "texts: 4, 3 with two tokens or more" in dry.output and "top_k: 20" in dry.output
    assert not home.lake.exists() or not list_parts(home, "token_topk")
    both = ttsw(home, "generate", "topk", "--model", tiny_model, ok=False)
    assert "exactly one of --dataset FILE or --run RUN" in both.output + str(both.exception)
    field = ttsw(home, "generate", "topk", "--model", tiny_model, "--dataset", data, "--text-field", "body",
                 ok=False)
    assert "no field 'body'" in field.output + str(field.exception)


# --- the torchtune engine ------------------------------------------------------------------------

TORCHTUNE_YAML = """\
output_dir: {out}
model:
  _component_: torchtune.models.qwen2.qwen2
  vocab_size: {vocab}
  num_layers: 2
  num_heads: 2
  num_kv_heads: 1
  embed_dim: 32
  intermediate_dim: 64
  max_seq_len: 256
checkpointer:
  _component_: torchtune.training.FullModelTorchTuneCheckpointer
  checkpoint_dir: {ckpt}
  checkpoint_files: [model.pt]
  model_type: QWEN2
  output_dir: ${{output_dir}}
tokenizer:
  _component_: torchtune.models.qwen2.qwen2_tokenizer
  path: {tok}/vocab.json
  merges_file: {tok}/merges.txt
"""


@pytest.fixture
def torchtune_setup(tiny_model, tmp_path):
    """(the torchtune YAML, the model in eval mode, its tokenizer, the checkpointer's output folder)."""
    pytest.importorskip("torchtune")
    from tokenizers import Tokenizer
    from torchtune.models.qwen2 import qwen2, qwen2_tokenizer

    tok = tmp_path / "tokenizer"
    tok.mkdir()
    Tokenizer.from_file(str(tiny_model / "tokenizer.json")).model.save(str(tok))  # vocab.json, merges.txt
    tokenizer = qwen2_tokenizer(path=str(tok / "vocab.json"), merges_file=str(tok / "merges.txt"))
    vocab = len(tokenizer.encoder)
    torch.manual_seed(0)
    model = qwen2(vocab_size=vocab, num_layers=2, num_heads=2, num_kv_heads=1, embed_dim=32,
                  intermediate_dim=64, max_seq_len=256).eval()
    ckpt = tmp_path / "checkpoint"
    ckpt.mkdir()
    torch.save(model.state_dict(), ckpt / "model.pt")
    out = tmp_path / "tt-output"
    yaml_file = tmp_path / "torchtune.yaml"
    yaml_file.write_text(TORCHTUNE_YAML.format(out=out, vocab=vocab, ckpt=ckpt, tok=tok))
    return yaml_file, model, tokenizer, out


def test_torchtune_engine_equals_a_direct_forward_pass(home: Home, torchtune_setup, tmp_path):
    yaml_file, model, tokenizer, out = torchtune_setup
    data = write_jsonl(tmp_path / "texts.jsonl", [{"text": t} for t in TEXTS])
    args = ["generate", "topk", "--engine", "torchtune", "--torchtune-config", yaml_file, "--model", "tiny-qwen2",
            "--dataset", data, "--top-k", "5", "--device", "cpu", "--batch-size", "3", "--part-size", "2"]

    dry = ttsw(home, *args, "--dry-run")
    assert "texts: 4, 3 with two tokens or more" in dry.output and "engine: torchtune" in dry.output
    assert not out.exists(), "the dry run built the checkpointer"
    assert not home.lake.exists() or not list_parts(home, "token_topk")

    result = ttsw(home, *args)
    assert "complete" in result.output and "3 text(s)" in result.output
    run_id = result.output.split("run ")[1].split()[0]
    record = get_run(home, run_id)
    assert (record["status"], record["approach"], record["model"]) == ("complete", "teacher_forced", "tiny-qwen2")
    stored = json.loads(record["config"])
    assert (stored["engine"], stored["torchtune"]["model"]["num_layers"]) == ("torchtune", 2)
    assert len(list_parts(home, "token_topk", run_id)) == 2

    expected = {}
    for doc, text in enumerate(TEXTS):
        if text:
            ids = tokenizer.encode(text, add_bos=True, add_eos=False)
            with torch.no_grad():
                probs = model(torch.tensor([ids]))[0].softmax(-1)
            expected.update({(doc, pos): row for pos, row in ranked(probs, ids, 5).items()})
    # the three texts went in one batch, padded to the longest: the padding changed nothing
    assert len({len(tokenizer.encode(t, add_bos=True, add_eos=False)) for t in TEXTS if t}) > 1
    check_rows(lake_rows(home, run_id), expected)
    assert "already complete" in ttsw(home, *args).output


def test_torchtune_engine_errors(home: Home, tiny_model, tmp_path, monkeypatch):
    import sys

    data = write_jsonl(tmp_path / "texts.jsonl", [{"text": t} for t in TEXTS])
    base = ["generate", "topk", "--model", "m", "--dataset", data]

    def error(*args) -> str:
        result = ttsw(home, *base, *args, ok=False)
        assert result.exit_code != 0
        return result.output + str(result.exception)

    assert "--engine torchtune needs --torchtune-config FILE" in error("--engine", "torchtune")
    partial = tmp_path / "partial.yaml"
    partial.write_text("model:\n  _component_: torchtune.models.qwen2.qwen2\ntokenizer:\n  _component_: x.y\n")
    assert "read only with --engine torchtune" in error("--torchtune-config", partial)
    assert "no 'checkpointer' component" in error("--engine", "torchtune", "--torchtune-config", partial)
    assert "is not a file" in error("--engine", "torchtune", "--torchtune-config", tmp_path / "missing.yaml")

    whole = tmp_path / "whole.yaml"
    whole.write_text(partial.read_text() + "checkpointer:\n  _component_: x.z\n")
    monkeypatch.setitem(sys.modules, "torchtune", None)  # as if it were not installed
    assert "pip install torchtune==0.6.1 torchao==0.15.0" in error("--engine", "torchtune", "--torchtune-config",
                                                                    whole)


def test_torchtune_example_configs_resolve():
    from pathlib import Path

    from generation.config import TopkConfig, resolve
    from generation.jobs.topk_torchtune import read_components

    configs = Path(__file__).resolve().parents[2] / "generation/configs"
    config = resolve(TopkConfig, configs / "topk_torchtune.yaml", {"dataset": "texts.jsonl"})
    assert (config.engine, config.top_k, config.dtype) == ("torchtune", 20, "bfloat16")
    assert Path(config.torchtune_config).name == "torchtune_qwen2_5_1_5b.yaml"
    components = read_components(str(configs / Path(config.torchtune_config).name))
    assert components["checkpointer"]["output_dir"] == "${output_dir}"  # left to OmegaConf
    assert components["model"]["_component_"] == "torchtune.models.qwen2_5.qwen2_5_1_5b_instruct"
