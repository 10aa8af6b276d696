-- One row per complete run with its experiment group: the runs that share everything but the
-- seed, i.e. the same dataset, model, approach, strategy, temperature setting, N and PRM.
--   n_samples: the run's N, the samples it draws per problem (runs.n; without it, the most
--     samples any of its problems has). Runs differing only in N are different experiments:
--     their curves at equal n are not seeds of one another.
--   temperature_setting: a text label. Single-temperature runs (no `temperatures` list, or one
--     whose values are all equal): the temperature as DuckDB prints a double, e.g. '0.8'.
--     Mixtures (two or more distinct temperatures): '<strategy>:<t1>/<t2>/...' in list order,
--     e.g. 'hnc:0.4/0.8/1.2/1.6', with '@<r1>/<r2>/...' appended when the ratios are not all
--     equal ('hnc:0.4/0.8@0.25/0.75'). 'unspecified' when the run records no temperature.
--   is_single_temperature / reference_temperature: what problem_difficulty's reference set uses;
--     is_mixture: two or more distinct temperatures (a run with no temperature is no mixture).
-- Any group key may be null (a source without a model name, dataset or approach): such runs
-- form their own group, and every mart keeps them (null-safe joins and grain tests).

with runs as (

    select * from {{ ref('stg_lake__runs') }}
    where status = 'complete'

),

observed as (

    select
        run_id,
        max(samples) as max_samples

    from {{ ref('int_problem_counts') }}
    group by run_id

),

classified as (

    select
        runs.*,
        cast(coalesce(runs.n, observed.max_samples) as bigint) as n_samples,
        runs.temperatures is not null and len(list_distinct(runs.temperatures)) > 1 as is_mixture,
        coalesce(runs.temperature, runs.temperatures[1]) as single_temperature

    from runs
    left join observed
        on observed.run_id = runs.run_id

),

labelled as (

    select
        run_id,
        seed,
        dataset,
        model,
        approach,
        strategy,
        n_samples,
        prm_model,
        is_mixture,
        not is_mixture and single_temperature is not null as is_single_temperature,
        case when not is_mixture then single_temperature end as reference_temperature,
        case
            when is_mixture then
                coalesce(strategy, 'mixture') || ':' || array_to_string(temperatures, '/')
                || case
                    when temperature_ratios is not null and len(list_distinct(temperature_ratios)) > 1
                        then '@' || array_to_string(temperature_ratios, '/')
                    else ''
                end
            when single_temperature is not null then cast(single_temperature as varchar)
            else 'unspecified'
        end as temperature_setting

    from classified

)

select * from labelled
