{#- The logistic function 1 / (1 + e^-x): a raw score (logit, reward) read as a probability.
    exp overflows to infinity for x below about -709, which gives 0, as the limit does. -#}
{% macro sigmoid(x) -%}
    (1.0 / (1.0 + exp(-({{ x }}))))
{%- endmacro %}
