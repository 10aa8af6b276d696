"""Simulated runs on the real MATH-500 problems: `simulate(home, specs)` writes them into the lake.

Each spec (generation.sim_spec) becomes one run: a `runs` row, its `completions` and, unless
turned off, its `prm_scores`, plus the `problems` table. Samples are drawn per run in vectorised
numpy from the latent world of generation.sim_model; answers come from the validated pools of
generation.sim_pools (the gold, equivalent forms of it, popular wrong answers) and texts from the
pre-rendered heads of generation.sim_texts. Parts hold at most CHUNK_COMPLETIONS samples
(CHUNK_LOGGED when every token is logged), so memory stays bounded whatever N is.

What else a run logs follows its spec: partial-completion PRM scores (generation.sim_prm),
token_traces and decode_events (generation.sim_tokens), trace embeddings (generation.sim_embed);
a teacher-forced spec writes token_topk instead of completions (generation.sim_topk). Each of
these draws from its own random stream, so turning one on leaves the others' draws alone.

The simulator's own intended answer and correctness go into `source_answer` and
`source_is_correct`, the columns for what a source claimed, so grading can be checked against it.
They are intent, not a grade: a sample without a boxed answer counts as wrong even where a
fallback extractor finds the right value in its steps (about one such sample in ten).
Same spec, same data: the run id is derived from the spec, randomness from the run id, and part
names from the chunk number. A complete run is skipped; an incomplete one is dropped and redone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from generation import sim_embed, sim_model as model
from generation.sim_arrays import constant
from generation.sim_pools import answer_pools
from generation.sim_prm import prm_table
from generation.sim_spec import SimSpec, preset_specs
from generation.sim_texts import (CHARS_PER_TOKEN, FINAL_PREFIX, FINAL_SUFFIX, MAX_STEPS, MIN_STEPS,
                                  NO_ANSWER_LINES, VARIANTS, TextBank, text_bank)
from generation.sim_tokens import token_logs
from generation.sim_topk import positions_per_doc, topk_table
from warehouse.home import Home

__all__ = ["CHUNK_COMPLETIONS", "SimSpec", "preset_specs", "run_statuses", "simulate", "simulate_chunk"]

CHUNK_COMPLETIONS = 32_768
CHUNK_LOGGED = 4_096  # completions per part when every token is logged (~300 token rows each)
ANSWERED, NO_ANSWER, TRUNCATED = 0, 1, 2


@dataclass(frozen=True)
class World:
    """MATH-500 with everything the simulator derives from it, built once per process."""

    problems: pa.Table
    problem_ids: pa.Array
    levels: np.ndarray
    difficulty: np.ndarray
    subjects: np.ndarray  # index of each problem's subject (sorted subject names)
    answers: pa.Array  # every pool answer, flattened; index 0 is the empty string
    correct_start: np.ndarray
    correct_count: np.ndarray
    wrong_start: np.ndarray
    wrong_count: np.ndarray
    text_sources: tuple[tuple[str, str, str], ...]


@lru_cache(maxsize=1)
def world() -> World:
    from warehouse.problems import math500

    problems = math500()
    pools = answer_pools()
    ids = problems.column("problem_id").to_pylist()
    flat, correct_start, correct_count, wrong_start, wrong_count = [""], [], [], [], []
    for pid in ids:
        pool = pools[pid]
        correct_start.append(len(flat))
        correct_count.append(len(pool["correct"]))
        flat += pool["correct"]
        wrong_start.append(len(flat))
        wrong_count.append(len(pool["wrong"]))
        flat += pool["wrong"]
    levels = np.array(problems.column("level").to_pylist(), dtype=np.float64)
    return World(
        problems=problems,
        problem_ids=problems.column("problem_id").combine_chunks(),
        levels=levels,
        difficulty=model.problem_difficulty(levels),
        subjects=np.unique(problems.column("subject").to_numpy(zero_copy_only=False), return_inverse=True)[1],
        answers=pa.array(flat, pa.string()),
        correct_start=np.array(correct_start), correct_count=np.array(correct_count),
        wrong_start=np.array(wrong_start), wrong_count=np.array(wrong_count),
        text_sources=tuple(zip(ids, problems.column("problem").to_pylist(),
                               problems.column("gold_solution").to_pylist())),
    )


def simulate_chunk(spec: SimSpec, first: int, stop: int, chunk: int) -> dict[str, pa.Table]:
    """Problems [first, stop) of one run as lake tables by name: `completions` and what else the
    spec logs (`prm_scores`, `token_traces`, `decode_events`, `embeddings`), or a teacher-forced
    run's `token_topk`."""
    if spec.teacher_forced:
        return {"token_topk": _teacher_forced(spec, first, stop, chunk)}
    w = world()
    rng = model.stream("run", spec.run_id, chunk)
    n, problems = spec.n, stop - first
    rows = n * problems
    prob = np.repeat(np.arange(first, stop), n)
    temp = np.tile(spec.sample_temperatures(), problems)
    difficulty = model.model_difficulty(w.difficulty, spec.model)[prob]
    kind, correct, answer_idx = _answers(rng, spec, w, prob, difficulty, temp)
    bank = text_bank(spec.text, spec.max_tokens, w.text_sources)
    text, head, ending = _texts(rng, w, bank, prob, kind, correct, answer_idx)

    chars = pc.utf8_length(text).to_numpy()
    tokens = np.rint(chars / CHARS_PER_TOKEN * np.exp(rng.normal(0.0, 0.05, rows))).astype(np.int64)
    tokens = np.where(kind == TRUNCATED, spec.max_tokens, np.minimum(tokens, spec.max_tokens - 1))
    answered = kind == ANSWERED
    completions = pa.table({
        "run_id": constant(spec.run_id, rows),
        "problem_id": w.problem_ids.take(prob),
        "sample_idx": pa.array(np.tile(np.arange(n, dtype=np.int32), problems)),
        "temperature": pa.array(temp),
        "text": text,
        "num_tokens": pa.array(tokens.astype(np.int32)),
        "finish_reason": pa.array(["stop", "length"]).take(pa.array((kind == TRUNCATED).astype(np.int64))),
        "source_answer": w.answers.take(pa.array(answer_idx, mask=~answered)),
        "source_is_correct": pa.array(correct),
    })
    tables = {"completions": completions}
    if spec.prm:
        # One PRM step per blank-line block; complete samples add their final line as a block.
        steps = bank.blocks[head] + (kind != TRUNCATED)
        scores = model.prm_step_scores(rng, steps, correct, answered, difficulty, spec.approach)
        tables["prm_scores"] = prm_table(spec.run_id, spec.prm_model, completions, steps, scores, spec.prm_thresholds,
                                         model.stream("prm-partial", spec.run_id, chunk),
                                         bank.step_starts(head, steps) if spec.prm_thresholds else None)
    if spec.log_tokens:
        tables["token_traces"], tables["decode_events"] = token_logs(
            model.stream("tokens", spec.run_id, chunk), spec.run_id, spec.model, completions, correct, difficulty)
    if spec.embed:
        outcome = np.where(kind == TRUNCATED, sim_embed.TRUNCATED, np.where(
            kind == NO_ANSWER, sim_embed.NO_ANSWER, np.where(correct, sim_embed.CORRECT, sim_embed.WRONG)))
        vectors = sim_embed.trace_vectors(model.stream("embed", spec.run_id, chunk), outcome, prob, w.subjects[prob],
                                          len(w.levels), int(w.subjects.max()) + 1)
        reasoning, final = _trace_parts(w, bank, head, ending, answer_idx, answered)
        tables["embeddings"] = sim_embed.embeddings_table(spec.run_id, completions, vectors, reasoning, final)
    return tables


