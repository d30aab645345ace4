{{ config(materialized='materialized_view') }}
-- Orders, revenue and average order value per month.
select
    d.month_start as month,
    count(distinct f.order_id) as orders,
    sum(f.revenue) as revenue,
    {{ money('sum(f.revenue) / nullif(count(distinct f.order_id), 0)') }} as average_order_value
from {{ ref('fact_sales') }} as f
join {{ ref('dim_date') }} as d on d.date_key = f.date_key
group by 1
order by 1
