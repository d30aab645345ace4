-- orders: id, customer_id, amount
-- events: ?
with tagged as (
    select e.*, o.amount from events e join orders o on o.id = e.order_id
)
select * from tagged
