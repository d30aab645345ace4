-- Products as they are now (SCD type 1); dim_product_history keeps every price and cost.
select
    {{ surrogate_key('product', 'p.product_id') }} as product_key,
    p.product_id,
    p.product_name,
    c.category_key,
    c.category_name,
    c.top_category_name,
    p.price,
    p.cost
from {{ ref('stg_products') }} as p
join {{ ref('dim_category') }} as c on c.category_id = p.category_id
