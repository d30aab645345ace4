{#- Round an amount to cents. -#}
{% macro money(expression) -%}
    round(({{ expression }})::numeric, 2)
{%- endmacro %}
