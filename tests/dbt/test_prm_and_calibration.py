"""prm_correlation, calibration_grid and calibration_fit against numpy / scipy / plain Python.

One small warehouse, built once (dbt build of these marts and what they depend on, unit tests
included):

- run `scored` (6 problems x 8 samples, random correctness; some samples without an answer or
  without a verdict, which count as wrong): step and whole PRM scores of `prm-a` at token
  thresholds 128 and 512 and for the whole completion (ties in the scores, a null step score,
  samples left unscored at 512), constant scores of `prm-b` at 256 (r undefined), scores of a
  sample that is not in completions (dropped); a running run with scores (ignored);
- the PRM analysis' correlation output, ingested with `ttsw ingest`'s reader, claiming the r that
  numpy gives for some keys of `scored` (it names the file `scored` came from);
- teacher-forced runs with random top-k lists (softmax of random logits, gold drawn from the full
  distribution): two of model `lm-a` (k = 5), one of `lm-b` with lists of 3 to 5 entries, one
  without a model, one still running.
"""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from datetime import datetime, timezone

import numpy as np
import pyarrow.parquet as pq
import pytest
from scipy.stats import pearsonr
from sklearn.metrics import roc_auc_score

from ingest.runner import ingest
from warehouse.dbt_runner import build
from warehouse.home import Home
from warehouse.lake import write_part
from warehouse.runs import open_run

GRADER = "math_verify"
TOL = 1e-9
Z975 = 1.959963984540054
BINS, MIN_SUPPORT = 10, 10
THRESHOLDS = {"dynamic_top_k_10pct": 0.10, "dynamic_top_k_5pct": 0.05, "dynamic_top_k_1pct": 0.01}
SAMPLES_FILE = "/data/prm_analysis/toy_N8.json"
VOCAB = 40

PRM_COLUMNS = ["run_id", "prm_model", "token_threshold", "aggregation", "pairs", "positives", "pearson_r",
               "ci_low", "ci_high", "auroc", "mean_score_correct", "mean_score_wrong", "claimed_pearson_r",
               "claim_run_id", "score_kind"]
GRID_COLUMNS = ["model", "run_id", "bin", "bin_low", "bin_high", "rank", "positions", "support", "share",
                "mean_prob"]
FIT_COLUMNS = ["model", "run_id", "runs", "positions", "top_k", "a", "b", "r_squared", "cells", *THRESHOLDS]


def _meta(run_id: str, **extra) -> dict:
    return {"run_id": run_id, "name": run_id, "source": "simulated", "dataset": "toy", "approach": "bon",
            "strategy": "default", "seed": 0, **extra}


# ---- PRM: samples, verdicts, scores ---------------------------------------------------------------