def _teacher_forced(spec: SimSpec, first: int, stop: int, chunk: int) -> pa.Table:
    w = world()
    docs = np.arange(first, stop)
    solutions = pc.utf8_length(w.problems.column("gold_solution")).to_numpy()[first:stop]
    return topk_table(model.stream("topk", spec.run_id, chunk), spec.run_id, spec.model,
                      model.model_ability(spec.model), docs,
                      positions_per_doc(solutions, CHARS_PER_TOKEN, spec.max_tokens))


def _answers(rng: np.random.Generator, spec: SimSpec, w: World, prob: np.ndarray, difficulty: np.ndarray,
             temp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each sample's outcome kind, latent correctness and index into `w.answers` (0: none)."""
    rows = len(prob)
    effect = np.repeat(model.run_effects(rng, spec.approach, rows // spec.n), spec.n)
    p_correct = model.correct_probability(model.model_ability(spec.model), spec.approach, difficulty, temp, effect)
    p_truncated, p_no_answer = model.failure_rates(difficulty, temp)
    u = rng.random(rows)
    kind = np.where(u < p_truncated, TRUNCATED, np.where(u < p_truncated + p_no_answer, NO_ANSWER, ANSWERED))
    answered = kind == ANSWERED
    correct = answered & (rng.random(rows) < p_correct)

    alternatives = w.correct_count[prob] - 1
    use_alternative = (rng.random(rows) < model.ALTERNATIVE_FORM_SHARE) & (alternatives > 0)
    alternative = 1 + (rng.random(rows) * np.maximum(alternatives, 1)).astype(np.int64)
    right = w.correct_start[prob] + np.where(use_alternative, alternative, 0)
    wrong = w.wrong_start[prob] + model.wrong_answer_rank(rng, w.wrong_count[prob], difficulty, temp)
    return kind, correct, np.where(answered, np.where(correct, right, wrong), 0)


# A complete sample's text ends with a blank line and its closing sentence: the final line (then
# its answer and FINAL_SUFFIX) or a no-answer line; a truncated one has no ending.
_CLOSINGS = (FINAL_PREFIX, *NO_ANSWER_LINES)
_NO_ENDING = len(_CLOSINGS)


def _texts(rng: np.random.Generator, w: World, bank: TextBank, prob: np.ndarray, kind: np.ndarray,
           correct: np.ndarray, answer_idx: np.ndarray) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Each sample's text (head + ending + answer + suffix, joined in Arrow), head and ending index."""
    variant = rng.integers(0, VARIANTS, len(prob))
    steps = model.step_counts(rng, bank.natural_steps[prob], w.levels[prob], ~correct, MIN_STEPS, MAX_STEPS)
    head = np.where(kind == TRUNCATED, bank.truncated_index(prob, variant), bank.body_index(prob, steps, variant))
    answered = kind == ANSWERED
    endings = pa.array([*("\n\n" + line for line in _CLOSINGS), ""])
    no_answer_line = 1 + variant % len(NO_ANSWER_LINES)
    ending = np.where(answered, 0, np.where(kind == NO_ANSWER, no_answer_line, _NO_ENDING))
    text = pc.binary_join_element_wise(
        bank.heads.take(head), endings.take(ending), w.answers.take(answer_idx),
        pa.array(["", FINAL_SUFFIX]).take(answered.astype(np.int64)), "")
    return text, head, ending


def _trace_parts(w: World, bank: TextBank, head: np.ndarray, ending: np.ndarray, answer_idx: np.ndarray,
                 answered: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """(reasoning_text, final_answer_text): the head, and the closing sentence (null when none)."""
    closings = pa.array([*_CLOSINGS, None], pa.string())
    final = pc.binary_join_element_wise(closings.take(ending), w.answers.take(answer_idx),
                                        pa.array(["", FINAL_SUFFIX]).take(answered.astype(np.int64)), "")
    return bank.heads.take(head), final


def _chunks(spec: SimSpec) -> list[tuple[int, int]]:
    per_chunk = max(1, (CHUNK_LOGGED if spec.log_tokens else CHUNK_COMPLETIONS) // spec.n)
    return [(start, min(start + per_chunk, spec.problems)) for start in range(0, spec.problems, per_chunk)]


def run_statuses(home: Home, run_ids: list[str]) -> dict[str, str]:
    """The current status of each of these runs that the lake already holds."""
    from warehouse.catalog import memory_connection
    from warehouse.lake import SCHEMA_FILE

    if not (home.table_dir("runs") / SCHEMA_FILE).exists():
        return {}
    con = memory_connection(home)
    try:
        rows = con.sql("select run_id, status from lake.runs where list_contains($ids, run_id)",
                       params={"ids": run_ids}).to_arrow_table().to_pylist()
    finally:
        con.close()
    return {r["run_id"]: r["status"] for r in rows}


def _write_run(home: Home, spec: SimSpec, bar) -> dict[str, int] | None:
    """Write one run chunk by chunk, advancing the progress `bar`; returns the rows written per
    table (None: the run was complete, written meanwhile by another process)."""
    from warehouse.runs import write_whole_run

    rows: dict[str, int] = {}

    def fill(run) -> None:
        for chunk, (first, stop) in enumerate(_chunks(spec)):
            tables = simulate_chunk(spec, first, stop, chunk)
            for table, data in tables.items():
                run.write(table, data, keys=["sim", chunk])
                rows[table] = rows.get(table, 0) + data.num_rows
            bar.update(tables["completions"].num_rows if "completions" in tables else 0)

    return rows if write_whole_run(home, spec.run_meta(), fill, on_wait=bar.write) else None


def simulate(home: Home, specs: Iterable[SimSpec], progress: bool = True) -> dict:
    """Write every spec's run (skipping complete ones, redoing incomplete ones) and the problems.

    Returns a summary: run names written / skipped / redone, completions and PRM scores written,
    `rows` written per table, seconds taken.
    """
    from tqdm import tqdm

    from warehouse.lake import ensure_lake, write_part
    from warehouse.runs import COMPLETE

    started = time.perf_counter()
    unique = list({spec.run_id: spec for spec in specs}.values())
    home.ensure_writable()
    ensure_lake(home)
    write_part(home, "problems", world().problems, keys=["math500"])
    statuses = run_statuses(home, [spec.run_id for spec in unique])
    todo = [spec for spec in unique if statuses.get(spec.run_id) != COMPLETE]
    summary = {"written": [], "skipped": [s.name for s in unique if s not in todo], "redone": [], "rows": {}}
    with tqdm(total=sum(s.completions for s in todo), unit="completion", unit_scale=True,
              disable=not progress, dynamic_ncols=True) as bar:
        for spec in todo:
            bar.set_description(spec.name)
            rows = _write_run(home, spec, bar)
            if rows is None:
                summary["skipped"].append(spec.name)
                continue
            summary["written"].append(spec.name)
            if spec.run_id in statuses:
                summary["redone"].append(spec.name)
            for table, count in rows.items():
                summary["rows"][table] = summary["rows"].get(table, 0) + count
    summary["completions"] = summary["rows"].get("completions", 0)
    summary["prm_scores"] = summary["rows"].get("prm_scores", 0)
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return summary
