-- The stratified estimator's subsets: one row per sample in the subset S(n) of each run x problem
-- x n of the grid, for the runs of int_run_strata. S(n) keeps the run's temperature ratios: of
-- each stratum t, its first (lowest sample_pos) round(share_through * n) - round(share_before * n)
-- samples, n being n_used (all of a problem's samples when it has fewer than n).
-- A sample's stratum is the first whose temperature it matches (within 1e-6: float32 storage);
-- a sample matching none is in no subset; a stratum with fewer samples than its quota
-- contributes all it has.
--
-- Cumulative rounding is not nested in general (ratios 0.3/0.3/0.4: n = 1 keeps one sample of the
-- second temperature, n = 2 one each of the first and third), so no single ordering of the samples
-- has every S(n) as a prefix: each subset is voted on as a set of its own (subset_members).
-- A table: every selection model reads it.

{{ config(materialized='table') }}

with samples as (

    select
        run_id,
        problem_id,
        sample_pos,
        temperature

    from {{ ref('int_samples_graded') }}

),

strata as (

    select * from {{ ref('int_run_strata') }}

),

matched as (

    -- up to float32 rounding of a stored temperature; a temperature listed twice counts once
    select
        samples.run_id,
        samples.problem_id,
        samples.sample_pos,
        strata.stratum,
        strata.share_before,
        strata.share_through

    from samples
    inner join strata
        on strata.run_id = samples.run_id
        and abs(strata.temperature - samples.temperature) <= 1e-6
    qualify row_number() over (
        partition by samples.run_id, samples.problem_id, samples.sample_pos
        order by strata.stratum
    ) = 1

),

ranked as (

    select
        *,
        row_number() over (
            partition by run_id, problem_id, stratum
            order by sample_pos
        ) - 1 as stratum_rank

    from matched

),

problem_grid as (

    select * from {{ ref('int_problem_n_grid') }}

),

final as (

    select
        ranked.run_id,
        ranked.problem_id,
        problem_grid.n,
        ranked.sample_pos

    from ranked
    inner join problem_grid
        on problem_grid.run_id = ranked.run_id
        and problem_grid.problem_id = ranked.problem_id
    where ranked.stratum_rank < round_even(ranked.share_through * problem_grid.n_used, 0)
        - round_even(ranked.share_before * problem_grid.n_used, 0)

)

select * from final
