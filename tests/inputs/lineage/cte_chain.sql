-- orders: id, customer_id, amount, status, ordered_at
with base as (
    select id as order_id, customer_id, amount from orders
),
renamed as (
    select order_id, customer_id as buyer, amount * 100 as amount_cents from base
)
select order_id, buyer, amount_cents, 'x' as label from renamed
