select
    customer_id,
    first_name || ' ' || last_name as customer_name,
    lower(email) as email,
    region_id,
    created_at,
    updated_at
from {{ source('orders', 'customers') }}
