{% macro test_not_null(model, column_name) %}{{ return(adapter.dispatch('test_not_null', 'dbt')(model, column_name)) }}{% endmacro %}
{% macro default__test_not_null(model, column_name) %}
{% set column_list = '*' if should_store_failures() else column_name %}

select {{ column_list }}
from {{ model }}
where {{ column_name }} is null

{% endmacro %}
{% macro test_unique(model, column_name) %}{{ return(adapter.dispatch('test_unique', 'dbt')(model, column_name)) }}{% endmacro %}
{% macro default__test_unique(model, column_name) %}

select
    {{ column_name }} as unique_field,
    count(*) as n_records

from {{ model }}
where {{ column_name }} is not null
group by {{ column_name }}
having count(*) > 1

{% endmacro %}
{% macro test_accepted_values(model, column_name, values, quote=True) %}{{ return(adapter.dispatch('test_accepted_values', 'dbt')(model, column_name, values, quote)) }}{% endmacro %}
{% macro default__test_accepted_values(model, column_name, values, quote=True) %}

with all_values as (

    select
        {{ column_name }} as value_field,
        count(*) as n_records

    from {{ model }}
    group by {{ column_name }}

)

select *
from all_values
where value_field not in (
    {% for value in values -%}
        {% if quote -%}
        '{{ value }}'
        {%- else -%}
        {{ value }}
        {%- endif -%}
        {%- if not loop.last -%},{%- endif %}
    {%- endfor %}
)

{% endmacro %}
{% macro test_relationships(model, column_name, to, field) %}{{ return(adapter.dispatch('test_relationships', 'dbt')(model, column_name, to, field)) }}{% endmacro %}
{% macro default__test_relationships(model, column_name, to, field) %}

with child as (
    select {{ column_name }} as from_field
    from {{ model }}
    where {{ column_name }} is not null
),

parent as (
    select {{ field }} as to_field
    from {{ to }}
)

select
    from_field

from child
left join parent
    on child.from_field = parent.to_field

where parent.to_field is null

{% endmacro %}
{% macro test_unique_combination_of_columns(model, combination_of_columns, quote_columns=false) %}{{ return(adapter.dispatch('test_unique_combination_of_columns', 'dbt_utils')(model, combination_of_columns, quote_columns)) }}{% endmacro %}
{% macro default__test_unique_combination_of_columns(model, combination_of_columns, quote_columns=false) %}
{%- if combination_of_columns is string or combination_of_columns | length == 0 -%}
{{ exceptions.raise_compiler_error("`combination_of_columns` must be a list of columns, like `[order_id, line_number]`") }}
{%- endif -%}
{%- set columns_csv -%}
{%- for column in combination_of_columns -%}
{{ adapter.quote(column) if quote_columns else column }}{{ ", " if not loop.last }}
{%- endfor -%}
{%- endset %}

with validation_errors as (
    select
        {{ columns_csv }}
    from {{ model }}
    group by {{ columns_csv }}
    having count(*) > 1
)

select *
from validation_errors

{% endmacro %}
{% macro test_expression_is_true(model, expression, column_name=none) %}{{ return(adapter.dispatch('test_expression_is_true', 'dbt_utils')(model, expression, column_name)) }}{% endmacro %}
{% macro default__test_expression_is_true(model, expression, column_name) %}
{% set column_list = '*' if should_store_failures() else "1 as filler_column" %}

select
    {{ column_list }}
from {{ model }}
{% if column_name is none %}
where not({{ expression }})
{%- else %}
where not({{ column_name }} {{ expression }})
{%- endif %}

