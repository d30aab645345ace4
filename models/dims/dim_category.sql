-- Categories with their place in the tree: parent, top-level ancestor and depth (1 = top).
with recursive tree as (
    select category_id, category_name, parent_id, category_name as top_category_name, 1 as depth
    from {{ ref('stg_categories') }}
    where parent_id is null
    union all
    select child.category_id, child.category_name, child.parent_id, tree.top_category_name, tree.depth + 1
    from {{ ref('stg_categories') }} as child
    join tree on tree.category_id = child.parent_id
)
select
    {{ surrogate_key('category', 'tree.category_id') }} as category_key,
    tree.category_id,
    tree.category_name,
    tree.parent_id as parent_category_id,
    parent.category_name as parent_category_name,
    tree.top_category_name,
    tree.depth
from tree
left join {{ ref('stg_categories') }} as parent on parent.category_id = tree.parent_id
