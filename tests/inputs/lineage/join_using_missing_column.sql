-- orders: id, customer_id, amount
-- payments: order_id, paid
-- events: ?
select *
from orders
join payments using (order_id)
join events using (customer_id)
