select order_id, customer_id, employee_id, order_date, region_id, total_amount, status
from {{ ref('raw_orders') }}
