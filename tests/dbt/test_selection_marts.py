"""dbt marts against hand-computed values and brute-force Python references.

One small warehouse is written through the real writers (open_run + write_part), built once with
`warehouse.dbt_runner.build` (dbt takes seconds to start), and shared by every assertion:

- run `hand` (N = 4): five problems whose every number is worked out by hand below: majority
  ties, missing and empty answers, an answer with no verdict, sample_idx gaps, a newer grader
  version overriding an older verdict and clustering, a verdict of another grader ignored;
- runs `rand8` (N = 8) and `rand6` (N = 6, some problems with only 3 samples): random clusters
  and correctness checked against brute force (all subsets for unbiased pass@n and majority;
  plain Python over the first n samples for the prefix estimators);
- a running run, a failed run and a complete run without samples: listed in runs_summary,
  absent from selection_accuracy.

Every run here has one temperature, so there are no stratified rows (tests/dbt/
test_selection_estimators.py covers HNC runs), and Monte Carlo is off (stderr is always null).
"""

from __future__ import annotations

import itertools
import math
import random
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from warehouse.dbt_runner import DbtFailed, build
from warehouse.home import Home
from warehouse.lake import write_part
from warehouse.runs import open_run

GRADER = "math_verify"
TOL = 1e-9

SELECTION_COLUMNS = ["run_id", "method", "estimator", "prm_model", "prm_aggregation", "n", "accuracy",
                     "problems", "stderr"]
BY_PROBLEM_COLUMNS = ["run_id", "problem_id", "method", "estimator", "prm_model", "prm_aggregation", "n",
                      "accuracy", "stderr"]


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def _meta(run_id: str, n: int, **extra) -> dict:
    return {"run_id": run_id, "name": f"{run_id}-name", "source": "simulated", "dataset": "toy",
            "model": "toy-model", "approach": "bon", "strategy": "default", "temperature": 0.8, "n": n,
            "seed": 0, **extra}


def gold_key(problem_id: str) -> str:
    return f"gold:{problem_id}"


class Lake:
    """Collects rows, writes them, and keeps what the Python reference needs to recompute."""

    def __init__(self, home: Home):
        self.home = home
        self.problems: list[dict] = []
        self.verdicts: list[dict] = []
        self.clusters: list[dict] = []
        # reference: run_id -> problem_id -> list of (sample_idx, cluster or None, correct)
        self.reference: dict[str, dict[str, list[tuple[int, str | None, bool]]]] = {}

    def add_problem(self, problem_id: str) -> None:
        self.problems.append({"problem_id": problem_id, "dataset": "toy", "problem": f"question {problem_id}",
                              "gold_answer": f"answer {problem_id}"})

    def verdict(self, problem_id: str, answer_key: str, correct: bool, *, version: str = "1",
                graded_at: str = "2024-01-01", grader: str = GRADER) -> None:
        self.verdicts.append({"gold_key": gold_key(problem_id), "answer_key": answer_key, "grader": grader,
                              "grader_version": version, "is_correct": correct, "status": "ok",
                              "seconds": 0.01, "graded_at": _ts(graded_at)})

    def cluster(self, problem_id: str, answer_key: str, cluster_id: str, *, version: str = "1") -> None:
        self.clusters.append({"problem_id": problem_id, "answer_key": answer_key, "cluster_id": cluster_id,
                              "grader": GRADER, "grader_version": version})

    @staticmethod
    def sample_rows(run_id: str, samples: dict[str, list[tuple[int, object]]]):
        """samples: problem -> [(sample_idx, answer_key)], answer_key MISSING = no answers row."""
        completions, answers = [], []
        for problem_id, items in samples.items():
            for idx, key in items:
                completions.append({"run_id": run_id, "problem_id": problem_id, "sample_idx": idx,
                                    "temperature": 0.8, "text": f"... {key}", "num_tokens": 10 + idx})
                if key is not MISSING:
                    answers.append({"run_id": run_id, "problem_id": problem_id, "sample_idx": idx,
                                    "answer": key, "answer_key": key, "gold_key": gold_key(problem_id),
                                    "extractor": "boxed"})
        return completions, answers

    def complete_run(self, run_id: str, n: int, samples: dict[str, list[tuple[int, object]]],
                     truth: dict[str, dict[str, tuple[str | None, bool]]]) -> None:
        """truth: problem -> answer_key -> (cluster as the reference sees it, correct)."""
        completions, answers = self.sample_rows(run_id, samples)
        with open_run(self.home, _meta(run_id, n)) as run:
            run.write("completions", completions)
            if answers:
                run.write("answers", answers)
        self.reference[run_id] = {
            problem_id: [(idx, *truth[problem_id].get(key, (None, False))) if isinstance(key, str)
                         else (idx, None, False) for idx, key in items]
            for problem_id, items in samples.items()
        }

    def flush(self) -> None:
        write_part(self.home, "problems", self.problems)
        write_part(self.home, "verdicts", self.verdicts)
        write_part(self.home, "answer_clusters", self.clusters)


