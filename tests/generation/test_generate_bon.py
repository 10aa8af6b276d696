"""`ttsw generate bon` on a tiny local model: rows in the lake, HNC blocks, token logs, shards,
resume after a crash (and its orphan parts), --resume, dry runs with costs, the example configs,
then `ttsw grade` and `ttsw build` picking the run up."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from files import write_jsonl
from generation.config import GenerateConfig, resolve
from generation.jobs import bon as job
from ttsw.cli import cli
from warehouse.catalog import memory_connection
from warehouse.home import Home
from warehouse.lake import list_parts
from warehouse.problems import math500
from warehouse.runs import get_run

SECRET = "sk-secret-never-stored"
CONFIGS = Path(__file__).resolve().parents[2] / "generation" / "configs"


def ttsw(home: Home, *args: str, ok: bool = True):
    result = CliRunner().invoke(cli, ["--home", str(home.root), *map(str, args)])
    if ok:
        assert result.exit_code == 0, result.output + repr(result.exception)
    return result


def tiny(model: Path, *extra: str) -> list[str]:
    """bon flags for the tiny model; batch_size = n puts each request alone in its generate call,
    so its samples depend on its own seed only (any part size, shard or resume draws the same)."""
    return ["generate", "bon", "--model", model, "--device", "cpu", "--max-tokens", "6", "--n", "4",
            "--batch-size", "4", "--part-size", "2", *extra]


def rows(home: Home, sql: str, params=None) -> list[tuple]:
    con = memory_connection(home)
    try:
        return con.sql(sql, params=params).fetchall()
    finally:
        con.close()


def completions(home: Home, run_id: str) -> dict[tuple[str, int], tuple]:
    found = rows(home, "select problem_id, sample_idx, temperature, text, num_tokens, finish_reason "
                       "from lake.completions where run_id = ?", [run_id])
    keyed = {(r[0], r[1]): r[2:] for r in found}
    assert len(keyed) == len(found), "a (problem, sample) written twice"
    return keyed


@pytest.fixture(scope="module")
def built(tiny_model, tmp_path_factory):
    """One run of 4 MATH-500 problems x n=4 written, graded and built (dbt starts slowly: once)."""
    home = Home(tmp_path_factory.mktemp("bon") / "home")
    os.environ["TTSW_TEST_KEY"] = SECRET  # a key in the environment never reaches the lake
    try:
        first = ttsw(home, *tiny(tiny_model, "--max-queries", "4", "--seed", "3", "--api-key-env", "TTSW_TEST_KEY"))
    finally:
        del os.environ["TTSW_TEST_KEY"]
    [run_id] = [r[0] for r in rows(home, "select run_id from lake.runs")]
    again = ttsw(home, *tiny(tiny_model, "--max-queries", "4", "--seed", "3", "--batch-size", "2"))
    grade = ttsw(home, "grade", "--run", run_id, "--workers", "1")
    build = ttsw(home, "build", "--select", "+runs_summary", "--quiet")
    return home, run_id, first.output, again.output, grade.output, build.output


def test_the_run_lands_in_the_lake(built, tiny_model):
    home, run_id, output, *_ = built
    problems = math500().slice(0, 4).to_pylist()
    written = completions(home, run_id)
    assert sorted(written) == sorted((p["problem_id"], i) for p in problems for i in range(4))
    for temperature, text, num_tokens, reason in written.values():
        assert temperature == 0.8 and isinstance(text, str) and 1 <= num_tokens <= 6
        assert reason in ("stop", "length") and (reason == "stop" or num_tokens == 6)
    record = get_run(home, run_id)
    assert (record["status"], record["source"], record["approach"], record["strategy"]) == (
        "complete", "generated", "bon", "default")
    assert (record["dataset"], record["model"], record["n"], record["seed"], record["max_tokens"]) == (
        "HuggingFaceH4/MATH-500", str(tiny_model), 4, 3, 6)
    assert record["temperatures"] == [0.8] and record["temperature_ratios"] == [1.0]
    config = json.loads(record["config"])
    assert config["model"] == str(tiny_model) and config["max_queries"] == 4 and config["shard"] is None
    flags = {"model": str(tiny_model), "device": "cpu", "max_tokens": 6, "n": 4, "batch_size": 4, "part_size": 2,
             "max_queries": 4, "seed": 3, "api_key_env": "TTSW_TEST_KEY"}
    assert resolve(GenerateConfig, None, base=config) == resolve(GenerateConfig, None, flags)
    assert SECRET not in json.dumps(rows(home, "select * from lake.run_events"), default=str)
    assert rows(home, "select count(*) from lake.problems")[0][0] == 4
    assert f"run {run_id} (gen/model/MATH-500/bon/T0.8/n4/seed3/first4) complete" in output
    assert f"ttsw grade --run {run_id}" in output and "ttsw build" in output
    assert len(list((home.lake / "completions" / f"run_id={run_id}").glob("part-*.parquet"))) == 2


def test_a_complete_run_is_left_alone(built):
    home, run_id, _, again, *_ = built
    assert "is already complete: nothing to do" in again
    assert [s for (s,) in rows(home, "select status from lake.run_events order by updated_at")] == [
        "running", "complete"]


def test_grade_and_build_pick_the_run_up(built):
    home, run_id, _, _, grade, build = built
    assert "graded 16 completions in 1 run" in grade
    summary = pq.read_table(home.serving / "runs_summary.parquet").to_pylist()
    [row] = [r for r in summary if r["run_id"] == run_id]
    assert (row["status"], row["source"], row["problems"], row["samples"], row["n"]) == ("complete", "generated", 4, 16, 4)
    assert row["graded_share"] + row["no_answer_share"] == pytest.approx(1.0)  # every sample went through grading


def test_hnc_blocks_and_token_logs(tiny_model, home):
    out = ttsw(home, *tiny(tiny_model, "--max-queries", "2", "--temperatures", "0.4,1.2", "--temperature-ratios",
                           "3,1", "--log-tokens", "--low-conf-threshold", "0.5", "--top-logprobs", "2"))
    [run_id] = [r[0] for r in rows(home, "select run_id from lake.runs")]
    written = completions(home, run_id)
    assert {idx: t for (_, idx), (t, *_) in written.items()} == {0: 0.4, 1: 0.4, 2: 0.4, 3: 1.2}
    record = get_run(home, run_id)
    assert (record["strategy"], record["temperature"], record["temperatures"], record["temperature_ratios"]) == (
        "hnc", None, [0.4, 1.2], [0.75, 0.25])
    assert "/hnc-T0.4x3-1.2x1/" in record["name"]
    # one token_traces row per generated token, pos 0..num_tokens-1, top-2 lists
    traces = rows(home, "select problem_id, sample_idx, count(*), max(pos), min(len(topk_ids)) "
                        "from lake.token_traces group by all")
    assert {(p, i): (c, m, k) for p, i, c, m, k in traces} == {
        key: (num_tokens, num_tokens - 1, 2) for key, (_, _, num_tokens, _) in written.items()}
    low_conf = rows(home, "select count(*) from lake.decode_events where kind = 'low_conf'")[0][0]
    assert low_conf == rows(home, "select count(*) from lake.token_traces where top1_prob < 0.5")[0][0]
    assert "token_traces rows" in out.output and "decode_events rows" in out.output


def test_shards_share_the_run_and_add_up_to_the_whole(tiny_model, home, tmp_path):
    base = tiny(tiny_model, "--max-queries", "4")
    ttsw(home, *base, "--shard", "0/2")
    [run_id] = [r[0] for r in rows(home, "select run_id from lake.runs")]
    assert get_run(home, run_id)["status"] == "running"
    even = {p for p, _ in completions(home, run_id)}
    ids = [p["problem_id"] for p in math500().slice(0, 4).to_pylist()]
    assert even == set(ids[0::2])
    second = ttsw(home, *base, "--shard", "1/2")
    assert get_run(home, run_id)["status"] == "complete" and "complete" in second.output
    whole = Home(tmp_path / "whole")
    ttsw(whole, *base, "--part-size", "4")
    assert completions(home, run_id) == completions(whole, run_id)  # same run id, same samples


def test_resume_after_a_crash_redoes_only_the_missing_parts(tiny_model, home, tmp_path, monkeypatch):
    from generation.backends.hf import HFBackend
    from warehouse.runs import RunHandle

    config = resolve(GenerateConfig, None, {"model": str(tiny_model), "device": "cpu", "max_tokens": 6, "n": 4,
                                            "batch_size": 4, "part_size": 2, "max_queries": 4, "log_tokens": True})
    plan = job.plan(config)
    write = RunHandle.write
    seen = []

    def crash_on_the_second_marker(self, table, data, keys=None, tag=None):
        if table == "completions":
            seen.append(keys)
            if len(seen) == 2:  # the batch's token_traces part is in place, its completions not
                raise OSError("disk gone")
        return write(self, table, data, keys, tag)

    monkeypatch.setattr(RunHandle, "write", crash_on_the_second_marker)
    make = lambda: HFBackend(model=str(tiny_model), device="cpu", batch_size=4)  # noqa: E731
    with pytest.raises(OSError, match="disk gone"):
        job.run_bon(home, plan, make)
    monkeypatch.setattr(RunHandle, "write", write)
    failed = get_run(home, plan.run_id)
    assert failed["status"] == "failed" and "disk gone" in failed["error"]
    assert completions(home, plan.run_id) == {}  # a failed run's rows are hidden from the lake views
    kept = pq.read_table(list_parts(home, "completions", plan.run_id), columns=["problem_id"], partitioning=None)
    assert len(set(kept.column("problem_id").to_pylist())) == 2  # but its finished parts are kept for resume
    assert len(list((home.lake / "token_traces" / f"run_id={plan.run_id}").glob("part-*"))) == 2  # one orphan

    outcome = job.run_bon(home, plan, make)
    assert (outcome.status, outcome.keys_done_before, outcome.keys_written, outcome.orphans_removed) == (
        "complete", 2, 2, 1)
    resumed = completions(home, plan.run_id)
    assert len(resumed) == 4 * 4
    dupes = rows(home, "select count(*) from (select problem_id, sample_idx, pos, count(*) c "
                       "from lake.token_traces group by all having c > 1)")
    assert dupes == [(0,)]
    assert rows(home, "select sum(num_tokens) from lake.completions")[0][0] == rows(
        home, "select count(*) from lake.token_traces")[0][0]
    whole = Home(tmp_path / "whole")
    job.run_bon(whole, plan, make)
    assert completions(whole, plan.run_id) == resumed  # the crash changed no sample


def test_resume_by_run_id_from_the_stored_config(tiny_model, home):
    first = ttsw(home, *tiny(tiny_model, "--max-queries", "3", "--shard", "0/3"))
    assert "completes when every shard has finished" in first.output
    [run_id] = [r[0] for r in rows(home, "select run_id from lake.runs")]
    refused = ttsw(home, "generate", "bon", "--resume", run_id[:8], "--seed", "9", ok=False)
    assert "--seed would change what the run generates" in str(refused.exception)
    done = ttsw(home, "generate", "bon", "--resume", run_id[:8], "--batch-size", "2")
    assert "resumed: 1 problem(s) were already done" in done.output and "complete" in done.output
    assert len(completions(home, run_id)) == 3 * 4


def test_bon_through_an_openai_compatible_server(home, monkeypatch):
    from openai_server import OpenAIServer

    monkeypatch.setenv("TTSW_SERVER_KEY", SECRET)
    with OpenAIServer(api_key=SECRET, answer="so the answer is \\boxed{4}") as server:
        out = ttsw(home, "generate", "bon", "--backend", "openai", "--base-url", server.url, "--model", "tiny",
                   "--api-key-env", "TTSW_SERVER_KEY", "--max-queries", "2", "--n", "3", "--temperatures", "0.5,1.0",
                   "--concurrency", "2", "--max-tokens", "32")
    [run_id] = [r[0] for r in rows(home, "select run_id from lake.runs")]
    written = completions(home, run_id)
    assert sorted(idx for _, idx in written) == [0, 0, 1, 1, 2, 2]
    assert {idx: t for (_, idx), (t, *_) in written.items()} == {0: 0.5, 1: 0.5, 2: 1.0}
    assert all(text.startswith("so the answer is \\boxed{4}") for _, text, *_ in written.values())
    assert get_run(home, run_id)["status"] == "complete" and "complete" in out.output
    assert SECRET not in json.dumps(rows(home, "select * from lake.run_events"), default=str)


def test_a_backend_that_cannot_start_writes_no_run(home):
    result = ttsw(home, "generate", "bon", "--model", "/no/such/model", "--max-queries", "1", ok=False)
    assert "the hf backend cannot start: model folder /no/such/model does not exist" in str(result.exception)
    assert rows(home, "select count(*) from lake.runs") == [(0,)]


def test_dry_run_counts_requests_and_estimates_cost(home, tmp_path):
    data = write_jsonl(tmp_path / "q.jsonl", [{"problem": "abcd" * 10, "answer": "1"} for _ in range(1)]
                       + [{"problem": "wxyz" * 10, "answer": "2"}, {"problem": "third", "answer": "3"}])
    out = ttsw(home, "generate", "bon", "--model", "gpt-x", "--backend", "openai", "--base-url", "http://x/v1",
               "--dataset", data, "--max-queries", "2", "--n", "4", "--temperatures", "0.5,1.0",
               "--max-tokens", "100", "--prices", "input=1000,output=2000", "--dry-run").output
    assert "model: gpt-x" in out and "temperatures:\n- 0.5\n- 1.0" in out and "api_key_env: OPENAI_API_KEY" in out
    assert "[new]" in out and "problems: 2\n" in out
    assert "requests: 2 problems x n=4 = 8 samples (4 prompts: 2 per problem" in out
    # input: 40 characters / 4 = 10 tokens per prompt x 2 blocks x 2 problems = 40 tokens -> $0.04;
    # output: 2 problems x 4 samples x 100 tokens = 800 tokens -> $1.60
    assert "cost estimate: $1.64 = 40 input tokens" in out and "800 output tokens" in out
    assert not home.table_dir("runs").exists()
    sharded = ttsw(home, "generate", "bon", "--model", "m", "--dataset", data, "--shard", "1/2", "--dry-run").output
    assert "problems: 1 (shard 1/2 of 3)" in sharded and "cost estimate" not in sharded


STAND_INS = {  # a local stand-in for each example config's dataset: record i
    "bon_baseline.yaml": lambda i: {"uuid": f"u{i}", "messages": [{"role": "user", "content": f"Q{i}?"}]},
    "bon_math_focused.yaml": lambda i: {"uuid": f"u{i}", "messages": [{"role": "user", "content": f"Q{i}?"}]},
    "bon_high_throughput.yaml": lambda i: {"uuid": f"u{i}", "messages": [{"role": "user", "content": f"Q{i}?"}]},
    "prm_reliability.yaml": lambda i: {"problem_idx": i, "problem": f"Find x{i}.", "answer": "7"},
    "reasoning_traces.yaml": lambda i: {"query": f"Why is sky {i} blue?"},
    "sample_smart_gsm8k.yaml": lambda i: {"question": f"{i}+2?", "answer": f"Add.\n#### {i + 2}"},
}


def test_the_example_configs_cover_the_seeds():
    assert set(STAND_INS) <= {p.name for p in CONFIGS.glob("*.yaml")}


@pytest.mark.parametrize("name", sorted(STAND_INS))
def test_every_example_config_loads_and_dry_runs(name, home, tmp_path):
    config = resolve(GenerateConfig, CONFIGS / name)
    data = write_jsonl(tmp_path / "stand_in.jsonl", [STAND_INS[name](i) for i in range(3)])
    out = ttsw(home, "generate", "bon", "--config", CONFIGS / name, "--dataset", data, "--split", "test",
               "--dataset-name", config.dataset, "--dry-run").output
    assert f"requests: 3 problems x n={config.n} = {3 * config.n} samples" in out
    assert ("cost estimate: $" in out) == bool(config.prices)
    assert f"dataset_name: {config.dataset}" in out
