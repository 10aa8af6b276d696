{#-
  The columns `bin` and `bin_order` of a count or rank binned with an open top bin: the value
  itself below `cap`, '<cap>+' from it on (bin_order = least(value, cap), for sorting).
-#}
{% macro capped_bin(value, cap) %}
        case when {{ value }} < {{ cap }} then cast({{ value }} as varchar) else '{{ cap }}+' end as bin,
        least({{ value }}, {{ cap }}) as bin_order
{%- endmacro %}
