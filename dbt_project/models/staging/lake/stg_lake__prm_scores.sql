-- One row per step of one sample under one PRM at one token threshold (null = whole completion).
-- score_kind: 'probability', 'raw' or null (parts written before the column existed read as null).
-- Staging: rename and cast only.

with source as (

    select * from {{ source('lake', 'prm_scores') }}

),

renamed as (

    select
        cast(run_id as varchar) as run_id,
        cast(problem_id as varchar) as problem_id,
        cast(sample_idx as integer) as sample_idx,
        cast(prm_model as varchar) as prm_model,
        cast(token_threshold as integer) as token_threshold,
        cast(kind as varchar) as kind,
        cast(step_idx as integer) as step_idx,
        cast(score as double) as score,
        cast(score_kind as varchar) as score_kind

    from source

)

select * from renamed
