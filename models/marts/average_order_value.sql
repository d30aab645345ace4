select
    date_trunc('month', d.full_date)::date as month,
    count(distinct f.order_id) as orders,
    {{ money('sum(f.revenue) / nullif(count(distinct f.order_id), 0)') }} as average_order_value
from {{ ref('fact_sales') }} as f
join {{ ref('dim_date') }} as d on d.date_key = f.date_key
group by 1
