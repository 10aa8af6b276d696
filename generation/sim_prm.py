"""PRM scores of simulated runs as `prm_scores` rows: the full completions, and the partial ones.

Every run with PRM scores gets one `step` row per step of the full completion (token_threshold
null), from `sim_model.prm_step_scores`. A run with `prm_thresholds` is scored the way
prm_reliability_analysis.md scores partials: each completion is cut at τ tokens and scored again,
as steps (kind 'step') and as one block (kind 'whole'); the whole completion is also scored as
one block (kind 'whole', threshold null).

How a partial is scored, and why:
- Steps. A PRM reads causally, so the steps that fit before τ keep the scores they get in the
  full completion; the step τ cuts through is rescored with extra logit noise (sd CUT_NOISE: a
  PRM judging half a step is unreliable). A step belongs to the partial when it starts before
  token τ; token positions come from the text's characters, scaled to the sample's token count.
  A completion shorter than τ is its own partial (same scores), as in the seed's script.
- Whole. One block is judged on what it shows so far: its logit moves from the first step's
  logit towards the last step's as the seen share f = min(1, τ / num_tokens) grows, as f²
  (little is known early), plus a per-sample idiosyncrasy (sd WHOLE_NOISE) that makes one-block
  scoring the noisiest reader, and fresh noise per threshold.
The effect: correctness shows mostly in the last steps, so Pearson r of partial scores against
final correctness grows with τ while completions are still being cut, then levels off once most
fit. The simulated MATH-500 completions are short (median ~220 tokens), so on the demo's PRM run
r(mean) is about 0.37 at τ = 128 (about 60% of a typical completion seen), 0.46 at 256 and 0.49
from 512 on, and `whole` the weakest, rising from about 0.23 to 0.41. The seed's table, on
~2000-token AIME solutions, starts lower (0.16 at 128) because a 128-token prefix is a smaller
share of those; the mechanism is the same.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from generation.sim_arrays import constant, labels, ragged
from generation.sim_model import prm_logit, prm_score

KINDS = ["step", "whole"]
STEP, WHOLE = 0, 1
CUT_NOISE = 0.8
WHOLE_NOISE = 0.8
WHOLE_THRESHOLD_NOISE = 0.3


def partial_step_rows(rng: np.random.Generator, scores: np.ndarray, steps: np.ndarray, step_tokens: np.ndarray,
                      num_tokens: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sample, step_idx, score) of every step of the completions cut at `threshold` tokens.

    `scores` and `step_tokens` (the token where each step starts) are flattened sample by sample.
    """
    owner, within = ragged(steps)
    keep = step_tokens < threshold
    kept = np.bincount(owner[keep], minlength=len(steps))
    cut = keep & (within == kept[owner] - 1) & (num_tokens[owner] > threshold)
    partial = scores.copy()
    partial[cut] = prm_score(prm_logit(scores[cut]) + rng.normal(0.0, CUT_NOISE, int(cut.sum())))
    return owner[keep], within[keep], partial[keep]


def whole_scores(rng: np.random.Generator, first: np.ndarray, last: np.ndarray, idiosyncrasy: np.ndarray,
                 seen: np.ndarray) -> np.ndarray:
    """One-block scores of completions of which the share `seen` (0-1] is shown to the PRM."""
    start, end = prm_logit(first), prm_logit(last)
    logit = start + (end - start) * seen ** 2 + idiosyncrasy + rng.normal(0.0, WHOLE_THRESHOLD_NOISE, len(seen))
    return prm_score(logit)


def prm_table(run_id: str, prm_model: str, completions: pa.Table, steps: np.ndarray, scores: np.ndarray,
              thresholds: tuple[int, ...] = (), rng: np.random.Generator | None = None,
              step_chars: np.ndarray | None = None) -> pa.Table:
    """`prm_scores` rows: full-completion steps, then (with thresholds) partial steps and wholes.

    `scores` holds the full completions' step scores, flattened sample by sample; `step_chars`
    (where each of those steps starts, in characters) and `rng` are needed only with thresholds.
    """
    owner, within = ragged(steps)
    blocks = [(owner, within, None, STEP, scores)]
    if thresholds:
        blocks += _partial_blocks(rng, completions, steps, scores, step_chars, thresholds)
    sample = pa.array(np.concatenate([b[0] for b in blocks]))
    threshold = np.concatenate([np.full(len(b[0]), -1 if b[2] is None else b[2], np.int32) for b in blocks])
    rows = len(sample)
    return pa.table({
        "run_id": constant(run_id, rows),
        "problem_id": completions.column("problem_id").take(sample),
        "sample_idx": completions.column("sample_idx").take(sample),
        "prm_model": constant(prm_model, rows),
        "token_threshold": pa.array(threshold, mask=threshold < 0),
        "kind": labels(np.concatenate([np.full(len(b[0]), b[3]) for b in blocks]), KINDS),
        "step_idx": pa.array(np.concatenate([b[1] for b in blocks]).astype(np.int32)),
        "score": pa.array(np.concatenate([b[4] for b in blocks])),
        "score_kind": constant("probability", rows),
    })


def _partial_blocks(rng: np.random.Generator, completions: pa.Table, steps: np.ndarray, scores: np.ndarray,
                    step_chars: np.ndarray, thresholds: tuple[int, ...]) -> list[tuple]:
    """(sample, step_idx, threshold, kind, score) blocks: the partial steps at each threshold, and
    the whole-block scores at each threshold and of the full completion (threshold None)."""
    num_tokens = completions.column("num_tokens").to_numpy().astype(np.float64)
    chars = pc.utf8_length(completions.column("text")).to_numpy().astype(np.float64)
    step_tokens = step_chars * np.repeat(num_tokens / chars, steps)
    last_step = np.cumsum(steps) - 1
    first, last = scores[last_step - steps + 1], scores[last_step]
    idiosyncrasy = rng.normal(0.0, WHOLE_NOISE, len(steps))
    samples, zeros = np.arange(len(steps)), np.zeros(len(steps), np.int64)
    blocks = []
    for tau in (*thresholds, None):
        if tau is not None:
            owner, within, partial = partial_step_rows(rng, scores, steps, step_tokens, num_tokens, tau)
            blocks.append((owner, within, tau, STEP, partial))
        seen = np.ones(len(steps)) if tau is None else np.minimum(1.0, tau / num_tokens)
        blocks.append((samples, zeros, tau, WHOLE, whole_scores(rng, first, last, idiosyncrasy, seen)))
    return blocks
