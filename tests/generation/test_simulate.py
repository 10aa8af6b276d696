"""`generation.simulate`: simulated runs land in the lake deterministically, once, with realistic content."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from generation.sim_texts import FINAL_PREFIX, FINAL_SUFFIX
from generation.simulate import SimSpec, preset_specs, simulate, simulate_chunk
from warehouse.catalog import memory_connection
from warehouse.home import Home
from warehouse.lake import list_parts, part_name
from warehouse.runs import get_run, open_run

QWEN = "Qwen/Qwen2.5-1.5B-Instruct"
SMALL = SimSpec(QWEN, n=8, problems=12)
BOXED = re.compile(r"\\boxed\{(.*)\}\$\. I hope it is correct\.$", re.S)


@pytest.fixture(scope="module")
def big_run() -> pl.DataFrame:
    """One full-size run (500 problems × 64), completions joined with each sample's PRM step scores."""
    chunk = simulate_chunk(SimSpec(QWEN), 0, 500, 0)
    steps = (pl.from_arrow(chunk["prm_scores"]).sort("step_idx")
             .group_by("problem_id", "sample_idx").agg(pl.col("score"), pl.col("step_idx")))
    return pl.from_arrow(chunk["completions"]).join(steps, on=["problem_id", "sample_idx"], how="left")


def _table(home: Home, table: str) -> pl.DataFrame:
    con = memory_connection(home)
    try:
        return con.sql(f"select * from lake.{table} order by all").pl()
    finally:
        con.close()


def test_same_spec_gives_identical_data_in_two_homes(tmp_path):
    homes = [Home(tmp_path / name) for name in ("a", "b")]
    for home in homes:
        simulate(home, [SMALL], progress=False)
    for table in ("completions", "prm_scores"):
        parts = [list_parts(home, table, SMALL.run_id) for home in homes]
        assert [p.name for p in parts[0]] == [p.name for p in parts[1]] and parts[0]
        assert [p.read_bytes() for p in parts[0]] == [p.read_bytes() for p in parts[1]]
        assert _table(homes[0], table).equals(_table(homes[1], table))


def test_seeds_change_the_data_but_not_the_problems(home):
    other = replace(SMALL, seed=1)
    simulate(home, [SMALL, other], progress=False)
    completions = _table(home, "completions")
    first, second = (completions.filter(pl.col("run_id") == s.run_id) for s in (SMALL, other))
    assert first["problem_id"].to_list() == second["problem_id"].to_list()
    assert first["text"].to_list() != second["text"].to_list()


def test_second_simulate_writes_nothing_and_reports_skips(home):
    first = simulate(home, [SMALL], progress=False)
    assert first["written"] == [SMALL.name] and first["completions"] == 96
    files = sorted(p for p in home.lake.rglob("*.parquet"))
    stamps = [p.stat().st_mtime_ns for p in files if "problems" not in p.parts]
    again = simulate(home, [SMALL, SMALL], progress=False)
    assert again["written"] == [] and again["skipped"] == [SMALL.name] and again["completions"] == 0
    assert sorted(home.lake.rglob("*.parquet")) == files
    assert [p.stat().st_mtime_ns for p in files if "problems" not in p.parts] == stamps


def test_run_lifecycle_and_runs_columns(home):
    hnc = SimSpec(QWEN, "dvts", (0.4, 0.8, 1.2, 1.6), n=8, problems=12)
    simulate(home, [SMALL, hnc], progress=False)
    con = memory_connection(home)
    events = con.sql("select status from lake.run_events where run_id = ? order by updated_at",
                     params=[SMALL.run_id]).pl()["status"].to_list()
    assert events == ["running", "complete"]
    bon, dvts = get_run(home, SMALL.run_id), get_run(home, hnc.run_id)
    assert bon["source"] == "simulated" and bon["source_format"] == "simulation"
    assert bon["name"] == "sim/Qwen2.5-1.5B-Instruct/bon/T0.8/n8/seed0/first12"
    assert bon["dataset"] == "HuggingFaceH4/MATH-500" and bon["model"] == QWEN
    assert (bon["strategy"], bon["temperature"], bon["temperatures"]) == ("default", 0.8, [0.8])
    assert bon["beam_width"] is None and bon["agg_strategy"] == "last"
    assert bon["prm_model"] == "Qwen/Qwen2.5-Math-PRM-7B" and bon["max_tokens"] == 2048
    assert "simulated" in bon["notes"].lower()
    assert json.loads(bon["config"]) == SMALL.identity()
    assert dvts["strategy"] == "hnc" and dvts["temperature"] is None
    assert dvts["temperatures"] == [0.4, 0.8, 1.2, 1.6] and dvts["temperature_ratios"] == [0.25] * 4
    assert (dvts["beam_width"], dvts["num_iterations"], dvts["lookahead"]) == (4, 40, 0)
    problems = con.sql("select count(*) as n from lake.problems").pl()["n"][0]
    assert problems == 500


