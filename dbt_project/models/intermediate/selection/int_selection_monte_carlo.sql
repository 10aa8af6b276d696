-- Unbiased estimator by Monte Carlo, per run x problem x method x prm_model x prm_aggregation x n:
-- the expected accuracy over uniform size-n subsets of the N samples, estimated from random
-- permutations per problem. Two rules use it:
--   weighted: every PRM x aggregation of every problem, var('mc_draws') draws (0 by default: off),
--             votes = int_sample_prm_scores.vote_weight as in int_selection_weighted;
--   majority: problems with more samples than var('majority_exact_max_samples'), which the exact
--             model (int_selection_majority_unbiased) leaves out; votes of 1;
--             var('majority_mc_draws') draws (200 by default).
-- The first n of a uniform permutation are a uniform size-n subset, so one permutation serves
-- every n; draw d is the same permutation for every rule, PRM and aggregation of the problem
-- (a rule with fewer draws uses the first ones), seeded by
-- var('mc_seed') through DuckDB's hash, so a build is reproducible. DuckDB's hash of one string
-- is well mixed; its multi-argument form is not (it skews which samples come first), hence the
-- concatenation. At n, a draw's subset is its first n_used samples, voted on by subset_vote, whose
-- tie rule still looks at sample_pos (not the permutation). accuracy = the share of draws whose
-- winner is correct (a draw without voters is wrong); stderr = its standard error,
-- stddev_samp / sqrt(draws) (0 at n = N, where every draw holds all samples, and for one draw).
-- Cost: about 2 x samples x draws rows per PRM x aggregation, hence weighted is off by default:
-- `ttsw build --vars '{mc_draws: 200}'`. Only the problems some rule estimates are permuted.

{%- set weighted_draws = var('mc_draws') %}
{%- set majority_draws = var('majority_mc_draws') %}
{%- set seed = var('mc_seed') %}

with voters as (

    select
        run_id,
        problem_id,
        'weighted' as method,
        prm_model,
        prm_aggregation,
        sample_pos,
        cluster_id,
        is_correct,
        vote_weight as score,
        {{ weighted_draws }} as draws

    from {{ ref('int_sample_prm_scores') }}
    where {{ weighted_draws }} > 0

    union all

    select
        samples.run_id,
        samples.problem_id,
        'majority' as method,
        cast(null as varchar) as prm_model,
        cast(null as varchar) as prm_aggregation,
        samples.sample_pos,
        samples.cluster_id,
        samples.is_correct,
        1.0 as score,
        {{ majority_draws }} as draws

    from {{ ref('int_samples_graded') }} as samples
    inner join {{ ref('int_problem_counts') }} as counts
        on counts.run_id = samples.run_id
        and counts.problem_id = samples.problem_id
    where counts.samples > {{ var('majority_exact_max_samples') }}
        and {{ majority_draws }} > 0

),

-- the samples of the problems some rule estimates, with the most draws any rule wants of them
permutable as (

    select
        run_id,
        problem_id,
        sample_pos,
        max(draws) as draws

    from voters
    group by run_id, problem_id, sample_pos

),

permuted as (

    select
        run_id,
        problem_id,
        sample_pos,
        draw,
        row_number() over (
            partition by run_id, problem_id, draw
            order by hash(concat_ws('|', {{ seed }}, run_id, problem_id, draw, sample_pos)), sample_pos
        ) - 1 as draw_pos

    from (select *, unnest(range(draws)) as draw from permutable)

),

problem_grid as (

    select * from {{ ref('int_problem_n_grid') }}

),

members as (

    select
        voters.*,
        permuted.draw,
        problem_grid.n

    from voters
    inner join permuted
        on permuted.run_id = voters.run_id
        and permuted.problem_id = voters.problem_id
        and permuted.sample_pos = voters.sample_pos
        and permuted.draw < voters.draws
    inner join problem_grid
        on problem_grid.run_id = voters.run_id
        and problem_grid.problem_id = voters.problem_id
        and permuted.draw_pos < problem_grid.n_used

),

leaders as (

    {{ subset_vote('members', ['run_id', 'problem_id', 'method', 'prm_model', 'prm_aggregation', 'draw', 'n'],
                   'score') }}

),

wins as (

    select
        run_id,
        problem_id,
        method,
        prm_model,
        prm_aggregation,
        n,
        count(*) filter (where leader_correct) as wins

    from leaders
    group by all

),

estimates as (

    -- every rule x PRM x aggregation of each problem, at every n of its grid
    select
        problem_grid.run_id,
        problem_grid.problem_id,
        scorings.method,
        scorings.prm_model,
        scorings.prm_aggregation,
        problem_grid.n,
        cast(coalesce(wins.wins, 0) as double) as wins,
        cast(scorings.draws as double) as draws

    from problem_grid
    inner join (select distinct run_id, problem_id, method, prm_model, prm_aggregation, draws from voters) as scorings
        on scorings.run_id = problem_grid.run_id
        and scorings.problem_id = problem_grid.problem_id
    left join wins
        on wins.run_id = problem_grid.run_id
        and wins.problem_id = problem_grid.problem_id
        and wins.method = scorings.method
        and wins.prm_model is not distinct from scorings.prm_model
        and wins.prm_aggregation is not distinct from scorings.prm_aggregation
        and wins.n = problem_grid.n

),

final as (

    select
        run_id,
        problem_id,
        method,
        'unbiased' as estimator,
        prm_model,
        prm_aggregation,
        n,
        cast(wins / draws as double) as accuracy,
        -- the sample standard deviation of draws 0/1 outcomes with `wins` ones, over sqrt(draws)
        cast(case when draws > 1 then sqrt(greatest(wins - wins * wins / draws, 0.0) / (draws - 1)) / sqrt(draws)
             else 0.0 end as double) as stderr

    from estimates

)

select * from final
