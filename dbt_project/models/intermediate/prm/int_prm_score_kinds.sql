-- One row per run x prm_model with PRM scores (any kind, any token threshold, any run status):
-- what the PRM's scores are taken as. Reward models (ORMs) and many PRMs emit logits or other
-- real numbers, not probabilities, so the selection rules need to know which they are.
--   score_kind:        the kind the writer gave (prm_scores.score_kind) when any row gives one
--                      ('raw' when rows disagree: the raw rules are defined for every real
--                      number); otherwise inferred: 'probability' when every score lies in
--                      [0, 1], else 'raw' (a value outside [0, 1] is not a probability).
--   score_kind_source: 'given' or 'inferred'.
--   scores, min_score, max_score: over the PRM's non-null scores in the run.

with scores as (

    select
        run_id,
        prm_model,
        score,
        score_kind

    from {{ ref('stg_lake__prm_scores') }}

),

summarized as (

    select
        run_id,
        prm_model,
        bool_or(score_kind = 'raw') as any_given_raw,
        bool_or(score_kind is not null) as any_given,
        -- NaN is not between 0 and 1, so it makes the scores raw (and fails the finite test)
        coalesce(bool_and(score between 0 and 1) filter (where score is not null), true) as all_in_unit_interval,
        count(score) as scores,
        min(score) as min_score,
        max(score) as max_score

    from scores
    group by run_id, prm_model

),

final as (

    select
        run_id,
        prm_model,
        cast(case
            when any_given_raw then 'raw'
            when any_given then 'probability'
            when all_in_unit_interval then 'probability'
            else 'raw'
        end as varchar) as score_kind,
        cast(case when any_given then 'given' else 'inferred' end as varchar) as score_kind_source,
        cast(scores as bigint) as scores,
        cast(min_score as double) as min_score,
        cast(max_score as double) as max_score

    from summarized

)

select * from final
