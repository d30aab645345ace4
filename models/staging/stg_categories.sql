select category_id, name::text as category_name, parent_id
from {{ source('catalog', 'categories') }}
