select
    {{ surrogate_key('region', 'region_id') }} as region_key,
    region_id,
    region_name
from {{ ref('stg_regions') }}
