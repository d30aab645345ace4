select order_id, customer_id, employee_id, order_date, region_id, total_amount, status::text as status, updated_at
from {{ source('orders', 'orders') }}
