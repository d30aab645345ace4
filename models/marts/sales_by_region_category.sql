-- Sales per day, region and top-level category. A table, not a view: PostgreSQL applies row
-- security to tables only (a view reads as its owner), and each regional BI role may see only
-- its own region's rows (see row_security in tmk_project.yml).
select
    d.full_date,
    r.region_id,
    r.region_name,
    p.top_category_name as category_name,
    count(distinct f.order_id) as orders,
    sum(f.quantity) as items,
    sum(f.revenue) as revenue,
    sum(f.margin) as margin
from {{ ref('fact_sales') }} as f
join {{ ref('dim_date') }} as d on d.date_key = f.date_key
join {{ ref('dim_region') }} as r on r.region_key = f.region_key
join {{ ref('dim_product') }} as p on p.product_key = f.product_key
group by 1, 2, 3, 4