MISSING = object()


def hand_run(lake: Lake) -> None:
    """Five problems, N = 4, every number worked out by hand (see HAND_EXPECTED)."""
    samples = {
        # w wrong; r and r2 are equivalent correct answers (one cluster)
        "h1": [(0, "w"), (1, "r"), (2, "r2"), (3, "w")],
        # no answers row; empty answer_key; correct; answered but never graded (has a cluster row)
        "h2": [(0, MISSING), (1, ""), (2, "r"), (3, "u")],
        # all wrong, three clusters
        "h3": [(0, "x"), (1, "y"), (2, "x"), (3, "z")],
        # sample_idx with gaps: the first n samples are by order, not by index value
        "h4": [(0, "w"), (3, "r"), (5, "r"), (9, "q")],
        # grader version 2 (graded later) says v is correct and splits v from w; version 1 said
        # v is wrong and put v and w in one cluster; another grader's verdict is ignored
        "h5": [(0, "w"), (1, "v"), (2, "v"), (3, "w")],
    }
    for problem_id in samples:
        lake.add_problem(problem_id)
    lake.verdict("h1", "w", False), lake.verdict("h1", "r", True), lake.verdict("h1", "r2", True)
    lake.cluster("h1", "w", "h1-w"), lake.cluster("h1", "r", "h1-gold"), lake.cluster("h1", "r2", "h1-gold")
    lake.verdict("h2", "r", True)
    lake.cluster("h2", "r", "h2-gold"), lake.cluster("h2", "u", "h2-u")
    for key in "xyz":
        lake.verdict("h3", key, False)
        lake.cluster("h3", key, f"h3-{key}")
    lake.verdict("h4", "w", False), lake.verdict("h4", "r", True), lake.verdict("h4", "q", False)
    lake.cluster("h4", "w", "h4-w"), lake.cluster("h4", "r", "h4-gold"), lake.cluster("h4", "q", "h4-q")
    lake.verdict("h5", "v", False, version="1", graded_at="2024-01-01")
    lake.verdict("h5", "w", False, version="1", graded_at="2024-01-01")
    lake.verdict("h5", "v", True, version="2", graded_at="2024-06-01")
    lake.verdict("h5", "w", False, version="2", graded_at="2024-06-01")
    lake.verdict("h5", "w", True, grader="other", graded_at="2025-01-01")
    lake.cluster("h5", "v", "h5-one", version="1"), lake.cluster("h5", "w", "h5-one", version="1")
    lake.cluster("h5", "v", "h5-gold", version="2"), lake.cluster("h5", "w", "h5-w", version="2")
    truth = {
        "h1": {"w": ("h1-w", False), "r": ("h1-gold", True), "r2": ("h1-gold", True)},
        "h2": {"r": ("h2-gold", True)},
        "h3": {k: (f"h3-{k}", False) for k in "xyz"},
        "h4": {"w": ("h4-w", False), "r": ("h4-gold", True), "q": ("h4-q", False)},
        "h5": {"w": ("h5-w", False), "v": ("h5-gold", True)},
    }
    lake.complete_run("hand", 4, samples, truth)


