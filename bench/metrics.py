"""Benchmark `ttsw build` over ~10 million completions against the seed tool's way of computing curves.

Setup (timed and printed): simulate the `bench` preset (315 runs × 500 problems × N=64 = 10.08M
completions, brief texts, no PRM scores; `--prm` adds PRM step scores so that naive and weighted
selection have something to rank, on other run ids) into a scratch home and grade it with `ttsw
grade`. The first, cold grading of a home is timed and kept in the home (bench_metrics_setup.json):
it is our half of the completions-to-curves figure. A home given with `--home` is kept, and a
later bench run on it skips both steps (complete runs are not simulated again; grading is
incremental) but reuses the recorded cold grading time.

Measured:
- ours, the whole build: `ttsw build --quiet` as a subprocess (dbt build of every model and test in
  its own child process, then the export of the marts to serving/): wall time; CPU time of the
  process tree (getrusage of the waited-for children); peak memory of the tree: a thread polls
  /proc every `--interval` s for every descendant, summing their VmRSS and keeping each process's
  VmHWM; the figure is the larger of the tree's largest sum and the largest single VmHWM. Plus the
  summed dbt times per kind and the slowest nodes (run_results.json).
- ours, selection and scaling (target ≤ 60 s): right after, `dbt run --select '+selection_accuracy
  +scaling_curves'`, i.e. those two marts and every model upstream of them (staging, samples, the
  selection intermediates, selection_accuracy_by_problem), as `ttsw build` runs dbt (its own process,
  2 threads): wall time including dbt's start-up.
- the seed tool's analysis (tts_analysis_tool.md: per dataset, a Python loop over its problems and,
  for each n of the grid, the selection rules on the first n samples; numpy across seeds), on
  `--baseline-groups` whole experiment groups (7 seeds each) spread over the sorted groups: each
  run's graded samples are read from its own part files into per-problem lists, then pass@n,
  majority@n and, with PRM scores, naive@n and weighted@n (aggregations last, min, prod, mean) in
  plain Python, mean / std (ddof 1) / std_pop (ddof 0) across seeds with numpy. Its time is scaled
  linearly by runs to the whole lake. Every number must equal our marts' prefix rows (1e-9).
- the seed tool's preprocessing, without which its analysis has nothing to read ("raw datasets must
  be preprocessed": `core.py` evaluates every answer with math_verify): one math-verify call per
  completion (is_correct, for pass@k) and per pred_<rule>@n field (the rule's answer at n), uncached.
  Timed on `--verify-sample` uniformly sampled completions with bench.grading's baseline (parse the
  whole text, verify against the parsed gold; `--workers` processes), scaled by the calls the lake
  needs; the share of sampled verdicts equal to ours is reported.
- speedup (target ≥ 50×), completions to curves: (seed preprocessing + seed analysis, scaled) /
  (our cold `ttsw grade` + selection and scaling). speedup_analysis_only compares the analysis
  loops on already graded lists with our selection and scaling run alone, which also computes the
  unbiased and stratified estimators the loops do not.

Prints a few lines, then as its LAST line one JSON object:
{"bench": "metrics", "completions": ..., "build_s": ..., "selection_scaling_s": ..., "peak_rss_gb": ...,
 "speedup": ..., "speedup_analysis_only": ..., "target_selection_scaling_s": 60, "target_peak_gb": 8,
 "target_speedup": 50, "agreement": true|false, ...}

    python -m bench.metrics [--home HOME] [--runs K] [--prm] [--baseline-groups 5] [--workers 2]
                            [--verify-sample 3000]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path


import numpy as np
import pyarrow.parquet as pq

from generation.sim_spec import preset_specs
from generation.simulate import simulate
from ingest.grading.verify import GRADER, GRADER_VERSION
from warehouse.catalog import memory_connection
from warehouse.dbt_runner import run_dbt
from warehouse.home import Home
from warehouse.lake import list_parts

TARGET_SELECTION_SCALING_S, TARGET_PEAK_GB, TARGET_SPEEDUP = 60, 8, 50
TOLERANCE = 1e-9
AGGREGATIONS = ("last", "min", "prod", "mean")
N_GRID_MAX = 4096  # dbt_project.yml's n_grid_max
SLOWEST = 10
GB = 1024 ** 3
SETUP_FILE = "bench_metrics_setup.json"
SELECTION_SCALING = "+selection_accuracy +scaling_curves"


# ---------------------------------------------------------------- setup

def setup(home: Home, specs: list, workers: int) -> dict:
    """Simulate the specs (complete runs are skipped) and grade what is not graded yet.

    The first grading of a home is cold (every completion extracted, every distinct pair verified):
    its time is kept in the home (SETUP_FILE), so that a later bench run on the same home still
    compares the whole pipeline, completions to curves, with the seed tool's."""
    record = home.root / SETUP_FILE
    started = time.perf_counter()
    simulated = simulate(home, specs, progress=False)
    simulate_s = time.perf_counter() - started
    print(f"setup: simulated {len(simulated['written'])} runs ({simulated['completions']:,} completions, "
          f"{simulated['prm_scores']:,} PRM scores), {len(simulated['skipped'])} already there, "
          f"{simulate_s:.0f} s")
    started = time.perf_counter()
    graded = subprocess.run([sys.executable, "-m", "ttsw", "--home", str(home.root), "grade", "--no-progress",
                             "--workers", str(workers)], capture_output=True, text=True)
    grade_s = time.perf_counter() - started
    if graded.returncode != 0:
        raise SystemExit(f"ttsw grade failed (exit {graded.returncode}):\n"
                         f"{graded.stdout[-3000:]}{graded.stderr[-3000:]}")
    print(f"setup: ttsw grade {grade_s:.0f} s: " + graded.stdout.strip().replace("\n", "\n  "))
    if simulated["written"] or not record.exists():
        cold = {"cold_grade_s": round(grade_s, 1), "graded_at_load": load_average(),
                "completions_graded": simulated["completions"]}
        record.write_text(json.dumps(cold) + "\n")
    cold = json.loads(record.read_text())
    if not simulated["written"]:
        print(f"setup: the cold grading of this home took {cold['cold_grade_s']:.0f} s (from {record.name})")
    return {"simulate_s": round(simulate_s, 1), "grade_s": round(grade_s, 1), "cold_grade_s": cold["cold_grade_s"]}


