select
    row_number() over (order by region_id) as region_key,
    region_id,
    region_name
from {{ ref('stg_regions') }}
