-- One row per run x prm_model x token_threshold x aggregation: how well the PRM's score of a
-- partial solution predicts the final correctness of the full completion, over all the run's
-- scored samples (DESIGN §6, PRM reliability).
--   pearson_r:  Pearson r of (score, is_correct as 0/1), the point-biserial correlation; null
--               when either side has zero variance (one pair, constant scores, or all samples
--               correct or all wrong).
--   ci_low/high: 95% Fisher-z interval of r, tanh(atanh(r) -/+ 1.959964 / sqrt(pairs - 3)); null
--               with 3 pairs or fewer or |r| = 1. It treats samples as independent; samples of
--               one problem are not, so it is narrower than the truth.
--   auroc:      probability that a correct sample outscores a wrong one, ties counting 1/2
--               (Mann-Whitney U / (positives x negatives)); null without both kinds.
--   score_kind: what the PRM's scores are (int_prm_score_kinds): probability, or raw (logits,
--               rewards: mean_score_* are then on that scale; r and AUROC hold for any scale).
-- Every number is rounded to 12 decimals: results reproduce bit for bit across platforms.

-- materialized: both the correlation and the AUROC read it (computing the view once halves the time)
with scores as materialized (

    select * from {{ ref('int_prm_partial_scores') }}

),

correlated as (

    select
        run_id,
        prm_model,
        token_threshold,
        aggregation,
        count(*) as pairs,
        count(*) filter (where is_correct) as positives,
        case
            when min(score) < max(score) and bool_or(is_correct) and not bool_and(is_correct)
                then corr(score, cast(is_correct as double))
        end as pearson_r,
        avg(score) filter (where is_correct) as mean_score_correct,
        avg(score) filter (where not is_correct) as mean_score_wrong

    from scores
    group by run_id, prm_model, token_threshold, aggregation

),

-- AUROC from the distinct score levels: each correct sample at a level beats the wrong samples
-- below it and ties with the wrong samples at it.
levels as (

    select
        run_id,
        prm_model,
        token_threshold,
        aggregation,
        score,
        count(*) filter (where is_correct) as correct_here,
        count(*) filter (where not is_correct) as wrong_here

    from scores
    group by run_id, prm_model, token_threshold, aggregation, score

),

levels_cumulated as (

    select
        *,
        coalesce(sum(wrong_here) over (
            partition by run_id, prm_model, token_threshold, aggregation
            order by score
            rows between unbounded preceding and 1 preceding
        ), 0) as wrong_below

    from levels

),

auroc as (

    select
        run_id,
        prm_model,
        token_threshold,
        aggregation,
        case when sum(correct_here) > 0 and sum(wrong_here) > 0
            then sum(correct_here * (wrong_below + 0.5 * wrong_here))
                / (sum(correct_here) * sum(wrong_here))
        end as auroc

    from levels_cumulated
    group by run_id, prm_model, token_threshold, aggregation

),

-- Fisher's z of r and the half width of its 95% interval; z is null where the interval is undefined.
with_interval as (

    select
        *,
        case when pairs > 3 and abs(round(pearson_r, 12)) < 1 then atanh(pearson_r) end as z,
        1.959963984540054 / sqrt(greatest(pairs - 3, 1)) as half_width

    from correlated

),

claims as (

    select * from {{ ref('int_prm_correlation_claims') }}

),

kinds as (

    select run_id, prm_model, score_kind
    from {{ ref('int_prm_score_kinds') }}

),

final as (

    select
        correlated.run_id,
        correlated.prm_model,
        correlated.token_threshold,
        correlated.aggregation,
        correlated.pairs,
        correlated.positives,
        round(correlated.pearson_r, 12) as pearson_r,
        round(tanh(correlated.z - correlated.half_width), 12) as ci_low,
        round(tanh(correlated.z + correlated.half_width), 12) as ci_high,
        round(auroc.auroc, 12) as auroc,
        round(correlated.mean_score_correct, 12) as mean_score_correct,
        round(correlated.mean_score_wrong, 12) as mean_score_wrong,
        claims.claimed_pearson_r,
        claims.claim_run_id,
        kinds.score_kind

    from with_interval as correlated
    inner join auroc
        on auroc.run_id = correlated.run_id
        and auroc.prm_model = correlated.prm_model
        and auroc.token_threshold is not distinct from correlated.token_threshold
        and auroc.aggregation = correlated.aggregation
    left join claims
        on claims.run_id = correlated.run_id
        and claims.prm_model = correlated.prm_model
        and claims.token_threshold = correlated.token_threshold
        and claims.aggregation = correlated.aggregation
    left join kinds
        on kinds.run_id = correlated.run_id
        and kinds.prm_model = correlated.prm_model

)

select * from final