def write_scored_run(home: Home, rng: random.Random) -> dict[tuple, list[tuple[float, bool]]]:
    """The `scored` run and its PRM scores; returns (prm, threshold, aggregation) -> [(score, correct)]."""
    completions, answers, verdicts, clusters, scores = [], [], [], [], []
    correct: dict[tuple[str, int], bool] = {}
    for p in range(6):
        problem_id = f"p{p}"
        for key, ok in (("right", True), ("wrong", False)):
            verdicts.append({"gold_key": f"gold:{problem_id}", "answer_key": key, "grader": GRADER,
                             "grader_version": "1", "is_correct": ok, "status": "ok", "seconds": 0.0})
            clusters.append({"problem_id": problem_id, "answer_key": key, "cluster_id": f"{problem_id}-{key}",
                             "grader": GRADER, "grader_version": "1"})
        for idx in range(8):
            completions.append({"run_id": "scored", "problem_id": problem_id, "sample_idx": idx, "temperature": 0.8,
                                "text": "...", "num_tokens": 600})
            roll = rng.random()
            # an answer with no verdict ("unverified") and no answer at all both count as wrong
            key = None if roll < 0.1 else "unverified" if roll < 0.2 else rng.choice(["right", "right", "wrong"])
            if key is not None:
                answers.append({"run_id": "scored", "problem_id": problem_id, "sample_idx": idx, "answer": key,
                                "answer_key": key, "gold_key": f"gold:{problem_id}", "extractor": "boxed"})
            correct[(problem_id, idx)] = key == "right"

    pairs: dict[tuple, list[tuple[float, bool]]] = defaultdict(list)

    def score_sample(problem_id: str, idx: int, prm: str, threshold: int | None, steps: list[float | None],
                     whole: float | None) -> None:
        for step_idx, score in enumerate(steps):
            scores.append({"run_id": "scored", "problem_id": problem_id, "sample_idx": idx, "prm_model": prm,
                           "token_threshold": threshold, "kind": "step", "step_idx": step_idx, "score": score})
        if whole is not None:
            scores.append({"run_id": "scored", "problem_id": problem_id, "sample_idx": idx, "prm_model": prm,
                           "token_threshold": threshold, "kind": "whole", "step_idx": 0, "score": whole})
        ok = correct[(problem_id, idx)]
        present = [s for s in steps if s is not None]
        if present:
            pairs[(prm, threshold, "mean")].append((float(np.mean(present)), ok))
            pairs[(prm, threshold, "min")].append((min(present), ok))
            pairs[(prm, threshold, "last")].append((steps[max(i for i, s in enumerate(steps) if s is not None)], ok))
        if whole is not None:
            pairs[(prm, threshold, "whole")].append((whole, ok))

    for (problem_id, idx), ok in correct.items():
        for threshold in (128, 512, None):
            if threshold == 512 and idx == 7:
                continue  # not scored at 512: no pair there
            signal = {128: 0.05, 512: 0.25, None: 0.4}[threshold] * ok
            steps: list[float | None] = [round(min(1.0, rng.random() * 0.6 + signal), 1 if threshold == 128 else 4)
                                         for _ in range(rng.randint(1, 4))]
            if rng.random() < 0.1:
                steps.insert(rng.randrange(len(steps) + 1), None)  # a null step score is skipped
            whole = round(min(1.0, rng.random() * 0.7 + signal), 3)
            score_sample(problem_id, idx, "prm-a", threshold, steps, whole)
        score_sample(problem_id, idx, "prm-b", 256, [0.5, 0.5], None)

    with open_run(home, _meta("scored", model="gen-a", n=8, source_uri=SAMPLES_FILE)) as run:
        run.write("completions", completions)
        run.write("answers", answers)
        # scores of a sample the run never generated are dropped
        stray = {"run_id": "scored", "problem_id": "p0", "sample_idx": 99, "prm_model": "prm-a",
                 "token_threshold": 128, "kind": "whole", "step_idx": 0, "score": 1.0}
        run.write("prm_scores", scores + [stray])
    write_part(home, "verdicts", verdicts)
    write_part(home, "answer_clusters", clusters)
    write_running_run(home, "scored-running", "prm_scores", scores[:10])
    return dict(pairs)


def write_running_run(home: Home, run_id: str, table: str, rows: list[dict]) -> None:
    """What a killed writer leaves behind: a `running` status event and a part. Marts never read it."""
    now = datetime.now(timezone.utc)
    write_part(home, "runs", [{**_meta(run_id, model="lm-a"), "status": "running", "created_at": now,
                               "updated_at": now}], run_id=run_id)
    write_part(home, table, [{**row, "run_id": run_id} for row in rows], run_id=run_id)


def ingest_claims(home: Home, tmp_path, claims: dict[str, dict[str, float]]) -> None:
    """The seed tool's correlation output for the `scored` samples, through the prm-json reader."""
    doc = {"metadata": {"data_file": "prm_analysis_data/toy_N8.json", "prm_model": "prm-a",
                        "model_name": "gen-a", "N": 8},
           "correlations": claims}
    path = tmp_path / "toy_N8_correlations.json"
    path.write_text(json.dumps(doc))
    summary = ingest(home, [str(path)], progress=False)
    assert summary.written


