-- orders: id, customer_id, amount
-- refunds: id, customer_id, refunded
-- notes: id, note
with both_sides as (
    select * from orders full join refunds using (id, customer_id)
)
select * from both_sides b right join notes using (id)
