{#- Every non-null value of `column_name` is a finite number (not NaN, not +-infinity). -#}
{% test finite(model, column_name) %}

select {{ column_name }}

from {{ model }}
where {{ column_name }} is not null
  and not isfinite({{ column_name }})

{% endtest %}
