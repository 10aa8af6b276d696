"""`ttsw generate lm-eval` on the lm-eval fixture's tiny task and model (built by its own builder):
the job writes lm-eval's output layout, which our lm-eval reader ingests into a complete run
with one lm_eval_samples row per doc, filter and repeat; with --log-tokens, --decoding and
--repeats our model subclass writes rank logs that match a teacher-forced recomputation of each
response, and --ingest brings everything into the lake. The request bookkeeping, the rules of a
request and the vllm arguments are tested without a model; the real vllm run only where vllm is."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.ingest.lm_eval_fixture import build as fixture
from ttsw.cli import cli
from warehouse.catalog import memory_connection
from warehouse.home import Home
from warehouse.runs import get_run


def ttsw(home: Home, *args):
    result = CliRunner().invoke(cli, ["--home", str(home.root), *map(str, args)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lm-eval-model") / "model"
    fixture.save_model(folder)
    return folder


def test_output_folder_ingests(home: Home, model, tmp_path, monkeypatch):
    from ingest.runner import ingest

    monkeypatch.chdir(fixture.HERE)  # the task's data_files path is relative to its folder
    out = tmp_path / "out"
    result = ttsw(home, "generate", "lm-eval", "--model", model, "--tasks", fixture.TASK, "--include-path",
                  fixture.HERE, "--limit", 3, "--output-path", out, "--device", "cpu",
                  "--gen-kwargs", "max_gen_toks=4,do_sample=True,temperature=1.0")
    results = [p for p in out.rglob("results_*.json")]
    assert len(results) == 1 and str(results[0]) in result.output
    samples = list(results[0].parent.glob(f"samples_{fixture.TASK}_*.jsonl"))
    assert len(samples) == 1
    docs = [json.loads(line) for line in samples[0].read_text().splitlines()]
    assert len({d["doc_id"] for d in docs}) == 3

    ingest(home, [str(results[0].parent)], fmt="lm-eval", progress=False)
    con = memory_connection(home)
    try:
        run_ids = [r[0] for r in con.sql("select distinct run_id from lake.lm_eval_samples").fetchall()]
        assert len(run_ids) == 1
        rows = con.sql("select task, doc_id, filter, repeat_idx from lake.lm_eval_samples").fetchall()
    finally:
        con.close()
    assert get_run(home, run_ids[0])["status"] == "complete"
    # 3 docs x 2 repeats (the task's) under each of the task's three filters
    assert len(rows) == 3 * 2 * 3 and {r[0] for r in rows} == {fixture.TASK}
    assert {r[2] for r in rows} == {"strict-match", "flexible-extract", "every-repeat"}


# --- without a model: the rules of a request, the request bookkeeping, the vllm arguments ---------

def test_sampling_rules_read_gen_kwargs_as_lm_eval_does():
    from generation.decoding.rules import DecodingRules
    from generation.jobs.lm_eval_models import sampling_rules

    assert sampling_rules({}, None) == DecodingRules(temperature=0.0)  # lm-eval's default is greedy
    assert sampling_rules({"temperature": 0.7}, None) == DecodingRules(temperature=0.7)  # no do_sample: T > 0 samples
    assert sampling_rules({"temperature": 0.7, "do_sample": False}, None).greedy
    assert sampling_rules({"do_sample": True, "temperature": 1.0, "top_p": 0.9, "top_k": -1}, {"min_p": 0.1}) == \
        DecodingRules(temperature=1.0, top_p=0.9, top_k=0, min_p=0.1)
    with pytest.raises(ValueError, match="unknown decoding rule 'prob_threshold'"):
        sampling_rules({}, {"prob_threshold": 0.1})


def test_response_events_come_back_in_request_order():
    from types import SimpleNamespace

    from generation.jobs.lm_eval_models import Indexed, ResponseEvents, tagged_requests

    events = ResponseEvents()
    requests = [SimpleNamespace(task_name=t, args=(f"prompt {i}", {"do_sample": True}))
                for i, t in enumerate(["a", "a", "b"])]
    tagged = tagged_requests(events.tag(requests))
    assert [(str(r.args[0]), r.args[0].index, r.args[1]) for r in tagged] == \
        [("prompt 0", 0, {"do_sample": True}), ("prompt 1", 1, {"do_sample": True}), ("prompt 2", 2, {"do_sample": True})]
    assert isinstance(tagged[0].args[0], Indexed) and tagged[0].args[0] == "prompt 0"
    # lm-eval runs them longest first, in batches of its choosing
    events.record(2, [{"kind": "low_conf", "step": 0, "rank": 3, "prob": 0.2}])
    events.record(0, [{"kind": "low_conf", "step": 0, "rank": 1, "prob": 0.5},
                      {"kind": "all_sampled", "step": 1, "rank": 2, "prob": 0.05},
                      {"kind": "low_conf", "step": 1, "rank": 2, "prob": 0.05}])
    with pytest.raises(RuntimeError, match="1 of 3 requests have no decode events"):
        events.rank_logs()
    with pytest.raises(RuntimeError, match="generated twice"):
        events.record(0, [])
    events.record(1, [])
    assert events.rank_logs() == {
        "a": {"low_conf": [{"ranks": [1, 2], "probs": [0.5, 0.05]}, {"ranks": [], "probs": []}],
              "all_sampled": [{"ranks": [2], "probs": [0.05]}, {"ranks": [], "probs": []}]},
        "b": {"low_conf": [{"ranks": [3], "probs": [0.2]}], "all_sampled": [{"ranks": [], "probs": []}]}}
    # a second call (another request type's tasks) continues the indices
    assert [i for i, _ in events.tag(requests[:1])] == [3]


def test_rank_log_files_are_named_for_the_reader(tmp_path):
    from generation.jobs.lm_eval_models import write_rank_logs
    from ingest.readers.rank_logs import kind_of_log

    logs = {"t": {"low_conf": [{"ranks": [2], "probs": [0.5]}, {"ranks": [], "probs": []}], "all_sampled": []}}
    written = write_rank_logs(tmp_path, "2025-01-01T00-00-00.1", logs, ["low_conf"])
    assert [p.name for p in written["t"]] == ["low_conf_ranks_t_2025-01-01T00-00-00.1.jsonl"]
    assert kind_of_log(written["t"][0]) == "low_conf"
    assert [json.loads(line) for line in written["t"][0].read_text().splitlines()] == logs["t"]["low_conf"]


def test_vllm_arguments():
    from generation.config import LmEvalConfig, resolve
    from generation.jobs.lm_eval import engine_args, model_args, needs_our_model
    from generation.jobs.lm_eval_models import INDEX_KEY, vllm_gen_kwargs

    plain = {"until": ["\n"], "do_sample": True, "temperature": 0.8, "top_p": 0.95}
    assert vllm_gen_kwargs(plain, None, 7, None) == {**plain, "extra_args": {INDEX_KEY: 7}}
    assert vllm_gen_kwargs(plain, {}, 0, 5) == {**plain, "logprobs": 5, "extra_args": {INDEX_KEY: 0}}
    ruled = vllm_gen_kwargs(plain, {"min_p": 0.1}, 3, None)
    assert ruled == {"until": ["\n"], "do_sample": True, "temperature": 1.0, "top_p": 1.0, "top_k": -1,
                     "extra_args": {INDEX_KEY: 3, "decoding": {"temperature": 0.8, "top_p": 0.95, "min_p": 0.1}}}
    greedy = vllm_gen_kwargs({"do_sample": False}, {"min_p": 0.1}, 1, None)
    assert (greedy["do_sample"], greedy["temperature"]) == (False, 0.0)

    config = resolve(LmEvalConfig, None, {"model": "m", "tasks": "t", "backend": "vllm", "tensor_parallel_size": 2,
                      "gpu_memory_utilization": 0.5, "seed": 3, "decoding": "min_p=0.1", "log_tokens": True})
    assert model_args(config) == {"pretrained": "m", "dtype": "auto", "tensor_parallel_size": 2,
                                  "gpu_memory_utilization": 0.5, "seed": 3}
    assert engine_args(config) == {"logits_processors": ["generation.decoding.vllm:DecodingLogitsProcessor"],
                                   "logprobs_mode": "processed_logprobs"}
    assert needs_our_model(config)
    plain_config = resolve(LmEvalConfig, None, {"model": "m", "tasks": "t"})
    assert not needs_our_model(plain_config) and model_args(plain_config) == {"pretrained": "m", "dtype": "auto"}


def test_vllm_backend_without_vllm_says_what_to_do():
    from generation.config import ConfigError, LmEvalConfig, resolve
    from generation.jobs.lm_eval import build_model

    try:
        import vllm  # noqa: F401
    except ImportError:
        config = resolve(LmEvalConfig, None, {"model": "m", "tasks": "t", "backend": "vllm", "log_tokens": True})
        with pytest.raises(ConfigError, match="use --backend hf on CPU"):
            build_model(config)
    else:
        pytest.skip("vLLM is installed here")


def test_config_checks_the_rules():
    from generation.config import ConfigError, LmEvalConfig, resolve

    with pytest.raises(ConfigError, match="--decoding must not hold"):
        resolve(LmEvalConfig, None, {"model": "m", "tasks": "t", "decoding": "temperature=0.5"})
    with pytest.raises(ConfigError, match="min_p"):
        resolve(LmEvalConfig, None, {"model": "m", "tasks": "t", "decoding": "min_p=2"})
    with pytest.raises(ConfigError, match="logs nothing"):
        resolve(LmEvalConfig, None, {"model": "m", "tasks": "t", "log_tokens": True, "low_conf_threshold": None,
                                     "all_sampled_threshold": None})


def test_dry_run_loads_nothing(home: Home, monkeypatch):
    from generation.jobs import lm_eval as job

    monkeypatch.setattr(job, "run_lm_eval", lambda config: pytest.fail("--dry-run ran the job"))
    out = ttsw(home, "generate", "lm-eval", "--model", "some/model", "--tasks", "a,b", "--limit", 3,
               "--repeats", 5, "--log-tokens", "--decoding", "min_p=0.1", "--dry-run").output
    assert "model: some/model" in out and "repeats: 5" in out and "min_p: 0.1" in out
    assert "tasks: a, b  (model some/model, backend hf)" in out
    assert "docs: at most 3 per task, 6 in all x 5 repeats" in out and "low_conf_ranks_" in out
    assert not (home.root / "lake").exists() or not any((home.root / "lake").rglob("*.parquet"))


def test_ingest_needs_the_ttsw_command_line(home: Home):
    from generation.cli import generate

    result = CliRunner().invoke(generate, ["lm-eval", "--model", "m", "--tasks", "t", "--ingest"], obj=home)
    assert result.exit_code != 0 and "--ingest needs the ttsw command line" in result.output


def test_vllm_run_writes_rank_logs(model, tmp_path, monkeypatch):
    pytest.importorskip("vllm")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("vLLM needs a GPU")
    from generation.config import LmEvalConfig, resolve
    from generation.jobs.lm_eval import run_lm_eval

    monkeypatch.chdir(fixture.HERE)
    config = resolve(LmEvalConfig, None, {
        "model": str(model), "tasks": fixture.TASK, "include_path": str(fixture.HERE), "limit": 2, "repeats": 2,
        "backend": "vllm", "gpu_memory_utilization": 0.2, "log_tokens": True, "decoding": "min_p=0.05",
        "low_conf_threshold": 1.0, "all_sampled_threshold": 1.0, "output_path": str(tmp_path / "out"),
        "gen_kwargs": "max_gen_toks=4,do_sample=True,temperature=1.0"})
    output = run_lm_eval(config)
    lines = [json.loads(line) for line in output.rank_logs[fixture.TASK][0].read_text().splitlines()]
    assert len(lines) == 2 * 2 and all(1 <= len(line["ranks"]) <= 4 for line in lines)


# --- end to end: --log-tokens, --decoding, --repeats, --ingest on the tiny model -----------------

REPEATS = 3
MIN_P = 0.5


@pytest.fixture(scope="module")
def logged(model, tmp_path_factory):
    """One `ttsw generate lm-eval --ingest` run: 3 docs x 3 repeats, every step in both rank logs."""
    root = tmp_path_factory.mktemp("lm-eval-logged")
    home = Home(root / "home").ensure_writable()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(fixture.HERE)  # the task's data_files path is relative to its folder
        result = ttsw(home, "generate", "lm-eval", "--model", model, "--tasks", fixture.TASK, "--include-path",
                      fixture.HERE, "--limit", 3, "--repeats", REPEATS, "--output-path", root / "out",
                      "--batch-size", 2, "--log-tokens", "--low-conf-threshold", 1.0, "--all-sampled-threshold", 1.0,
                      "--decoding", f"min_p={MIN_P}", "--seed", 1,
                      "--gen-kwargs", "max_gen_toks=4,do_sample=True,temperature=1.0", "--ingest")
    return home, root / "out", result.output


def test_rank_logs_match_a_teacher_forced_recomputation(logged, model):
    import torch
    from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

    _, out, _ = logged
    [samples] = out.rglob(f"samples_{fixture.TASK}_*.jsonl")
    logs = {kind: [json.loads(line) for line in next(out.rglob(f"{kind}_ranks_{fixture.TASK}_*.jsonl")).read_text()
                   .splitlines()] for kind in ("low_conf", "all_sampled")}
    docs = [d for d in map(json.loads, samples.read_text().splitlines()) if d["filter"] == "strict-match"]
    assert len(logs["low_conf"]) == len(logs["all_sampled"]) == 3 * REPEATS
    # both thresholds at 1.0: every generated step is in both logs
    assert logs["low_conf"] == logs["all_sampled"]

    tokenizer = PreTrainedTokenizerFast.from_pretrained(model)
    lm = AutoModelForCausalLM.from_pretrained(model).eval()
    compared = 0
    for d in docs:
        prompt = tokenizer(d["arguments"]["gen_args_0"]["arg_0"], add_special_tokens=False).input_ids
        for r, response in enumerate(d["resps"][0]):
            line = logs["low_conf"][d["doc_id"] * REPEATS + r]
            tokens = tokenizer(response, add_special_tokens=False).input_ids
            if len(line["ranks"]) == len(tokens) + 1:
                tokens.append(tokenizer.eos_token_id)  # it stopped at eos, which the text leaves out
            if len(line["ranks"]) != len(tokens):
                continue  # a special token (unk, pad) was generated and dropped from the text
            with torch.no_grad():
                logits = lm(torch.tensor([prompt + tokens])).logits[0, len(prompt) - 1:-1]
            p = logits.softmax(-1)
            chosen = p[torch.arange(len(tokens)), torch.tensor(tokens)]
            assert line["probs"] == pytest.approx(chosen.tolist(), rel=1e-3)
            assert line["ranks"] == [int((row > c).sum()) + 1 for row, c in zip(p, chosen)]
            # the rule: only tokens with p >= min_p * p_max were ever sampled
            assert all(c >= MIN_P * row.max() * (1 - 1e-4) for row, c in zip(p, chosen))
            compared += 1
    assert compared >= 5, f"only {compared} of {3 * REPEATS} responses could be recomputed"


def test_ingest_brings_samples_repeats_and_rank_logs(logged):
    home, out, output = logged
    con = memory_connection(home)
    try:
        runs = con.sql("select run_id, name, status, source_format from lake.runs order by name").fetchall()
        repeats = con.sql("select run_id, doc_id, list(distinct repeat_idx order by repeat_idx) from "
                          "lake.lm_eval_samples group by all").fetchall()
        events = con.sql("select r.source_format, e.kind, count(*), min(e.rank) >= 1 from lake.decode_events e "
                         "join lake.runs r using (run_id) group by all order by 2").fetchall()
    finally:
        con.close()
    assert {(fmt, status) for _, _, status, fmt in runs} == {("lm-eval", "complete"), ("rank-logs", "complete")}
    assert len(runs) == 3  # the results file, and one run per rank log
    assert all(f"run {run_id}  {name}  [complete]" in output for run_id, name, _, _ in runs)
    # every run carries the samples: 3 docs, each with repeats 0..R-1
    assert sorted(r[1:] for r in repeats) == sorted([(doc, list(range(REPEATS))) for doc in range(3)] * 3)
    logged_steps = sum(len(json.loads(line)["ranks"]) for line in
                       next(out.rglob("low_conf_ranks_*.jsonl")).read_text().splitlines())
    assert events == [("rank-logs", "all_sampled", logged_steps, True), ("rank-logs", "low_conf", logged_steps, True)]


def test_example_config_resolves():
    from pathlib import Path

    from generation.config import LmEvalConfig, resolve

    path = Path(__file__).resolve().parents[2] / "generation" / "configs" / "lm_eval_sample_smart.yaml"
    config = resolve(LmEvalConfig, path, {"limit": 5})
    assert (config.backend, config.tasks, config.repeats, config.log_tokens, config.decoding) == \
        ("vllm", ("gsm8k",), 8, True, {})
    assert (config.low_conf_threshold, config.all_sampled_threshold, config.limit) == (1.0, 0.1, 5)