# ---- calibration: teacher-forced top-k ------------------------------------------------------------

def topk_rows(rng: np.random.Generator, positions: int, k_choices: tuple[int, ...]) -> list[dict]:
    rows = []
    for i in range(positions):
        logits = rng.normal(0.0, rng.uniform(0.1, 6.0), VOCAB)
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        order = np.argsort(-probs, kind="stable")
        gold = int(rng.choice(VOCAB, p=probs))
        k = int(rng.choice(k_choices))
        rank = int(np.nonzero(order == gold)[0][0]) + 1
        rows.append({"doc_idx": i // 50, "pos": i % 50, "gt_token_id": gold, "gt_rank": rank if rank <= k else None,
                     "top_ids": [int(t) for t in order[:k]], "top_probs": [float(p) for p in probs[order[:k]]]})
    return rows


def write_topk_runs(home: Home) -> dict[str, tuple[str | None, list[dict]]]:
    """run_id -> (model, rows as stored: top_probs through float32, as the lake keeps them)."""
    rng = np.random.default_rng(11)
    runs = {"tf-a1": ("lm-a", topk_rows(rng, 500, (5,))), "tf-a2": ("lm-a", topk_rows(rng, 300, (5,))),
            "tf-b": ("lm-b", topk_rows(rng, 400, (3, 4, 5))), "tf-none": (None, topk_rows(rng, 60, (4,)))}
    for run_id, (model, rows) in runs.items():
        with open_run(home, _meta(run_id, model=model, approach="teacher_forced")) as run:
            run.write("token_topk", [{**row, "run_id": run_id} for row in rows])
        for row in rows:
            row["top_probs"] = [float(np.float32(p)) for p in row["top_probs"]]
    write_running_run(home, "tf-running", "token_topk", runs["tf-a1"][1][:20])
    return runs


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dbt_prm_calibration")
    home = Home(tmp / "home").ensure_writable()
    pairs = write_scored_run(home, random.Random(5))
    claimed = {("prm-a", 128, "mean"), ("prm-a", 128, "whole"), ("prm-a", 512, "last")}
    claims = {str(t): {} for _, t, _ in claimed}
    for prm, threshold, aggregation in claimed:
        x, y = zip(*pairs[(prm, threshold, aggregation)])
        claims[str(threshold)][aggregation] = float(np.corrcoef(x, y)[0, 1])
    claims["1024"] = {"mean": 0.3}  # a threshold the warehouse has no scores for
    ingest_claims(home, tmp, claims)
    topk = write_topk_runs(home)
    counts = build(home, select="+prm_correlation +calibration_fit", echo=False)
    return home, pairs, claims, topk, counts


def read_mart(home: Home, name: str) -> list[dict]:
    return pq.read_table(home.serving / f"{name}.parquet").to_pylist()


def test_marts_exported_with_their_columns(warehouse):
    home, _, _, _, counts = warehouse
    assert {"prm_correlation", "calibration_grid", "calibration_fit"} <= set(counts)
    assert pq.read_schema(home.serving / "prm_correlation.parquet").names == PRM_COLUMNS
    assert pq.read_schema(home.serving / "calibration_grid.parquet").names == GRID_COLUMNS
    assert pq.read_schema(home.serving / "calibration_fit.parquet").names == FIT_COLUMNS


# ---- prm_correlation ------------------------------------------------------------------------------

def test_prm_correlation_keys(warehouse):
    home, pairs, _, _, _ = warehouse
    rows = read_mart(home, "prm_correlation")
    assert {r["run_id"] for r in rows} == {"scored"}
    assert {(r["prm_model"], r["token_threshold"], r["aggregation"]) for r in rows} == set(pairs)
    # mean/min/last come from step scores only, whole from kind = 'whole': prm-b has no whole rows
    assert {r["aggregation"] for r in rows if r["prm_model"] == "prm-b"} == {"mean", "min", "last"}


