-- Each manager's team (the manager and the employees reporting to them): revenue, orders,
-- items and average order value.
select
    coalesce(e.manager_id, e.employee_id) as manager_id,
    coalesce(e.manager_name, e.employee_name) as manager_name,
    count(distinct e.employee_id) as sellers,
    count(distinct f.order_id) as orders,
    sum(f.quantity) as items,
    sum(f.revenue) as revenue,
    sum(f.margin) as margin,
    {{ money('sum(f.revenue) / nullif(count(distinct f.order_id), 0)') }} as average_order_value
from {{ ref('fact_sales') }} as f
join {{ ref('dim_employee') }} as e on e.employee_key = f.employee_key
group by 1, 2
order by revenue desc
