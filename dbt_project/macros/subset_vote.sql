{#-
  The vote of every selection rule that picks a cluster (majority, weighted) or a sample (naive:
  each sample its own cluster) on given subsets of the samples.

  `members` holds one row per sample of each subset: the `subset` columns name the subset (run_id,
  problem_id, estimator, n from subset_members; a Monte Carlo draw; plus prm_model and
  prm_aggregation where scores differ), and every row carries sample_pos, cluster_id, is_correct
  and, unless `score` is none, the score s_i.

  Voters are members with a cluster (naive: any member) and a non-null score. Each cluster's vote
  is the number of its voters (score=none: majority) or the sum of their scores, added in
  sample_pos order as search-and-learn adds them (weighted). The cluster with the largest vote
  wins; ties go to the cluster whose first voter has the lowest sample_pos; the result is that
  voter's verdict. Naive (clusters=false): the voter with the highest score, ties to the lowest
  sample_pos.

  Returns the subset columns and leader_correct, one row per subset with at least one voter
  (a subset without voters is absent: its result is wrong).
-#}
{% macro subset_vote(members, subset, score=none, clusters=true) %}
    {%- set keys = subset | join(', ') %}
    {%- if clusters %}
    select
        {{ keys }},
        arg_max(first_correct, {'vote': vote, 'first': -first_pos}) as leader_correct

    from (
        select
            {{ keys }},
            cluster_id,
            {% if score is none %}count(*){% else %}sum({{ score }} order by sample_pos){% endif %} as vote,
            min(sample_pos) as first_pos,
            arg_min(is_correct, sample_pos) as first_correct

        from {{ members }}
        where cluster_id is not null
            {% if score is not none %}and {{ score }} is not null{% endif %}
        group by {{ keys }}, cluster_id
    )
    group by {{ keys }}
    {%- else %}
    select
        {{ keys }},
        arg_max(is_correct, {'score': {{ score }}, 'first': -sample_pos}) as leader_correct

    from {{ members }}
    where {{ score }} is not null
    group by {{ keys }}
    {%- endif %}
{% endmacro %}
