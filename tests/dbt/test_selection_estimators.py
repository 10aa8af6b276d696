"""Selection rules and their estimators against plain-Python references.

The references are written from the definitions (DESIGN §6), in search-and-learn's style:

- naive: np.argmax over the aggregated scores of the first n samples (the first maximum wins);
- weighted: find_answer_with_largest_sum (scores summed per answer in a dict, max() over it, so
  the first-appearing answer wins ties); graded by the winner's first member;
- majority: the most common answer, the first-appearing one on ties;

with the one intended difference that a sample without an answer (no cluster) never wins a vote,
and a sample that the PRM did not score never wins naive or weighted (and adds nothing to a sum).
Aggregations as in search-and-learn's aggregate_scores: last, min, prod, mean of the step scores.

One warehouse, one dbt build: random runs with several problems, N up to 16, random clusters
including no-answer samples, two PRMs (the second leaves samples, and one whole problem, unscored)
and step scores on a 1/8 grid with 1, 2 or 4 steps, so every aggregate and every sum is exact in
binary floating point and ties are frequent and real (not rounding accidents). Rows of kind
'whole' and with a token threshold are written too and must be ignored. Three runs mix
temperatures: `hb` (HNC, best-of-N blocks, ratios 0.25/0.25/0.5, one short problem), `hq` (HNC,
DVTS's cyclic order, ratios 0.3/0.3/0.4, whose cumulative rounding is not nested in n) and `hm`
(default strategy, no temperature list, two temperatures in random order).

Checks: prefix estimators equal the references (1e-9); stratified estimators of every rule equal
the rule on the first samples of each temperature, quotas from the HNC block rule itself
(ingest's per_sample) (1e-9); unbiased naive equals brute-force enumeration of every size-n
subset (N <= 10, 1e-9); unbiased majority is exact up to var majority_exact_max_samples (set to
12 here: brute force, 1e-9) and Monte Carlo above it; Monte Carlo estimates lie within 3 standard
errors of the brute-force value (weighted: N <= 10; majority: the problems with N = 16).
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone

import pyarrow.parquet as pq
import pytest

from ingest.readers.search_and_learn.temperatures import per_sample
from warehouse.dbt_runner import build
from warehouse.home import Home
from warehouse.lake import write_part
from warehouse.runs import open_run

GRADER = "math_verify"
TOL = 1e-9
AGGREGATIONS = ("last", "min", "prod", "mean")
CLUSTERS = {"G": True, "W1": False, "W2": False, "W3": False}  # cluster -> correct
MC_DRAWS = 200
EXACT_MAX = 12  # var majority_exact_max_samples in this build
BRUTE_MAX = {"naive": 10, "weighted": 10, "majority": 16}  # enumerate all subsets up to this N


@dataclass(frozen=True)
class Spec:
    samples: int  # N
    problems: int
    short: dict  # problem index -> its sample count
    strategy: str = "default"
    approach: str = "bon"
    temperatures: tuple = ()  # the run's list; empty: one temperature, or `mixed` at random
    ratios: tuple = ()
    mixed: tuple = ()  # sample temperatures drawn at random, no list on the run


RUNS = {
    "e16": Spec(16, 10, {0: 11}),
    "e10": Spec(10, 14, {0: 7, 1: 3}),
    "e5": Spec(5, 12, {}),
    "hb": Spec(12, 8, {0: 7}, strategy="hnc", temperatures=(0.4, 0.8, 1.2), ratios=(0.25, 0.25, 0.5)),
    "hq": Spec(10, 8, {}, strategy="hnc", approach="dvts", temperatures=(0.2, 0.6, 1.0), ratios=(0.3, 0.3, 0.4)),
    "hm": Spec(8, 6, {}, mixed=(1.0, 0.5)),
}
STRATIFIED = {run_id for run_id, spec in RUNS.items() if spec.temperatures or spec.mixed}
PRMS = ("prm-a", "prm-b")


@dataclass(frozen=True)
class Sample:
    cluster: str | None
    correct: bool
    steps: dict  # prm -> step scores, or None when that PRM did not score it
    temperature: float


# ---------------------------------------------------------------- the lake


def _meta(run_id: str, spec: Spec) -> dict:
    temperatures = {"temperature": None, "temperatures": list(spec.temperatures),
                    "temperature_ratios": list(spec.ratios)} if spec.temperatures else \
        {"temperature": None} if spec.mixed else {"temperature": 0.8}
    return {"run_id": run_id, "name": f"{run_id}-name", "source": "simulated", "dataset": "toy",
            "model": "toy-model", "approach": spec.approach, "strategy": spec.strategy, "n": spec.samples,
            "seed": 0, **temperatures}


def sample_temperatures(spec: Spec, count: int, rng: random.Random) -> list[float]:
    if spec.temperatures:  # as the generator lays them out (blocks cut on N; DVTS cyclic)
        return per_sample(spec.temperatures, spec.ratios, spec.approach, count, spec.samples)
    if spec.mixed:
        return [rng.choice(spec.mixed) for _ in range(count)]
    return [0.8] * count


def aggregate(steps: list[float], how: str) -> float:
    """search-and-learn's aggregate_scores (mean as np.mean: sum / count)."""
    if how == "last":
        return steps[-1]
    if how == "min":
        return min(steps)
    if how == "prod":
        return math.prod(steps)
    return sum(steps) / len(steps)


