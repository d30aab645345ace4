-- orders: id, customer_id, amount
-- customers: customer_id, name, region_id
-- regions: region_id, region_name
select c.*, *
from orders
join (customers c join regions r using (region_id)) using (customer_id)