# ---------------------------------------------------------------- ours: ttsw build

def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids of every process now alive."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as stat:
                    # the command name (field 2) may hold spaces and parentheses: split after its ')'
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children[ppid].append(int(entry.name))
    return children


def _memory_kb(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) of a live process in kB; None when it is gone (or is a zombie)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            fields = dict(line.split(":", 1) for line in status if line.startswith(("VmRSS", "VmHWM")))
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
    except (OSError, KeyError, ValueError):
        return None


class TreeMemory(threading.Thread):
    """Polls the memory of a process and all its descendants until `stop` is set."""

    def __init__(self, root: int, interval: float):
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.stop = threading.Event()
        self.peak_tree_kb = 0
        self.process_hwm_kb: dict[int, int] = {}
        self.names: dict[int, str] = {}

    def run(self) -> None:
        while not self.stop.is_set():
            children, tree, total = _children(), [self.root], 0
            while tree:
                pid = tree.pop()
                tree.extend(children.get(pid, ()))
                memory = _memory_kb(pid)
                if memory is None:
                    continue
                total += memory[0]
                self.process_hwm_kb[pid] = max(self.process_hwm_kb.get(pid, 0), memory[1])
                if pid not in self.names:
                    self.names[pid] = _describe(pid)
            self.peak_tree_kb = max(self.peak_tree_kb, total)
            self.stop.wait(self.interval)


