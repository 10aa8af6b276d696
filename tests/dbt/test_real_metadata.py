"""Real outputs lack metadata and PRM scores are not always probabilities: the build degrades, never breaks.

One small home, written through the real writers and built once with `ttsw build`:

- runs `bare-a` and `bare-b` (two seeds of one unknown experiment): no model, dataset, approach,
  temperature, seed or N; their problems have no level or subject. `bare-a` has probability PRM
  scores (prm-p, kind not given: inferred probability);
- run `hnc-bare`: the HNC strategy over temperatures 0.4 / 0.8, equally bare, so hnc_comparison
  pairs it with the bare default group on null keys;
- run `raw`: a reward model's scores (orm: real numbers, negative and above 1, kind not given:
  inferred raw; orm-given: one score in [0, 1] that the writer calls raw). Its selection numbers
  are worked out by hand below;
- lm-eval runs `lm-a` (lm-eval claims 3 + 1 docs, 3 logged: partial) and `lm-b` (no approach, no
  claim).
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from warehouse.catalog import connect
from warehouse.home import Home
from warehouse.lake import write_part
from warehouse.runs import open_run

GRADER = "math_verify"
TOL = 1e-12
MARTS_DIR = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "marts"

# problem -> [(answer_key, correct)] per sample; each answer key is its own cluster
BARE_A = {"b1": [("x", True), ("y", False), ("x", True), ("y", False)],
          "b2": [("y", False), ("y", False), ("x", True), ("y", False)]}
BARE_B = {"b1": [("y", False), ("y", False), ("y", False), ("x", True)],
          "b2": [("x", True), ("x", True), ("x", True), ("x", True)]}
RAW = {"r1": [("a", False), ("b", True), ("b", True), ("c", False)],
       "r2": [("w", False), ("g", True), ("w", False), ("g", True)]}
# orm step scores per sample (step_idx 0, 1, ...): reward-model outputs, not probabilities
ORM_STEPS = {"r1": [[1.0, 0.2], [-0.5, -0.5], [3.0, -0.5], [-2.0, 0.0]],
             "r2": [[-3.0], [2.5], [1.0], [-1.0]]}


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _problem(problem_id: str, dataset: str = "unlabelled", original_id: str | None = None) -> dict:
    # no level, no subject, no gold solution: what a bare source gives
    return {"problem_id": problem_id, "dataset": dataset, "original_id": original_id, "problem": f"q {problem_id}",
            "gold_answer": "x"}


def _samples(run_id: str, samples: dict, temperatures: list[float | None] | None = None):
    completions, answers = [], []
    for problem_id, items in samples.items():
        for idx, (key, _) in enumerate(items):
            temperature = temperatures[idx % len(temperatures)] if temperatures else None
            completions.append({"run_id": run_id, "problem_id": problem_id, "sample_idx": idx,
                                "temperature": temperature, "text": f"... \\boxed{{{key}}}"})
            answers.append({"run_id": run_id, "problem_id": problem_id, "sample_idx": idx, "answer": key,
                            "answer_key": key, "gold_key": f"gold:{problem_id}", "extractor": "boxed"})
    return completions, answers


def _grading(samples: dict) -> tuple[list[dict], list[dict]]:
    verdicts, clusters = {}, {}
    for problem_id, items in samples.items():
        for key, correct in items:
            verdicts[(problem_id, key)] = {"gold_key": f"gold:{problem_id}", "answer_key": key, "grader": GRADER,
                                           "grader_version": "1", "is_correct": correct, "status": "ok"}
            clusters[(problem_id, key)] = {"problem_id": problem_id, "answer_key": key,
                                           "cluster_id": f"{problem_id}-{key}", "grader": GRADER,
                                           "grader_version": "1"}
    return list(verdicts.values()), list(clusters.values())


def _write_run(home: Home, meta: dict, samples: dict, *, temperatures=None, prm_scores=None) -> None:
    completions, answers = _samples(meta["run_id"], samples, temperatures)
    with open_run(home, {"source": "imported", **meta}) as run:
        run.write("completions", completions)
        run.write("answers", answers)
        if prm_scores:
            run.write("prm_scores", prm_scores)


def _lm_eval_runs(home: Home) -> None:
    docs = [("t1", 0, 0), ("t1", 0, 1), ("t1", 1, 0), ("t2", 5, 0)]
    rows = [{"run_id": "lm-a", "task": task, "doc_id": doc, "filter": "strict-match", "repeat_idx": repeat,
             "target": "x", "response": "x", "filtered_response": "x", "exact_match": 1.0}
            for task, doc, repeat in docs]
    claims = [{"run_id": "lm-a", "problem_id": None, "claim": f"{task}/n-samples", "method": "docs_claimed",
               "value": value} for task, value in (("t1", 3.0), ("t2", 1.0))]
    with open_run(home, {"run_id": "lm-a", "name": "lm-a", "source": "imported", "approach": "lm_eval"}) as run:
        run.write("lm_eval_samples", rows)
        run.write("source_claims", claims)
    with open_run(home, {"run_id": "lm-b", "name": "lm-b", "source": "imported"}) as run:
        run.write("lm_eval_samples", [{**rows[0], "run_id": "lm-b"}])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    home = Home(tmp_path_factory.mktemp("real_metadata"))
    problems = [_problem(p) for p in ("b1", "b2", "r1", "r2")]
    problems += [_problem(f"{task}-{doc}", task, str(doc)) for task, doc in (("t1", 0), ("t1", 1), ("t2", 5))]
    write_part(home, "problems", problems)
    verdicts, clusters = _grading({**{p: BARE_A[p] + BARE_B[p] for p in BARE_A}, **RAW})  # every (problem, key)
    write_part(home, "verdicts", verdicts)
    write_part(home, "answer_clusters", clusters)

    prm_p = [{"run_id": "bare-a", "problem_id": p, "sample_idx": i, "prm_model": "prm-p", "kind": "step",
              "step_idx": 0, "score": 0.25 * (i + 1)} for p in BARE_A for i in range(4)]
    _write_run(home, {"run_id": "bare-a", "name": "bare-a", "strategy": "default"}, BARE_A, prm_scores=prm_p)
    _write_run(home, {"run_id": "bare-b", "name": "bare-b", "strategy": "default"}, BARE_B)
    _write_run(home, {"run_id": "hnc-bare", "name": "hnc-bare", "strategy": "hnc", "temperatures": [0.4, 0.8]},
               BARE_A, temperatures=[0.4, 0.8])

    orm = [{"run_id": "raw", "problem_id": p, "sample_idx": i, "prm_model": "orm", "kind": "step", "step_idx": s,
            "score": score, "score_kind": None} for p, per_sample in ORM_STEPS.items() for i, steps in enumerate(per_sample)
           for s, score in enumerate(steps)]
    given = [{"run_id": "raw", "problem_id": "r2", "sample_idx": 1, "prm_model": "orm-given", "kind": "step",
              "step_idx": 0, "score": 0.5, "score_kind": "raw"}]
    _write_run(home, {"run_id": "raw", "name": "raw", "model": "Qwen2.5-Math-7B-Instruct", "dataset": "math500",
                      "approach": "bon", "strategy": "default", "temperature": 0.7}, RAW, prm_scores=orm + given)
    _lm_eval_runs(home)

    proc = subprocess.run([sys.executable, "-m", "ttsw", "--home", str(home.root), "build", "-q"],
                          capture_output=True, text=True, timeout=600)
    return home, proc


def mart(home: Home, name: str) -> list[dict]:
    return pq.read_table(home.serving / f"{name}.parquet").to_pylist()


def test_build_exits_zero_with_every_mart(built):
    home, proc = built
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    marts = {p.stem for p in MARTS_DIR.rglob("*") if p.suffix in (".sql", ".py")}
    assert marts and marts <= {p.stem for p in home.serving.glob("*.parquet")}


def test_runs_without_metadata_are_listed(built):
    home, _ = built
    rows = {r["run_id"]: r for r in mart(home, "runs_summary")}
    for run_id in ("bare-a", "bare-b", "hnc-bare"):
        row = rows[run_id]
        assert (row["status"], row["model"], row["dataset"], row["approach"], row["seed"], row["n"]) == \
            ("complete", None, None, None, None, None)
        assert row["samples"] == 8 and row["graded_share"] == 1.0
    assert rows["bare-a"]["pass_at_1"] == pytest.approx((0.5 + 0.25) / 2, abs=TOL)


def test_null_keys_group_as_unknown(built):
    home, _ = built
    bare = [r for r in mart(home, "scaling_curves")
            if r["model"] is None and r["strategy"] == "default" and r["method"] == "pass"
            and r["estimator"] == "unbiased" and r["n"] == 1]
    # bare-a: (2/4 + 1/4) / 2 = .375; bare-b: (1/4 + 4/4) / 2 = .625: one group of two seeds
    assert len(bare) == 1
    row = bare[0]
    assert (row["dataset"], row["approach"], row["temperature_setting"], row["n_samples"], row["seeds"]) == \
        (None, None, "unspecified", 4, 2)
    assert row["mean"] == pytest.approx(0.5, abs=TOL) and row["std_pop"] == pytest.approx(0.125, abs=TOL)

    for name in ("summary", "temperature_comparison", "model_comparison", "hnc_comparison",
                 "accuracy_by_difficulty", "difficulty_temperature", "problem_difficulty"):
        assert any(r["model"] is None for r in mart(home, name)), name

    hnc = [r for r in mart(home, "hnc_comparison") if r["method"] == "pass" and r["estimator"] == "unbiased"
           and r["n"] == 1]
    # hnc-bare holds bare-a's answers: .375 against the bare group's .5
    assert [(r["hnc_mean"], r["default_mean"], r["default_seeds"]) for r in hnc] == \
        [(pytest.approx(0.375, abs=TOL), pytest.approx(0.5, abs=TOL), 2)]

    # the model-null scope's reference: bare-a and bare-b (no temperature recorded), not the mixture
    difficulty = {r["problem_id"]: r for r in mart(home, "problem_difficulty") if r["model"] is None}
    assert difficulty["b1"]["solve_rate"] == pytest.approx(3 / 8, abs=TOL)
    assert difficulty["b2"]["solve_rate"] == pytest.approx(5 / 8, abs=TOL)
    assert {difficulty[p]["reference_runs"] for p in ("b1", "b2")} == {2}
    assert difficulty["b1"]["reference_temperature"] is None


def test_score_kinds(built):
    home, _ = built
    rows = {r["run_id"]: r for r in mart(home, "runs_summary")}
    assert rows["raw"]["prm_score_kind"] == "raw"
    assert rows["bare-a"]["prm_score_kind"] == "probability"
    assert rows["bare-b"]["prm_score_kind"] is None
    con = connect(home)
    try:
        kinds = con.execute("select prm_model, score_kind, score_kind_source from intermediate.int_prm_score_kinds "
                            "order by prm_model").fetchall()
    finally:
        con.close()
    assert kinds == [("orm", "raw", "inferred"), ("orm-given", "raw", "given"),
                     ("prm-p", "probability", "inferred")]
    assert {r["score_kind"] for r in mart(home, "prm_correlation") if r["run_id"] == "raw"} == {"raw"}


def test_raw_scores_aggregate_and_weigh(built):
    home, _ = built
    con = connect(home)
    try:
        rows = con.execute("select problem_id, sample_pos, prm_aggregation, score, vote_weight "
                           "from intermediate.int_sample_prm_scores where run_id = 'raw' and prm_model = 'orm'"
                           ).fetchall()
    finally:
        con.close()
    got = {(p, pos, how): (score, weight) for p, pos, how, score, weight in rows}
    # r1 s3, steps (-2, 0): last 0, min -2, mean -1; prod sigmoid(-2) sigmoid(0) = 0.119203 x 0.5
    assert got[("r1", 3, "last")] == pytest.approx((0.0, 0.5), abs=TOL)
    assert got[("r1", 3, "min")] == pytest.approx((-2.0, sigmoid(-2.0)), abs=TOL)
    assert got[("r1", 3, "mean")] == pytest.approx((-1.0, sigmoid(-1.0)), abs=TOL)
    assert got[("r1", 3, "prod")] == pytest.approx((0.5 * sigmoid(-2.0), 0.5 * sigmoid(-2.0)), abs=TOL)
    # r1 s2, steps (3, -0.5): mean 1.25, prod sigmoid(3) sigmoid(-0.5) = 0.952574 x 0.377541
    assert got[("r1", 2, "mean")] == pytest.approx((1.25, sigmoid(1.25)), abs=TOL)
    assert got[("r1", 2, "prod")][0] == pytest.approx(sigmoid(3.0) * sigmoid(-0.5), abs=TOL)


# Hand-computed accuracies of run `raw` under orm at n = 1, 2, 4 (prefix: the first n samples).
# r1 (A wrong, B right, B right, C wrong):
#   aggregated scores  last (.2, -.5, -.5, 0)   min (.2, -.5, -.5, -2)   mean (.6, -.5, 1.25, -1)
#                      prod (s(1)s(.2) = .402, s(-.5)^2 = .143, s(3)s(-.5) = .360, s(-2)s(0) = .060)
#   naive: arg-max over the first n; s0 wins everywhere (wrong), except mean at n = 4: s2 (1.25): right.
#   weighted (sum of sigmoids; prod: the product itself): n = 1, 2: A alone / A beats B's one member;
#   n = 4: last A .550 < B 2 x .378 = .755 (C .5); min A .550 < B .755 (C .119); mean A .646 <
#   B .378 + .777 (C .269); prod A .402 < B .143 + .360 (C .060): B, right. (A sum of the raw scores
#   would have elected A under last and min: .2 > -1.)
# r2 (W wrong, G right, W wrong, G right), one step each: -3, 2.5, 1, -1 (every aggregation alike):
#   naive: n = 1 s0 wrong; n = 2, 4 s1 (2.5) right. weighted: n = 1 W; n = 2 G .924 > W .047;
#   n = 4 G .924 + .269 = 1.193 > W .047 + .731 = .778: right.
RAW_EXPECTED = {
    ("naive", "last"): [0, 0.5, 0.5],
    ("naive", "min"): [0, 0.5, 0.5],
    ("naive", "mean"): [0, 0.5, 1.0],
    ("naive", "prod"): [0, 0.5, 0.5],
    ("weighted", "last"): [0, 0.5, 1.0],
    ("weighted", "min"): [0, 0.5, 1.0],
    ("weighted", "mean"): [0, 0.5, 1.0],
    ("weighted", "prod"): [0, 0.5, 1.0],
}


def test_raw_score_selection_hand_computed(built):
    home, _ = built
    rows = [r for r in mart(home, "selection_accuracy") if r["run_id"] == "raw" and r["prm_model"] == "orm"]
    got = {}
    for r in rows:
        if r["estimator"] == "prefix":
            got.setdefault((r["method"], r["prm_aggregation"]), {})[r["n"]] = r["accuracy"]
    assert {key: [values[n] for n in (1, 2, 4)] for key, values in got.items()} == \
        {key: pytest.approx(values, abs=TOL) for key, values in RAW_EXPECTED.items()}

    # naive unbiased on r2 (ranks s1 2.5, s2 1, s3 -1, s0 -3; s1 and s3 right), P(j ahead) =
    # C(3 - j, n - 1) / C(4, n): n = 1: 1/4 + 1/4; n = 2: 3/6 + 1/6; n = 4: 1
    by_problem = {(r["n"]): r["accuracy"] for r in mart(home, "selection_accuracy_by_problem")
                  if r["run_id"] == "raw" and r["problem_id"] == "r2" and r["method"] == "naive"
                  and r["estimator"] == "unbiased" and r["prm_model"] == "orm" and r["prm_aggregation"] == "last"}
    assert by_problem == {1: pytest.approx(0.5, abs=TOL), 2: pytest.approx(2 / 3, abs=1e-11),
                          4: pytest.approx(1.0, abs=TOL)}


def test_lm_eval_docs_claimed_and_logged(built):
    home, _ = built
    rows = {r["run_id"]: r for r in mart(home, "runs_summary")}
    assert (rows["lm-a"]["docs_claimed"], rows["lm-a"]["docs_logged"], rows["lm-a"]["samples_partial"]) == \
        (4, 3, True)
    assert (rows["lm-b"]["docs_claimed"], rows["lm-b"]["docs_logged"], rows["lm-b"]["samples_partial"]) == \
        (None, 1, None)
    assert (rows["raw"]["docs_claimed"], rows["raw"]["docs_logged"], rows["raw"]["samples_partial"]) == \
        (None, None, None)