def test_pearson_matches_numpy_and_scipy(warehouse):
    home, pairs, _, _, _ = warehouse
    got = {(r["prm_model"], r["token_threshold"], r["aggregation"]): r for r in read_mart(home, "prm_correlation")}
    for key, values in pairs.items():
        row, (x, y) = got[key], map(np.array, zip(*values))
        assert row["pairs"] == len(x), key
        assert row["positives"] == int(y.sum()), key
        assert row["pairs"] == (42 if key[1] == 512 else 48)  # 6 x 8 samples; sample 7 unscored at 512
        if key[0] == "prm-b":  # constant scores: r and its interval undefined, AUROC a coin flip
            assert (row["pearson_r"], row["ci_low"], row["ci_high"]) == (None, None, None)
            assert row["auroc"] == 0.5
            continue
        r = np.corrcoef(x, y.astype(float))[0, 1]
        assert row["pearson_r"] == pytest.approx(r, abs=TOL), key
        assert row["pearson_r"] == pytest.approx(pearsonr(x, y.astype(float)).statistic, abs=TOL), key
        half = Z975 / math.sqrt(len(x) - 3)
        assert row["ci_low"] == pytest.approx(math.tanh(math.atanh(r) - half), abs=TOL), key
        assert row["ci_high"] == pytest.approx(math.tanh(math.atanh(r) + half), abs=TOL), key
        assert row["auroc"] == pytest.approx(roc_auc_score(y, x), abs=TOL), key
        assert row["mean_score_correct"] == pytest.approx(x[y].mean(), abs=TOL), key
        assert row["mean_score_wrong"] == pytest.approx(x[~y].mean(), abs=TOL), key


def test_later_partials_predict_better_as_simulated(warehouse):
    """Direction, not just magnitude: the simulated signal grows with the threshold (correct = 1)."""
    home, _, _, _, _ = warehouse
    got = {(r["prm_model"], r["token_threshold"], r["aggregation"]): r for r in read_mart(home, "prm_correlation")}
    whole = [got[("prm-a", threshold, "whole")]["pearson_r"] for threshold in (128, 512, None)]
    assert whole == sorted(whole) and whole[-1] > 0.4
    assert got[("prm-a", None, "whole")]["mean_score_correct"] > got[("prm-a", None, "whole")]["mean_score_wrong"]


def test_claims_of_the_imported_analysis_join_and_agree(warehouse):
    home, _, claims, _, _ = warehouse
    rows = read_mart(home, "prm_correlation")
    claimed = {(r["token_threshold"], r["aggregation"]): r for r in rows if r["claimed_pearson_r"] is not None}
    want = {(int(t), a): v for t, by_agg in claims.items() for a, v in by_agg.items() if t != "1024"}
    assert set(claimed) == set(want)
    for key, value in want.items():
        assert claimed[key]["claimed_pearson_r"] == value
        assert claimed[key]["pearson_r"] == pytest.approx(value, abs=TOL)
        assert claimed[key]["claim_run_id"] not in (None, "scored")
    assert all(r["claim_run_id"] is None for r in rows if r["claimed_pearson_r"] is None)


# ---- calibration ----------------------------------------------------------------------------------

def reference_grid(topk: dict) -> dict[tuple, dict]:
    """(model, run_id or None for the model's runs pooled, bin, rank) -> counts, share and mean_prob."""
    cells: dict[tuple, dict] = defaultdict(lambda: {"positions": 0, "support": 0, "prob_sum": 0.0})
    for run_id, (model, rows) in topk.items():
        for row in rows:
            probs = row["top_probs"]
            b = min(math.floor(probs[0] * BINS), BINS - 1)
            for rank, prob in enumerate(probs, start=1):
                for scope in ([run_id, None] if model is not None else [run_id]):
                    cell = cells[(model, scope, b, rank)]
                    cell["support"] += 1
                    cell["positions"] += row["gt_rank"] == rank
                    cell["prob_sum"] += prob
    return {key: {**c, "share": c["positions"] / c["support"], "mean_prob": c["prob_sum"] / c["support"]}
            for key, c in cells.items()}


