-- The estimates that the prefix and stratified estimators make: one row per run x problem x
-- estimator x n, with n_used (the samples an estimate at n sees: min(n, N)).
--   prefix:     every run; the subset is the first n_used samples.
--   stratified: runs of int_run_strata; the subset is int_stratified_subsets at n (possibly empty:
--               the result is then wrong).
-- Votes (subset_members, subset_vote) give a row only where a subset has voters; every rule
-- reads its results through this table, so that estimates without voters count as wrong.
-- A table: every selection model reads it.

{{ config(materialized='table') }}

with problem_grid as (

    select * from {{ ref('int_problem_n_grid') }}

),

stratified_runs as (

    select distinct run_id from {{ ref('int_run_strata') }}

),

prefix as (

    select
        run_id,
        problem_id,
        'prefix' as estimator,
        n,
        n_used

    from problem_grid

),

stratified as (

    select
        problem_grid.run_id,
        problem_grid.problem_id,
        'stratified' as estimator,
        problem_grid.n,
        problem_grid.n_used

    from problem_grid
    inner join stratified_runs
        on stratified_runs.run_id = problem_grid.run_id

),

final as (

    select * from prefix
    union all
    select * from stratified

)

select * from final
