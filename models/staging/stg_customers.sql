select
    customer_id,
    first_name || ' ' || last_name as customer_name,
    lower(email) as email,
    region_id,
    created_at
from {{ ref('raw_customers') }}