# (problem, method, estimator) -> accuracy at n = 1, 2, 4. Majority unbiased, by hand over the
# 4, 6 and 1 subsets: in h1 and h5 (wrong, right, right, wrong) n=1: 2/4; n=2: {0,1} {0,2} {0,3}
# go to the wrong cluster (first at 0), {1,2} {1,3} {2,3} to the right one: 3/6; n=4: 2-2 tie,
# the wrong cluster first. h2: only sample 2 votes: n/4. h4 (w, r, r, q): n=1 2/4; n=2 the right
# cluster wins {1,2} {1,3} {2,3}: 3/6; n=4: 2 votes.
HAND_EXPECTED = {
    ("h1", "pass", "prefix"): [0, 1, 1],
    ("h1", "pass", "unbiased"): [0.5, 5 / 6, 1],
    ("h1", "majority", "prefix"): [0, 0, 0],  # w | w,r tie -> w | 2-2 tie -> w
    ("h2", "pass", "prefix"): [0, 0, 1],
    ("h2", "pass", "unbiased"): [0.25, 0.5, 1],
    ("h2", "majority", "prefix"): [0, 0, 1],  # nothing votes until r
    ("h3", "pass", "prefix"): [0, 0, 0],
    ("h3", "pass", "unbiased"): [0, 0, 0],
    ("h3", "majority", "prefix"): [0, 0, 0],
    ("h4", "pass", "prefix"): [0, 1, 1],
    ("h4", "pass", "unbiased"): [0.5, 5 / 6, 1],
    ("h4", "majority", "prefix"): [0, 0, 1],  # w | w,r tie -> w | r has 2
    ("h5", "pass", "prefix"): [0, 1, 1],
    ("h5", "pass", "unbiased"): [0.5, 5 / 6, 1],
    ("h5", "majority", "prefix"): [0, 0, 0],  # version 2 clusters: w | tie -> w | 2-2 tie -> w
    ("h1", "majority", "unbiased"): [0.5, 0.5, 0],
    ("h2", "majority", "unbiased"): [0.25, 0.5, 1],
    ("h3", "majority", "unbiased"): [0, 0, 0],
    ("h4", "majority", "unbiased"): [0.5, 0.5, 1],
    ("h5", "majority", "unbiased"): [0.5, 0.5, 0],
}
HAND_RULES = [("pass", "prefix"), ("pass", "unbiased"), ("majority", "prefix"), ("majority", "unbiased")]

# pool of answer keys per random problem: key -> (cluster, correct); g1/g2 are equivalent gold
# answers, w2/w2b equivalent wrong ones, "ungraded" has a cluster row but no verdict
POOL = {"g1": ("G", True), "g2": ("G", True), "w1": ("W1", False), "w2": ("W2", False),
        "w2b": ("W2", False), "w3": ("W3", False), "ungraded": ("U", False)}
POOL_WEIGHTS = {"g1": 3, "g2": 2, "w1": 3, "w2": 2, "w2b": 2, "w3": 1, "ungraded": 1}


def random_run(lake: Lake, run_id: str, n: int, problems: int, rng: random.Random, *,
               short: dict[int, int] | None = None) -> None:
    keys, weights = zip(*POOL_WEIGHTS.items())
    samples, truth = {}, {}
    for p in range(problems):
        problem_id = f"{run_id}-p{p}"
        lake.add_problem(problem_id)
        count = (short or {}).get(p, n)
        items = []
        for idx in range(count):
            roll = rng.random()
            if roll < 0.06:
                key = MISSING
            elif roll < 0.12:
                key = ""
            else:
                key = rng.choices(keys, weights)[0]
            items.append((idx, key))
        samples[problem_id] = items
        truth[problem_id] = {}
        for key, (cluster, correct) in POOL.items():
            lake.cluster(problem_id, key, f"{problem_id}-{cluster}")
            if key != "ungraded":
                lake.verdict(problem_id, key, correct)
                truth[problem_id][key] = (f"{problem_id}-{cluster}", correct)
    lake.complete_run(run_id, n, samples, truth)


def incomplete_runs(lake: Lake) -> None:
    lake.add_problem("x1")
    completions, answers = lake.sample_rows("running", {"x1": [(0, "a"), (1, "b")]})
    # what a killed writer leaves behind: a `running` status event and some parts
    now = datetime.now(timezone.utc)
    write_part(lake.home, "runs", [{**_meta("running", 2), "status": "running", "created_at": now,
                                    "updated_at": now}], run_id="running")
    write_part(lake.home, "completions", completions, run_id="running")
    write_part(lake.home, "answers", answers, run_id="running")

    completions, answers = lake.sample_rows("failed", {"x1": [(0, "a"), (1, "b"), (2, "c")]})
    with pytest.raises(RuntimeError):
        with open_run(lake.home, _meta("failed", 3)) as run:
            run.write("completions", completions)
            raise RuntimeError("generation crashed")

    with open_run(lake.home, _meta("empty", 4, approach="lm_eval")):
        pass


