-- orders: id, customer_id, amount
-- customers: id, name, "Email"
-- payments: id, order_id, amount
select
    o.id as order_id,
    cust.name as customer_name,
    cust."Email",
    p.amount as paid,
    o.amount - coalesce(p.amount, 0) as outstanding,
    name
from "analytics"."main"."orders" as o
left join customers cust on cust.id = o.customer_id
left join payments p on p.order_id = o.id
