-- Accuracy counts of the low-confidence analyses that bin responses (or their steps), per run x
-- analysis x bin, after sample_smart_not_hard's merge_low_conf_ranks_seq.py:
--   by_count              every response, by its number of low-confidence steps:
--                         '0' .. 'C-1', 'C+' with C = var('low_confidence_count_cap') (20).
--   by_rank               every low-confidence step, by the rank sampled there: '1' .. 'R-1',
--                         'R+' with R = var('low_confidence_rank_cap') (10). A response counts once
--                         per step, so a response that sampled rank 2 twice adds 2 to bin '2'
--                         (the seed's count); unit 'step'.
--   by_rank_single_event  the same, over responses with exactly one low-confidence step.
--   by_max_rank           responses with at least one step, by their largest rank; edges
--                         E = var('low_confidence_max_rank_edges') ([5, 10, 15, 20]) give the bins
--                         '1-5' = [1, 5], '5-10' = (5, 10], '10-15' = (10, 15], '15-20' = (15, 20],
--                         '20+' = above 20: a rank on an edge belongs to the bin that ends there
--                         (the seed's labels and its first-match rule).
-- bin_order sorts the bins (the bin's lowest value for counts and ranks, 1.. for max-rank bins).
-- Only bins that hold something appear.

{%- set count_cap = var('low_confidence_count_cap') | int %}
{%- set rank_cap = var('low_confidence_rank_cap') | int %}
{%- set edges = var('low_confidence_max_rank_edges') | list %}
{%- if count_cap < 1 or rank_cap < 2 %}
    {{ exceptions.raise_compiler_error("low_confidence_count_cap must be >= 1 and low_confidence_rank_cap >= 2") }}
{%- endif %}
{%- if edges | length == 0 or edges != edges | sort or edges | unique | list | length != edges | length
      or edges[0] < 1 %}
    {{ exceptions.raise_compiler_error("low_confidence_max_rank_edges must be a non-empty strictly ascending"
                                       ~ " list of ranks >= 1, got " ~ edges) }}
{%- endif %}

with responses as (

    select * from {{ ref('int_responses_low_confidence') }}

),

steps as (

    select
        responses.run_id,
        responses.is_correct,
        events.rank

    from {{ ref('stg_lake__decode_events') }} as events
    inner join responses
        on responses.run_id = events.run_id
        and responses.problem_id = events.problem_id
        and responses.sample_idx = events.sample_idx
    where events.kind = '{{ var("low_confidence_kind") | string | replace("'", "''") }}'

),

binned as (

    select
        run_id,
        'by_count' as analysis,
        {{ capped_bin('low_confidence_steps', count_cap) }},
        'response' as unit,
        is_correct

    from responses

    union all

    select
        run_id,
        'by_rank' as analysis,
        {{ capped_bin('rank', rank_cap) }},
        'step' as unit,
        is_correct

    from steps

    union all

    select
        run_id,
        'by_rank_single_event' as analysis,
        {{ capped_bin('single_rank', rank_cap) }},
        'response' as unit,
        is_correct

    from responses
    where low_confidence_steps = 1

    union all

    select
        run_id,
        'by_max_rank' as analysis,
        case
        {%- set lower = namespace(value=1) %}
        {%- for edge in edges %}
            when max_rank <= {{ edge }} then '{{ lower.value }}-{{ edge }}'
            {%- set lower.value = edge %}
        {%- endfor %}
            else '{{ edges[-1] }}+'
        end as bin,
        case
        {%- for edge in edges %}
            when max_rank <= {{ edge }} then {{ loop.index }}
        {%- endfor %}
            else {{ edges | length + 1 }}
        end as bin_order,
        'response' as unit,
        is_correct

    from responses
    where low_confidence_steps >= 1

),

counted as (

    select
        run_id,
        analysis,
        bin,
        bin_order,
        unit,
        count(*) filter (where is_correct) as correct,
        count(*) as total

    from binned
    group by run_id, analysis, bin, bin_order, unit

)

select * from counted
