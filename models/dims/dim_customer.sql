-- Customers as they are now (SCD type 1); dim_customer_history keeps every version.
select
    {{ surrogate_key('customer', 'c.customer_id') }} as customer_key,
    c.customer_id,
    c.customer_name,
    c.email,
    r.region_key,
    c.region_id,
    c.created_at
from {{ ref('stg_customers') }} as c
left join {{ ref('dim_region') }} as r on r.region_id = c.region_id
