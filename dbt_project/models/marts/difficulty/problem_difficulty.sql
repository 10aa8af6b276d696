-- Problem difficulty per difficulty scope (the model): one row per model x problem.
--   reference set: every sample of the model's complete single-temperature runs at its lowest
--     such temperature (var('difficulty_reference_temperature') picks another temperature
--     instead; runs of mixed temperatures never count). All seeds at that temperature pool.
--     A model none of whose runs records a temperature uses those runs (reference_temperature
--     null), so a source without decoding settings still gets difficulties; a model with only
--     mixtures has no rows. Runs without a model name form one scope, model null.
--   solve_rate: mean correctness over the reference samples of the problem (int_samples_graded:
--     no answer or no verdict = wrong), rounded to 12 decimals.
--   stratum: easy when solve_rate >= var('difficulty_easy') (0.7), medium when
--     >= var('difficulty_hard') (0.3), else hard.
--   level: 1..5, solve-rate quintiles, 1 easiest (search-and-learn's compute_level): rank the
--     model's problems of a dataset by solve rate, highest first, and cut the ranking into five
--     equal-count bins, level = 1 + floor(5 * (rank - 1) / problems). Tie rule: tied problems
--     share the rank of the first of them (SQL rank()), so a tie is never split across levels;
--     it sits in the level of its first position and the levels after it may hold fewer problems.
--   math_level, subject: the dataset's own labels (MATH's level 1..5), kept apart.

with runs as (

    select * from {{ ref('int_runs_grouped') }}

),

reference_runs as (

    select
        run_id,
        model,
        reference_temperature

    from runs
    where not is_mixture
    {%- if var('difficulty_reference_temperature') is not none %}
        and reference_temperature = {{ var('difficulty_reference_temperature') }}
    {%- else %}
    -- min skips nulls: runs without a temperature count only where the model has no other
    qualify reference_temperature is not distinct from min(reference_temperature) over (partition by model)
    {%- endif %}

),

samples as (

    select * from {{ ref('int_samples_graded') }}

),

solve_rates as (

    select
        reference_runs.model,
        samples.problem_id,
        min(reference_runs.reference_temperature) as reference_temperature,
        count(distinct samples.run_id) as reference_runs,
        count(*) as reference_samples,
        round(avg(case when samples.is_correct then 1.0 else 0.0 end), 12) as solve_rate

    from samples
    inner join reference_runs
        on reference_runs.run_id = samples.run_id
    group by reference_runs.model, samples.problem_id

),

problems as (

    select * from {{ ref('stg_lake__problems') }}

),

ranked as (

    select
        solve_rates.*,
        problems.dataset,
        problems.level as math_level,
        problems.subject,
        rank() over scope as solve_rank,
        count(*) over (partition by solve_rates.model, problems.dataset) as scope_problems

    from solve_rates
    left join problems
        on problems.problem_id = solve_rates.problem_id
    window scope as (
        partition by solve_rates.model, problems.dataset
        order by solve_rates.solve_rate desc
    )

),

final as (

    select
        cast(model as varchar) as model,
        cast(dataset as varchar) as dataset,
        cast(problem_id as varchar) as problem_id,
        cast(solve_rate as double) as solve_rate,
        cast(case
            when solve_rate >= {{ var('difficulty_easy') }} then 'easy'
            when solve_rate >= {{ var('difficulty_hard') }} then 'medium'
            else 'hard'
        end as varchar) as stratum,
        cast(1 + floor(5 * (solve_rank - 1) / scope_problems) as bigint) as level,
        cast(math_level as bigint) as math_level,
        cast(subject as varchar) as subject,
        cast(reference_temperature as double) as reference_temperature,
        cast(reference_runs as bigint) as reference_runs,
        cast(reference_samples as bigint) as reference_samples

    from ranked

)

select * from final
-- stored in grain order: exports (and rebuilds) come out in the same row order
order by model, dataset, problem_id