def make_lake(home: Home, rng: random.Random) -> dict[str, dict[str, list[Sample]]]:
    """Write the lake; return reference[run][problem] = its samples in order."""
    problems, verdicts, clusters = [], [], []
    reference: dict[str, dict[str, list[Sample]]] = {}
    graded_at = datetime(2024, 1, 1, tzinfo=timezone.utc)
    for run_id, spec in RUNS.items():
        reference[run_id] = {}
        completions, answers, scores = [], [], []
        for p in range(spec.problems):
            problem_id = f"{run_id}-p{p}"
            problems.append({"problem_id": problem_id, "dataset": "toy", "problem": f"q {problem_id}",
                             "gold_answer": f"a {problem_id}"})
            for cluster, correct in CLUSTERS.items():
                key = cluster.lower()
                verdicts.append({"gold_key": f"gold:{problem_id}", "answer_key": key, "grader": GRADER,
                                 "grader_version": "1", "is_correct": correct, "status": "ok",
                                 "seconds": 0.01, "graded_at": graded_at})
                clusters.append({"problem_id": problem_id, "answer_key": key, "cluster_id": cluster,
                                 "grader": GRADER, "grader_version": "1"})
            samples = []
            unscored_problem = p == spec.problems - 1  # prm-b scores nothing of the last problem
            count = spec.short.get(p, spec.samples)
            for pos, temperature in enumerate(sample_temperatures(spec, count, rng)):
                idx = pos * 3 + (pos % 2)  # sample_idx with gaps: order, not value, counts
                completions.append({"run_id": run_id, "problem_id": problem_id, "sample_idx": idx,
                                    "temperature": temperature, "text": "...", "num_tokens": 10})
                if rng.random() < 0.15:
                    cluster = None
                else:
                    cluster = rng.choice(["G", "G", "W1", "W1", "W2", "W3"])
                    answers.append({"run_id": run_id, "problem_id": problem_id, "sample_idx": idx,
                                    "answer": cluster.lower(), "answer_key": cluster.lower(),
                                    "gold_key": f"gold:{problem_id}", "extractor": "boxed"})
                steps_by_prm = {}
                for prm in PRMS:
                    if prm == "prm-b" and (unscored_problem or rng.random() < 0.2):
                        steps_by_prm[prm] = None
                        continue
                    steps = [rng.randint(0, 8) / 8 for _ in range(rng.choice([1, 2, 4]))]
                    steps_by_prm[prm] = steps
                    order = list(range(len(steps)))
                    rng.shuffle(order)  # rows in any order: `last` is the highest step_idx
                    for step_idx in order:
                        scores.append({"run_id": run_id, "problem_id": problem_id, "sample_idx": idx,
                                       "prm_model": prm, "token_threshold": None, "kind": "step",
                                       "step_idx": step_idx, "score": steps[step_idx]})
                    # noise that the selection must ignore: partial completions and whole scores
                    scores.append({"run_id": run_id, "problem_id": problem_id, "sample_idx": idx,
                                   "prm_model": prm, "token_threshold": 128, "kind": "step",
                                   "step_idx": 0, "score": rng.random()})
                    scores.append({"run_id": run_id, "problem_id": problem_id, "sample_idx": idx,
                                   "prm_model": prm, "token_threshold": None, "kind": "whole",
                                   "step_idx": 0, "score": rng.random()})
                samples.append(Sample(cluster, CLUSTERS.get(cluster, False), steps_by_prm, temperature))
            reference[run_id][problem_id] = samples
        with open_run(home, _meta(run_id, spec)) as run:
            run.write("completions", completions)
            run.write("answers", answers)
            run.write("prm_scores", scores)
    write_part(home, "problems", problems)
    write_part(home, "verdicts", verdicts)
    write_part(home, "answer_clusters", clusters)
    return reference


# ---------------------------------------------------------------- references

