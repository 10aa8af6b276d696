"""Majority vote, unbiased estimator, computed exactly (a dbt Python model; numpy).

For every problem with at most `max_samples` samples (var majority_exact_max_samples; larger
problems go to the Monte Carlo model) and every n of its grid: the expected accuracy of the
majority vote over the size-n subsets S of its N samples, all equally likely. The rule is the
prefix one (DESIGN §6): the cluster with the most members in S wins, ties go to the cluster whose
first member in S has the lowest sample_pos, samples without a cluster never win, and the result
is the verdict of the winner's first member in S.

Counting. The winner's first member is the sample of S with the largest (members of its cluster
in S, -sample_pos). So the subsets whose winner's first member is a given correct sample t, of a
cluster c with k members in S, are counted by the coefficient of x^n in

    C(a_t, k-1) x^k  *  prod over the other clusters d of  [sum_{j<k} C(m_d, j) x^j + C(b_d, k) x^k]  *  (1+x)^u

where a_t and b_d count the members of c and of d after t, m_d is the size of d and u the samples
without a cluster: every other cluster has fewer than k members in S, or exactly k, all after t
(it loses the tie). A cluster smaller than k cannot reach k; its factor is (1+x)^m_d, merged
into u. The accuracy at n is the sum over correct t and over k, divided by C(N, n).

Cost. For k above the size of every other cluster of the problem the product is (1+x)^(N-m_c)
and the sum over t is one number per k (closed form below). Otherwise the clusters that can
reach k ("competitors") are multiplied in one at a time, with one row per (problem, t),
vectorised over all rows of a chunk of problems. Measured on one core: about 0.1 ms per problem
at N = 64, 3 ms at N = 256, 40 ms at N = 512 (growing about as N^3.3).

Numbers. Every stored value counts subsets of one size drawn from at most N samples, so it is at
most C(N, N/2) < 2^N; N <= 1024 keeps it below the largest double. Only non-negative numbers are
added and multiplied, so the relative rounding error stays near 1e-13; results are rounded to
12 decimals like pass_at_k.
"""

import numpy as np
import pyarrow as pa

# C(1024, 512) < 2^1024 is the largest count that fits a double
HARD_MAX_SAMPLES = 1024
# samples per chunk of problems: bounds the rows x competitors arrays
CHUNK_SAMPLES = 1 << 15


def binomial_table(size):
    """table[n, j] = C(n, j) for 0 <= j <= n <= size (0 above the diagonal), by Pascal's rule."""
    table = np.zeros((size + 1, size + 1))
    table[:, 0] = 1.0
    for n in range(1, size + 1):
        table[n, 1:n + 1] = table[n - 1, 1:n + 1] + table[n - 1, :n]
    return table


def choose(table, top, bottom):
    """C(top, bottom) elementwise (broadcasting), 0 unless 0 <= bottom <= top."""
    inside = (bottom >= 0) & (bottom <= top)
    return np.where(inside, table[top, np.clip(bottom, 0, table.shape[1] - 1)], 0.0)