# ---------------------------------------------------------------- brute-force references


def n_grid(big_n: int) -> list[int]:
    return sorted({2 ** k for k in range(big_n.bit_length()) if 2 ** k <= big_n} | {big_n})


def pass_unbiased_brute(correct: list[bool], n: int) -> float:
    subsets = list(itertools.combinations(range(len(correct)), n))
    return sum(any(correct[i] for i in s) for s in subsets) / len(subsets)


def majority_vote(chosen: list[tuple[int, str | None, bool]]) -> float:
    """The majority rule on samples in sample order: most members, ties to the first to appear."""
    counts: dict[str, int] = {}
    first_seen: dict[str, int] = {}
    for pos, (_, cluster, _) in enumerate(chosen):
        if cluster is None:
            continue
        counts[cluster] = counts.get(cluster, 0) + 1
        first_seen.setdefault(cluster, pos)
    if not counts:
        return 0.0
    winner = min(counts, key=lambda c: (-counts[c], first_seen[c]))
    return float(chosen[first_seen[winner]][2])  # the verdict of the winner's first member


def majority_prefix(samples: list[tuple[int, str | None, bool]], n: int) -> float:
    return majority_vote(sorted(samples)[:n])


def majority_unbiased_brute(samples: list[tuple[int, str | None, bool]], n: int) -> float:
    ordered = sorted(samples)
    subsets = list(itertools.combinations(ordered, n))  # combinations keep sample order
    return sum(majority_vote(list(s)) for s in subsets) / len(subsets)


def reference_by_problem(reference) -> dict[tuple, float]:
    expected = {}
    for run_id, problems in reference.items():
        big_n = max(len(s) for s in problems.values())
        for problem_id, samples in problems.items():
            ordered = sorted(samples)
            correct = [c for _, _, c in ordered]
            for n in n_grid(big_n):
                used = min(n, len(ordered))
                expected[(run_id, problem_id, "pass", "prefix", n)] = float(any(correct[:used]))
                expected[(run_id, problem_id, "pass", "unbiased", n)] = pass_unbiased_brute(correct, used)
                expected[(run_id, problem_id, "majority", "prefix", n)] = majority_prefix(ordered, used)
                expected[(run_id, problem_id, "majority", "unbiased", n)] = majority_unbiased_brute(ordered, used)
    return expected


# ---------------------------------------------------------------- the shared warehouse


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    home = Home(tmp_path_factory.mktemp("dbt") / "home").ensure_writable()
    lake = Lake(home)
    rng = random.Random(20240607)
    hand_run(lake)
    random_run(lake, "rand8", 8, 40, rng)
    random_run(lake, "rand6", 6, 25, rng, short={0: 3, 1: 3, 2: 5})
    incomplete_runs(lake)
    lake.flush()
    counts = build(home, echo=False)
    return home, lake, counts


def read_mart(home: Home, name: str) -> list[dict]:
    return pq.read_table(home.serving / f"{name}.parquet").to_pylist()


def test_marts_exported(warehouse):
    home, _, counts = warehouse
    assert {"runs_summary", "selection_accuracy", "selection_accuracy_by_problem"} <= set(counts)
    for name in counts:
        assert (home.serving / f"{name}.parquet").exists()


def test_selection_columns_are_the_contract(warehouse):
    home, _, _ = warehouse
    assert pq.read_schema(home.serving / "selection_accuracy.parquet").names == SELECTION_COLUMNS
    assert pq.read_schema(home.serving / "selection_accuracy_by_problem.parquet").names == BY_PROBLEM_COLUMNS


def test_hand_computed_by_problem(warehouse):
    home, _, _ = warehouse
    rows = {(r["problem_id"], r["method"], r["estimator"], r["n"]): r
            for r in read_mart(home, "selection_accuracy_by_problem") if r["run_id"] == "hand"}
    assert len(rows) == len(HAND_EXPECTED) * 3 == 5 * len(HAND_RULES) * 3
    for (problem_id, method, estimator), values in HAND_EXPECTED.items():
        for n, value in zip([1, 2, 4], values):
            row = rows[(problem_id, method, estimator, n)]
            assert row["accuracy"] == pytest.approx(value, abs=TOL), (problem_id, method, estimator, n)
            assert row["prm_model"] is None and row["prm_aggregation"] is None and row["stderr"] is None


