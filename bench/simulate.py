"""Benchmark `ttsw simulate`: completions per second of the vectorised simulator vs a naive loop.

Simulates the `bench` preset (315 runs × 500 problems × N=64 = 10.08M completions, brief texts,
no PRM scores; `--runs K` for its first K runs) into a scratch home, then builds the same kind
of rows for one run with a plain per-completion Python loop over the same latent model, on a
small subsample, and writes them the same way. Prints a few lines, then as its LAST line one
JSON object: {"bench": "simulate", "completions_per_s": ..., "speedup": ..., ...}.

    python -m bench.simulate [--runs 315] [--naive-samples 2000] [--keep HOME]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from generation import sim_model as model
from generation.sim_texts import FINAL_PREFIX, FINAL_SUFFIX, MAX_STEPS, MIN_STEPS, NO_ANSWER_LINES, VARIANTS, text_bank
from generation.simulate import ANSWERED, NO_ANSWER, TRUNCATED, SimSpec, preset_specs, simulate, world
from warehouse.home import Home
from warehouse.lake import write_part

TARGET = 50_000


def naive_run(home: Home, spec: SimSpec, samples: int) -> int:
    """One completion at a time: draw its outcome, answer and text, append a row dict; then write."""
    w = world()
    bank = text_bank(spec.text, spec.max_tokens, w.text_sources)
    heads, answers = bank.heads.to_pylist(), w.answers.to_pylist()
    problem_ids = w.problem_ids.to_pylist()
    difficulty = model.model_difficulty(w.difficulty, spec.model)
    ability = model.model_ability(spec.model)
    temps = spec.sample_temperatures()
    rng = model.stream("naive", spec.run_id)
    rows = []
    for problem in range(math.ceil(samples / spec.n)):
        d = difficulty[problem]
        effect = model.run_effects(rng, spec.approach, 1)[0]
        for i in range(spec.n):
            t = temps[i]
            p_correct = model.correct_probability(ability, spec.approach, d, t, effect)
            p_truncated, p_no_answer = model.failure_rates(d, t)
            u = rng.random()
            kind = TRUNCATED if u < p_truncated else NO_ANSWER if u < p_truncated + p_no_answer else ANSWERED
            correct = kind == ANSWERED and rng.random() < p_correct
            if correct:
                alternatives = w.correct_count[problem] - 1
                use_alternative = alternatives and rng.random() < model.ALTERNATIVE_FORM_SHARE
                answer = answers[w.correct_start[problem] + (1 + int(rng.integers(alternatives)) if use_alternative else 0)]
            else:
                rank = model.wrong_answer_rank(rng, w.wrong_count[problem:problem + 1], np.array([d]), np.array([t]))[0]
                answer = answers[w.wrong_start[problem] + rank]
            variant = int(rng.integers(VARIANTS))
            steps = int(model.step_counts(rng, bank.natural_steps[problem:problem + 1], w.levels[problem:problem + 1],
                                          np.array([not correct]), MIN_STEPS, MAX_STEPS)[0])
            if kind == TRUNCATED:
                text = heads[int(bank.truncated_index(problem, variant))]
            elif kind == NO_ANSWER:
                text = heads[int(bank.body_index(problem, steps, variant))] + "\n\n" + NO_ANSWER_LINES[variant]
            else:
                text = heads[int(bank.body_index(problem, steps, variant))] + "\n\n" + FINAL_PREFIX + answer + FINAL_SUFFIX
            tokens = spec.max_tokens if kind == TRUNCATED else min(
                round(len(text) / 3.4 * math.exp(rng.normal(0.0, 0.05))), spec.max_tokens - 1)
            rows.append({"run_id": spec.run_id, "problem_id": problem_ids[problem], "sample_idx": i,
                         "temperature": float(t), "text": text, "num_tokens": tokens,
                         "finish_reason": "length" if kind == TRUNCATED else "stop",
                         "source_answer": answer if kind == ANSWERED else None, "source_is_correct": correct})
    write_part(home, "completions", rows, run_id=spec.run_id, keys=["naive"])
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=None, help="only the first K runs of the bench preset")
    parser.add_argument("--naive-samples", type=int, default=2000, help="completions for the naive loop")
    parser.add_argument("--keep", type=Path, default=None, help="write into this home and keep it")
    args = parser.parse_args()

    specs = preset_specs("bench")[:args.runs]
    root = args.keep or Path(tempfile.mkdtemp(prefix="ttsw-bench-"))
    home = Home(root.resolve())
    try:
        world()  # load pools and problems outside the timings (both sides use them)
        started = time.perf_counter()
        summary = simulate(home, specs, progress=False)
        seconds = time.perf_counter() - started
        rate = summary["completions"] / seconds
        print(f"vectorised: {summary['completions']:,} completions in {len(summary['written'])} runs, "
              f"{seconds:.1f} s -> {rate:,.0f} completions/s")

        text_bank(specs[0].text, specs[0].max_tokens, world().text_sources)
        started = time.perf_counter()
        naive = naive_run(Home((root / "naive").resolve()), specs[0], args.naive_samples)
        naive_seconds = time.perf_counter() - started
        naive_rate = naive / naive_seconds
        print(f"naive loop: {naive:,} completions in {naive_seconds:.2f} s -> {naive_rate:,.0f} completions/s")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print(json.dumps({
        "bench": "simulate", "runs": len(summary["written"]), "completions": summary["completions"],
        "seconds": round(seconds, 2), "completions_per_s": round(rate), "naive_completions_per_s": round(naive_rate),
        "speedup": round(rate / naive_rate, 1), "target_completions_per_s": TARGET,
    }))


if __name__ == "__main__":
    main()
