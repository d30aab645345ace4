select region_id, name as region_name
from {{ ref('raw_regions') }}
