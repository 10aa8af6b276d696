-- One row per run x problem x sample of complete runs, with its correctness and answer cluster.
--   sample_pos: 0-based position in sample_idx order (the "first n samples" are sample_pos < n,
--               even when a run's sample_idx has gaps).
--   has_answer: an answer with a non-empty answer_key was extracted.
--   is_graded:  the answer has a verdict under var('grader').
--   is_correct: the verdict says correct; no answer, no verdict or a null verdict counts as wrong.
--   cluster_id: the answer's cluster for this problem; null without an answer or a verdict (such a
--               sample never wins a vote), and null when the answer was not clustered.
--   cluster_no: the cluster as a number 0, 1, ... within the problem (in cluster_id order).
-- A table, not a view: every selection model and several tests read it, and recomputing its
-- joins and window over 10M completions for each of them costs minutes.

{{ config(materialized='table') }}

with complete_runs as (

    select run_id from {{ ref('stg_lake__runs') }}
    where status = 'complete'

),

completions as (

    select
        completions.run_id,
        completions.problem_id,
        completions.sample_idx,
        -- numbered here, before the joins widen the rows (sorting narrow rows is much cheaper)
        row_number() over (
            partition by completions.run_id, completions.problem_id
            order by completions.sample_idx
        ) - 1 as sample_pos,
        completions.temperature,
        completions.num_tokens,
        completions.finish_reason

    from {{ ref('stg_lake__completions') }} as completions
    inner join complete_runs
        on complete_runs.run_id = completions.run_id

),

answers as (

    select
        run_id,
        problem_id,
        sample_idx,
        nullif(answer_key, '') as answer_key,
        gold_key

    from {{ ref('stg_lake__answers') }}

),

verdicts as (

    select * from {{ ref('int_verdicts_selected') }}

),

clusters as (

    select
        *,
        dense_rank() over (partition by problem_id order by cluster_id) - 1 as cluster_no

    from {{ ref('int_answer_clusters_selected') }}

),

graded as (

    select
        completions.run_id,
        completions.problem_id,
        completions.sample_idx,
        completions.sample_pos,
        completions.temperature,
        completions.num_tokens,
        completions.finish_reason,
        answers.answer_key,
        answers.gold_key,
        answers.answer_key is not null as has_answer,
        verdicts.answer_key is not null as is_graded,
        coalesce(verdicts.is_correct, false) as is_correct,
        verdicts.verdict_status,
        verdicts.grader_version,
        case when verdicts.answer_key is not null then clusters.cluster_id end as cluster_id,
        case when verdicts.answer_key is not null then clusters.cluster_no end as cluster_no

    from completions
    left join answers
        on answers.run_id = completions.run_id
        and answers.problem_id = completions.problem_id
        and answers.sample_idx = completions.sample_idx
    left join verdicts
        on verdicts.gold_key = answers.gold_key
        and verdicts.answer_key = answers.answer_key
    left join clusters
        on clusters.problem_id = completions.problem_id
        and clusters.answer_key = answers.answer_key

)

select * from graded
