-- The five best and the five worst selling products, by revenue and by units sold.
{%- set lists = [
    ('revenue, top 5', 'revenue_rank_top'),
    ('revenue, bottom 5', 'revenue_rank_bottom'),
    ('units, top 5', 'units_rank_top'),
    ('units, bottom 5', 'units_rank_bottom'),
] %}
{%- for label, rank in lists %}
select '{{ label }}' as list, {{ rank }} as rank, product_name, category_name, revenue, units
from {{ ref('product_ranking') }}
where {{ rank }} <= 5
{{ 'union all' if not loop.last }}
{%- endfor %}
order by list, rank, product_name
