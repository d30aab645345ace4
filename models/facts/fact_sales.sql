{{ config(
    materialized='incremental',
    unique_key='order_id',
    incremental_strategy='delete+insert',
    watermark='source_updated_at',
    partition_by={'field': 'date_key', 'granularity': 'month'},
    post_hook="delete from {{ this }} as f using {{ ref('stg_orders') }} as o where o.order_id = f.order_id and o.status = 'cancelled'",
) }}
-- Sales at the grain of one order item; cancelled orders are excluded. An incremental run
-- reloads every order that changed since the last one (the order or any of its lines) and the
-- post-hook removes orders cancelled after they were loaded. The keys are the dimensions'
-- surrogate keys, computed from the natural keys the same way.
{%- if is_incremental() %}
with changed_orders as (
    select order_id from {{ ref('stg_orders') }} where updated_at > {{ watermark() }}
    union
    select order_id from {{ ref('stg_order_items') }} where updated_at > {{ watermark() }}
)
{%- endif %}
select
    o.order_id,
    i.order_item_id,
    to_char(o.order_date, 'YYYYMMDD')::integer as date_key,
    {{ surrogate_key('product', 'i.product_id') }} as product_key,
    {{ surrogate_key('customer', 'o.customer_id') }} as customer_key,
    {{ surrogate_key('employee', 'o.employee_id') }} as employee_key,
    {{ surrogate_key('region', 'o.region_id') }} as region_key,
    i.quantity,
    {{ money('i.quantity * i.unit_price - i.discount') }} as revenue,
    {{ money('i.discount') }} as discount_amount,
    {{ money('i.quantity * p.cost') }} as cost,
    {{ money('i.quantity * i.unit_price - i.discount - i.quantity * p.cost') }} as margin,
    greatest(o.updated_at, i.updated_at) as source_updated_at
from {{ ref('stg_order_items') }} as i
join {{ ref('stg_orders') }} as o on o.order_id = i.order_id
join {{ ref('stg_products') }} as p on p.product_id = i.product_id
{%- if is_incremental() %}
join changed_orders as changed on changed.order_id = o.order_id
{%- endif %}
where o.status <> 'cancelled'
