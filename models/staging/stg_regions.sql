select region_id, name::text as region_name
from {{ source('orders', 'regions') }}