def test_hand_computed_run_accuracy(warehouse):
    home, _, _ = warehouse
    rows = {(r["method"], r["estimator"], r["n"]): r
            for r in read_mart(home, "selection_accuracy") if r["run_id"] == "hand"}
    assert set(rows) == {(m, e, n) for m, e in HAND_RULES for n in (1, 2, 4)}
    for (method, estimator, n), row in rows.items():
        col = [1, 2, 4].index(n)
        mean = sum(v[col] for (p, m, e), v in HAND_EXPECTED.items() if (m, e) == (method, estimator)) / 5
        assert row["accuracy"] == pytest.approx(mean, abs=TOL)
        assert row["problems"] == 5
        assert row["stderr"] is None
    assert rows[("pass", "unbiased", 1)]["accuracy"] == pytest.approx(7 / 20, abs=TOL)
    assert rows[("majority", "prefix", 4)]["accuracy"] == pytest.approx(2 / 5, abs=TOL)
    assert [rows[("majority", "unbiased", n)]["accuracy"] for n in (1, 2, 4)] == \
        pytest.approx([1.75 / 5, 2 / 5, 2 / 5], abs=TOL)


def test_by_problem_matches_brute_force(warehouse):
    home, lake, _ = warehouse
    expected = reference_by_problem(lake.reference)
    got = {(r["run_id"], r["problem_id"], r["method"], r["estimator"], r["n"]): r["accuracy"]
           for r in read_mart(home, "selection_accuracy_by_problem")}
    assert set(got) == set(expected)
    bad = {k: (got[k], v) for k, v in expected.items() if abs(got[k] - v) > TOL}
    assert not bad


def test_run_accuracy_matches_brute_force(warehouse):
    home, lake, _ = warehouse
    expected = reference_by_problem(lake.reference)
    means: dict[tuple, list[float]] = {}
    for (run_id, _, method, estimator, n), value in expected.items():
        means.setdefault((run_id, method, estimator, n), []).append(value)
    rows = read_mart(home, "selection_accuracy")
    assert len(rows) == len(means)
    for r in rows:
        values = means[(r["run_id"], r["method"], r["estimator"], r["n"])]
        assert r["accuracy"] == pytest.approx(sum(values) / len(values), abs=TOL)
        assert r["problems"] == len(values)


def test_n_grid(warehouse):
    home, _, _ = warehouse
    grids: dict[str, set[int]] = {}
    for r in read_mart(home, "selection_accuracy"):
        grids.setdefault(r["run_id"], set()).add(r["n"])
    assert grids == {"hand": {1, 2, 4}, "rand8": {1, 2, 4, 8}, "rand6": {1, 2, 4, 6}}


def test_unbiased_and_prefix_agree_at_full_n(warehouse):
    """With all N samples there is one subset: both estimators of a rule give the same answer."""
    home, _, _ = warehouse
    rows = {(r["run_id"], r["problem_id"], r["method"], r["estimator"], r["n"]): r["accuracy"]
            for r in read_mart(home, "selection_accuracy_by_problem")}
    checked = 0
    for (run_id, problem_id, method, estimator, n), value in rows.items():
        if estimator == "prefix" and n == {"hand": 4, "rand8": 8, "rand6": 6}[run_id]:
            assert rows[(run_id, problem_id, method, "unbiased", n)] == pytest.approx(value, abs=TOL)
            checked += 1
    assert checked == 2 * (5 + 40 + 25)


def test_estimators_present(warehouse):
    """Exactly these rules and estimators: no stratified rows for single-temperature runs, no
    PRM rows without PRM scores, no Monte Carlo rows (mc_draws = 0, no problem above the exact cap)."""
    home, _, _ = warehouse
    rows = read_mart(home, "selection_accuracy")
    assert {(r["method"], r["estimator"]) for r in rows} == set(HAND_RULES)
    assert all(r["stderr"] is None and r["prm_model"] is None for r in rows)


def test_incomplete_runs_excluded_from_selection(warehouse):
    home, _, _ = warehouse
    runs = {r["run_id"] for r in read_mart(home, "selection_accuracy")}
    runs |= {r["run_id"] for r in read_mart(home, "selection_accuracy_by_problem")}
    assert runs == {"hand", "rand8", "rand6"}


