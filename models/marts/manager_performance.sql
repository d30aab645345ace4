-- Revenue handled by each manager's team (a manager and the employees reporting to them).
select
    coalesce(manager.employee_name, e.employee_name) as manager_name,
    count(distinct f.order_id) as orders,
    sum(f.revenue) as revenue,
    sum(f.margin) as margin
from {{ ref('fact_sales') }} as f
join {{ ref('dim_employee') }} as e on e.employee_key = f.employee_key
left join {{ ref('dim_employee') }} as manager on manager.employee_id = e.manager_id
group by 1
