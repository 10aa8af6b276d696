-- PRM-weighted vote ("weighted") per run x problem x prm_model x prm_aggregation x n, prefix and
-- stratified estimators (the prefix is search-and-learn's find_answer_with_largest_sum over the
-- first n samples): on the subset S, the cluster with the largest sum of member weights wins;
-- ties go to the cluster whose first member has the lowest sample_pos. Samples without a cluster
-- (no answer, no verdict) or without a score under that PRM never win and add nothing; if no
-- sample of S has both, the result is wrong. The result is the verdict of the winning cluster's
-- first (voting) member, as for majority.
--
-- The weights are int_sample_prm_scores.vote_weight: the scores s_i themselves for probability
-- scores (search-and-learn's sum, bit for bit), sigmoid(s_i) for raw scores (prod: the product of
-- the steps' sigmoids), so every weight is a probability and no member lowers its cluster's vote.
--
-- The vote is the macro prm_vote (subset_vote on every subset, votes = weights).

with scores as (

    select
        run_id,
        problem_id,
        prm_model,
        prm_aggregation,
        sample_pos,
        cluster_id,
        is_correct,
        vote_weight as score

    from {{ ref('int_sample_prm_scores') }}

),

voted as (

    {{ prm_vote('scores') }}

),

final as (

    select
        run_id,
        problem_id,
        'weighted' as method,
        estimator,
        prm_model,
        prm_aggregation,
        n,
        accuracy,
        cast(null as double) as stderr

    from voted

)

select * from final