def test_runs_summary(warehouse):
    home, lake, _ = warehouse
    rows = {r["run_id"]: r for r in read_mart(home, "runs_summary")}
    assert set(rows) == {"hand", "rand8", "rand6", "running", "failed", "empty"}
    assert {k: r["status"] for k, r in rows.items()} == {
        "hand": "complete", "rand8": "complete", "rand6": "complete", "running": "running",
        "failed": "failed", "empty": "complete"}

    hand = rows["hand"]
    assert (hand["name"], hand["source"], hand["dataset"], hand["model"], hand["approach"], hand["n"]) == \
        ("hand-name", "simulated", "toy", "toy-model", "bon", 4)
    assert (hand["problems"], hand["samples"], hand["n_max"]) == (5, 20, 4)
    assert hand["graded_share"] == pytest.approx(17 / 20, abs=TOL)
    assert hand["no_answer_share"] == pytest.approx(2 / 20, abs=TOL)
    assert hand["clustered_share"] == pytest.approx(17 / 20, abs=TOL)
    assert hand["pass_at_1"] == pytest.approx(7 / 20, abs=TOL)
    assert hand["pass_at_n"] == pytest.approx(4 / 5, abs=TOL)
    assert hand["majority_at_n"] == pytest.approx(2 / 5, abs=TOL)

    for run_id in ("rand8", "rand6"):
        problems = lake.reference[run_id]
        samples = [s for ss in problems.values() for s in ss]
        row = rows[run_id]
        assert row["problems"] == len(problems) and row["samples"] == len(samples)
        per_problem = [sum(c for _, _, c in ss) / len(ss) for ss in problems.values()]
        assert row["pass_at_1"] == pytest.approx(sum(per_problem) / len(per_problem), abs=TOL)
    assert (rows["rand6"]["min_samples_per_problem"], rows["rand6"]["max_samples_per_problem"]) == (3, 6)

    running, failed, empty = rows["running"], rows["failed"], rows["empty"]
    assert (running["problems"], running["samples"]) == (1, 2)
    assert (failed["problems"], failed["samples"]) == (0, 0)  # a failed run's partial rows are hidden
    assert failed["error"] == "RuntimeError: generation crashed"
    assert (empty["problems"], empty["samples"]) == (0, 0)
    for row in (running, failed, empty):
        for column in ("graded_share", "no_answer_share", "pass_at_1", "pass_at_n", "majority_at_n", "n_max"):
            assert row[column] is None, (row["run_id"], column)


def test_dbt_log_clean(warehouse):
    """No deprecation or other warnings in dbt's own log (they would flood every build)."""
    home, _, _ = warehouse
    log = (home.root / "dbt" / "logs" / "dbt.log").read_text()
    noisy = [line for line in log.splitlines() if "[warn ]" in line or "[error]" in line or "eprecat" in line]
    assert not noisy, noisy[:5]


def test_selection_matching_nothing_fails(warehouse):
    """dbt only warns when --select matches nothing; the runner must not report success."""
    home, _, _ = warehouse
    with pytest.raises(DbtFailed, match="matches no dbt model"):
        build(home, select="marts.no_such_mart+", echo=False)


def test_ttsw_build_cli(warehouse):
    """`ttsw build` rebuilds the same marts from the same lake (run last: it rewrites serving/)."""
    home, _, counts = warehouse
    before = {name: pq.read_table(home.serving / f"{name}.parquet") for name in counts}
    proc = subprocess.run([sys.executable, "-m", "ttsw", "--home", str(home.root), "build", "-q"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"built {len(counts)} marts" in proc.stdout
    assert "selection_accuracy (" in proc.stdout
    for name, table in before.items():
        after = pq.read_table(home.serving / f"{name}.parquet")
        # rows in any order: sort both by every column that is neither a float nor a list (the grain)
        key = [f.name for f in table.schema if not pa.types.is_floating(f.type) and not pa.types.is_nested(f.type)]
        after = after.sort_by([(k, "ascending") for k in key])
        table = table.sort_by([(k, "ascending") for k in key])
        assert after.schema == table.schema, name
        for column in table.column_names:
            old, new = table[column].to_pylist(), after[column].to_pylist()
            if pa.types.is_floating(table.schema.field(column).type):
                # parallel aggregation may sum in another order: equal up to rounding
                assert new == [None if v is None else pytest.approx(v, abs=1e-12) for v in old], (name, column)
            else:
                assert new == old, (name, column)
    assert math.isfinite(sum(r["accuracy"] for r in read_mart(home, "selection_accuracy")))
