select product_id, name::text as product_name, category_id, price, cost, updated_at
from {{ source('catalog', 'products') }}
