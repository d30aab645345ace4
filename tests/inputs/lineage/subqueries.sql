-- orders: id, customer_id, amount
-- customers: id, name
select
    c.name,
    big.total,
    (select max(o2.amount) from orders o2 where o2.customer_id = c.id) as largest,
    exists (select 1 from orders o3 where o3.customer_id = c.id) as has_orders
from customers c
join (
    select customer_id, sum(amount) as total from orders group by 1
) as big on big.customer_id = c.id
