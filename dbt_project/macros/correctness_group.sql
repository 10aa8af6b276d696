{#-
  The label of a group of `group by grouping sets ((..., is_correct), (...))`: 'correct' or
  'wrong' for the groups by correctness, 'all' for the group over both (the trace marts' grain).
-#}
{% macro correctness_group(column='is_correct') %}
        case
            when grouping({{ column }}) = 1 then 'all'
            when {{ column }} then 'correct'
            else 'wrong'
        end
{%- endmacro %}
