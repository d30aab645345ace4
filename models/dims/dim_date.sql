{%- set attributes = {'year': 'year', 'quarter': 'quarter', 'month': 'month', 'day_of_week': 'isodow'} %}
select
    to_char(day, 'YYYYMMDD')::integer as date_key,
    day::date as full_date,
    {%- for name, field in attributes.items() %}
    extract({{ field }} from day)::integer as {{ name }}{{ "," if not loop.last }}
    {%- endfor %}
from generate_series(
    (select min(order_date) from {{ ref('stg_orders') }}),
    (select max(order_date) from {{ ref('stg_orders') }}),
    interval '1 day'
) as day
