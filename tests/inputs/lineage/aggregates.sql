-- orders: id, customer_id, amount, status
select
    customer_id,
    count(*) as order_count,
    sum(amount) as total,
    count(distinct status) as statuses,
    sum(amount) filter (where status = 'returned') as returned_amount,
    max(amount)::numeric(10, 2),
    now() as computed_at
from orders
group by customer_id
