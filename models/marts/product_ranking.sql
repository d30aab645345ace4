{{ config(materialized='materialized_view') }}
-- Every product's revenue and units with its rank from the top and from the bottom by each:
-- `where revenue_rank_top <= 10` gives the top ten by revenue, `units_rank_bottom <= 10` the
-- ten that sell least. Products that never sold rank at the bottom with zeros.
with sold as (
    select product_key, sum(quantity) as units, sum(revenue) as revenue
    from {{ ref('fact_sales') }}
    group by product_key
)
select
    p.product_id,
    p.product_name,
    p.top_category_name as category_name,
    coalesce(s.units, 0) as units,
    coalesce(s.revenue, 0) as revenue,
    rank() over (order by coalesce(s.revenue, 0) desc) as revenue_rank_top,
    rank() over (order by coalesce(s.revenue, 0) asc) as revenue_rank_bottom,
    rank() over (order by coalesce(s.units, 0) desc) as units_rank_top,
    rank() over (order by coalesce(s.units, 0) asc) as units_rank_bottom
from {{ ref('dim_product') }} as p
left join sold as s on s.product_key = p.product_key
