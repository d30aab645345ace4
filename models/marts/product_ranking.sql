select
    p.product_name,
    sum(f.quantity) as units,
    sum(f.revenue) as revenue,
    rank() over (order by sum(f.revenue) desc) as rank_top,
    rank() over (order by sum(f.revenue) asc) as rank_bottom
from {{ ref('fact_sales') }} as f
join {{ ref('dim_product') }} as p on p.product_key = f.product_key
group by p.product_name
