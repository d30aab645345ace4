select
    d.full_date,
    r.region_name,
    c.top_category_name as category_name,
    sum(f.revenue) as revenue,
    sum(f.margin) as margin,
    count(distinct f.order_id) as orders
from {{ ref('fact_sales') }} as f
join {{ ref('dim_date') }} as d on d.date_key = f.date_key
join {{ ref('dim_region') }} as r on r.region_key = f.region_key
join {{ ref('dim_product') }} as p on p.product_key = f.product_key
join {{ ref('dim_category') }} as c on c.category_key = p.category_key
group by 1, 2, 3
