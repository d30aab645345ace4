select
    row_number() over (order by customer_id) as customer_key,
    customer_id,
    customer_name,
    email,
    region_id
from {{ ref('stg_customers') }}
