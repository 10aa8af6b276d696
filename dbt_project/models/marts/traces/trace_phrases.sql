-- The most frequent phrases of the reasoning traces of each complete run, by correctness: one
-- row per run x correctness (correct, wrong, all) x phrase, the var('trace_phrases_top') (10)
-- phrases with the most occurrences (ties by phrase), as the seed tool ranks them.
--   occurrences: times the phrase occurs in the group's texts (the seed's count);
--   samples:     traced samples whose text contains it; share = samples / traced_samples, the
--                group's traced samples (int_trace_texts_graded).
-- Phrases and texts: int_trace_ngrams_counted, int_trace_texts_graded.

{%- set top = var('trace_phrases_top') | int %}
{%- if top < 1 %}
    {{ exceptions.raise_compiler_error("var trace_phrases_top must be at least 1; got " ~ top) }}
{%- endif %}

with sample_phrases as (

    select * from {{ ref('int_trace_ngrams_counted') }}

),

texts as (

    select * from {{ ref('int_trace_texts_graded') }}

),

traced as (

    select
        run_id,
        {{ correctness_group() }} as correctness,
        count(*) as traced_samples

    from texts
    group by grouping sets ((run_id, is_correct), (run_id))

),

phrase_counts as (

    select
        run_id,
        {{ correctness_group() }} as correctness,
        phrase,
        sum(occurrences) as occurrences,
        count(*) as samples

    from sample_phrases
    group by grouping sets ((run_id, is_correct, phrase), (run_id, phrase))

),

-- the occurrences of each group's N-th most frequent phrase: only phrases at or above it can
-- rank, so the ranking sorts a handful of rows instead of every distinct phrase
floors as (

    select
        run_id,
        correctness,
        list_min(max(occurrences, {{ top }})) as floor_occurrences

    from phrase_counts
    group by run_id, correctness

),

ranked as (

    select
        phrase_counts.*,
        row_number() over (
            partition by phrase_counts.run_id, phrase_counts.correctness
            order by phrase_counts.occurrences desc, phrase_counts.phrase
        ) as rank

    from phrase_counts
    inner join floors
        on floors.run_id = phrase_counts.run_id
        and floors.correctness = phrase_counts.correctness
    where phrase_counts.occurrences >= floors.floor_occurrences
    qualify rank <= {{ top }}

)

select
    ranked.run_id,
    ranked.correctness,
    ranked.rank,
    ranked.phrase,
    cast(ranked.occurrences as bigint) as occurrences,
    ranked.samples,
    traced.traced_samples,
    ranked.samples / traced.traced_samples as share

from ranked
inner join traced
    on traced.run_id = ranked.run_id
    and traced.correctness = ranked.correctness
order by ranked.run_id, ranked.correctness, ranked.rank