def test_incomplete_run_is_discarded_and_redone(home):
    with pytest.raises(RuntimeError):
        with open_run(home, SMALL.run_meta()) as run:
            run.write("completions", {"run_id": [SMALL.run_id], "problem_id": ["junk"], "sample_idx": [0]},
                      keys=["junk"])
            raise RuntimeError("simulated crash")
    assert get_run(home, SMALL.run_id)["status"] == "failed"
    summary = simulate(home, [SMALL], progress=False)
    assert summary["redone"] == [SMALL.name] and summary["written"] == [SMALL.name]
    assert get_run(home, SMALL.run_id)["status"] == "complete"
    completions = _table(home, "completions")
    assert completions.height == 96 and "junk" not in completions["problem_id"].to_list()


def test_hnc_samples_carry_their_temperature_block_or_cyclic():
    temps = (0.4, 0.8, 1.2, 1.6)
    for approach, expected in [("bon", [0.4] * 4 + [0.8] * 4 + [1.2] * 4 + [1.6] * 4),
                               ("beam_search", [0.4] * 4 + [0.8] * 4 + [1.2] * 4 + [1.6] * 4),
                               ("dvts", list(temps) * 4)]:
        spec = SimSpec(QWEN, approach, temps, n=16, problems=3)
        frame = pl.from_arrow(simulate_chunk(spec, 0, 3, 0)["completions"])
        for _, group in frame.group_by("problem_id"):
            assert group.sort("sample_idx")["temperature"].to_list() == expected
    uneven = SimSpec(QWEN, "bon", (0.4, 1.2), (0.75, 0.25), n=8).sample_temperatures()
    assert uneven.tolist() == [0.4] * 6 + [1.2] * 2


def test_texts_are_step_chains_ending_in_the_boxed_answer(big_run):
    answered = big_run.filter(pl.col("source_answer").is_not_null())
    for text, answer in answered.head(2000).select("text", "source_answer").iter_rows():
        assert text.startswith("## Step 1: ") and "\n\n## Step 2: " in text
        assert text.endswith(FINAL_PREFIX + answer + FINAL_SUFFIX)
        assert BOXED.search(text)[1] == answer
    steps = answered["text"].str.count_matches("## Step ")
    assert steps.n_unique() >= 6
    assert (answered["finish_reason"] == "stop").all()


def test_no_answer_and_truncated_shares(big_run):
    no_box = ~big_run["text"].str.contains("\\boxed", literal=True)
    truncated = big_run["finish_reason"] == "length"
    assert 0.01 <= truncated.mean() <= 0.04
    assert 0.02 <= (no_box & ~truncated).mean() <= 0.05
    assert no_box.filter(truncated).all()
    assert big_run.filter(truncated)["num_tokens"].unique().to_list() == [2048]
    assert big_run.filter(no_box)["source_answer"].null_count() == no_box.sum()
    assert not big_run.filter(no_box)["source_is_correct"].any()
    stop = big_run.filter(~truncated)
    assert stop["num_tokens"].max() < 2048
    assert np.corrcoef(stop["text"].str.len_chars().to_numpy(), stop["num_tokens"].to_numpy())[0, 1] > 0.95


