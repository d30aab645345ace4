select
    row_number() over (order by child.category_id) as category_key,
    child.category_id,
    child.category_name,
    coalesce(parent.category_name, child.category_name) as top_category_name
from {{ ref('stg_categories') }} as child
left join {{ ref('stg_categories') }} as parent on parent.category_id = child.parent_id
