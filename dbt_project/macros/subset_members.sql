{#-
  The members of every subset that the prefix and stratified estimators vote on, read by
  subset_vote. `voters` holds one row per sample (run_id, problem_id, sample_pos and whatever the
  rule needs); each row comes back once per estimate of int_vote_readouts whose subset holds it,
  with that estimate's estimator and n:
    prefix:     the samples with sample_pos < n_used (the first n);
    stratified: the samples of int_stratified_subsets at n.
  About 2N rows per problem for the prefix over the powers-of-two grid: a hash join and a hash
  aggregate, far cheaper than sorting every ordering for a running vote.
-#}
{% macro subset_members(voters) %}
    select
        readouts.estimator,
        readouts.n,
        voters.*

    from {{ voters }} as voters
    inner join {{ ref('int_vote_readouts') }} as readouts
        on readouts.run_id = voters.run_id
        and readouts.problem_id = voters.problem_id
        and readouts.estimator = 'prefix'
        and voters.sample_pos < readouts.n_used

    union all

    select
        'stratified' as estimator,
        subsets.n,
        voters.*

    from {{ voters }} as voters
    inner join {{ ref('int_stratified_subsets') }} as subsets
        on subsets.run_id = voters.run_id
        and subsets.problem_id = voters.problem_id
        and subsets.sample_pos = voters.sample_pos
{% endmacro %}
