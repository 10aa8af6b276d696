-- Accuracy by difficulty: one row per experiment group (int_runs_grouped, N included; temperature_setting
-- is a column, so difficulty x temperature is a filter away) x stratum x method x estimator x
-- prm_aggregation x n.
--   per run: the mean of selection_accuracy_by_problem over the run's problems in the stratum,
--     strata from problem_difficulty of the run's model (problems without a difficulty, e.g. a
--     model with only mixed-temperature runs, are left out; runs without a model name take the
--     strata of problem_difficulty's model-null scope).
--   accuracy: the mean of those run accuracies over the group's seeds; std: their sample
--     standard deviation (null with one seed); seeds: runs averaged; problems: distinct problems
--     of the stratum in the group's runs. prm_model as in scaling_curves. Rounded to 12 decimals.

with by_problem as (

    select * from {{ ref('selection_accuracy_by_problem') }}

),

runs as (

    select * from {{ ref('int_runs_grouped') }}

),

difficulty as (

    select * from {{ ref('problem_difficulty') }}

),

joined as (

    select
        runs.dataset,
        runs.model,
        runs.approach,
        runs.strategy,
        runs.temperature_setting,
        runs.n_samples,
        coalesce(by_problem.prm_model, runs.prm_model) as prm_model,
        difficulty.stratum,
        by_problem.method,
        by_problem.estimator,
        by_problem.prm_aggregation,
        by_problem.n,
        by_problem.run_id,
        by_problem.problem_id,
        by_problem.accuracy

    from by_problem
    inner join runs
        on runs.run_id = by_problem.run_id
    inner join difficulty
        on difficulty.model is not distinct from runs.model
        and difficulty.problem_id = by_problem.problem_id

),

per_run as (

    select
        dataset, model, approach, strategy, temperature_setting, n_samples, prm_model, stratum,
        method, estimator, prm_aggregation, n, run_id,
        avg(accuracy) as accuracy

    from joined
    group by all

),

per_group as (

    select
        dataset, model, approach, strategy, temperature_setting, n_samples, prm_model, stratum,
        method, estimator, prm_aggregation, n,
        avg(accuracy) as accuracy,
        stddev_samp(accuracy) as std,
        count(*) as seeds

    from per_run
    group by all

),

problem_counts as (

    select
        dataset, model, approach, strategy, temperature_setting, n_samples, prm_model, stratum,
        method, estimator, prm_aggregation, n,
        count(distinct problem_id) as problems

    from joined
    group by all

),

final as (

    select
        cast(per_group.dataset as varchar) as dataset,
        cast(per_group.model as varchar) as model,
        cast(per_group.approach as varchar) as approach,
        cast(per_group.strategy as varchar) as strategy,
        cast(per_group.temperature_setting as varchar) as temperature_setting,
        cast(per_group.n_samples as bigint) as n_samples,
        cast(per_group.prm_model as varchar) as prm_model,
        cast(per_group.stratum as varchar) as stratum,
        cast(per_group.method as varchar) as method,
        cast(per_group.estimator as varchar) as estimator,
        cast(per_group.prm_aggregation as varchar) as prm_aggregation,
        cast(per_group.n as bigint) as n,
        cast(round(per_group.accuracy, 12) as double) as accuracy,
        cast(round(per_group.std, 12) as double) as std,
        cast(per_group.seeds as bigint) as seeds,
        cast(problem_counts.problems as bigint) as problems

    from per_group
    inner join problem_counts
        on problem_counts.dataset is not distinct from per_group.dataset
        and problem_counts.model is not distinct from per_group.model
        and problem_counts.approach is not distinct from per_group.approach
        and problem_counts.strategy is not distinct from per_group.strategy
        and problem_counts.temperature_setting = per_group.temperature_setting
        and problem_counts.n_samples is not distinct from per_group.n_samples
        and problem_counts.prm_model is not distinct from per_group.prm_model
        and problem_counts.stratum = per_group.stratum
        and problem_counts.method = per_group.method
        and problem_counts.estimator = per_group.estimator
        and problem_counts.prm_aggregation is not distinct from per_group.prm_aggregation
        and problem_counts.n = per_group.n

)

select * from final
-- stored in grain order: exports (and rebuilds) come out in the same row order
order by dataset, model, approach, strategy, temperature_setting, n_samples, prm_model, stratum, method, estimator,
    prm_aggregation, n
