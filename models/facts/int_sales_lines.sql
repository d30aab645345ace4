{{ config(materialized='ephemeral') }}
-- Order lines of orders that count as sales (cancelled orders are excluded).
select
    i.order_item_id,
    o.order_id,
    o.order_date,
    o.customer_id,
    o.employee_id,
    o.region_id,
    i.product_id,
    i.quantity,
    i.unit_price,
    i.discount
from {{ ref('stg_order_items') }} as i
join {{ ref('stg_orders') }} as o on o.order_id = i.order_id
where o.status <> 'cancelled'
