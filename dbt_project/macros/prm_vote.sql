{#-
  The PRM-scored vote of naive (clusters=false: each sample its own cluster) and weighted
  (clusters=true) on every prefix and stratified subset (subset_members, subset_vote with
  votes = scores), for every PRM x aggregation of each problem. Columns: run_id, problem_id,
  prm_model, prm_aggregation, estimator, n, accuracy (1.0 when the winner is correct; 0.0 when it
  is wrong or nothing voted).
-#}
{% macro prm_vote(scores, clusters=true) %}
    with members as (

        {{ subset_members(scores) }}

    ),

    leaders as (

        {{ subset_vote('members', ['run_id', 'problem_id', 'prm_model', 'prm_aggregation', 'estimator', 'n'],
                       'score', clusters=clusters) }}

    ),

    scorings as (

        -- every PRM x aggregation of each problem (each scores row set covers all samples)
        select run_id, problem_id, prm_model, prm_aggregation
        from {{ scores }}
        where sample_pos = 0

    )

    select
        readouts.run_id,
        readouts.problem_id,
        scorings.prm_model,
        scorings.prm_aggregation,
        readouts.estimator,
        readouts.n,
        cast(case when leaders.leader_correct then 1 else 0 end as double) as accuracy

    from {{ ref('int_vote_readouts') }} as readouts
    inner join scorings
        on scorings.run_id = readouts.run_id
        and scorings.problem_id = readouts.problem_id
    left join leaders
        on leaders.run_id = readouts.run_id
        and leaders.problem_id = readouts.problem_id
        and leaders.prm_model = scorings.prm_model
        and leaders.prm_aggregation = scorings.prm_aggregation
        and leaders.estimator = readouts.estimator
        and leaders.n = readouts.n
{% endmacro %}
