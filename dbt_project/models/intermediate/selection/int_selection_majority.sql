-- Majority vote per run x problem x n, prefix and stratified estimators: on the subset S (the
-- first n samples; the stratified subset at n), the cluster with the most members wins; ties go
-- to the cluster whose first member has the lowest sample_pos; samples without a cluster (no
-- answer, no verdict) never win; if none of S has one, the result is wrong. The result is the
-- verdict of the winning cluster's first member, as search-and-learn grades the first answer of
-- the majority group (equivalent answers share a cluster, so its members normally agree; the
-- data test on int_samples_graded warns when they do not).
--
-- The vote is the macro subset_vote (a vote of 1 per member) over subset_members.

with samples as (

    select
        run_id,
        problem_id,
        sample_pos,
        cluster_id,
        is_correct

    from {{ ref('int_samples_graded') }}

),

members as (

    {{ subset_members('samples') }}

),

leaders as (

    {{ subset_vote('members', ['run_id', 'problem_id', 'estimator', 'n']) }}

),

final as (

    select
        readouts.run_id,
        readouts.problem_id,
        'majority' as method,
        readouts.estimator,
        cast(null as varchar) as prm_model,
        cast(null as varchar) as prm_aggregation,
        readouts.n,
        cast(case when leaders.leader_correct then 1 else 0 end as double) as accuracy,
        cast(null as double) as stderr

    from {{ ref('int_vote_readouts') }} as readouts
    left join leaders
        on leaders.run_id = readouts.run_id
        and leaders.problem_id = readouts.problem_id
        and leaders.estimator = readouts.estimator
        and leaders.n = readouts.n

)

select * from final
