select category_id, name as category_name, parent_id
from {{ ref('raw_categories') }}