Item = tuple  # (correct, cluster, score) of one sample, in sample order


def naive_rule(subset: list[Item]) -> float:
    """argmax of the score, the first maximum wins; unscored samples never win."""
    best, best_correct = None, False
    for correct, _, score in subset:
        if score is not None and (best is None or score > best):
            best, best_correct = score, correct
    return float(best_correct)


def weighted_rule(subset: list[Item]) -> float:
    sums: dict[str, float] = {}
    verdict: dict[str, bool] = {}
    for correct, cluster, score in subset:
        if cluster is None or score is None:
            continue
        sums[cluster] = sums.get(cluster, 0.0) + score
        verdict.setdefault(cluster, correct)
    if not sums:
        return 0.0
    return float(verdict[max(sums, key=sums.get)])  # max(): the first-appearing maximum


def majority_rule(subset: list[Item]) -> float:
    counts: dict[str, int] = {}
    verdict: dict[str, bool] = {}
    for correct, cluster, _ in subset:
        if cluster is None:
            continue
        counts[cluster] = counts.get(cluster, 0) + 1
        verdict.setdefault(cluster, correct)
    if not counts:
        return 0.0
    return float(verdict[max(counts, key=counts.get)])


def pass_rule(subset: list[Item]) -> float:
    return float(any(correct for correct, _, _ in subset))


PRM_RULES = {"naive": naive_rule, "weighted": weighted_rule}
PLAIN_RULES = {"pass": pass_rule, "majority": majority_rule}


def n_grid(big_n: int) -> list[int]:
    return sorted({2 ** k for k in range(big_n.bit_length()) if 2 ** k <= big_n} | {big_n})


def scored(samples: list[Sample], prm: str | None, how: str | None) -> list[Item]:
    return [(s.correct, s.cluster, None if prm is None or s.steps[prm] is None else aggregate(s.steps[prm], how))
            for s in samples]


def stratified_positions(spec: Spec, samples: list[Sample], n_used: int) -> list[int]:
    """The first samples of each temperature, as many as the HNC block rule gives it among n_used."""
    strata = spec.temperatures or tuple(sorted(spec.mixed))
    quotas = Counter(per_sample(strata, spec.ratios, "bon", n_used, n_used))
    taken: Counter = Counter()
    positions = []
    for pos, sample in enumerate(samples):
        if taken[sample.temperature] < quotas[sample.temperature]:
            taken[sample.temperature] += 1
            positions.append(pos)
    return positions


def brute_unbiased(rule, items: list[Item], n: int) -> tuple[float, float]:
    """Mean and population variance of the rule's result over every size-n subset."""
    values = [rule([items[i] for i in subset]) for subset in itertools.combinations(range(len(items)), n)]
    mean = sum(values) / len(values)
    return mean, sum((v - mean) ** 2 for v in values) / len(values)


def references(reference: dict) -> tuple[dict, dict]:
    """exact[(run, problem, method, estimator, prm, agg, n)] = accuracy (every prefix and stratified
    estimate; unbiased naive, and majority up to EXACT_MAX, where enumerable);
    mc[(run, problem, method, prm, agg, n)] = (exact mean, variance of one draw) for the Monte
    Carlo estimates (weighted; majority above EXACT_MAX), where enumerable."""
    exact, mc = {}, {}
    for run_id, problems in reference.items():
        spec = RUNS[run_id]
        for problem_id, samples in problems.items():
            scorings = [(prm, how, PRM_RULES) for prm in PRMS for how in AGGREGATIONS] + [(None, None, PLAIN_RULES)]
            for prm, how, rules in scorings:
                items = scored(samples, prm, how)
                for n in n_grid(spec.samples):
                    used = min(n, len(items))
                    estimates = {"prefix": items[:used]}
                    if run_id in STRATIFIED:
                        estimates["stratified"] = [items[i] for i in stratified_positions(spec, samples, used)]
                    for method, rule in rules.items():
                        for estimator, subset in estimates.items():
                            exact[(run_id, problem_id, method, estimator, prm, how, n)] = rule(subset)
                    for method in ("naive", "weighted", "majority"):
                        if method not in rules or len(items) > BRUTE_MAX[method]:
                            continue
                        monte_carlo = method == "weighted" or (method == "majority" and len(items) > EXACT_MAX)
                        value = brute_unbiased(rules[method], items, used)
                        if monte_carlo:
                            mc[(run_id, problem_id, method, prm, how, n)] = value
                        else:
                            exact[(run_id, problem_id, method, "unbiased", prm, how, n)] = value[0]
    return exact, mc


