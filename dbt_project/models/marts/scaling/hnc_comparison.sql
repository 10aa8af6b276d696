-- tts_analysis `hnc_comparison`: HNC (strategy 'hnc', mixed temperatures) against the default
-- strategy at equal N. Every HNC experiment group is paired with every default group of the
-- same dataset, model, approach, N (n_samples) and PRM, row by row on method, estimator,
-- prm_aggregation and n (equal estimators only: HNC's stratified curves have no default
-- counterpart and are not listed). delta = hnc_mean - default_mean. Unknown (null) keys pair with
-- unknown keys.

with curves as (

    select * from {{ ref('scaling_curves') }}

),

hnc as (

    select * from curves
    where strategy = 'hnc'

),

default_strategy as (

    select * from curves
    where strategy = 'default'

),

final as (

    select
        hnc.dataset,
        hnc.model,
        hnc.approach,
        hnc.n_samples,
        hnc.prm_model,
        hnc.method,
        hnc.estimator,
        hnc.prm_aggregation,
        hnc.n,
        hnc.temperature_setting as hnc_temperature_setting,
        hnc.mean as hnc_mean,
        hnc.std as hnc_std,
        hnc.std_pop as hnc_std_pop,
        hnc.seeds as hnc_seeds,
        default_strategy.temperature_setting as default_temperature_setting,
        default_strategy.mean as default_mean,
        default_strategy.std as default_std,
        default_strategy.std_pop as default_std_pop,
        default_strategy.seeds as default_seeds,
        cast(round(hnc.mean - default_strategy.mean, 12) as double) as delta

    from hnc
    inner join default_strategy
        on default_strategy.dataset is not distinct from hnc.dataset
        and default_strategy.model is not distinct from hnc.model
        and default_strategy.approach is not distinct from hnc.approach
        and default_strategy.n_samples is not distinct from hnc.n_samples
        and default_strategy.prm_model is not distinct from hnc.prm_model
        and default_strategy.method = hnc.method
        and default_strategy.estimator = hnc.estimator
        and default_strategy.prm_aggregation is not distinct from hnc.prm_aggregation
        and default_strategy.n = hnc.n

)

select * from final
-- stored in grain order: exports (and rebuilds) come out in the same row order
order by dataset, model, approach, n_samples, prm_model, method, estimator, prm_aggregation, n, hnc_temperature_setting,
    default_temperature_setting
