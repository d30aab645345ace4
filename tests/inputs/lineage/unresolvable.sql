-- orders: id, customer_id, amount
-- events: ?
with everything as (
    select * from events
),
mixed as (
    select e.*, o.amount from events e join orders o on o.id = e.order_id
)
select
    everything.kind,
    o.total_amount,
    raw.thing,
    id
from everything
join orders o on o.id = everything.order_id
join public.raw_table raw on raw.id = o.id
cross join generate_series(1, 3) as g(n)
where o.custommer_id is not null