{% endmacro %}
{% macro test_accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}{{ return(adapter.dispatch('test_accepted_range', 'dbt_utils')(model, column_name, min_value, max_value, inclusive)) }}{% endmacro %}
{% macro default__test_accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
{%- if min_value is none and max_value is none -%}
{{ exceptions.raise_compiler_error("`accepted_range` needs `min_value`, `max_value` or both") }}
{%- endif %}

with meet_condition as (
    select *
    from {{ model }}
),

validation_errors as (
    select *
    from meet_condition
    where
        -- never true: each bound below adds the rows outside it
        1 = 2
        {%- if min_value is not none %}
        or not {{ column_name }} >{{ "=" if inclusive }} {{ min_value }}
        {%- endif %}
        {%- if max_value is not none %}
        or not {{ column_name }} <{{ "=" if inclusive }} {{ max_value }}
        {%- endif %}
)

select *
from validation_errors

{% endmacro %}
{% macro test_not_empty(model) %}{{ return(adapter.dispatch('test_not_empty', 'tmk')(model)) }}{% endmacro %}
{% macro default__test_not_empty(model) %}

select 0 as row_count
where not exists (select 1 from {{ model }})

{% endmacro %}
{% macro test_row_count(model, min_value=none, max_value=none, group_by=none, row_condition=none, strictly=false) %}{{ return(adapter.dispatch('test_row_count', 'tmk')(model, min_value, max_value, group_by, row_condition, strictly)) }}{% endmacro %}
{% macro test_expect_table_row_count_to_be_between(model, min_value=none, max_value=none, group_by=none, row_condition=none, strictly=false) %}{{ return(adapter.dispatch('test_row_count', 'tmk')(model, min_value, max_value, group_by, row_condition, strictly)) }}{% endmacro %}
{% macro default__test_row_count(model, min_value, max_value, group_by, row_condition, strictly) %}
{%- if min_value is none and max_value is none -%}
{{ exceptions.raise_compiler_error("a row count test needs `min_value`, `max_value` or both") }}
{%- endif -%}
{%- set group_columns = (group_by if group_by is string else (group_by or []) | join(", ")) %}

with grouped as (
    select
        {%- if group_columns %}
        {{ group_columns }},
        {%- endif %}
        count(*) as row_count
    from {{ model }}
    {%- if row_condition %}
    where {{ row_condition }}
    {%- endif %}
    {%- if group_columns %}
    group by {{ group_columns }}
    {%- endif %}
)

select *
from grouped
where not (true
    {%- if min_value is not none %} and row_count >{{ "=" if not strictly }} {{ min_value }}{% endif %}
    {%- if max_value is not none %} and row_count <{{ "=" if not strictly }} {{ max_value }}{% endif %})

{% endmacro %}
{% macro test_relationships_where(model, column_name, to, field, from_condition="1=1", to_condition="1=1") %}{{ return(adapter.dispatch('test_relationships_where', 'dbt_utils')(model, column_name, to, field, from_condition, to_condition)) }}{% endmacro %}
{% macro default__test_relationships_where(model, column_name, to, field, from_condition="1=1", to_condition="1=1") %}

with left_table as (
    select {{ column_name }} as id
    from {{ model }}
    where {{ column_name }} is not null
        and {{ from_condition }}
),

right_table as (
    select {{ field }} as id
    from {{ to }}
    where {{ field }} is not null
        and {{ to_condition }}
),

exceptions as (
    select left_table.id, right_table.id as right_id
    from left_table
    left join right_table on left_table.id = right_table.id
    where right_table.id is null
)

select *
from exceptions

{% endmacro %}
{% macro test_recency(model, field, datepart, interval, ignore_time_component=false, group_by_columns=[]) %}{{ return(adapter.dispatch('test_recency', 'dbt_utils')(model, field, datepart, interval, ignore_time_component, group_by_columns)) }}{% endmacro %}
{% macro default__test_recency(model, field, datepart, interval, ignore_time_component, group_by_columns) %}
{%- set dateparts = ["microsecond", "millisecond", "second", "minute", "hour", "day", "week", "month", "quarter", "year"] -%}
{%- if (datepart | string | lower).rstrip("s") not in dateparts -%}
{{ exceptions.raise_compiler_error("`datepart` must be one of " ~ dateparts | join(", ") ~ ", not `" ~ datepart ~ "`") }}
{%- endif -%}
{%- if interval is not number -%}
{{ exceptions.raise_compiler_error("`interval` must be a number, not `" ~ interval ~ "`") }}
{%- endif -%}
{%- set threshold = "cast(now() + ((interval '1 " ~ datepart ~ "') * (" ~ (interval * -1) ~ ")) as " ~ ("date" if ignore_time_component else "timestamp") ~ ")" -%}
{%- set group_columns = (group_by_columns if group_by_columns is string else group_by_columns | join(", ")) %}

with recency as (
    select
        {%- if group_columns %}
        {{ group_columns }},
        {%- endif %}
        {% if ignore_time_component %}cast(max({{ field }}) as date){% else %}max({{ field }}){% endif %} as most_recent
    from {{ model }}
    {%- if group_columns %}
    group by {{ group_columns }}
    {%- endif %}
)

select
    {%- if group_columns %}
    {{ group_columns }},
    {%- endif %}
    most_recent,
    {{ threshold }} as threshold
from recency
where most_recent < {{ threshold }}
    or most_recent is null

{% endmacro %}
{% macro tmk__relation_columns(model, test) -%}
{%- if model.identifier is not defined or model.is_cte -%}
{{ exceptions.raise_compiler_error("`" ~ test ~ "` reads the columns of a table or view from the catalog: it takes no `where` and cannot check an ephemeral model") }}
{%- endif -%}
select
    attribute.attname as column_name,
    attribute.atttypid as type_oid,
    format_type(attribute.atttypid, attribute.atttypmod) as data_type,
    row_number() over (order by attribute.attnum) as column_index
from pg_catalog.pg_attribute as attribute
join pg_catalog.pg_class as class on class.oid = attribute.attrelid
join pg_catalog.pg_namespace as namespace on namespace.oid = class.relnamespace
where namespace.nspname = '{{ model.schema | replace("'", "''") }}'
    and class.relname = '{{ model.identifier | replace("'", "''") }}'
    and attribute.attnum > 0
    and not attribute.attisdropped
{%- endmacro %}
{% macro test_expect_column_to_exist(model, column_name, column_index=none, transform="upper") %}{{ return(adapter.dispatch('test_expect_column_to_exist', 'dbt_expectations')(model, column_name, column_index, transform)) }}{% endmacro %}
{% macro default__test_expect_column_to_exist(model, column_name, column_index, transform) %}
{%- if transform not in ["upper", "lower"] -%}
{{ exceptions.raise_compiler_error("`transform` must be `upper` or `lower`, not `" ~ transform ~ "`") }}
{%- endif %}

with relation_columns as (
    {{ tmk__relation_columns(model, "expect_column_to_exist") }}
),

expected as (
    select cast('{{ column_name | replace("'", "''") }}' as text) as column_name
)

select expected.column_name, relation_columns.column_index
from expected
left join relation_columns
    on {{ transform }}(relation_columns.column_name) = {{ transform }}(expected.column_name)
where relation_columns.column_name is null
{%- if column_index %}
    or relation_columns.column_index <> {{ column_index }}
{%- endif %}

{% endmacro %}
{% macro test_expect_column_values_to_be_of_type(model, column_name, column_type) %}{{ return(adapter.dispatch('test_expect_column_values_to_be_of_type', 'dbt_expectations')(model, column_name, column_type)) }}{% endmacro %}
{% macro default__test_expect_column_values_to_be_of_type(model, column_name, column_type) %}

with relation_columns as (
    {{ tmk__relation_columns(model, "expect_column_values_to_be_of_type") }}
),

expected as (
    select
        cast('{{ column_name | replace("'", "''") }}' as text) as column_name,
        cast('{{ column_type | replace("'", "''") }}' as text) as expected_type
)

select expected.column_name, expected.expected_type, relation_columns.data_type as actual_type
from expected
left join relation_columns
    on upper(relation_columns.column_name) = upper(expected.column_name)
where relation_columns.type_oid is distinct from to_regtype(expected.expected_type)

{% endmacro %}
