-- Every version of every customer (SCD type 2), from the customers snapshot.
select
    {{ surrogate_key('customer_version', ['customer_id', 'dbt_valid_from']) }} as customer_version_key,
    {{ surrogate_key('customer', 'customer_id') }} as customer_key,
    customer_id,
    customer_name,
    email,
    region_id,
    dbt_valid_from as valid_from,
    dbt_valid_to as valid_to,
    dbt_valid_to is null as is_current
from {{ ref('customers_snapshot') }}