def _describe(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            args = cmdline.read().decode(errors="replace").split("\0")
    except OSError:
        return "?"
    if any("dbt.cli.main" in a for a in args):
        return "dbt"
    return "ttsw" if "ttsw" in args else Path(args[0]).name


def _children_cpu_s() -> float:
    """CPU seconds of this process's finished children, theirs included (once each was waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure_build(home: Home, interval: float) -> dict:
    """`ttsw build --quiet` in a subprocess: wall and CPU seconds, peak memory of its process tree."""
    cpu_before = _children_cpu_s()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "ttsw", "--home", str(home.root), "build", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watcher = TreeMemory(proc.pid, interval)
    watcher.start()
    output, _ = proc.communicate()
    seconds = time.perf_counter() - started
    cpu_s = _children_cpu_s() - cpu_before
    watcher.stop.set()
    watcher.join()
    if proc.returncode != 0:
        raise SystemExit(f"ttsw build failed (exit {proc.returncode}):\n{output[-4000:]}")
    by_process = sorted(((hwm, watcher.names.get(pid, "?")) for pid, hwm in watcher.process_hwm_kb.items()),
                        reverse=True)
    peak_kb = max(watcher.peak_tree_kb, by_process[0][0] if by_process else 0)
    return {"seconds": seconds, "cpu_s": cpu_s, "peak_bytes": peak_kb * 1024,
            "tree_peak_bytes": watcher.peak_tree_kb * 1024,
            "process_peaks": [(name, kb * 1024) for kb, name in by_process[:3]]}


def dbt_timings(home: Home) -> dict:
    """Node times of the last dbt invocation: totals per kind and the slowest nodes."""
    target = home.root / "dbt" / "target"
    try:
        results = json.loads((target / "run_results.json").read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"cannot read dbt's run_results.json in {target}: {exc}") from None
    times = {r["unique_id"]: r["execution_time"] for r in results["results"]}

    def total(kind: str) -> float:
        return sum(t for uid, t in times.items() if uid.startswith(kind + "."))

    slowest = sorted(times.items(), key=lambda item: -item[1])[:SLOWEST]
    return {"models_s": total("model"), "data_tests_s": total("test"), "unit_tests_s": total("unit_test"),
            "dbt_elapsed_s": results.get("elapsed_time"),
            "slowest": [(uid.split(".", 1)[0], uid.rsplit(".", 1)[1][:60], round(t, 1)) for uid, t in slowest]}


def measure_selection(home: Home) -> dict:
    """`dbt run` of the selection and scaling marts and every model upstream of them, in dbt's own
    process as `ttsw build` runs it: wall time (dbt's start-up included) and the models' summed times."""
    started = time.perf_counter()
    run_dbt(home, ["run", "--select", SELECTION_SCALING], echo=False)
    seconds = time.perf_counter() - started
    results = json.loads((home.root / "dbt" / "target" / "run_results.json").read_text())
    times = sorted(((r["execution_time"], r["unique_id"].rsplit(".", 1)[1]) for r in results["results"]),
                   reverse=True)
    return {"seconds": seconds, "models": len(times), "models_s": sum(t for t, _ in times),
            "dbt_elapsed_s": results.get("elapsed_time"), "slowest": [(name, round(t, 1)) for t, name in times[:5]]}


# ---------------------------------------------------------------- the seed tool's way

_RUNS = """
    select run_id, dataset, model, approach, strategy, temperature, temperatures, temperature_ratios, prm_model, seed
    from lake.runs where status = 'complete'
"""

# One run's graded samples as one row per problem with lists in sample order (the shape of a
# search-and-learn dataset row): correctness, answer cluster (null: no answer / no verdict).
# Verdicts and clusters of the grader version `ttsw grade` writes now (a bench home holds no other).
_SAMPLES = """
    with verdicts as (
        select gold_key, answer_key, is_correct from lake.verdicts
        where grader = $grader and grader_version = $version
    ), clusters as (
        select problem_id, answer_key, cluster_id from lake.answer_clusters
        where grader = $grader and grader_version = $version
    )
    select c.problem_id,
           list(coalesce(v.is_correct, false) order by c.sample_idx) as correct,
           list(case when v.answer_key is not null then k.cluster_id end order by c.sample_idx) as clusters,
           list(c.sample_idx order by c.sample_idx) as sample_idx
    from read_parquet($completions, hive_partitioning = false) c
    left join read_parquet($answers, hive_partitioning = false) a using (run_id, problem_id, sample_idx)
    left join verdicts v on v.gold_key = a.gold_key and v.answer_key = nullif(a.answer_key, '')
    left join clusters k on k.problem_id = c.problem_id and k.answer_key = a.answer_key
    group by c.problem_id
    order by c.problem_id
"""

# Step scores of the whole completions (token_threshold null) of one run, per PRM and sample.
_SCORES = """
    select problem_id, prm_model, sample_idx, list(score order by step_idx) as steps
    from read_parquet($scores, hive_partitioning = false)
    where kind = 'step' and token_threshold is null and score is not null
    group by problem_id, prm_model, sample_idx
"""


def group_key(run: dict) -> tuple:
    """A run's experiment group (everything but the seed), labelled as scaling_curves labels it."""
    temps = run["temperatures"] or []
    if len(set(temps)) > 1:
        setting = f"{run['strategy'] or 'mixture'}:" + "/".join(str(t) for t in temps)
        ratios = run["temperature_ratios"] or []
        if len(set(ratios)) > 1:
            setting += "@" + "/".join(str(r) for r in ratios)
    else:
        single = run["temperature"] if run["temperature"] is not None else (temps[0] if temps else None)
        setting = str(single) if single is not None else "unspecified"
    return run["dataset"], run["model"], run["approach"], run["strategy"], setting, run["prm_model"]


def pick_groups(con, groups: int) -> dict[tuple, list[str]]:
    """`groups` experiment groups spread evenly over the sorted list of them: key -> run ids."""
    by_group: dict[tuple, list[tuple]] = defaultdict(list)
    for run in con.sql(_RUNS).to_arrow_table().to_pylist():
        by_group[group_key(run)].append((run["seed"], run["run_id"]))
    keys = sorted(by_group, key=lambda k: tuple("" if v is None else str(v) for v in k))
    count = min(groups, len(keys))
    chosen = [keys[i * len(keys) // count] for i in range(count)]
    return {key: [run_id for _, run_id in sorted(by_group[key])] for key in chosen}


def load_run(con, home: Home, run_id: str) -> list[dict]:
    """One run's rows, read from its own part files (as the seed tool reads one dataset): per
    problem its lists of correctness, clusters and (per PRM) step scores."""
    files = {table: [str(p) for p in list_parts(home, table, run_id)]
             for table in ("completions", "answers", "prm_scores")}
    if not files["completions"] or not files["answers"]:
        raise SystemExit(f"run {run_id} has no completions or answers in the lake: was it graded?")
    rows = con.sql(_SAMPLES, params={"grader": GRADER, "version": GRADER_VERSION, "completions": files["completions"],
                                     "answers": files["answers"]}).to_arrow_table().to_pylist()
    for row in rows:
        row["scores"] = {}
    if files["prm_scores"]:
        where = {(row["problem_id"], idx): (row, pos) for row in rows for pos, idx in enumerate(row["sample_idx"])}
        for score in con.sql(_SCORES, params={"scores": files["prm_scores"]}).to_arrow_table().to_pylist():
            row, pos = where[(score["problem_id"], score["sample_idx"])]
            row["scores"].setdefault(score["prm_model"], [None] * len(row["sample_idx"]))[pos] = score["steps"]
    return rows


def aggregate(steps: list[float] | None, how: str) -> float | None:
    """search-and-learn's aggregate_scores: one number per completion from its step scores."""
    if not steps:
        return None
    if how == "last":
        return steps[-1]
    if how == "min":
        return min(steps)
    if how == "prod":
        return math.prod(steps)
    return sum(steps) / len(steps)


def majority_correct(clusters: list, correct: list[bool], n: int) -> bool:
    """Most members among the first n; ties to the cluster seen first; its first member's verdict."""
    votes: dict = {}
    for i in range(n):
        cluster = clusters[i]
        if cluster is None:
            continue
        if cluster in votes:
            votes[cluster][0] += 1
        else:
            votes[cluster] = [1, i]
    if not votes:
        return False
    _, first = max(votes.values(), key=lambda vote: (vote[0], -vote[1]))
    return correct[first]


def naive_correct(scores: list, correct: list[bool], n: int) -> bool:
    """The highest score among the first n (the lowest index on ties); unscored samples never win."""
    best = None
    for i in range(n):
        if scores[i] is not None and (best is None or scores[i] > scores[best]):
            best = i
    return best is not None and correct[best]


def weighted_correct(scores: list, clusters: list, correct: list[bool], n: int) -> bool:
    """The cluster with the largest score sum among the first n; ties to the cluster seen first."""
    sums: dict = {}
    for i in range(n):
        if clusters[i] is None or scores[i] is None:
            continue
        if clusters[i] in sums:
            sums[clusters[i]][0] += scores[i]
        else:
            sums[clusters[i]] = [scores[i], i]
    if not sums:
        return False
    _, first = max(sums.values(), key=lambda vote: (vote[0], -vote[1]))
    return correct[first]


def n_grid(rows: list[dict]) -> list[int]:
    """Powers of two up to min(N, n_grid_max), and that cap itself; N = the largest problem."""
    top = min(max(len(row["correct"]) for row in rows), N_GRID_MAX)
    return sorted({2 ** k for k in range(top.bit_length()) if 2 ** k <= top} | {top})


def run_curves(rows: list[dict]) -> dict[tuple, float]:
    """(method, prm_model, prm_aggregation, n) -> the run's accuracy: per problem, per n, in Python."""
    grid = n_grid(rows)
    hits: dict[tuple, int] = defaultdict(int)
    for row in rows:
        correct, clusters = row["correct"], row["clusters"]
        for n in grid:
            used = min(n, len(correct))
            hits[("pass", None, None, n)] += any(correct[:used])
            hits[("majority", None, None, n)] += majority_correct(clusters, correct, used)
        for prm_model, steps in row["scores"].items():
            for how in AGGREGATIONS:
                scores = [aggregate(s, how) for s in steps]
                for n in grid:
                    used = min(n, len(correct))
                    hits[("naive", prm_model, how, n)] += naive_correct(scores, correct, used)
                    hits[("weighted", prm_model, how, n)] += weighted_correct(scores, clusters, correct, used)
    return {key: count / len(rows) for key, count in hits.items()}


def across_seeds(curves: list[dict[tuple, float]]) -> dict[tuple, dict[str, float]]:
    """Per curve point, the seeds' mean, sample std (ddof 1, NaN for one seed) and population std."""
    out = {}
    for key in curves[0]:
        values = np.array([curve[key] for curve in curves])
        out[key] = {"mean": float(np.mean(values)), "std_pop": float(np.std(values)),
                    "std": float(np.std(values, ddof=1)) if len(values) > 1 else math.nan}
    return out


def baseline(home: Home, groups: int) -> dict:
    """The seed tool's computation on `groups` experiment groups: its numbers and its timings."""
    con = memory_connection(home)
    try:
        chosen = pick_groups(con, groups)
        load_s = compute_s = 0.0
        cpu_started = time.process_time()
        per_run, per_group = {}, {}
        for key, run_ids in chosen.items():
            curves = []
            for run_id in run_ids:
                started = time.perf_counter()
                rows = load_run(con, home, run_id)
                load_s += time.perf_counter() - started
                started = time.perf_counter()
                curves.append(run_curves(rows))
                compute_s += time.perf_counter() - started
                per_run[run_id] = curves[-1]
            started = time.perf_counter()
            per_group[key] = across_seeds(curves)
            compute_s += time.perf_counter() - started
        cpu_s = time.process_time() - cpu_started
    finally:
        con.close()
    return {"runs": len(per_run), "groups": list(chosen), "load_s": load_s, "compute_s": compute_s, "cpu_s": cpu_s,
            "per_run": per_run, "per_group": per_group}


# The seed tool's preprocessing: math-verify on every completion (is_correct per sample, which pass@k
# needs) and on every pred_*@n field (the rule's answer at n), none of it cached. Timed on a uniform
# sample of completions with bench.grading's baseline (parse the whole text, verify against the parsed
# gold; one worker process per core), then scaled by the number of verifications the lake needs.
_VERIFY_SAMPLE = """
    select c.text, p.gold_answer, coalesce(v.is_correct, false) as ours
    from (select run_id, problem_id, sample_idx, text from lake.completions
          using sample reservoir({sample} rows) repeatable (7)) c
    join lake.problems p using (problem_id)
    left join lake.answers a using (run_id, problem_id, sample_idx)
    left join lake.verdicts v
        on v.gold_key = a.gold_key and v.answer_key = nullif(a.answer_key, '')
        and v.grader = $grader and v.grader_version = $version
"""


def seed_preprocessing(home: Home, sample: int, workers: int) -> dict:
    """Seconds per math-verify call of the seed tool's preprocessing, and how many calls the lake needs."""
    from bench.grading import run_baseline

    con = memory_connection(home)
    try:
        rows = con.sql(_VERIFY_SAMPLE.format(sample=int(sample)),
                       params={"grader": GRADER, "version": GRADER_VERSION}).fetchall()
        completions = con.sql("select count(*) from lake.completions").fetchall()[0][0]
        # one pred_<rule>@n field per run x problem x n of a rule that picks an answer
        preds = con.sql("select count(*) from read_parquet($mart) where estimator = 'prefix' and method <> 'pass'",
                        params={"mart": str(home.serving / "selection_accuracy_by_problem.parquet")}).fetchall()[0][0]
    finally:
        con.close()
    verdicts, seconds = run_baseline([(text, gold) for text, gold, _ in rows], workers)
    same = sum(theirs == ours for (theirs, _), (_, _, ours) in zip(verdicts, rows))
    per_call = seconds / len(rows)
    return {"sampled": len(rows), "sample_s": seconds, "per_call_s": per_call, "calls": completions + preds,
            "completions": completions, "preds": preds, "seconds_scaled": per_call * (completions + preds),
            "agreement": same / len(rows)}


# ---------------------------------------------------------------- agreement with the marts

def _mart(home: Home, name: str) -> list[dict]:
    path = home.serving / f"{name}.parquet"
    if not path.exists():
        raise SystemExit(f"{path} is missing: ttsw build did not export {name}")
    return pq.read_table(path).to_pylist()


def _difference(ours: float | None, theirs: float) -> float:
    """|ours - theirs|; 0 when both are undefined (a one-seed std), infinite when one is."""
    if ours is None or math.isnan(theirs):
        return 0.0 if ours is None and math.isnan(theirs) else math.inf
    return abs(ours - theirs)


def agreement(home: Home, seed_way: dict) -> dict:
    """Largest |difference| between the baseline's numbers and the marts' prefix rows, and gaps."""
    methods = {key[0] for curve in seed_way["per_run"].values() for key in curve}
    theirs_runs = {(run_id, *key): value
                   for run_id, curve in seed_way["per_run"].items() for key, value in curve.items()}
    ours_runs = {(r["run_id"], r["method"], r["prm_model"], r["prm_aggregation"], r["n"]): r["accuracy"]
                 for r in _mart(home, "selection_accuracy")
                 if r["estimator"] == "prefix" and r["run_id"] in seed_way["per_run"] and r["method"] in methods}
    # scaling_curves' prm_model: the scorer for naive and weighted, the run's own for pass and majority
    theirs_groups = {(group[:5] + (prm_model or group[5],), method, how, n): stats
                     for group, points in seed_way["per_group"].items()
                     for (method, prm_model, how, n), stats in points.items()}
    groups = {key[0] for key in theirs_groups}
    group_columns = ("dataset", "model", "approach", "strategy", "temperature_setting", "prm_model")
    ours_groups = {}
    for r in _mart(home, "scaling_curves"):
        group = tuple(r[c] for c in group_columns)
        if r["estimator"] == "prefix" and r["method"] in methods and group in groups:
            ours_groups[(group, r["method"], r["prm_aggregation"], r["n"])] = r
    differences, missing = [], []
    for mart, ours, theirs in (("selection_accuracy", ours_runs, theirs_runs),
                               ("scaling_curves", ours_groups, theirs_groups)):
        for key in sorted(set(ours) | set(theirs), key=str):
            if key not in ours or key not in theirs:
                missing.append((mart, key, "ours" if key not in ours else "baseline"))
            elif mart == "selection_accuracy":
                differences.append(_difference(ours[key], theirs[key]))
            else:
                differences += [_difference(ours[key][stat], theirs[key][stat]) for stat in ("mean", "std", "std_pop")]
    worst = max(differences, default=0.0)
    return {"max_abs_diff": worst, "compared": len(differences), "missing": missing,
            "ok": worst <= TOLERANCE and not missing and bool(differences)}


# ---------------------------------------------------------------- main

def load_average() -> float:
    with open("/proc/loadavg") as loadavg:
        return float(loadavg.read().split()[0])


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", "--keep", dest="home", type=Path,
                        help="work in this home and keep it; a later run on it skips simulate and grade "
                             "(default: a scratch home under /tmp, deleted at the end)")
    parser.add_argument("--runs", type=int,
                        help="only the first K runs of the bench preset (7 seeds per group; default: all 315)")
    parser.add_argument("--prm", action="store_true",
                        help="simulate with PRM step scores (other run ids), so naive and weighted are built "
                             "and compared too")
    parser.add_argument("--baseline-groups", type=int, default=5,
                        help="experiment groups (all their seeds) computed the seed tool's way (default: 5)")
    parser.add_argument("--workers", type=int, default=2,
                        help="verifier processes of ttsw grade and of the seed tool's preprocessing (default: 2)")
    parser.add_argument("--verify-sample", type=int, default=3000,
                        help="completions math-verified the seed tool's way to time its preprocessing (default: 3000)")
    parser.add_argument("--interval", type=float, default=0.1,
                        help="seconds between memory polls of the build (default: 0.1)")
    return parser.parse_args()


def lake_size(home: Home) -> tuple[int, int]:
    """(completions, runs) in the lake."""
    con = memory_connection(home)
    try:
        return con.sql("select count(*), count(distinct run_id) from lake.completions").fetchall()[0]
    finally:
        con.close()


def main() -> None:
    args = parse_args()
    specs = preset_specs("bench", **({"prm": True} if args.prm else {}))[:args.runs]
    root = args.home or Path(tempfile.mkdtemp(prefix="ttsw-bench-metrics-", dir="/tmp"))
    home = Home(root.resolve())
    load_before = load_average()
    print(f"machine: {os.cpu_count()} cores, load average {load_before:.2f} at the start")
    try:
        prepared = setup(home, specs, args.workers)
        completions, runs = lake_size(home)

        built = measure_build(home, args.interval)
        timings = dbt_timings(home)
        build_s, build_cpu_s = built["seconds"], built["cpu_s"]
        peak_gb = built["peak_bytes"] / GB
        print(f"ours: ttsw build {build_s:.1f} s wall, {build_cpu_s:.0f} CPU s ({build_cpu_s / build_s:.2f} cores "
              f"busy on average) over {completions:,} completions in {runs} runs; peak memory {peak_gb:.2f} GB "
              f"(tree sum {built['tree_peak_bytes'] / GB:.2f} GB; largest processes "
              + ", ".join(f"{name} {peak / GB:.2f}" for name, peak in built["process_peaks"]) + ")")
        print(f"  dbt: {timings['dbt_elapsed_s']:.1f} s elapsed; summed execution times: models "
              f"{timings['models_s']:.1f} s, data tests {timings['data_tests_s']:.1f} s, unit tests "
              f"{timings['unit_tests_s']:.1f} s; slowest: "
              + ", ".join(f"{name} ({kind}) {secs} s" for kind, name, secs in timings["slowest"]))
        selection = measure_selection(home)
        selection_s = selection["seconds"]
        print(f"ours: dbt run --select '{SELECTION_SCALING}' ({selection['models']} models): {selection_s:.1f} s "
              f"wall with dbt's start-up ({selection['dbt_elapsed_s']:.1f} s in dbt, models' summed times "
              f"{selection['models_s']:.1f} s); slowest: "
              + ", ".join(f"{name} {secs} s" for name, secs in selection["slowest"]))

        seed_way = baseline(home, args.baseline_groups)
        baseline_s = seed_way["load_s"] + seed_way["compute_s"]
        scaled, scaled_cpu = (x * runs / seed_way["runs"] for x in (baseline_s, seed_way["cpu_s"]))
        print(f"seed tool's analysis loops: {seed_way['runs']} runs in {len(seed_way['groups'])} groups ("
              + "; ".join(f"{g[1].rsplit('/', 1)[-1]} {g[2]} T {g[4]}" for g in seed_way["groups"])
              + f"): {baseline_s:.2f} s wall, {seed_way['cpu_s']:.2f} CPU s (read {seed_way['load_s']:.2f} s, "
              f"loops + numpy {seed_way['compute_s']:.2f} s); scaled to {runs} runs: {scaled:.0f} s wall, "
              f"{scaled_cpu:.0f} CPU s")
        agree = agreement(home, seed_way)
        print(f"agreement with the marts' prefix rows: {agree['compared']:,} values, largest difference "
              f"{agree['max_abs_diff']:.1e} (tolerance {TOLERANCE:g}), {len(agree['missing'])} missing"
              + "".join(f"\n  missing in {who}: {mart} {key}" for mart, key, who in agree["missing"][:10]))
        preprocess = seed_preprocessing(home, args.verify_sample, args.workers)
        print(f"seed tool's preprocessing: math-verify of {preprocess['sampled']:,} sampled completions in "
              f"{preprocess['sample_s']:.1f} s on {args.workers} processes ({preprocess['per_call_s'] * 1e3:.2f} ms "
              f"each; verdicts agree with ours on {preprocess['agreement']:.2%}); the lake needs "
              f"{preprocess['calls']:,} calls ({preprocess['completions']:,} completions + {preprocess['preds']:,} "
              f"pred_<rule>@n fields): {preprocess['seconds_scaled']:.0f} s scaled")

        seed_total = preprocess["seconds_scaled"] + scaled
        ours_total = prepared["cold_grade_s"] + selection_s
        load_after = load_average()
        print(f"completions to curves: seed tool {seed_total:.0f} s (preprocessing + loops, scaled) vs ours "
              f"{ours_total:.0f} s (cold ttsw grade {prepared['cold_grade_s']:.0f} s + selection and scaling "
              f"{selection_s:.0f} s): speedup {seed_total / ours_total:.1f}x (target {TARGET_SPEEDUP}x)")
        print(f"analysis alone (loops on graded lists vs selection and scaling, which also builds the unbiased "
              f"and stratified estimators): {scaled / selection_s:.2f}x; selection + scaling {selection_s:.0f} s "
              f"(target {TARGET_SELECTION_SCALING_S} s); peak {peak_gb:.2f} GB (target {TARGET_PEAK_GB} GB); "
              f"load average {load_after:.2f} at the end")
        print(json.dumps({
            "bench": "metrics", "completions": completions, "runs": runs, "prm": args.prm,
            "build_s": round(build_s, 1), "build_cpu_s": round(build_cpu_s, 1),
            "selection_scaling_s": round(selection_s, 1), "selection_scaling_models_s": round(selection["models_s"], 1),
            "dbt_models_s": round(timings["models_s"], 1), "dbt_data_tests_s": round(timings["data_tests_s"], 1),
            "dbt_unit_tests_s": round(timings["unit_tests_s"], 1), "peak_rss_gb": round(peak_gb, 2),
            "cold_grade_s": prepared["cold_grade_s"], "ours_completions_to_curves_s": round(ours_total, 1),
            "seed_preprocessing_s_scaled": round(preprocess["seconds_scaled"], 1),
            "seed_verify_ms": round(preprocess["per_call_s"] * 1e3, 3), "seed_verify_calls": preprocess["calls"],
            "seed_verify_agreement": round(preprocess["agreement"], 4),
            "baseline_runs": seed_way["runs"], "baseline_s": round(baseline_s, 2),
            "baseline_s_scaled": round(scaled, 1), "baseline_cpu_s_scaled": round(scaled_cpu, 1),
            "seed_completions_to_curves_s": round(seed_total, 1),
            "speedup": round(seed_total / ours_total, 1), "speedup_analysis_only": round(scaled / selection_s, 2),
            "target_selection_scaling_s": TARGET_SELECTION_SCALING_S, "target_peak_gb": TARGET_PEAK_GB,
            "target_speedup": TARGET_SPEEDUP, "agreement": agree["ok"],
            "agreement_max_abs_diff": agree["max_abs_diff"], "agreement_values": agree["compared"],
            "setup_simulate_s": prepared["simulate_s"], "setup_grade_s": prepared["grade_s"],
            "load_average_before": load_before, "load_average_after": load_after, "cores": os.cpu_count(),
        }))
    finally:
        if args.home is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