# ---------------------------------------------------------------- the shared warehouse


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    home = Home(tmp_path_factory.mktemp("dbt_estimators") / "home").ensure_writable()
    reference = make_lake(home, random.Random(20240611))
    build(home, variables={"mc_draws": MC_DRAWS, "majority_mc_draws": MC_DRAWS,
                            "majority_exact_max_samples": EXACT_MAX}, echo=False)
    rows = pq.read_table(home.serving / "selection_accuracy_by_problem.parquet").to_pylist()
    runs = pq.read_table(home.serving / "selection_accuracy.parquet").to_pylist()
    exact, mc = references(reference)
    return reference, rows, runs, exact, mc


def _key(r: dict) -> tuple:
    return (r["run_id"], r["problem_id"], r["method"], r["estimator"], r["prm_model"], r["prm_aggregation"], r["n"])


def _mismatches(got: dict, expected: dict) -> list:
    return [(k, got[k]["accuracy"], v) for k, v in expected.items() if abs(got[k]["accuracy"] - v) > TOL]


def test_references_are_not_trivial(warehouse):
    """The random data exercises ties, unscored samples, both outcomes, and stratified subsets
    that are not prefixes (and, in hq, not nested in n)."""
    reference, _, _, exact, _ = warehouse
    values = [v for k, v in exact.items() if k[3] in ("prefix", "stratified") and k[2] != "pass"]
    assert 0.2 < sum(values) / len(values) < 0.8
    ties = 0
    for problems in reference.values():
        for samples in problems.values():
            scores = [aggregate(s.steps["prm-a"], "min") for s in samples]
            ties += len(scores) - len(set(scores))
    assert ties > 20
    assert any(s.steps["prm-b"] is None for problems in reference.values() for ss in problems.values() for s in ss)
    differ = sum(exact[k] != exact[k[:3] + ("prefix",) + k[4:]] for k in exact if k[3] == "stratified")
    assert differ > 20
    hq = reference["hq"]["hq-p0"]
    assert not set(stratified_positions(RUNS["hq"], hq, 1)) <= set(stratified_positions(RUNS["hq"], hq, 2))


def test_prefix_and_stratified_match_reference(warehouse):
    """Every rule, both subset estimators; stratified rows exactly for the mixed-temperature runs."""
    _, rows, _, exact, _ = warehouse
    got = {_key(r): r for r in rows if r["estimator"] in ("prefix", "stratified")}
    expected = {k: v for k, v in exact.items() if k[3] in ("prefix", "stratified")}
    assert set(got) == set(expected)
    assert {k[0] for k in got if k[3] == "stratified"} == STRATIFIED
    assert not _mismatches(got, expected)
    assert all(r["stderr"] is None for r in got.values())


def test_naive_unbiased_matches_brute_force(warehouse):
    _, rows, _, exact, _ = warehouse
    got = {_key(r): r for r in rows if r["method"] == "naive" and r["estimator"] == "unbiased"}
    expected = {k: v for k, v in exact.items() if k[2] == "naive" and k[3] == "unbiased"}
    assert len(expected) > 500
    assert set(expected) <= set(got)
    # problems with N > 10 are not enumerated but still get a row for every n
    assert len(got) == sum(1 for k in exact if k[2] == "naive" and k[3] == "prefix")
    assert not _mismatches(got, expected)
    assert all(r["stderr"] is None for r in got.values())


def test_majority_unbiased_exact_matches_brute_force(warehouse):
    """Up to var majority_exact_max_samples the exact model: equal to enumeration, no stderr."""
    _, rows, _, exact, _ = warehouse
    got = {_key(r): r for r in rows if r["method"] == "majority" and r["estimator"] == "unbiased"}
    expected = {k: v for k, v in exact.items() if k[2] == "majority" and k[3] == "unbiased"}
    assert len(expected) > 150
    assert set(expected) <= set(got)
    assert len(got) == sum(1 for k in exact if k[2] == "majority" and k[3] == "prefix")
    assert not _mismatches(got, expected)
    exact_rows = [r for k, r in got.items() if k in expected]
    assert all(r["stderr"] is None for r in exact_rows)
    assert 0.1 < sum(r["accuracy"] for r in exact_rows) / len(exact_rows) < 0.9


def test_unbiased_equals_prefix_at_full_n(warehouse):
    """At n = N the one subset is all samples: every exact unbiased estimate equals the prefix one."""
    _, rows, _, _, _ = warehouse
    by_key = {_key(r): r["accuracy"] for r in rows}
    checked = 0
    for (run_id, problem_id, method, estimator, prm, how, n), value in by_key.items():
        if estimator == "prefix" and n == RUNS[run_id].samples and method in ("pass", "naive", "majority", "weighted"):
            assert by_key[(run_id, problem_id, method, "unbiased", prm, how, n)] == pytest.approx(value, abs=TOL)
            checked += 1
    assert checked > 300