def majority_unbiased(problem, cluster, correct, n_used, table):
    """Exact majority accuracy over uniform size-n subsets, for a chunk of problems.

    problem: int array, the problem (0..P-1) of each sample, nondecreasing, with each problem's
    samples in sample_pos order; cluster: the sample's cluster, an int unique within its problem,
    -1 for none; correct: bool; n_used: (P, G) subset sizes, 1..N of that problem, or 0 where
    unused; table: binomial_table(size) with size >= every N.
    Returns (P, G) accuracies (0 where n_used is 0).
    """
    count, width_n = n_used.shape
    samples = np.bincount(problem, minlength=count)
    start = np.concatenate([[0], np.cumsum(samples)[:-1]])
    pos = np.arange(len(problem)) - start[problem]
    size = table.shape[0] - 1
    result = np.zeros((count, width_n))
    voters = np.nonzero(cluster >= 0)[0]
    if not len(voters):
        return result

    # clusters numbered problem by problem, largest first: a cluster's competitors at k are the
    # first clusters of its problem, itself skipped
    span = int(cluster.max()) + 1
    codes, inverse, sizes = np.unique(problem[voters] * span + cluster[voters], return_inverse=True,
                                      return_counts=True)
    order = np.lexsort((codes, -sizes, codes // span))
    renumber = np.empty_like(order)
    renumber[order] = np.arange(len(order))
    cluster_size, cluster_problem = sizes[order], codes[order] // span
    voter_cluster = renumber[inverse.ravel()]
    voter_pos = pos[voters]
    first_cluster = np.searchsorted(cluster_problem, np.arange(count))
    clusters_of = np.bincount(cluster_problem, minlength=count)

    # members of cluster g at positions <= p: binary search in (cluster, position) keys
    stride = size + 1
    member_keys = np.sort(voter_cluster * stride + voter_pos)
    member_start = np.searchsorted(member_keys, np.arange(len(cluster_size)) * stride)

    def members_upto(g, p):
        return np.searchsorted(member_keys, g * stride + p, side="right") - member_start[g]

    # rows: the possible winners' first members t (correct voters), grouped by cluster ("case")
    rows = np.nonzero(correct[voters])[0]
    if not len(rows):
        return result
    rows = rows[np.argsort(voter_cluster[rows], kind="stable")]
    row_cluster, row_pos = voter_cluster[rows], voter_pos[rows]
    after_own = cluster_size[row_cluster] - members_upto(row_cluster, row_pos)
    cases, case_first_row = np.unique(row_cluster, return_index=True)
    row_case = np.searchsorted(cases, row_cluster)
    case_problem = cluster_problem[cases]
    case_size = cluster_size[cases]

    # competitors of each case, largest first (size 0 = none)
    slots = np.arange(max(int(clusters_of.max()) - 1, 1))[None, :]
    local = slots + (slots >= (cases - first_cluster[case_problem])[:, None])
    exists = local < clusters_of[case_problem][:, None]
    comp_cluster = first_cluster[case_problem][:, None] + np.where(exists, local, 0)
    comp_size = np.where(exists, cluster_size[comp_cluster], 0)
    largest_comp = comp_size[:, 0]
    # members of each competitor after t, per row (k does not change them)
    comp_after = np.zeros((len(rows), slots.shape[1]), dtype=np.int64)
    for slot in range(int((comp_size > 0).sum(1).max())):
        g = comp_cluster[row_case, slot]
        comp_after[:, slot] = np.where(comp_size[row_case, slot] > 0,
                                       cluster_size[g] - members_upto(g, row_pos), 0)

    def add(case_ids, polys, k, unclustered):
        """result += coefficient of x^(n - k) in polys * (1+x)^unclustered, per case's problem."""
        problems = case_problem[case_ids]
        degrees = np.arange(polys.shape[1])[None, :]
        for column in range(width_n):
            binomial = choose(table, unclustered[:, None], n_used[problems, column][:, None] - k - degrees)
            result[:, column] += np.bincount(problems, weights=(polys * binomial).sum(1), minlength=count)

    # k above every competitor: sum over t of C(a_t, k-1), times C(N - m_c, n - k)
    ks = np.arange(1, size + 1)
    first_choices = np.add.reduceat(table[after_own, :size], case_first_row, axis=0)
    outright = (ks[None, :] > largest_comp[:, None]) & (ks[None, :] <= case_size[:, None])
    rest = samples[case_problem] - case_size
    for column in range(width_n):
        binomial = choose(table, rest[:, None], n_used[case_problem, column][:, None] - ks[None, :])
        result[:, column] += np.bincount(case_problem, weights=(first_choices * binomial * outright).sum(1),
                                         minlength=count)

    # k up to the largest competitor: multiply the competitors' factors in, one row per t
    for k in range(1, int(np.minimum(largest_comp, case_size).max(initial=0)) + 1):
        live = np.nonzero((after_own >= k - 1) & (largest_comp[row_case] >= k))[0]
        if not len(live):
            continue
        competitors = (comp_size[row_case[live]] >= k).sum(1)
        by_count = np.lexsort((row_case[live], -competitors))
        live, competitors = live[by_count], competitors[by_count]
        width = min(int(competitors[0]) * k + 1, size - k + 1)
        state = np.zeros((len(live), width))
        state[:, 0] = table[after_own[live], k - 1]
        used = 1
        for slot in range(int(competitors[0])):
            # rows are sorted by competitor count: those with this slot come first
            active = live[:int(np.count_nonzero(competitors > slot))]
            total = cluster_size[comp_cluster[row_case[active], slot]]
            tie = comp_after[active, slot]
            grown = min(used + k, width)
            old = state[:len(active), :used].copy()
            state[:len(active), :grown] = 0.0
            for j in range(min(k, grown)):
                w = min(used, grown - j)
                state[:len(active), j:j + w] += table[total, j][:, None] * old[:, :w]
            w = min(used, grown - k)
            if w > 0:
                state[:len(active), k:k + w] += table[tie, k][:, None] * old[:, :w]
            used = grown
        case_rows = np.concatenate([[0], np.nonzero(row_case[live][1:] != row_case[live][:-1])[0] + 1])
        case_ids = row_case[live][case_rows]
        reach = comp_size[case_ids]
        unclustered = samples[case_problem[case_ids]] - case_size[case_ids] - np.where(reach >= k, reach, 0).sum(1)
        add(case_ids, np.add.reduceat(state[:, :used], case_rows, axis=0), k, unclustered)

    return np.where(n_used > 0, result / np.maximum(choose(table, samples[:, None], n_used), 1.0), 0.0)


def chunks(problem, budget=CHUNK_SAMPLES):
    """(first problem, last problem + 1, first sample, last sample + 1) of consecutive problems
    holding about `budget` samples each (at least one problem)."""
    if not len(problem):
        return
    bounds = np.concatenate([[0], np.nonzero(problem[1:] != problem[:-1])[0] + 1, [len(problem)]])
    begin = 0
    while begin < len(bounds) - 1:
        end = begin + 1
        while end < len(bounds) - 1 and bounds[end + 1] - bounds[begin] <= budget:
            end += 1
        yield problem[bounds[begin]], problem[bounds[end] - 1] + 1, bounds[begin], bounds[end]
        begin = end


def columns(relation):
    """A query's columns as numpy arrays (through Arrow: no pandas)."""
    table = relation.to_arrow_table()
    return {name: table[name].to_numpy() for name in table.column_names}


def model(dbt, session):
    dbt.config(materialized="table")
    max_samples = int(dbt.config.get("max_samples"))
    if not 1 <= max_samples <= HARD_MAX_SAMPLES:
        raise ValueError(f"var majority_exact_max_samples must be between 1 and {HARD_MAX_SAMPLES} "
                         f"(counts of subsets of more samples overflow a double), got {max_samples}")
    inputs = (f"with samples as ({dbt.ref('int_samples_graded').sql_query()}), "
              f"grid as ({dbt.ref('int_problem_n_grid').sql_query()}), "
              "problems as (select run_id, problem_id, row_number() over (order by run_id, problem_id) - 1 "
              "as problem from grid group by run_id, problem_id "
              f"having max(samples) <= {max_samples}) ")
    names = session.sql(inputs + "select run_id, problem_id from problems order by problem").to_arrow_table()
    data = columns(session.sql(inputs + """
        select problems.problem, coalesce(samples.cluster_no, -1) as cluster, samples.is_correct
        from samples
        inner join problems
            on problems.run_id = samples.run_id and problems.problem_id = samples.problem_id
        order by problems.problem, samples.sample_pos
    """))
    grid = columns(session.sql(inputs + """
        select problems.problem, grid.n, grid.n_used
        from grid
        inner join problems
            on problems.run_id = grid.run_id and problems.problem_id = grid.problem_id
        order by problems.problem, grid.n
    """))

    problem = np.asarray(data["problem"], dtype=np.int64)
    grid_problem = np.asarray(grid["problem"], dtype=np.int64)
    grid_column = np.arange(len(grid_problem)) - np.searchsorted(grid_problem, grid_problem)
    n_used = np.zeros((len(names), int(grid_column.max(initial=-1)) + 1), dtype=np.int64)
    n_used[grid_problem, grid_column] = grid["n_used"]
    accuracy = np.zeros(n_used.shape)
    table = binomial_table(max(int(np.bincount(problem).max(initial=0)), 1))
    cluster = np.asarray(data["cluster"], dtype=np.int64)
    correct = np.asarray(data["is_correct"], dtype=bool)
    for first, last, begin, end in chunks(problem):
        accuracy[first:last] = majority_unbiased(problem[begin:end] - first, cluster[begin:end],
                                                 correct[begin:end], n_used[first:last], table)

    rows = len(grid_problem)
    take = pa.array(grid_problem)
    return pa.table({
        "run_id": names["run_id"].take(take),
        "problem_id": names["problem_id"].take(take),
        "method": pa.array(["majority"] * rows, pa.string()),
        "estimator": pa.array(["unbiased"] * rows, pa.string()),
        "prm_model": pa.nulls(rows, pa.string()),
        "prm_aggregation": pa.nulls(rows, pa.string()),
        "n": pa.array(grid["n"], pa.int64()),
        "accuracy": pa.array(np.clip(np.round(accuracy[grid_problem, grid_column], 12), 0.0, 1.0)),
        "stderr": pa.nulls(rows, pa.float64()),
    })
