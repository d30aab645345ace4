-- orders: id, customer_id, amount, ordered_at
with ranked as (
    select
        id,
        row_number() over (partition by customer_id order by ordered_at) as order_seq,
        sum(amount) over (partition by customer_id) as customer_total
    from orders
)
select id, order_seq, customer_total / 2 as half from ranked
