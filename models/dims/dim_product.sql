select
    row_number() over (order by p.product_id) as product_key,
    p.product_id,
    p.product_name,
    c.category_key,
    p.price,
    p.cost
from {{ ref('stg_products') }} as p
join {{ ref('dim_category') }} as c on c.category_id = p.category_id
