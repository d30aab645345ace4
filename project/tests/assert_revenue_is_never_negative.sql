-- A sale never has negative revenue: discounts are smaller than the line amount.
select order_item_id, revenue
from {{ ref('fact_sales') }}
where revenue < 0
