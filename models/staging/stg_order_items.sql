select order_item_id, order_id, product_id, quantity, unit_price, discount, updated_at
from {{ source('orders', 'order_items') }}
