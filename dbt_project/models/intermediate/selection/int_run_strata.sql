-- One row per temperature stratum of every complete run whose samples mix temperatures (strategy
-- 'hnc', or more than one distinct sample temperature): the runs that get the stratified estimator.
--   stratum:       1-based position of the temperature in the run's `temperatures` list, else
--                  among its distinct sample temperatures in ascending order.
--   share_before / share_through: the cumulative shares of the strata before it and through it,
--                  from `temperature_ratios` (equal shares 1/k without them, or when their length
--                  differs), added left to right and divided by their sum, like the HNC block rule
--                  of generation/mixtures.py (and of ingest/readers/search_and_learn/temperatures.py,
--                  whose ratios add up to 1).
-- The stratified subset at n keeps, of stratum t, its first
-- round(share_through * n) - round(share_before * n) samples: the rule's cumulative rounding
-- (half to even, as Python's round), so the quotas always add up to n.

with runs as (

    select * from {{ ref('stg_lake__runs') }}
    where status = 'complete'

),

sample_temperatures as (

    select
        run_id,
        list_sort(list(distinct temperature)) as observed

    from {{ ref('int_samples_graded') }}
    where temperature is not null
    group by run_id

),

mixed as (

    select
        runs.run_id,
        case when len(runs.temperatures) > 0 then runs.temperatures else sample_temperatures.observed end
            as temperatures,
        runs.temperature_ratios

    from runs
    inner join sample_temperatures
        on sample_temperatures.run_id = runs.run_id
    where runs.strategy = 'hnc'
       or len(sample_temperatures.observed) > 1

),

shares as (

    select
        run_id,
        temperatures,
        case
            when len(temperature_ratios) = len(temperatures) then temperature_ratios
            else list_transform(temperatures, lambda t: cast(1 as double) / len(temperatures))
        end as shares

    from mixed

),

strata as (

    select
        run_id,
        temperatures,
        shares,
        unnest(range(1, len(temperatures) + 1)) as stratum

    from shares

),

final as (

    select
        run_id,
        cast(stratum as bigint) as stratum,
        temperatures[stratum] as temperature,
        case when stratum = 1 then cast(0 as double)
            else list_reduce(shares[1:stratum - 1], lambda total, share: total + share)
                / list_reduce(shares, lambda total, share: total + share) end as share_before,
        list_reduce(shares[1:stratum], lambda total, share: total + share)
            / list_reduce(shares, lambda total, share: total + share) as share_through

    from strata

)

select * from final
