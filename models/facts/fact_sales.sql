select
    l.order_id,
    l.order_item_id,
    to_char(l.order_date, 'YYYYMMDD')::integer as date_key,
    p.product_key,
    c.customer_key,
    e.employee_key,
    r.region_key,
    l.quantity,
    {{ money('l.quantity * l.unit_price - l.discount') }} as revenue,
    {{ money('l.discount') }} as discount_amount,
    {{ money('l.quantity * p.cost') }} as cost,
    {{ money('l.quantity * l.unit_price - l.discount - l.quantity * p.cost') }} as margin
from {{ ref('int_sales_lines') }} as l
join {{ ref('dim_product') }} as p on p.product_id = l.product_id
join {{ ref('dim_customer') }} as c on c.customer_id = l.customer_id
join {{ ref('dim_employee') }} as e on e.employee_id = l.employee_id
join {{ ref('dim_region') }} as r on r.region_id = l.region_id
