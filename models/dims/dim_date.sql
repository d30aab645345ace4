-- One row per calendar day of every year with orders.
{%- set attributes = {'year': 'year', 'quarter': 'quarter', 'month': 'month', 'day_of_month': 'day', 'day_of_week': 'isodow'} %}
select
    to_char(day, 'YYYYMMDD')::integer as date_key,
    day::date as full_date,
    {%- for name, field in attributes.items() %}
    extract({{ field }} from day)::integer as {{ name }},
    {%- endfor %}
    to_char(day, 'FMMonth') as month_name,
    date_trunc('month', day)::date as month_start,
    extract(isodow from day) in (6, 7) as is_weekend
from generate_series(
    (select date_trunc('year', min(order_date)) from {{ ref('stg_orders') }}),
    (select date_trunc('year', max(order_date)) + interval '1 year - 1 day' from {{ ref('stg_orders') }}),
    interval '1 day'
) as day
