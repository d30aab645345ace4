select product_id, name as product_name, category_id, price, cost
from {{ ref('raw_products') }}