def test_calibration_grid_matches_python(warehouse):
    home, _, _, topk, _ = warehouse
    want = reference_grid(topk)
    rows = read_mart(home, "calibration_grid")
    got = {(r["model"], r["run_id"], r["bin"], r["rank"]): r for r in rows}
    assert len(got) == len(rows) and set(got) == set(want)
    for key, cell in want.items():
        row = got[key]
        assert (row["positions"], row["support"]) == (cell["positions"], cell["support"]), key
        assert row["share"] == pytest.approx(cell["share"], abs=TOL), key
        assert row["mean_prob"] == pytest.approx(cell["mean_prob"], abs=TOL), key
        assert (row["bin_low"], row["bin_high"]) == pytest.approx((key[2] / BINS, (key[2] + 1) / BINS)), key
    # lm-b logged lists of 3 to 5 entries: rank 5 is supported by fewer positions than rank 1
    b_runs = [r for r in rows if r["run_id"] == "tf-b" and r["bin"] == 9]
    assert min(r["support"] for r in b_runs if r["rank"] == 5) < min(r["support"] for r in b_runs if r["rank"] == 1)
    # both sides of the minimum support of the suggested lists occur (tf-none's bins are small)
    supports = [r["support"] for r in rows if r["rank"] == 1]
    assert min(supports) < MIN_SUPPORT <= max(supports)


def test_calibration_fit_matches_polyfit_and_the_topk_rule(warehouse):
    home, _, _, topk, _ = warehouse
    grid = reference_grid(topk)
    rows = read_mart(home, "calibration_fit")
    got = {(r["model"], r["run_id"]): r for r in rows}
    groups = {(model, scope) for model, scope, _, _ in grid}
    assert len(got) == len(rows) and set(got) == groups
    assert ("lm-a", None) in got and ("lm-a", "tf-a1") in got and (None, "tf-none") in got
    assert got[("lm-a", None)]["runs"] == 2 and got[("lm-a", "tf-a1")]["runs"] == 1
    for group in groups:
        row = got[group]
        cells = {(b, r): c for (m, s, b, r), c in grid.items() if (m, s) == group}
        fit = [(math.log(c["mean_prob"]), math.log(c["share"])) for c in cells.values()
               if c["share"] > 0 and c["mean_prob"] > 0]
        x, y = map(np.array, zip(*fit))
        slope, intercept = np.polyfit(x, y, 1)
        residual = y - (intercept + slope * x)
        assert row["cells"] == len(fit), group
        assert row["b"] == pytest.approx(slope, abs=TOL), group
        assert row["a"] == pytest.approx(intercept, abs=TOL), group
        assert row["r_squared"] == pytest.approx(1 - residual @ residual / ((y - y.mean()) @ (y - y.mean())),
                                                 abs=TOL), group
        assert row["positions"] == sum(c["support"] for (b, r), c in cells.items() if r == 1), group
        assert row["top_k"] == max(r for _, r in cells), group
        for column, threshold in THRESHOLDS.items():
            want = []
            for b in reversed(range(BINS)):  # first entry: the highest bin, p_max in [0.9, 1]
                support = cells[(b, 1)]["support"] if (b, 1) in cells else 0
                above = [r for (bb, r), c in cells.items() if bb == b and c["share"] > threshold]
                want.append(max(above, default=1) if support >= MIN_SUPPORT else 1)
            assert row[column] == want, (group, column)
    # probabilities here are calibrated by construction: c grows with p̄
    assert got[("lm-a", None)]["b"] > 0.5