def test_monte_carlo_within_three_standard_errors(warehouse):
    """Weighted (every problem) and majority (problems above the cap): within 3 standard errors of
    the exact value (the errors of MC_DRAWS draws, from the exact per-draw variance); the reported
    stderr is the sample estimate of the same quantity."""
    _, rows, _, _, mc = warehouse
    got = {(r["run_id"], r["problem_id"], r["method"], r["prm_model"], r["prm_aggregation"], r["n"]): r
           for r in rows if r["estimator"] == "unbiased" and r["stderr"] is not None}
    assert {(k[0], k[1], k[2]) for k in got if k[2] == "majority"} == {
        (run_id, problem_id, "majority") for run_id, problems in make_sizes().items()
        for problem_id, size in problems.items() if size > EXACT_MAX}
    assert set(mc) <= set(got)
    assert sum(1 for k in mc if k[2] == "majority") > 20
    far, reported = [], []
    for key, (mean, variance) in mc.items():
        row = got[key]
        se = math.sqrt(variance / MC_DRAWS)
        if abs(row["accuracy"] - mean) > 3 * se + TOL:
            far.append((key, row["accuracy"], mean, se))
        assert row["stderr"] >= 0
        if variance == 0:  # one possible outcome: every draw gives it
            assert row["accuracy"] == pytest.approx(mean, abs=TOL) and row["stderr"] == pytest.approx(0, abs=TOL)
        else:
            reported.append(row["stderr"] / se)
    # 3-sigma misses happen about 0.3% of the time per value; far more would mean a bias
    assert len(far) <= max(2, len(mc) // 100), far[:10]
    assert 0.8 < sum(reported) / len(reported) < 1.2


def make_sizes() -> dict[str, dict[str, int]]:
    """Samples per problem, from the run specs."""
    return {run_id: {f"{run_id}-p{p}": spec.short.get(p, spec.samples) for p in range(spec.problems)}
            for run_id, spec in RUNS.items()}


def test_weighted_unbiased_run_level_unbiased(warehouse):
    """The run accuracy (mean over problems) of the Monte Carlo estimate is within 4 of its
    reported standard errors of the exact mean over problems, for every fully enumerated run,
    PRM, aggregation and n (about 140 comparisons, so 3 would be missed by chance now and then)."""
    _, _, runs, _, mc = warehouse
    exact: dict[tuple, list[float]] = {}
    for (run_id, _, method, prm, how, n), (mean, _) in mc.items():
        if method == "weighted":
            exact.setdefault((run_id, prm, how, n), []).append(mean)
    got = {(r["run_id"], r["prm_model"], r["prm_aggregation"], r["n"]): r
           for r in runs if r["method"] == "weighted" and r["estimator"] == "unbiased"}
    checked = 0
    for key, means in exact.items():
        if max(make_sizes()[key[0]].values()) > BRUTE_MAX["weighted"]:
            continue  # only partly enumerated
        row = got[key]
        assert row["problems"] == len(means)
        assert abs(row["accuracy"] - sum(means) / len(means)) <= 4 * row["stderr"] + 1e-3, key
        checked += 1
    assert checked > 100


def test_run_accuracy_is_mean_over_problems(warehouse):
    _, rows, runs, _, _ = warehouse
    means: dict[tuple, list[float]] = {}
    for r in rows:
        means.setdefault((r["run_id"], r["method"], r["estimator"], r["prm_model"], r["prm_aggregation"], r["n"]),
                         []).append(r["accuracy"])
    got = {(r["run_id"], r["method"], r["estimator"], r["prm_model"], r["prm_aggregation"], r["n"]): r for r in runs}
    assert set(got) == set(means)
    for key, values in means.items():
        assert got[key]["accuracy"] == pytest.approx(sum(values) / len(values), abs=TOL)
        assert got[key]["problems"] == len(values)
    # every rule and estimator is present (PRM rules per PRM and aggregation); stratified only
    # for the runs that mix temperatures
    for run_id in RUNS:
        estimators = ("prefix", "unbiased", "stratified") if run_id in STRATIFIED else ("prefix", "unbiased")
        expected = {(m, e, None, None) for m in PLAIN_RULES for e in estimators}
        expected |= {(m, e, prm, how) for m in PRM_RULES for e in estimators for prm in PRMS for how in AGGREGATIONS}
        assert {k[1:5] for k in got if k[0] == run_id} == expected, run_id
