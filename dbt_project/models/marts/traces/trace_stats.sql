-- Length distribution of the completions of each complete run, by correctness: one row per
-- run x correctness (correct, wrong, all; a run without wrong samples has no `wrong` row).
--   samples:          samples in the group; truncated_share: share of those with a finish_reason
--                     that stopped at the length limit ('length'), over samples that have one.
--   <measure>_mean, _median, _p10, _p25, _p75, _p90, _min, _max over the group's non-null values;
--                     percentiles interpolate linearly between order statistics (numpy's default).
--   measures:         tokens (num_tokens), chars (completion text);
--                     for traced samples (a reasoning-trace embedding): reasoning_words (the seed
--                     tool's measure), reasoning_chars, final_answer_chars; embedded_samples
--                     counts them (0: those columns are null).

{%- set measures = ['tokens', 'chars', 'reasoning_words', 'reasoning_chars', 'final_answer_chars'] %}
{%- set percentiles = [('p10', 1), ('p25', 2), ('median', 3), ('p75', 4), ('p90', 5)] %}

with samples as (

    select * from {{ ref('int_sample_lengths_measured') }}

),

grouped as (

    select
        run_id,
        {{ correctness_group() }} as correctness,
        count(*) as samples,
        avg(case when finish_reason = 'length' then 1.0 when finish_reason is not null then 0.0 end)
            as truncated_share,
        count(*) filter (where has_trace) as embedded_samples
        {%- for m in measures %},
        avg({{ m }}) as {{ m }}_mean,
        quantile_cont({{ m }}, [0.1, 0.25, 0.5, 0.75, 0.9]) as {{ m }}_quantiles,
        min({{ m }}) as {{ m }}_min,
        max({{ m }}) as {{ m }}_max
        {%- endfor %}

    from samples
    group by grouping sets ((run_id, is_correct), (run_id))

)

select
    run_id,
    correctness,
    samples,
    truncated_share,
    embedded_samples
    {%- for m in measures %},
    {{ m }}_mean
    {%- for name, i in percentiles %},
    {{ m }}_quantiles[{{ i }}] as {{ m }}_{{ name }}
    {%- endfor %},
    {{ m }}_min,
    {{ m }}_max
    {%- endfor %}

from grouped
order by run_id, correctness
