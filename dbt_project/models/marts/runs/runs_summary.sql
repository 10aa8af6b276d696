-- One row per run, whatever its status: its settings from lake.runs, what it has written so far,
-- grading coverage and headline accuracies. Coverage and accuracies are filled for complete
-- runs only (running and failed runs are left out of every metric).
--   prm_score_kind: what the run's PRM scores are taken as (int_prm_score_kinds): probability or
--     raw when every PRM of the run agrees, mixed when they differ, null without PRM scores.
--   lm-eval runs (approach 'lm_eval', or any lm_eval_samples or docs_claimed claim): docs_claimed =
--     the docs lm-eval says it evaluated, summed over tasks (source_claims '<task>/n-samples',
--     method docs_claimed; null when the source does not say); docs_logged = distinct (task, doc_id)
--     in the run's lm_eval_samples; samples_partial = docs_logged < docs_claimed (the samples files
--     hold fewer docs than the results file counts). All three are null for other runs.

with runs as (

    select * from {{ ref('stg_lake__runs') }}

),

sizes as (

    select * from {{ ref('int_run_sizes') }}

),

coverage as (

    select
        run_id,
        sum(samples) as samples,
        sum(answered) as answered,
        sum(graded) as graded,
        sum(clustered) as clustered

    from {{ ref('int_problem_counts') }}
    group by run_id

),

grids as (

    select distinct
        run_id,
        n_max

    from {{ ref('int_run_n_grid') }}

),

score_kinds as (

    select
        run_id,
        case when count(distinct score_kind) > 1 then 'mixed' else min(score_kind) end as prm_score_kind

    from {{ ref('int_prm_score_kinds') }}
    group by run_id

),

docs_claimed as (

    select
        run_id,
        sum(value) as docs_claimed

    from {{ ref('stg_lake__source_claims') }}
    where method = 'docs_claimed'
      and problem_id is null
    group by run_id

),

docs_logged as (

    select
        run_id,
        count(*) as docs_logged

    from (select distinct run_id, task, doc_id from {{ ref('stg_lake__lm_eval_samples') }})
    group by run_id

),

accuracy as (

    select * from {{ ref('selection_accuracy') }}

),

headline as (

    select
        grids.run_id,
        grids.n_max,
        max(accuracy.accuracy) filter (
            where accuracy.method = 'pass' and accuracy.estimator = 'unbiased' and accuracy.n = 1
        ) as pass_at_1,
        max(accuracy.accuracy) filter (
            where accuracy.method = 'pass' and accuracy.estimator = 'prefix' and accuracy.n = grids.n_max
        ) as pass_at_n,
        max(accuracy.accuracy) filter (
            where accuracy.method = 'majority' and accuracy.estimator = 'prefix' and accuracy.n = grids.n_max
        ) as majority_at_n

    from grids
    inner join accuracy
        on accuracy.run_id = grids.run_id
    group by grids.run_id, grids.n_max

),

final as (

    select
        runs.run_id,
        runs.name,
        runs.source,
        runs.source_format,
        runs.source_uri,
        runs.status,
        runs.error,
        runs.created_at,
        runs.updated_at,
        runs.dataset,
        runs.model,
        runs.approach,
        runs.strategy,
        runs.temperature,
        runs.temperatures,
        runs.temperature_ratios,
        runs.top_p,
        runs.top_k,
        runs.min_p,
        runs.n,
        runs.seed,
        runs.beam_width,
        runs.num_iterations,
        runs.lookahead,
        runs.agg_strategy,
        runs.prm_model,
        runs.decoder,
        runs.decoder_params,
        runs.max_tokens,
        runs.category,
        runs.notes,
        coalesce(sizes.problems, 0) as problems,
        coalesce(sizes.samples, 0) as samples,
        sizes.min_samples_per_problem,
        sizes.max_samples_per_problem,
        cast(coverage.graded as double) / coverage.samples as graded_share,
        1.0 - cast(coverage.answered as double) / coverage.samples as no_answer_share,
        cast(coverage.clustered as double) / coverage.samples as clustered_share,
        headline.n_max,
        headline.pass_at_1,
        headline.pass_at_n,
        headline.majority_at_n,
        cast(score_kinds.prm_score_kind as varchar) as prm_score_kind,
        cast(docs_claimed.docs_claimed as bigint) as docs_claimed,
        cast(case
            when runs.approach = 'lm_eval' or docs_claimed.run_id is not null or docs_logged.run_id is not null
                then coalesce(docs_logged.docs_logged, 0)
        end as bigint) as docs_logged,
        cast(coalesce(docs_logged.docs_logged, 0) < docs_claimed.docs_claimed as boolean) as samples_partial

    from runs
    left join sizes
        on sizes.run_id = runs.run_id
    left join coverage
        on coverage.run_id = runs.run_id
    left join headline
        on headline.run_id = runs.run_id
    left join score_kinds
        on score_kinds.run_id = runs.run_id
    left join docs_claimed
        on docs_claimed.run_id = runs.run_id
    left join docs_logged
        on docs_logged.run_id = runs.run_id

)

select * from final
