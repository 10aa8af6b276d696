"""Temperature mixtures (HNC): how many of a problem's n samples each temperature gets.

One rule for every job that samples a mixture (the simulator and `ttsw generate bon`), the block
rule of search-and-learn's HNC runs: with shares s_t = r_t / sum(r), the first round(s_0·n)
samples are at the first temperature, the next up to round((s_0+s_1)·n) at the second, and so on
(cumulative rounding, half to even as Python's round), so the blocks always cover n. The
stratified estimator (dbt: int_run_strata, int_stratified_subsets) cuts its subsets by the same
rule, so at n = N its subset is every sample.
"""

from __future__ import annotations

from typing import Sequence


def block_counts(ratios: Sequence[float], n: int) -> list[int]:
    """Samples per temperature for `n` samples split by `ratios` (any positive weights)."""
    total = 0.0
    for ratio in ratios:
        total += ratio
    bounds, running = [0], 0.0
    for ratio in ratios:
        running += ratio
        bounds.append(round(running / total * n))
    return [after - before for before, after in zip(bounds, bounds[1:])]
