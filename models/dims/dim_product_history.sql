-- Every version of every product (SCD type 2), from the products snapshot.
select
    {{ surrogate_key('product_version', ['product_id', 'dbt_valid_from']) }} as product_version_key,
    {{ surrogate_key('product', 'product_id') }} as product_key,
    product_id,
    product_name,
    category_id,
    price,
    cost,
    dbt_valid_from as valid_from,
    dbt_valid_to as valid_to,
    dbt_valid_to is null as is_current
from {{ ref('products_snapshot') }}
