-- orders: id, customer_id, amount
-- customers: customer_id, name
-- events: ?
with known as (
    select * from orders natural join customers
)
select * from known natural left join events
