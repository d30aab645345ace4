-- orders: id, customer_id, amount
-- customers: id, name
with joined as (
    select o.*, c.name from orders o join customers c on c.id = o.customer_id
)
select *, amount * 2 as doubled from joined
