{#- A stable surrogate key: a bigint made from the md5 of the entity's name and its natural key
    (a column, or a list of them), so a row keeps its key across rebuilds and an incremental fact
    can keep the keys it stored. NULL when the first key column is NULL (an order nobody handled
    has no employee). -#}
{% macro surrogate_key(entity, columns) -%}
    {%- set columns = [columns] if columns is string else columns -%}
    case when ({{ columns[0] }}) is not null then ('x' || left(md5('{{ entity }}' {%- for column in columns %} || '|' || coalesce(({{ column }})::text, ''){% endfor %}), 15))::bit(60)::bigint end
{%- endmacro %}