def test_prm_scores_one_per_step_and_correlated_with_correctness(big_run):
    blocks = big_run["text"].str.split("\n\n").list.len()
    assert (big_run["score"].list.len() == blocks).all()
    assert (big_run["step_idx"].list.eval(pl.element() == pl.int_range(pl.len())).list.all()).all()
    scores = big_run["score"].explode()
    assert scores.min() > 0 and scores.max() < 1
    last = big_run["score"].list.last().to_numpy()
    correct = big_run["source_is_correct"].to_numpy()
    assert last[correct].mean() > last[~correct].mean() + 0.1
    ranks = pl.Series(last).rank("average").to_numpy()
    positives, negatives = correct.sum(), (~correct).sum()
    auroc = (ranks[correct].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    assert 0.65 <= auroc <= 0.85


def test_equivalent_forms_and_popular_wrong_answers_appear(big_run, math500_table):
    gold = pl.from_arrow(math500_table.select(["problem_id", "gold_answer"]))
    answers = big_run.filter(pl.col("source_answer").is_not_null()).join(gold, on="problem_id")
    right = answers.filter(pl.col("source_is_correct"))
    alternative = right.filter(pl.col("source_answer") != pl.col("gold_answer"))
    assert 0.08 <= alternative.height / right.height <= 0.25
    # A popular wrong answer wins the vote on some problems that were solved at least once.
    votes = (answers.group_by("problem_id", "source_answer")
             .agg(pl.len().alias("votes"), pl.col("source_is_correct").first())
             .sort("votes", descending=True).group_by("problem_id", maintain_order=True)
             .agg(pl.col("source_is_correct").first().alias("top_right"),
                  pl.col("source_is_correct").any().alias("solved")))
    assert votes.filter(~pl.col("top_right") & pl.col("solved")).height >= 20


def test_accuracy_follows_model_temperature_and_level(math500_table):
    def accuracy(spec: SimSpec) -> float:
        return pl.from_arrow(simulate_chunk(spec, 0, 500, 0)["completions"])["source_is_correct"].mean()

    small = {"n": 16, "prm": False}
    qwen3, llama = SimSpec("Qwen/Qwen2.5-3B-Instruct", **small), SimSpec("meta-llama/Llama-3.2-1B-Instruct", **small)
    qwen, hot = SimSpec(QWEN, **small), SimSpec(QWEN, temperatures=(1.6,), **small)
    assert accuracy(qwen3) > accuracy(qwen) > accuracy(llama)
    assert accuracy(qwen) > accuracy(hot) + 0.1
    levels = pl.from_arrow(math500_table.select(["problem_id", "level"]))
    by_level = (pl.from_arrow(simulate_chunk(qwen, 0, 500, 0)["completions"]).join(levels, on="problem_id")
                .group_by("level").agg(pl.col("source_is_correct").mean()).sort("level"))
    assert by_level["source_is_correct"].to_list() == sorted(by_level["source_is_correct"].to_list(), reverse=True)


def test_big_runs_are_split_into_bounded_parts(home):
    spec = SimSpec(QWEN, n=256, problems=300, prm=False, text="brief")
    simulate(home, [spec], progress=False)
    parts = list_parts(home, "completions", spec.run_id)
    assert {p.name for p in parts} == {f"part-{part_name(['sim', i])}.parquet" for i in range(3)}
    assert list_parts(home, "prm_scores", spec.run_id) == []
    assert _table(home, "completions").height == 256 * 300


def test_presets():
    demo = preset_specs("demo")
    assert 8 <= len(demo) <= 20 and all(s.problems == 500 for s in demo if not s.log_tokens)
    assert len({s.model for s in demo}) == 3
    assert {s.approach for s in demo} == {"bon", "beam_search", "dvts", "sampling", "teacher_forced"}
    assert any(s.strategy == "hnc" for s in demo) and max(s.n for s in demo) == 256
    assert sum(s.completions for s in demo) == 546_000 and len({s.run_id for s in demo}) == len(demo)
    seeds = {}
    for s in demo:
        seeds.setdefault((s.model, s.approach, s.temperatures, s.n), set()).add(s.seed)
    assert max(len(v) for v in seeds.values()) >= 3
    bench = preset_specs("bench")
    assert sum(s.completions for s in bench) == 10_080_000 and not any(s.prm for s in bench)
    assert len({s.run_id for s in bench}) == len(bench)
    assert all(s.problems == 50 for s in preset_specs("tiny", problems=50))
    with pytest.raises(ValueError, match="unknown preset"):
        preset_specs("huge")


def test_spec_validation():
    with pytest.raises(ValueError, match="approach"):
        SimSpec(QWEN, "lm_eval")
    with pytest.raises(ValueError, match="problems"):
        SimSpec(QWEN, problems=501)
    with pytest.raises(ValueError, match="ratios"):
        SimSpec(QWEN, temperatures=(0.4, 0.8), temperature_ratios=(1.0,))
    assert SimSpec(QWEN, temperatures=(0.4, 0.8), temperature_ratios=(3, 1)).temperature_ratios == (0.75, 0.25)
    assert SimSpec(QWEN).run_id == SimSpec(QWEN, temperatures=[0.8]).run_id != SimSpec(QWEN, n=32).run_id
