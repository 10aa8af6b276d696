-- One row per sample of complete runs x prm_model x aggregation: the sample's PRM score s_i.
--   prm_model:       every PRM that scored any sample of the run (kind = 'step', whole completion,
--                    i.e. token_threshold null); each of the run's samples gets a row for each.
--   score_kind:      what the PRM's scores are taken as (int_prm_score_kinds): probability or raw.
--   prm_aggregation: how the step scores become one number (search-and-learn's aggregate_scores):
--                    last = the score of the highest step_idx, min, prod = product, mean.
--                    Raw scores (any real number): last, min and mean as for probabilities; prod
--                    is the product of the steps' sigmoids (a product of real numbers of either
--                    sign orders nothing), i.e. the probability that every step is right.
--   score:           the aggregated score, what naive ranks by; null when the PRM did not score
--                    the sample: such a sample never wins (naive and weighted skip it; unbiased
--                    estimators rank it last).
--   vote_weight:     what the weighted vote adds up, the score read as a probability: the score
--                    itself for probabilities (search-and-learn's sum) and for raw prod, which is
--                    one already; sigmoid(score) for raw last, min and mean (a sum of raw scores
--                    would let a negative member lower its cluster's vote).
-- Null step scores are skipped by every aggregation. For probabilities every number here is
-- exactly what search-and-learn computes, except that prod and mean may differ from Python's
-- math.prod / np.mean in the last bit (summation order).
-- A table: four selection models read it.

{{ config(materialized='table') }}

with samples as (

    select
        run_id,
        problem_id,
        sample_idx,
        sample_pos,
        cluster_id,
        is_correct

    from {{ ref('int_samples_graded') }}

),

steps as (

    select
        run_id,
        problem_id,
        sample_idx,
        prm_model,
        step_idx,
        score

    from {{ ref('stg_lake__prm_scores') }}
    where kind = 'step'
      and token_threshold is null
      and score is not null

),

aggregated as (

    select
        run_id,
        problem_id,
        sample_idx,
        prm_model,
        arg_max(score, step_idx) as score_last,
        min(score) as score_min,
        product(score) as score_prod,
        product({{ sigmoid('score') }}) as score_prod_sigmoid,
        avg(score) as score_mean

    from steps
    group by run_id, problem_id, sample_idx, prm_model

),

run_prms as (

    select
        prms.run_id,
        prms.prm_model,
        kinds.score_kind

    from (select distinct run_id, prm_model from steps) as prms
    left join {{ ref('int_prm_score_kinds') }} as kinds
        on kinds.run_id = prms.run_id
        and kinds.prm_model = prms.prm_model

),

aggregations as (

    select prm_aggregation
    from (values ('last'), ('min'), ('prod'), ('mean')) as aggregations(prm_aggregation)

),

scored as (

    select
        samples.run_id,
        samples.problem_id,
        samples.sample_idx,
        samples.sample_pos,
        samples.cluster_id,
        samples.is_correct,
        run_prms.prm_model,
        run_prms.score_kind,
        aggregations.prm_aggregation,
        cast(case aggregations.prm_aggregation
            when 'last' then aggregated.score_last
            when 'min' then aggregated.score_min
            when 'prod' then
                case when run_prms.score_kind = 'raw' then aggregated.score_prod_sigmoid else aggregated.score_prod end
            when 'mean' then aggregated.score_mean
        end as double) as score

    from samples
    inner join run_prms
        on run_prms.run_id = samples.run_id
    cross join aggregations
    left join aggregated
        on aggregated.run_id = samples.run_id
        and aggregated.problem_id = samples.problem_id
        and aggregated.sample_idx = samples.sample_idx
        and aggregated.prm_model = run_prms.prm_model

),

final as (

    select
        *,
        cast(case
            when score_kind = 'raw' and prm_aggregation <> 'prod' then {{ sigmoid('score') }}
            else score
        end as double) as vote_weight

    from scored

)

select * from final
