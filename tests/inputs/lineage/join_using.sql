-- orders: id, customer_id, amount
-- customers: customer_id, name, region_id
-- regions: region_id, region_name
select *, customer_id as again, o.customer_id as from_orders, region_id as region
from orders o
join customers c using (customer_id)
left join regions using (region_id)
